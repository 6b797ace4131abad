//! The public data types of the operations queries: overview rows,
//! throughput buckets, event searches and their pages, deliveries of an
//! event, dead-letter filters and groups.

use crate::{Scope, StoredEvent};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// One handler's queue as the dashboard's overview shows it: the numbers
/// [`Store::stats`](crate::Store::stats) gives (what `skillcore-events queue
/// stats` prints), the lag, the oldest waiting delivery, and when the figures
/// were counted.
///
/// Served from a cache refreshed in the background
/// ([`Store::overview`](crate::Store::overview)): `as_of` says how old they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HandlerOverview {
    /// The handler (`handler` in the JSON, as `queue stats --format json`).
    #[serde(rename = "handler")]
    pub handler_id: String,
    /// Waiting for a first attempt.
    pub waiting: i64,
    /// Claimed by a live worker.
    pub active: i64,
    /// Done.
    pub completed: i64,
    /// Failed at least once, waiting for a retry.
    pub failed: i64,
    /// Dead letters.
    pub dead: i64,
    /// Claimed by a worker that stopped renewing its lease.
    pub stalled: i64,
    /// Events not yet handled by this handler: its deliveries not finished
    /// (`waiting + failed + active + stalled`; dead letters are not counted,
    /// they wait for a person).
    pub lag: i64,
    /// When the oldest delivery still waiting for its first attempt was
    /// queued (`None` when nothing waits); its age is `as_of - oldest_waiting`.
    pub oldest_waiting: Option<DateTime<Utc>>,
    /// When these figures were counted.
    pub as_of: DateTime<Utc>,
}

impl HandlerOverview {
    /// The numbers [`Store::stats`](crate::Store::stats) gives, as its type.
    pub fn stats(&self) -> crate::HandlerStats {
        crate::HandlerStats {
            handler_id: self.handler_id.clone(),
            waiting: self.waiting,
            active: self.active,
            completed: self.completed,
            failed: self.failed,
            dead: self.dead,
            stalled: self.stalled,
        }
    }

    /// How long the oldest waiting delivery had waited when the figures were
    /// counted.
    pub fn oldest_waiting_age(&self) -> Option<chrono::Duration> {
        self.oldest_waiting.map(|t| self.as_of - t)
    }

    pub(crate) fn of(
        s: crate::HandlerStats,
        oldest_waiting: Option<DateTime<Utc>>,
        as_of: DateTime<Utc>,
    ) -> Self {
        HandlerOverview {
            lag: s.waiting + s.failed + s.active + s.stalled,
            handler_id: s.handler_id,
            waiting: s.waiting,
            active: s.active,
            completed: s.completed,
            failed: s.failed,
            dead: s.dead,
            stalled: s.stalled,
            oldest_waiting,
            as_of,
        }
    }
}

/// Deliveries that finished in one time bucket
/// ([`Store::throughput`](crate::Store::throughput)).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ThroughputBucket {
    /// The start of the bucket (it lasts the bucket length asked for).
    pub start: DateTime<Utc>,
    /// Deliveries completed in it.
    pub completed: i64,
    /// Deliveries that became dead letters in it (and are still dead: a
    /// retried or discarded letter leaves its bucket).
    pub dead: i64,
}

/// Where an event search continues: before this sequence number, newest
/// first. Written as its number (`"1234"`), so it fits a URL.
///
/// ```
/// use skillcore_events_store::EventCursor;
/// let c: EventCursor = "1234".parse().unwrap();
/// assert_eq!(c.to_string(), "1234");
/// assert!("x".parse::<EventCursor>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct EventCursor {
    /// The next page holds events with a smaller sequence number.
    pub before_seq: i64,
}

impl fmt::Display for EventCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.before_seq)
    }
}

impl FromStr for EventCursor {
    type Err = crate::StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(|before_seq| EventCursor { before_seq })
            .ok_or_else(|| {
                crate::StoreError::InvalidQuery(
                    "the cursor is not one a search returned (a positive number): start the \
                     search again without it"
                        .into(),
                )
            })
    }
}

