//! What an event must be for every backend to store it, checked before an
//! append is grouped with anybody else's.
//!
//! PostgreSQL cannot store the character U+0000 (NUL) in `text` or `jsonb`,
//! while SQLite, the generated types and the JSON Schema all accept it. The
//! store refuses it on both backends, so an event stored on one can be stored
//! on the other, and so a NUL fails its own publish with an error that says
//! where it is, instead of the whole group commit it would have joined on
//! PostgreSQL. The error names the event and the field path, never the value
//! (it may be a pii field's).

use crate::group_commit::EventRow;
use crate::StoreError;
use serde_json::Value;

/// Why the store refuses an event before writing anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The event's id.
    pub event_id: String,
    /// The event's name.
    pub event_type: String,
    /// Where the offending text is: `payload.comment`, `payload.guardians[1].name`,
    /// `metadata.districtId`, `aggregateId`; a key of an object is named with `{key}`.
    pub field: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "event `{}` (id {}) was not stored: `{}` contains the character U+0000 (NUL), \
             which PostgreSQL cannot store in text or jsonb, so the store refuses it on every \
             backend; remove or replace the NUL character before publishing",
            self.event_type, self.event_id, self.field
        )
    }
}

/// Checks every row; the first refused one is the error.
pub(crate) fn check_rows(rows: &[EventRow]) -> Result<(), StoreError> {
    rows.iter().try_for_each(check_row)
}

fn check_row(row: &EventRow) -> Result<(), StoreError> {
    let refuse = |field: String| {
        Err(StoreError::Refused(Refused {
            // The id and type are shown in the message: keep them printable.
            event_id: row.id.replace('\0', "\\u0000"),
            event_type: row.event_type.replace('\0', "\\u0000"),
            field,
        }))
    };
    for (name, text) in [
        ("id", &row.id),
        ("eventType", &row.event_type),
        ("aggregateType", &row.aggregate_type),
        ("aggregateId", &row.aggregate_id),
        ("occurredAt", &row.occurred_at),
    ] {
        if text.contains('\0') {
            return refuse(name.to_string());
        }
    }
    if row.district_id.as_deref().is_some_and(|d| d.contains('\0')) {
        return refuse("metadata.districtId".to_string());
    }
    for (name, json) in [("payload", &row.payload), ("metadata", &row.metadata)] {
        if let Some(path) = nul_in_json(json, name) {
            return refuse(path);
        }
    }
    Ok(())
}

/// The path of the first string (or key) holding a NUL in JSON text, if any.
/// JSON text cannot hold a raw NUL byte, only the escape `\u0000`; text
/// without that escape is not parsed at all (the common case costs one scan).
fn nul_in_json(json: &str, root: &str) -> Option<String> {
    if !json.contains("\\u0000") {
        return None;
    }
    // `\\u0000` (an escaped backslash, then `u0000`) also matches: parse to know.
    let value: Value = serde_json::from_str(json).ok()?;
    let mut path = root.to_string();
    find_nul(&value, &mut path).then_some(path)
}

fn find_nul(value: &Value, path: &mut String) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().enumerate().any(|(i, v)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = find_nul(v, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        Value::Object(map) => map.iter().any(|(k, v)| {
            let len = path.len();
            if k.contains('\0') {
                // A key is a field name, not a value: shown escaped.
                path.push_str(&format!(".{{{}}}", k.escape_debug()));
                return true;
            }
            path.push('.');
            path.push_str(k);
            let found = find_nul(v, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_path_of_a_nul_and_ignores_an_escaped_backslash() {
        assert_eq!(nul_in_json(r#"{"a":"x"}"#, "payload"), None);
        assert_eq!(nul_in_json(r#"{"a":"\\u0000"}"#, "payload"), None);
        assert_eq!(
            nul_in_json(r#"{"a":"x","b":[{"c":"ok"},{"c":"n\u0000l"}]}"#, "payload").as_deref(),
            Some("payload.b[1].c")
        );
        assert_eq!(
            nul_in_json(r#"{"k\u0000":1}"#, "metadata").as_deref(),
            Some("metadata.{k\\0}")
        );
    }
}
