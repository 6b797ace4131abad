//! pii never leaves through decode errors, `Debug` or log lines (issue 11,
//! items 3 and 11): every pii value of the fixture holds a marker, and no
//! output may contain one.

use skillcore_events::backend::DynEnvelope;
use skillcore_events::serde_json::{self, json, Value};
use skillcore_events::{
    DeadLetter, DecodeError, Envelope, EventBus, HandlerError, HandlerOptions, Metadata,
    RawEnvelope, Scope,
};
use std::sync::{Arc, Mutex};

mod events {
    skillcore_events::catalog!("tests/fixtures/pii.yaml");
}
use events::AnyEvent;

const EVENT: &str = "student.record.updated";

/// What no output may contain: the markers of the payloads below.
const MARKERS: &[&str] = &["SECRET", "987654321", "555019912"];

fn assert_clean(what: &str, text: &str) {
    for m in MARKERS {
        assert!(!text.contains(m), "{what} shows pii marker {m}: {text}");
    }
}

/// A payload that decodes, with a marker in every pii value that can hold one
/// (strings, ints, json), at the top, inside struct types and in lists, plus
/// an unknown field holding one.
fn valid_marked() -> Value {
    json!({
        "studentId": "s-1",
        "score": 3.5,
        "level": "low",
        "tags": ["a"],
        "comment": "SECRET-comment",
        "ssn": 987654321,
        "notes": {"x": "SECRET-notes"},
        "guardian": {
            "name": "SECRET-name",
            "phones": [{"number": "SECRET-phone", "kind": "cell"}],
            "relation": "aunt",
            "contactId": "0190b2a0-0000-7000-8000-000000000001",
            "priority": 1,
            "ssn": 987654321,
        },
        "guardians": [{
            "name": "SECRET-list-name",
            "phones": [{"number": "SECRET-list-phone", "kind": "home"}],
            "relation": "uncle",
            "contactId": "0190b2a0-0000-7000-8000-000000000002",
            "priority": 2,
        }],
        "emergency": {
            "name": "SECRET-em",
            "phones": [],
            "relation": "SECRET-em-relation",
            "contactId": "0190b2a0-0000-7000-8000-000000000003",
            "priority": 3,
        },
        "unknownTop": "SECRET-unknown",
    })
}

/// The valid payload with `pointer` (a JSON pointer) set to `value`.
fn with(pointer: &str, value: Value) -> Value {
    let mut v = valid_marked();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let slot = v.pointer_mut(parent).expect("pointer into the payload");
    match slot {
        Value::Object(m) => {
            m.insert(key.to_string(), value);
        }
        Value::Array(a) => a[key.parse::<usize>().unwrap()] = value,
        _ => panic!("{pointer} is not in the payload"),
    }
    v
}

fn payload_error(payload: &Value) -> (String, String, String) {
    let text = payload.to_string();
    let errs = [
        AnyEvent::from_json(EVENT, &text).unwrap_err(),
        AnyEvent::from_value(EVENT, payload.clone()).unwrap_err(),
    ];
    let mut out = None;
    for e in errs {
        let shown = (e.to_string(), format!("{e:?}"));
        let DecodeError::InvalidPayload { field, message, .. } = e else {
            panic!("expected a payload error, got {e:?}");
        };
        // Text and value decoding say the same.
        if let Some((f, m, _)) = &out {
            assert_eq!((f, m), (&field, &message));
        }
        assert_clean("Display", &shown.0);
        assert_clean("Debug", &shown.1);
        out = Some((field, message, shown.0));
    }
    out.unwrap()
}

