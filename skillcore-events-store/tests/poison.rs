//! The store side of a delivery that kills its worker (the process test is
//! `tests/tests/reliability_poison.rs` in the workspace): leases that run out
//! are counted, a delivery whose attempts they used up goes to the dead
//! letters without running, the worker logs it, and an ordered aggregate
//! proceeds past it.

mod common;

use common::{both, event, Handlers};
use skillcore_events::HandlerOptions;

/// The event types these tests append.
const EVENT_TYPES: &[&str] = &["a.b.posted"];
use serde_json::json;
use skillcore_events_store::*;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A tracing subscriber that keeps every event's message and fields as text.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<String>>>);

struct Text<'a>(&'a mut String);

impl tracing::field::Visit for Text<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
}

impl tracing::Subscriber for Captured {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, e: &tracing::Event<'_>) {
        let mut line = format!("{}", e.metadata().level());
        e.record(&mut Text(&mut line));
        self.0.lock().unwrap().push(line);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

const MARKER: &str = "SECRET-PAYLOAD";

#[tokio::test]
async fn a_delivery_whose_attempts_died_with_their_worker_is_dead_lettered_unrun() {
    let logs = Captured::default();
    let _guard = tracing::subscriber::set_default(logs.clone());
    for (name, store) in both().await {
        let ordered = |_: &str| {
            vec![Subscriber {
                handler_id: "h",
                ordered: true,
            }]
        };
        let first = event("a.b.posted", "agg-1", "d", json!({"note": MARKER}));
        let second = event("a.b.posted", "agg-1", "d", json!({"n": 2}));
        store
            .append(&[first.clone(), second], ordered)
            .await
            .unwrap();

        // Two workers claim the first event and die with it in flight, the
        // second while running it alone: nothing recorded, their leases run out.
        for attempt in 1..=2 {
            let mut c = store
                .claim_for("doomed", &["h"], 10, Duration::from_millis(30))
                .await
                .unwrap();
            assert_eq!(c.len(), 1, "{name}: the second waits for the first");
            assert_eq!(
                (c[0].attempt, c[0].expired_leases(), c[0].expired_alone()),
                (attempt, attempt - 1, 0),
                "{name}"
            );
            if attempt == 2 {
                assert!(store.run_alone(&mut c[0], 2, &[]).await.unwrap());
            }
            tokio::time::sleep(Duration::from_millis(60)).await;
        }

        let runs = Arc::new(AtomicU32::new(0));
        let r = runs.clone();
        let w = Handlers::new()
            .on(
                EVENT_TYPES,
                "h",
                HandlerOptions::new().retries(1).ordered(true),
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
        assert_eq!(outcomes.len(), 1, "{name}: {outcomes:?}");
        let Outcome::Dead(reason) = &outcomes[0] else {
            panic!("{name}: {outcomes:?}")
        };
        assert!(
            reason.contains("in flight when its worker died")
                && reason.contains("2 times, 1 of them running alone"),
            "{name}: {reason}"
        );
        assert_eq!(runs.load(Ordering::SeqCst), 0, "{name}: not run again");
        let letters = store
            .dead_letters(&Scope::AllDistricts, None, 10)
            .await
            .unwrap();
        assert_eq!(letters.len(), 1, "{name}");
        assert_eq!(letters[0].event.event.id, first.id);
        assert_eq!(
            letters[0].attempts, 2,
            "{name}: never more than the maximum"
        );
        assert_eq!(&letters[0].last_error, reason);

        // The aggregate's next event is no longer held back.
        assert_eq!(w.drain().await.unwrap(), 1, "{name}");
        assert_eq!(runs.load(Ordering::SeqCst), 1, "{name}");

        let lines = logs.0.lock().unwrap().clone();
        let line = lines
            .iter()
            .find(|l| l.contains("without running it"))
            .unwrap_or_else(|| panic!("{name}: no log line in {lines:?}"));
        assert!(line.starts_with("ERROR"), "{line}");
        assert!(
            line.contains(&format!("delivery_id={}", letters[0].delivery_id))
                && line.contains(&first.id.to_string()),
            "{line}"
        );
        assert!(lines.iter().all(|l| !l.contains(MARKER)), "{lines:?}");
        logs.0.lock().unwrap().clear();
    }
}

/// A worker killed with deliveries in flight (a deploy, the OS's OOM killer, a
/// neighbour's crash), with one attempt each: they are not condemned for it;
/// each runs again, alone, and is done, with no attempt past the maximum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_in_flight_beside_a_crash_run_again_even_on_their_last_attempt() {
    for (name, store) in both().await {
        let subs = |_: &str| {
            vec![Subscriber {
                handler_id: "h",
                ordered: false,
            }]
        };
        for i in 0..3 {
            let e = event("a.b.posted", &format!("agg-{i}"), "d", json!({"n": i}));
            store.append(&[e], subs).await.unwrap();
        }
        let held = store
            .claim_for("killed", &["h"], 10, Duration::from_millis(30))
            .await
            .unwrap();
        assert_eq!(held.len(), 3, "{name}");
        tokio::time::sleep(Duration::from_millis(60)).await;

        let runs = Arc::new(AtomicU32::new(0));
        let r = runs.clone();
        let w = Handlers::new()
            .on(
                EVENT_TYPES,
                "h",
                HandlerOptions::new().retries(0),
                move |_e, attempt| {
                    let r = r.clone();
                    async move {
                        assert_eq!(attempt, 1, "the attempt shown never passes the maximum");
                        r.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    }
                },
            )
            .worker(&store, "w")
            .idle_poll(Duration::from_millis(20))
            .build();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let run = tokio::spawn(async move {
            w.run(async {
                let _ = stopped.await;
            })
            .await
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while store.has_pending(&["h"]).await.unwrap() && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = stop.send(());
        run.await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 3, "{name}");
        let letters = store
            .dead_letters(&Scope::AllDistricts, None, 10)
            .await
            .unwrap();
        assert!(letters.is_empty(), "{name}: {letters:?}");
        let over = match (store.sqlite_pool(), store.postgres_pool()) {
            (Some(p), _) => sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM skc_deliveries WHERE status <> 'done' OR attempts > 1",
            )
            .fetch_one(p)
            .await
            .unwrap(),
            (_, Some(p)) => sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM skc_deliveries WHERE status <> 'done' OR attempts > 1",
            )
            .fetch_one(p)
            .await
            .unwrap(),
            _ => unreachable!(),
        };
        assert_eq!(over, 0, "{name}: all done, none past one attempt");
    }
}
