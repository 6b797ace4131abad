//! The operations queries (overview, throughput, event search, event detail,
//! chains, dead-letter groups and bulk actions) on SQLite and PostgreSQL:
//! their results, the tenant scope, cursor pagination, index-backed plans.

mod common;

use chrono::{Duration as Age, Utc};
use common::{both, event};
use serde_json::json;
use skillcore_events_store::*;
use std::collections::BTreeSet;
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
        let first = store.overview(&Scope::AllDistricts).await.unwrap();
        let mut seen = first.clone();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while seen.iter().map(|o| o.stats()).collect::<Vec<_>>() != want {
            assert!(
                std::time::Instant::now() < deadline,
                "{name}: {seen:?} never became {want:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
            seen = store.overview(&Scope::AllDistricts).await.unwrap();
        }
        assert!(
            seen[0].as_of > first[0].as_of,
            "{name}: refreshed in the background"
        );
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

/// Reads every page of `query`, asserting each is newest first and none
/// repeats an event of an earlier one.
async fn all_pages(store: &Store, mut query: EventQuery) -> (Vec<i64>, usize) {
    let mut seqs = Vec::new();
    let mut pages = 0;
    loop {
        let page = store.search_events(&query).await.unwrap();
        pages += 1;
        assert!(page.events.len() <= query.limit as usize);
        for e in &page.events {
            assert!(
                seqs.last().is_none_or(|&l| l > e.seq),
                "{seqs:?} then {}",
                e.seq
            );
            seqs.push(e.seq);
        }
        match page.next {
            Some(next) => query = query.after(Some(next)),
            None => return (seqs, pages),
        }
        assert!(pages < 1000, "the pages never end");
    }
}

#[tokio::test]
async fn search_pages_by_cursor_without_repeats_or_gaps_and_filters_in_scope() {
    for (name, store) in both().await {
        let mut events = Vec::new();
        for i in 0..40 {
            let district = if i % 4 == 0 { "dst-B" } else { "dst-A" };
            let t = if i % 2 == 0 {
                "g.grade.posted"
            } else {
                "g.grade.deleted"
            };
            let mut e = event(
                t,
                &format!("r-{}", i % 5),
                district,
                json!({
                    "studentId": format!("s-{}", i % 3), "score": i, "passed": i % 2 == 0,
                    "who": {"name": format!("n{}", i % 2)}
                }),
            );
            e.occurred_at = Utc::now() - Age::minutes(40 - i);
            events.push(e);
        }
        let seqs = store.append(&events, subs).await.unwrap();
        let seq_of = |pred: &dyn Fn(usize) -> bool| -> Vec<i64> {
            let mut s: Vec<i64> = (0..40).filter(|&i| pred(i)).map(|i| seqs[i]).collect();
            s.reverse();
            s
        };

        let (got, pages) = all_pages(&store, EventQuery::new(Scope::AllDistricts).limit(7)).await;
        assert_eq!(got, seq_of(&|_| true), "{name}");
        assert_eq!(pages, 6, "{name}: 40 events in pages of 7");
        let (got, _) = all_pages(&store, EventQuery::new(a()).limit(4)).await;
        assert_eq!(got, seq_of(&|i| i % 4 != 0), "{name}: only A's");

        let q = EventQuery::new(a())
            .event_type("g.grade.posted")
            .field("studentId", "s-1");
        let (got, _) = all_pages(&store, q.limit(2)).await;
        assert_eq!(
            got,
            seq_of(&|i| i % 4 != 0 && i % 2 == 0 && i % 3 == 1),
            "{name}"
        );
        let q = EventQuery::new(Scope::AllDistricts).event_type("g.grade.posted");
        let (got, _) = all_pages(&store, q.clone().field("score", 12.0).limit(3)).await;
        assert_eq!(got, [seqs[12]], "{name}: 12.0 equals the stored 12");
        let (got, _) = all_pages(&store, q.clone().field("score", "12")).await;
        assert!(got.is_empty(), "{name}: a string is not a number");
        let (got, _) = all_pages(&store, q.clone().field("who.name", "n0").limit(50)).await;
        assert_eq!(got, seq_of(&|i| i % 2 == 0), "{name}: a nested path");
        let (got, _) = all_pages(&store, q.clone().field("passed", false)).await;
        assert!(got.is_empty(), "{name}");
        let agg = EventQuery::new(Scope::AllDistricts).aggregate("Result", "r-2");
        let (got, _) = all_pages(&store, agg.clone().limit(3)).await;
        assert_eq!(got, seq_of(&|i| i % 5 == 2), "{name}");
        let (got, _) = all_pages(&store, agg.event_type("g.grade.deleted")).await;
        assert_eq!(got, seq_of(&|i| i % 5 == 2 && i % 2 == 1), "{name}");
        let from = Utc::now() - Age::minutes(10) - Age::seconds(30);
        let q = EventQuery::new(b()).between(from, Utc::now());
        let (got, _) = all_pages(&store, q.limit(1)).await;
        assert_eq!(
            got,
            seq_of(&|i| i % 4 == 0 && i >= 30),
            "{name}: the last 10 minutes"
        );
        // A page never holds more than the cap.
        let page = store
            .search_events(&EventQuery::new(Scope::AllDistricts).limit(10_000))
            .await
            .unwrap();
        assert_eq!(page.events.len(), 40, "{name}");
        assert!(MAX_PAGE >= 40 && page.next.is_none());
    }
}

#[tokio::test]
async fn a_rare_match_is_searched_a_bounded_stretch_per_page() {
    for (name, store) in both().await {
        let mut events = vec![
            event("r.are", "r-0", "dst-A", json!({"k": "hit"})),
            event("r.are", "r-1", "dst-A", json!({"k": "hit"})),
        ];
        for i in 0..(MAX_SCAN as usize + 500) {
            events.push(event(
                "r.are",
                &format!("m-{i}"),
                "dst-A",
                json!({"k": "miss"}),
            ));
        }
        for chunk in events.chunks(1000) {
            store.append(chunk, |_| Vec::new()).await.unwrap();
        }
        let q = EventQuery::new(a()).event_type("r.are").field("k", "hit");
        let first = store.search_events(&q).await.unwrap();
        assert!(first.events.is_empty(), "{name}");
        assert_eq!(first.examined, MAX_SCAN, "{name}");
        let second = store
            .search_events(&q.clone().after(first.next))
            .await
            .unwrap();
        assert_eq!(second.events.len(), 2, "{name}");
        assert_eq!(second.examined, 502, "{name}");
        assert_eq!(second.next, None, "{name}");
    }
}

#[tokio::test]
async fn searches_no_index_serves_are_refused_without_the_value() {
    for (name, store) in both().await {
        let q = EventQuery::new(Scope::AllDistricts).field("studentId", "stu-secret-42");
        let err = store.search_events(&q).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidQuery(_)), "{name}: {err}");
        assert!(err.to_string().contains("event type"), "{err}");
        assert!(!err.to_string().contains("stu-secret-42"), "{err}");
        let base = EventQuery::new(Scope::AllDistricts).event_type("x.y");
        let refused = [
            base.clone().field("list", json!(["stu-secret-42"])),
            base.clone().field("bad-name", "v"),
            base.clone().limit(0),
            base.clone()
                .between(Utc::now(), Utc::now() - Age::seconds(1)),
            EventQuery::new(Scope::AllDistricts).aggregate("Result", ""),
        ];
        for q in refused {
            let err = store.search_events(&q).await.unwrap_err();
            assert!(!err.to_string().contains("stu-secret-42"), "{name}: {err}");
            assert!(
                matches!(
                    err,
                    StoreError::InvalidQuery(_) | StoreError::InvalidField(_)
                ),
                "{name}: {err}"
            );
        }
        assert!("-3".parse::<EventCursor>().is_err());
    }
}

