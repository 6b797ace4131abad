//! The SkillCore school platform's events, end to end: build typed payloads from
//! the generated structs, encode them as the JSON other services see, and decode
//! them back by name through `AnyEvent`; then post grades on the in-process
//! event bus, where three handlers react as in the original system (analytics
//! updates the GPA, notifications messages the family, interventions opens an
//! academic intervention below 60 %), one of them failing once and succeeding
//! on its retry. `gradebook.grade.posted` is at version 2 (`score` became
//! `pointsEarned`, out of `pointsPossible`): a grade stored as version 1, as
//! the service wrote it before the upgrade, is handled as version 2.
//!
//! Run with `cargo run -p school` (`LOG_EVENTS=0 LOG_EVENT_HANDLERS=0` turns the
//! bus's info lines off); `cargo run -p school -- --dashboard` then serves the
//! operations dashboard over the example's database at
//! http://127.0.0.1:8080/admin/events (`SCHOOL_DASHBOARD_ADDR` to move it),
//! with a token it prints.

use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::uuid::Uuid;
use skillcore_events::Event;

mod events {
    skillcore_events::catalog!("../../catalog");
}
mod handlers;

use events::{attendance, gradebook, AnyEvent, AttendanceStatus, LetterGrade};

fn main() {
    encode_and_decode();
    if let Err(e) = handlers::run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
    if std::env::args().any(|a| a == "--dashboard") {
        if let Err(e) = dashboard() {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}

/// Serves the dashboard over the example's database until interrupted.
fn dashboard() -> Result<(), Box<dyn std::error::Error>> {
    use skillcore_events::dashboard::{random_token, serve, DashboardConfig, TokenAuthorizer};
    let db = std::env::var_os("SCHOOL_DB").unwrap_or_else(|| "school-events.db".into());
    let addr = std::env::var("SCHOOL_DASHBOARD_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let token = random_token();
    let config = DashboardConfig::new(TokenAuthorizer::new(token.clone())).catalog(events::EVENTS);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let store = skillcore_events::store::Store::sqlite(&db).await?;
        serve(store, config, addr.parse()?, "/admin/events", |at| {
            println!("\n=== the dashboard: http://{at}/admin/events (token {token}) ===");
        })
        .await?;
        Ok(())
    })
}

fn encode_and_decode() {
    println!(
        "catalog `{}`: {} events in {} contexts",
        AnyEvent::CATALOG,
        events::EVENTS.len(),
        {
            let mut contexts: Vec<&str> = events::EVENTS.iter().map(|e| e.context).collect();
            contexts.dedup();
            contexts.len()
        }
    );

    let posted_at = Utc.with_ymd_and_hms(2025, 11, 17, 14, 3, 0).unwrap();
    let grade = gradebook::GradePosted {
        result_id: Uuid::parse_str("0b9c6f4e-3f1a-4c1e-9a55-6d2f1e7b8c90").unwrap(),
        line_item_id: "li-456".into(),
        student_id: "stu-789".into(),
        class_id: "cls-101".into(),
        points_earned: 42.5,
        points_possible: 50.0,
        score_percent: 85.0,
        letter_grade: LetterGrade::B,
        previous_score: None,
        graded_by_id: "tch-111".into(),
        posted_at,
        district_id: "dst-222".into(),
        school_id: "sch-333".into(),
        comment: Some("Strong thesis; cite page numbers next time.".into()),
    };
    let info = gradebook::GradePosted::info();
    println!(
        "\n{} v{} (aggregate {} by `{}`), handled by: {}",
        gradebook::GradePosted::NAME,
        gradebook::GradePosted::VERSION,
        gradebook::GradePosted::AGGREGATE,
        info.aggregate_id,
        info.handlers.join(", ")
    );

    let marked_first = events::EVENTS
        .iter()
        .find(|e| e.name == attendance::RecordMarked::NAME)
        .map(|e| e.description)
        .unwrap_or_default();
    println!("{}: {marked_first}", attendance::RecordMarked::NAME);
    println!("attendance statuses: {:?}", AttendanceStatus::ALL);

    // Encode as the JSON other services see, then decode by name.
    let any = AnyEvent::from(grade.clone());
    let json = any.to_json().expect("payloads always encode");
    // The JSON holds the teacher's comment, a pii field: what is shown is
    // the redacted form (never print a payload as it is).
    println!(
        "\nencoded {} (pii fields redacted):\n  {}",
        any.name(),
        skillcore_events::redact::redact_json(any.name(), &json)
    );
    match AnyEvent::from_json(any.name(), &json) {
        Ok(decoded) => {
            assert_eq!(decoded, any, "round trip must give the same event");
            println!("decoded back: {decoded:?}");
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }

    // Bad input gets a precise error, never a panic.
    let bad = json.replace("\"B\"", "\"E\"");
    match AnyEvent::from_json(any.name(), &bad) {
        Ok(_) => unreachable!("`E` is not a letter grade"),
        Err(e) => println!("\nrejected a bad payload: {e}"),
    }
    match AnyEvent::from_json("gradebook.grade.postd", &json) {
        Ok(_) => unreachable!("no such event"),
        Err(e) => println!("rejected an unknown name: {e}"),
    }
}
