//! Three handlers of `gradebook.grade.posted`, as in the original system's guide,
//! registered by `#[handler]` (no hand-written registration), and a grade
//! service that posts grades on the bus. One grade is written as version 1
//! (`score`, no `pointsPossible`), as the service wrote it before the upgrade
//! to version 2, and the handlers take it as today's version 2.

use crate::events::{
    gradebook, intervention, InterventionCategory, InterventionTier, InterventionTrigger,
    LetterGrade,
};
use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::serde_json;
use skillcore_events::store::{Durable, Scope, Store};
use skillcore_events::uuid::Uuid;
use skillcore_events::{
    handler, Envelope, Event, EventBus, HandlerContext, HandlerError, Metadata, RawEnvelope,
    RetryPolicy,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// ---------------------------------------------------------------- analytics

/// The analytics context's state: every student's graded results.
#[derive(Default)]
pub struct Analytics {
    results: Mutex<HashMap<String, HashMap<Uuid, f64>>>,
}

impl Analytics {
    /// The student's GPA on a 4-point scale from their percent scores.
    fn gpa(&self, student: &str) -> Option<(f64, usize)> {
        let results = self.results.lock().ok()?;
        let scores = results.get(student)?;
        let points: f64 = scores.values().map(|p| grade_points(*p)).sum();
        Some((points / scores.len() as f64, scores.len()))
    }
}

fn grade_points(percent: f64) -> f64 {
    match percent {
        p if p >= 90.0 => 4.0,
        p if p >= 80.0 => 3.0,
        p if p >= 70.0 => 2.0,
        p if p >= 60.0 => 1.0,
        _ => 0.0,
    }
}

/// Upserts the result (idempotent: a re-run changes nothing), then recomputes.
#[handler("gradebook.grade.posted", name = "analytics.update_gpa")]
async fn update_gpa(
    event: &Envelope<gradebook::GradePosted>,
    analytics: &Analytics,
) -> Result<(), HandlerError> {
    let p = &event.payload;
    analytics
        .results
        .lock()
        .map_err(|_| HandlerError::msg("analytics store poisoned"))?
        .entry(p.student_id.clone())
        .or_default()
        .insert(p.result_id, p.score_percent);
    if let Some((gpa, n)) = analytics.gpa(&p.student_id) {
        println!(
            "  [analytics]     GPA of {} is now {gpa:.2} over {n} result(s)",
            p.student_id
        );
    }
    Ok(())
}

// ------------------------------------------------------------ notifications

/// The notification service; its mail server refuses the first message.
pub struct Notifier {
    busy_once: AtomicBool,
    sent: Mutex<Vec<String>>,
}

#[handler(
    "gradebook.grade.posted",
    name = "notifications.send_grade_notification",
    retries = 2,
    backoff = "50ms",
    timeout = "2s"
)]
async fn send_grade_notification(
    event: &Envelope<gradebook::GradePosted>,
    notifier: &Notifier,
    cx: &HandlerContext,
) -> Result<(), HandlerError> {
    if notifier.busy_once.swap(false, Ordering::SeqCst) {
        println!(
            "  [notifications] attempt {}/{}: mail server busy",
            cx.attempt, cx.max_attempts
        );
        return Err(HandlerError::msg(
            "SMTP 421: service not available, try again",
        ));
    }
    let p = &event.payload;
    let message = format!(
        "{} scored {} of {} points ({:.0} %, {}) on {}",
        p.student_id,
        p.points_earned,
        p.points_possible,
        p.score_percent,
        p.letter_grade,
        p.line_item_id
    );
    println!(
        "  [notifications] attempt {}/{}: sent to the family of {}: \"{message}\"",
        cx.attempt, cx.max_attempts, p.student_id
    );
    notifier
        .sent
        .lock()
        .map_err(|_| HandlerError::msg("outbox poisoned"))?
        .push(message);
    Ok(())
}

// ------------------------------------------------------------ interventions