#[test]
fn a_decode_error_on_a_pii_field_names_path_and_type_but_not_the_value() {
    let cases: &[(&str, Value, &str, &str)] = &[
        // enum: serde quotes the unknown variant
        (
            "/diagnosis",
            json!("SECRET-diagnosis"),
            "diagnosis",
            "`Severity?`",
        ),
        (
            "/guardian/diagnosis",
            json!("SECRET-gdiag"),
            "guardian.diagnosis",
            "`Severity?`",
        ),
        (
            "/guardians/0/diagnosis",
            json!("SECRET-ldiag"),
            "guardians[0].diagnosis",
            "`Severity?`",
        ),
        // int: serde quotes a string, or an integer in a string field
        ("/ssn", json!("SECRET-ssn"), "ssn", "`int?`"),
        (
            "/guardian/ssn",
            json!("SECRET-gssn"),
            "guardian.ssn",
            "`int?`",
        ),
        (
            "/guardians/0/ssn",
            json!(9.87654321e8),
            "guardians[0].ssn",
            "`int?`",
        ),
        ("/comment", json!(987654321), "comment", "`string?`"),
        (
            "/guardian/name",
            json!(987654321),
            "guardian.name",
            "`string`",
        ),
        (
            "/guardians/0/phones/0/number",
            json!(555019912),
            "guardians[0].phones[0].number",
            "`string`",
        ),
        // uuid / date / datetime / bool / number: parse errors quote characters
        ("/token", json!("SECRET-token"), "token", "`uuid?`"),
        (
            "/guardian/token",
            json!("SECRET-0000-7000-8000-000000000001"),
            "guardian.token",
            "`uuid?`",
        ),
        (
            "/guardians/0/token",
            json!("987654321"),
            "guardians[0].token",
            "`uuid?`",
        ),
        ("/bornOn", json!("SECRET-born"), "bornOn", "`date?`"),
        (
            "/guardians/0/bornOn",
            json!("2020-13-987654321"),
            "guardians[0].bornOn",
            "`date?`",
        ),
        ("/seenAt", json!("SECRET-seen"), "seenAt", "`datetime?`"),
        ("/flagged", json!("SECRET-flag"), "flagged", "`bool?`"),
        ("/weight", json!("SECRET-weight"), "weight", "`number?`"),
        // a pii struct, and a non-pii field inside one
        ("/emergency", json!("SECRET-em"), "emergency", "`Guardian?`"),
        (
            "/emergency/relation",
            json!(987654321),
            "emergency.relation",
            "`string`",
        ),
        (
            "/emergency/phones",
            json!("SECRET-em-phones"),
            "emergency.phones",
            "`Phone[]`",
        ),
    ];
    for (pointer, bad, field, ty) in cases {
        let (f, message, shown) = payload_error(&with(pointer, bad.clone()));
        assert_eq!(&f, field, "{shown}");
        assert!(
            message.contains(&format!("expected {ty}")),
            "{pointer}: {shown}"
        );
        assert!(
            message.contains("(value hidden: pii)"),
            "{pointer}: {shown}"
        );
        assert!(shown.contains(&format!("field `{field}`")), "{shown}");
    }
}

#[test]
fn a_decode_error_on_a_plain_field_quotes_a_short_escaped_prefix() {
    let (f, m, _) = payload_error(&with("/guardian/relation", json!(12)));
    assert_eq!(
        (f.as_str(), m.as_str()),
        (
            "guardian.relation",
            "expected `string`, found the number `12`"
        )
    );
    let (f, m, _) = payload_error(&with("/level", json!("medium")));
    assert_eq!(f, "level");
    assert_eq!(
        m,
        "expected `Severity` (`low` or `high`), found the string \"medium\""
    );
    let (f, m, _) = payload_error(&with(
        "/guardians/0/phones/0/extension",
        json!("\u{1b}]0;PWNED\u{7}"),
    ));
    assert_eq!(f, "guardians[0].phones[0].extension");
    assert_eq!(
        m,
        "expected `int?`, found the string \"\\u{1b}]0;PWNED\\u{7}\""
    );
}

#[test]
fn a_huge_value_gives_a_bounded_message() {
    let huge = "9".repeat(20 * 1024 * 1024);
    let (f, m, shown) = payload_error(&with("/score", json!(huge)));
    assert_eq!(f, "score");
    assert!(
        shown.len() < 300,
        "{} bytes: {}",
        shown.len(),
        &shown[..300.min(shown.len())]
    );
    assert!(
        m.starts_with("expected `number`, found the string \"9999"),
        "{m}"
    );
    assert!(m.ends_with("… (20971520 bytes)\""), "{m}");
}

#[test]
fn missing_fields_and_a_wrong_payload_kind_name_what_was_expected() {
    let mut v = valid_marked();
    v["guardians"][0]
        .as_object_mut()
        .unwrap()
        .remove("relation");
    let (f, m, _) = payload_error(&v);
    assert_eq!(
        (f.as_str(), m.as_str()),
        (
            "guardians[0].relation",
            "missing field `relation`, expected `string`"
        )
    );
    let (f, m, _) = payload_error(&json!("SECRET-whole"));
    assert_eq!(f, "");
    assert_eq!(
        m,
        "expected an object (the payload of `student.record.updated`), found a string (value hidden: pii)"
    );
    let twice = r#"{"studentId":"s-1","studentId":"SECRET","score":1,"level":"low","tags":[]}"#;
    match AnyEvent::from_json(EVENT, twice).unwrap_err() {
        DecodeError::InvalidPayload { field, message, .. } => {
            assert_eq!(field, "studentId");
            assert_eq!(message, "duplicate field `studentId`, expected `string`");
        }
        other => panic!("{other:?}"),
    }
    let bad = AnyEvent::from_json(EVENT, "{\"comment\": \"SECRET").unwrap_err();
    assert_clean("syntax error", &bad.to_string());
}

fn typed() -> Envelope<events::student::RecordUpdated> {
    let payload = serde_json::from_value(valid_marked()).unwrap();
    Envelope::new(payload, Metadata::new("dst-1", "sch-1"))
}

fn raw(payload: &Value) -> RawEnvelope {
    let mut raw = typed().to_raw().unwrap();
    raw.payload = serde_json::value::to_raw_value(payload).unwrap();
    raw
}

