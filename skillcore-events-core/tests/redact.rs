//! `skillcore_events::redact`: pii hidden at every depth through the catalogs
//! linked into the binary, unknown fields and unknown events dropped.

mod pii {
    skillcore_events::catalog!("tests/fixtures/pii.yaml");
}
mod mini {
    skillcore_events::catalog!("tests/fixtures/mini.yaml");
}

use skillcore_events::redact::{redact_json, redact_value, RedactedPayload};
use skillcore_events::serde_json::{json, Value};

const EVENT: &str = "student.record.updated";

/// A payload whose every pii value (top level, nested, in lists, of every
/// field type) holds the marker.
pub fn marked_payload() -> Value {
    json!({
        "studentId": "s-1",
        "score": 3.5,
        "level": "low",
        "tags": ["a"],
        "extra": {"free": "form"},
        "comment": "SECRET-comment",
        "diagnosis": "SECRET-diagnosis",
        "ssn": "SECRET-ssn",
        "bornOn": "SECRET-born",
        "seenAt": "SECRET-seen",
        "token": "SECRET-token",
        "flagged": "SECRET-flag",
        "weight": "SECRET-weight",
        "notes": {"x": "SECRET-notes"},
        "guardian": {
            "name": "SECRET-name",
            "relation": "aunt",
            "contactId": "0190b2a0-0000-7000-8000-000000000001",
            "priority": 1,
            "phones": [{"number": "SECRET-phone", "kind": "cell"}],
            "diagnosis": "SECRET-gdiag",
            "bogus": "SECRET-unknown-nested",
        },
        "guardians": [
            {"name": "SECRET-list-name", "relation": "uncle", "phones": [
                {"number": "SECRET-list-phone", "kind": "home", "extension": 12}
            ]}
        ],
        "emergency": {"name": "SECRET-em", "relation": "SECRET-em-relation"},
        "unknownTop": "SECRET-unknown-top",
    })
}

#[test]
fn pii_is_redacted_at_every_depth_and_unknown_fields_are_dropped() {
    let out = redact_value(EVENT, &marked_payload());
    assert!(!out.to_string().contains("SECRET"), "{out}");
    assert_eq!(out["studentId"], "s-1");
    assert_eq!(out["score"], 3.5);
    assert_eq!(out["extra"], json!({"free": "form"}));
    assert_eq!(out["comment"], "[redacted]");
    assert_eq!(out["notes"], "[redacted]");
    assert_eq!(out["emergency"], "[redacted]");
    assert_eq!(out["[unknown fields hidden]"], 1);
    assert_eq!(
        out["guardian"],
        json!({
            "name": "[redacted]",
            "relation": "aunt",
            "contactId": "0190b2a0-0000-7000-8000-000000000001",
            "priority": 1,
            "phones": [{"number": "[redacted]", "kind": "cell"}],
            "diagnosis": "[redacted]",
            "[unknown fields hidden]": 1,
        })
    );
    assert_eq!(
        out["guardians"],
        json!([{"name": "[redacted]", "relation": "uncle", "phones": [
            {"number": "[redacted]", "kind": "home", "extension": 12}
        ]}])
    );
}

#[test]
fn an_event_no_catalog_knows_shows_no_field() {
    let out = redact_value("nobody.knows.this", &marked_payload());
    let text = out.to_string();
    assert!(
        !text.contains("SECRET") && !text.contains("studentId"),
        "{text}"
    );
    assert_eq!(
        out,
        json!({"[redacted]": "event in no linked catalog: 18 fields hidden"})
    );
}

#[test]
fn a_payload_that_is_not_an_object_is_hidden() {
    let out = redact_value(EVENT, &json!(["SECRET-positional", 1]));
    assert_eq!(
        out,
        json!("[redacted: the payload is a list, not an object]")
    );
}

#[test]
fn text_that_is_not_json_gives_its_length_only() {
    let out = redact_json(EVENT, "{\"comment\": \"SECRET");
    assert_eq!(
        out,
        r#""[redacted: a payload of 19 bytes that is not JSON]""#
    );
}

#[test]
fn redacted_payload_prints_the_redacted_json_in_debug_and_display() {
    let text = marked_payload().to_string();
    let p = RedactedPayload::new(EVENT, &text);
    let (debug, display) = (format!("{p:?}"), format!("{p}"));
    assert_eq!(debug, display);
    assert!(!debug.contains("SECRET"), "{debug}");
    let back: Value = serde_json::from_str(&display).unwrap();
    assert_eq!(back, redact_value(EVENT, &marked_payload()));
}

#[test]
fn every_linked_catalog_is_registered() {
    let mini = redact_json("gradebook.grade.posted", r#"{"resultId":"r","score":1}"#);
    assert_eq!(mini, r#"{"resultId":"r","score":1}"#);
}

#[test]
fn nested_field_infos_are_in_the_runtime_catalog() {
    let info = pii::event_info(EVENT).unwrap();
    let guardians = info.field("guardians").unwrap();
    assert_eq!(
        (guardians.ty, guardians.base_type(), guardians.list_depth()),
        ("Guardian[]?", "Guardian", 1)
    );
    let phones = guardians.field("phones").unwrap();
    assert!(phones.field("number").unwrap().pii);
    assert!(!phones.field("kind").unwrap().pii);
    assert!(info.field("score").unwrap().fields.is_empty());
    let _ = mini::EVENTS;
}
