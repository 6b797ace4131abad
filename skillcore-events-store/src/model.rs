//! The store's public data types: events in and out, claimed deliveries, dead
//! letters, queue counters, replay, cursors and the commit settings.

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::sync::Arc;
use uuid::Uuid;

/// An event to store: the envelope's columns, payload and metadata as JSON.
/// `Debug` prints the payload with pii redacted (`skillcore_events::redact`).
#[derive(Clone, PartialEq)]
pub struct NewEvent {
    /// Event id (UUID v7 by convention).
    pub id: Uuid,
    /// Event name, `gradebook.grade.posted`.
    pub event_type: String,
    /// Aggregate type, `Result`.
    pub aggregate_type: String,
    /// Aggregate id.
    pub aggregate_id: String,
    /// Payload version.
    pub version: u32,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Envelope metadata (`districtId`, `schoolId`, `userId`, `correlationId`...).
    pub metadata: Value,
    /// The payload.
    pub payload: Value,
}

impl NewEvent {
    /// The tenant the event belongs to: `metadata.districtId`.
    pub fn district_id(&self) -> Option<&str> {
        self.metadata.get("districtId").and_then(Value::as_str)
    }
}

/// An event read back from the store (`Debug` redacts pii).
#[derive(Clone, PartialEq)]
pub struct StoredEvent {
    /// Position in the global order of the store (assigned at insert).
    pub seq: i64,
    /// The event.
    pub event: NewEvent,
}

/// A handler an event is delivered to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subscriber<'a> {
    /// Stable handler id, `analytics.update_gpa`.
    pub handler_id: &'a str,
    /// Deliver the events of one aggregate to this handler one at a time, in order.
    pub ordered: bool,
}

/// Which tenants a query may see (the bus's type, so one scope serves the
/// bus's dead letters and the store's queries alike).
pub use skillcore_events::Scope;

/// A scope as the two binds of `(? OR district_id = ?)`.
pub(crate) trait ScopeParts {
    fn parts(&self) -> (bool, &str);
}

impl ScopeParts for Scope {
    fn parts(&self) -> (bool, &str) {
        match self {
            Scope::District(d) => (false, d.as_str()),
            Scope::AllDistricts => (true, ""),
        }
    }
}

/// A delivery claimed by a worker (`Debug` redacts pii).
#[derive(Clone, PartialEq)]
pub struct Claimed {
    /// Delivery row id.
    pub delivery_id: i64,
    /// The handler to run.
    pub handler_id: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Replay batch (0 for a normal delivery).
    pub replay: i64,
    /// The handler already succeeded for this event (a redelivery): complete it
    /// without running the handler again. Never set for replays.
    pub already_handled: bool,
    /// The event, shared by the deliveries of it claimed together.
    pub event: Arc<StoredEvent>,
    pub(crate) lease_owner: String,
    pub(crate) unreadable: Option<String>,
    pub(crate) expired_leases: u32,
    pub(crate) lone_deaths: u32,
}

impl Claimed {
    /// How many times a lease on this delivery ran out before an outcome was
    /// recorded, this claim's takeover included: its worker died (or stalled
    /// past the lease) while the delivery was in flight. A delivery that keeps
    /// killing its worker has as many as it had attempts.
    pub fn expired_leases(&self) -> u32 {
        self.expired_leases
    }

    /// How many of [`Claimed::expired_leases`] ran out while the delivery ran
    /// alone ([`Store::run_alone`](crate::Store::run_alone)): deaths of its worker it caused for certain.
    pub fn expired_alone(&self) -> u32 {
        self.lone_deaths
    }

    /// Why the stored event could not be read back (for example payload text
    /// that is no longer JSON), if so: `event` then holds what could be read, and
    /// a worker sends the delivery to the dead letters with this error instead of
    /// running the handler.
    pub fn unreadable(&self) -> Option<&str> {
        self.unreadable.as_deref()
    }
}

/// A delivery that failed every attempt (`Debug` redacts pii).
#[derive(Clone, PartialEq)]
pub struct DeadLetter {
    /// Delivery row id (use it to retry or discard).
    pub delivery_id: i64,
    /// The handler that failed.
    pub handler_id: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last error.
    pub last_error: String,
    /// When it became a dead letter.
    pub failed_at: DateTime<Utc>,
    /// The event.
    pub event: StoredEvent,
}

/// Queue counters for one handler, as the original system's queue dashboard showed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HandlerStats {
    /// The handler.
    pub handler_id: String,
    /// Waiting for a first attempt.
    pub waiting: i64,
    /// Claimed by a worker that keeps renewing its lease: running now (or
    /// claimed ahead, waiting for a slot).
    pub active: i64,
    /// Done.
    pub completed: i64,
    /// Failed at least once, waiting for a retry.
    pub failed: i64,
    /// Out of attempts: dead letters.
    pub dead: i64,
    /// Claimed by a worker that stopped renewing its lease (it died, or is
    /// stuck): free for another worker once the lease runs out, which may
    /// have happened already.
    pub stalled: i64,
}

