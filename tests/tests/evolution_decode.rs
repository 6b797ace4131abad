//! Every released version decodes into today's type: `fixtures/evolve/`
//! holds build 3 of a small catalog and the lock that builds 1 and 2 wrote
//! (`skillcore-events lock` after each). Version 1 -> 2 is generated
//! (a rename, a default, a removed field); 2 -> 3 is the function below (the
//! points move into a struct); `Letter` gained a value in 3, so versions 1
//! and 2 keep their own `Letter`.
//!
//! Payloads of every version go through `Event::decode_version`, raw
//! envelopes, `AnyEvent`, and a durable bus on a real SQLite file (a worker
//! and its handler of the current type): 100 % decoded, every value carried
//! through the chain, no dead letter.

use serde_json::{json, Value};
use skillcore_events::{
    DecodeError, Event, EventBus, EventSet, HandlerContext, Metadata, RawEnvelope, Scope,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod events {
    skillcore_events::catalog!("fixtures/evolve/evolve.yaml");
}

/// The hand-written step of the chain, named in the catalog under `upcast:`.
mod upcast {
    use super::events::{school, Letter, Points};

    pub fn grade_posted_v2(old: school::v2::GradePosted) -> school::GradePosted {
        school::GradePosted {
            grade_id: old.grade_id,
            points: Points {
                earned: old.points_earned,
                possible: old.points_possible,
            },
            letter: Letter::from(old.letter),
            student_name: old.student_name,
        }
    }
}

use events::school::{GradePosted, NoteWritten};
use events::{AnyEvent, Letter, Points};

const GRADE: &str = "0190a3f4-7b1c-7d2e-9f00-0000000000aa";

fn v1(score: f64, letter: &str) -> Value {
    json!({"gradeId": GRADE, "score": score, "letter": letter, "attempts": 2, "studentName": "Ada Lovelace"})
}

fn v2(earned: f64, possible: Value) -> Value {
    let mut p = json!({"gradeId": GRADE, "pointsEarned": earned, "letter": "A", "studentName": "Ada Lovelace"});
    // `Value::Null` here means: leave the field out.
    if !possible.is_null() {
        p["pointsPossible"] = possible;
    }
    p
}

fn expected(earned: f64, possible: f64, letter: Letter) -> GradePosted {
    GradePosted {
        grade_id: GRADE.parse().unwrap(),
        points: Points { earned, possible },
        letter,
        student_name: "Ada Lovelace".into(),
    }
}

fn decode(version: u32, payload: &Value) -> Result<GradePosted, DecodeError> {
    GradePosted::decode_version(version, &payload.to_string())
}

#[test]
fn every_released_version_decodes_into_the_current_type() {
    // v1: `score` is renamed to `pointsEarned`, `pointsPossible` takes its
    // default (100), `attempts` is dropped; then the function moves them.
    assert_eq!(
        decode(1, &v1(42.5, "B")).unwrap(),
        expected(42.5, 100.0, Letter::B)
    );
    // v2 as released, with and without its defaulted field, and with `null` in it.
    assert_eq!(
        decode(2, &v2(7.0, json!(10))).unwrap(),
        expected(7.0, 10.0, Letter::A)
    );
    assert_eq!(
        decode(2, &v2(7.0, Value::Null)).unwrap(),
        expected(7.0, 100.0, Letter::A)
    );
    let mut with_null = v2(7.0, json!(1));
    with_null["pointsPossible"] = Value::Null;
    assert_eq!(
        decode(2, &with_null).unwrap(),
        expected(7.0, 100.0, Letter::A)
    );
    // v3 is today's.
    let now = json!({"gradeId": GRADE, "points": {"earned": 3.0, "possible": 4.0}, "letter": "D", "studentName": "Ada Lovelace"});
    assert_eq!(decode(3, &now).unwrap(), expected(3.0, 4.0, Letter::D));
    // The older versions' types are there, with their own `Letter`.
    let old: events::school::v1::GradePosted = serde_json::from_value(v1(1.0, "C")).unwrap();
    assert_eq!(old.score, 1.0);
    assert_eq!(Letter::from(old.letter), Letter::C);
}

#[test]
fn unknown_versions_are_errors_and_a_newer_one_is_told_apart() {
    let now = json!({"gradeId": GRADE, "points": {"earned": 3.0, "possible": 4.0}, "letter": "D", "studentName": "x"});
    let ahead = decode(4, &now).unwrap_err();
    assert!(ahead.is_version_ahead(), "{ahead}");
    assert!(
        ahead
            .to_string()
            .contains("version 4 is newer than this build, which knows version 3"),
        "{ahead}"
    );
    let never = decode(0, &now).unwrap_err();
    assert!(!never.is_version_ahead());
    assert!(matches!(
        never,
        DecodeError::VersionMismatch {
            expected: 3,
            found: 0,
            ..
        }
    ));
}

#[test]
fn a_bad_old_payload_is_a_decode_error_that_quotes_no_pii() {
    let mut bad = v1(1.0, "B");
    bad["score"] = json!("SECRET-NOT-A-NUMBER");
    bad["studentName"] = json!("SECRET-STUDENT");
    let e = decode(1, &bad).unwrap_err();
    let text = format!("{e} {e:?}");
    assert!(
        // the field as the v1 payload names it (read through its declared rename)
        matches!(&e, DecodeError::InvalidPayload { field, .. } if field == "score"),
        "{text}"
    );
    assert!(!text.contains("SECRET"), "{text}");
    // Not JSON at all: the current type's decoder says so.
    assert!(GradePosted::decode_version(1, "{not json").is_err());
}

#[test]
fn the_renamed_event_decodes_its_old_payloads() {
    // An envelope under the old name decodes into the new type.
    let old_env = raw_named(
        "school.note.added",
        "Note",
        1,
        &json!({"noteId": "n-9", "text": "x"}),
    );
    assert_eq!(
        old_env.decode::<NoteWritten>().unwrap().payload.note_id,
        "n-9"
    );
    assert_eq!(
        old_env.decode_any::<AnyEvent>().unwrap().payload.name(),
        NoteWritten::NAME
    );
    // Released as `school.note.added` v1 (with `legacy`), now `school.note.written` v2.
    let old = json!({"noteId": "n-1", "text": "hello", "legacy": "x"});
    let n = NoteWritten::decode_version(1, &old.to_string()).unwrap();
    assert_eq!((n.note_id.as_str(), n.text.as_str()), ("n-1", "hello"));
}

fn raw(version: u32, payload: &Value) -> RawEnvelope {
    raw_named(GradePosted::NAME, GradePosted::AGGREGATE, version, payload)
}

fn raw_named(name: &str, aggregate: &str, version: u32, payload: &Value) -> RawEnvelope {
    RawEnvelope {
        id: skillcore_events::uuid::Uuid::now_v7(),
        event_type: name.into(),
        aggregate_id: GRADE.into(),
        aggregate_type: aggregate.into(),
        payload: serde_json::value::to_raw_value(payload).unwrap(),
        metadata: Metadata::new("dst-1", "sch-1"),
        version,
        occurred_at: skillcore_events::chrono::Utc::now(),
    }
}

#[test]
fn envelopes_and_any_event_decode_by_the_stored_version() {
    let env = raw(1, &v1(9.0, "A")).decode::<GradePosted>().unwrap();
    assert_eq!(
        env.version, 3,
        "the payload is of the current version once decoded"
    );
    assert_eq!(env.payload, expected(9.0, 100.0, Letter::A));
    let any = raw(2, &v2(5.0, json!(50)))
        .decode_any::<AnyEvent>()
        .unwrap();
    match any.payload {
        AnyEvent::SchoolGradePosted(p) => assert_eq!(p, expected(5.0, 50.0, Letter::A)),
        other => panic!("{other:?}"),
    }
    let direct =
        AnyEvent::from_json_version(GradePosted::NAME, 1, &v1(2.0, "B").to_string()).unwrap();
    assert_eq!(direct.name(), GradePosted::NAME);
}

/// Events stored as versions 1, 2 and 3 on a SQLite file, handled by a
/// durable bus whose handler takes today's type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_bus_handles_every_stored_version() {
    let dir = std::env::temp_dir().join(format!("skc-evolve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let seen: Arc<Mutex<Vec<GradePosted>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let notes: Arc<Mutex<Vec<String>>> = Arc::default();
    let note_sink = Arc::clone(&notes);
    let bus = EventBus::builder()
        .backend(skillcore_events::store::Durable::sqlite(
            dir.join("events.db"),
        ))
        .subscribe::<GradePosted, _, _>("evolve.grades", move |env, _cx: HandlerContext| {
            let sink = Arc::clone(&sink);
            async move {
                sink.lock().unwrap().push(env.payload.clone());
                Ok(())
            }
        })
        // The renamed event: its handler takes the events stored under the old name.
        .subscribe::<NoteWritten, _, _>("evolve.notes", move |env, _cx: HandlerContext| {
            let sink = Arc::clone(&note_sink);
            async move {
                sink.lock().unwrap().push(env.payload.note_id.clone());
                Ok(())
            }
        })
        .build()
        .unwrap();
    for i in 0..5 {
        let old = json!({"noteId": format!("n-{i}"), "text": "t", "legacy": "x"});
        bus.publish_raw(raw_named("school.note.added", "Note", 1, &old))
            .await
            .unwrap();
    }
    let mut want = Vec::new();
    for i in 0..30 {
        let earned = i as f64;
        let (version, payload, w) = match i % 3 {
            0 => (1, v1(earned, "B"), expected(earned, 100.0, Letter::B)),
            1 => (2, v2(earned, json!(20)), expected(earned, 20.0, Letter::A)),
            _ => (
                3,
                json!({"gradeId": GRADE, "points": {"earned": earned, "possible": 9.0}, "letter": "D", "studentName": "Ada Lovelace"}),
                expected(earned, 9.0, Letter::D),
            ),
        };
        bus.publish_raw(raw(version, &payload)).await.unwrap();
        want.push(w);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while seen.lock().unwrap().len() < want.len() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut got = seen.lock().unwrap().clone();
    let key = |g: &GradePosted| (g.points.earned * 1000.0) as i64;
    got.sort_by_key(key);
    want.sort_by_key(key);
    assert_eq!(
        got, want,
        "every stored version decoded, values carried through the chain"
    );
    while notes.lock().unwrap().len() < 5 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut got_notes = notes.lock().unwrap().clone();
    got_notes.sort();
    assert_eq!(
        got_notes,
        ["n-0", "n-1", "n-2", "n-3", "n-4"],
        "stored under the old name, handled under the new"
    );
    let letters = bus.dead_letters(&Scope::AllDistricts).await.unwrap();
    assert!(letters.is_empty(), "no dead letters: {letters:?}");
    bus.shutdown(Duration::from_secs(5)).await;
    let _ = std::fs::remove_dir_all(&dir);
}
