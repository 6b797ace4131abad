//! Leases renewed while handlers run, stalled leases told from active ones,
//! a worker's own leases taken back when it restarts, replays cancelled and
//! a gone handler's rows dropped; on both backends.

mod common;

use common::{both, event, Handlers};
use serde_json::json;
use skillcore_events::HandlerOptions;
use skillcore_events_store::*;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

async fn stats_of(store: &Store, handler: &str) -> Option<HandlerStats> {
    store
        .stats(&Scope::AllDistricts)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.handler_id == handler)
}

/// A handler running five times longer than the lease keeps its delivery:
/// another worker polling all the while never takes it, it runs once, and
/// `stats` counts it active (renewed), not stalled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_handler_keeps_its_short_lease() {
    for (name, store) in both().await {
        store
            .append(&[event("a.b.posted", "1", "d", json!({}))], subs(&["slow"]))
            .await
            .unwrap();
        let runs = Arc::new(AtomicU32::new(0));
        let worker = |id: &str| {
            let runs = runs.clone();
            Handlers::new()
                .on(
                    &["a.b.posted"],
                    "slow",
                    HandlerOptions::new().timeout(Duration::from_secs(20)),
                    move |_e, _a| {
                        let runs = runs.clone();
                        async move {
                            runs.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(1500)).await;
                            Ok(())
                        }
                    },
                )
                .worker(&store, id)
                .lease(Duration::from_millis(300))
                .idle_poll(Duration::from_millis(20))
                .build()
        };
        let (stop1, run1) = run_in_background(worker("w-1"));
        while runs.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let (stop2, run2) = run_in_background(worker("w-2"));
        tokio::time::sleep(Duration::from_millis(700)).await;
        let s = stats_of(&store, "slow").await.unwrap();
        assert_eq!((s.active, s.stalled), (1, 0), "{name}: renewed: {s:?}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while stats_of(&store, "slow").await.unwrap().completed == 0 {
            assert!(Instant::now() < deadline, "{name}: never completed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1, "{name}: run once");
        let _ = (stop1.send(()), stop2.send(()));
        let _ = (run1.await, run2.await);
    }
}

/// A lease nobody renews is stalled once two thirds of it have passed, and
/// reported (held until it runs out) before another worker may take it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unrenewed_lease_is_stalled_and_reported() {
    for (name, store) in both().await {
        store
            .append(
                &[
                    event("a.b.posted", "1", "d", json!({})),
                    event("a.b.posted", "2", "d", json!({})),
                ],
                subs(&["proj"]),
            )
            .await
            .unwrap();
        let lease = Duration::from_millis(1500);
        let held = store
            .claim_for("gone-worker", &["proj"], 2, lease)
            .await
            .unwrap();
        assert_eq!(held.len(), 2);
        let s = stats_of(&store, "proj").await.unwrap();
        assert_eq!((s.active, s.stalled), (2, 0), "{name}: fresh: {s:?}");
        assert_eq!(store.stalled_leases(&["proj"]).await.unwrap().stalled, 0);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let s = stats_of(&store, "proj").await.unwrap();
        assert_eq!((s.active, s.stalled), (0, 2), "{name}: not renewed: {s:?}");
        let r = store.stalled_leases(&["proj"]).await.unwrap();
        assert_eq!((r.stalled, r.held, r.owners), (2, 2, 1), "{name}: {r:?}");
        assert!(
            r.free_in > Duration::ZERO && r.free_in <= Duration::from_millis(400),
            "{name}: {r:?}"
        );
        assert!(r.free_at.is_some());
        // Renewing makes them active again.
        assert_eq!(store.renew_leases("gone-worker", lease).await.unwrap(), 2);
        let s = stats_of(&store, "proj").await.unwrap();
        assert_eq!((s.active, s.stalled), (2, 0), "{name}: renewed: {s:?}");
        // Not another owner's.
        assert_eq!(store.renew_leases("other", lease).await.unwrap(), 0);
    }
}