#[tokio::test]
async fn every_search_reads_an_index_sqlite() {
    let (store, _) = common::sqlite().await;
    let plan = |q: EventQuery| {
        let store = store.clone();
        async move { store.explain_search(&q).await.unwrap().join("\n") }
    };
    let typed = plan(EventQuery::new(a()).event_type("x.y").field("k", 1)).await;
    assert!(
        typed.contains("USING COVERING INDEX skc_events_type (event_type=? AND rowid<?)"),
        "{typed}"
    );
    let agg = plan(EventQuery::new(a()).aggregate("Result", "r-1")).await;
    assert!(
        agg.contains(
            "INDEX skc_events_aggregate (aggregate_type=? AND aggregate_id=? AND rowid<?)"
        ),
        "{agg}"
    );
    let recent = plan(EventQuery::new(a()).between(Utc::now() - Age::hours(1), Utc::now())).await;
    assert!(
        recent.contains("SEARCH skc_events USING INTEGER PRIMARY KEY (rowid<?)"),
        "{recent}"
    );
    for p in [typed, agg, recent] {
        // The outer lookup is by primary key; no step scans a table.
        assert!(
            !p.lines()
                .any(|l| l.starts_with("SCAN skc_events") || l.starts_with("SCAN e")),
            "{p}"
        );
    }
}

