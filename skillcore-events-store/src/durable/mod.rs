//! The durable backend of [`skillcore_events::EventBus`]: the same bus API,
//! with every event written to the store and every delivery run by workers
//! from the database. It is a value handed to the builder:
//!
//! ```no_run
//! use skillcore_events::EventBus;
//! use skillcore_events_store::Durable;
//!
//! # async fn run(pg_pool: sqlx::PgPool) -> Result<(), Box<dyn std::error::Error>> {
//! // The embedded default: one SQLite file.
//! let bus = EventBus::builder()
//!     .register_all()
//!     .backend(Durable::sqlite("events.db").concurrency(64))
//!     .build()?;
//!
//! // PostgreSQL, in a schema of its own, commits not waiting for their flush.
//! let bus = EventBus::builder()
//!     .register_all()
//!     .backend(
//!         Durable::postgres("postgres://postgres@127.0.0.1:5432/test")
//!             .schema("events")
//!             .commit(skillcore_events_store::PostgresCommit::Asynchronous),
//!     )
//!     .build()?;
//!
//! // On the pool the service already has.
//! let bus = EventBus::builder()
//!     .register_all()
//!     .backend(Durable::from_pool(pg_pool))
//!     .build()?;
//! # Ok(()) }
//! ```

mod backend;
mod config;

pub use backend::DurableBackend;
#[cfg(feature = "postgres")]
pub use config::Postgres;
#[cfg(feature = "sqlite")]
pub use config::Sqlite;
pub use config::{Durable, Opened, StorePool, DEFAULT_CONCURRENCY};

use crate::{NewEvent, StoredEvent};
use skillcore_events::RawEnvelope;

/// The envelope's columns, the payload JSON kept as parsed JSON: the same as
/// [`NewEvent::from_raw`], with the error as text.
pub fn new_event(raw: &RawEnvelope) -> Result<NewEvent, String> {
    NewEvent::from_raw(raw).map_err(|e| e.to_string())
}

/// A stored event as the bus's raw envelope: the same as
/// [`StoredEvent::to_raw`], with the error as text.
pub fn raw_envelope(e: &StoredEvent) -> Result<RawEnvelope, String> {
    e.to_raw().map_err(|e| e.to_string())
}
