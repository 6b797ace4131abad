//! The store and queue, on SQLite and PostgreSQL alike.

mod common;

use common::{both, event, Handlers};
use serde_json::json;
use skillcore_events::{HandlerError, HandlerOptions};
use skillcore_events_store::*;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

const LEASE: Duration = Duration::from_secs(30);

/// Runs the worker in a task until `stop` is sent; `run` ends when it has.
fn run_in_background(
    w: Worker,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(async move {
        w.run(async {
            let _ = stopped.await;
        })
        .await
    });
    (stop, run)
}

/// The handlers, none of them ordered.
fn unordered(handlers: &[&'static str]) -> Vec<Subscriber<'static>> {
    handlers
        .iter()
        .map(|h| Subscriber {
            handler_id: h,
            ordered: false,
        })
        .collect()
}

fn subs(_: &str) -> Vec<Subscriber<'static>> {
    unordered(&["analytics.update_gpa", "notifications.send"])
}

#[tokio::test]
async fn append_writes_event_and_one_delivery_per_handler() {
    for (name, store) in both().await {
        let e = event(
            "gradebook.grade.posted",
            "r-1",
            "d-1",
            json!({"resultId": "r-1", "score": 9}),
        );
        let seqs = store.append(std::slice::from_ref(&e), subs).await.unwrap();
        assert_eq!(seqs.len(), 1, "{name}");
        let stats = store.stats(&Scope::AllDistricts).await.unwrap();
        assert_eq!(stats.len(), 2, "{name}: {stats:?}");
        assert!(
            stats.iter().all(|s| s.waiting == 1 && s.completed == 0),
            "{name}: {stats:?}"
        );

        let claimed = store
            .claim_for(
                "w1",
                &["analytics.update_gpa", "notifications.send"],
                10,
                LEASE,
            )
            .await
            .unwrap();
        assert_eq!(claimed.len(), 2, "{name}");
        assert_eq!(
            claimed[0].event.event, e,
            "{name}: stored event reads back unchanged"
        );
        assert_eq!(
            seqs[0], claimed[0].event.seq,
            "{name}: append returns the event's sequence number, not a delivery's"
        );
        assert_eq!(claimed[0].attempt, 1);
        // Nothing left to claim while the lease holds.
        assert!(
            store
                .claim_for("w2", &["analytics.update_gpa"], 10, LEASE)
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );
        for c in &claimed {
            assert!(store.complete(c).await.unwrap(), "{name}");
        }
        let stats = store.stats(&Scope::AllDistricts).await.unwrap();
        assert!(
            stats
                .iter()
                .all(|s| s.completed == 1 && s.waiting == 0 && s.active == 0),
            "{name}: {stats:?}"
        );
    }
}

#[tokio::test]
async fn claims_only_the_handlers_a_worker_has() {
    for (name, store) in both().await {
        store
            .append(&[event("a.b.posted", "x", "d", json!({}))], subs)
            .await
            .unwrap();
        let claimed = store
            .claim_for("w", &["notifications.send"], 10, LEASE)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1, "{name}");
        assert_eq!(claimed[0].handler_id, "notifications.send");
    }
}