/// One payload field equal to a JSON scalar. `Debug` does not print the value
/// (it may be pii).
#[derive(Clone, PartialEq)]
pub struct FieldFilter {
    /// The field, `studentId`, or a path into nested objects, `address.city`
    /// (each part letters and digits, starting with a lowercase letter).
    pub path: String,
    /// The value it must equal: a string, number, boolean or null (compared
    /// as JSON: the number `85` equals `85.0`, never the string `"85"`).
    pub value: serde_json::Value,
}

impl fmt::Debug for FieldFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FieldFilter")
            .field("path", &self.path)
            .field("value", &"[redacted]")
            .finish()
    }
}

/// A search of the stored events ([`Store::search_events`](crate::Store::search_events)):
/// every filter optional but the scope, newest first, a page at a time.
///
/// ```
/// use skillcore_events_store::{EventQuery, Scope};
/// let q = EventQuery::new(Scope::district("dst-1"))
///     .event_type("gradebook.grade.posted")
///     .field("studentId", "stu-1")
///     .limit(50);
/// assert_eq!(q.limit, 50);
/// // `Debug` leaves the value out: it may be pii.
/// assert!(!format!("{q:?}").contains("stu-1"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct EventQuery {
    /// Which tenants' events may be returned.
    pub scope: Scope,
    /// Only this event type.
    pub event_type: Option<String>,
    /// Only events that occurred at or after this.
    pub from: Option<DateTime<Utc>>,
    /// Only events that occurred before this.
    pub to: Option<DateTime<Utc>>,
    /// Only the events of this aggregate: its type and id, both.
    pub aggregate: Option<(String, String)>,
    /// Only events whose payload field equals a value (needs `event_type`).
    pub field: Option<FieldFilter>,
    /// Continue a search where its last page ended ([`EventPage::next`]).
    pub cursor: Option<EventCursor>,
    /// Events per page, at most [`crate::MAX_PAGE`] (larger asks get that many).
    pub limit: u32,
}

impl EventQuery {
    /// Every event in `scope`, 50 per page.
    pub fn new(scope: Scope) -> Self {
        EventQuery {
            scope,
            event_type: None,
            from: None,
            to: None,
            aggregate: None,
            field: None,
            cursor: None,
            limit: 50,
        }
    }

    /// Only events of this type.
    pub fn event_type(mut self, event_type: impl Into<String>) -> Self {
        self.event_type = Some(event_type.into());
        self
    }

    /// Only events that occurred in `[from, to)`.
    pub fn between(mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        self.from = Some(from);
        self.to = Some(to);
        self
    }

    /// Only the events of one aggregate.
    pub fn aggregate(
        mut self,
        aggregate_type: impl Into<String>,
        aggregate_id: impl Into<String>,
    ) -> Self {
        self.aggregate = Some((aggregate_type.into(), aggregate_id.into()));
        self
    }

    /// Only events whose payload field `path` equals `value`.
    pub fn field(mut self, path: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.field = Some(FieldFilter {
            path: path.into(),
            value: value.into(),
        });
        self
    }

    /// The page after the one that gave `cursor`.
    pub fn after(mut self, cursor: Option<EventCursor>) -> Self {
        self.cursor = cursor;
        self
    }

    /// Events per page (capped at [`crate::MAX_PAGE`]).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }
}

/// A page of an event search.
#[derive(Clone, Debug, PartialEq)]
pub struct EventPage {
    /// The events, newest first (highest sequence number first).
    pub events: Vec<StoredEvent>,
    /// Where the next page starts; `None` when there is none. A page may hold
    /// fewer events than asked (even none) and still have a next one: each
    /// page reads at most [`crate::MAX_SCAN`] candidate rows from its index,
    /// so a filter that matches rarely is answered a stretch at a time
    /// instead of reading the whole table in one request.
    pub next: Option<EventCursor>,
    /// How many candidate rows this page read from the index.
    pub examined: u32,
}

/// The state of one delivery, as [`crate::HandlerStats`] counts it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Waiting for its first attempt.
    Waiting,
    /// Failed at least once, waiting for a retry.
    Failed,
    /// Claimed by a live worker.
    Active,
    /// Claimed by a worker that stopped renewing its lease.
    Stalled,
    /// Done.
    Done,
    /// Out of attempts: a dead letter.
    Dead,
    /// A dead letter discarded by a person.
    Discarded,
    /// A replay delivery cancelled before it ran.
    Cancelled,
    /// A state this build does not know (written by a newer one).
    Other(String),
}

