//! Every generated payload round-trips through JSON with its exact wire names:
//! the 208-event catalog `fixtures/big208.yaml` and SkillCore's own catalog.
//!
//! Each event is decoded by name with `AnyEvent::from_json` from JSON text and
//! encoded back with `to_json`; the two JSON values must be equal. Payloads come
//! from the catalogs' `examples:` (read with the codegen crate) and from a
//! payload synthesised from the event's fields, with every optional field set.

use serde_json::{json, Map, Value};
use skillcore_events::{DecodeError, Event, EventSet};
use skillcore_events_codegen::model::{BaseType, Catalog, EventDef, TypeKind, TypeRef};
use skillcore_events_codegen::Compiled;
use std::path::Path;
use std::sync::Arc;

/// The 208-event catalog, compiled by the macro like any user catalog.
mod big {
    skillcore_events::catalog!("fixtures/big208.yaml");
}

use skillcore_events_tests::skillcore;

fn load(rel: &str) -> Arc<Compiled> {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"));
    let c = skillcore_events_codegen::load(&base.join(rel), base);
    assert!(c.is_ok(), "{}", c.render_diagnostics());
    c
}

/// JSON equality up to what JSON itself does not distinguish: `85` and `85.0`
/// are the same number, and an optional field that is `null` is the same as one
/// that is absent.
fn normalize(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64().expect("finite")),
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), normalize(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A payload value of type `ty` with every optional part present.
fn synth(cat: &Catalog, ty: &TypeRef, seed: u64, depth: u32) -> Value {
    if ty.list_depth > 0 {
        let inner = TypeRef {
            base: ty.base.clone(),
            list_depth: ty.list_depth - 1,
            optional: false,
        };
        if depth > 3 {
            return json!([]);
        }
        return Value::Array(
            (0..2)
                .map(|k| synth(cat, &inner, seed * 2 + k, depth + 1))
                .collect(),
        );
    }
    match &ty.base {
        BaseType::String => json!(format!("s-{seed}")),
        BaseType::Int => json!(seed as i64 * 1_000_003 - 7),
        BaseType::Number => json!(seed as f64 + 0.25),
        BaseType::Bool => json!(seed % 2 == 1),
        BaseType::Uuid => json!(format!("{:08x}-1111-4222-8333-{:012x}", seed, seed * 97)),
        BaseType::DateTime => json!(format!(
            "2025-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            seed % 12 + 1,
            seed % 28 + 1,
            seed % 24,
            seed % 60,
            (seed * 7) % 60
        )),
        BaseType::Date => json!(format!("2024-02-{:02}", seed % 29 + 1)),
        BaseType::Json => json!({"nested": [1, "x", null, {"deep": true}], "n": seed}),
        BaseType::Named(n) => {
            let t = cat.named_type(n).expect("named type exists");
            match &t.kind {
                TypeKind::Enum(values) => json!(values[seed as usize % values.len()].value),
                TypeKind::Struct(fields) => object(cat, fields, seed, depth + 1),
            }
        }
    }
}

fn object(
    cat: &Catalog,
    fields: &[skillcore_events_codegen::model::Field],
    seed: u64,
    depth: u32,
) -> Value {
    let mut map = Map::new();
    for (i, f) in fields.iter().enumerate() {
        map.insert(
            f.name.clone(),
            synth(cat, &f.ty, seed * 31 + i as u64, depth),
        );
    }
    Value::Object(map)
}

/// Every payload to try for `e`: its examples, then a synthesised one.
fn payloads(cat: &Catalog, e: &EventDef, seed: u64) -> Vec<Value> {
    let mut out = e.examples.clone();
    out.push(object(cat, &e.fields, seed, 0));
    out
}

/// Decodes `payload` as event `name` with `decode`, re-encodes it with
/// `encode`, and checks the JSON is the same, wire names included.
fn round_trip<A>(
    name: &str,
    payload: &Value,
    decode: impl Fn(&str, &str) -> Result<A, DecodeError>,
    encode: impl Fn(&A) -> (String, &'static str),
) {
    let text = serde_json::to_string(payload).unwrap();
    let any = decode(name, &text).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
    let (back_text, back_name) = encode(&any);
    assert_eq!(back_name, name);
    let back: Value = serde_json::from_str(&back_text).unwrap();
    assert_eq!(
        normalize(&back),
        normalize(payload),
        "{name} did not round-trip:\n in: {text}\nout: {back_text}"
    );
    // Exact wire names: every key that went in comes back spelled the same
    // (absent only when it was null).
    let (Value::Object(sent), Value::Object(got)) = (payload, &back) else {
        panic!("payloads are objects")
    };
    for (k, v) in sent {
        assert!(
            got.contains_key(k) || v.is_null(),
            "{name}: field `{k}` did not come back; got keys {:?}",
            got.keys().collect::<Vec<_>>()
        );
    }
}

#[test]
fn every_big208_payload_round_trips() {
    let c = load("fixtures/big208.yaml");
    let cat = &c.catalog;
    assert_eq!(cat.events.len(), 208);
    assert_eq!(big::EVENTS.len(), 208);
    assert_eq!(big::names::ALL.len(), 208);
    let mut tried = 0;
    for (i, e) in cat.events.iter().enumerate() {
        assert_eq!(
            big::EVENTS[i].name,
            e.name,
            "EVENTS is sorted like the model"
        );
        assert_eq!(
            big::event_info(&e.name).map(|x| x.name),
            Some(e.name.as_str())
        );
        assert_eq!(e.examples.len(), 1, "{}", e.name);
        for p in payloads(cat, e, i as u64) {
            round_trip(&e.name, &p, big::AnyEvent::from_json, |a| {
                (a.to_json().unwrap(), a.name())
            });
            tried += 1;
        }
    }
    assert_eq!(tried, 416);
}

#[test]
fn every_skillcore_payload_round_trips() {
    let c = load("../catalog");
    let cat = &c.catalog;
    assert_eq!(skillcore::EVENTS.len(), cat.events.len());
    assert!(cat.events.len() >= 30);
    let mut examples = 0;
    for (i, e) in cat.events.iter().enumerate() {
        assert_eq!(skillcore::EVENTS[i].name, e.name);
        examples += e.examples.len();
        for p in payloads(cat, e, i as u64 + 1000) {
            round_trip(&e.name, &p, skillcore::AnyEvent::from_json, |a| {
                (a.to_json().unwrap(), a.name())
            });
        }
    }
    assert!(
        examples >= 20,
        "the catalog's examples were used ({examples})"
    );
}

#[test]
fn district_id_keeps_its_wire_name() {
    // JSON text written by hand, exact wire names.
    let text = r#"{
        "gradeId": "g-1",
        "districtID": "dst-222",
        "schoolId": "sch-333",
        "occurredAt": "2025-11-17T14:03:00Z",
        "studentId": "stu-789",
        "score": 42.5,
        "attempts": 3,
        "isLate": false
    }"#;
    let any = big::AnyEvent::from_json("gradebook.grade.created", text).unwrap();
    let big::AnyEvent::GradebookGradeCreated(p) = &any else {
        panic!("wrong variant: {any:?}")
    };
    assert_eq!(p.district_id, "dst-222");
    assert_eq!(p.aggregate_id(), "g-1");
    let out: Value = serde_json::from_str(&any.to_json().unwrap()).unwrap();
    assert_eq!(out["districtID"], "dst-222");
    assert!(out.get("districtId").is_none(), "{out}");
    assert_eq!(out, serde_json::from_str::<Value>(text).unwrap());

    // The naive spelling is not accepted in its place.
    let wrong = text.replace("districtID", "districtId");
    match big::AnyEvent::from_json("gradebook.grade.created", &wrong) {
        Err(DecodeError::InvalidPayload { event, message, .. }) => {
            assert_eq!(event, "gradebook.grade.created");
            assert!(message.contains("`districtID`"), "{message}");
        }
        other => panic!("expected a payload error, got {other:?}"),
    }
}

#[test]
fn decode_errors_name_the_event_and_the_field() {
    assert_eq!(
        big::AnyEvent::from_json("gradebook.grade.craeted", "{}"),
        Err(DecodeError::UnknownEvent {
            name: "gradebook.grade.craeted".into(),
            suggestion: Some("gradebook.grade.created"),
        })
    );
    let c = load("fixtures/big208.yaml");
    let e = c.catalog.event("gradebook.grade.updated").unwrap();
    let mut p = e.examples[0].clone();
    p["priority"] = json!("urgent");
    match big::AnyEvent::from_json(&e.name, &p.to_string()) {
        Err(DecodeError::InvalidPayload { event, field, .. }) => {
            assert_eq!(
                (event, field.as_str()),
                ("gradebook.grade.updated", "priority")
            );
        }
        other => panic!("expected a payload error, got {other:?}"),
    }
}

#[test]
fn skillcore_event_constants_match_the_catalog() {
    let c = load("../catalog");
    let e = c.catalog.event("gradebook.grade.posted").unwrap();
    use skillcore::gradebook::GradePosted;
    assert_eq!(GradePosted::NAME, e.name);
    assert_eq!(GradePosted::AGGREGATE, "Result");
    assert_eq!(GradePosted::AGGREGATE_ID_FIELD, "resultId");
    assert_eq!(
        skillcore::names::GRADEBOOK_GRADE_POSTED,
        "gradebook.grade.posted"
    );
    assert_eq!(
        <skillcore::AnyEvent as EventSet>::info("gradebook.grade.posted").map(|i| i.version),
        Some(e.version)
    );
    let info = GradePosted::info();
    let wire: Vec<&str> = info.fields.iter().map(|f| f.name).collect();
    let model: Vec<&str> = e.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(wire, model);
    assert_eq!(info.pii_fields().collect::<Vec<_>>(), ["comment"]);
}

#[test]
fn pii_is_redacted_in_debug_output() {
    let c = load("fixtures/big208.yaml");
    let e = c.catalog.event("gradebook.grade.archived").unwrap();
    let any = big::AnyEvent::from_value(&e.name, e.examples[0].clone()).unwrap();
    let debug = format!("{any:?}");
    // `guardianContact` is pii (and so is `email` inside `ContactPoint`).
    assert!(debug.contains("guardian_contact: [redacted]"), "{debug}");
    assert!(!debug.contains("guardian69@example.org"), "{debug}");
    assert!(debug.contains("student_id: \"s-74\""), "{debug}");
    let contact = big::ContactPoint {
        email: "someone@example.org".into(),
        phone: Some("+1-555-0100".into()),
    };
    let debug = format!("{contact:?}");
    assert!(!debug.contains("someone@example.org"), "{debug}");
    assert!(debug.contains("+1-555-0100"), "{debug}");
    // Serialization is not redacted: the payload is the payload.
    let json = any.to_value().unwrap();
    assert_eq!(json["guardianContact"]["email"], "guardian69@example.org");
}
