//! A durable bus logs failed attempts, retries (with their delay) and moves to
//! the dead letters through `tracing`, as the in-process bus does: same
//! target, same message, with the event id, name, handler and error as
//! fields; never the payload (a pii comment must not appear).

mod common;

use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::{Envelope, EventBus, HandlerError, HandlerOptions, Metadata};
use skillcore_events_store::{Durable, Store};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata as TraceMeta, Subscriber};

mod events {
    skillcore_events::catalog!("../catalog");
}
use events::{gradebook, LetterGrade};

/// One captured log line: level, target and every field (the message too).
#[derive(Clone, Debug)]
struct Line {
    level: tracing::Level,
    target: String,
    fields: BTreeMap<String, String>,
}

impl Line {
    fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

/// Every event logged in this test process (a global subscriber: the
/// workers log from tasks on any thread).
static LINES: Mutex<Vec<Line>> = Mutex::new(Vec::new());

struct Capture {
    next: AtomicU64,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}"));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &TraceMeta<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(self.next.fetch_add(1, Ordering::Relaxed))
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        LINES.lock().unwrap().push(Line {
            level: *event.metadata().level(),
            target: event.metadata().target().to_string(),
            fields,
        });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn capture() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        tracing::subscriber::set_global_default(Capture {
            next: AtomicU64::new(1),
        })
        .expect("no other subscriber in this test binary");
    });
}

/// The lines logged about event `id`.
fn lines_of(id: &str) -> Vec<Line> {
    LINES
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.field("event_id") == id)
        .cloned()
        .collect()
}

const SECRET: &str = "confidential-remark-7431";

fn grade(result: u128) -> Envelope<gradebook::GradePosted> {
    Envelope::new(
        gradebook::GradePosted {
            result_id: skillcore_events::uuid::Uuid::from_u128(result),
            line_item_id: "li-1".into(),
            student_id: "stu-1".into(),
            class_id: "cls-1".into(),
            points_earned: 40.0,
            points_possible: 100.0,
            score_percent: 40.0,
            letter_grade: LetterGrade::F,
            previous_score: None,
            graded_by_id: "tch-1".into(),
            posted_at: Utc.with_ymd_and_hms(2025, 11, 17, 14, 3, 0).unwrap(),
            district_id: "dst-1".into(),
            school_id: "sch-1".into(),
            // A pii field: never logged.
            comment: Some(SECRET.into()),
        },
        Metadata::new("dst-1", "sch-1"),
    )
}

async fn failures_are_logged_on(name: &str, store: Store) {
    capture();
    let bus = EventBus::builder()
        .subscribe_with::<gradebook::GradePosted, _, _>(
            "interventions.open_case",
            HandlerOptions::new()
                .retries(1)
                .backoff(Duration::from_millis(20)),
            |_e, _cx| async { Err(HandlerError::msg("case service unavailable")) },
        )
        .backend(Durable::store(store))
        .build()
        .unwrap();
    let env = grade(7);
    let id = env.id.to_string();
    bus.publish(env).await.unwrap();
    tokio::time::timeout(Duration::from_secs(20), bus.idle())
        .await
        .expect("bus goes idle");
    bus.shutdown(Duration::from_secs(5)).await;

    let lines = lines_of(&id);
    let retry = lines
        .iter()
        .find(|l| l.field("message").contains("retrying in"))
        .unwrap_or_else(|| panic!("{name}: no retry line for {id}: {lines:#?}"));
    assert_eq!(retry.level, tracing::Level::WARN, "{name}");
    assert_eq!(retry.target, "skillcore_events::bus", "{name}");
    assert_eq!(retry.field("handler_id"), "interventions.open_case");
    assert_eq!(retry.field("event_name"), "gradebook.grade.posted");
    assert_eq!(retry.field("attempt"), "1", "{name}");
    assert_eq!(retry.field("error"), "case service unavailable");
    let delay: u64 = retry.field("retry_in_ms").parse().expect("retry_in_ms");
    assert!(
        (10..=40).contains(&delay),
        "{name}: 20 ms ± jitter: {delay}"
    );
    assert!(
        retry.field("message").starts_with(
            "[interventions.open_case] \u{2717} attempt 1/2 failed: case service unavailable; \
             retrying in "
        ),
        "{name}: {}",
        retry.field("message")
    );

    let dead = lines
        .iter()
        .find(|l| l.field("message").contains("moved to the dead letters"))
        .unwrap_or_else(|| panic!("{name}: no dead-letter line for {id}: {lines:#?}"));
    assert_eq!(dead.level, tracing::Level::ERROR, "{name}");
    assert_eq!(dead.target, "skillcore_events::bus", "{name}");
    assert_eq!(dead.field("handler_id"), "interventions.open_case");
    assert_eq!(dead.field("event_name"), "gradebook.grade.posted");
    assert_eq!(dead.field("attempt"), "2", "{name}");
    assert_eq!(
        dead.field("message"),
        "[interventions.open_case] \u{2717} attempt 2/2 failed: case service unavailable; \
         moved to the dead letters"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.field("message").contains("failed:"))
            .count(),
        2,
        "{name}: one line per failed attempt: {lines:#?}"
    );

    let all = LINES.lock().unwrap();
    for l in all.iter() {
        assert!(
            !format!("{:?}", l.fields).contains(SECRET),
            "{name}: pii logged: {l:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_logs_retries_and_dead_letters() {
    failures_are_logged_on("sqlite", common::sqlite().await.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_logs_retries_and_dead_letters() {
    failures_are_logged_on("postgres", common::postgres().await.0).await;
}
