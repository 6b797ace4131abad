//! Redacting payloads with the catalogs linked into the binary.
//!
//! Every `catalog!` expansion adds its runtime catalog (`EVENTS`) to a
//! link-time table, so code that holds nothing but an event name and payload
//! JSON (a stored event, a dead letter, a log line) can hide what the catalog
//! marks `pii: true`:
//!
//! - a pii field's value, at any depth (inside named struct types and lists
//!   of them), becomes the string `"[redacted]"`;
//! - a field no linked catalog knows is dropped, and the count of dropped
//!   fields is noted under the key `"[unknown fields hidden]"`;
//! - the payload of an event no linked catalog knows is dropped whole, and so
//!   is a payload that is not a JSON object;
//! - payload text that is not JSON is replaced by a note with its length.
//!
//! When several linked catalogs define the same event, a field is pii if any
//! of them says so, and known if any of them knows it.
//!
//! ```
//! mod events {
//!     skillcore_events::catalog!("tests/fixtures/pii.yaml");
//! }
//! use skillcore_events::redact::{redact_json, RedactedPayload};
//! use skillcore_events::serde_json::{json, Value};
//!
//! let json = r#"{"studentId":"s-1","comment":"SECRET","bogus":"SECRET",
//!               "guardians":[{"name":"SECRET","relation":"aunt"}]}"#;
//! let redacted: Value = serde_json::from_str(&redact_json("student.record.updated", json)).unwrap();
//! assert_eq!(redacted, json!({
//!     "studentId": "s-1",
//!     "comment": "[redacted]",
//!     "guardians": [{"name": "[redacted]", "relation": "aunt"}],
//!     "[unknown fields hidden]": 1,
//! }));
//! let shown = format!("{:?}", RedactedPayload::new("student.record.updated", json));
//! assert!(!shown.contains("SECRET"));
//! ```

use crate::{EventInfo, FieldInfo};
use serde_json::{Map, Value};
use std::fmt;

/// What a pii value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// The key under which the number of dropped unknown fields is noted.
pub const UNKNOWN_FIELDS_KEY: &str = "[unknown fields hidden]";

/// Nesting beyond this depth is hidden whole (the catalog's types are far
/// shallower; this bounds the work on hostile values).
const MAX_DEPTH: usize = 64;

/// The link-time table of every runtime catalog compiled into the binary
/// (filled by `catalog!`).
#[doc(hidden)]
#[linkme::distributed_slice]
pub static CATALOGS: [fn() -> &'static [EventInfo]];

/// Every linked catalog's entry for `event` (several when catalogs overlap).
pub fn event_infos(event: &str) -> Vec<&'static EventInfo> {
    let mut out = Vec::new();
    for catalog in CATALOGS.iter() {
        let events = catalog();
        // Catalogs are sorted by name; a linear scan stays correct if one is not.
        match events.binary_search_by(|e| e.name.cmp(event)) {
            Ok(i) => out.push(&events[i]),
            Err(_) => out.extend(events.iter().filter(|e| e.name == event)),
        }
    }
    out.dedup_by(|a, b| std::ptr::eq(*a, *b));
    out
}

/// The payload of `event` with every pii value replaced by `"[redacted]"` and
/// every field the linked catalogs do not know dropped (see the module docs).
pub fn redact_value(event: &str, payload: &Value) -> Value {
    redact_with(event, payload, None)
}

/// [`redact_value`] also counting `extra` (an entry the caller holds) as one
/// of the catalogs.
pub(crate) fn redact_with(
    event: &str,
    payload: &Value,
    extra: Option<&'static EventInfo>,
) -> Value {
    let mut infos = event_infos(event);
    if let Some(e) = extra.filter(|e| e.name == event) {
        if !infos.iter().any(|i| std::ptr::eq(*i, e)) {
            infos.push(e);
        }
    }
    if infos.is_empty() {
        return unknown_event_note(payload);
    }
    match payload {
        Value::Object(map) => {
            let sets: Vec<&'static [FieldInfo]> = infos.iter().map(|i| i.fields).collect();
            Value::Object(redact_object(map, &sets, 0))
        }
        other => Value::String(format!(
            "[redacted: the payload is {}, not an object]",
            kind(other)
        )),
    }
}

