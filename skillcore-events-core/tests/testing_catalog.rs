//! The catalog check of the testing kit, on a binary whose `#[handler]`s
//! disagree with the catalog (tests/kit): `analytics.update_gpa` is declared and
//! written; `notifications.send_grade_notification` is declared but written
//! as `notifications.send_grade_notificaton` (a typo in `name = "…"`).
//! The start-up warnings about the same two are in tests/testing_warnings.rs
//! (their own binary: a log capture races with buses other tests build).
#![cfg(feature = "testing")]

mod kit;

use kit::events;
use skillcore_events::testing::{assert_handlers_match_catalog, catalog_report, TestBus};
use skillcore_events::{EventBus, HandlerRef};

fn r(handler: &str) -> HandlerRef {
    HandlerRef {
        event: "gradebook.grade.posted".into(),
        handler: handler.into(),
    }
}

#[test]
fn the_report_lists_both_sides_and_the_typo_gets_a_suggestion() {
    let report = catalog_report(events::EVENTS);
    assert_eq!(report.missing, [r("notifications.send_grade_notification")]);
    assert_eq!(
        report.undeclared,
        [r("notifications.send_grade_notificaton")]
    );
    assert!(report.unknown_events.is_empty());
    assert_eq!(
        report.suggestion(&report.undeclared[0]),
        Some(&r("notifications.send_grade_notification"))
    );
    // A name far from every declared one gets none.
    assert_eq!(report.suggestion(&r("billing.charge_card")), None);
}

#[test]
#[should_panic(expected = "(did you mean `notifications.send_grade_notification`?)")]
fn assert_handlers_match_catalog_fails_with_a_did_you_mean() {
    assert_handlers_match_catalog(events::EVENTS);
}

#[test]
fn the_failure_message_says_where_the_typo_is_written() {
    let err = std::panic::catch_unwind(|| assert_handlers_match_catalog(events::EVENTS))
        .expect_err("the catalog and the handlers disagree");
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    let expected_start = "the #[handler] functions do not match the catalog's `handlers:` lists:\n\
         declared in the catalog but not registered (1):\n  \
         `notifications.send_grade_notification` for `gradebook.grade.posted`\n\
         registered but not declared in the catalog (1):\n  \
         `notifications.send_grade_notificaton` for `gradebook.grade.posted` \
         (did you mean `notifications.send_grade_notification`?)\n    defined at ";
    assert!(msg.starts_with(expected_start), "{msg}");
    assert!(msg.contains("tests/kit/mod.rs:"), "{msg}");
}

#[tokio::test]
async fn require_catalog_match_refuses_the_build_and_the_test_bus_assertion_fails() {
    let err = EventBus::builder()
        .register_all()
        .catalog(events::EVENTS)
        .require_catalog_match(true)
        .build()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("(did you mean `notifications.send_grade_notification`?)"),
        "{err}"
    );
    let bus = TestBus::build(EventBus::builder().register_all().catalog(events::EVENTS)).unwrap();
    let msg = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        bus.assert_catalog_match();
    }))
    .expect_err("mismatch")
    .downcast_ref::<String>()
    .cloned()
    .unwrap_or_default();
    assert!(
        msg.starts_with("the bus's handlers do not match the catalog:"),
        "{msg}"
    );
    // Leaving the typo out is not enough: the declared handler is still missing.
    let partial = TestBus::build(
        EventBus::builder()
            .register_where(|h| h.id == "analytics.update_gpa")
            .catalog(events::EVENTS),
    )
    .unwrap();
    assert!(
        !partial.verify_catalog().is_ok(),
        "the declared notification handler is missing"
    );
}
