//! Decoding untrusted JSON against a catalog compiled by `catalog!`
//! (fixtures/fuzz.yaml: nested struct types, enums, lists, pii fields):
//! `AnyEvent::from_json` for every event name, and `RawEnvelope::from_json` +
//! `decode_any`.
//!
//! Properties: no panic; what decodes re-encodes to JSON that decodes to the
//! same value; an envelope's row JSON reads back equal; `Debug` and error
//! messages format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skillcore_events::{EventSet, RawEnvelope};

mod events {
    skillcore_events::catalog!("fixtures/fuzz.yaml");
}
use events::AnyEvent;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for info in AnyEvent::events() {
        match AnyEvent::from_json(info.name, text) {
            Ok(ev) => {
                assert_eq!(ev.name(), info.name);
                let json = ev.to_json().expect("serializes");
                let back = AnyEvent::from_json(info.name, &json)
                    .unwrap_or_else(|e| panic!("own JSON {json} does not decode: {e}"));
                assert_eq!(back, ev, "{json}");
                let _ = format!("{ev:?}");
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
    match RawEnvelope::from_json(text) {
        Ok(raw) => {
            let _ = format!("{raw:?}");
            let row = raw.to_json().expect("serializes");
            let again = RawEnvelope::from_json(&row)
                .unwrap_or_else(|e| panic!("own row {row} does not read back: {e}"));
            assert_eq!(again, raw, "{row}");
            match raw.decode_any::<AnyEvent>() {
                Ok(env) => {
                    assert_eq!(env.event_type, raw.event_type);
                    assert_eq!(env.metadata, raw.metadata);
                    let json = env.payload.to_json().expect("serializes");
                    let round = AnyEvent::from_json(env.event_type, &json).unwrap_or_else(|e| {
                        panic!("re-encoded payload {json} does not decode: {e}")
                    });
                    assert_eq!(round, env.payload);
                }
                Err(e) => {
                    let _ = e.to_string();
                }
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
