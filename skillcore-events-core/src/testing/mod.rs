//! The testing kit (cargo feature `testing`, off by default): what a test of
//! a handler or a publisher needs, and nothing a service runs.
//!
//! ```toml
//! [dev-dependencies]
//! skillcore-events = { version = "…", features = ["testing"] }
//! tokio = { version = "1", features = ["macros", "rt"] }
//! ```
//!
//! - **Fixtures** (no feature needed, generated for every event):
//!   `GradePosted::example()` is the catalog's first `examples:` entry (a
//!   payload generated to fit the schema when the event has none), and
//!   `GradePosted::examples()` every entry. A test changes only the fields it
//!   cares about with struct update syntax:
//!   `GradePosted { score_percent: 45.0, ..GradePosted::example() }`.
//! - **[`TestBus`]**: an [`EventBus`](crate::EventBus) built from the usual
//!   builder that records what was published (`bus.published::<GradePosted>()`,
//!   typed), how each handler's run on each event ended
//!   ([`HandlerRun`]: handled, failed N times, dead-lettered), and asserts
//!   with messages that show what happened instead (pii redacted).
//!   [`TestBus::settle`] waits until every handler is done, retries included;
//!   under `#[tokio::test(start_paused = true)]` (this feature turns on
//!   Tokio's `test-util`) backoff delays take no real time.
//! - **[`assert_handlers_match_catalog`]**: fails when the catalog declares
//!   a handler no `#[handler]` implements, or a `#[handler]` uses a name the
//!   catalog does not declare (with a did-you-mean for a typo).
//! - A temporary durable store for tests of the durable path is in
//!   `skillcore-events-store` behind its own `testing` feature
//!   (`skillcore_events::store::testing::TempStore`).
//!
//! ```
//! # mod events { skillcore_events::catalog!("tests/fixtures/mini.yaml"); }
//! use events::gradebook::GradePosted;
//! use skillcore_events::testing::{Outcome, TestBus};
//! use skillcore_events::{Envelope, EventBus, HandlerError, Metadata};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
//! let bus = TestBus::build(EventBus::builder().subscribe::<GradePosted, _, _>(
//!     "audit.reject_negative",
//!     |e, _| async move {
//!         if e.payload.score < 0.0 {
//!             return Err(HandlerError::msg("negative score"));
//!         }
//!         Ok(())
//!     },
//! ))
//! .unwrap();
//! let bad = GradePosted { score: -1.0, ..GradePosted::example() };
//! bus.publish(Envelope::new(bad, Metadata::new("dst-1", "sch-1"))).await.unwrap();
//! bus.settle().await; // three attempts, 2 s and 4 s of backoff: no real time
//! let run = bus.assert_dead_lettered("audit.reject_negative");
//! assert_eq!((run.attempts, run.failures()), (3, 3));
//! assert_eq!(bus.outcome("audit.reject_negative"), Some(Outcome::DeadLettered));
//! assert_eq!(bus.dead_letters_all().await.len(), 1);
//! # });
//! ```

mod bus;
mod catalog;
mod recorder;

pub use bus::{TestBus, SETTLE_LIMIT};
pub use catalog::{assert_handlers_match_catalog, catalog_report};
pub use recorder::{HandlerRun, Outcome};
