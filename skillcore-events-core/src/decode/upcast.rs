//! Decoding a payload by the version it was written as.
//!
//! `catalog!` generates, for every event with released older versions (in the
//! catalog's lock file), an upcast chain: one step per version, each turning a
//! payload of the version before into one of its own. A step that follows from
//! the catalog's declarations (renames, defaults, added optional fields,
//! removed fields, safe widenings) works on the JSON with the helpers below; a
//! step that does not (a type change) decodes the older version's generated
//! type and calls the function the catalog names under `upcast:`. The chain's
//! end is decoded into the current type as usual, so errors name fields of the
//! current type and never quote pii.

use super::DecodeError;
use crate::Event;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

/// What [`Event::decode_version`] does for an event without older released
/// versions: its own version decodes; a newer one decodes as this one only
/// when the event's compatibility mode says old readers read new payloads
/// ([`Event::READS_NEWER`]); anything else is a [`DecodeError::VersionMismatch`].
pub fn decode_current<T: Event>(version: u32, json: &str) -> Result<T, DecodeError> {
    check_version::<T>(version, &[])?;
    super::decode_json::<T>(json)
}

/// Fails unless `version` is `T::VERSION`, one of `older` (released versions
/// with an upcast path), or newer and readable as the current one.
pub fn check_version<T: Event>(version: u32, older: &[u32]) -> Result<(), DecodeError> {
    if version == T::VERSION || older.contains(&version) || (version > T::VERSION && T::READS_NEWER)
    {
        Ok(())
    } else {
        Err(DecodeError::VersionMismatch {
            event: T::NAME,
            expected: T::VERSION,
            found: version,
        })
    }
}

/// Parses a payload for the chain; a syntax error is reported as the current
/// type's decoder reports it.
pub fn parse<T: Event>(json: &str) -> Result<Value, DecodeError> {
    match serde_json::from_str(json) {
        Ok(v) => Ok(v),
        Err(e) => Err(super::decode_json::<T>(json).err().unwrap_or_else(|| {
            DecodeError::InvalidPayload {
                event: T::NAME,
                field: String::new(),
                message: format!("not JSON: {}", e.classify_text()),
            }
        })),
    }
}

trait ClassifyText {
    fn classify_text(&self) -> &'static str;
}

impl ClassifyText for serde_json::Error {
    fn classify_text(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "data error",
            serde_json::error::Category::Eof => "unexpected end",
        }
    }
}

/// The object of a payload, if it is one (a non-object fails later, in the
/// current type's decoder, with its usual message).
pub fn object(v: &mut Value) -> Option<&mut Map<String, Value>> {
    v.as_object_mut()
}

/// A declared rename: moves `from` to `to` unless `to` is already there.
pub fn rename(m: &mut Map<String, Value>, from: &str, to: &str) {
    if !m.contains_key(to) {
        if let Some(v) = m.remove(from) {
            m.insert(to.to_string(), v);
        }
    }
}

/// A declared default: fills `name` in from `json` (the default's JSON text,
/// checked against the field's type when the catalog was compiled) when it is
/// missing, or `null` for a required field (`nullable == false`).
pub fn fill_default(m: &mut Map<String, Value>, name: &str, json: &str, nullable: bool) {
    let missing = match m.get(name) {
        None => true,
        Some(Value::Null) => !nullable,
        Some(_) => false,
    };
    if missing {
        // The text was produced by the compiler from a valid value, so it
        // parses; were it ever not to, the field stays missing and the
        // current type's decoder reports it.
        if let Ok(v) = serde_json::from_str(json) {
            m.insert(name.to_string(), v);
        }
    }
}

/// Applies `step` to the value of field `name` (a struct value, or lists of
/// them `depth` deep), for steps inside named struct types.
pub fn nested(m: &mut Map<String, Value>, name: &str, depth: u8, step: fn(&mut Value)) {
    if let Some(v) = m.get_mut(name) {
        each(v, depth, step);
    }
}

fn each(v: &mut Value, depth: u8, step: fn(&mut Value)) {
    if depth == 0 {
        step(v);
    } else if let Value::Array(items) = v {
        for i in items {
            each(i, depth - 1, step);
        }
    }
}

/// A payload that does not match version `from`'s type: an
/// [`DecodeError::InvalidPayload`] naming the field but quoting no value
/// (older types carry no pii map, so nothing of the payload is shown).
fn old_mismatch<T: Event>(field: String, from: u32) -> DecodeError {
    DecodeError::InvalidPayload {
        event: T::NAME,
        field,
        message: format!(
            "does not match version {from} of the payload, which the catalog's upcaster takes"
        ),
    }
}

/// Decodes a payload written as version `from` into that version's generated
/// type `A` (the first step of its chain is hand-written).
pub fn decode_old<T: Event, A: DeserializeOwned>(json: &str, from: u32) -> Result<A, DecodeError> {
    match serde_json::from_str(json) {
        Ok(a) => Ok(a),
        Err(_) => {
            let de = &mut serde_json::Deserializer::from_str(json);
            let field = serde_path_to_error::deserialize::<_, A>(de)
                .err()
                .map(|e| e.path().to_string())
                .unwrap_or_default();
            Err(old_mismatch::<T>(field, from))
        }
    }
}

fn old_from_value<T: Event, A: DeserializeOwned>(v: &Value, from: u32) -> Result<A, DecodeError> {
    match A::deserialize(v) {
        Ok(a) => Ok(a),
        Err(_) => {
            let field = serde_path_to_error::deserialize::<_, A>(v)
                .err()
                .map(|e| e.path().to_string())
                .unwrap_or_default();
            Err(old_mismatch::<T>(field, from))
        }
    }
}

/// A hand-written step's result as JSON, for the steps after it.
pub fn to_step_value<T: Event, B: Serialize>(b: &B, from: u32) -> Result<Value, DecodeError> {
    serde_json::to_value(b).map_err(|_| DecodeError::InvalidPayload {
        event: T::NAME,
        field: String::new(),
        message: format!("the upcaster from version {from} returned a value that is not JSON"),
    })
}

/// A hand-written step in the middle of the chain: decodes the payload as
/// version `from` (its generated type `A`), calls `f`, and gives back the
/// result as JSON for the next step.
pub fn typed_step<T: Event, A: DeserializeOwned, B: Serialize>(
    v: Value,
    from: u32,
    f: fn(A) -> B,
) -> Result<Value, DecodeError> {
    let b = f(old_from_value::<T, A>(&v, from)?);
    to_step_value::<T, B>(&b, from)
}

/// A hand-written last step: its result is the current type itself.
pub fn typed_last<T: Event, A: DeserializeOwned>(
    v: Value,
    from: u32,
    f: fn(A) -> T,
) -> Result<T, DecodeError> {
    Ok(f(old_from_value::<T, A>(&v, from)?))
}

/// The end of the chain: the payload, now of the current version, decoded
/// into `T`.
pub fn finish<T: Event>(v: Value) -> Result<T, DecodeError> {
    super::decode_value::<T>(v)
}
