//! # SkillCore Events
//!
//! Typed domain events from a YAML catalog. The catalog is the single source of
//! truth; [`catalog!`] turns it, at build time, into payload structs, name
//! constants, an [`AnyEvent`](#the-generated-items)-style enum and a runtime catalog,
//! and rejects a broken catalog with errors that point at the YAML line.
//!
//! ```
//! mod events {
//!     skillcore_events::catalog!("tests/fixtures/mini.yaml");
//! }
//! use skillcore_events::Event;
//! use events::gradebook::GradePosted;
//!
//! assert_eq!(GradePosted::NAME, "gradebook.grade.posted");
//! assert_eq!(events::names::GRADEBOOK_GRADE_POSTED, GradePosted::NAME);
//!
//! let json = r#"{"resultId":"r-1","score":42.5}"#;
//! let any = events::AnyEvent::from_json(GradePosted::NAME, json).unwrap();
//! assert_eq!(any.name(), "gradebook.grade.posted");
//! assert_eq!(any.to_json().unwrap(), json);
//! ```
//!
//! ## The generated items
//!
//! `catalog!("catalog")` (a path relative to the crate's `Cargo.toml`: one
//! `.yaml` file or a directory whose `*.yaml` files are merged) expands to:
//!
//! - one module per context holding one struct per event (`gradebook::GradePosted`),
//!   implementing [`Event`], serde, `schemars::JsonSchema`, `Clone`, `PartialEq`
//!   and a `Debug` that prints pii fields as `[redacted]`;
//! - the catalog's named types at the top level (enums and structs);
//! - `names`, a module of `&str` constants, one per event;
//! - `AnyEvent`, an enum over every event, decoding by name (`from_json`) and
//!   implementing [`EventSet`];
//! - `EVENTS`, the runtime catalog (`&[EventInfo]`) and `event_info(name)`;
//! - on each event struct, fixtures for tests: `GradePosted::example()` (the
//!   catalog's first `examples:` entry, else a payload generated to fit the
//!   schema) and `GradePosted::examples()` (all of them); vary one with struct
//!   update syntax, `GradePosted { score: 1.0, ..GradePosted::example() }`.
//!
//! The cargo feature `testing` (off by default) adds `testing`: a recording
//! `TestBus` with assertions, and the catalog check as a test (see
//! `docs/guide.md`, step 6).
//!
//! The format and every validation rule are documented in `docs/catalog.md`.
//!
//! ## Handlers and the event bus
//!
//! A payload travels in an [`Envelope`] (id, name, aggregate, tenant
//! [`Metadata`], time). Handlers are async functions marked [`handler`]: the
//! event name is checked against the catalog and against the payload type at
//! compile time, and the function lands in a link-time table that
//! [`EventBusBuilder::register_all`] reads, so nothing is registered by hand.
//!
//! ```
//! mod events {
//!     skillcore_events::catalog!("tests/fixtures/mini.yaml");
//! }
//! use skillcore_events::{handler, Envelope, EventBus, HandlerContext, HandlerError, Metadata};
//! use std::sync::{Arc, Mutex};
//!
//! #[derive(Default)]
//! struct Gradebook { scores: Mutex<Vec<f64>> }
//!
//! #[handler("gradebook.grade.posted", name = "analytics.record_score",
//!           catalog = "tests/fixtures/mini.yaml", retries = 2, backoff = "10ms")]
//! async fn record_score(
//!     event: &Envelope<events::gradebook::GradePosted>,
//!     book: &Gradebook,
//!     cx: &HandlerContext,
//! ) -> Result<(), HandlerError> {
//!     book.scores.lock().unwrap().push(event.payload.score);
//!     assert_eq!(cx.attempt, 1);
//!     Ok(())
//! }
//!
//! # let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
//! # rt.block_on(async {
//! let book = Arc::new(Gradebook::default());
//! let bus = EventBus::builder()
//!     .register_all()
//!     .with_state(Arc::clone(&book))
//!     .build()
//!     .unwrap();
//! let payload = events::gradebook::GradePosted { result_id: "r-1".into(), score: 9.5 };
//! bus.publish(Envelope::new(payload, Metadata::new("dst-1", "sch-1"))).await.unwrap();
//! bus.idle().await;
//! assert_eq!(*book.scores.lock().unwrap(), vec![9.5]);
//! # });
//! ```
//!
//! The bus runs the handlers of one event concurrently, retries each failed
//! handler alone (exponential backoff with jitter, 3 attempts from 2 s by
//! default), dead-letters what still fails, never re-runs a handler that
//! succeeded on a redelivered event, and shuts down within a deadline. Handlers
//! defined in another crate are found as long as that crate is linked into the
//! binary (refer to it, for example `use school_handlers as _;`). The
//! in-process [`backend::MemoryBackend`] is the default; the durable store
//! (`skillcore_events_store::Durable`) plugs in behind the same API through
//! [`backend::Backend`], given to [`EventBusBuilder::backend`]. Every builder
//! option works on every backend or is refused by
//! [`EventBusBuilder::build`] naming the backend that would ignore it.
//!
//! Handlers must not block their thread (use `tokio::task::spawn_blocking`
//! for blocking or CPU-heavy work): a timeout can only cut off a handler that
//! is waiting, and an attempt that ran past its timeout is recorded as timed
//! out however it finished.
//!
//! `LOG_EVENTS=1` and `LOG_EVENT_HANDLERS=1` turn on the per-event and
//! per-handler info lines (through `tracing`); payloads are logged only at
//! debug level, with every pii value (at any depth) replaced by
//! `"[redacted]"` and the fields the catalog does not know left out.
//!
//! pii never leaves through this crate's errors or `Debug`: a
//! [`DecodeError`] names the field path and the catalog type, never a pii
//! value (and of other values a short, escaped prefix), and every type that
//! holds payload JSON prints it through [`redact`].

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
