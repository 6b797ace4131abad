//! The event bus: publish envelopes, run every subscribed handler of the event
//! concurrently, retry failed handlers alone with exponential backoff, keep
//! what still fails in a dead-letter queue, and never run a handler twice for
//! one event.
//!
//! One module per concern: [`policy`](RetryPolicy) (the retry rule),
//! `dispatch` (the handlers by event and the attempt runner every backend
//! shares), `backend` (the interface a backend implements), `dead_letter`,
//! `error`, `report` (the catalog check), `builder`, and `memory`, the
//! in-process backend. A durable backend (the store) implements the same
//! [`Backend`] interface, so the bus API is one whatever keeps the events.

mod backend;
mod builder;
mod dead_letter;
mod dispatch;
mod error;
mod exec;
mod log;
mod memory;
mod policy;
mod report;

// The testing kit's hooks (`crate::testing`).
#[cfg_attr(not(feature = "testing"), allow(unused_imports))]
pub(crate) use {dispatch::Observer, report::compare as compare_catalog};

pub use backend::{Backend, BackendConfig, BusOption, BusSettings};
pub use builder::EventBusBuilder;
pub use dead_letter::{DeadLetter, DeadLetterId, ParseDeadLetterIdError, ShutdownReport};
pub use dispatch::{Dispatcher, Origin, Route, Subscriber};
pub use error::{BoxError, BuildError, BusError, PublishError};
pub use exec::{panic_message, run_attempt, AttemptOutcome};
pub use memory::{MemoryBackend, MemoryOptions};
pub use policy::RetryPolicy;
pub use report::{CatalogReport, HandlerRef};

use crate::envelope::{DynEnvelope, IntoEnvelope, RawEnvelope};
use crate::Scope;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Delivers published events to their handlers. Cheap to clone (shared).
///
/// ```
/// # mod events { skillcore_events::catalog!("tests/fixtures/mini.yaml"); }
/// use skillcore_events::{Envelope, EventBus, HandlerError, Metadata};
/// # tokio_test();
/// # fn tokio_test() {
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
/// # rt.block_on(async {
/// let bus = EventBus::builder()
///     .subscribe::<events::gradebook::GradePosted, _, _>("audit.log", |e, _| async move {
///         assert_eq!(e.payload.score, 1.0);
///         Ok::<(), HandlerError>(())
///     })
///     .build()
///     .unwrap();
/// let payload = events::gradebook::GradePosted { result_id: "r".into(), score: 1.0 };
/// bus.publish(Envelope::new(payload, Metadata::new("d", "s"))).await.unwrap();
/// bus.idle().await;
/// # });
/// # }
/// ```
#[derive(Clone)]
pub struct EventBus {
    pub(crate) dispatcher: Arc<Dispatcher>,
    pub(crate) backend: Arc<dyn Backend>,
}

impl fmt::Debug for EventBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventBus")
            .field("subscribers", &self.dispatcher.subscribers)
            .finish_non_exhaustive()
    }
}

impl EventBus {
    /// Starts configuring a bus.
    ///
    /// ```
    /// let bus = skillcore_events::EventBus::builder().register_all().build().unwrap();
    /// # let _ = bus;
    /// ```
    pub fn builder() -> EventBusBuilder {
        EventBusBuilder::default()
    }

    /// Publishes one event to every handler subscribed to its name and returns
    /// its id. Returns once the backend accepted it (in process: at once);
    /// handlers run concurrently in the background, and a handler's failure or
    /// panic never reaches the publisher.
    ///
    /// It takes an [`Envelope`](crate::Envelope), or the bare payload of an event whose
    /// catalog entry says which payload fields hold its tenant metadata
    /// (`metadata:`; see [`TenantFromPayload`](crate::TenantFromPayload)).
    /// An envelope whose metadata disagrees with those fields is refused
    /// with [`PublishError::MetadataMismatch`] and not stored.
    pub async fn publish(&self, event: impl IntoEnvelope) -> Result<Uuid, PublishError> {
        let envelope = event.into_envelope()?;
        let id = envelope.id;
        self.backend.publish(DynEnvelope::new(envelope)).await?;
        Ok(id)
    }

