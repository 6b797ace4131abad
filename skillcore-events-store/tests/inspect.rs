//! The operations queries (overview, throughput, event search, event detail,
//! chains, dead-letter groups and bulk actions) on SQLite and PostgreSQL:
//! their results, the tenant scope, cursor pagination, index-backed plans.

mod common;
#[path = "inspect/dead.rs"]
mod dead;
#[path = "inspect/search.rs"]
mod search;

use chrono::{Duration as Age, Utc};
use common::{both, event};
use serde_json::json;
use skillcore_events_store::*;
use std::time::Duration;

fn subs(_: &str) -> Vec<Subscriber<'static>> {
    ["h.one", "h.two"]
        .into_iter()
        .map(|h| Subscriber {
            handler_id: h,
            ordered: false,
        })
        .collect()
}

fn a() -> Scope {
    Scope::district("dst-A")
}

fn b() -> Scope {
    Scope::district("dst-B")
}

const LEASE: Duration = Duration::from_secs(30);

/// Claims up to `n` deliveries of `handler`.
async fn claim(store: &Store, handler: &str, n: u32) -> Vec<Claimed> {
    store.claim_for("t", &[handler], n, LEASE).await.unwrap()
}

/// Fails each claimed delivery for good with its error.
async fn kill(store: &Store, claimed: &[Claimed], error: impl Fn(&Claimed) -> String) {
    for c in claimed {
        assert!(store.fail(c, &error(c), None).await.unwrap());
    }
}

