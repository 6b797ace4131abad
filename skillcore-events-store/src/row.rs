//! Rows in and out of both dialects: the `skc_events` rows an append writes
//! (from [`NewEvent`]s or the bus's envelopes, with the handlers each event
//! is delivered to), and the one conversion of stored columns to a
//! [`StoredEvent`], which the dialects' row types and the claims' JSON all
//! go through.

use crate::group_commit::EventRow;
use crate::shared::{micros, parse_json, parse_ts, ts_text};
use crate::{Claimed, DeadLetter, NewEvent, Result, StoreError, StoredEvent, Subscriber};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::sync::Arc;
use uuid::Uuid;

/// The rows of `events`, each with the handlers `subscribers` gives its type.
pub(crate) fn event_rows<'s, F>(events: &[NewEvent], subscribers: &F) -> Vec<EventRow>
where
    F: Fn(&str) -> Vec<Subscriber<'s>> + ?Sized,
{
    let mut routes = Routes::default();
    events
        .iter()
        .map(|ev| EventRow {
            id: ev.id.to_string(),
            event_type: ev.event_type.clone(),
            aggregate_type: ev.aggregate_type.clone(),
            aggregate_id: ev.aggregate_id.clone(),
            district_id: ev.district_id().map(str::to_string),
            payload: ev.payload.to_string(),
            metadata: ev.metadata.to_string(),
            version: ev.version as i64,
            occurred_at: ts_text(&ev.occurred_at),
            handlers: routes.of(&ev.event_type, subscribers),
        })
        .collect()
}

/// The rows of envelopes as the bus hands them over: the payload is stored
/// as the JSON text it already is, not parsed and encoded again.
pub(crate) fn raw_rows<'s, F>(
    envelopes: &[skillcore_events::RawEnvelope],
    subscribers: &F,
) -> Result<Vec<EventRow>>
where
    F: Fn(&str) -> Vec<Subscriber<'s>> + ?Sized,
{
    let mut routes = Routes::default();
    let mut rows = Vec::with_capacity(envelopes.len());
    for e in envelopes {
        rows.push(EventRow {
            id: e.id.to_string(),
            event_type: e.event_type.clone(),
            aggregate_type: e.aggregate_type.clone(),
            aggregate_id: e.aggregate_id.clone(),
            district_id: Some(e.metadata.district_id.clone()),
            payload: e.payload.get().to_string(),
            metadata: serde_json::to_string(&e.metadata).map_err(StoreError::Encode)?,
            version: e.version as i64,
            occurred_at: ts_text(&e.occurred_at),
            handlers: routes.of(&e.event_type, subscribers),
        });
    }
    Ok(rows)
}

/// The handlers of each event type as the JSON the store records
/// (`[[handler_id, ordered], ...]`), built once per type per call.
#[derive(Default)]
struct Routes {
    known: Vec<(String, Option<String>)>,
}

impl Routes {
    fn of<'s, F>(&mut self, event_type: &str, subscribers: &F) -> Option<String>
    where
        F: Fn(&str) -> Vec<Subscriber<'s>> + ?Sized,
    {
        if let Some((_, r)) = self.known.iter().find(|(t, _)| t == event_type) {
            return r.clone();
        }
        let subs = subscribers(event_type);
        let json = (!subs.is_empty()).then(|| {
            let list: Vec<(&str, bool)> = subs.iter().map(|s| (s.handler_id, s.ordered)).collect();
            serde_json::to_string(&list).unwrap_or_default()
        });
        self.known.push((event_type.to_string(), json.clone()));
        json
    }
}

/// The columns of one stored event as a dialect has read them: a column it
/// could not read as what it should be (payload or metadata that is no longer
/// JSON, a bad id or time) is the error in its place.
pub(crate) struct EventColumns {
    pub seq: i64,
    pub id: Result<Uuid>,
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub payload: Result<Value>,
    pub metadata: Result<Value>,
    pub version: i64,
    pub occurred_at: Result<DateTime<Utc>>,
}

