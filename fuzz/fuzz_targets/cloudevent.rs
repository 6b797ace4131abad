//! CloudEvents 1.0 conversion: `RawEnvelope::from_cloudevent` on arbitrary
//! JSON, and on a valid event whose attributes and data the input overrides
//! (so mutations explore one attribute at a time).
//!
//! Properties: no panic; an envelope read from a CloudEvent converts back to a
//! CloudEvent that reads to the same envelope, and through the row JSON too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use skillcore_events::RawEnvelope;

mod events {
    skillcore_events::catalog!("fixtures/fuzz.yaml");
}
use events::AnyEvent;

fn round_trip(event: &Value) {
    let Ok(raw) = RawEnvelope::from_cloudevent(event) else {
        return;
    };
    let _ = format!("{raw:?}");
    let ce = raw.to_cloudevent("urn:skillcore:fuzz");
    let back = RawEnvelope::from_cloudevent(&ce)
        .unwrap_or_else(|e| panic!("own CloudEvent {ce} does not read back: {e}"));
    assert_eq!(back, raw, "{ce}");
    let row = raw.to_json().expect("serializes");
    let again = RawEnvelope::from_json(&row)
        .unwrap_or_else(|e| panic!("row {row} of a CloudEvent does not read back: {e}"));
    assert_eq!(again, raw, "{row}");
    // What decodes from the CloudEvent decodes alike from its re-read form.
    match (raw.decode_any::<AnyEvent>(), back.decode_any::<AnyEvent>()) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.payload, b.payload);
            assert_eq!(
                (a.id, a.occurred_at, a.version),
                (b.id, b.occurred_at, b.version)
            );
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!("decoding differs after a round trip: {a:?} / {b:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    round_trip(&input);
    let mut event = json!({
        "specversion": "1.0",
        "id": "0b9c6f4e-3f1a-4c1e-9a55-6d2f1e7b8c90",
        "source": "urn:x",
        "type": "school.student.withdrawn",
        "subject": "0b9c6f4e-3f1a-4c1e-9a55-6d2f1e7b8c91",
        "time": "2025-11-17T14:03:00Z",
        "datacontenttype": "application/json",
        "dataschema": "https://schemas.skillcore.dev/events/school.student.withdrawn.v2.schema.json",
        "aggregatetype": "Student",
        "districtid": "dst-1",
        "schoolid": "sch-1",
        "data": {"studentId": "0b9c6f4e-3f1a-4c1e-9a55-6d2f1e7b8c91", "contact": {"email": "a@b", "kind": "low"}}
    });
    match input {
        Value::Object(o) => {
            for (k, v) in o {
                if v.is_null() {
                    event.as_object_mut().unwrap().remove(&k);
                } else {
                    event[k] = v;
                }
            }
        }
        other => event["data"] = other,
    }
    round_trip(&event);
});
