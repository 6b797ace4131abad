//! The event bus: publish envelopes, run every subscribed handler of the event
//! concurrently, retry failed handlers alone with exponential backoff, keep
//! what still fails in a dead-letter queue, and never run a handler twice for
//! one event.
//!
//! The bus is split in two so that the durable store can slot in behind the
//! same API:
//!
//! - the [`Dispatcher`] holds what every backend shares: the handler registry
//!   (indexed by event name), the resolved per-handler policies, and
//!   [`Dispatcher::run_attempt`] (one attempt with timeout, panic isolation,
//!   spans and log lines);
//! - a [`Backend`] decides where published events go and how deliveries are
//!   scheduled, retried, recorded and dead-lettered. The default,
//!   [`MemoryBackend`], does it all in process; a durable backend writes events
//!   and deliveries to a database and runs them from workers.

// Size: past 1,000 lines of several concerns (policy, backend interface,
// errors, catalog report, builder, bus); issue 12 splits it by concern.

mod exec;
mod log;
mod memory;

pub(crate) use exec::splitmix64 as mix64;
pub use exec::{run_attempt, AttemptOutcome};
pub use memory::{MemoryBackend, MemoryOptions};

use crate::envelope::{Envelope, RawEnvelope};
use crate::handler::{
    handler_fn, registered_handlers, BoxFuture, BoxHandler, DynEnvelope, HandlerContext,
    HandlerError, HandlerOptions, HandlerRegistration, States,
};
use crate::{Event, EventInfo, EventSet, Scope};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// How failed attempts are retried; the bus default, overridden per handler
/// by [`HandlerOptions`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, at least 1 (default 3, as the original system).
    pub attempts: u32,
    /// Delay before the first retry (default 2 s); doubled for each further one.
    pub backoff: Duration,
    /// Upper bound of one delay (default 5 min).
    pub max_backoff: Duration,
    /// Random spread of each delay, as a fraction: 0.2 draws each delay from
    /// ±20 % around its nominal value; 0 disables jitter (default 0.2).
    pub jitter: f64,
    /// Longest one attempt may run (default 30 s); `None` for no limit.
    pub timeout: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(300),
            jitter: 0.2,
            timeout: Some(Duration::from_secs(30)),
        }
    }
}

impl RetryPolicy {
    /// The nominal delay after failed attempt `attempt` (1-based), before jitter:
    /// `backoff * 2^(attempt-1)`, capped at `max_backoff`.
    pub fn nominal_delay(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(20);
        self.backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }

    /// The delay after failed attempt `attempt`, with jitter drawn from `seed`.
    pub fn delay(&self, attempt: u32, seed: u64) -> Duration {
        let nominal = self.nominal_delay(attempt);
        // A NaN or negative setting means no jitter, never a panic.
        if self.jitter.is_nan() || self.jitter <= 0.0 {
            return nominal;
        }
        let jitter = self.jitter.min(1.0);
        let unit = (exec::splitmix64(seed) >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
        let factor = 1.0 - jitter + 2.0 * jitter * unit;
        Duration::try_from_secs_f64(nominal.as_secs_f64() * factor).unwrap_or(nominal)
    }

    fn with(mut self, o: &HandlerOptions) -> Self {
        if let Some(r) = o.retries {
            self.attempts = r.saturating_add(1);
        }
        if let Some(b) = o.backoff {
            self.backoff = b;
        }
        if let Some(t) = o.timeout {
            self.timeout = Some(t);
        }
        self.attempts = self.attempts.max(1);
        self
    }
}

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
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// The handlers subscribed to one event.
pub type Route = Arc<[Arc<Subscriber>]>;

/// What every backend shares: the registry and the way one attempt is run.
#[derive(Debug)]
pub struct Dispatcher {
    routes: HashMap<&'static str, Route>,
    subscribers: Vec<Arc<Subscriber>>,
    catalog: Option<&'static [EventInfo]>,
    log: log::LogConfig,
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
        self.log.run_attempt(sub, envelope, cx).await
    }

    /// Writes the per-event line (`LOG_EVENTS`), pii fields redacted.
    pub fn log_publish(&self, envelope: &DynEnvelope, handlers: usize) {
        self.log.publish(self.catalog, envelope, handlers);
    }
}

