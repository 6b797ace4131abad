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
pub use config::{Durable, Opened, Postgres, Sqlite, StorePool, DEFAULT_CONCURRENCY};

use crate::{NewEvent, StoredEvent};
use serde::Deserialize;
use skillcore_events::{Metadata, RawEnvelope};

/// The envelope's columns; the payload JSON is kept as parsed JSON.
pub fn new_event(raw: &RawEnvelope) -> Result<NewEvent, String> {
    Ok(NewEvent {
        id: raw.id,
        event_type: raw.event_type.clone(),
        aggregate_type: raw.aggregate_type.clone(),
        aggregate_id: raw.aggregate_id.clone(),
        version: raw.version,
        occurred_at: raw.occurred_at,
        metadata: serde_json::to_value(&raw.metadata).map_err(|e| e.to_string())?,
        payload: serde_json::from_str(raw.payload.get())
            .map_err(|e| format!("payload is not JSON: {e}"))?,
    })
}

/// A stored event as the bus's raw envelope.
pub fn raw_envelope(e: &StoredEvent) -> Result<RawEnvelope, String> {
    let ev = &e.event;
    let metadata = Metadata::deserialize(&ev.metadata)
        .map_err(|err| format!("stored metadata does not decode: {err}"))?;
    let payload = serde_json::value::to_raw_value(&ev.payload).map_err(|err| err.to_string())?;
    Ok(RawEnvelope {
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
