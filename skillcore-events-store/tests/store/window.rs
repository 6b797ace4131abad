//! How much a worker without a set prefetch claims ahead: more while its
//! handlers keep up with the database, no more than it started with while they
//! are slow.

use super::*;

/// Runs a worker of `concurrency` slots and no set prefetch over `events`
/// events of one handler that sleeps `pause` (none: returns at once), sampling
/// the deliveries it holds (`active` in the store's stats) until every one is
/// done. Returns the most seen held at once.
async fn most_held(store: &Store, events: usize, concurrency: usize, pause: Duration) -> i64 {
    let evs: Vec<NewEvent> = (0..events)
        .map(|i| event("a.b.posted", &format!("r{i}"), "d", json!({"i": i})))
        .collect();
    for chunk in evs.chunks(500) {
        store.append(chunk, |_| unordered(&["h"])).await.unwrap();
    }
    let w = Handlers::new()
        .on(
            &["a.b.posted"],
            "h",
            HandlerOptions::new(),
            move |_e, _a| async move {
                if !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
                Ok(())
            },
        )
        .worker(store, "w")
        .concurrency(concurrency)
        .build();
    let (stop, run) = run_in_background(w);
    let mut most = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let s = store.stats(&Scope::AllDistricts).await.unwrap();
        let s = s.first().cloned().unwrap();
        most = most.max(s.active);
        if s.completed == events as i64 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not drained within 60 s: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    stop.send(()).unwrap();
    run.await.unwrap();
    most
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_claims_further_ahead_while_its_handlers_keep_up() {
    for (name, store) in both().await {
        let most = most_held(&store, 6_000, 2, Duration::ZERO).await;
        // It starts at twice its 2 slots; a window that never grew would hold
        // at most 4.
        assert!(
            most > 64,
            "{name}: fast handlers, a backlog: at most {most} held at once"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_of_slow_handlers_holds_no_more_than_it_started_with() {
    for (name, store) in both().await {
        let most = most_held(&store, 40, 2, Duration::from_millis(20)).await;
        // Twice its 2 slots; with an outcome being recorded beside a claim a
        // step may briefly hold a few more, never the whole backlog of 40.
        assert!(
            (2..=8).contains(&most),
            "{name}: slow handlers: at most {most} held at once"
        );
    }
}