/// Open academic interventions, by student.
#[derive(Default)]
pub struct Interventions {
    open: Mutex<Vec<(String, &'static str, f64)>>,
}

#[handler("gradebook.grade.posted", name = "interventions.check_failing_grade")]
async fn check_failing_grade(
    event: &Envelope<gradebook::GradePosted>,
    interventions: &Interventions,
    cx: &HandlerContext,
) -> Result<(), HandlerError> {
    let p = &event.payload;
    if p.score_percent >= 60.0 {
        println!(
            "  [interventions] {:.0} % is not failing: nothing to do",
            p.score_percent
        );
        return Ok(());
    }
    {
        let mut open = interventions
            .open
            .lock()
            .map_err(|_| HandlerError::msg("intervention store poisoned"))?;
        if open.iter().any(|(s, _, _)| s == &p.student_id) {
            return Ok(());
        }
        open.push((p.student_id.clone(), "failing_grade", p.score_percent));
    }
    // The follow-up event, published through the handler's context: it
    // carries this grade's correlation id and the grade's id as its cause,
    // and its tenant comes from its own payload (the catalog's `metadata:`).
    let opened = intervention::InterventionCreated {
        intervention_id: Uuid::now_v7(),
        student_id: p.student_id.clone(),
        tier: InterventionTier::Tier2,
        category: InterventionCategory::Academic,
        trigger: InterventionTrigger::FailingGrade,
        source_record_id: Some(p.result_id.to_string()),
        grade_percent: Some(p.score_percent),
        assigned_to_id: None,
        start_date: p.posted_at.date_naive(),
        created_by_id: "system".into(),
        created_at: p.posted_at,
        district_id: p.district_id.clone(),
        school_id: p.school_id.clone(),
        notes: None,
    };
    let id = cx.publish(opened).await?;
    println!(
        "  [interventions] opened an ACADEMIC INTERVENTION for {} (reason failing_grade, {:.0} %): published intervention.created {id}, caused by {}",
        p.student_id, p.score_percent, event.id
    );
    Ok(())
}

// -------------------------------------------------------------- the service

fn grade(
    (points_earned, points_possible): (f64, f64),
    percent: f64,
    letter: LetterGrade,
    line_item: &str,
) -> gradebook::GradePosted {
    gradebook::GradePosted {
        result_id: Uuid::now_v7(),
        line_item_id: line_item.into(),
        student_id: "stu-789".into(),
        class_id: "cls-101".into(),
        points_earned,
        points_possible,
        score_percent: percent,
        letter_grade: letter,
        previous_score: None,
        graded_by_id: "tch-111".into(),
        posted_at: Utc.with_ymd_and_hms(2025, 11, 17, 14, 3, 0).unwrap(),
        district_id: "dst-222".into(),
        school_id: "sch-333".into(),
        comment: Some("Private note to the student: see me after class.".into()),
    }
}

/// A grade as the service wrote it before the upgrade: a version 1 payload
/// (`score`, no `pointsPossible`), built from the generated type of the
/// released version 1, `gradebook::v1::GradePosted`, and stored as version 1.
fn grade_before_the_upgrade(meta: Metadata) -> Result<RawEnvelope, serde_json::Error> {
    let result_id = Uuid::now_v7();
    let posted_at = Utc.with_ymd_and_hms(2025, 11, 10, 9, 30, 0).unwrap();
    let old = gradebook::v1::GradePosted {
        result_id,
        line_item_id: "li-lab-2".into(),
        student_id: "stu-789".into(),
        class_id: "cls-101".into(),
        score: 88.0,
        score_percent: 88.0,
        letter_grade: LetterGrade::B,
        previous_score: None,
        graded_by_id: "tch-111".into(),
        posted_at,
        district_id: "dst-222".into(),
        school_id: "sch-333".into(),
        comment: Some("Private note to the student: careful lab work.".into()),
    };
    Ok(RawEnvelope {
        id: Uuid::now_v7(),
        event_type: gradebook::GradePosted::NAME.into(),
        aggregate_id: result_id.to_string(),
        aggregate_type: gradebook::GradePosted::AGGREGATE.into(),
        payload: serde_json::value::to_raw_value(&old)?,
        metadata: meta,
        version: 1,
        occurred_at: posted_at,
    })
}

fn env_flag_or(name: &str, default: bool) -> bool {
    match std::env::var(name) {
        Ok(v) => matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        ),
        Err(_) => default,
    }
}

/// Builds the bus from the registered handlers and posts two grades.
pub fn run() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().event_format(BusLines).init();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async_run())
}

/// Where the example keeps its events: `SCHOOL_DB`, else `school-events.db` in
/// the working directory.
fn db_path() -> std::path::PathBuf {
    std::env::var_os("SCHOOL_DB")
        .map(Into::into)
        .unwrap_or_else(|| "school-events.db".into())
}

