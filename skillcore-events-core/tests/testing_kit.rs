//! The testing kit's parts, each shown able to fail: generated fixtures,
//! `TestBus` records and outcomes under paused time, and the assertion
//! helpers' failure messages (pii redacted).
#![cfg(feature = "testing")]

mod events {
    skillcore_events::catalog!("tests/fixtures/kit.yaml");
}

use events::attendance::RecordMarked;
use events::gradebook::GradePosted;
use skillcore_events::testing::{Outcome, TestBus};
use skillcore_events::{Envelope, EventBus, HandlerError, HandlerOptions, Metadata};
use std::panic::AssertUnwindSafe;
use std::time::Duration;

fn meta() -> Metadata {
    Metadata::new("dst-1", "sch-1")
}

/// The panic message of `f`, which must panic.
fn panic_text(f: impl FnOnce()) -> String {
    let err = std::panic::catch_unwind(AssertUnwindSafe(f)).expect_err("the assertion passed");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn example_is_the_first_catalog_example_and_examples_are_all() {
    let first = GradePosted::example();
    assert_eq!(first.student_id, "stu-1");
    assert_eq!(first.score_percent, 85.0);
    assert_eq!(
        first.comment.as_deref(),
        Some("Secret remark about the essay")
    );
    let all = GradePosted::examples();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0], first);
    assert_eq!(
        (all[1].student_id.as_str(), all[1].comment.as_deref()),
        ("stu-2", None)
    );
    // Struct update syntax changes only what a test cares about.
    let failing = GradePosted {
        score_percent: 45.0,
        ..GradePosted::example()
    };
    assert_eq!(
        (failing.score_percent, failing.result_id.as_str()),
        (45.0, "r-1")
    );
}

#[test]
fn an_event_without_examples_gets_a_generated_one() {
    assert!(RecordMarked::examples().is_empty());
    let generated = RecordMarked::example();
    assert!(!generated.record_id.is_empty());
    // Deterministic: the same payload every time.
    assert_eq!(generated, RecordMarked::example());
}

fn flaky_bus(fail_times: u32) -> TestBus {
    TestBus::build(
        EventBus::builder().subscribe_with::<GradePosted, _, _>(
            "analytics.update_gpa",
            HandlerOptions::new()
                .retries(3)
                .backoff(Duration::from_secs(2)),
            move |_, cx| async move {
                if cx.attempt <= fail_times {
                    return Err(HandlerError::msg(format!("busy on attempt {}", cx.attempt)));
                }
                Ok(())
            },
        ),
    )
    .unwrap()
}

#[tokio::test(start_paused = true)]
async fn retries_wait_their_backoff_on_paused_time() {
    let bus = flaky_bus(2);
    let started = tokio::time::Instant::now();
    let real = std::time::Instant::now();
    bus.publish(Envelope::new(GradePosted::example(), meta()))
        .await
        .unwrap();
    bus.settle().await;
    // 2 s then 4 s of backoff (no jitter on a test bus), none of it real.
    assert_eq!(started.elapsed(), Duration::from_secs(6));
    assert!(
        real.elapsed() < Duration::from_secs(2),
        "{:?}",
        real.elapsed()
    );
    let run = bus.assert_handled("analytics.update_gpa");
    assert_eq!((run.attempts, run.failures()), (3, 2));
    assert_eq!(run.errors, ["busy on attempt 1", "busy on attempt 2"]);
    assert!(bus.dead_letters_all().await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_handler_that_keeps_failing_is_dead_lettered() {
    let bus = flaky_bus(u32::MAX);
    bus.publish(Envelope::new(GradePosted::example(), meta()))
        .await
        .unwrap();
    bus.settle().await;
    let run = bus.assert_dead_lettered("analytics.update_gpa");
    assert_eq!((run.attempts, run.max_attempts, run.failures()), (4, 4, 4));
    assert_eq!(
        bus.outcome("analytics.update_gpa"),
        Some(Outcome::DeadLettered)
    );
    let letters = bus.dead_letters_all().await;
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].last_error, "busy on attempt 4");
    // assert_handled fails, showing the run.
    let msg = panic_text(|| {
        bus.assert_handled("analytics.update_gpa");
    });
    assert!(
        msg.contains("expected `analytics.update_gpa` to be handled"),
        "{msg}"
    );
    assert!(
        msg.contains("dead-lettered after 4 of 4 attempt(s), 4 failed (last: busy on attempt 4)"),
        "{msg}"
    );
}

