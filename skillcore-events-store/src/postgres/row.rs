//! PostgreSQL's rows of stored events and dead letters: typed columns (a
//! `uuid`, a `timestamptz`, `jsonb`), put through the one conversion of
//! [`crate::row::EventColumns`].

use crate::row::EventColumns;
use crate::DeadLetter;
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

/// An event's columns, as `sql::EVENT_COLS` selects them.
#[derive(sqlx::FromRow)]
pub(super) struct EventRow {
    seq: i64,
    id: Uuid,
    event_type: String,
    aggregate_type: String,
    aggregate_id: String,
    payload: Value,
    metadata: Value,
    version: i32,
    occurred_at: DateTime<Utc>,
    /// The writing transaction.
    pub tx: i64,
}

impl EventRow {
    pub fn seq(&self) -> i64 {
        self.seq
    }
}

impl From<EventRow> for EventColumns {
    fn from(r: EventRow) -> Self {
        EventColumns {
            seq: r.seq,
            id: Ok(r.id),
            event_type: r.event_type,
            aggregate_type: r.aggregate_type,
            aggregate_id: r.aggregate_id,
            payload: Ok(r.payload),
            metadata: Ok(r.metadata),
            version: i64::from(r.version),
            occurred_at: Ok(r.occurred_at),
        }
    }
}

/// A dead letter: its delivery's columns and its event's.
#[derive(sqlx::FromRow)]
pub(super) struct DeadRow {
    delivery_id: i64,
    handler_id: String,
    attempts: i32,
    last_error: Option<String>,
    updated_at: i64,
    #[sqlx(flatten)]
    event: EventRow,
}

impl From<DeadRow> for DeadLetter {
    fn from(r: DeadRow) -> Self {
        crate::row::dead_letter(
            r.delivery_id,
            r.handler_id,
            i64::from(r.attempts),
            r.last_error,
            r.updated_at,
            r.event.into(),
        )
    }
}