/// A worker starting under the identity that holds leases takes them back
/// at once (not after the lease), counted as leases that ran out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_worker_takes_its_own_leases_back_at_once() {
    for (name, store) in both().await {
        store
            .append(&[event("a.b.posted", "1", "d", json!({}))], subs(&["proj"]))
            .await
            .unwrap();
        // Held by "svc-1" before it "crashed", with a long lease.
        let held = store
            .claim_for("svc-1", &["proj"], 1, Duration::from_secs(600))
            .await
            .unwrap();
        assert_eq!(held.len(), 1);
        let runs = Arc::new(AtomicU32::new(0));
        let worker = |id: &str| {
            let runs = runs.clone();
            Handlers::new()
                .on(
                    &["a.b.posted"],
                    "proj",
                    HandlerOptions::new(),
                    move |_e, _a| {
                        let runs = runs.clone();
                        async move {
                            runs.fetch_add(1, Ordering::SeqCst);
                            Ok(())
                        }
                    },
                )
                .worker(&store, id)
                .idle_poll(Duration::from_millis(20))
                .build()
        };
        // Another identity waits for the lease.
        let (stop, run) = run_in_background(worker("svc-2"));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 0, "{name}: not another's");
        let _ = stop.send(());
        let _ = run.await;
        // The same identity takes it back.
        let started = Instant::now();
        let (stop, run) = run_in_background(worker("svc-1"));
        while runs.load(Ordering::SeqCst) == 0 {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{name}: its own lease was not taken back"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = stop.send(());
        let _ = run.await;
        let s = stats_of(&store, "proj").await.unwrap();
        assert_eq!((s.completed, s.active, s.stalled), (1, 0, 0), "{name}");
    }
}

/// `cancel_replay` cancels the waiting deliveries of a replay (one batch or
/// all), which then never run and do not count in its progress; other
/// deliveries of the handler are untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_can_be_cancelled() {
    for (name, store) in both().await {
        store
            .append(
                &[
                    event("a.b.posted", "1", "d", json!({})),
                    event("a.b.posted", "2", "e", json!({})),
                ],
                subs(&["proj"]),
            )
            .await
            .unwrap();
        let (batch, n) = store
            .replay(&Scope::AllDistricts, "proj", &ReplayFilter::default())
            .await
            .unwrap();
        assert_eq!(n, 2);
        // Another district's cancel leaves this one's.
        assert_eq!(
            store
                .cancel_replay(&Scope::District("d".into()), "proj", Some(batch))
                .await
                .unwrap(),
            1,
            "{name}"
        );
        assert_eq!(
            store
                .cancel_replay(&Scope::AllDistricts, "proj", Some(batch + 1))
                .await
                .unwrap(),
            0,
            "{name}: another batch"
        );
        assert_eq!(
            store
                .cancel_replay(&Scope::AllDistricts, "proj", None)
                .await
                .unwrap(),
            1,
            "{name}"
        );
        let p = store
            .replay_progress(&Scope::AllDistricts, "proj", batch)
            .await
            .unwrap();
        assert_eq!(p.total, 0, "{name}: {p:?}");
        // The two first deliveries still run; the cancelled never do.
        let w = Handlers::new()
            .on(
                &["a.b.posted"],
                "proj",
                HandlerOptions::new(),
                |_e, _a| async { Ok(()) },
            )
            .worker(&store, "w")
            .build();
        assert_eq!(w.drain().await.unwrap(), 2, "{name}");
        let s = stats_of(&store, "proj").await.unwrap();
        assert_eq!((s.completed, s.waiting), (2, 0), "{name}: {s:?}");
    }
}

/// `drop_handler` deletes a handler's rows in the scope, but never a
/// delivery a live worker holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gone_handlers_rows_can_be_dropped() {
    for (name, store) in both().await {
        store
            .append(
                &[
                    event("a.b.posted", "1", "d", json!({})),
                    event("a.b.posted", "2", "d", json!({})),
                    event("a.b.posted", "3", "e", json!({})),
                ],
                subs(&["old.gone", "kept"]),
            )
            .await
            .unwrap();
        let held = store
            .claim_for("live", &["old.gone"], 1, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(held.len(), 1);
        assert_eq!(store.handler_held("old.gone").await.unwrap(), 1, "{name}");
        assert_eq!(store.handler_held("kept").await.unwrap(), 0, "{name}");
        // District e's one.
        assert_eq!(
            store
                .drop_handler(&Scope::District("e".into()), "old.gone")
                .await
                .unwrap(),
            1,
            "{name}"
        );
        // The rest but the held one.
        assert_eq!(
            store
                .drop_handler(&Scope::AllDistricts, "old.gone")
                .await
                .unwrap(),
            1,
            "{name}"
        );
        let s = stats_of(&store, "old.gone").await.unwrap();
        assert_eq!((s.active, s.waiting), (1, 0), "{name}: {s:?}");
        store.release(&[&held[0]]).await.unwrap();
        assert_eq!(
            store
                .drop_handler(&Scope::AllDistricts, "old.gone")
                .await
                .unwrap(),
            1,
            "{name}"
        );
        assert!(stats_of(&store, "old.gone").await.is_none(), "{name}");
        assert_eq!(stats_of(&store, "kept").await.unwrap().waiting, 3);
    }
}
