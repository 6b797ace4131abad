//! The envelope: UUID v7 ids, the `EventStore` row JSON, CloudEvents 1.0 both
//! ways, and `RawEnvelope` decoding with its errors.

use serde_json::{json, Value};
use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::uuid::Uuid;
use skillcore_events::{
    schema_id, DecodeError, Envelope, Event, EventSet, Metadata, RawEnvelope, SCHEMA_ID_BASE,
};

mod events {
    skillcore_events::catalog!("tests/fixtures/school.yaml");
}
use events::{attendance, gradebook, AnyEvent, LetterGrade};

fn grade() -> Envelope<gradebook::GradePosted> {
    let mut env = Envelope::new(
        gradebook::GradePosted {
            result_id: Uuid::parse_str("0b9c6f4e-3f1a-4c1e-9a55-6d2f1e7b8c90").unwrap(),
            student_id: "stu-789".into(),
            score_percent: 85.0,
            letter_grade: LetterGrade::B,
            comment: Some("Strong thesis".into()),
        },
        Metadata::new("dst-222", "sch-333")
            .with_user("tch-111")
            .with_correlation("req-42"),
    );
    env.occurred_at = Utc.with_ymd_and_hms(2025, 11, 17, 14, 3, 0).unwrap();
    env
}

#[test]
fn new_fills_the_envelope_from_the_event() {
    let env = grade();
    assert_eq!(env.id.get_version_num(), 7, "UUID v7");
    assert_eq!(env.event_type, "gradebook.grade.posted");
    assert_eq!(env.aggregate_type, "Result");
    assert_eq!(env.aggregate_id, "0b9c6f4e-3f1a-4c1e-9a55-6d2f1e7b8c90");
    assert_eq!(env.version, 1);
    // Time-ordered ids.
    let ids: Vec<Uuid> = (0..50).map(|_| grade().id).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
}

#[test]
fn the_row_json_has_the_event_store_shape() {
    let env = grade();
    let v: Value = serde_json::from_str(&env.to_json().unwrap()).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "aggregateId",
            "aggregateType",
            "eventType",
            "id",
            "metadata",
            "occurredAt",
            "payload",
            "version"
        ]
    );
    assert_eq!(v["eventType"], "gradebook.grade.posted");
    assert_eq!(v["aggregateType"], "Result");
    assert_eq!(v["occurredAt"], "2025-11-17T14:03:00Z");
    assert_eq!(
        v["metadata"],
        json!({"districtId": "dst-222", "schoolId": "sch-333", "userId": "tch-111", "correlationId": "req-42"})
    );
    assert_eq!(v["payload"]["studentId"], "stu-789");
    assert_eq!(v["payload"]["letterGrade"], "B");
    // And back, typed and raw.
    let back = Envelope::<gradebook::GradePosted>::from_json(&env.to_json().unwrap()).unwrap();
    assert_eq!(back, env);
    let raw = RawEnvelope::from_json(&env.to_json().unwrap()).unwrap();
    assert_eq!(raw, env.to_raw().unwrap());
    assert_eq!(raw.to_json().unwrap(), env.to_json().unwrap());
}

#[test]
fn cloudevents_round_trip() {
    let env = grade().caused_by(&grade());
    let ce = env.to_cloudevent("/skillcore/gradebook").unwrap();
    assert_eq!(ce["specversion"], "1.0");
    assert_eq!(ce["type"], "gradebook.grade.posted");
    assert_eq!(ce["source"], "/skillcore/gradebook");
    assert_eq!(ce["subject"], env.aggregate_id.as_str());
    assert_eq!(ce["id"], env.id.to_string());
    assert_eq!(ce["time"], "2025-11-17T14:03:00Z");
    assert_eq!(ce["datacontenttype"], "application/json");
    assert_eq!(
        ce["dataschema"],
        "https://schemas.skillcore.dev/events/gradebook.grade.posted.v1.schema.json"
    );
    assert_eq!(ce["districtid"], "dst-222");
    assert_eq!(ce["schoolid"], "sch-333");
    assert_eq!(ce["userid"], "tch-111");
    assert_eq!(
        ce["causationid"],
        env.metadata.causation_id.unwrap().to_string()
    );
    assert_eq!(ce["data"]["scorePercent"], 85.0);
    // Extension attribute names are lowercase alphanumerics (CloudEvents 1.0).
    for k in ce.as_object().unwrap().keys() {
        assert!(
            k.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                || k == "data",
            "{k}"
        );
    }
    let back = Envelope::<gradebook::GradePosted>::from_cloudevent(&ce).unwrap();
    assert_eq!(back, env);
    let raw = RawEnvelope::from_cloudevent(&ce).unwrap();
    assert_eq!(raw, env.to_raw().unwrap());
}

