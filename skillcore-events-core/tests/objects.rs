//! Generated structs decode from JSON objects only (issue 11, item 8): a
//! payload or a nested struct written as a JSON array (serde's positional
//! form) is refused, as the exported JSON Schema (`type: object`) and the
//! schema schemars derives refuse it.

use skillcore_events::__private::schemars;
use skillcore_events::serde_json::{self, json, Value};
use skillcore_events::{DecodeError, Event};
use skillcore_events_codegen::emit::schema;

mod events {
    skillcore_events::catalog!("tests/fixtures/pii.yaml");
}
use events::student::RecordUpdated;
use events::{AnyEvent, Guardian, Phone};

fn guardian() -> Value {
    json!({
        "name": "Ann",
        "phones": [{"number": "555", "kind": "cell"}],
        "relation": "aunt",
        "contactId": "0190b2a0-0000-7000-8000-000000000001",
        "priority": 1,
    })
}

fn payload() -> Value {
    json!({
        "studentId": "s-1",
        "score": 3.5,
        "level": "low",
        "tags": ["a"],
        "guardian": guardian(),
        "guardians": [guardian()],
    })
}

/// The object's values in field order: what serde's derived `visit_seq` takes.
fn positional(v: &Value, order: &[&str]) -> Value {
    Value::Array(
        order
            .iter()
            .map(|k| v.get(*k).cloned().unwrap_or(Value::Null))
            .collect(),
    )
}

fn guardian_positional() -> Value {
    positional(
        &guardian(),
        &[
            "name",
            "phones",
            "relation",
            "contactId",
            "priority",
            "diagnosis",
            "ssn",
            "token",
            "bornOn",
        ],
    )
}

fn payload_positional() -> Value {
    let order: Vec<&str> = RecordUpdated::info()
        .fields
        .iter()
        .map(|f| f.name)
        .collect();
    positional(&payload(), &order)
}

struct Judges {
    exported: jsonschema::Validator,
    derived: jsonschema::Validator,
}

fn judges() -> Judges {
    let text = std::fs::read_to_string("tests/fixtures/pii.yaml").unwrap();
    let compiled = skillcore_events_codegen::compile_str("pii.yaml", &text);
    assert!(compiled.is_ok(), "{}", compiled.render_diagnostics());
    let e = compiled.catalog.event(RecordUpdated::NAME).unwrap();
    let exported = schema::event_schema(
        &compiled.catalog,
        e,
        &skillcore_events_codegen::Settings::default(),
    )
    .to_value();
    let derived = serde_json::to_value(schemars::schema_for!(RecordUpdated)).unwrap();
    let build = |s: &Value| {
        jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(s)
            .unwrap()
    };
    Judges {
        exported: build(&exported),
        derived: build(&derived),
    }
}

/// (exported schema, schemars schema, serde from text, serde from value).
fn verdicts(j: &Judges, v: &Value) -> (bool, bool, bool, bool) {
    (
        j.exported.is_valid(v),
        j.derived.is_valid(v),
        serde_json::from_str::<RecordUpdated>(&v.to_string()).is_ok(),
        serde_json::from_value::<RecordUpdated>(v.clone()).is_ok(),
    )
}

#[test]
fn objects_decode_and_every_judge_agrees() {
    let j = judges();
    assert_eq!(verdicts(&j, &payload()), (true, true, true, true));
    let p: RecordUpdated = serde_json::from_value(payload()).unwrap();
    assert_eq!(p.guardians.as_ref().unwrap()[0].phones[0].kind, "cell");
    assert_eq!(
        serde_json::to_value(&p).unwrap(),
        payload(),
        "serializing is unchanged"
    );
}

#[test]
fn a_payload_written_as_an_array_is_refused_by_every_judge() {
    let j = judges();
    let arr = payload_positional();
    assert_eq!(verdicts(&j, &arr), (false, false, false, false), "{arr}");
    let e = serde_json::from_value::<RecordUpdated>(arr.clone()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid type: sequence, expected struct RecordUpdated"
    );
    match AnyEvent::from_json(RecordUpdated::NAME, &arr.to_string()).unwrap_err() {
        DecodeError::InvalidPayload { field, message, .. } => {
            assert_eq!(field, "");
            assert!(
                message.starts_with("expected an object (the payload of `student.record.updated`), found a list of 17 items"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_nested_struct_written_as_an_array_is_refused_by_every_judge() {
    let j = judges();
    for (pointer, field, ty) in [
        ("/guardian", "guardian", "`Guardian?`"),
        ("/guardians/0", "guardians[0]", "`Guardian`"),
    ] {
        let mut v = payload();
        *v.pointer_mut(pointer).unwrap() = guardian_positional();
        assert_eq!(
            verdicts(&j, &v),
            (false, false, false, false),
            "{pointer}: {v}"
        );
        match AnyEvent::from_value(RecordUpdated::NAME, v).unwrap_err() {
            DecodeError::InvalidPayload {
                field: f, message, ..
            } => {
                assert_eq!(f, field);
                assert_eq!(message, format!("expected {ty}, found a list of 9 items"));
            }
            other => panic!("{other:?}"),
        }
    }
    let mut v = payload();
    v["guardian"]["phones"][0] = json!(["555", "cell"]);
    assert_eq!(verdicts(&j, &v), (false, false, false, false));
    let e = serde_json::from_value::<Phone>(json!(["555", "cell"])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid type: sequence, expected struct Phone"
    );
    assert!(serde_json::from_value::<Guardian>(guardian()).is_ok());
}

#[test]
fn the_derived_schema_is_unchanged_by_the_objects_only_decoder() {
    // schemars reads the struct's own serde attributes: titles, required
    // fields and `$defs` names are those of the catalog's types.
    let s = serde_json::to_value(schemars::schema_for!(RecordUpdated)).unwrap();
    assert_eq!(s["title"], "student.record.updated");
    assert_eq!(s["type"], "object");
    let defs: Vec<&String> = s["$defs"].as_object().unwrap().keys().collect();
    assert_eq!(defs, ["Guardian", "Phone", "Severity"]);
    let required: Vec<&str> = s["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(required, ["studentId", "score", "level", "tags"]);
    assert_eq!(s["$defs"]["Guardian"]["type"], "object");
}