#[tokio::test(start_paused = true)]
async fn published_is_typed_and_in_order() {
    let bus = TestBus::build(EventBus::builder()).unwrap();
    for p in GradePosted::examples() {
        bus.publish(Envelope::new(p, meta())).await.unwrap();
    }
    let marked = RecordMarked::example();
    bus.publish(Envelope::new(marked.clone(), meta()))
        .await
        .unwrap();
    bus.settle().await;
    let students: Vec<String> = bus
        .payloads::<GradePosted>()
        .into_iter()
        .map(|g| g.student_id)
        .collect();
    assert_eq!(students, ["stu-1", "stu-2"]);
    assert_eq!(bus.payloads::<RecordMarked>(), [marked]);
    assert_eq!(bus.published_all().len(), 3);
    let found = bus.assert_published::<GradePosted>(|g| g.payload.score_percent < 60.0);
    assert_eq!(found.payload.student_id, "stu-2");
}

#[tokio::test(start_paused = true)]
async fn assert_published_failure_lists_what_was_published_without_pii() {
    let bus = TestBus::build(EventBus::builder()).unwrap();
    bus.publish(Envelope::new(GradePosted::example(), meta()))
        .await
        .unwrap();
    bus.publish(Envelope::new(RecordMarked::example(), meta()))
        .await
        .unwrap();
    let msg = panic_text(|| {
        bus.assert_published::<GradePosted>(|g| g.payload.student_id == "stu-9");
    });
    assert!(
        msg.starts_with(
            "none of the 1 published `gradebook.grade.posted` events matches; published:"
        ),
        "{msg}"
    );
    assert!(msg.contains("student_id: \"stu-1\""), "{msg}");
    assert!(msg.contains("comment: [redacted]"), "{msg}");
    assert!(!msg.contains("Secret remark"), "pii in the message: {msg}");
    assert!(
        msg.contains("other events published: 1 × attendance.record.marked"),
        "{msg}"
    );

    let msg = panic_text(|| bus.assert_not_published::<GradePosted>());
    assert!(
        msg.contains("expected no `gradebook.grade.posted` event, but 1 were published"),
        "{msg}"
    );
    assert!(!msg.contains("Secret remark"), "{msg}");
}

#[tokio::test(start_paused = true)]
async fn assert_handled_names_the_handlers_that_ran_when_one_never_did() {
    let bus = flaky_bus(0);
    bus.publish(Envelope::new(GradePosted::example(), meta()))
        .await
        .unwrap();
    bus.settle().await;
    bus.assert_handled("analytics.update_gpa");
    let msg = panic_text(|| {
        bus.assert_handled("analytics.update_gap");
    });
    assert_eq!(
        msg,
        "expected `analytics.update_gap` to be handled, but it never ran (handlers that ran: analytics.update_gpa)"
    );
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "the bus did not settle within 60s")]
async fn settle_fails_on_a_handler_that_never_finishes() {
    let bus = TestBus::build(EventBus::builder().subscribe::<GradePosted, _, _>(
        "analytics.stuck",
        |_, _| async {
            std::future::pending::<()>().await;
            Ok(())
        },
    ))
    .unwrap();
    bus.publish(Envelope::new(GradePosted::example(), meta()))
        .await
        .unwrap();
    bus.settle_within(Duration::from_secs(60)).await;
}

#[tokio::test(start_paused = true)]
async fn a_retried_dead_letter_is_a_new_run() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    // Fails its first 4 calls: one whole run, then succeeds when retried.
    let calls = Arc::new(AtomicU32::new(0));
    let c = Arc::clone(&calls);
    let bus = TestBus::build(EventBus::builder().subscribe_with::<GradePosted, _, _>(
        "analytics.update_gpa",
        HandlerOptions::new().retries(3),
        move |_, _| {
            let n = c.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 4 {
                    return Err(HandlerError::msg("busy"));
                }
                Ok(())
            }
        },
    ))
    .unwrap();
    bus.publish(Envelope::new(GradePosted::example(), meta()))
        .await
        .unwrap();
    bus.settle().await;
    assert_eq!(
        bus.outcome("analytics.update_gpa"),
        Some(Outcome::DeadLettered)
    );
    let letter = bus.dead_letters_all().await.remove(0);
    bus.retry_dead_letter(&skillcore_events::Scope::AllDistricts, letter.id)
        .await
        .unwrap();
    bus.settle().await;
    let runs = bus.runs_of("analytics.update_gpa");
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[0].outcome, Outcome::DeadLettered);
    assert_eq!((runs[1].outcome, runs[1].attempts), (Outcome::Handled, 1));
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    // Not every run was handled: assert_handled says which was not.
    let msg = panic_text(|| {
        bus.assert_handled("analytics.update_gpa");
    });
    assert!(msg.contains("dead-lettered after 4 of 4"), "{msg}");
    assert!(msg.contains("handled after 1 of 4"), "{msg}");
}
