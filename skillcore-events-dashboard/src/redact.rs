//! Payloads as a viewer may see them: whole with the `pii` grant, else with
//! every value the catalog marks `pii: true` replaced by `[redacted]` and
//! every field no catalog knows dropped.

use crate::access::Grant;
use crate::App;
use serde_json::{Map, Value};
use skillcore_events::redact::{redact_value, REDACTED, UNKNOWN_FIELDS_KEY};
use skillcore_events::{EventInfo, FieldInfo};

/// The payload of `event` as `grant` may see it. The configured catalog is
/// used when it has the event (a catalog read at run time by the CLI is not
/// linked into the binary); else the catalogs linked in
/// (`skillcore_events::redact`), which drop an unknown event's payload whole.
pub(crate) fn payload(app: &App, grant: &Grant, event: &str, payload: &Value) -> Value {
    if grant.pii {
        return payload.clone();
    }
    redacted(app.config.event(event), event, payload)
}

/// The payload without pii: by `info` when given, else by the linked catalogs.
fn redacted(info: Option<&EventInfo>, event: &str, payload: &Value) -> Value {
    match info {
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

#[cfg(test)]
mod tests {
    use super::redacted;
    use serde_json::json;
    use skillcore_events::{EventInfo, FieldInfo};

    // A catalog read at run time (the CLI's `--catalog`): not linked, so
    // `skillcore_events::redact` does not know it.
    static GUARDIAN: [FieldInfo; 2] = [
        FieldInfo::new("name", "name", "string", false, true, ""),
        FieldInfo::new("relation", "relation", "string", false, false, ""),
    ];
    static FIELDS: [FieldInfo; 3] = [
        FieldInfo::new("studentId", "student_id", "string", false, false, ""),
        FieldInfo::new("note", "note", "string?", true, true, ""),
        FieldInfo::new("guardians", "guardians", "Guardian[]", false, false, "")
            .with_fields(&GUARDIAN),
    ];
    static INFO: EventInfo = EventInfo {
        name: "runtime.only.event",
        context: "runtime",
        aggregate: "Only",
        action: "event",
        version: 1,
        aggregate_id: "studentId",
        description: "",
        fields: &FIELDS,
        handlers: &[],
    };

    #[test]
    fn a_run_time_catalog_redacts_at_every_depth() {
        let p = json!({"studentId": "s-1", "note": "SECRET", "extra": "SECRET",
                       "guardians": [{"name": "SECRET", "relation": "aunt"}]});
        let r = redacted(Some(&INFO), INFO.name, &p);
        assert_eq!(
            r,
            json!({"studentId": "s-1", "note": "[redacted]",
                             "guardians": [{"name": "[redacted]", "relation": "aunt"}],
                             "[unknown fields hidden]": 1})
        );
        // Without that catalog the event is unknown: its payload is dropped whole.
        assert!(!redacted(None, INFO.name, &p).to_string().contains("SECRET"));
    }
}
