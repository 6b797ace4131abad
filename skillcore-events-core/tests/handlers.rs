//! `#[handler]` end to end: registration through the link-time table, state
//! injection, the attempt number, `verify_catalog`, and build errors.

use skillcore_events::Scope;
use skillcore_events::{
    handler, BuildError, Envelope, EventBus, HandlerContext, HandlerError, Metadata,
};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

mod events {
    skillcore_events::catalog!("tests/fixtures/school.yaml");
}
use events::{attendance, gradebook, LetterGrade};

#[derive(Default)]
struct Analytics {
    gpa_updates: Mutex<Vec<String>>,
}

#[derive(Default)]
struct Outbox {
    sent: AtomicU32,
    attempts_seen: Mutex<Vec<u32>>,
}

#[handler(
    "gradebook.grade.posted",
    name = "analytics.update_gpa",
    catalog = "tests/fixtures/school.yaml",
    retries = 4,
    backoff = "1ms",
    timeout = "5s"
)]
async fn update_gpa(
    event: &Envelope<gradebook::GradePosted>,
    ctx: &Analytics,
) -> Result<(), HandlerError> {
    ctx.gpa_updates
        .lock()
        .unwrap()
        .push(event.payload.student_id.clone());
    Ok(())
}

/// Fails on its first attempt; the context tells it which attempt it is on.
#[handler(
    "gradebook.grade.posted",
    name = "notifications.send_grade_notification",
    catalog = "tests/fixtures/school.yaml",
    backoff = "1ms"
)]
async fn notify(
    _event: &Envelope<gradebook::GradePosted>,
    outbox: &Outbox,
    cx: &HandlerContext,
) -> Result<(), HandlerError> {
    outbox.attempts_seen.lock().unwrap().push(cx.attempt);
    if cx.attempt == 1 {
        return Err(HandlerError::msg("mail server busy"));
    }
    outbox.sent.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

/// No event name: the payload type decides; no state; default id.
#[handler]
async fn count_marks(_event: &Envelope<attendance::RecordMarked>) -> Result<(), HandlerError> {
    MARKS.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

static MARKS: AtomicU32 = AtomicU32::new(0);

fn grade() -> Envelope<gradebook::GradePosted> {
    Envelope::new(
        gradebook::GradePosted {
            result_id: skillcore_events::uuid::Uuid::now_v7(),
            student_id: "stu-1".into(),
            score_percent: 55.0,
            letter_grade: LetterGrade::F,
            comment: Some("see me".into()),
        },
        Metadata::new("dst-1", "sch-1"),
    )
}

#[test]
fn the_table_holds_every_attribute_handler() {
    let mut ids: Vec<_> = skillcore_events::registered_handlers()
        .iter()
        .map(|r| (r.event, r.id))
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        vec![
            ("attendance.record.marked", "handlers::count_marks"),
            ("gradebook.grade.posted", "analytics.update_gpa"),
            (
                "gradebook.grade.posted",
                "notifications.send_grade_notification"
            ),
        ]
    );
    let gpa = skillcore_events::registered_handlers()
        .iter()
        .find(|r| r.id == "analytics.update_gpa")
        .unwrap();
    assert_eq!(gpa.options.retries, Some(4));
    assert_eq!(
        gpa.options.backoff,
        Some(std::time::Duration::from_millis(1))
    );
    assert_eq!(gpa.options.timeout, Some(std::time::Duration::from_secs(5)));
    assert!(gpa.location.ends_with(".rs:32") || gpa.location.contains("handlers.rs"));
}

#[tokio::test]
async fn register_all_runs_them_with_their_state_and_attempt_numbers() {
    let analytics = Arc::new(Analytics::default());
    let outbox = Arc::new(Outbox::default());
    let bus = EventBus::builder()
        .register_all()
        .with_state(Arc::clone(&analytics))
        .with_state(Arc::clone(&outbox))
        .build()
        .expect("all states given");
    assert_eq!(
        bus.handlers_of("gradebook.grade.posted"),
        vec![
            "analytics.update_gpa",
            "notifications.send_grade_notification"
        ]
    );
    bus.publish(grade()).await.unwrap();
    bus.publish(Envelope::new(
        attendance::RecordMarked {
            record_id: "rec-1".into(),
            student_id: "stu-1".into(),
            present: true,
        },
        Metadata::new("dst-1", "sch-1"),
    ))
    .await
    .unwrap();
    bus.idle().await;
    assert_eq!(*analytics.gpa_updates.lock().unwrap(), vec!["stu-1"]);
    assert_eq!(outbox.sent.load(Ordering::SeqCst), 1);
    assert_eq!(*outbox.attempts_seen.lock().unwrap(), vec![1, 2]);
    assert_eq!(MARKS.load(Ordering::SeqCst), 1);
    assert!(bus
        .dead_letters(&Scope::AllDistricts)
        .await
        .unwrap()
        .is_empty());
}

#[test]
fn a_missing_state_fails_the_build_clearly() {
    let err = EventBus::builder()
        .register_all()
        .with_state(Arc::new(Analytics::default()))
        .build()
        .unwrap_err();
    match &err {
        BuildError::MissingState {
            handler, type_name, ..
        } => {
            assert_eq!(handler, "notifications.send_grade_notification");
            assert!(type_name.ends_with("Outbox"), "{type_name}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("needs state of type"), "{text}");
    assert!(text.contains("with_state"), "{text}");
}

#[test]
fn verify_catalog_reports_missing_and_undeclared_handlers() {
    let bus = EventBus::builder()
        .register_where(|r| r.id != "notifications.send_grade_notification")
        .with_state(Arc::new(Analytics::default()))
        .catalog(events::EVENTS)
        .build()
        .unwrap();
    let report = bus.verify_catalog();
    assert!(!report.is_ok());
    let missing: Vec<_> = report.missing.iter().map(|h| h.handler.as_str()).collect();
    assert_eq!(missing, vec!["notifications.send_grade_notification"]);
    let undeclared: Vec<_> = report
        .undeclared
        .iter()
        .map(|h| h.handler.as_str())
        .collect();
    assert_eq!(undeclared, vec!["handlers::count_marks"]);
    assert!(report
        .to_string()
        .contains("declared in the catalog but not registered"));

    // The option makes the same mismatch fail the build.
    let err = EventBus::builder()
        .register_where(|r| r.id != "notifications.send_grade_notification")
        .with_state(Arc::new(Analytics::default()))
        .catalog(events::EVENTS)
        .require_catalog_match(true)
        .build()
        .unwrap_err();
    assert!(matches!(err, BuildError::CatalogMismatch(_)), "{err}");

    // Exactly the declared handlers: no mismatch.
    let bus = EventBus::builder()
        .register_where(|r| r.event == "gradebook.grade.posted")
        .with_state(Arc::new(Analytics::default()))
        .with_state(Arc::new(Outbox::default()))
        .catalog(events::EVENTS)
        .require_catalog_match(true)
        .build()
        .unwrap();
    assert!(bus.verify_catalog().is_ok(), "{}", bus.verify_catalog());
}

#[test]
fn duplicate_ids_for_one_event_fail_the_build() {
    let err = EventBus::builder()
        .register_where(|r| r.id == "handlers::count_marks")
        .subscribe::<attendance::RecordMarked, _, _>("handlers::count_marks", |_, _| async {
            Ok(())
        })
        .build()
        .unwrap_err();
    assert!(matches!(err, BuildError::DuplicateHandler { .. }), "{err}");
}

#[tokio::test]
async fn attribute_handlers_can_still_be_called_directly() {
    let analytics = Analytics::default();
    update_gpa(&grade(), &analytics).await.unwrap();
    assert_eq!(analytics.gpa_updates.lock().unwrap().len(), 1);
}