/// Progress of a replay batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayProgress {
    /// Deliveries in the batch.
    pub total: i64,
    /// Finished (done).
    pub done: i64,
    /// Dead.
    pub dead: i64,
}

impl ReplayProgress {
    /// Every delivery of the batch has finished, one way or the other.
    pub fn finished(&self) -> bool {
        self.done + self.dead >= self.total
    }
}

/// Which stored events a replay re-delivers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayFilter {
    /// Only this event type.
    pub event_type: Option<String>,
    /// Only events that occurred at or after this time.
    pub since: Option<DateTime<Utc>>,
}

/// Where a reader following the global order stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    /// The writing transaction of the last event read (PostgreSQL; 0 on SQLite).
    pub tx: i64,
    /// The sequence number of the last event read.
    pub seq: i64,
}

/// How durable SQLite commits are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// WAL with `synchronous=NORMAL` (the default): a commit survives a crash of
    /// the process; on power loss or an OS crash the last commits may roll back,
    /// never the database's integrity.
    #[default]
    Normal,
    /// WAL with `synchronous=FULL`: every commit is synced before it returns, and
    /// survives power loss too. Several times slower per single-row commit.
    Full,
}

/// How PostgreSQL commits the store's writes.
///
/// ```no_run
/// # async fn f() -> skillcore_events_store::Result<()> {
/// use skillcore_events_store::{PostgresCommit, Store};
/// let store = Store::postgres_with(
///     "postgres://postgres@127.0.0.1:5432/test",
///     None,
///     PostgresCommit::Asynchronous,
/// )
/// .await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PostgresCommit {
    /// `synchronous_commit = on`, PostgreSQL's own default: a publish returns
    /// once its commit is flushed to the WAL on disk, and no crash loses it.
    /// A lone publisher awaiting each publish then waits for one WAL flush per
    /// event; concurrent publishes share flushes (group commit).
    #[default]
    Flushed,
    /// `synchronous_commit = off` on the store's connections: a commit returns
    /// before its WAL is flushed, and the server flushes within
    /// 3 × `wal_writer_delay` (600 ms by default). A crash of the PostgreSQL
    /// server or of its machine can lose the transactions committed in that
    /// window, each as a whole (an event with all its deliveries, a completion
    /// with its idempotency record: a lost completion runs its handler again),
    /// never half of one and never the database's integrity; a crash of the
    /// publishing or working process loses nothing. The trade is the one of
    /// SQLite's `synchronous=NORMAL` or Redis's `appendfsync everysec`, and an
    /// awaited single publish gets about 1.6 times faster (docs/performance.md).
    /// It applies to every connection of the store's pool, including the
    /// transactions callers run on [`Store::postgres_pool`](crate::Store::postgres_pool).
    Asynchronous,
}

impl StoredEvent {
    /// The stored event as the bus's [`RawEnvelope`](skillcore_events::RawEnvelope)
    /// (the payload as JSON text, not decoded). Fails with
    /// [`StoreError::Decode`](crate::StoreError::Decode) when the stored
    /// metadata is not an envelope's, or [`StoreError::Encode`](crate::StoreError::Encode).
    ///
    /// ```no_run
    /// # async fn f(store: skillcore_events_store::Store) -> skillcore_events_store::Result<()> {
    /// use skillcore_events_store::{Cursor, Scope};
    /// let (events, _) = store.read_after(&Scope::AllDistricts, Cursor::default(), 10).await?;
    /// for e in &events {
    ///     let raw = e.to_raw()?;
    ///     println!("{} {}", raw.event_type, raw.payload.get().len());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn to_raw(&self) -> Result<skillcore_events::RawEnvelope, crate::StoreError> {
        use serde::Deserialize;
        let ev = &self.event;
        let metadata = skillcore_events::Metadata::deserialize(&ev.metadata).map_err(|err| {
            crate::StoreError::Decode(skillcore_events::DecodeError::InvalidEnvelope {
                message: format!("stored metadata does not decode: {err}"),
            })
        })?;
        let payload =
            serde_json::value::to_raw_value(&ev.payload).map_err(crate::StoreError::Encode)?;
        Ok(skillcore_events::RawEnvelope {
            id: ev.id,
            event_type: ev.event_type.clone(),
            aggregate_id: ev.aggregate_id.clone(),
            aggregate_type: ev.aggregate_type.clone(),
            payload,
            metadata,
            version: ev.version,
            occurred_at: ev.occurred_at,
        })
    }

    /// Decodes the stored event into its generated type. The error
    /// ([`StoreError::Decode`](crate::StoreError::Decode), the
    /// [`DecodeError`](skillcore_events::DecodeError) as its source) names the
    /// event, the field and the catalog type, never a pii value.
    ///
    /// ```no_run
    /// # mod events { skillcore_events::catalog!("../catalog"); }
    /// # use events::gradebook::GradePosted;
    /// # async fn f(store: skillcore_events_store::Store) -> skillcore_events_store::Result<()> {
    /// use skillcore_events_store::Scope;
    /// for e in store.aggregate_events(&Scope::AllDistricts, "Result", "r-1").await? {
    ///     let grade = e.decode::<GradePosted>()?;
    ///     println!("{}", grade.payload.score_percent);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn decode<E: skillcore_events::Event>(
        &self,
    ) -> Result<skillcore_events::Envelope<E>, crate::StoreError> {
        self.to_raw()?
            .decode::<E>()
            .map_err(crate::StoreError::Decode)
    }
}