impl EventColumns {
    /// The columns from their text (SQLite rows, and claims on both backends).
    #[allow(clippy::too_many_arguments)]
    pub fn from_text(
        seq: i64,
        id: &str,
        event_type: String,
        aggregate_type: String,
        aggregate_id: String,
        payload: &str,
        metadata: &str,
        version: i64,
        occurred_at: &str,
    ) -> EventColumns {
        EventColumns {
            seq,
            id: Uuid::parse_str(id).map_err(|e| StoreError::Corrupt(format!("id `{id}`: {e}"))),
            event_type,
            aggregate_type,
            aggregate_id,
            payload: parse_json(payload, "payload"),
            metadata: parse_json(metadata, "metadata"),
            version,
            occurred_at: parse_ts(occurred_at),
        }
    }

    /// The stored event, the one conversion of every dialect's rows. What
    /// could not be read is replaced by a null value (a nil id, the epoch)
    /// and kept beside it as a [`Decoded`]'s problems.
    pub fn decode(self) -> Decoded {
        let mut problems = Problems::default();
        let payload = self.payload.unwrap_or_else(|e| {
            problems.payload = Some(e);
            Value::Null
        });
        let metadata = self.metadata.unwrap_or_else(|e| {
            problems.metadata = Some(e);
            Value::Null
        });
        let id = self.id.unwrap_or_else(|e| {
            problems.id = Some(e);
            Uuid::nil()
        });
        let occurred_at = self.occurred_at.unwrap_or_else(|e| {
            problems.occurred_at = Some(e);
            DateTime::default()
        });
        Decoded {
            event: StoredEvent {
                seq: self.seq,
                event: NewEvent {
                    id,
                    event_type: self.event_type,
                    aggregate_type: self.aggregate_type,
                    aggregate_id: self.aggregate_id,
                    version: self.version as u32,
                    occurred_at,
                    metadata,
                    payload,
                },
            },
            problems,
        }
    }

    /// [`EventColumns::decode`] for queries: a column that could not be read
    /// fails the query (the first of id, time, metadata, payload).
    pub fn strict(self) -> Result<StoredEvent> {
        let Decoded { event, problems } = self.decode();
        let Problems {
            payload,
            metadata,
            id,
            occurred_at,
        } = problems;
        match id.or(occurred_at).or(metadata).or(payload) {
            Some(e) => Err(e),
            None => Ok(event),
        }
    }

    /// [`EventColumns::decode`] for claims and dead letters, which must show
    /// the rows that broke: the event as far as it could be read, and why
    /// not all of it could be, if so (so one broken row never fails a whole
    /// batch).
    pub fn lenient(self) -> (StoredEvent, Option<String>) {
        let Decoded { event, problems } = self.decode();
        let problems: Vec<String> = [
            problems.payload,
            problems.metadata,
            problems.id,
            problems.occurred_at,
        ]
        .into_iter()
        .flatten()
        .map(|e| e.to_string())
        .collect();
        (event, (!problems.is_empty()).then(|| problems.join("; ")))
    }
}

/// A stored event, and the columns of it that could not be read.
pub(crate) struct Decoded {
    pub event: StoredEvent,
    problems: Problems,
}

#[derive(Default)]
struct Problems {
    payload: Option<StoreError>,
    metadata: Option<StoreError>,
    id: Option<StoreError>,
    occurred_at: Option<StoreError>,
}

/// A dead letter from its delivery's columns and its event (read as far as
/// it can be: the listing must show the rows that broke).
pub(crate) fn dead_letter(
    delivery_id: i64,
    handler_id: String,
    attempts: i64,
    last_error: Option<String>,
    updated_at: i64,
    event: EventColumns,
) -> DeadLetter {
    DeadLetter {
        delivery_id,
        handler_id,
        attempts: attempts as u32,
        last_error: last_error.unwrap_or_default(),
        failed_at: micros(updated_at),
        event: event.lenient().0,
    }
}

/// Queue counters of one handler, as both dialects' statements name them.
#[derive(sqlx::FromRow)]
pub(crate) struct StatsRow {
    handler_id: String,
    waiting: i64,
    active: i64,
    completed: i64,
    failed: i64,
    dead: i64,
    stalled: i64,
}