#[tokio::test]
async fn failures_retry_then_become_dead_letters_that_can_be_retried_or_discarded() {
    for (name, store) in both().await {
        store
            .append(&[event("a.b.posted", "x", "d", json!({}))], |_| {
                unordered(&["h.one"])
            })
            .await
            .unwrap();
        let c = store
            .claim_for("w", &["h.one"], 1, LEASE)
            .await
            .unwrap()
            .remove(0);
        assert!(store
            .fail(&c, "boom 1", Some(Duration::ZERO))
            .await
            .unwrap());
        let s = &store.stats(&Scope::AllDistricts).await.unwrap()[0];
        assert_eq!((s.waiting, s.failed, s.dead), (0, 1, 0), "{name}");

        let c = store
            .claim_for("w", &["h.one"], 1, LEASE)
            .await
            .unwrap()
            .remove(0);
        assert_eq!(c.attempt, 2, "{name}: attempts are counted in the database");
        // A retry in the future is not claimable yet.
        assert!(store
            .fail(&c, "boom 2", Some(Duration::from_secs(3600)))
            .await
            .unwrap());
        assert!(
            store
                .claim_for("w", &["h.one"], 1, LEASE)
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );

        // Give up on it: a dead letter with the last error.
        let c2 = {
            // Pull it forward by retrying: emulate "out of attempts" on a claimed one.
            store
                .append(&[event("a.b.posted", "y", "d", json!({}))], |_| {
                    unordered(&["h.two"])
                })
                .await
                .unwrap();
            store
                .claim_for("w", &["h.two"], 1, LEASE)
                .await
                .unwrap()
                .remove(0)
        };
        assert!(store
            .fail(&c2, "payload no longer decodes", None)
            .await
            .unwrap());
        let dead = store
            .dead_letters(&Scope::AllDistricts, None, 10)
            .await
            .unwrap();
        assert_eq!(dead.len(), 1, "{name}");
        assert_eq!(dead[0].handler_id, "h.two");
        assert_eq!(dead[0].last_error, "payload no longer decodes");
        assert_eq!(dead[0].attempts, 1);
        assert_eq!(
            store
                .dead_letters(&Scope::AllDistricts, Some("h.one"), 10)
                .await
                .unwrap()
                .len(),
            0
        );

        assert!(
            store
                .retry_dead(&Scope::AllDistricts, dead[0].delivery_id)
                .await
                .unwrap(),
            "{name}"
        );
        assert!(
            !store
                .retry_dead(&Scope::AllDistricts, dead[0].delivery_id)
                .await
                .unwrap(),
            "{name}: no longer dead"
        );
        let again = store.claim_for("w", &["h.two"], 1, LEASE).await.unwrap();
        assert_eq!(again.len(), 1, "{name}: a retried dead letter is claimable");
        assert_eq!(again[0].attempt, 1, "{name}: with a fresh set of attempts");
        assert!(store.fail(&again[0], "still broken", None).await.unwrap());
        let dead = store
            .dead_letters(&Scope::AllDistricts, None, 10)
            .await
            .unwrap();
        assert!(store
            .discard_dead(&Scope::AllDistricts, dead[0].delivery_id)
            .await
            .unwrap());
        assert!(
            store
                .dead_letters(&Scope::AllDistricts, None, 10)
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );
        let two = store
            .stats(&Scope::AllDistricts)
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.handler_id == "h.two")
            .unwrap();
        assert_eq!(two.dead, 0, "{name}: discarded letters leave the counters");
    }
}

#[tokio::test]
async fn an_expired_lease_is_claimed_again_and_the_old_owner_cannot_complete() {
    for (name, store) in both().await {
        store
            .append(&[event("a.b.posted", "x", "d", json!({}))], |_| {
                unordered(&["h"])
            })
            .await
            .unwrap();
        let dead_worker = store
            .claim_for("dead", &["h"], 1, Duration::from_millis(50))
            .await
            .unwrap()
            .remove(0);
        tokio::time::sleep(Duration::from_millis(120)).await;
        let c = store.claim_for("alive", &["h"], 1, LEASE).await.unwrap();
        assert_eq!(
            c.len(),
            1,
            "{name}: the lease ran out, so the delivery is free again"
        );
        assert_eq!(c[0].attempt, 2, "{name}");
        assert!(
            !store.complete(&dead_worker).await.unwrap(),
            "{name}: a lost lease cannot complete"
        );
        assert!(store.complete(&c[0]).await.unwrap(), "{name}");
    }
}

