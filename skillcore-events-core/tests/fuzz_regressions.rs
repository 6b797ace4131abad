//! Inputs found by the coverage-guided fuzzers (fuzz/, see fuzz/run.sh), kept
//! as regression tests in the normal suite.

use serde_json::{json, Value};
use skillcore_events::RawEnvelope;

fn cloudevent(data: Value) -> Value {
    json!({
        "specversion": "1.0",
        "id": "0b9c6f4e-3f1a-4c1e-9a55-6d2f1e7b8c90",
        "source": "urn:x",
        "type": "school.student.withdrawn",
        "subject": "s-1",
        "time": "2025-11-17T14:03:00Z",
        "districtid": "dst-1",
        "schoolid": "sch-1",
        "data": data
    })
}

/// fuzz/cloudevent, input `11e23`: the float read from the CloudEvent came
/// back 1 ULP off after `to_cloudevent` (serde_json's default float parser is
/// not correctly rounded), so a payload number changed on a round trip.
#[test]
fn floats_survive_a_cloudevent_round_trip_exactly() {
    for text in [
        "11e23",
        "1.1e24",
        "2.2250738585072014e-308",
        "0.30000000000000004",
        "9007199254740993.0",
        "123456789012345678e-5",
    ] {
        let data: Value = serde_json::from_str(text).unwrap();
        let raw = RawEnvelope::from_cloudevent(&cloudevent(data.clone())).unwrap();
        let back = RawEnvelope::from_cloudevent(&raw.to_cloudevent("urn:y")).unwrap();
        assert_eq!(back, raw, "{text}");
        let want: f64 = text.parse().unwrap();
        let got = back.payload_value().unwrap().as_f64().unwrap();
        assert_eq!(got.to_bits(), want.to_bits(), "{text}: {got} != {want}");
    }
}

/// The test above passes in this workspace whatever the runtime asks for,
/// because a dev-dependency (jsonschema) turns serde_json's `float_roundtrip`
/// on for every crate built with it; an application without it would get the
/// drift. So the runtime must ask for the feature itself.
#[test]
fn the_runtime_asks_for_exact_float_parsing_itself() {
    let manifest = include_str!("../Cargo.toml");
    let line = manifest
        .lines()
        .find(|l| l.starts_with("serde_json"))
        .expect("serde_json is a dependency");
    assert!(line.contains("\"float_roundtrip\""), "{line}");
}
