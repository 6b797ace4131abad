//! Decoding payloads by event name.

use crate::quote;
use std::fmt;

mod explain;
pub mod upcast;

/// Why a payload could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// No event of the catalog has this name.
    UnknownEvent {
        /// The name given.
        name: String,
        /// The closest catalog name, when one is close enough to be a typo.
        suggestion: Option<&'static str>,
    },
    /// The payload does not match the event's fields.
    InvalidPayload {
        /// The event whose payload was decoded.
        event: &'static str,
        /// Path of the offending field (`letterGrade`, `scores[2]`), empty for
        /// the payload as a whole.
        field: String,
        /// What was wrong: the catalog type expected and what was found. It
        /// never quotes the value of a pii field (one marked `pii: true`, or
        /// inside one), and of other values at most a short, escaped prefix.
        message: String,
    },
    /// The envelope around the payload is malformed: bad JSON, a missing or
    /// mistyped attribute, an unsupported CloudEvents feature.
    InvalidEnvelope {
        /// What was wrong.
        message: String,
    },
    /// The envelope holds a different event than the one asked for.
    WrongEvent {
        /// The event asked for.
        expected: &'static str,
        /// The event the envelope holds.
        found: String,
    },
    /// The envelope's payload version is not the one this build knows.
    VersionMismatch {
        /// The event.
        event: &'static str,
        /// The version in the catalog.
        expected: u32,
        /// The version in the envelope.
        found: u32,
    },
}

impl DecodeError {
    /// `true` for a payload of a newer version than this build knows: not
    /// corrupt, only early (a newer producer is deployed during a rolling
    /// upgrade), so handlers retry it instead of dead-lettering it at once.
    pub fn is_version_ahead(&self) -> bool {
        matches!(self, DecodeError::VersionMismatch { expected, found, .. } if found > expected)
    }

    /// An unknown-event error, with a suggestion from `known`. The name is
    /// kept as a bounded, escaped prefix.
    pub fn unknown_event(name: &str, known: &'static [&'static str]) -> Self {
        let suggestion = if name.len() > 256 {
            None
        } else {
            known
                .iter()
                .map(|k| (strsim::damerau_levenshtein(name, k), *k))
                .filter(|(d, k)| *d <= (k.len() / 3).max(1))
                .min()
                .map(|(_, k)| k)
        };
        DecodeError::UnknownEvent {
            name: quote::short(name),
            suggestion,
        }
    }

    /// A wrong-event error; the name found is kept as a bounded, escaped prefix.
    pub fn wrong_event(expected: &'static str, found: &str) -> Self {
        DecodeError::WrongEvent {
            expected,
            found: quote::short(found),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::UnknownEvent { name, suggestion } => {
                write!(f, "unknown event `{name}`")?;
                if let Some(s) = suggestion {
                    write!(f, " (did you mean `{s}`?)")?;
                }
                Ok(())
            }
            DecodeError::InvalidPayload {
                event,
                field,
                message,
            } if field.is_empty() => write!(f, "invalid payload for `{event}`: {message}"),
            DecodeError::InvalidPayload {
                event,
                field,
                message,
            } => write!(
                f,
                "invalid payload for `{event}`: field `{field}`: {message}"
            ),
            DecodeError::InvalidEnvelope { message } => write!(f, "invalid envelope: {message}"),
            DecodeError::WrongEvent { expected, found } => write!(
                f,
                "the envelope holds `{found}`, not the expected `{expected}`"
            ),
            DecodeError::VersionMismatch {
                event,
                expected,
                found,
            } if found > expected => write!(
                f,
                "`{event}` version {found} is newer than this build, which knows version {expected}: a newer producer is deployed; it is retried until a build that knows version {found} handles it"
            ),
            DecodeError::VersionMismatch {
                event,
                expected,
                found,
            } => write!(
                f,
                "`{event}` version {found} cannot be decoded: this build knows version {expected} and no released version {found} (see the catalog's lock file)"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes a payload; on failure decodes again, tracking the path, to name the
/// field (the fast path stays free of that bookkeeping).
pub fn decode_json<T: crate::Event>(json: &str) -> Result<T, DecodeError> {
    match serde_json::from_str(json) {
        Ok(v) => Ok(v),
        Err(first) => {
            let de = &mut serde_json::Deserializer::from_str(json);
            let tracked = serde_path_to_error::deserialize::<_, T>(de).err();
            // Without a tracked error only the end of the text failed (trailing
            // characters).
            let (path, err) = match &tracked {
                Some(e) => (Some(e.path()), e.inner()),
                None => (None, &first),
            };
            // The value at the path says what was found; only on this error path.
            let value = if err.is_data() {
                serde_json::from_str::<serde_json::Value>(json).ok()
            } else {
                None
            };
            Err(explain::explain(T::info(), path, err, value.as_ref()))
        }
    }
}

/// Like [`decode_json`] for an already parsed value.
pub fn decode_value<T: crate::Event>(value: serde_json::Value) -> Result<T, DecodeError> {
    // Deserializing from `&Value` keeps the value for the second, path-tracking pass.
    match T::deserialize(&value) {
        Ok(v) => Ok(v),
        Err(first) => {
            let tracked = serde_path_to_error::deserialize::<_, T>(&value).err();
            let (path, err) = match &tracked {
                Some(e) => (Some(e.path()), e.inner()),
                None => (None, &first),
            };
            Err(explain::explain(T::info(), path, err, Some(&value)))
        }
    }
}