#[test]
fn dataschema_uses_the_compiler_schema_id_base() {
    assert_eq!(
        SCHEMA_ID_BASE,
        skillcore_events_codegen::Settings::default().schema_id_base
    );
    assert_eq!(
        grade().schema_id(),
        schema_id(
            gradebook::GradePosted::NAME,
            gradebook::GradePosted::VERSION
        )
    );
}

#[test]
fn bad_cloudevents_are_refused_with_a_reason() {
    let good = grade().to_cloudevent("/s").unwrap();
    let with = |f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut v = good.clone();
        f(v.as_object_mut().unwrap());
        RawEnvelope::from_cloudevent(&v).unwrap_err().to_string()
    };
    assert!(with(&|o| {
        o.remove("specversion");
    })
    .contains("`specversion` is missing"));
    assert!(with(&|o| {
        o.insert("specversion".into(), json!("0.3"));
    })
    .contains("unsupported CloudEvents specversion `0.3`"));
    assert!(with(&|o| {
        o.insert("id".into(), json!("evt-1"));
    })
    .contains("`id` is not a UUID"));
    assert!(with(&|o| {
        o.remove("districtid");
    })
    .contains("`districtid` is missing"));
    assert!(with(&|o| {
        o.insert("time".into(), json!("yesterday"));
    })
    .contains("not RFC 3339"));
    assert!(with(&|o| {
        o.insert("data_base64".into(), json!("AAAA"));
    })
    .contains("data_base64"));
    assert!(with(&|o| {
        o.insert("datacontenttype".into(), json!("text/xml"));
    })
    .contains("is not JSON"));
    assert!(with(&|o| {
        o.insert("subject".into(), json!(7));
    })
    .contains("`subject` must be a string"));
    assert!(RawEnvelope::from_cloudevent(&json!([1, 2])).is_err());
}

#[test]
fn raw_envelopes_decode_into_any_event_or_a_concrete_type() {
    let raw = grade().to_raw().unwrap();
    let any = raw.decode_any::<AnyEvent>().unwrap();
    assert_eq!(any.name(), "gradebook.grade.posted");
    assert_eq!(any.event_type, "gradebook.grade.posted");
    assert_eq!(any.aggregate_type, "Result");
    match &any.payload {
        AnyEvent::GradebookGradePosted(p) => assert_eq!(p.student_id, "stu-789"),
        other => panic!("unexpected {other:?}"),
    }
    let typed = raw.decode::<gradebook::GradePosted>().unwrap();
    assert_eq!(typed, grade_with_id(&raw));
}

fn grade_with_id(raw: &RawEnvelope) -> Envelope<gradebook::GradePosted> {
    let mut g = grade();
    g.id = raw.id;
    g.metadata = raw.metadata.clone();
    g
}

