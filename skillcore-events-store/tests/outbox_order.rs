//! Per-aggregate ordering through the transactional outbox: events of one
//! aggregate published with `bus.publish_in` inside the caller's own
//! transactions reach an ordered handler one at a time, in publish order,
//! on both backends, with a worker running 8 deliveries at once. (Before
//! issue 12 the outbox wrote every delivery unordered, so these events were
//! handled side by side and finished in reverse.)

mod common;

use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::{Envelope, EventBus, HandlerError, HandlerOptions, Metadata};
use skillcore_events_store::{Durable, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod events {
    skillcore_events::catalog!("../catalog");
}
use events::{gradebook, LetterGrade};

/// Event `i` of aggregate `agg` (its points earned carry `i`).
fn grade(agg: u128, i: usize) -> Envelope<gradebook::GradePosted> {
    Envelope::new(
        gradebook::GradePosted {
            result_id: skillcore_events::uuid::Uuid::from_u128(agg),
            line_item_id: "li-1".into(),
            student_id: "stu-1".into(),
            class_id: "cls-1".into(),
            points_earned: i as f64,
            points_possible: 100.0,
            score_percent: i as f64,
            letter_grade: LetterGrade::B,
            previous_score: None,
            graded_by_id: "tch-1".into(),
            posted_at: Utc.with_ymd_and_hms(2025, 11, 17, 14, 3, 0).unwrap(),
            district_id: "dst-1".into(),
            school_id: "sch-1".into(),
            comment: None,
        },
        Metadata::new("dst-1", "sch-1"),
    )
}

const EVENTS: usize = 10;
const AGGREGATES: [u128; 2] = [7, 8];

type Seen = Arc<Mutex<HashMap<String, Vec<usize>>>>;

/// A durable bus on `store` whose `analytics.update_gpa` handler records the
/// order it saw each aggregate's events in; the earlier an event, the longer
/// its handler sleeps, so unordered deliveries would finish in reverse.
fn bus(store: &Store, ordered: bool, seen: &Seen) -> EventBus {
    let seen = Arc::clone(seen);
    EventBus::builder()
        .log_events(false)
        .log_handlers(false)
        .subscribe_with::<gradebook::GradePosted, _, _>(
            "analytics.update_gpa",
            HandlerOptions::new().ordered(ordered),
            move |e, _cx| {
                let seen = Arc::clone(&seen);
                async move {
                    let i = e.payload.points_earned as usize;
                    tokio::time::sleep(Duration::from_millis(5 * (EVENTS - i) as u64)).await;
                    seen.lock()
                        .unwrap()
                        .entry(e.payload.result_id.to_string())
                        .or_default()
                        .push(i);
                    Ok::<(), HandlerError>(())
                }
            },
        )
        .backend(
            Durable::store(store.clone())
                .concurrency(8)
                .idle_poll(Duration::from_millis(20)),
        )
        .build()
        .unwrap()
}

/// Publishes every event in a transaction of its own that also writes a
/// domain row, then waits until all are handled.
async fn publish_through_the_outbox(store: &Store, bus: &EventBus) {
    if let Some(pool) = store.sqlite_pool() {
        sqlx::raw_sql("CREATE TABLE IF NOT EXISTS results (id TEXT PRIMARY KEY)")
            .execute(pool)
            .await
            .unwrap();
    } else {
        sqlx::raw_sql("CREATE TABLE IF NOT EXISTS results (id TEXT PRIMARY KEY)")
            .execute(store.postgres_pool().unwrap())
            .await
            .unwrap();
    }
    for i in 0..EVENTS {
        for agg in AGGREGATES {
            let row = format!("r-{agg}-{i}");
            if let Some(pool) = store.sqlite_pool() {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
                sqlx::query("INSERT INTO results VALUES (?)")
                    .bind(&row)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                bus.publish_in(&mut *tx, grade(agg, i)).await.unwrap();
                tx.commit().await.unwrap();
            } else {
                let mut tx = store.postgres_pool().unwrap().begin().await.unwrap();
                sqlx::query("INSERT INTO results VALUES ($1)")
                    .bind(&row)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                bus.publish_in(&mut *tx, grade(agg, i)).await.unwrap();
                tx.commit().await.unwrap();
            }
        }
    }
    store.notify();
    tokio::time::timeout(Duration::from_secs(60), bus.idle())
        .await
        .expect("every event handled within a minute");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_published_in_transactions_reach_an_ordered_handler_in_order() {
    for (name, store) in common::both().await {
        let seen: Seen = Arc::default();
        let bus = bus(&store, true, &seen);
        publish_through_the_outbox(&store, &bus).await;
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), AGGREGATES.len(), "{name}");
        for (agg, order) in &seen {
            assert_eq!(
                order,
                &(0..EVENTS).collect::<Vec<_>>(),
                "{name}: aggregate {agg} out of order"
            );
        }
        bus.shutdown(Duration::from_secs(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_ordered_the_same_events_are_handled_side_by_side() {
    // The control: the same events to an unordered handler finish out of
    // order, so the test above fails when the outbox drops the ordering.
    for (name, store) in common::both().await {
        let seen: Seen = Arc::default();
        let bus = bus(&store, false, &seen);
        publish_through_the_outbox(&store, &bus).await;
        let seen = seen.lock().unwrap().clone();
        let in_order = seen
            .values()
            .filter(|o| **o == (0..EVENTS).collect::<Vec<_>>())
            .count();
        assert!(
            in_order < AGGREGATES.len(),
            "{name}: unordered deliveries came in order: {seen:?}"
        );
        bus.shutdown(Duration::from_secs(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_in_refuses_what_is_not_a_connection_of_the_bus() {
    for (name, store) in common::both().await {
        let seen: Seen = Arc::default();
        let bus = bus(&store, true, &seen);
        let mut not_a_connection = String::new();
        let err = bus
            .publish_in(&mut not_a_connection, grade(1, 0))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("&mut *tx"),
            "{name}: the error says what to pass: {err}"
        );
        // A transaction of the other dialect.
        let other = if store.sqlite_pool().is_some() {
            common::postgres().await.0
        } else {
            common::sqlite().await.0
        };
        let err = match (other.sqlite_pool(), other.postgres_pool()) {
            (Some(p), _) => {
                let mut tx = p.begin().await.unwrap();
                bus.publish_in(&mut *tx, grade(1, 0)).await.unwrap_err()
            }
            (_, Some(p)) => {
                let mut tx = p.begin().await.unwrap();
                bus.publish_in(&mut *tx, grade(1, 0)).await.unwrap_err()
            }
            _ => unreachable!(),
        };
        assert!(
            err.to_string()
                .contains("must be written in the bus's own database"),
            "{name}: {err}"
        );
        bus.shutdown(Duration::from_secs(5)).await;
    }
}