#[tokio::test]
async fn the_overview_gives_the_numbers_of_stats_then_follows_them_in_the_background() {
    for (name, store) in both().await {
        let mut events = Vec::new();
        for i in 0..6 {
            let district = if i < 4 { "dst-A" } else { "dst-B" };
            events.push(event(
                "x.y.happened",
                &format!("r-{i}"),
                district,
                json!({}),
            ));
        }
        store.append(&events, subs).await.unwrap();
        let done = claim(&store, "h.one", 3).await;
        store
            .complete_many(&done.iter().collect::<Vec<_>>())
            .await
            .unwrap();
        kill(&store, &claim(&store, "h.one", 1).await, |_| "boom".into()).await;
        let _held = claim(&store, "h.two", 2).await;

        store.set_overview_refresh(Duration::from_millis(50));
        for scope in [Scope::AllDistricts, a(), b()] {
            let overview = store.overview(&scope).await.unwrap();
            let stats = store.stats(&scope).await.unwrap();
            let as_stats: Vec<HandlerStats> = overview.iter().map(|o| o.stats()).collect();
            assert_eq!(as_stats, stats, "{name} {scope:?}");
            for o in &overview {
                assert_eq!(o.lag, o.waiting + o.failed + o.active + o.stalled, "{name}");
                assert_eq!(o.oldest_waiting.is_some(), o.waiting > 0, "{name} {o:?}");
                assert!(Utc::now() - o.as_of < Age::seconds(5), "{name}");
            }
        }
        let all = store.overview(&Scope::AllDistricts).await.unwrap();
        let one = all.iter().find(|o| o.handler_id == "h.one").unwrap();
        assert_eq!(
            (one.waiting, one.completed, one.dead, one.lag),
            (2, 3, 1, 2),
            "{name}"
        );
        let two = all.iter().find(|o| o.handler_id == "h.two").unwrap();
        assert_eq!((two.waiting, two.active, two.lag), (4, 2, 6), "{name}");

        // The queue moves; the cached figures follow without a count in the
        // request, and agree with stats again within a few refreshes.
        let rest = claim(&store, "h.one", 10).await;
        store
            .complete_many(&rest.iter().collect::<Vec<_>>())
            .await
            .unwrap();
        let want = store.stats(&Scope::AllDistricts).await.unwrap();
        let changed = Utc::now();
        let mut seen = store.overview(&Scope::AllDistricts).await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        // A cached scope is never counted in the request: figures counted
        // after the change come from the background task.
        while seen[0].as_of <= changed {
            assert!(
                std::time::Instant::now() < deadline,
                "{name}: no refresh after {changed}: {seen:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
            seen = store.overview(&Scope::AllDistricts).await.unwrap();
        }
        let as_stats: Vec<HandlerStats> = seen.iter().map(|o| o.stats()).collect();
        assert_eq!(as_stats, want, "{name}");
        let one = seen.iter().find(|o| o.handler_id == "h.one").unwrap();
        assert_eq!(
            (one.waiting, one.lag, one.oldest_waiting),
            (0, 0, None),
            "{name}"
        );
    }
}

#[tokio::test]
async fn throughput_counts_finished_deliveries_per_bucket_in_scope() {
    for (name, store) in both().await {
        let events: Vec<NewEvent> = (0..5)
            .map(|i| {
                let d = if i < 3 { "dst-A" } else { "dst-B" };
                event("x.y.happened", &format!("r-{i}"), d, json!({}))
            })
            .collect();
        store.append(&events, subs).await.unwrap();
        let done = claim(&store, "h.one", 5).await;
        store
            .complete_many(&done.iter().collect::<Vec<_>>())
            .await
            .unwrap();
        kill(&store, &claim(&store, "h.two", 2).await, |_| "x".into()).await;

        // Microseconds, as the store keeps times.
        let since = chrono::DateTime::from_timestamp_micros(
            (Utc::now() - Age::minutes(10)).timestamp_micros(),
        )
        .unwrap();
        let minute = Duration::from_secs(60);
        let buckets = store
            .throughput(&Scope::AllDistricts, since, minute)
            .await
            .unwrap();
        assert_eq!(buckets.len(), 11, "{name}");
        assert_eq!(buckets[0].start, since, "{name}");
        let sum = |bs: &[ThroughputBucket]| {
            (
                bs.iter().map(|b| b.completed).sum::<i64>(),
                bs.iter().map(|b| b.dead).sum::<i64>(),
            )
        };
        assert_eq!(sum(&buckets), (5, 2), "{name}");
        // Everything finished just before `since` + 10 minutes: in the last
        // full minute (the last bucket, the current one, holds now).
        assert_eq!(sum(&buckets[9..]), (5, 2), "{name}");
        assert_eq!(sum(&buckets[..9]), (0, 0), "{name}");
        let of_b = store.throughput(&b(), since, minute).await.unwrap();
        assert_eq!(sum(&of_b).0, 2, "{name}");
        assert_eq!(
            sum(&store
                .throughput(&Scope::district("dst-C"), since, minute)
                .await
                .unwrap()),
            (0, 0)
        );

        for (since, bucket) in [
            (Utc::now() + Age::minutes(1), minute),
            (since, Duration::from_millis(10)),
            (Utc::now() - Age::days(3), minute),
        ] {
            let err = store
                .throughput(&Scope::AllDistricts, since, bucket)
                .await
                .unwrap_err();
            assert!(matches!(err, StoreError::InvalidQuery(_)), "{name}: {err}");
        }
    }
}

#[tokio::test]
async fn an_event_its_deliveries_and_its_chain_in_scope() {
    for (name, store) in both().await {
        let corr = uuid::Uuid::now_v7();
        let mut root = event("c.root", "r-1", "dst-A", json!({}));
        root.metadata["correlationId"] = json!(corr.to_string());
        let mut child = event("c.child", "r-1", "dst-A", json!({}));
        child.metadata["correlationId"] = json!(corr.to_string());
        child.metadata["causationId"] = json!(root.id.to_string());
        let mut other = event("c.child", "r-2", "dst-B", json!({}));
        other.metadata["correlationId"] = json!(corr.to_string());
        let lone = event("c.lone", "r-3", "dst-A", json!({}));
        store
            .append(&[root.clone(), child.clone(), other.clone(), lone], subs)
            .await
            .unwrap();

        let got = store.event(&a(), root.id).await.unwrap().expect("stored");
        assert_eq!(got.event, root, "{name}");
        assert!(
            store.event(&b(), root.id).await.unwrap().is_none(),
            "{name}: not B's"
        );
        assert!(store
            .event(&a(), uuid::Uuid::now_v7())
            .await
            .unwrap()
            .is_none());

        let c = claim(&store, "h.one", 1).await;
        assert_eq!(c[0].event.event.id, root.id);
        store
            .fail(&c[0], "first try failed", Some(Duration::from_secs(60)))
            .await
            .unwrap();
        let ds = store.deliveries_of(&a(), root.id).await.unwrap();
        let view: Vec<_> = ds
            .iter()
            .map(|d| (d.handler_id.as_str(), d.state.clone(), d.attempts))
            .collect();
        assert_eq!(
            view,
            [
                ("h.one", DeliveryState::Failed, 1),
                ("h.two", DeliveryState::Waiting, 0)
            ],
            "{name}"
        );
        assert_eq!(ds[0].last_error.as_deref(), Some("first try failed"));
        assert!(
            ds[0].available_at > Utc::now() + Age::seconds(30),
            "{name}: the retry is due later"
        );
        let c = claim(&store, "h.two", 1).await;
        let ds = store.deliveries_of(&a(), root.id).await.unwrap();
        assert_eq!(ds[1].state, DeliveryState::Active, "{name}");
        assert!(ds[1].lease_until.is_some());
        store.complete(&c[0]).await.unwrap();
        assert_eq!(
            store.deliveries_of(&a(), root.id).await.unwrap()[1].state,
            DeliveryState::Done
        );
        assert!(
            store.deliveries_of(&b(), root.id).await.unwrap().is_empty(),
            "{name}"
        );

        let chain = store.correlated(&a(), corr, 10).await.unwrap();
        let ids: Vec<_> = chain.iter().map(|e| e.event.id).collect();
        assert_eq!(
            ids,
            [root.id, child.id],
            "{name}: A's part of the chain, in order"
        );
        assert_eq!(
            chain[1].event.metadata["causationId"],
            json!(root.id.to_string())
        );
        assert_eq!(
            store
                .correlated(&Scope::AllDistricts, corr, 10)
                .await
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            store
                .correlated(&Scope::AllDistricts, corr, 2)
                .await
                .unwrap()
                .len(),
            2
        );
        assert!(store
            .correlated(&a(), "nothing", 10)
            .await
            .unwrap()
            .is_empty());
    }
}
