//! [`EventBusBuilder`]: handlers (registered by `#[handler]` or at run
//! time), states, the default policy, the catalog check, logging, and the
//! backend; `build` resolves each handler's policy and refuses options the
//! chosen backend would ignore.

use super::backend::{BackendConfig, BusOption, BusSettings};
use super::dispatch::{Dispatcher, Observer, Origin, Route, Subscriber};
use super::error::BuildError;
use super::log;
use super::memory::{MemoryBackend, MemoryOptions};
use super::policy::RetryPolicy;
use super::report::verify;
use super::EventBus;
use crate::envelope::Envelope;
use crate::handler::{
    handler_fn, registered_handlers, BoxHandler, HandlerContext, HandlerError, HandlerOptions,
    HandlerRegistration, States,
};
use crate::{Event, EventInfo, EventSet};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

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
    backend: Option<Box<dyn BackendConfig>>,
    /// The options set that a backend may refuse, in the order they were set.
    set: Vec<BusOption>,
    /// The testing kit's recorder.
    observer: Option<Arc<dyn Observer>>,
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
            set: Vec::new(),
            observer: None,
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
    /// use skillcore_events::backend::{BoxFuture, DynEnvelope, DynHandler};
    /// use skillcore_events::{EventBus, HandlerContext, HandlerError, HandlerOptions};
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
    ///
    /// In process only: a durable backend keeps every stored event (a
    /// re-publish of its id stores and runs nothing, even once finished
    /// deliveries are pruned) and tracks each delivery in a row of its own, so
    /// [`EventBusBuilder::build`] refuses this option there
    /// ([`BuildError::UnsupportedOption`]).
    pub fn idempotency_window(mut self, entries: usize) -> Self {
        self.idempotency_window = entries;
        self.set.push(BusOption::IdempotencyWindow);
        self
    }

    /// How many dead letters the in-process queue keeps (default 10,000); the
    /// oldest are dropped first, with an error line.
    ///
    /// ```
    /// let bus = skillcore_events::EventBus::builder().dead_letter_capacity(100);
    /// # let _ = bus;
    /// ```
    ///
    /// In process only: a durable backend keeps every dead letter in the
    /// store until it is retried or discarded, so [`EventBusBuilder::build`]
    /// refuses this option there ([`BuildError::UnsupportedOption`]).
    pub fn dead_letter_capacity(mut self, letters: usize) -> Self {
        self.dead_letter_capacity = letters;
        self.set.push(BusOption::DeadLetterCapacity);
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
    /// not match the catalog's `handlers:` lists (see [`EventBus::verify_catalog`]),
    /// with [`BuildError::CatalogMismatch`]: a handler declared in the
    /// catalog that no `#[handler]` implements, one registered under a name
    /// the catalog does not declare (a typo in `name = "…"`, shown with the
    /// declared name it is closest to), or one for an event the catalog does
    /// not have. Without it the bus still logs a warning for each at
    /// start-up (target `skillcore_events::bus::catalog`). Compared with
    /// the catalog given to [`EventBusBuilder::catalog`], else with the
    /// entries of the events that have handlers.
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

    /// Sets the testing kit's recorder (`testing::TestBus`).
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
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

    /// Where events go: the in-process [`MemoryBackend`] by default, or a
    /// durable store. The durable backends of `skillcore-events-store` are
    /// values of its `Durable` type, with their settings on the value:
    ///
    /// ```no_run
    /// use skillcore_events::EventBus;
    /// use skillcore_events::store::{Durable, PostgresCommit};
    /// use std::time::Duration;
    /// # async fn f(service_pool: sqlx::PgPool) -> Result<(), skillcore_events::BuildError> {
    /// // The embedded default: one SQLite file (created when missing).
    /// let bus = EventBus::builder()
    ///     .register_all()
    ///     .backend(Durable::sqlite("events.db").concurrency(64))
    ///     .build()?;
    ///
    /// // PostgreSQL, tables in their own schema, any number of worker processes.
    /// let bus = EventBus::builder()
    ///     .register_all()
    ///     .backend(
    ///         Durable::postgres("postgres://postgres@127.0.0.1:5432/test")
    ///             .schema("events")
    ///             .commit(PostgresCommit::Flushed)
    ///             .lease_margin(Duration::from_secs(5)),
    ///     )
    ///     .build()?;
    ///
    /// // On the pool the service already has: one set of connections for its
    /// // own writes and the bus (and `bus.publish_in(&mut *tx, ..)` in its
    /// // transactions).
    /// let bus = EventBus::builder()
    ///     .register_all()
    ///     .backend(Durable::from_pool(service_pool).schema("events"))
    ///     .build()?;
    ///
    /// // A process that only publishes; workers elsewhere run the handlers.
    /// let bus = EventBus::builder()
    ///     .backend(Durable::sqlite("events.db").run_workers(false))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    ///
    /// Any [`BackendConfig`] works, including a closure that makes the
    /// backend from the built [`Dispatcher`]:
    ///
    /// ```
    /// use skillcore_events::backend::{MemoryBackend, MemoryOptions};
    /// use skillcore_events::EventBus;
    /// let bus = EventBus::builder()
    ///     .backend(|dispatcher| std::sync::Arc::new(MemoryBackend::new(dispatcher, MemoryOptions::default())) as _)
    ///     .build()
    ///     .unwrap();
    /// # let _ = bus;
    /// ```
    ///
    /// Every option of this builder is honoured by every backend or refused
    /// by [`EventBusBuilder::build`] with [`BuildError::UnsupportedOption`],
    /// which names the option and the backend.
    pub fn backend(mut self, config: impl BackendConfig) -> Self {
        self.backend = Some(Box::new(config));
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
        if let Some(config) = &self.backend {
            for option in &self.set {
                if let Some(reason) = config.ignores(*option) {
                    return Err(BuildError::UnsupportedOption {
                        option: option.method(),
                        backend: config.describe(),
                        reason,
                    });
                }
            }
        }
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
                ordered: p.options.ordered,
                info: p.info,
                origin: p.origin,
            });
            list.push(Arc::clone(&sub));
            subscribers.push(sub);
        }
        // A renamed event's handlers also take envelopes under its old names
        // (stored before the rename, or relayed by an older producer).
        for (old, new) in crate::renames::RENAMES.iter() {
            if !by_event.contains_key(old) {
                if let Some(list) = by_event.get(new).cloned() {
                    by_event.insert(old, list);
                }
            }
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
            observer: self.observer,
            publisher: std::sync::OnceLock::new(),
        });
        let report = verify(&dispatcher);
        if self.require_catalog_match && !report.is_ok() {
            return Err(BuildError::CatalogMismatch(report));
        }
        super::report::warn_mismatches(&dispatcher, &report);
        let settings = BusSettings {
            idempotency_window: self.idempotency_window,
            dead_letter_capacity: self.dead_letter_capacity,
        };
        let backend = match self.backend {
            Some(config) => config.start(Arc::clone(&dispatcher), settings),
            None => Arc::new(MemoryBackend::new(
                Arc::clone(&dispatcher),
                MemoryOptions {
                    idempotency_window: settings.idempotency_window,
                    dead_letter_capacity: settings.dead_letter_capacity,
                },
            )),
        };
        let _ = dispatcher.publisher.set(Arc::downgrade(&backend));
        Ok(EventBus {
            dispatcher,
            backend,
        })
    }
}