#[tokio::test]
async fn a_redelivered_event_is_not_handled_twice() {
    for (name, store) in both().await {
        store
            .append(&[event("a.b.posted", "x", "d", json!({}))], |_| {
                unordered(&["h"])
            })
            .await
            .unwrap();
        // The worker handled it but died before marking the delivery done... the
        // handled record is written with the completion, so emulate the other case:
        // the delivery completes, then a stale copy (lease expired) comes back.
        let first = store
            .claim_for("w1", &["h"], 1, Duration::from_millis(30))
            .await
            .unwrap()
            .remove(0);
        tokio::time::sleep(Duration::from_millis(80)).await;
        let second = store
            .claim_for("w2", &["h"], 1, LEASE)
            .await
            .unwrap()
            .remove(0);
        assert!(!second.already_handled, "{name}");
        // w1 finishes late: its lease is gone, but its success is recorded.
        assert!(!store.complete(&first).await.unwrap(), "{name}");
        // w2 fails; on the next claim the handler is known to have succeeded.
        assert!(store
            .fail(&second, "x", Some(Duration::ZERO))
            .await
            .unwrap());
        let third = store
            .claim_for("w3", &["h"], 1, LEASE)
            .await
            .unwrap()
            .remove(0);
        assert!(
            third.already_handled,
            "{name}: the idempotency record is consulted"
        );
    }
}

#[tokio::test]
async fn queries_are_scoped_to_one_district() {
    for (name, store) in both().await {
        let a = event(
            "gradebook.grade.posted",
            "r-a",
            "district-a",
            json!({"studentId": "s-1"}),
        );
        let b = event(
            "gradebook.grade.posted",
            "r-b",
            "district-b",
            json!({"studentId": "s-1"}),
        );
        store
            .append(&[a.clone(), b.clone()], |_| Vec::new())
            .await
            .unwrap();
        let scope_a = Scope::District("district-a".into());
        let scope_b = Scope::District("district-b".into());

        let by_field = store
            .events_by_field(&scope_b, "gradebook.grade.posted", "studentId", "s-1")
            .await
            .unwrap();
        assert_eq!(by_field.len(), 1, "{name}");
        assert_eq!(
            by_field[0].event.id, b.id,
            "{name}: district B sees only its own"
        );
        let all = store
            .events_by_field(
                &Scope::AllDistricts,
                "gradebook.grade.posted",
                "studentId",
                "s-1",
            )
            .await
            .unwrap();
        assert_eq!(all.len(), 2, "{name}: the admin scope sees both");

        assert!(
            store
                .aggregate_events(&scope_b, "Result", "r-a")
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );
        assert_eq!(
            store
                .aggregate_events(&scope_a, "Result", "r-a")
                .await
                .unwrap()
                .len(),
            1
        );

        let from = chrono::DateTime::parse_from_rfc3339("2025-11-17T00:00:00Z")
            .unwrap()
            .into();
        let to = chrono::DateTime::parse_from_rfc3339("2025-11-18T00:00:00Z")
            .unwrap()
            .into();
        let in_range = store
            .events_by_type(&scope_a, "gradebook.grade.posted", from, to)
            .await
            .unwrap();
        assert_eq!(in_range.len(), 1, "{name}");
        assert_eq!(in_range[0].event.id, a.id);
        let later = chrono::DateTime::parse_from_rfc3339("2025-11-17T14:03:01Z")
            .unwrap()
            .into();
        assert!(store
            .events_by_type(&scope_a, "gradebook.grade.posted", later, to)
            .await
            .unwrap()
            .is_empty());

        // On PostgreSQL the reader waits for older transactions anywhere in the
        // database (other tests') to finish: poll briefly.
        let mut read = Vec::new();
        for _ in 0..200 {
            read = store
                .read_after(&scope_a, Cursor::default(), 100)
                .await
                .unwrap()
                .0;
            if !read.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert_eq!(read.len(), 1, "{name}");
    }
}

#[tokio::test]
async fn payload_values_are_bound_never_spliced() {
    for (name, store) in both().await {
        store
            .append(
                &[event("a.b.posted", "x", "d", json!({"studentId": "s-1"}))],
                |_| Vec::new(),
            )
            .await
            .unwrap();
        let evil = "s-1' OR '1'='1";
        let found = store
            .events_by_field(&Scope::AllDistricts, "a.b.posted", "studentId", evil)
            .await
            .unwrap();
        assert!(found.is_empty(), "{name}");
        let err = store
            .events_by_field(
                &Scope::AllDistricts,
                "a.b.posted",
                "studentId') OR 1=1 --",
                "x",
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidField(_)), "{name}: {err}");
    }
}

