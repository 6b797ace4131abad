//! What every backend shares: the handlers by event, with their resolved
//! policy and ordering, and the way one attempt is run.

use super::exec::AttemptOutcome;
use super::log;
use super::policy::RetryPolicy;
use crate::envelope::DynEnvelope;
use crate::handler::{BoxHandler, HandlerContext};
use crate::EventInfo;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Where a subscriber came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `#[handler]`, at this `file:line`.
    Attribute(&'static str),
    /// `EventBusBuilder::subscribe` at run time.
    Runtime,
}

/// One handler subscribed to one event, with its policy resolved.
pub struct Subscriber {
    /// Stable handler id.
    pub id: &'static str,
    /// The event name.
    pub event: &'static str,
    /// Position in [`Dispatcher::subscribers`].
    pub index: u32,
    /// Position in its event's [`Route`].
    pub slot: u32,
    /// The handler.
    pub handler: BoxHandler,
    /// Retries, backoff and timeout.
    pub policy: RetryPolicy,
    /// The events of one aggregate are handled one at a time, in publish
    /// order ([`HandlerOptions::ordered`](crate::HandlerOptions#structfield.ordered)).
    pub ordered: bool,
    /// The event's catalog entry, when known.
    pub info: Option<&'static EventInfo>,
    /// Where it was registered.
    pub origin: Origin,
}

impl fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber")
            .field("id", &self.id)
            .field("event", &self.event)
            .field("policy", &self.policy)
            .field("ordered", &self.ordered)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// The handlers subscribed to one event.
pub type Route = Arc<[Arc<Subscriber>]>;

/// What every backend shares: the registry and the way one attempt is run.
#[derive(Debug)]
pub struct Dispatcher {
    pub(super) routes: HashMap<&'static str, Route>,
    pub(super) subscribers: Vec<Arc<Subscriber>>,
    pub(super) catalog: Option<&'static [EventInfo]>,
    pub(super) log: log::LogConfig,
    /// Watches publishes and attempts (the testing kit's recorder); `None`
    /// on every bus but a `TestBus`.
    pub(super) observer: Option<Arc<dyn Observer>>,
    /// The bus's backend, for follow-ups published from handlers
    /// (`HandlerContext::publish`); set once the backend is built.
    pub(super) publisher: std::sync::OnceLock<std::sync::Weak<dyn super::Backend>>,
}

/// Watches a bus at work: every event accepted for publishing and every
/// attempt of every handler, on any backend (both go through the
/// [`Dispatcher`]). The testing kit's `TestBus` records through it.
pub(crate) trait Observer: Send + Sync + fmt::Debug + 'static {
    /// An event was accepted for publishing.
    fn published(&self, envelope: &DynEnvelope);
    /// An attempt is about to run.
    fn attempt_started(&self, sub: &Subscriber, envelope: &DynEnvelope, cx: &HandlerContext);
    /// An attempt ended with `outcome`.
    fn attempt_ended(
        &self,
        sub: &Subscriber,
        envelope: &DynEnvelope,
        cx: &HandlerContext,
        outcome: &AttemptOutcome,
    );
}

impl Dispatcher {
    /// The handlers of an event (empty when none): one hash lookup, so
    /// handlers of other events cost nothing.
    pub fn route(&self, event: &str) -> Option<&Route> {
        self.routes.get(event)
    }

    /// Every subscriber, in registration order.
    pub fn subscribers(&self) -> &[Arc<Subscriber>] {
        &self.subscribers
    }

    /// A subscriber by handler id and event (a durable backend stores both).
    pub fn subscriber(&self, event: &str, handler_id: &str) -> Option<&Arc<Subscriber>> {
        self.route(event)?.iter().find(|s| s.id == handler_id)
    }

    /// The catalog the bus was given, if any.
    pub fn catalog(&self) -> Option<&'static [EventInfo]> {
        self.catalog
    }

    /// Runs one attempt of `sub` (timeout, panics caught), inside a span
    /// carrying the event id, name and handler id, writing the per-handler
    /// log lines when `LOG_EVENT_HANDLERS` is on.
    pub async fn run_attempt(
        &self,
        sub: &Subscriber,
        envelope: &DynEnvelope,
        cx: HandlerContext,
    ) -> AttemptOutcome {
        let Some(observer) = &self.observer else {
            return self.attempt(sub, envelope, cx).await;
        };
        observer.attempt_started(sub, envelope, &cx);
        let outcome = self.attempt(sub, envelope, cx).await;
        observer.attempt_ended(sub, envelope, &cx, &outcome);
        outcome
    }

    /// One attempt, with the event in reach of `HandlerContext::publish`.
    async fn attempt(
        &self,
        sub: &Subscriber,
        envelope: &DynEnvelope,
        cx: HandlerContext,
    ) -> AttemptOutcome {
        let cause = self.publisher.get().map(|p| crate::handler::Cause {
            envelope: envelope.clone(),
            publisher: p.clone(),
        });
        crate::handler::scoped(cause, self.log.run_attempt(sub, envelope, cx)).await
    }

    /// Writes the per-event line (`LOG_EVENTS`), pii fields redacted.
    pub fn log_publish(&self, envelope: &DynEnvelope, handlers: usize) {
        self.log.publish(self.catalog, envelope, handlers);
        if let Some(observer) = &self.observer {
            observer.published(envelope);
        }
    }
}