/// A delivery that failed on every attempt (or was abandoned at shutdown).
#[derive(Clone, Debug, PartialEq)]
pub struct DeadLetter {
    /// Id of this dead letter.
    pub id: Uuid,
    /// The handler that failed.
    pub handler_id: String,
    /// The event, payload as JSON.
    pub envelope: RawEnvelope,
    /// Attempts made.
    pub attempts: u32,
    /// The last attempt's error.
    pub last_error: String,
    /// When it was dead-lettered.
    pub failed_at: DateTime<Utc>,
}

/// What `shutdown` achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShutdownReport {
    /// `true` when every in-flight handler finished before the deadline.
    pub completed: bool,
    /// Handler runs cut off at the deadline (each left a dead letter).
    pub abandoned: usize,
}

/// Where published events go and how their deliveries run. [`MemoryBackend`]
/// is the in-process default; the durable store implements it on SQL.
pub trait Backend: Send + Sync + 'static {
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

    /// The dead letters of the events in `scope` (by their metadata's
    /// district), oldest first.
    fn dead_letters(&self, scope: &Scope) -> BoxFuture<'_, Result<Vec<DeadLetter>, BusError>>;

    /// Runs a dead letter's handler again (with a fresh set of attempts) and
    /// removes it from the dead letters. A letter outside `scope` is
    /// [`BusError::NotFound`], as if it did not exist.
    fn retry_dead_letter(&self, scope: &Scope, id: Uuid) -> BoxFuture<'_, Result<(), BusError>>;

    /// Drops a dead letter. A letter outside `scope` is [`BusError::NotFound`].
    fn discard_dead_letter(&self, scope: &Scope, id: Uuid) -> BoxFuture<'_, Result<(), BusError>>;

    /// Resolves when no delivery is in flight (including retries waiting).
    fn idle(&self) -> BoxFuture<'_, ()>;

    /// Stops accepting events and waits up to `deadline` for in-flight
    /// handlers; what is still running then is abandoned.
    fn shutdown(&self, deadline: Duration) -> BoxFuture<'_, ShutdownReport>;
}

/// Makes a backend once the dispatcher is built.
pub type BackendFactory = Box<dyn FnOnce(Arc<Dispatcher>) -> Arc<dyn Backend> + Send>;

/// Publishing failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum PublishError {
    /// The bus is shutting down.
    ShuttingDown,
    /// Not called inside a Tokio runtime.
    NoRuntime,
    /// The backend failed (a durable store's I/O error).
    Backend(String),
    /// The backend failed with this error, kept as the [`source`] (a durable
    /// store's error, which leads to the I/O error of a refused connection).
    ///
    /// [`source`]: std::error::Error::source
    BackendError(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::ShuttingDown => f.write_str("the event bus is shutting down"),
            PublishError::NoRuntime => {
                f.write_str("the event bus must be used inside a Tokio runtime")
            }
            PublishError::Backend(m) => write!(f, "event backend failed: {m}"),
            PublishError::BackendError(e) => write!(f, "event backend failed: {e}"),
        }
    }
}

impl std::error::Error for PublishError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PublishError::BackendError(e) => Some(&**e),
            _ => None,
        }
    }
}

/// A dead-letter operation failed.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BusError {
    /// No dead letter has this id.
    NotFound(Uuid),
    /// The dead letter's handler is no longer registered.
    UnknownHandler(String),
    /// The bus is shutting down.
    ShuttingDown,
    /// The backend failed.
    Backend(String),
}

impl fmt::Display for BusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BusError::NotFound(id) => write!(f, "no dead letter with id {id}"),
            BusError::UnknownHandler(h) => write!(f, "handler `{h}` is not registered"),
            BusError::ShuttingDown => f.write_str("the event bus is shutting down"),
            BusError::Backend(m) => write!(f, "event backend failed: {m}"),
        }
    }
}

impl std::error::Error for BusError {}

/// One (event, handler) pair in a [`CatalogReport`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HandlerRef {
    /// Event name.
    pub event: String,
    /// Handler id.
    pub handler: String,
}

