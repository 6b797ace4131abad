//! Dead letters: what every backend hands back for a delivery that failed
//! for good, addressed by one opaque id whatever the backend numbers it by.

use crate::envelope::RawEnvelope;
use chrono::{DateTime, Utc};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// A delivery that failed on every attempt (or was abandoned at shutdown).
#[derive(Clone, Debug, PartialEq)]
pub struct DeadLetter {
    /// Id of this dead letter: pass it to `EventBus::retry_dead_letter` or
    /// `EventBus::discard_dead_letter`.
    pub id: DeadLetterId,
    /// The handler that failed.
    pub handler_id: String,
    /// The event, payload as JSON.
    pub envelope: RawEnvelope,
    /// Attempts made.
    pub attempts: u32,
    /// The last attempt's error.
    pub last_error: String,
    /// When it was dead-lettered.
    pub failed_at: DateTime<Utc>,
}

/// The id of a [`DeadLetter`], opaque to callers: the in-process backend
/// names its letters by UUID, the durable store by the number of the
/// delivery row; both print and parse as text (a UUID, or a decimal number),
/// so an id shown by the CLI or a dashboard can be typed back.
///
/// ```
/// use skillcore_events::DeadLetterId;
/// let id: DeadLetterId = "42".parse().unwrap();
/// assert_eq!(id.to_string(), "42");
/// assert_eq!(id.as_number(), Some(42));
/// let u: DeadLetterId = "0190f6b2-7d1c-7c3a-8b11-1234567890ab".parse().unwrap();
/// assert!(u.as_uuid().is_some());
/// assert!("not an id".parse::<DeadLetterId>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeadLetterId(Repr);

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Repr {
    Number(i64),
    Uuid(Uuid),
}

impl DeadLetterId {
    /// An id a backend numbers its letters by (the durable store: the
    /// delivery row).
    pub const fn from_number(n: i64) -> Self {
        DeadLetterId(Repr::Number(n))
    }

    /// An id a backend names its letters by UUID (the in-process backend).
    pub const fn from_uuid(id: Uuid) -> Self {
        DeadLetterId(Repr::Uuid(id))
    }

    /// The number, when the backend numbers its letters.
    pub const fn as_number(&self) -> Option<i64> {
        match self.0 {
            Repr::Number(n) => Some(n),
            Repr::Uuid(_) => None,
        }
    }

    /// The UUID, when the backend names its letters by UUID.
    pub const fn as_uuid(&self) -> Option<Uuid> {
        match self.0 {
            Repr::Uuid(u) => Some(u),
            Repr::Number(_) => None,
        }
    }
}

impl fmt::Display for DeadLetterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Repr::Number(n) => write!(f, "{n}"),
            Repr::Uuid(u) => write!(f, "{u}"),
        }
    }
}

impl fmt::Debug for DeadLetterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeadLetterId({self})")
    }
}

/// Text that is neither a number nor a UUID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseDeadLetterIdError(());

impl fmt::Display for ParseDeadLetterIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a dead-letter id is a number (durable store) or a UUID (in-process bus)")
    }
}

impl std::error::Error for ParseDeadLetterIdError {}

impl FromStr for DeadLetterId {
    type Err = ParseDeadLetterIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(n) = s.parse::<i64>() {
            return Ok(DeadLetterId::from_number(n));
        }
        Uuid::parse_str(s)
            .map(DeadLetterId::from_uuid)
            .map_err(|_| ParseDeadLetterIdError(()))
    }
}

impl From<Uuid> for DeadLetterId {
    fn from(id: Uuid) -> Self {
        DeadLetterId::from_uuid(id)
    }
}

/// What `shutdown` achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShutdownReport {
    /// `true` when every in-flight handler finished before the deadline.
    pub completed: bool,
    /// Handler runs cut off at the deadline. In process each left a dead
    /// letter; on a durable backend each keeps its stored delivery, which
    /// runs again once its lease runs out (here or in another process).
    pub abandoned: usize,
}