async fn async_run() -> Result<(), Box<dyn std::error::Error>> {
    let db = db_path();
    println!(
        "\n=== the event bus, durable in {} (SQLite) ===",
        db.display()
    );
    let analytics = Arc::new(Analytics::default());
    let notifier = Arc::new(Notifier {
        busy_once: AtomicBool::new(true),
        sent: Mutex::new(Vec::new()),
    });
    let interventions = Arc::new(Interventions::default());
    let bus = EventBus::builder()
        .register_all()
        .with_state(Arc::clone(&analytics))
        .with_state(Arc::clone(&notifier))
        .with_state(Arc::clone(&interventions))
        .catalog(crate::events::EVENTS)
        // Short delays so the example runs in well under a second.
        .retry_policy(RetryPolicy {
            backoff: Duration::from_millis(50),
            ..RetryPolicy::default()
        })
        .log_events(env_flag_or("LOG_EVENTS", true))
        .log_handlers(env_flag_or("LOG_EVENT_HANDLERS", true))
        .backend(Durable::sqlite(&db))
        .build()?;
    println!(
        "handlers of gradebook.grade.posted, found by #[handler] at link time: {}",
        bus.handlers_of("gradebook.grade.posted").join(", ")
    );
    let report = bus.verify_catalog();
    let missing_here: Vec<_> = report
        .missing
        .iter()
        .filter(|h| h.event == "gradebook.grade.posted")
        .map(|h| h.handler.as_str())
        .collect();
    println!(
        "catalog check: {} declared handler(s) not in this binary ({} for grade.posted: {}), {} undeclared",
        report.missing.len(),
        missing_here.len(),
        missing_here.join(", "),
        report.undeclared.len()
    );

    let meta = Metadata::new("dst-222", "sch-333").with_user("tch-111");
    println!("\nposting an 85 % essay grade:");
    // The catalog's `metadata:` says which payload fields hold the district,
    // school and teacher: the bare payload is enough.
    bus.publish(grade((42.5, 50.0), 85.0, LetterGrade::B, "li-essay"))
        .await?;
    bus.idle().await;

    println!("\nposting a 45 % quiz grade:");
    let quiz = Envelope::from_payload(grade((9.0, 20.0), 45.0, LetterGrade::F, "li-quiz-3"));
    bus.publish(quiz.clone()).await?;
    bus.idle().await;

    println!("\nredelivering the quiz grade (same event id):");
    bus.publish(quiz).await?;
    bus.idle().await;
    println!("  no handler ran again: each one already succeeded for this event");

    // Stored events outlive the build that wrote them: this one is version 1,
    // as the service wrote it before `gradebook.grade.posted` became version
    // 2. The handlers, of today's type, get it upcast by the generated step.
    println!(
        "\nhandling a grade stored as version 1, as the service wrote it before the upgrade (`score`, no `pointsPossible`):"
    );
    let old = grade_before_the_upgrade(meta)?;
    bus.publish_raw(old.clone()).await?;
    bus.idle().await;
    let now = old.decode::<gradebook::GradePosted>()?;
    println!(
        "  the handlers took it as version {}: pointsEarned {} (its `score`), pointsPossible {} (the default)",
        now.version, now.payload.points_earned, now.payload.points_possible
    );

    let scope = Scope::District("dst-222".into());
    let dead = bus.dead_letters(&scope).await?;
    let report = bus.shutdown(Duration::from_secs(1)).await;

    // The store keeps every event: a second run shows this run's too. It is
    // the bus's own store (same file, same connections).
    let store = Store::of(&bus).await?;
    let mut stored = Vec::new();
    let mut cursor = Default::default();
    loop {
        let (batch, next) = store.read_after(&scope, cursor, 500).await?;
        if batch.is_empty() {
            break;
        }
        cursor = next;
        stored.extend(batch);
    }
    // Each run writes two grades of today's version and one of version 1
    // (the events of runs of a build before the upgrade are version 1 too),
    // and the intervention the failing grade opened.
    let opened = stored
        .iter()
        .filter(|e| e.event.event_type == intervention::InterventionCreated::NAME)
        .count();
    stored.retain(|e| e.event.event_type == gradebook::GradePosted::NAME);
    let written_as_v1 = stored.iter().filter(|e| e.event.version == 1).count();
    let today = stored.len() - written_as_v1;
    println!(
        "\nthe store holds {} grade(s) of district dst-222: {today} of version {} ({} from earlier runs) and {written_as_v1} written as version 1; and {opened} intervention(s) opened by failing grades:",
        stored.len(),
        gradebook::GradePosted::VERSION,
        today.saturating_sub(2)
    );
    for e in stored.iter().rev().take(4).rev() {
        // Each stored event decodes into today's generated type, whatever
        // version it was stored as.
        let grade = e.decode::<gradebook::GradePosted>()?;
        println!(
            "  #{:<4} {}  {}  {:.1} %  (stored as version {})",
            e.seq,
            grade.occurred_at.format("%Y-%m-%d %H:%M:%S"),
            e.event.event_type,
            grade.payload.score_percent,
            e.event.version,
        );
    }
    let stats = store.stats(&scope).await?;
    for s in &stats {
        println!(
            "  queue {:<40} completed {:>3}, waiting {}, dead {}",
            s.handler_id, s.completed, s.waiting, s.dead
        );
    }
    println!(
        "\nsummary: GPA {:.2}, {} notification(s) sent, {} intervention(s) open, {} dead letter(s), shutdown {}",
        analytics.gpa("stu-789").map_or(0.0, |(g, _)| g),
        notifier.sent.lock().map(|s| s.len()).unwrap_or(0),
        interventions.open.lock().map(|o| o.len()).unwrap_or(0),
        dead.len(),
        if report.completed { "clean" } else { "cut short" }
    );
    Ok(())
}

/// Prints the bus's log lines as `  LEVEL message`: the event id, name and
/// handler id are in the message and in the spans (for JSON or OpenTelemetry
/// subscribers), so this example leaves the span fields out.
struct BusLines;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for BusLines
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut m = Message(String::new());
        event.record(&mut m);
        writeln!(writer, "  {:>5} {}", event.metadata().level(), m.0)
    }
}