impl From<StatsRow> for crate::HandlerStats {
    fn from(r: StatsRow) -> Self {
        crate::HandlerStats {
            handler_id: r.handler_id,
            waiting: r.waiting,
            active: r.active,
            completed: r.completed,
            failed: r.failed,
            dead: r.dead,
            stalled: r.stalled,
        }
    }
}

/// An event as a claim reads it (one JSON array, on both backends): its
/// columns (seq, id, type, aggregate type and id, payload, metadata, version,
/// time), then the claimed deliveries of it as (delivery id, handler,
/// attempts, replay batch, handled before 0/1, expired leases, of them while
/// alone). Each event comes once, however many of its deliveries were
/// claimed.
type ClaimedEventRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    Vec<(i64, String, i64, i64, i64, i64, i64)>,
);

/// The deliveries of a claim (a JSON array of `ClaimedEventRow`s), in event
/// order; each event's payload and metadata are parsed once.
pub(crate) fn claimed_from_json(json: &str, owner: &str) -> Result<Vec<Claimed>> {
    let rows: Vec<ClaimedEventRow> =
        serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("claim: {e}")))?;
    let mut out: Vec<Claimed> = Vec::with_capacity(rows.len() * 3);
    // Each event is parsed once, for all of its deliveries. An event that
    // cannot be read does not fail the claim: its deliveries carry the error.
    for (seq, id, ty, at, ai, p, m, v, t, deliveries) in rows {
        let (event, unreadable) =
            EventColumns::from_text(seq, &id, ty, at, ai, &p, &m, v, &t).lenient();
        // The deliveries of one event share it.
        let event = Arc::new(event);
        let copies = std::iter::repeat_n(event, deliveries.len());
        for ((delivery_id, handler_id, attempts, replay, handled, expired, alone), event) in
            deliveries.into_iter().zip(copies)
        {
            out.push(Claimed {
                delivery_id,
                handler_id,
                attempt: attempts as u32,
                replay,
                already_handled: replay == 0 && handled != 0,
                event,
                lease_owner: owner.to_string(),
                unreadable: unreadable.clone(),
                expired_leases: expired as u32,
                lone_deaths: alone as u32,
            });
        }
    }
    out.sort_by_key(|c| (c.event.seq, c.delivery_id));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broken() -> EventColumns {
        EventColumns::from_text(
            7,
            "not-a-uuid",
            "t".into(),
            "A".into(),
            "a-1".into(),
            "{broken",
            "{\"districtId\":\"d\"}",
            1,
            "yesterday",
        )
    }

    #[test]
    fn a_query_fails_on_the_first_broken_column_of_id_time_metadata_payload() {
        let e = broken().strict().unwrap_err();
        assert!(
            matches!(&e, StoreError::Corrupt(m) if m.starts_with("id `not-a-uuid`")),
            "{e}"
        );
    }

    #[test]
    fn a_claim_reads_what_it_can_and_names_every_broken_column() {
        let (event, why) = broken().lenient();
        assert_eq!(event.seq, 7);
        assert_eq!(event.event.id, Uuid::nil());
        assert_eq!(event.event.payload, Value::Null);
        assert_eq!(event.event.district_id(), Some("d"));
        let why = why.expect("the broken columns are reported");
        let parts: Vec<&str> = why.split("; ").collect();
        assert_eq!(parts.len(), 3, "{why}");
        assert!(
            parts[0].starts_with("corrupt row in the event store: payload:"),
            "{why}"
        );
        assert!(
            parts[1].starts_with("corrupt row in the event store: id `not-a-uuid`"),
            "{why}"
        );
        assert!(
            parts[2].starts_with("corrupt row in the event store: occurred_at `yesterday`"),
            "{why}"
        );
    }

    #[test]
    fn a_readable_row_has_no_problems() {
        let ok = EventColumns::from_text(
            1,
            &Uuid::nil().to_string(),
            "t".into(),
            "A".into(),
            "a-1".into(),
            "{}",
            "{}",
            2,
            "2026-01-02T03:04:05.000006Z",
        );
        let (event, why) = ok.lenient();
        assert_eq!((event.event.version, why), (2, None));
    }
}