#[tokio::test]
async fn ordered_handlers_get_one_aggregate_in_order() {
    for (name, store) in both().await {
        let ordered = |_: &str| {
            vec![Subscriber {
                handler_id: "proj",
                ordered: true,
            }]
        };
        store
            .append(
                &[event("a.b.posted", "agg-1", "d", json!({"n": 1}))],
                ordered,
            )
            .await
            .unwrap();
        store
            .append(
                &[event("a.b.posted", "agg-1", "d", json!({"n": 2}))],
                ordered,
            )
            .await
            .unwrap();
        store
            .append(
                &[event("a.b.posted", "agg-2", "d", json!({"n": 3}))],
                ordered,
            )
            .await
            .unwrap();
        let first = store.claim_for("w", &["proj"], 10, LEASE).await.unwrap();
        let ns: Vec<_> = first
            .iter()
            .map(|c| c.event.event.payload["n"].clone())
            .collect();
        assert_eq!(
            ns,
            vec![json!(1), json!(3)],
            "{name}: the second event of agg-1 waits"
        );
        for c in &first {
            store.complete(c).await.unwrap();
        }
        let next = store.claim_for("w", &["proj"], 10, LEASE).await.unwrap();
        assert_eq!(next.len(), 1, "{name}");
        assert_eq!(next[0].event.event.payload["n"], json!(2));
    }
}

