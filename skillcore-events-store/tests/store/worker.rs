//! The worker: retries, panics, timeouts and dead letters; batched complete and claim; hand-back on stop; broken rows; two claims in flight.

use super::*;

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
