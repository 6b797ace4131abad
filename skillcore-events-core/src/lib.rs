//! The runtime of [SkillCore Events](https://docs.rs/skillcore-events): the
//! [`Envelope`], the [`Event`] traits the generated payloads implement, the
//! in-process [`EventBus`] with its handlers, retries and dead letters, and
//! the [`catalog!`] and [`handler`] macros.
//!
//! Services depend on the `skillcore-events` crate instead, which re-exports
//! everything here at its root and adds the durable store behind its `sqlite`
//! and `postgres` features; the crate-level guide and examples are there. The
//! generated code names `::skillcore_events`, so this crate is not meant to be
//! used on its own.

#![deny(missing_docs)]

extern crate self as skillcore_events;

mod bus;
mod decode;
mod envelope;
mod event;
mod handler;
mod ids;
mod objects;
mod quote;
pub mod redact;
mod renames;
mod scope;
#[cfg(feature = "testing")]
pub mod testing;

// What a service writes.
pub use bus::{
    BuildError, BusError, CatalogReport, DeadLetter, DeadLetterId, EventBus, EventBusBuilder,
    HandlerRef, ParseDeadLetterIdError, PublishError, RetryPolicy, ShutdownReport,
};
pub use decode::DecodeError;
pub use envelope::{
    schema_id, Envelope, IntoEnvelope, Metadata, RawEnvelope, Tenant, TenantFromPayload,
    DEFAULT_SOURCE, SCHEMA_ID_BASE,
};
pub use event::{Event, EventInfo, EventSet, FieldInfo};
pub use handler::{
    registered_handlers, HandlerContext, HandlerError, HandlerOptions, HandlerRegistration,
};
pub use ids::new_event_id;
pub use scope::Scope;
pub use skillcore_events_macros::{catalog, handler};

/// The interface between the bus and where its events go, for those who
/// write a backend (the durable store does) or handlers over envelopes of
/// any event: the [`backend::Backend`] and [`backend::BackendConfig`]
/// traits, the [`backend::Dispatcher`] every backend shares (handlers by
/// event with their resolved policy, and the attempt runner), the
/// type-erased envelope and handler, and the in-process
/// [`backend::MemoryBackend`].
pub mod backend {
    pub use crate::bus::{
        panic_message, run_attempt, AttemptOutcome, Backend, BackendConfig, BoxError, BusOption,
        BusSettings, Dispatcher, MemoryBackend, MemoryOptions, Origin, Route, Subscriber,
    };
    pub use crate::envelope::{DynEnvelope, EnvelopeHeader};
    pub use crate::handler::{handler_fn, BoxFuture, BoxHandler, DynHandler};
}

/// Re-exported so users can build payloads without depending on these crates.
pub use chrono;
/// Re-exported for payload JSON.
pub use serde_json;
/// Re-exported so users can build `uuid` fields.
pub use uuid;

/// Support for generated code. Not public API: anything here may change in any
/// release.
#[doc(hidden)]
pub mod __private {
    pub use crate::decode::upcast;
    pub use crate::decode::{decode_json, decode_value};
    pub use chrono::{DateTime, NaiveDate, Utc};
    pub use schemars::{self, JsonSchema};
    pub use serde::{self, Deserialize, Serialize, Serializer};
    pub use serde_json;
    pub use uuid::Uuid;

    pub use crate::handler::{MissingState, StateType, States, HANDLERS};
    pub use crate::objects::ObjectsOnly;
    pub use crate::redact::CATALOGS;
    pub use crate::renames::RENAMES;
    pub use linkme;

    /// Byte-wise string equality usable in constants (the handler macro checks
    /// that an event name and a payload type agree at compile time with it).
    pub const fn str_eq(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }

    /// Holds a `Send + 'static` future; lets generated code name the bound.
    pub fn assert_send<F: ::core::future::Future + Send + 'static>(f: F) -> F {
        f
    }

    /// Stands in for a pii field in `Debug` output.
    pub struct Redacted;

    impl core::fmt::Debug for Redacted {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("[redacted]")
        }
    }
}
