//! Payloads as a viewer may see them: whole with the `pii` grant, else with
//! every value the catalog marks `pii: true` replaced by `[redacted]` and
//! every field no catalog knows dropped.

use crate::access::Grant;
use crate::App;
use serde_json::{Map, Value};
use skillcore_events::redact::{redact_value, REDACTED, UNKNOWN_FIELDS_KEY};
use skillcore_events::FieldInfo;

/// The payload of `event` as `grant` may see it. The configured catalog is
/// used when it has the event (a catalog read at run time by the CLI is not
/// linked into the binary); else the catalogs linked in
/// (`skillcore_events::redact`), which drop an unknown event's payload whole.
pub(crate) fn payload(app: &App, grant: &Grant, event: &str, payload: &Value) -> Value {
    if grant.pii {
        return payload.clone();
    }
    match app.config.event(event) {
        Some(info) => match payload {
            Value::Object(map) => Value::Object(object(map, info.fields, 0)),
            _ => Value::String("[redacted: the payload is not an object]".into()),
        },
        None => redact_value(event, payload),
    }
}

fn object(map: &Map<String, Value>, fields: &[FieldInfo], depth: usize) -> Map<String, Value> {
    let mut out = Map::new();
    let mut hidden = 0;
    for (k, v) in map {
        match fields.iter().find(|f| f.name == k) {
            None => hidden += 1,
            Some(f) if f.pii => {
                out.insert(k.clone(), Value::String(REDACTED.into()));
            }
            Some(f) if !f.fields.is_empty() => {
                out.insert(k.clone(), nested(v, f.fields, depth + 1));
            }
            Some(_) => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    if hidden > 0 {
        out.insert(UNKNOWN_FIELDS_KEY.into(), Value::from(hidden));
    }
    out
}

fn nested(v: &Value, fields: &[FieldInfo], depth: usize) -> Value {
    if depth > 64 {
        return Value::String(REDACTED.into());
    }
    match v {
        Value::Object(m) => Value::Object(object(m, fields, depth)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|i| nested(i, fields, depth + 1)).collect())
        }
        other => other.clone(),
    }
}