#[tokio::test]
async fn replay_redelivers_matching_events_to_one_handler() {
    for (name, store) in both().await {
        let h = |_: &str| unordered(&["proj"]);
        store
            .append(&[event("a.b.posted", "1", "d", json!({}))], h)
            .await
            .unwrap();
        store
            .append(&[event("c.d.marked", "2", "d", json!({}))], h)
            .await
            .unwrap();
        let w = Handlers::new()
            .on(
                &["a.b.posted", "c.d.marked"],
                "proj",
                HandlerOptions::new(),
                |_e, _a| async { Ok(()) },
            )
            .worker(&store, "w")
            .build();
        assert_eq!(w.drain().await.unwrap(), 2, "{name}");
        let (batch, n) = store
            .replay(
                &Scope::AllDistricts,
                "proj",
                &ReplayFilter {
                    event_type: Some("a.b.posted".into()),
                    since: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(n, 1, "{name}");
        let p = store
            .replay_progress(&Scope::AllDistricts, "proj", batch)
            .await
            .unwrap();
        assert_eq!((p.total, p.done), (1, 0));
        let outcomes = w.run_once().await.unwrap();
        assert_eq!(
            outcomes,
            vec![Outcome::Done],
            "{name}: a replay runs the handler again"
        );
        assert!(store
            .replay_progress(&Scope::AllDistricts, "proj", batch)
            .await
            .unwrap()
            .finished());
    }
}

#[tokio::test]
async fn worker_retries_isolates_panics_times_out_and_dead_letters() {
    for (name, store) in both().await {
        let fails_once = Arc::new(AtomicU32::new(0));
        let f = fails_once.clone();
        let fast = HandlerOptions::new()
            .backoff(Duration::from_millis(1))
            .timeout(Duration::from_millis(200));
        store
            .append(&[event("a.b.posted", "x", "d", json!({}))], |_| {
                unordered(&["flaky", "panics", "slow", "undecodable"])
            })
            .await
            .unwrap();
        let ab = &["a.b.posted"];
        let w = Handlers::new()
            .on(ab, "flaky", fast, move |_e, attempt| {
                let f = f.clone();
                async move {
                    f.fetch_add(1, Ordering::SeqCst);
                    if attempt == 1 {
                        Err(HandlerError::msg("first try fails"))
                    } else {
                        Ok(())
                    }
                }
            })
            .on(ab, "panics", fast, |_e, _a| async { panic!("handler bug") })
            .on(ab, "slow", fast, |_e, _a| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            })
            .on(ab, "undecodable", fast, |_e, _a| async {
                Err(HandlerError::permanent("missing field `resultId`"))
            })
            .worker(&store, "w")
            .build();
        for _ in 0..10 {
            w.drain().await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(
            fails_once.load(Ordering::SeqCst),
            2,
            "{name}: flaky ran twice"
        );
        let stats = store.stats(&Scope::AllDistricts).await.unwrap();
        let get = |h: &str| stats.iter().find(|s| s.handler_id == h).cloned().unwrap();
        assert_eq!(get("flaky").completed, 1, "{name}");
        assert_eq!(
            get("panics").dead,
            1,
            "{name}: 3 panicking attempts, then dead"
        );
        assert_eq!(get("slow").dead, 1, "{name}: 3 timeouts, then dead");
        assert_eq!(get("undecodable").dead, 1, "{name}");
        let dead = store
            .dead_letters(&Scope::AllDistricts, None, 10)
            .await
            .unwrap();
        let err = |h: &str| dead.iter().find(|d| d.handler_id == h).unwrap().clone();
        assert!(err("panics").last_error.contains("handler bug"), "{name}");
        assert_eq!(err("panics").attempts, 3);
        assert!(err("slow").last_error.contains("timed out"), "{name}");
        assert_eq!(
            err("undecodable").attempts,
            1,
            "{name}: no retries for a payload that cannot decode"
        );
    }
}

#[tokio::test]
async fn reopening_applies_migrations_once() {
    let (store, path) = common::sqlite().await;
    store
        .append(&[event("a.b.posted", "x", "d", json!({}))], |_| Vec::new())
        .await
        .unwrap();
    drop(store);
    let again = Store::sqlite(&path).await.unwrap();
    let (events, _) = again
        .read_after(&Scope::AllDistricts, Cursor::default(), 10)
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "the state survives a restart");

    let (_pg, schema) = common::postgres().await;
    let url = common::pg_url();
    let (a, b) = tokio::join!(
        Store::postgres(&url, Some(&schema)),
        Store::postgres(&url, Some(&schema))
    );
    a.unwrap();
    b.unwrap();
}

#[tokio::test]
async fn publishing_an_event_twice_stores_and_queues_it_once() {
    for (name, store) in both().await {
        let e = event("a.b.posted", "x", "d", json!({}));
        let first = store.append(std::slice::from_ref(&e), subs).await.unwrap();
        let again = store.append(std::slice::from_ref(&e), subs).await.unwrap();
        assert_eq!(first.len(), 1, "{name}");
        assert!(
            again.is_empty(),
            "{name}: the second publish stores nothing"
        );
        let stats = store.stats(&Scope::AllDistricts).await.unwrap();
        assert!(stats.iter().all(|s| s.waiting == 1), "{name}: {stats:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_are_written_together_and_each_caller_gets_its_own_events() {
    for (name, store) in both().await {
        // 40 callers at once, 3 events each; one caller re-publishes an event of
        // another: group commit writes several callers per statement.
        let shared = event("a.b.posted", "shared", "d", json!({"n": -1}));
        let mut tasks = tokio::task::JoinSet::new();
        for caller in 0..40u32 {
            let store = store.clone();
            let shared = shared.clone();
            tasks.spawn(async move {
                let mut mine: Vec<NewEvent> = (0..3)
                    .map(|i| {
                        event(
                            "a.b.posted",
                            &format!("c{caller}-{i}"),
                            "d",
                            json!({"n": i}),
                        )
                    })
                    .collect();
                if caller == 7 || caller == 8 {
                    mine.push(shared);
                }
                let seqs = store.append(&mine, subs).await.unwrap();
                (caller, mine, seqs)
            });
        }
        let mut owner_of_seq = std::collections::HashMap::new();
        let mut shared_claims = 0;
        while let Some(r) = tasks.join_next().await {
            let (caller, mine, seqs) = r.unwrap();
            let expected = if caller == 7 || caller == 8 {
                3..=4
            } else {
                3..=3
            };
            assert!(
                expected.contains(&seqs.len()),
                "{name}: caller {caller} got {seqs:?}"
            );
            if seqs.len() == 4 {
                shared_claims += 1;
            }
            for s in seqs {
                assert!(
                    owner_of_seq.insert(s, mine.clone()).is_none(),
                    "{name}: seq {s} twice"
                );
            }
        }
        assert_eq!(
            shared_claims, 1,
            "{name}: the shared event is stored once, for one caller"
        );
        // Every sequence number belongs to an event its caller published.
        let stored = common::read_all_eventually(&store, 121).await;
        assert_eq!(stored.len(), 121, "{name}");
        for e in &stored {
            let mine = &owner_of_seq[&e.seq];
            assert!(
                mine.iter().any(|m| m.id == e.event.id),
                "{name}: seq {} was reported to a caller that did not publish it",
                e.seq
            );
        }
        // And every event has its deliveries.
        let stats = store.stats(&Scope::AllDistricts).await.unwrap();
        assert_eq!(stats.len(), 2, "{name}");
        assert!(stats.iter().all(|s| s.waiting == 121), "{name}: {stats:?}");
    }
}

#[tokio::test]
async fn complete_and_claim_records_successes_and_claims_the_next_batch_at_once() {
    for (name, store) in both().await {
        let h = |_: &str| unordered(&["h"]);
        let evs: Vec<NewEvent> = (0..2)
            .map(|i| event("a.b.posted", &format!("r{i}"), "d", json!({"i": i})))
            .collect();
        store.append(&evs, h).await.unwrap();
        let first = store
            .claim_for("w", &["h"], 2, Duration::from_millis(20))
            .await
            .unwrap();
        assert_eq!(first.len(), 2, "{name}");
        // The leases run out and another worker takes one of the two over.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let thief = store.claim_for("thief", &["h"], 1, LEASE).await.unwrap();
        assert_eq!(thief.len(), 1, "{name}");
        let more: Vec<NewEvent> = (2..4)
            .map(|i| event("a.b.posted", &format!("r{i}"), "d", json!({"i": i})))
            .collect();
        store.append(&more, h).await.unwrap();
        let done: Vec<&Claimed> = first.iter().collect();
        let (completed, next) = store
            .complete_and_claim(&done, "w", &["h"], 10, LEASE)
            .await
            .unwrap();
        let kept: Vec<i64> = first
            .iter()
            .map(|c| c.delivery_id)
            .filter(|id| *id != thief[0].delivery_id)
            .collect();
        assert_eq!(completed, kept, "{name}: the lost lease is not completed");
        let mut next_events: Vec<&str> = next
            .iter()
            .map(|c| c.event.event.aggregate_id.as_str())
            .collect();
        next_events.sort_unstable();
        assert_eq!(
            next_events,
            ["r2", "r3"],
            "{name}: the new deliveries are claimed, not the one another worker holds"
        );
        let stats = &store.stats(&Scope::AllDistricts).await.unwrap()[0];
        assert_eq!((stats.completed, stats.active), (1, 3), "{name}: {stats:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_hands_back_deliveries_it_claimed_ahead_when_it_stops() {
    for (name, store) in both().await {
        let evs: Vec<NewEvent> = (0..6)
            .map(|i| event("a.b.posted", &format!("r{i}"), "d", json!({"i": i})))
            .collect();
        store.append(&evs, |_| unordered(&["slow"])).await.unwrap();
        let started = Arc::new(AtomicU32::new(0));
        let s = started.clone();
        let w = Handlers::new()
            .on(
                &["a.b.posted"],
                "slow",
                HandlerOptions::new(),
                move |_e, _a| {
                    let s = s.clone();
                    async move {
                        s.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        Ok(())
                    }
                },
            )
            .worker(&store, "w")
            .concurrency(1)
            .prefetch(4)
            .build();
        let (stop, run) = run_in_background(w);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let s = &store.stats(&Scope::AllDistricts).await.unwrap()[0];
        assert_eq!(
            s.active, 5,
            "{name}: one running and four claimed ahead: {s:?}"
        );
        stop.send(()).unwrap();
        run.await.unwrap();
        assert_eq!(started.load(Ordering::SeqCst), 1, "{name}");
        let s = &store.stats(&Scope::AllDistricts).await.unwrap()[0];
        assert_eq!(
            (s.completed, s.active, s.waiting),
            (1, 0, 5),
            "{name}: the four claimed ahead are waiting again, as never attempted: {s:?}"
        );
    }
}

#[tokio::test]
async fn an_event_stored_as_broken_json_goes_to_the_dead_letters_and_the_rest_is_handled() {
    // Only SQLite stores payloads as text that can stop being JSON (someone
    // edits the file by hand); PostgreSQL's jsonb cannot hold broken JSON.
    let (store, _path) = common::sqlite().await;
    let h = |_: &str| unordered(&["h"]);
    let good = event("a.b.posted", "good", "d", json!({"n": 1}));
    let bad = event("a.b.posted", "bad", "d", json!({"n": 2}));
    store.append(&[good, bad.clone()], h).await.unwrap();
    sqlx::query("UPDATE skc_events SET payload = '{\"n\": ' WHERE id = ?")
        .bind(bad.id.to_string())
        .execute(store.sqlite_pool().unwrap())
        .await
        .unwrap();
    let ran = Arc::new(AtomicU32::new(0));
    let r = ran.clone();
    let w = Handlers::new()
        .on(
            &["a.b.posted"],
            "h",
            HandlerOptions::new(),
            move |_e, _a| {
                let r = r.clone();
                async move {
                    r.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            },
        )
        .worker(&store, "w")
        .build();
    let outcomes = w.run_once().await.unwrap();
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    assert!(outcomes.contains(&Outcome::Done), "{outcomes:?}");
    assert_eq!(
        ran.load(Ordering::SeqCst),
        1,
        "the handler ran for the good event only"
    );
    // Listing the dead letters reads the broken row as far as it can.
    let letters = store
        .dead_letters(&Scope::AllDistricts, None, 10)
        .await
        .unwrap();
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert!(
        letters[0].last_error.contains("cannot be read")
            && letters[0].last_error.contains("payload"),
        "{letters:?}"
    );
    assert_eq!(letters[0].event.event.id, bad.id);
    assert_eq!(letters[0].event.event.payload, serde_json::Value::Null);
    let stats = &store.stats(&Scope::AllDistricts).await.unwrap()[0];
    assert_eq!((stats.completed, stats.dead), (1, 1), "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_checkpoints_run_in_the_background() {
    // The writer only checkpoints by itself past a far threshold; a background
    // task copies the WAL back into the database file. Without it the file
    // would stay at its initial size while the WAL grows.
    let (store, path) = common::sqlite().await;
    let before = std::fs::metadata(&path).unwrap().len();
    let evs: Vec<NewEvent> = (0..1000)
        .map(|i| {
            event(
                "a.b.posted",
                &format!("r{i}"),
                "d",
                json!({"i": i, "pad": "x".repeat(200)}),
            )
        })
        .collect();
    for chunk in evs.chunks(100) {
        store.append(chunk, subs).await.unwrap();
    }
    let mut after = before;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        after = std::fs::metadata(&path).unwrap().len();
        if after > before + 500_000 {
            break;
        }
    }
    assert!(
        after > before + 500_000,
        "the database file grew from {before} to {after} bytes only: no checkpoint ran"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_with_two_claims_in_flight_runs_each_delivery_once() {
    // Concurrency 32 (64 in hand) is where the worker keeps two database steps
    // in flight, each claiming half. Neither may claim what the other holds, nor
    // lose an outcome: every delivery runs once, a failed first attempt once more.
    const EVENTS: usize = 400;
    let handlers = ["inline", "yields", "flaky"];
    for (name, store) in both().await {
        let evs: Vec<NewEvent> = (0..EVENTS)
            .map(|i| event("a.b.posted", &format!("r{i}"), "d", json!({ "i": i })))
            .collect();
        for chunk in evs.chunks(100) {
            store.append(chunk, |_| unordered(&handlers)).await.unwrap();
        }
        let runs: Arc<std::sync::Mutex<std::collections::HashMap<(String, i64), u32>>> =
            Arc::default();
        let fast = HandlerOptions::new().backoff(Duration::from_millis(1));
        let counting = |id: &'static str| {
            let runs = runs.clone();
            move |e: skillcore_events::backend::DynEnvelope, attempt: u32| {
                let runs = runs.clone();
                // The event's number, from its payload.
                let i = e.payload_value().unwrap()["i"].as_i64().unwrap();
                async move {
                    *runs.lock().unwrap().entry((id.to_string(), i)).or_default() += 1;
                    match id {
                        "yields" => tokio::task::yield_now().await,
                        "flaky" if i % 10 == 0 && attempt == 1 => {
                            return Err(HandlerError::msg("first attempt fails"))
                        }
                        _ => {}
                    }
                    Ok(())
                }
            }
        };
        let ab = &["a.b.posted"];
        let w = Handlers::new()
            .on(ab, "inline", fast, counting("inline"))
            .on(ab, "yields", fast, counting("yields"))
            .on(ab, "flaky", fast, counting("flaky"))
            .worker(&store, "w")
            .concurrency(32)
            .idle_poll(Duration::from_millis(10))
            .build();
        let (stop, run) = run_in_background(w);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let stats = store.stats(&Scope::AllDistricts).await.unwrap();
            if stats.len() == 3 && stats.iter().all(|s| s.completed == EVENTS as i64) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{name}: not all handled within 60 s: {stats:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop.send(()).unwrap();
        run.await.unwrap();
        let runs = runs.lock().unwrap().clone();
        assert_eq!(runs.len(), 3 * EVENTS, "{name}: every delivery ran");
        for ((handler, seq), n) in runs.iter() {
            // `seq` here is the event's number `i`.
            let expected = if handler == "flaky" && seq % 10 == 0 {
                2
            } else {
                1
            };
            assert_eq!(*n, expected, "{name}: {handler} ran event {seq} {n} times");
        }
        for s in store.stats(&Scope::AllDistricts).await.unwrap() {
            assert_eq!(
                (s.waiting, s.active, s.failed, s.dead),
                (0, 0, 0, 0),
                "{name}: {s:?}"
            );
        }
    }
}

/// `PostgresCommit::Asynchronous` turns `synchronous_commit` off on the store's
/// connections, and only there; the store works the same in either mode.
#[tokio::test]
async fn postgres_commit_mode_is_set_on_the_stores_connections() {
    for (commit, expected) in [
        (PostgresCommit::Flushed, "on"),
        (PostgresCommit::Asynchronous, "off"),
    ] {
        let schema = common::unique("skc_commit");
        let store = Store::postgres_with(&common::pg_url(), Some(&schema), commit)
            .await
            .unwrap();
        let pool = store.postgres_pool().unwrap();
        let setting: String = sqlx::query_scalar("SHOW synchronous_commit")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(setting, expected, "{commit:?}");

        let e = event("gradebook.grade.posted", "r-1", "d-1", json!({"score": 1}));
        let seqs = store
            .append(std::slice::from_ref(&e), |_| unordered(&["h"]))
            .await
            .unwrap();
        assert_eq!(seqs.len(), 1, "{commit:?}");
        let claimed = store.claim_for("w", &["h"], 10, LEASE).await.unwrap();
        assert_eq!(claimed.len(), 1, "{commit:?}");
        assert_eq!(claimed[0].event.event, e, "{commit:?}");
        assert!(store.complete(&claimed[0]).await.unwrap(), "{commit:?}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA \"{schema}\" CASCADE"
        )))
        .execute(pool)
        .await
        .unwrap();
    }
}
