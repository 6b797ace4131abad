//! The durable bus hands out, retries and discards the dead letters of one
//! district only, on SQLite and PostgreSQL alike.

mod common;

use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::{
    BusError, Envelope, EventBus, HandlerError, HandlerOptions, Metadata, Scope,
};
use skillcore_events_store::Durable;
use std::time::Duration;

mod events {
    skillcore_events::catalog!("../catalog");
}
use events::{gradebook, LetterGrade};

fn grade(district: &str, result: u128) -> Envelope<gradebook::GradePosted> {
    Envelope::new(
        gradebook::GradePosted {
            result_id: skillcore_events::uuid::Uuid::from_u128(result),
            line_item_id: "li-1".into(),
            student_id: "stu-1".into(),
            class_id: "cls-1".into(),
            points_earned: 50.0,
            points_possible: 100.0,
            score_percent: 50.0,
            letter_grade: LetterGrade::C,
            previous_score: None,
            graded_by_id: "tch-1".into(),
            posted_at: Utc.with_ymd_and_hms(2025, 11, 17, 14, 3, 0).unwrap(),
            district_id: district.into(),
            school_id: "sch-1".into(),
            comment: None,
        },
        Metadata::new(district, "sch-1"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_dead_letters_of_another_district_are_not_found() {
    for (name, store) in common::both().await {
        let bus = EventBus::builder()
            .subscribe_with::<gradebook::GradePosted, _, _>(
                "notifications.send",
                HandlerOptions::new()
                    .retries(0)
                    .backoff(Duration::from_millis(1)),
                |_e, _cx| async { Err(HandlerError::msg("smtp down")) },
            )
            .backend(Durable::store(store.clone()))
            .build()
            .unwrap();
        let of_a = bus.publish(grade("dst-A", 1)).await.unwrap();
        let of_b = bus.publish(grade("dst-B", 2)).await.unwrap();
        tokio::time::timeout(Duration::from_secs(20), bus.idle())
            .await
            .expect("bus goes idle");

        let a = Scope::district("dst-A");
        let b = Scope::district("dst-B");
        let seen: Vec<_> = bus
            .dead_letters(&a)
            .await
            .unwrap()
            .iter()
            .map(|d| d.envelope.id)
            .collect();
        assert_eq!(seen, [of_a], "{name}");
        assert_eq!(
            bus.dead_letters(&Scope::AllDistricts).await.unwrap().len(),
            2,
            "{name}"
        );
        let theirs = bus.dead_letters(&b).await.unwrap()[0].clone();
        assert_eq!(theirs.envelope.id, of_b, "{name}");
        assert!(
            matches!(
                bus.retry_dead_letter(&a, theirs.id).await,
                Err(BusError::NotFound(_))
            ),
            "{name}"
        );
        assert!(
            matches!(
                bus.discard_dead_letter(&a, theirs.id).await,
                Err(BusError::NotFound(_))
            ),
            "{name}"
        );
        assert_eq!(bus.dead_letters(&b).await.unwrap().len(), 1, "{name}");
        bus.discard_dead_letter(&b, theirs.id).await.unwrap();
        assert!(bus.dead_letters(&b).await.unwrap().is_empty(), "{name}");
        assert_eq!(bus.dead_letters(&a).await.unwrap().len(), 1, "{name}");
        bus.shutdown(Duration::from_secs(5)).await;
    }
}
