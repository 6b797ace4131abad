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
//! (`store::Durable`, with the `sqlite` or `postgres` feature) plugs in behind the same API through
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
//! per-handler info lines (through `tracing`; printed to stderr when the
//! program has installed no `tracing` subscriber of its own); payloads are logged only at
//! debug level, with every pii value (at any depth) replaced by
//! `"[redacted]"` and the fields the catalog does not know left out.
//!
//! pii never leaves through this crate's errors or `Debug`: a
//! [`DecodeError`] names the field path and the catalog type, never a pii
//! value (and of other values a short, escaped prefix), and every type that
//! holds payload JSON prints it through [`redact`].
//!
//! ## Cargo features
//!
//! One dependency; each database driver is compiled only when its feature
//! is on:
//!
//! ```toml
//! [dependencies]
//! skillcore-events = { version = "0.1", features = ["sqlite"] }
//!
//! [dev-dependencies]
//! skillcore-events = { version = "0.1", features = ["sqlite", "testing"] }
//! ```
//!
//! | feature | adds |
//! |---|---|
//! | *(none)* | payloads, envelope, the in-process bus, handlers, the macros: no database driver |
//! | `sqlite` | `store`: the durable store and queue in one SQLite file (sqlx's SQLite driver, bundled) |
//! | `postgres` | `store` on PostgreSQL (sqlx's PostgreSQL driver) |
//! | `dashboard` | `dashboard`: the operations dashboard (an axum router: pages and JSON API) over the store; with `sqlite` and/or `postgres` |
//! | `testing` | `testing`: the recording `TestBus` and the catalog check; with a dialect on, `store::testing::TempStore` |
//!
//! With both dialects on, one build opens either (`store::Store::sqlite`,
//! `store::Store::postgres`).

#![deny(missing_docs)]

#[doc(inline)]
pub use skillcore_events_core::*;

/// The durable event store and delivery queue (features `sqlite`,
/// `postgres`): [`store::Store`] for appends and queries, [`store::Durable`]
/// as the bus's backend, [`store::Worker`] to drain the queue.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[doc(inline)]
pub use skillcore_events_store as store;

/// The operations dashboard (feature `dashboard`): [`dashboard::router`] to
/// nest in a service's axum app, docs/dashboard.md.
#[cfg(feature = "dashboard")]
#[doc(inline)]
pub use skillcore_events_dashboard as dashboard;