impl NewEvent {
    /// The event to store for a bus envelope: its columns, with the payload
    /// and the metadata as parsed JSON.
    ///
    /// ```
    /// use skillcore_events::{Metadata, RawEnvelope};
    /// use skillcore_events_store::NewEvent;
    /// let raw = RawEnvelope {
    ///     id: skillcore_events::uuid::Uuid::now_v7(),
    ///     event_type: "x.happened".into(),
    ///     aggregate_id: "a-1".into(),
    ///     aggregate_type: "X".into(),
    ///     payload: serde_json::value::to_raw_value(&serde_json::json!({"n": 1})).unwrap(),
    ///     metadata: Metadata::new("dst-1", "sch-1"),
    ///     version: 1,
    ///     occurred_at: skillcore_events::chrono::Utc::now(),
    /// };
    /// let e = NewEvent::from_raw(&raw).unwrap();
    /// assert_eq!(e.district_id(), Some("dst-1"));
    /// ```
    pub fn from_raw(raw: &skillcore_events::RawEnvelope) -> Result<NewEvent, crate::StoreError> {
        Ok(NewEvent {
            id: raw.id,
            event_type: raw.event_type.clone(),
            aggregate_type: raw.aggregate_type.clone(),
            aggregate_id: raw.aggregate_id.clone(),
            version: raw.version,
            occurred_at: raw.occurred_at,
            metadata: serde_json::to_value(&raw.metadata).map_err(crate::StoreError::Encode)?,
            payload: serde_json::from_str(raw.payload.get()).map_err(|e| {
                crate::StoreError::Decode(skillcore_events::DecodeError::InvalidEnvelope {
                    message: format!("payload is not JSON: {e}"),
                })
            })?,
        })
    }
}

/// Deliveries held by workers that stopped renewing their leases
/// ([`Store::stalled_leases`](crate::Store::stalled_leases)): a worker that
/// died, or is stuck. What a worker logs when it starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeaseReport {
    /// Such deliveries.
    pub stalled: i64,
    /// Of them, those whose lease has not run out yet: no worker can take
    /// them before [`LeaseReport::free_at`].
    pub held: i64,
    /// How many workers held them.
    pub owners: i64,
    /// When the last of them is free (the latest lease expiry), while some
    /// are still held.
    pub free_at: Option<chrono::DateTime<chrono::Utc>>,
    /// How long from now until then (zero when all are free now).
    pub free_in: std::time::Duration,
}

impl LeaseReport {
    /// The report from rows per lease owner (owner, deliveries, still held,
    /// latest expiry, unused), at `now` (microseconds). A lease owner is a
    /// worker's id, `:` and a claim number: the workers are counted; those
    /// of worker `me` are left out.
    pub(crate) fn of_owners(
        rows: impl IntoIterator<Item = (String, i64, i64, Option<i64>, i64)>,
        me: &str,
        now: i64,
    ) -> Self {
        let mut workers = std::collections::BTreeSet::new();
        let (mut stalled, mut held, mut until) = (0, 0, None::<i64>);
        for (owner, n, h, u, _) in rows {
            let worker = owner.rsplit_once(':').map_or(owner.as_str(), |(w, _)| w);
            if worker == me {
                continue;
            }
            workers.insert(worker.to_string());
            stalled += n;
            held += h;
            until = until.max(u);
        }
        let free_in = match until {
            Some(u) if held > 0 => u.saturating_sub(now).max(0) as u64,
            _ => 0,
        };
        LeaseReport {
            stalled,
            held,
            owners: workers.len() as i64,
            free_at: until.filter(|_| held > 0).map(crate::shared::micros),
            free_in: std::time::Duration::from_micros(free_in),
        }
    }
}
