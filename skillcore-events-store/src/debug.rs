//! `Debug` of the types that hold a payload: the payload is printed redacted by
//! the catalogs linked into the binary (`skillcore_events::redact`): a pii
//! field's value at any depth becomes `"[redacted]"`, fields no catalog knows
//! are left out, and the payload of an event no catalog knows is hidden whole.
//! A `{:?}` in a log line, a panic message or a test failure never shows a
//! pii value.

use crate::{Claimed, DeadLetter, NewEvent, StoredEvent};
use skillcore_events::redact::RedactedValue;
use std::fmt;

impl fmt::Debug for NewEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewEvent")
            .field("id", &self.id)
            .field("event_type", &self.event_type)
            .field("aggregate_type", &self.aggregate_type)
            .field("aggregate_id", &self.aggregate_id)
            .field("version", &self.version)
            .field("occurred_at", &self.occurred_at)
            .field("metadata", &format_args!("{}", self.metadata))
            .field(
                "payload",
                &RedactedValue::new(&self.event_type, &self.payload),
            )
            .finish()
    }
}

impl fmt::Debug for StoredEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredEvent")
            .field("seq", &self.seq)
            .field("event", &self.event)
            .finish()
    }
}

impl fmt::Debug for DeadLetter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadLetter")
            .field("delivery_id", &self.delivery_id)
            .field("handler_id", &self.handler_id)
            .field("attempts", &self.attempts)
            .field("last_error", &self.last_error)
            .field("failed_at", &self.failed_at)
            .field("event", &self.event)
            .finish()
    }
}

impl fmt::Debug for Claimed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claimed")
            .field("delivery_id", &self.delivery_id)
            .field("handler_id", &self.handler_id)
            .field("attempt", &self.attempt)
            .field("replay", &self.replay)
            .field("already_handled", &self.already_handled)
            .field("expired_leases", &self.expired_leases)
            .field("lone_deaths", &self.lone_deaths)
            .field("unreadable", &self.unreadable)
            .field("event", &*self.event)
            .finish_non_exhaustive()
    }
}