impl fmt::Display for HandlerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` for `{}`", self.handler, self.event)
    }
}

/// Registered handlers compared with the catalog's `handlers:` lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogReport {
    /// Declared in the catalog, not registered in this bus.
    pub missing: Vec<HandlerRef>,
    /// Registered, not declared in the catalog.
    pub undeclared: Vec<HandlerRef>,
    /// Registered for an event the catalog does not have.
    pub unknown_events: Vec<HandlerRef>,
}

impl CatalogReport {
    /// `true` when registrations and catalog agree.
    pub fn is_ok(&self) -> bool {
        self.missing.is_empty() && self.undeclared.is_empty() && self.unknown_events.is_empty()
    }
}

impl fmt::Display for CatalogReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ok() {
            return f.write_str("registered handlers match the catalog");
        }
        let mut first = true;
        let mut section = |f: &mut fmt::Formatter<'_>, title: &str, list: &[HandlerRef]| {
            if list.is_empty() {
                return Ok(());
            }
            if !first {
                f.write_str("\n")?;
            }
            first = false;
            write!(f, "{title} ({}):", list.len())?;
            for h in list {
                write!(f, "\n  {h}")?;
            }
            Ok(())
        };
        section(
            f,
            "declared in the catalog but not registered",
            &self.missing,
        )?;
        section(
            f,
            "registered but not declared in the catalog",
            &self.undeclared,
        )?;
        section(
            f,
            "registered for events the catalog does not have",
            &self.unknown_events,
        )
    }
}

/// Building the bus failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// A handler needs a state object that was not given with `with_state`.
    MissingState {
        /// Handler id.
        handler: String,
        /// Its event.
        event: String,
        /// The state's type.
        type_name: &'static str,
        /// Where the handler is defined.
        location: &'static str,
    },
    /// Two handlers with one id subscribe to the same event.
    DuplicateHandler {
        /// Handler id.
        handler: String,
        /// The event.
        event: String,
    },
    /// `require_catalog_match` is on and the registrations disagree with the catalog.
    CatalogMismatch(CatalogReport),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::MissingState {
                handler,
                event,
                type_name,
                location,
            } => write!(
                f,
                "handler `{handler}` for `{event}` ({location}) needs state of type `{type_name}`, \
                 which was not given: add `.with_state(Arc::new(...))` of that type to the builder"
            ),
            BuildError::DuplicateHandler { handler, event } => write!(
                f,
                "handler id `{handler}` is registered twice for `{event}`: handler ids must be \
                 unique per event (use `name = \"...\"` on the attribute)"
            ),
            BuildError::CatalogMismatch(report) => {
                write!(f, "the handlers do not match the catalog\n{report}")
            }
        }
    }
}

impl std::error::Error for BuildError {}

struct Pending {
    event: &'static str,
    id: &'static str,
    options: HandlerOptions,
    info: Option<&'static EventInfo>,
    origin: Origin,
    make: Make,
}