impl DeliveryState {
    pub(crate) fn of(status: &str, attempts: i64, stalled: bool) -> Self {
        match status {
            "waiting" if attempts > 0 => DeliveryState::Failed,
            "waiting" => DeliveryState::Waiting,
            "active" if stalled => DeliveryState::Stalled,
            "active" => DeliveryState::Active,
            "done" => DeliveryState::Done,
            "dead" => DeliveryState::Dead,
            "discarded" => DeliveryState::Discarded,
            "cancelled" => DeliveryState::Cancelled,
            other => DeliveryState::Other(other.to_string()),
        }
    }
}

/// One delivery of an event to one handler
/// ([`Store::deliveries_of`](crate::Store::deliveries_of)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeliveryInfo {
    /// Delivery row id (what [`Store::retry_dead`](crate::Store::retry_dead) takes).
    pub delivery_id: i64,
    /// The handler.
    #[serde(rename = "handler")]
    pub handler_id: String,
    /// Its state.
    pub state: DeliveryState,
    /// Attempts made (or running).
    pub attempts: u32,
    /// The last error, as stored (at most [`crate::MAX_ERROR_BYTES`]).
    pub last_error: Option<String>,
    /// Replay batch (0 for the delivery made at publish).
    pub replay: i64,
    /// When it is (or was) due: for a waiting delivery when it was queued, for
    /// a retry when the retry is due.
    pub available_at: DateTime<Utc>,
    /// When its state last changed: for a done delivery when it completed,
    /// for a dead letter when it died.
    pub updated_at: DateTime<Utc>,
    /// The lease of an active delivery: until when its worker holds it.
    pub lease_until: Option<DateTime<Utc>>,
    /// How many times a lease on it ran out before an outcome was recorded.
    pub expired_leases: u32,
}

/// Which dead letters a group listing or a bulk action takes
/// ([`Store::dead_letter_groups`](crate::Store::dead_letter_groups)). Every
/// filter is optional; the scope is passed beside it.
///
/// ```
/// use skillcore_events_store::DeadFilter;
/// let f = DeadFilter::default().handler("analytics.update_gpa");
/// assert_eq!(f.handler.as_deref(), Some("analytics.update_gpa"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeadFilter {
    /// Only this handler's.
    pub handler: Option<String>,
    /// Only dead letters of events of this type.
    pub event_type: Option<String>,
    /// Only one group: its [`DeadGroup::key`].
    pub group: Option<String>,
    /// Only letters that died at or after this.
    pub since: Option<DateTime<Utc>>,
    /// Only letters that died before this.
    pub until: Option<DateTime<Utc>>,
}

impl DeadFilter {
    /// Only this handler's dead letters.
    pub fn handler(mut self, handler: impl Into<String>) -> Self {
        self.handler = Some(handler.into());
        self
    }

    /// Only dead letters of events of this type.
    pub fn event_type(mut self, event_type: impl Into<String>) -> Self {
        self.event_type = Some(event_type.into());
        self
    }

    /// Only the group with this key.
    pub fn group(mut self, key: impl Into<String>) -> Self {
        self.group = Some(key.into());
        self
    }

    /// Only letters that died in `[since, until)`.
    pub fn between(mut self, since: DateTime<Utc>, until: DateTime<Utc>) -> Self {
        self.since = Some(since);
        self.until = Some(until);
        self
    }
}

/// Dead letters of one handler whose errors read the same once ids, numbers
/// and quoted values are masked ([`crate::mask_error`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeadGroup {
    /// A stable key of the group (handler and masked error), for
    /// [`DeadFilter::group`]: 16 hex digits.
    pub key: String,
    /// The handler.
    #[serde(rename = "handler")]
    pub handler_id: String,
    /// The masked error text shared by the group.
    pub error: String,
    /// How many dead letters.
    pub count: i64,
    /// When the first of them died.
    pub first_seen: DateTime<Utc>,
    /// When the last of them died.
    pub last_seen: DateTime<Utc>,
    /// The newest letter of the group (its delivery id).
    pub sample_delivery_id: i64,
    /// Its error as stored, unmasked.
    pub sample_error: String,
}
