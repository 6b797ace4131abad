//! The event bus with the durable backend: same API as in process, on both
//! backends.

mod common;

use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::{
    Envelope, EventBus, EventBusBuilder, HandlerError, HandlerOptions, Metadata,
};
use skillcore_events_store::{Durable, Scope, Store};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod events {
    skillcore_events::catalog!("../catalog");
}
use events::{gradebook, LetterGrade};

fn grade(score_percent: f64, result: u128) -> Envelope<gradebook::GradePosted> {
    Envelope::new(
        gradebook::GradePosted {
            result_id: skillcore_events::uuid::Uuid::from_u128(result),
            line_item_id: "li-1".into(),
            student_id: "stu-1".into(),
            class_id: "cls-1".into(),
            points_earned: score_percent,
            points_possible: 100.0,
            score_percent,
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

/// A bus builder whose `analytics.update_gpa` handler counts its runs in `runs`.
fn counting(runs: &Arc<AtomicU32>) -> EventBusBuilder {
    let runs = runs.clone();
    EventBus::builder().subscribe::<gradebook::GradePosted, _, _>(
        "analytics.update_gpa",
        move |_e, _cx| {
            let runs = runs.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        },
    )
}

async fn targets() -> Vec<(&'static str, Store)> {
    common::both().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_runs_every_handler_with_retries_and_dead_letters() {
    for (name, store) in targets().await {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let flaky_calls = Arc::new(AtomicU32::new(0));
        let (s1, s2, f) = (seen.clone(), seen.clone(), flaky_calls.clone());
        let fast = HandlerOptions::new()
            .retries(2)
            .backoff(Duration::from_millis(5));
        let bus = EventBus::builder()
            .subscribe_with::<gradebook::GradePosted, _, _>(
                "analytics.update_gpa",
                fast,
                move |e, _cx| {
                    let s1 = s1.clone();
                    async move {
                        s1.lock().unwrap().push(("gpa", e.payload.score_percent));
                        Ok(())
                    }
                },
            )
            .subscribe_with::<gradebook::GradePosted, _, _>(
                "notifications.send",
                fast,
                move |_e, cx| {
                    let f = f.clone();
                    async move {
                        f.fetch_add(1, Ordering::SeqCst);
                        if cx.attempt == 1 {
                            Err(HandlerError::msg("smtp down"))
                        } else {
                            Ok(())
                        }
                    }
                },
            )
            .subscribe_with::<gradebook::GradePosted, _, _>(
                "broken.always",
                fast,
                move |_e, _cx| {
                    let s2 = s2.clone();
                    async move {
                        s2.lock().unwrap().push(("broken", 0.0));
                        Err(HandlerError::msg("always fails"))
                    }
                },
            )
            .backend(Durable::store(store.clone()))
            .build()
            .unwrap();
        bus.publish(grade(85.0, 1)).await.unwrap();
        tokio::time::timeout(Duration::from_secs(20), bus.idle())
            .await
            .expect("bus goes idle");

        let gpa: Vec<_> = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(h, _)| *h == "gpa")
            .cloned()
            .collect();
        assert_eq!(gpa, vec![("gpa", 85.0)], "{name}");
        assert_eq!(
            flaky_calls.load(Ordering::SeqCst),
            2,
            "{name}: one retry, then success"
        );
        let dead = bus.dead_letters(&Scope::AllDistricts).await.unwrap();
        assert_eq!(dead.len(), 1, "{name}");
        assert_eq!(dead[0].handler_id, "broken.always");
        assert_eq!(dead[0].attempts, 3, "{name}: retries(2) = 3 attempts");
        assert_eq!(dead[0].last_error, "always fails");
        assert_eq!(dead[0].envelope.event_type, "gradebook.grade.posted");

        // Stored: the event survives and can be queried.
        let (stored, _) = store
            .read_after(
                &skillcore_events_store::Scope::District("dst-1".into()),
                Default::default(),
                10,
            )
            .await
            .unwrap();
        assert_eq!(stored.len(), 1, "{name}");
        assert_eq!(stored[0].event.payload["scorePercent"], 85.0);

        bus.discard_dead_letter(&Scope::AllDistricts, dead[0].id)
            .await
            .unwrap();
        assert!(
            bus.dead_letters(&Scope::AllDistricts)
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );
        assert!(
            bus.discard_dead_letter(&Scope::AllDistricts, dead[0].id)
                .await
                .is_err(),
            "{name}: gone"
        );
        let report = bus.shutdown(Duration::from_secs(5)).await;
        assert!(report.completed, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_that_no_longer_decodes_goes_to_the_dead_letters() {
    for (name, store) in targets().await {
        let ran = Arc::new(AtomicU32::new(0));
        let bus = counting(&ran)
            .backend(Durable::store(store.clone()))
            .build()
            .unwrap();
        // Written by an older version of the service: `resultId` is not a UUID.
        let mut raw = grade(70.0, 2).to_raw().unwrap();
        raw.payload = skillcore_events::serde_json::value::to_raw_value(
            &skillcore_events::serde_json::json!({
                "resultId": "not-a-uuid", "scorePercent": 70
            }),
        )
        .unwrap();
        bus.publish_raw(raw).await.unwrap();
        bus.publish(grade(90.0, 3)).await.unwrap();
        tokio::time::timeout(Duration::from_secs(20), bus.idle())
            .await
            .expect("idle");
        assert_eq!(
            ran.load(Ordering::SeqCst),
            1,
            "{name}: the good event ran, the bad one did not"
        );
        let dead = bus.dead_letters(&Scope::AllDistricts).await.unwrap();
        assert_eq!(dead.len(), 1, "{name}");
        assert_eq!(
            dead[0].attempts, 1,
            "{name}: decoding cannot succeed later, so no retries"
        );
        assert!(
            dead[0].last_error.contains("resultId"),
            "{name}: {}",
            dead[0].last_error
        );
        bus.shutdown(Duration::from_secs(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_builder_opens_the_file_and_state_survives_a_restart() {
    let dir = std::env::temp_dir().join(common::unique("skc_bus"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("events.db");
    let counter = Arc::new(AtomicU32::new(0));
    for round in 0..2 {
        let bus = counting(&counter)
            .backend(Durable::sqlite(&path))
            .build()
            .unwrap();
        bus.publish(grade(50.0 + round as f64, 10 + round))
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(20), bus.idle())
            .await
            .expect("idle");
        bus.shutdown(Duration::from_secs(5)).await;
    }
    assert_eq!(
        counter.load(Ordering::SeqCst),
        2,
        "each event handled once, across restarts"
    );
    let store = Store::sqlite(&path).await.unwrap();
    let (all, _) = store
        .read_after(
            &skillcore_events_store::Scope::AllDistricts,
            Default::default(),
            10,
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 2, "both runs' events are in the file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_in_commits_or_rolls_back_with_the_callers_transaction() {
    for (name, store) in targets().await {
        let handled = Arc::new(AtomicU32::new(0));
        let bus = counting(&handled)
            .backend(Durable::store(store.clone()))
            .build()
            .unwrap();
        let count = |sql: &'static str| {
            let store = store.clone();
            async move {
                if let Some(p) = store.sqlite_pool() {
                    sqlx::query_scalar::<_, i64>(sql)
                        .fetch_one(p)
                        .await
                        .unwrap()
                } else {
                    sqlx::query_scalar::<_, i64>(sql)
                        .fetch_one(store.postgres_pool().unwrap())
                        .await
                        .unwrap()
                }
            }
        };
        if let Some(pool) = store.sqlite_pool() {
            sqlx::raw_sql("CREATE TABLE results (id TEXT PRIMARY KEY)")
                .execute(pool)
                .await
                .unwrap();
            for commit in [false, true] {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
                sqlx::query("INSERT INTO results VALUES ('r-1')")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                bus.publish_in(&mut *tx, grade(50.0, 40)).await.unwrap();
                if commit {
                    tx.commit().await.unwrap()
                } else {
                    tx.rollback().await.unwrap()
                }
            }
        } else {
            let pool = store.postgres_pool().unwrap();
            sqlx::raw_sql("CREATE TABLE results (id TEXT PRIMARY KEY)")
                .execute(pool)
                .await
                .unwrap();
            for commit in [false, true] {
                let mut tx = pool.begin().await.unwrap();
                sqlx::query("INSERT INTO results VALUES ('r-1')")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                bus.publish_in(&mut *tx, grade(50.0, 40)).await.unwrap();
                if commit {
                    tx.commit().await.unwrap()
                } else {
                    tx.rollback().await.unwrap()
                }
            }
        }
        assert_eq!(count("SELECT COUNT(*) FROM results").await, 1, "{name}");
        assert_eq!(
            count("SELECT COUNT(*) FROM skc_events").await,
            1,
            "{name}: only the committed event"
        );
        tokio::time::timeout(Duration::from_secs(20), bus.idle())
            .await
            .expect("idle");
        assert_eq!(
            handled.load(Ordering::SeqCst),
            1,
            "{name}: and its handler ran once"
        );
        bus.shutdown(Duration::from_secs(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_field_queries_are_checked_against_the_catalog() {
    for (name, store) in targets().await {
        let bus = EventBus::builder()
            .backend(Durable::store(store.clone()))
            .build()
            .unwrap();
        bus.publish(grade(77.0, 50)).await.unwrap();
        let scope = skillcore_events_store::Scope::District("dst-1".into());
        let found = store
            .events_by_catalog_field(
                &scope,
                events::EVENTS,
                "gradebook.grade.posted",
                "studentId",
                "stu-1",
            )
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "{name}");
        let err = store
            .events_by_catalog_field(
                &scope,
                events::EVENTS,
                "gradebook.grade.posted",
                "studentID",
                "stu-1",
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("has no payload field `studentID`"),
            "{name}: {err}"
        );
        assert!(
            err.contains("studentId"),
            "{name}: the message lists the fields: {err}"
        );
        let err = store
            .events_by_catalog_field(
                &scope,
                events::EVENTS,
                "gradebook.grade.postd",
                "studentId",
                "x",
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no event `gradebook.grade.postd`"),
            "{name}: {err}"
        );
        bus.shutdown(Duration::from_secs(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_counts_the_handlers_it_cut_off_and_they_run_again_later() {
    for (name, store) in targets().await {
        let started = Arc::new(AtomicU32::new(0));
        let s = started.clone();
        let slow = HandlerOptions::new().timeout(Duration::from_millis(300));
        let bus = EventBus::builder()
            .subscribe_with::<gradebook::GradePosted, _, _>(
                "analytics.update_gpa",
                slow,
                move |_e, _cx| {
                    let s = s.clone();
                    async move {
                        s.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_secs(10)).await;
                        Ok(())
                    }
                },
            )
            .backend(
                Durable::store(store.clone())
                    .lease_margin(Duration::from_millis(100))
                    .idle_poll(Duration::from_millis(20)),
            )
            .build()
            .unwrap();
        bus.publish(grade(50.0, 60)).await.unwrap();
        while started.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let report = bus.shutdown(Duration::from_millis(50)).await;
        assert_eq!(
            report,
            skillcore_events::ShutdownReport {
                completed: false,
                abandoned: 1
            },
            "{name}"
        );
        // Nothing is lost: once its lease runs out, another bus on the store
        // runs the delivery again.
        let runs = Arc::new(AtomicU32::new(0));
        let again = counting(&runs)
            .backend(Durable::store(store.clone()).idle_poll(Duration::from_millis(20)))
            .build()
            .unwrap();
        tokio::time::timeout(Duration::from_secs(20), async {
            while runs.load(Ordering::SeqCst) == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{name}: the cut-off delivery never ran again"));
        let report = again.shutdown(Duration::from_secs(5)).await;
        assert!(report.completed, "{name}");
    }
}