/// [`redact_value`] for payload text. Text that is not JSON gives a note with
/// its length in bytes, never the text.
pub fn redact_json(event: &str, payload_json: &str) -> String {
    match serde_json::from_str::<Value>(payload_json) {
        Ok(v) => redact_value(event, &v).to_string(),
        Err(_) => Value::String(format!(
            "[redacted: a payload of {} bytes that is not JSON]",
            payload_json.len()
        ))
        .to_string(),
    }
}

/// Payload text that prints (both `Debug` and `Display`) as its redacted JSON.
#[derive(Clone, Copy)]
pub struct RedactedPayload<'a> {
    event: &'a str,
    payload_json: &'a str,
}

impl<'a> RedactedPayload<'a> {
    /// Wraps the payload text of `event`.
    pub fn new(event: &'a str, payload_json: &'a str) -> Self {
        RedactedPayload {
            event,
            payload_json,
        }
    }
}

impl fmt::Display for RedactedPayload<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_json(self.event, self.payload_json))
    }
}

impl fmt::Debug for RedactedPayload<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A parsed payload that prints (both `Debug` and `Display`) as its redacted
/// JSON: for types that hold a [`Value`].
#[derive(Clone, Copy)]
pub struct RedactedValue<'a> {
    event: &'a str,
    payload: &'a Value,
}

impl<'a> RedactedValue<'a> {
    /// Wraps the payload of `event`.
    pub fn new(event: &'a str, payload: &'a Value) -> Self {
        RedactedValue { event, payload }
    }
}

impl fmt::Display for RedactedValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", redact_value(self.event, self.payload))
    }
}

impl fmt::Debug for RedactedValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn unknown_event_note(payload: &Value) -> Value {
    let what = match payload {
        Value::Object(m) => format!("{} fields", m.len()),
        other => kind(other).to_string(),
    };
    let mut note = Map::new();
    note.insert(
        REDACTED.to_string(),
        Value::String(format!("event in no linked catalog: {what} hidden")),
    );
    Value::Object(note)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The fields of an object, by the field sets of every catalog that knows it.
fn redact_object(
    map: &Map<String, Value>,
    sets: &[&'static [FieldInfo]],
    depth: usize,
) -> Map<String, Value> {
    let mut out = Map::new();
    let mut dropped = 0usize;
    for (key, value) in map {
        let matches: Vec<&'static FieldInfo> = sets
            .iter()
            .filter_map(|s| s.iter().find(|f| f.name == key))
            .collect();
        if matches.is_empty() {
            dropped += 1;
            continue;
        }
        let redacted = if matches.iter().any(|f| f.pii) {
            Value::String(REDACTED.to_string())
        } else if matches.iter().all(|f| f.base_type() == "json") {
            value.clone()
        } else {
            let nested: Vec<&'static [FieldInfo]> = matches.iter().map(|f| f.fields).collect();
            redact_nested(value, &nested, depth + 1)
        };
        out.insert(key.clone(), redacted);
    }
    if dropped > 0 {
        out.insert(UNKNOWN_FIELDS_KEY.to_string(), Value::from(dropped));
    }
    out
}

/// A non-pii field's value: objects (struct types) filtered by their fields,
/// lists element by element, scalars kept.
fn redact_nested(value: &Value, sets: &[&'static [FieldInfo]], depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return Value::String(REDACTED.to_string());
    }
    match value {
        Value::Object(map) => Value::Object(redact_object(map, sets, depth)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| redact_nested(v, sets, depth + 1))
                .collect(),
        ),
        scalar => scalar.clone(),
    }
}