enum Make {
    Ready(BoxHandler),
    Registered(&'static HandlerRegistration),
}

/// Configures an [`EventBus`]. Start with [`EventBus::builder`].
pub struct EventBusBuilder {
    pending: Vec<Pending>,
    states: States,
    policy: RetryPolicy,
    catalog: Option<&'static [EventInfo]>,
    require_catalog_match: bool,
    idempotency_window: usize,
    dead_letter_capacity: usize,
    log: log::LogConfig,
    backend: Option<BackendFactory>,
}

impl Default for EventBusBuilder {
    fn default() -> Self {
        EventBusBuilder {
            pending: Vec::new(),
            states: States::default(),
            policy: RetryPolicy::default(),
            catalog: None,
            require_catalog_match: false,
            idempotency_window: 100_000,
            dead_letter_capacity: 10_000,
            log: log::LogConfig::from_env(),
            backend: None,
        }
    }
}

fn leak(s: impl Into<std::borrow::Cow<'static, str>>) -> &'static str {
    match s.into() {
        std::borrow::Cow::Borrowed(b) => b,
        // Registration happens once per bus: a handler id is a few bytes.
        std::borrow::Cow::Owned(o) => Box::leak(o.into_boxed_str()),
    }
}

impl EventBusBuilder {
    /// Registers every `#[handler]` function linked into the binary.
    ///
    /// ```
    /// let bus = skillcore_events::EventBus::builder().register_all();
    /// # let _ = bus;
    /// ```
    pub fn register_all(self) -> Self {
        self.register_where(|_| true)
    }

    /// Registers the `#[handler]` functions for which `keep` returns `true`
    /// (for example only one service's handlers, by id prefix).
    ///
    /// ```
    /// let bus = skillcore_events::EventBus::builder()
    ///     .register_where(|h| h.id.starts_with("analytics."));
    /// # let _ = bus;
    /// ```
    pub fn register_where(mut self, mut keep: impl FnMut(&HandlerRegistration) -> bool) -> Self {
        let mut regs: Vec<&'static HandlerRegistration> =
            registered_handlers().iter().filter(|r| keep(r)).collect();
        // Link order is unspecified: make registration order deterministic.
        regs.sort_by_key(|r| (r.event, r.id));
        for r in regs {
            self.pending.push(Pending {
                event: r.event,
                id: r.id,
                options: r.options,
                info: Some((r.info)()),
                origin: Origin::Attribute(r.location),
                make: Make::Registered(r),
            });
        }
        self
    }

    /// Registers one `#[handler]` entry (see [`crate::registered_handlers`]).
    ///
    /// ```
    /// let mut b = skillcore_events::EventBus::builder();
    /// for r in skillcore_events::registered_handlers() {
    ///     b = b.register(r);
    /// }
    /// ```
    pub fn register(mut self, registration: &'static HandlerRegistration) -> Self {
        self.pending.push(Pending {
            event: registration.event,
            id: registration.id,
            options: registration.options,
            info: Some((registration.info)()),
            origin: Origin::Attribute(registration.location),
            make: Make::Registered(registration),
        });
        self
    }

    /// Subscribes an async closure built at run time to event `E`.
    ///
    /// ```
    /// # mod events { skillcore_events::catalog!("tests/fixtures/mini.yaml"); }
    /// use skillcore_events::{EventBus, HandlerError};
    /// let bus = EventBus::builder()
    ///     .subscribe::<events::gradebook::GradePosted, _, _>("audit.log_grade", |event, _cx| async move {
    ///         println!("grade {}", event.payload.score);
    ///         Ok::<(), HandlerError>(())
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # let _ = bus;
    /// ```
    pub fn subscribe<E, F, Fut>(self, id: impl Into<std::borrow::Cow<'static, str>>, f: F) -> Self
    where
        E: Event,
        F: Fn(Arc<Envelope<E>>, HandlerContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        self.subscribe_with(id, HandlerOptions::new(), f)
    }

    /// Like [`EventBusBuilder::subscribe`], with per-handler options.
    ///
    /// ```
    /// # mod events { skillcore_events::catalog!("tests/fixtures/mini.yaml"); }
    /// use skillcore_events::{EventBus, HandlerError, HandlerOptions};
    /// use std::time::Duration;
    /// let bus = EventBus::builder()
    ///     .subscribe_with::<events::gradebook::GradePosted, _, _>(
    ///         "audit.log_grade",
    ///         HandlerOptions::new().retries(5).timeout(Duration::from_secs(1)),
    ///         |_event, _cx| async { Ok::<(), HandlerError>(()) },
    ///     )
    ///     .build()
    ///     .unwrap();
    /// # let _ = bus;
    /// ```
    pub fn subscribe_with<E, F, Fut>(
        mut self,
        id: impl Into<std::borrow::Cow<'static, str>>,
        options: HandlerOptions,
        f: F,
    ) -> Self
    where
        E: Event,
        F: Fn(Arc<Envelope<E>>, HandlerContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        self.pending.push(Pending {
            event: E::NAME,
            id: leak(id),
            options,
            info: Some(E::info()),
            origin: Origin::Runtime,
            make: Make::Ready(handler_fn::<E, F, Fut>(f)),
        });
        self
    }

    /// Subscribes an already type-erased handler to the event called `event`.
    ///
    /// ```
    /// use skillcore_events::{BoxFuture, DynEnvelope, DynHandler, EventBus, HandlerContext, HandlerError, HandlerOptions};
    /// use std::sync::Arc;
    /// struct Audit;
    /// impl DynHandler for Audit {
    ///     fn call(&self, env: &DynEnvelope, _cx: HandlerContext) -> BoxFuture<'static, Result<(), HandlerError>> {
    ///         let id = env.id();
    ///         Box::pin(async move { println!("{id}"); Ok(()) })
    ///     }
    /// }
    /// let bus = EventBus::builder()
    ///     .subscribe_dyn("any.event.happened", "audit.all", HandlerOptions::new(), Arc::new(Audit))
    ///     .build()
    ///     .unwrap();
    /// # let _ = bus;
    /// ```
    pub fn subscribe_dyn(
        mut self,
        event: impl Into<std::borrow::Cow<'static, str>>,
        id: impl Into<std::borrow::Cow<'static, str>>,
        options: HandlerOptions,
        handler: BoxHandler,
    ) -> Self {
        self.pending.push(Pending {
            event: leak(event),
            id: leak(id),
            options,
            info: None,
            origin: Origin::Runtime,
            make: Make::Ready(handler),
        });
        self
    }

    /// Gives the bus a shared state object; handlers taking `&T` as their
    /// second parameter receive it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// struct AnalyticsCtx { district: String }
    /// let bus = skillcore_events::EventBus::builder()
    ///     .with_state(Arc::new(AnalyticsCtx { district: "dst-1".into() }));
    /// # let _ = bus;
    /// ```
    pub fn with_state<T: Send + Sync + 'static>(mut self, state: Arc<T>) -> Self {
        self.states.insert(state);
        self
    }

    /// Sets the default retry policy (handlers' own options still win).
    ///
    /// ```
    /// use skillcore_events::{EventBus, RetryPolicy};
    /// use std::time::Duration;
    /// let bus = EventBus::builder().retry_policy(RetryPolicy {
    ///     attempts: 5,
    ///     backoff: Duration::from_millis(100),
    ///     ..RetryPolicy::default()
    /// });
    /// # let _ = bus;
    /// ```
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the default number of retries after the first attempt.
    ///
    /// ```
    /// let bus = skillcore_events::EventBus::builder().default_retries(4);
    /// # let _ = bus;
    /// ```
    pub fn default_retries(mut self, retries: u32) -> Self {
        self.policy.attempts = retries.saturating_add(1);
        self
    }

    /// Sets the default delay before the first retry.
    ///
    /// ```
    /// let bus = skillcore_events::EventBus::builder()
    ///     .default_backoff(std::time::Duration::from_millis(50));
    /// # let _ = bus;
    /// ```
    pub fn default_backoff(mut self, backoff: std::time::Duration) -> Self {
        self.policy.backoff = backoff;
        self
    }

    /// Sets the default per-attempt timeout (`None`: no limit).
    ///
    /// ```
    /// let bus = skillcore_events::EventBus::builder()
    ///     .default_timeout(Some(std::time::Duration::from_secs(5)));
    /// # let _ = bus;
    /// ```
    pub fn default_timeout(mut self, timeout: Option<std::time::Duration>) -> Self {
        self.policy.timeout = timeout;
        self
    }

    /// Sets the backoff jitter fraction (0 disables it).
    ///
    /// ```
    /// let bus = skillcore_events::EventBus::builder().jitter(0.0);
    /// # let _ = bus;
    /// ```
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.policy.jitter = fraction;
        self
    }

    /// How many events the in-process idempotency record remembers (default
    /// 100,000), each with the handlers that succeeded on it; the oldest are
    /// forgotten first (the record is sharded, so the bound is approximate to
    /// within one shard's share). 0 disables it.
    ///
    /// ```
    /// let bus = skillcore_events::EventBus::builder().idempotency_window(10_000);
    /// # let _ = bus;
    /// ```
    pub fn idempotency_window(mut self, entries: usize) -> Self {
        self.idempotency_window = entries;
        self
    }

    /// How many dead letters the in-process queue keeps (default 10,000); the
    /// oldest are dropped first, with an error line.
    ///
    /// ```
    /// let bus = skillcore_events::EventBus::builder().dead_letter_capacity(100);
    /// # let _ = bus;
    /// ```
    pub fn dead_letter_capacity(mut self, letters: usize) -> Self {
        self.dead_letter_capacity = letters;
        self
    }

    /// The runtime catalog (the generated `EVENTS`) for
    /// [`EventBus::verify_catalog`] and for redacting raw envelopes in logs.
    ///
    /// ```
    /// # mod events { skillcore_events::catalog!("tests/fixtures/mini.yaml"); }
    /// let bus = skillcore_events::EventBus::builder().catalog(events::EVENTS);
    /// # let _ = bus;
    /// ```
    pub fn catalog(mut self, events: &'static [EventInfo]) -> Self {
        self.catalog = Some(events);
        self
    }

    /// The runtime catalog of an `AnyEvent` type.
    ///
    /// ```
    /// # mod events { skillcore_events::catalog!("tests/fixtures/mini.yaml"); }
    /// let bus = skillcore_events::EventBus::builder().catalog_of::<events::AnyEvent>();
    /// # let _ = bus;
    /// ```
    pub fn catalog_of<S: EventSet>(self) -> Self {
        self.catalog(S::events())
    }

    /// Makes [`EventBusBuilder::build`] fail when the registered handlers do
    /// not match the catalog's `handlers:` lists (see [`EventBus::verify_catalog`]).
    ///
    /// ```
    /// # mod events { skillcore_events::catalog!("tests/fixtures/mini.yaml"); }
    /// let result = skillcore_events::EventBus::builder()
    ///     .catalog(events::EVENTS)
    ///     .require_catalog_match(true)
    ///     .build();
    /// assert!(result.is_ok()); // the mini catalog declares no handlers
    /// ```
    pub fn require_catalog_match(mut self, on: bool) -> Self {
        self.require_catalog_match = on;
        self
    }

    /// Turns the per-event info lines on or off (default: the `LOG_EVENTS`
    /// environment variable).
    ///
    /// ```
    /// let bus = skillcore_events::EventBus::builder().log_events(true);
    /// # let _ = bus;
    /// ```
    pub fn log_events(mut self, on: bool) -> Self {
        self.log.events = on;
        self
    }

    /// Turns the per-handler info lines on or off (default: the
    /// `LOG_EVENT_HANDLERS` environment variable).
    ///
    /// ```
    /// let bus = skillcore_events::EventBus::builder().log_handlers(true);
    /// # let _ = bus;
    /// ```
    pub fn log_handlers(mut self, on: bool) -> Self {
        self.log.handlers = on;
        self
    }

    /// Uses another backend than the in-process [`MemoryBackend`] (the durable
    /// store plugs in here).
    ///
    /// ```
    /// use skillcore_events::{EventBus, MemoryBackend, MemoryOptions};
    /// let bus = EventBus::builder()
    ///     .backend(|dispatcher| std::sync::Arc::new(MemoryBackend::new(dispatcher, MemoryOptions::default())))
    ///     .build()
    ///     .unwrap();
    /// # let _ = bus;
    /// ```
    pub fn backend(
        mut self,
        factory: impl FnOnce(Arc<Dispatcher>) -> Arc<dyn Backend> + Send + 'static,
    ) -> Self {
        self.backend = Some(Box::new(factory));
        self
    }

    /// Builds the bus: creates every handler, checking that the states they
    /// need were given, that no handler id repeats within an event, and (with
    /// [`EventBusBuilder::require_catalog_match`]) that the handlers match the
    /// catalog.
    ///
    /// ```
    /// let bus = skillcore_events::EventBus::builder().build().unwrap();
    /// # let _ = bus;
    /// ```
    pub fn build(self) -> Result<EventBus, BuildError> {
        let mut subscribers: Vec<Arc<Subscriber>> = Vec::with_capacity(self.pending.len());
        let mut by_event: HashMap<&'static str, Vec<Arc<Subscriber>>> = HashMap::new();
        for p in self.pending {
            let handler = match p.make {
                Make::Ready(h) => h,
                Make::Registered(r) => {
                    if let Some(st) = r.state {
                        if !self.states.contains((st.type_id)()) {
                            return Err(BuildError::MissingState {
                                handler: r.id.to_string(),
                                event: r.event.to_string(),
                                type_name: (st.type_name)(),
                                location: r.location,
                            });
                        }
                    }
                    (r.build)(&self.states).map_err(|m| BuildError::MissingState {
                        handler: r.id.to_string(),
                        event: r.event.to_string(),
                        type_name: m.type_name,
                        location: r.location,
                    })?
                }
            };
            let list = by_event.entry(p.event).or_default();
            if list.iter().any(|s| s.id == p.id) {
                return Err(BuildError::DuplicateHandler {
                    handler: p.id.to_string(),
                    event: p.event.to_string(),
                });
            }
            let sub = Arc::new(Subscriber {
                id: p.id,
                event: p.event,
                index: subscribers.len() as u32,
                slot: list.len() as u32,
                handler,
                policy: self.policy.with(&p.options),
                info: p.info,
                origin: p.origin,
            });
            list.push(Arc::clone(&sub));
            subscribers.push(sub);
        }
        let routes = by_event
            .into_iter()
            .map(|(k, v)| (k, Route::from(v)))
            .collect();
        let dispatcher = Arc::new(Dispatcher {
            routes,
            subscribers,
            catalog: self.catalog,
            log: self.log,
        });
        let report = verify(&dispatcher);
        if self.require_catalog_match && !report.is_ok() {
            return Err(BuildError::CatalogMismatch(report));
        }
        let backend: Arc<dyn Backend> = match self.backend {
            Some(f) => f(Arc::clone(&dispatcher)),
            None => Arc::new(MemoryBackend::new(
                Arc::clone(&dispatcher),
                MemoryOptions {
                    idempotency_window: self.idempotency_window,
                    dead_letter_capacity: self.dead_letter_capacity,
                },
            )),
        };
        Ok(EventBus {
            dispatcher,
            backend,
        })
    }
}

fn verify(d: &Dispatcher) -> CatalogReport {
    let mut report = CatalogReport::default();
    // Without an explicit catalog, compare with the entries of the events
    // that have handlers.
    let mut infos: Vec<&'static EventInfo> = match d.catalog {
        Some(c) => c.iter().collect(),
        None => d.subscribers.iter().filter_map(|s| s.info).collect(),
    };
    infos.sort_by_key(|i| i.name);
    infos.dedup_by_key(|i| i.name);
    for info in &infos {
        for declared in info.handlers {
            if d.subscriber(info.name, declared).is_none() {
                report.missing.push(HandlerRef {
                    event: info.name.into(),
                    handler: (*declared).into(),
                });
            }
        }
    }
    for s in &d.subscribers {
        let r = HandlerRef {
            event: s.event.into(),
            handler: s.id.into(),
        };
        match infos.iter().find(|i| i.name == s.event) {
            Some(info) if info.handlers.contains(&s.id) => {}
            Some(_) => report.undeclared.push(r),
            None => report.unknown_events.push(r),
        }
    }
    report.missing.sort();
    report.undeclared.sort();
    report.unknown_events.sort();
    report
}

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
    dispatcher: Arc<Dispatcher>,
    backend: Arc<dyn Backend>,
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
    pub async fn publish<E: Event>(&self, envelope: Envelope<E>) -> Result<Uuid, PublishError> {
        let id = envelope.id;
        self.backend.publish(DynEnvelope::new(envelope)).await?;
        Ok(id)
    }

    /// Publishes a batch of events of one type.
    pub async fn publish_all<E: Event>(
        &self,
        envelopes: impl IntoIterator<Item = Envelope<E>>,
    ) -> Result<(), PublishError> {
        let batch = envelopes.into_iter().map(DynEnvelope::new).collect();
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
    pub async fn retry_dead_letter(&self, scope: &Scope, id: Uuid) -> Result<(), BusError> {
        self.backend.retry_dead_letter(scope, id).await
    }

    /// Drops a dead letter. A letter of another district than `scope`'s is
    /// [`BusError::NotFound`].
    pub async fn discard_dead_letter(&self, scope: &Scope, id: Uuid) -> Result<(), BusError> {
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
        verify(&self.dispatcher)
    }

    /// The shared dispatch core (registry and attempt runner).
    pub fn dispatcher(&self) -> &Arc<Dispatcher> {
        &self.dispatcher
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