    /// Publishes one event inside the caller's own sqlx transaction (the
    /// transactional outbox): the service's domain write and the event
    /// commit or roll back together. Pass the transaction's connection,
    /// `&mut *tx`. Handlers run once the caller commits. Needs a durable
    /// backend whose database the transaction is on; the in-process backend
    /// refuses with [`PublishError::Unsupported`], as does a connection of
    /// another kind than the backend's (a SQLite transaction on a
    /// PostgreSQL bus, or `&mut tx` instead of `&mut *tx`).
    ///
    /// ```
    /// # mod events { skillcore_events::catalog!("tests/fixtures/mini.yaml"); }
    /// # use skillcore_events::{Envelope, EventBus, Metadata, PublishError};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let bus = EventBus::builder().build().unwrap(); // in process: no transactions
    /// let mut not_a_connection = ();
    /// let grade = events::gradebook::GradePosted { result_id: "r-1".into(), score: 9.5 };
    /// let err = bus
    ///     .publish_in(&mut not_a_connection, Envelope::new(grade, Metadata::new("d", "s")))
    ///     .await
    ///     .unwrap_err();
    /// assert!(matches!(err, PublishError::Unsupported(_)));
    /// # });
    /// ```
    ///
    /// With a durable backend (see `skillcore_events::store::Durable`):
    ///
    /// ```no_run
    /// # mod events { skillcore_events::catalog!("tests/fixtures/mini.yaml"); }
    /// # use skillcore_events::{Envelope, EventBus, Metadata};
    /// # use skillcore_events::store::Durable;
    /// # async fn f(pool: sqlx::PgPool) -> Result<(), Box<dyn std::error::Error>> {
    /// let bus = EventBus::builder().backend(Durable::from_pool(pool.clone())).build()?;
    /// let grade = events::gradebook::GradePosted { result_id: "r-1".into(), score: 9.5 };
    /// let mut tx = pool.begin().await?;
    /// sqlx::query("UPDATE results SET score = $1 WHERE id = $2")
    ///     .bind(9.5)
    ///     .bind("r-1")
    ///     .execute(&mut *tx)
    ///     .await?;
    /// bus.publish_in(&mut *tx, Envelope::new(grade, Metadata::new("dst-1", "sch-1"))).await?;
    /// tx.commit().await?; // both, or neither
    /// # Ok(()) }
    /// ```
    pub async fn publish_in<C, P>(&self, connection: &mut C, event: P) -> Result<Uuid, PublishError>
    where
        C: std::any::Any + Send,
        P: IntoEnvelope,
    {
        let envelope = event.into_envelope()?;
        let id = envelope.id;
        self.backend
            .publish_in(connection, DynEnvelope::new(envelope))
            .await?;
        Ok(id)
    }

    /// Publishes a batch of events of one type (envelopes or bare payloads,
    /// as [`EventBus::publish`]); one that is refused refuses the batch.
    pub async fn publish_all<P: IntoEnvelope>(
        &self,
        events: impl IntoIterator<Item = P>,
    ) -> Result<(), PublishError> {
        let batch = events
            .into_iter()
            .map(|e| e.into_envelope().map(DynEnvelope::new))
            .collect::<Result<Vec<_>, _>>()?;
        self.backend.publish_batch(batch).await
    }

    /// Publishes an envelope whose payload is still JSON (a relay, a replay,
    /// a redelivery); each handler decodes it, and one that cannot is
    /// dead-lettered with the decode error.
    pub async fn publish_raw(&self, envelope: RawEnvelope) -> Result<Uuid, PublishError> {
        let id = envelope.id;
        self.backend.publish(DynEnvelope::raw(envelope)).await?;
        Ok(id)
    }

    /// Publishes a type-erased envelope.
    pub async fn publish_dyn(&self, envelope: DynEnvelope) -> Result<Uuid, PublishError> {
        let id = envelope.id();
        self.backend.publish(envelope).await?;
        Ok(id)
    }

    /// The dead letters of the events of `scope`'s district (all districts
    /// only with [`Scope::AllDistricts`]), oldest first. Each holds its whole
    /// event: never hand another district's letters to a caller.
    pub async fn dead_letters(&self, scope: &Scope) -> Result<Vec<DeadLetter>, BusError> {
        self.backend.dead_letters(scope).await
    }

    /// Runs a dead letter's handler again, with a fresh set of attempts. A
    /// letter of another district than `scope`'s is [`BusError::NotFound`].
    pub async fn retry_dead_letter(&self, scope: &Scope, id: DeadLetterId) -> Result<(), BusError> {
        self.backend.retry_dead_letter(scope, id).await
    }

    /// Drops a dead letter. A letter of another district than `scope`'s is
    /// [`BusError::NotFound`].
    pub async fn discard_dead_letter(
        &self,
        scope: &Scope,
        id: DeadLetterId,
    ) -> Result<(), BusError> {
        self.backend.discard_dead_letter(scope, id).await
    }

    /// Resolves when nothing is in flight: every handler of every published
    /// event has succeeded or been dead-lettered.
    pub async fn idle(&self) {
        self.backend.idle().await
    }

    /// Stops accepting events and waits up to `deadline` for in-flight
    /// handlers (retries included); handlers still running then are abandoned
    /// and dead-lettered.
    pub async fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        self.backend.shutdown(deadline).await
    }

    /// Compares the registered handlers with the catalog's `handlers:` lists
    /// (the catalog given with [`EventBusBuilder::catalog`], else the entries
    /// of the events that have handlers).
    pub fn verify_catalog(&self) -> CatalogReport {
        report::verify(&self.dispatcher)
    }

    /// The shared dispatch core (registry and attempt runner).
    pub fn dispatcher(&self) -> &Arc<Dispatcher> {
        &self.dispatcher
    }

    /// The backend the bus runs on. The crate that made it finds its own type
    /// again with a downcast (the durable store's `Store::of(&bus)` does):
    ///
    /// ```
    /// use skillcore_events::backend::MemoryBackend;
    /// use std::any::Any;
    /// let bus = skillcore_events::EventBus::builder().build().unwrap();
    /// let any: &dyn Any = bus.backend().as_ref();
    /// assert!(any.downcast_ref::<MemoryBackend>().is_some());
    /// ```
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// The handler ids subscribed to an event.
    pub fn handlers_of(&self, event: &str) -> Vec<&'static str> {
        self.dispatcher
            .route(event)
            .map(|r| r.iter().map(|s| s.id).collect())
            .unwrap_or_default()
    }
}

pub(crate) fn fmt_duration(d: Duration) -> String {
    if d.as_secs() >= 1 && d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else if d.as_millis() >= 1 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}µs", d.as_micros())
    }
}
