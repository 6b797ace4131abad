//! The queue counters without the history (issue 16 §3, migration 10): after
//! every kind of change a delivery can go through (publish, claim, complete,
//! fail and retry, fail to dead, retry and discard dead letters, hand back,
//! lease expiry, replay, cancel, drop, prune; on SQLite a hand-written UPDATE
//! and DELETE too), `Store::stats`, read from the done counters and the
//! partial indexes, equals `Store::recount_stats`, counted from every
//! delivery, for all districts and for each one, on both backends.

mod common;

use common::{both, event};
use serde_json::json;
use skillcore_events_store::*;
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);
const LEASE: Duration = Duration::from_secs(60);

fn subs(handlers: &'static [&'static str]) -> impl Fn(&str) -> Vec<Subscriber<'static>> {
    move |_| {
        handlers
            .iter()
            .map(|h| Subscriber {
                handler_id: h,
                ordered: false,
            })
            .collect()
    }
}

/// The counters agree with a full count, in every scope; `step` names the
/// change just made.
async fn agree(name: &str, store: &Store, step: &str) -> Vec<HandlerStats> {
    let mut all = Vec::new();
    for scope in [
        Scope::AllDistricts,
        Scope::district("dst-a"),
        Scope::district("dst-b"),
        Scope::district("dst-none"),
    ] {
        let kept = store.stats(&scope).await.unwrap();
        let counted = store.recount_stats(&scope).await.unwrap();
        assert_eq!(kept, counted, "{name}, after {step}, {scope:?}");
        if scope == Scope::AllDistricts {
            all = kept;
        }
    }
    all
}