#[tokio::test]
async fn every_search_reads_an_index_postgres() {
    let (_, schema) = common::postgres().await;
    // Sequential scans priced out: the plan shows the index a search reads
    // when the table is big (on a small one a scan is cheaper).
    let url = common::pg_url();
    let sep = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{sep}options=-c%20enable_seqscan%3Doff");
    let store = Store::postgres(&url, Some(&schema)).await.unwrap();
    for (q, index) in [
        (
            EventQuery::new(a()).event_type("x.y").field("k", 1),
            "skc_events_type_seq",
        ),
        (
            EventQuery::new(a()).aggregate("Result", "r-1"),
            "skc_events_aggregate_seq",
        ),
        (EventQuery::new(a()), "skc_events_district"),
        (EventQuery::new(Scope::AllDistricts), "skc_events_pkey"),
    ] {
        let p = store.explain_search(&q).await.unwrap().join("\n");
        assert!(
            p.contains(&format!("Index Only Scan Backward using {index}"))
                || p.contains(&format!("Index Scan Backward using {index}")),
            "{p}"
        );
        assert!(!p.contains("Seq Scan"), "{p}");
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

/// Dead letters: in A, h.one "student N not found" x3 and a timeout; h.two
/// "student N not found" x1; in B, h.one "student N not found" x2.
async fn dead_letters(store: &Store) {
    let mut events = Vec::new();
    for i in 0..4 {
        events.push(event("d.e.posted", &format!("a-{i}"), "dst-A", json!({})));
    }
    events.push(event("d.e.other", "a-9", "dst-A", json!({})));
    events.push(event("d.e.posted", "b-1", "dst-B", json!({})));
    events.push(event("d.e.posted", "b-2", "dst-B", json!({})));
    store.append(&events, subs).await.unwrap();
    let ones = claim(store, "h.one", 7).await;
    kill(store, &ones, |c| {
        match c.event.event.aggregate_id.as_str() {
            "a-3" => format!("timeout after {}.5s", c.delivery_id),
            "a-9" => "student 'Ann Smith' not found".into(),
            id => format!(
                "student {} not found (req {})",
                id.len() * 11 + c.delivery_id as usize,
                uuid::Uuid::now_v7()
            ),
        }
    })
    .await;
    let twos = claim(store, "h.two", 1).await;
    kill(store, &twos, |_| "student 77 not found".into()).await;
}

#[tokio::test]
async fn dead_letters_group_by_masked_error_with_the_same_keys_on_both_backends() {
    let mut keys = Vec::new();
    for (name, store) in both().await {
        dead_letters(&store).await;
        let groups = store
            .dead_letter_groups(&a(), &DeadFilter::default())
            .await
            .unwrap();
        let mut view: Vec<_> = groups
            .iter()
            .map(|g| (g.handler_id.as_str(), g.error.as_str(), g.count))
            .collect();
        assert_eq!(view[0].2, 3, "{name}: the biggest group first: {groups:?}");
        view.sort();
        assert_eq!(
            view,
            [
                ("h.one", "student <n> not found (req <uuid>)", 3),
                ("h.one", "student <str> not found", 1),
                ("h.one", "timeout after <n>s", 1),
                ("h.two", "student <n> not found", 1),
            ],
            "{name}: {groups:?}"
        );
        let big = &groups[0];
        assert!(big.first_seen <= big.last_seen);
        assert!(big.sample_error.starts_with("student "), "{name}");
        let all = store
            .dead_letter_groups(&Scope::AllDistricts, &DeadFilter::default())
            .await
            .unwrap();
        assert_eq!(
            all.iter().find(|g| g.key == big.key).unwrap().count,
            5,
            "{name}: B's two join"
        );
        let of_b = store
            .dead_letter_groups(&b(), &DeadFilter::default())
            .await
            .unwrap();
        assert_eq!(of_b.len(), 1, "{name}: {of_b:?}");
        let typed = DeadFilter::default().event_type("d.e.other");
        assert_eq!(
            store.dead_letter_groups(&a(), &typed).await.unwrap().len(),
            1,
            "{name}"
        );
        let f = DeadFilter::default().handler("h.two");
        assert_eq!(
            store.dead_letter_groups(&a(), &f).await.unwrap().len(),
            1,
            "{name}"
        );
        let later = DeadFilter::default()
            .between(Utc::now() + Age::minutes(1), Utc::now() + Age::minutes(2));
        assert!(
            store
                .dead_letter_groups(&a(), &later)
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );
        keys.push(
            groups
                .iter()
                .map(|g| g.key.clone())
                .collect::<BTreeSet<_>>(),
        );
    }
    assert_eq!(
        keys[0], keys[1],
        "the same groups and keys on both backends"
    );
}

#[tokio::test]
async fn bulk_retry_and_discard_count_exactly_and_stay_in_scope() {
    for (name, store) in both().await {
        dead_letters(&store).await;
        let groups = store
            .dead_letter_groups(&a(), &DeadFilter::default())
            .await
            .unwrap();
        let big = DeadFilter::default().group(&groups[0].key);
        assert_eq!(
            store.count_dead_matching(&a(), &big).await.unwrap(),
            3,
            "{name}"
        );
        assert_eq!(
            store.count_dead_matching(&b(), &big).await.unwrap(),
            2,
            "{name}"
        );
        assert_eq!(
            store.retry_dead_matching(&a(), &big).await.unwrap(),
            3,
            "{name}"
        );
        assert_eq!(
            store.retry_dead_matching(&a(), &big).await.unwrap(),
            0,
            "{name}: nothing twice"
        );
        assert_eq!(
            store.count_dead_matching(&b(), &big).await.unwrap(),
            2,
            "{name}: B's untouched"
        );
        let stats = store.stats(&a()).await.unwrap();
        let one = stats.iter().find(|s| s.handler_id == "h.one").unwrap();
        assert_eq!(
            (one.waiting, one.dead),
            (3, 2),
            "{name}: retried with fresh attempts"
        );
        let again = claim(&store, "h.one", 10).await;
        assert_eq!(
            again.len(),
            3,
            "{name}: the retried letters are claimed again"
        );
        assert!(again.iter().all(|c| c.attempt == 1), "{name}");

        let rest = DeadFilter::default().handler("h.one");
        assert_eq!(
            store.discard_dead_matching(&a(), &rest).await.unwrap(),
            2,
            "{name}"
        );
        assert_eq!(
            store
                .count_dead_matching(&a(), &DeadFilter::default())
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .discard_dead_matching(&Scope::AllDistricts, &DeadFilter::default())
                .await
                .unwrap(),
            3
        );
        assert_eq!(
            store
                .count_dead_matching(&Scope::AllDistricts, &DeadFilter::default())
                .await
                .unwrap(),
            0
        );
    }
}
