//! Decode errors written from the catalog, not from the decoder's text.
//!
//! serde's messages quote the offending value (``unknown variant `X` ``,
//! ``invalid type: integer `987654321` ``, uuid and chrono parse errors quote
//! characters). Here only the *kind* of failure is taken from the decoder;
//! the message is written from the catalog entry of the field at the error's
//! path (its type as written, whether it or anything around it is pii) and
//! from the JSON value found there: a pii value is described by its JSON
//! kind alone, another by a short, escaped prefix.

use crate::quote;
use crate::{DecodeError, EventInfo, FieldInfo};
use serde_json::Value;
use serde_path_to_error::{Path, Segment};

/// The catalog's view of an error's path.
struct Site {
    /// The deepest catalog field on the path (None: the payload itself).
    field: Option<&'static FieldInfo>,
    /// The fields of the struct at the path (the payload's at the top).
    fields: &'static [FieldInfo],
    /// List indices after `field`.
    lists: usize,
    /// The field or one around it is pii.
    pii: bool,
    /// The path leaves what the catalog describes: treated as pii.
    beyond: bool,
}

fn resolve(info: &'static EventInfo, path: &[Segment]) -> Site {
    let mut site = Site {
        field: None,
        fields: info.fields,
        lists: 0,
        pii: false,
        beyond: false,
    };
    for seg in path {
        if site.beyond {
            break;
        }
        match seg {
            Segment::Map { key } => match site.fields.iter().find(|f| f.name == key) {
                Some(f) if site.field.is_none_or(|p| site.lists == p.list_depth()) => {
                    site.pii |= f.pii;
                    site.field = Some(f);
                    site.fields = f.fields;
                    site.lists = 0;
                }
                _ => site.beyond = true,
            },
            Segment::Seq { .. } => match site.field {
                Some(f) if site.lists < f.list_depth() => site.lists += 1,
                _ => site.beyond = true,
            },
            Segment::Enum { .. } | Segment::Unknown => site.beyond = true,
        }
    }
    site
}

/// The catalog type at `lists` list levels into a field's type.
fn element_type(f: &FieldInfo, lists: usize) -> String {
    if lists == 0 {
        return f.ty.to_string();
    }
    let base = f.base_type();
    let depth = f.list_depth().saturating_sub(lists);
    format!("{base}{}", "[]".repeat(depth))
}

fn value_at<'v>(value: &'v Value, path: &[Segment]) -> Option<&'v Value> {
    let mut v = value;
    for seg in path {
        v = match (seg, v) {
            (Segment::Map { key }, Value::Object(m)) => m.get(key)?,
            (Segment::Seq { index }, Value::Array(a)) => a.get(*index)?,
            _ => return None,
        };
    }
    Some(v)
}

/// What was found, for the message: the JSON kind, and for a value that may
/// be shown a short prefix of it.
fn found(v: &Value, hidden: bool) -> String {
    let shown = match v {
        Value::Null => return "null".into(),
        Value::Array(a) => return format!("a list of {} items", a.len()),
        Value::Object(m) => return format!("an object with {} fields", m.len()),
        _ if hidden => {
            let kind = match v {
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                _ => "a string",
            };
            return format!("{kind} (value hidden: pii)");
        }
        Value::Bool(b) => return format!("`{b}`"),
        Value::Number(n) => format!("the number `{}`", quote::short(&n.to_string())),
        Value::String(s) => format!("the string \"{}\"", quote::short(s)),
    };
    shown
}

/// The name quoted in serde's "missing field `x`" / "duplicate field `x`"
/// (a name from the catalog or a key of the input, never a value).
fn quoted_name<'m>(msg: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = msg.strip_prefix(prefix)?;
    rest.find('`').map(|end| &rest[..end])
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// A [`DecodeError`] for a payload of `info` that failed with `err` at `path`
/// (None: the payload as a whole); `value` is the payload when it parses.
pub(super) fn explain(
    info: &'static EventInfo,
    path: Option<&Path>,
    err: &serde_json::Error,
    value: Option<&Value>,
) -> DecodeError {
    let segments: Vec<Segment> = path
        .map(|p| p.iter().cloned().collect())
        .unwrap_or_default();
    let field = match path {
        Some(p) if !segments.is_empty() => quote::short(&p.to_string()),
        _ => String::new(),
    };
    let invalid = |field: String, message: String| DecodeError::InvalidPayload {
        event: info.name,
        field,
        message,
    };
    if !err.is_data() {
        // Syntax and end-of-input messages are fixed texts of serde_json that
        // quote nothing from the input.
        return invalid(field, strip_position(&err.to_string()));
    }
    let site = resolve(info, &segments);
    let msg = err.to_string();
    // The field is named by its full path, and in the message as serde does.
    for what in ["missing field", "duplicate field"] {
        if let Some(name) = quoted_name(&msg, &format!("{what} `")) {
            let name = quote::short(name);
            let message = match site.fields.iter().find(|f| f.name == name) {
                Some(f) => format!("{what} `{name}`, expected `{}`", f.ty),
                None => format!("{what} `{name}`"),
            };
            return invalid(join(&field, &name), message);
        }
    }
    let expected = match (site.field, site.beyond) {
        (_, true) => "a value the catalog describes".to_string(),
        (None, false) => format!("an object (the payload of `{}`)", info.name),
        (Some(f), false) => {
            let mut t = format!("`{}`", element_type(f, site.lists));
            // serde lists the allowed values (from the catalog) after the last
            // ", expected ": the offending value comes before it.
            if msg.starts_with("unknown variant `") {
                if let Some(at) = msg.rfind(", expected ") {
                    let allowed = strip_position(&msg[at + ", expected ".len()..]);
                    t = format!("{t} ({})", quote::bounded(&allowed, 200));
                }
            }
            t
        }
    };
    let message = match value.and_then(|v| value_at(v, &segments)) {
        // The payload as a whole (not an object) may be anything: hidden too.
        Some(v) => format!(
            "expected {expected}, found {}",
            found(v, site.pii || site.beyond || site.field.is_none())
        ),
        None => format!("expected {expected}"),
    };
    invalid(field, message)
}

// serde_json appends " at line 1 column 17"; the path says more.
pub(super) fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}
