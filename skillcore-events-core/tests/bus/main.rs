//! Behaviour of the in-process bus: concurrency, isolation, per-handler
//! retries and backoff, timeouts, dead letters, idempotency, shutdown, logs.
//! Timing tests run on Tokio's paused clock, so they are exact and instant.

use skillcore_events::uuid::Uuid;
use skillcore_events::Scope;
use skillcore_events::{
    BusError, DeadLetterId, Envelope, EventBus, HandlerContext, HandlerError, HandlerOptions,
    Metadata, PublishError, RawEnvelope, RetryPolicy,
};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

mod events {
    skillcore_events::catalog!("tests/fixtures/school.yaml");
}
use events::{gradebook, LetterGrade};

type Grade = gradebook::GradePosted;

fn grade(score: f64) -> Envelope<Grade> {
    Envelope::new(
        Grade {
            result_id: Uuid::now_v7(),
            student_id: "stu-1".into(),
            score_percent: score,
            letter_grade: LetterGrade::C,
            comment: Some("see me privately about your essay".into()),
        },
        Metadata::new("dst-1", "sch-1").with_user("tch-1"),
    )
}

/// A bus whose defaults retry fast and without jitter.
fn builder() -> skillcore_events::EventBusBuilder {
    EventBus::builder()
        .retry_policy(RetryPolicy {
            attempts: 3,
            backoff: Duration::from_millis(10),
            jitter: 0.0,
            ..RetryPolicy::default()
        })
        .log_events(false)
        .log_handlers(false)
}

#[derive(Default)]
struct Calls(AtomicU32);
impl Calls {
    fn hit(&self) -> u32 {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
    fn get(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

mod dead_letters;
mod isolation;
mod lifecycle;
mod logs;
mod retries;
