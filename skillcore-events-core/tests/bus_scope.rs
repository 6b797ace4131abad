//! The in-process bus hands out, retries and discards the dead letters of
//! one district only, unless all districts are asked for.

use skillcore_events::uuid::Uuid;
use skillcore_events::{
    BusError, Envelope, EventBus, HandlerError, HandlerOptions, Metadata, Scope,
};
use std::time::Duration;

mod events {
    skillcore_events::catalog!("tests/fixtures/school.yaml");
}
use events::{gradebook, LetterGrade};

fn grade(district: &str) -> Envelope<gradebook::GradePosted> {
    Envelope::new(
        gradebook::GradePosted {
            result_id: Uuid::now_v7(),
            student_id: "stu-1".into(),
            score_percent: 50.0,
            letter_grade: LetterGrade::C,
            comment: None,
        },
        Metadata::new(district, "sch-1"),
    )
}

#[tokio::test]
async fn dead_letters_of_another_district_are_not_found() {
    let bus = EventBus::builder()
        .log_events(false)
        .log_handlers(false)
        .subscribe_with::<gradebook::GradePosted, _, _>(
            "notifications.send",
            HandlerOptions::new()
                .retries(0)
                .backoff(Duration::from_millis(1)),
            |_e, _cx| async { Err(HandlerError::msg("smtp down")) },
        )
        .build()
        .unwrap();
    let of_a = bus.publish(grade("dst-A")).await.unwrap();
    let of_b = bus.publish(grade("dst-B")).await.unwrap();
    bus.idle().await;

    let a = Scope::district("dst-A");
    let b = Scope::district("dst-B");
    let seen: Vec<Uuid> = bus
        .dead_letters(&a)
        .await
        .unwrap()
        .iter()
        .map(|d| d.envelope.id)
        .collect();
    assert_eq!(seen, [of_a]);
    assert_eq!(
        bus.dead_letters(&Scope::AllDistricts).await.unwrap().len(),
        2
    );
    assert!(bus
        .dead_letters(&Scope::district("dst-C"))
        .await
        .unwrap()
        .is_empty());

    let theirs = bus.dead_letters(&b).await.unwrap()[0].clone();
    assert_eq!(theirs.envelope.id, of_b);
    assert!(matches!(
        bus.retry_dead_letter(&a, theirs.id).await,
        Err(BusError::NotFound(_))
    ));
    assert!(matches!(
        bus.discard_dead_letter(&a, theirs.id).await,
        Err(BusError::NotFound(_))
    ));
    assert_eq!(
        bus.dead_letters(&b).await.unwrap(),
        std::slice::from_ref(&theirs)
    );
    bus.discard_dead_letter(&b, theirs.id).await.unwrap();
    assert!(bus.dead_letters(&b).await.unwrap().is_empty());
    assert_eq!(bus.dead_letters(&a).await.unwrap().len(), 1);
}
