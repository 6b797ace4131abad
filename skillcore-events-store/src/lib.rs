//! Durable storage for SkillCore Events: an event store and a work queue of
//! deliveries (a transactional outbox), on SQLite (the embedded default: one file,
//! WAL, no server) or PostgreSQL (any number of worker processes on any number of
//! machines).
//!
//! - [`Store::append`] writes events and one delivery row per subscribed handler in
//!   one statement (atomic by itself; appends of concurrent callers are committed
//!   together); [`append_sqlite`]/[`append_postgres`] do the same inside the
//!   caller's own transaction, so a domain write and its events commit or roll back
//!   together.
//! - Workers [`Store::claim_for`] deliveries with a lease (`FOR UPDATE SKIP LOCKED` on
//!   PostgreSQL), run the handler, and [`Store::complete`] the delivery: the done
//!   delivery, unique per event and handler, is the handler's idempotency record,
//!   written in the same statement ([`Store::complete_and_claim`] also claims the
//!   next batch in it). A running worker renews the leases it holds
//!   ([`Store::renew_leases`], one statement three times per lease length), so
//!   leases are short (10 s by default, `Durable::lease`): a dead worker's
//!   deliveries are claimed again within that, at once by a worker restarting
//!   under the same identity (`Durable::worker_id`), and [`Store::stats`] tells
//!   their stalled leases from active ones (a delivery that keeps killing its
//!   worker ends in the dead letters once its attempts are used up).
//!   [`Store::fail`] schedules a retry or moves the delivery to the dead
//!   letters, all stored, so they survive restarts; the worker logs each
//!   failed attempt as the in-process bus does.
//! - [`Store::cancel_replay`] cancels a replay's deliveries not yet run;
//!   [`Store::drop_handler`] deletes the rows of a handler that no longer
//!   exists.
//! - Queries are scoped to one district unless [`Scope::AllDistricts`] is asked for.
//! - [`Store::read_after`] follows the global order without ever skipping an event,
//!   also on PostgreSQL where sequence numbers are not assigned in commit order.
//! - [`Store::prune_finished`] and a [`Retention`] policy
//!   ([`crate::Durable::retention`], [`Store::retain`]; off by default) remove
//!   finished deliveries older than a keep time in small batches, the events
//!   kept; SQLite stores give the space back to the file ([`Store::vacuum`]
//!   converts one created before).
//!
//! The tables (`skc_events`, `skc_deliveries`, `skc_handled`) are created and
//! migrated by the store. The store deletes no events (only delivery rows:
//! finished ones by retention, those of a dropped handler,
//! [`Store::drop_handler`]). If you prune old events
//! yourself, delete their deliveries first and never delete the newest event:
//! on SQLite a new row takes the largest id + 1, so deleting the newest event
//! would let the next one reuse its sequence number, which readers following
//! the global order have already passed.

// Where things are: the store and its dispatch in store.rs (queue and queries
// in store/), one module per dialect owning its connections, group commit
// and statements (sqlite/, postgres/: append, queue, dead letters, queries,
// migrations, sql.rs), what both share in shared.rs and row.rs (the rows an
// append writes, the one conversion of stored rows to events), the public
// data types in model.rs, the errors in error.rs.

#![deny(missing_docs)]

#[cfg(not(any(feature = "sqlite", feature = "postgres")))]
compile_error!(
    "skillcore-events-store needs a database: turn on its `sqlite` or `postgres` feature \
     (through the skillcore-events crate: `features = [\"sqlite\"]`)"
);

mod bounded;
mod connect;
mod debug;
mod durable;
mod error;
mod field_index;
mod group_commit;
mod inspect;
mod model;
mod open;
#[cfg(test)]
mod plans;
mod poison;
mod pool;
#[cfg(feature = "postgres")]
mod postgres;
mod retention;
mod row;
mod schema;
mod shared;
#[cfg(feature = "sqlite")]
mod sqlite;
mod store;
mod validate;
mod worker;

#[cfg(feature = "testing")]
pub mod testing;

pub use bounded::MAX_ERROR_BYTES;
#[cfg(feature = "postgres")]
pub use connect::DEFAULT_CONNECT_TIMEOUT;
pub use open::Access;
pub use retention::{Retention, RetentionTask, DEFAULT_KEEP_DONE};
pub use validate::Refused;

#[cfg(feature = "postgres")]
pub use durable::Postgres;
#[cfg(feature = "sqlite")]
pub use durable::Sqlite;
pub use durable::{
    new_event, raw_envelope, Durable, DurableBackend, Opened, StorePool, DEFAULT_CONCURRENCY,
};

pub use worker::{Outcome, Worker, WorkerBuilder};

pub use error::{Result, StoreError};
pub use field_index::FieldIndex;
pub(crate) use model::ScopeParts;
pub use model::{
    Claimed, Cursor, DeadLetter, Durability, HandlerStats, LeaseReport, NewEvent, PostgresCommit,
    ReplayFilter, ReplayProgress, Scope, StoredEvent, Subscriber,
};

#[cfg(feature = "postgres")]
pub use postgres::append_postgres;
#[cfg(feature = "sqlite")]
pub use sqlite::{append_sqlite, SQLITE_ROWS_PER_INSERT};
pub use store::Store;

pub use inspect::{
    mask_error, DeadCursor, DeadFilter, DeadGroup, DeadPage, DeliveryInfo, DeliveryState,
    EventCursor, EventPage, EventQuery, FieldFilter, HandlerOverview, ThroughputBucket,
    MAX_BUCKETS, MAX_CHAIN, MAX_DEAD_PAGE, MAX_PAGE, MAX_SCAN,
};