#[test]
fn debug_of_every_payload_holder_redacts_nested_pii_and_unknown_fields() {
    let raw = raw(&valid_marked());
    let shown = format!("{raw:?}");
    assert_clean("RawEnvelope", &shown);
    assert!(shown.contains(r#""relation":"aunt""#), "{shown}");
    assert!(shown.contains(r#""[unknown fields hidden]":1"#), "{shown}");

    let letter = DeadLetter {
        id: skillcore_events::new_event_id().into(),
        handler_id: "x.h".into(),
        envelope: raw.clone(),
        attempts: 1,
        last_error: "boom".into(),
        failed_at: skillcore_events::chrono::Utc::now(),
    };
    assert_clean("DeadLetter", &format!("{letter:?}"));

    let dyn_raw = DynEnvelope::raw(raw.clone());
    let shown = format!("{dyn_raw:?}");
    assert_clean("DynEnvelope (raw)", &shown);
    assert!(shown.contains(r#""studentId":"s-1""#), "{shown}");
    let shown = format!("{:?}", DynEnvelope::new(typed()));
    assert_clean("DynEnvelope (typed)", &shown);
    assert!(shown.contains(r#""relation":"aunt""#), "{shown}");
    assert_clean("Envelope", &format!("{:?}", typed()));
}

/// Captures formatted log output of the current thread.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);
impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_at_trace_and_dead_letters_show_no_pii() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let bus = EventBus::builder()
        .log_events(true)
        .log_handlers(true)
        .subscribe_with::<events::student::RecordUpdated, _, _>(
            "x.fails",
            HandlerOptions::new().retries(0),
            |_, _| async { Err(HandlerError::msg("cannot update")) },
        )
        .build()
        .unwrap();
    // A payload that decodes, one with a bad pii value (decode error), one
    // with a bad nested value.
    bus.publish_raw(raw(&valid_marked())).await.unwrap();
    bus.publish_raw(raw(&with(
        "/guardians/0/diagnosis",
        json!("SECRET-diagnosis"),
    )))
    .await
    .unwrap();
    bus.publish_raw(raw(&with("/emergency/priority", json!("987654321"))))
        .await
        .unwrap();
    bus.idle().await;
    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("(pii redacted)"),
        "the payload is logged: {text}"
    );
    assert!(text.contains(r#""relation":"aunt""#), "{text}");
    assert!(text.contains("guardians[0].diagnosis"), "{text}");
    assert!(
        !text.contains("unknownTop"),
        "unknown fields are not logged: {text}"
    );
    assert_clean("log output", &text);
    let dead = bus.dead_letters(&Scope::AllDistricts).await.unwrap();
    assert_eq!(dead.len(), 3);
    for d in &dead {
        assert_clean("last_error", &d.last_error);
        assert_clean("dead letter Debug", &format!("{d:?}"));
    }
}

/// Every position that is pii (a pii field, or any field inside one), as a
/// JSON pointer into [`valid_marked`], from the runtime catalog.
fn pii_pointers() -> Vec<String> {
    fn walk(
        fields: &[skillcore_events::FieldInfo],
        at: &str,
        inside_pii: bool,
        out: &mut Vec<String>,
    ) {
        for f in fields {
            let here = format!("{at}/{}", f.name);
            let pii = inside_pii || f.pii;
            if pii {
                out.push(here.clone());
            }
            if !f.fields.is_empty() {
                // Into the object, or into the first element of a list.
                let inner = if f.list_depth() > 0 {
                    format!("{here}/0")
                } else {
                    here.clone()
                };
                walk(f.fields, &inner, pii, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        events::event_info(EVENT).unwrap().fields,
        "",
        false,
        &mut out,
    );
    out
}

#[test]
fn no_bad_value_at_any_pii_position_shows_in_an_error() {
    let pointers = pii_pointers();
    assert!(pointers.len() >= 20, "{pointers:?}");
    let bad = [
        json!("SECRET-text"),
        json!(987654321),
        json!(-987654321),
        json!(9.87654321e8),
        json!(true),
        json!({"k": "SECRET-in-object"}),
        json!(["SECRET-in-list", 987654321]),
        json!("2020-13-987654321"),
        json!("SECRET\u{1b}]0;x\u{7}"),
    ];
    let mut judged = 0;
    for pointer in &pointers {
        // A position inside a list or an absent optional parent: set the
        // parent up so the pointer exists.
        let Some(parent) = pointer.rsplit_once('/').map(|(p, _)| p) else {
            continue;
        };
        for value in &bad {
            let mut v = valid_marked();
            let Some(slot) = v.pointer_mut(parent) else {
                continue;
            };
            let key = pointer.rsplit_once('/').unwrap().1;
            match slot {
                Value::Object(m) => {
                    m.insert(key.to_string(), value.clone());
                }
                Value::Array(a) if !a.is_empty() => a[0] = value.clone(),
                _ => continue,
            }
            let text = v.to_string();
            for result in [
                AnyEvent::from_json(EVENT, &text),
                AnyEvent::from_value(EVENT, v.clone()),
            ] {
                if let Err(e) = result {
                    assert_clean(pointer, &e.to_string());
                    assert_clean(pointer, &format!("{e:?}"));
                    judged += 1;
                }
            }
        }
    }
    assert!(judged > 200, "only {judged} errors judged");
}
