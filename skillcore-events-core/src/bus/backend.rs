//! The interface between the bus and where its events go: [`Backend`] (what
//! a running backend does) and [`BackendConfig`] (what the builder is given
//! and turns into one, and which builder options it honours).

use super::dead_letter::{DeadLetter, DeadLetterId, ShutdownReport};
use super::dispatch::Dispatcher;
use super::error::{BusError, PublishError};
use crate::envelope::DynEnvelope;
use crate::handler::BoxFuture;
use crate::Scope;
use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Where published events go and how their deliveries run. The in-process
/// [`MemoryBackend`](super::MemoryBackend) is the default; the durable store
/// implements it on SQL. A backend is `Any`, so the crate that made it can
/// find it again behind an [`EventBus`](crate::EventBus) (see
/// [`EventBus::backend`](crate::EventBus::backend)).
pub trait Backend: Any + Send + Sync + 'static {
    /// Accepts one event for delivery to the handlers of its name.
    fn publish(&self, event: DynEnvelope) -> BoxFuture<'_, Result<(), PublishError>>;

    /// Accepts a batch (a durable backend writes it in one transaction).
    fn publish_batch(&self, events: Vec<DynEnvelope>) -> BoxFuture<'_, Result<(), PublishError>> {
        Box::pin(async move {
            for e in events {
                self.publish(e).await?;
            }
            Ok(())
        })
    }

    /// Writes one event in the caller's own open transaction, reached through
    /// `connection` (for an sqlx transaction `tx`, `&mut *tx`: a
    /// `SqliteConnection` or `PgConnection`), so the caller's writes and the
    /// event commit or roll back together: the transactional outbox. The
    /// default refuses ([`PublishError::Unsupported`]): only a backend that
    /// stores events in the caller's database can take part in its
    /// transaction.
    fn publish_in<'a>(
        &'a self,
        connection: &'a mut (dyn Any + Send),
        event: DynEnvelope,
    ) -> BoxFuture<'a, Result<(), PublishError>> {
        let _ = (connection, event);
        Box::pin(std::future::ready(Err(PublishError::Unsupported(
            "this bus's backend keeps no events in a database, so it cannot publish inside a \
             transaction: build the bus with a durable backend (`Durable::sqlite`, \
             `Durable::postgres`, `Durable::from_pool`) to use `publish_in`"
                .into(),
        ))))
    }

    /// The dead letters of the events in `scope` (by their metadata's
    /// district), oldest first.
    fn dead_letters(&self, scope: &Scope) -> BoxFuture<'_, Result<Vec<DeadLetter>, BusError>>;

    /// Runs a dead letter's handler again (with a fresh set of attempts) and
    /// removes it from the dead letters. A letter outside `scope` is
    /// [`BusError::NotFound`], as if it did not exist.
    fn retry_dead_letter(
        &self,
        scope: &Scope,
        id: DeadLetterId,
    ) -> BoxFuture<'_, Result<(), BusError>>;

    /// Drops a dead letter. A letter outside `scope` is [`BusError::NotFound`].
    fn discard_dead_letter(
        &self,
        scope: &Scope,
        id: DeadLetterId,
    ) -> BoxFuture<'_, Result<(), BusError>>;

    /// Resolves when no delivery is in flight (including retries waiting).
    fn idle(&self) -> BoxFuture<'_, ()>;

    /// Stops accepting events and waits up to `deadline` for in-flight
    /// handlers; what is still running then is abandoned.
    fn shutdown(&self, deadline: Duration) -> BoxFuture<'_, ShutdownReport>;
}

/// A builder option that some backend does not honour. The builder records
/// which ones were set, and [`EventBusBuilder::build`](crate::EventBusBuilder::build)
/// refuses an option the chosen backend would silently ignore
/// ([`BuildError::UnsupportedOption`](crate::BuildError::UnsupportedOption)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BusOption {
    /// [`EventBusBuilder::idempotency_window`](crate::EventBusBuilder::idempotency_window).
    IdempotencyWindow,
    /// [`EventBusBuilder::dead_letter_capacity`](crate::EventBusBuilder::dead_letter_capacity).
    DeadLetterCapacity,
}

impl BusOption {
    /// Every option a backend may refuse.
    pub const ALL: [BusOption; 2] = [BusOption::IdempotencyWindow, BusOption::DeadLetterCapacity];

    /// The builder method that sets it.
    pub const fn method(self) -> &'static str {
        match self {
            BusOption::IdempotencyWindow => "idempotency_window",
            BusOption::DeadLetterCapacity => "dead_letter_capacity",
        }
    }
}

impl fmt::Display for BusOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`.{}(..)`", self.method())
    }
}

/// The in-process settings the builder collects for the default backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BusSettings {
    /// [`EventBusBuilder::idempotency_window`](crate::EventBusBuilder::idempotency_window).
    pub idempotency_window: usize,
    /// [`EventBusBuilder::dead_letter_capacity`](crate::EventBusBuilder::dead_letter_capacity).
    pub dead_letter_capacity: usize,
}

/// What [`EventBusBuilder::backend`](crate::EventBusBuilder::backend) takes:
/// a description of a backend, made into one once the handlers are known.
/// The durable store's `Durable` implements it; so does any
/// `FnOnce(Arc<Dispatcher>) -> Arc<dyn Backend>`.
pub trait BackendConfig: Send + 'static {
    /// What the backend is, for error messages ("the durable SQLite
    /// backend").
    fn describe(&self) -> String;

    /// Why this backend ignores `option`, or `None` when it honours it.
    fn ignores(&self, option: BusOption) -> Option<&'static str> {
        let _ = option;
        None
    }

    /// Makes the backend for the built dispatcher.
    fn start(
        self: Box<Self>,
        dispatcher: Arc<Dispatcher>,
        settings: BusSettings,
    ) -> Arc<dyn Backend>;
}

impl<F> BackendConfig for F
where
    F: FnOnce(Arc<Dispatcher>) -> Arc<dyn Backend> + Send + 'static,
{
    fn describe(&self) -> String {
        "a custom backend".into()
    }

    fn ignores(&self, _: BusOption) -> Option<&'static str> {
        Some("a backend made by a closure is not given the builder's in-process settings")
    }

    fn start(self: Box<Self>, dispatcher: Arc<Dispatcher>, _: BusSettings) -> Arc<dyn Backend> {
        (*self)(dispatcher)
    }
}
