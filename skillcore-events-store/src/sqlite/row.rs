//! SQLite's rows of stored events and dead letters: text columns, parsed by
//! the one conversion of [`crate::row::EventColumns`].

use crate::row::EventColumns;
use crate::DeadLetter;

/// An event's columns, as `sql::EVENT_COLS` selects them.
#[derive(sqlx::FromRow)]
pub(super) struct EventRow {
    seq: i64,
    id: String,
    event_type: String,
    aggregate_type: String,
    aggregate_id: String,
    payload: String,
    metadata: String,
    version: i64,
    occurred_at: String,
}

impl From<EventRow> for EventColumns {
    fn from(r: EventRow) -> Self {
        EventColumns::from_text(
            r.seq,
            &r.id,
            r.event_type,
            r.aggregate_type,
            r.aggregate_id,
            &r.payload,
            &r.metadata,
            r.version,
            &r.occurred_at,
        )
    }
}

/// A dead letter: its delivery's columns and its event's.
#[derive(sqlx::FromRow)]
pub(super) struct DeadRow {
    delivery_id: i64,
    handler_id: String,
    attempts: i64,
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
            r.attempts,
            r.last_error,
            r.updated_at,
            r.event.into(),
        )
    }
}