#[test]
fn raw_decoding_errors_name_what_is_wrong() {
    let raw = grade().to_raw().unwrap();
    // Another event than the one asked for.
    let e = raw.decode::<attendance::RecordMarked>().unwrap_err();
    assert_eq!(
        e,
        DecodeError::WrongEvent {
            expected: "attendance.record.marked",
            found: "gradebook.grade.posted".into()
        }
    );
    // A version this build does not know.
    let mut v2 = raw.clone();
    v2.version = 2;
    assert!(matches!(
        v2.decode::<gradebook::GradePosted>().unwrap_err(),
        DecodeError::VersionMismatch {
            expected: 1,
            found: 2,
            ..
        }
    ));
    assert!(matches!(
        v2.decode_any::<AnyEvent>().unwrap_err(),
        DecodeError::VersionMismatch {
            expected: 1,
            found: 2,
            ..
        }
    ));
    // A typo in the name: unknown, with a suggestion.
    let mut typo = raw.clone();
    typo.event_type = "gradebook.grade.postd".into();
    let e = typo.decode_any::<AnyEvent>().unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown event `gradebook.grade.postd` (did you mean `gradebook.grade.posted`?)"
    );
    // A payload that does not match names the field.
    let mut bad = raw.clone();
    bad.payload = serde_json::value::to_raw_value(&json!({
        "resultId": "0b9c6f4e-3f1a-4c1e-9a55-6d2f1e7b8c90",
        "studentId": "s",
        "scorePercent": 1.0,
        "letterGrade": "E"
    }))
    .unwrap();
    match bad.decode::<gradebook::GradePosted>().unwrap_err() {
        DecodeError::InvalidPayload { event, field, .. } => {
            assert_eq!(event, "gradebook.grade.posted");
            assert_eq!(field, "letterGrade");
        }
        other => panic!("unexpected {other:?}"),
    }
    // Malformed row JSON.
    let e = RawEnvelope::from_json(r#"{"id":"x"}"#).unwrap_err();
    assert!(matches!(e, DecodeError::InvalidEnvelope { .. }), "{e}");
    let e = RawEnvelope::from_json("not json").unwrap_err();
    assert!(e.to_string().starts_with("invalid envelope"), "{e}");
    // Deserializing a typed envelope goes through the same checks.
    let err = serde_json::from_str::<Envelope<attendance::RecordMarked>>(&raw.to_json().unwrap())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("not the expected `attendance.record.marked`"),
        "{err}"
    );
}

#[test]
fn debug_output_redacts_pii() {
    let text = format!("{:?}", grade());
    assert!(text.contains("[redacted]"), "{text}");
    assert!(!text.contains("Strong thesis"), "{text}");
}

#[test]
fn caused_by_links_events_into_a_chain() {
    let cause = grade();
    let effect = grade().caused_by(&cause);
    assert_eq!(effect.metadata.causation_id, Some(cause.id));
    assert_eq!(effect.metadata.correlation_id.as_deref(), Some("req-42"));
    let mut root = grade();
    root.metadata.correlation_id = None;
    let next = grade().caused_by(&root);
    assert_eq!(next.metadata.correlation_id, Some(root.id.to_string()));
}

#[test]
fn any_event_envelopes_know_the_catalog() {
    assert_eq!(
        <AnyEvent as EventSet>::info("gradebook.grade.posted")
            .unwrap()
            .aggregate,
        "Result"
    );
}

#[test]
fn event_ids_are_v7_unique_across_threads_and_increasing_within_one() {
    let per_thread: Vec<Vec<Uuid>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    (0..20_000)
                        .map(|_| skillcore_events::new_event_id())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all = std::collections::HashSet::new();
    let now_ms = Utc::now().timestamp_millis() as u64;
    for ids in &per_thread {
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "strictly increasing on one thread"
        );
        for id in ids {
            assert_eq!(id.get_version_num(), 7);
            assert_eq!(id.get_variant(), skillcore_events::uuid::Variant::RFC4122);
            let (secs, nanos) = id.get_timestamp().unwrap().to_unix();
            let ms = secs * 1000 + (nanos / 1_000_000) as u64;
            assert!(
                ms.abs_diff(now_ms) < 60_000,
                "timestamp is the current time"
            );
            assert!(all.insert(*id), "duplicate id {id}");
        }
    }
    assert_eq!(all.len(), 80_000);
}