async fn exec(store: &Store, sql: &str) {
    if let Some(pool) = store.sqlite_pool() {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(pool)
            .await
            .unwrap();
    } else {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(store.postgres_pool().unwrap())
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counters_follow_every_change_of_a_delivery() {
    for (name, store) in both().await {
        let events: Vec<NewEvent> = (0..12)
            .map(|i| {
                let d = if i % 3 == 0 { "dst-b" } else { "dst-a" };
                event("a.b.posted", &format!("r-{i}"), d, json!({ "i": i }))
            })
            .collect();
        store.append(&events, subs(&["a", "b", "c"])).await.unwrap();
        let s = agree(name, &store, "publish").await;
        assert_eq!(s.len(), 3, "{name}: {s:?}");
        assert_eq!(s[0].waiting, 12, "{name}: {s:?}");

        // a: claimed, then most completed, two handed back.
        let a = store.claim_for("w", &["a"], 12, LEASE).await.unwrap();
        agree(name, &store, "claim").await;
        for c in &a[..10] {
            assert!(store.complete(c).await.unwrap());
        }
        let back: Vec<&Claimed> = a[10..].iter().collect();
        assert_eq!(store.release(&back).await.unwrap(), 2);
        let s = agree(name, &store, "complete and release").await;
        assert_eq!((s[0].completed, s[0].waiting), (10, 2), "{name}: {s:?}");

        // a: the two handed back claimed again, then completed by the
        // worker's complete-and-claim step (which claims c's at once).
        let again = store.claim_for("w", &["a"], 2, LEASE).await.unwrap();
        let (done, next) = store
            .complete_and_claim(&again.iter().collect::<Vec<_>>(), "w", &["c"], 2, LEASE)
            .await
            .unwrap();
        assert_eq!((done.len(), next.len()), (2, 2), "{name}");
        let s = agree(name, &store, "complete and claim").await;
        assert_eq!((s[0].completed, s[2].active), (12, 2), "{name}: {s:?}");
        assert_eq!(
            store
                .release(&next.iter().collect::<Vec<_>>())
                .await
                .unwrap(),
            2
        );

        // b: six fail and retry later, six go dead; one dead letter retried,
        // one discarded.
        let b = store.claim_for("w", &["b"], 12, LEASE).await.unwrap();
        for (i, c) in b.iter().enumerate() {
            let retry = if i < 6 { Some(HOUR) } else { None };
            assert!(store.fail(c, "boom", retry).await.unwrap());
        }
        let s = agree(name, &store, "fail").await;
        assert_eq!((s[1].failed, s[1].dead), (6, 6), "{name}: {s:?}");
        let dead = store
            .dead_letters(&Scope::AllDistricts, Some("b"), 10)
            .await
            .unwrap();
        assert!(store
            .retry_dead(&Scope::AllDistricts, dead[0].delivery_id)
            .await
            .unwrap());
        assert!(store
            .discard_dead(&Scope::AllDistricts, dead[1].delivery_id)
            .await
            .unwrap());
        agree(name, &store, "retry and discard dead letters").await;
        let filter = DeadFilter {
            handler: Some("b".into()),
            ..DeadFilter::default()
        };
        let discarded = store
            .discard_dead_matching(&Scope::district("dst-a"), &filter)
            .await
            .unwrap();
        assert!(discarded > 0, "{name}");
        agree(name, &store, "discard dead letters matching").await;

        // c: a lease runs out and another worker takes it over.
        let c = store
            .claim_for("w1", &["c"], 3, Duration::from_millis(1))
            .await
            .unwrap();
        assert_eq!(c.len(), 3);
        tokio::time::sleep(Duration::from_millis(20)).await;
        agree(name, &store, "lease ran out").await;
        assert!(store.expire_own_leases("w1").await.unwrap() <= 3);
        let c2 = store.claim_for("w2", &["c"], 12, LEASE).await.unwrap();
        assert!(store
            .complete_many(&c2.iter().collect::<Vec<_>>())
            .await
            .is_ok());
        agree(name, &store, "take over and complete").await;

        // A replay of one district to a, then cancelled halfway.
        let (_batch, queued) = store
            .replay(&Scope::district("dst-b"), "a", &ReplayFilter::default())
            .await
            .unwrap();
        assert_eq!(queued, 4, "{name}");
        agree(name, &store, "replay").await;
        let r = store.claim_for("w", &["a"], 1, LEASE).await.unwrap();
        assert!(store.complete(&r[0]).await.unwrap());
        store
            .cancel_replay(&Scope::AllDistricts, "a", None)
            .await
            .unwrap();
        agree(name, &store, "cancel replay").await;

        // Dropped: the queue of b in one district (no done deliveries), and
        // of a in the other (done ones among them).
        assert!(
            store
                .drop_handler(&Scope::district("dst-b"), "b")
                .await
                .unwrap()
                > 0
        );
        agree(name, &store, "drop").await;
        let before = agree(name, &store, "drop").await;
        assert!(
            store
                .drop_handler(&Scope::district("dst-a"), "a")
                .await
                .unwrap()
                > 0
        );
        let after = agree(name, &store, "drop of done deliveries").await;
        assert!(
            after[0].completed < before[0].completed,
            "{name}: {after:?}"
        );

        // SQLite: by hand, done deliveries put back to waiting and deleted
        // (the triggers count them; on PostgreSQL only the store's own
        // statements do, see `Store::stats`).
        if store.sqlite_pool().is_some() {
            exec(
                &store,
                "UPDATE skc_deliveries SET status = 'waiting', attempts = 0
                 WHERE id IN (SELECT id FROM skc_deliveries WHERE handler_id = 'c' AND status = 'done' LIMIT 2)",
            )
            .await;
            agree(name, &store, "a hand-written UPDATE").await;
            exec(
                &store,
                "DELETE FROM skc_deliveries
                 WHERE id IN (SELECT id FROM skc_deliveries WHERE handler_id = 'c' AND status = 'done' LIMIT 3)",
            )
            .await;
            agree(name, &store, "a hand-written DELETE").await;
        }

        // PostgreSQL: a hand-written change of done deliveries is not
        // counted until the counters are rebuilt.
        if store.postgres_pool().is_some() {
            exec(
                &store,
                "DELETE FROM skc_deliveries
                 WHERE id IN (SELECT id FROM skc_deliveries WHERE handler_id = 'c' AND status = 'done' LIMIT 3)",
            )
            .await;
            let all = Scope::AllDistricts;
            let kept = store.stats(&all).await.unwrap();
            let counted = store.recount_stats(&all).await.unwrap();
            assert_eq!(kept[2].completed, counted[2].completed + 3, "{name}");
            store.rebuild_counters().await.unwrap();
            agree(name, &store, "a hand-written DELETE and a rebuild").await;
        }

        // Pruned: finished deliveries aged past the keep time.
        exec(
            &store,
            "UPDATE skc_deliveries SET updated_at = updated_at - 7200000000",
        )
        .await;
        assert!(store.prune_finished(HOUR).await.unwrap() > 0, "{name}");
        let s = agree(name, &store, "prune").await;
        assert!(s.iter().all(|h| h.completed == 0), "{name}: {s:?}");

        // Completed again after the prune.
        let more = [event("a.b.posted", "r-99", "dst-a", json!({}))];
        store.append(&more, subs(&["a"])).await.unwrap();
        let m = store.claim_for("w", &["a"], 1, LEASE).await.unwrap();
        assert!(store.complete(&m[0]).await.unwrap());
        let s = agree(name, &store, "a completion after the prune").await;
        assert_eq!(s[0].completed, 1, "{name}: {s:?}");

        // PostgreSQL: the deltas are folded into the counters by a later
        // completion (at most every 2 s) and the figures stay the same.
        if let Some(pool) = store.postgres_pool() {
            let deltas = "SELECT COUNT(*) FROM skc_done_deltas";
            let before: i64 = sqlx::query_scalar(deltas).fetch_one(pool).await.unwrap();
            assert!(before > 0, "the changes above left deltas");
            tokio::time::sleep(Duration::from_millis(2100)).await;
            let one = [event("a.b.posted", "r-100", "dst-a", json!({}))];
            store.append(&one, subs(&["a"])).await.unwrap();
            let m = store.claim_for("w", &["a"], 1, LEASE).await.unwrap();
            assert!(store.complete(&m[0]).await.unwrap());
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            loop {
                let left: i64 = sqlx::query_scalar(deltas).fetch_one(pool).await.unwrap();
                if left == 0 {
                    break;
                }
                assert!(std::time::Instant::now() < deadline, "never folded: {left}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let folded = agree(name, &store, "a fold").await;
            assert_eq!(folded[0].completed, 2, "{name}: {folded:?}");
        }
    }
}
