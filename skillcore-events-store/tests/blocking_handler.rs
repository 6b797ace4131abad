//! A handler that blocks its thread past its timeout is a failed attempt on
//! the durable backend too (issue 11, item 14): the durable bus runs attempts
//! through the same dispatcher as the in-process one.

mod common;

use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::{Envelope, EventBus, HandlerOptions, Metadata};
use skillcore_events_store::{Durable, Scope};
use std::time::Duration;

mod events {
    skillcore_events::catalog!("../catalog");
}
use events::{gradebook, LetterGrade};

fn grade() -> Envelope<gradebook::GradePosted> {
    Envelope::new(
        gradebook::GradePosted {
            result_id: skillcore_events::uuid::Uuid::now_v7(),
            line_item_id: "li-1".into(),
            student_id: "stu-1".into(),
            class_id: "cls-1".into(),
            points_earned: 50.0,
            points_possible: 100.0,
            score_percent: 50.0,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_blocks_past_its_timeout_is_dead_lettered_not_done() {
    for (name, store) in common::both().await {
        let bus = EventBus::builder()
            .subscribe_with::<gradebook::GradePosted, _, _>(
                "analytics.update_gpa",
                HandlerOptions::new()
                    .retries(0)
                    .timeout(Duration::from_millis(100)),
                |_e, _cx| async {
                    std::thread::sleep(Duration::from_millis(400));
                    Ok(())
                },
            )
            .backend(Durable::store(store.clone()))
            .build()
            .unwrap();
        bus.publish(grade()).await.unwrap();
        tokio::time::timeout(Duration::from_secs(20), bus.idle())
            .await
            .expect("bus goes idle");
        let dead = bus.dead_letters(&Scope::AllDistricts).await.unwrap();
        assert_eq!(dead.len(), 1, "{name}: the late Ok is not a success");
        assert!(
            dead[0]
                .last_error
                .starts_with("timed out after 100ms: the attempt returned after"),
            "{name}: {}",
            dead[0].last_error
        );
        bus.shutdown(Duration::from_secs(5)).await;
    }
}

/// The store's worker run directly (`Worker::drain`, no bus workers): a late
/// success is a timeout too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_handler_that_blocks_past_its_timeout_is_not_done() {
    use skillcore_events_store::Subscriber;
    for (name, store) in common::both().await {
        store
            .append(
                &[common::event("a.b.posted", "x", "d", serde_json::json!({}))],
                |_| {
                    vec![Subscriber {
                        handler_id: "blocks",
                        ordered: false,
                    }]
                },
            )
            .await
            .unwrap();
        let options = HandlerOptions::new()
            .retries(0)
            .timeout(Duration::from_millis(100));
        let w = common::Handlers::new()
            .on(&["a.b.posted"], "blocks", options, |_e, _a| async {
                std::thread::sleep(Duration::from_millis(400));
                Ok(())
            })
            .worker(&store, "w")
            .build();
        w.drain().await.unwrap();
        let dead = store
            .dead_letters(&Scope::AllDistricts, None, 10)
            .await
            .unwrap();
        assert_eq!(dead.len(), 1, "{name}: the late Ok is not a success");
        assert!(
            dead[0]
                .last_error
                .starts_with("timed out after 100ms: the attempt returned after"),
            "{name}: {}",
            dead[0].last_error
        );
    }
}
