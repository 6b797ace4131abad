//! The durable backend of [`skillcore_events::EventBus`]: the same bus API, with
//! every event written to the store and every delivery run by workers from the
//! database.
//!
//! ```no_run
//! use skillcore_events::EventBus;
//! use skillcore_events_store::DurableBus;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let bus = EventBus::builder()
//!     .register_all()
//!     .sqlite("events.db") // or .postgres("postgres://…", None)
//!     .build()?;
//! # Ok(()) }
//! ```

use crate::worker::{Failure, Policy, Worker};
use crate::{
    Durability, NewEvent, PostgresCommit, Scope, Store, StoreError, StoredEvent, Subscriber,
};
use serde::Deserialize;
use skillcore_events::backend::{Backend, BoxFuture, Dispatcher, DynEnvelope};
use skillcore_events::{
    BusError, DeadLetter, DeadLetterId, EventBusBuilder, HandlerContext, Metadata, PublishError,
    RawEnvelope, ShutdownReport,
};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, OnceCell};
use uuid::Uuid;

/// Where the durable backend keeps its data.
#[derive(Clone, Debug)]
pub enum Target {
    /// A SQLite file.
    Sqlite(PathBuf, Durability),
    /// A PostgreSQL database, optionally in its own schema.
    Postgres {
        /// Connection URL.
        url: String,
        /// Schema to use (created when missing).
        schema: Option<String>,
        /// How commits are made durable ([`PostgresCommit::Flushed`] by default).
        commit: PostgresCommit,
    },
    /// A store already open.
    Open(Store),
}

/// Options of the durable backend.
#[derive(Clone, Debug)]
pub struct DurableOptions {
    /// Run workers in this process (default). A process that only publishes can
    /// turn them off; other processes on the same database then do the work.
    pub run_workers: bool,
    /// Deliveries run at once by this process (default 32).
    pub concurrency: usize,
    /// Deliveries claimed ahead of free slots, in the same round trip (default:
    /// as many as `concurrency`). See [`crate::WorkerBuilder::prefetch`].
    pub prefetch: Option<usize>,
    /// How long after a handler's timeout a dead worker's lease runs out
    /// (default 10 s).
    pub lease_margin: Duration,
    /// How often an idle worker looks for work no wake-up announced (default
    /// 200 ms).
    pub idle_poll: Duration,
    /// Handlers that need the events of one aggregate one at a time, in order.
    pub ordered_handlers: HashSet<String>,
}

impl Default for DurableOptions {
    fn default() -> Self {
        DurableOptions {
            run_workers: true,
            concurrency: 32,
            prefetch: None,
            lease_margin: Duration::from_secs(10),
            idle_poll: Duration::from_millis(200),
            ordered_handlers: HashSet::new(),
        }
    }
}

/// Adds the durable backends to [`EventBusBuilder`].
pub trait DurableBus: Sized {
    /// Events and deliveries in a SQLite file (WAL, `synchronous=NORMAL`), the
    /// embedded default.
    fn sqlite(self, path: impl Into<PathBuf>) -> Self;
    /// Events and deliveries in PostgreSQL, shared by any number of processes,
    /// every commit flushed ([`PostgresCommit::Flushed`]; for
    /// [`PostgresCommit::Asynchronous`], use [`DurableBus::durable`] with
    /// [`Target::Postgres`]).
    fn postgres(self, url: impl Into<String>, schema: Option<&str>) -> Self;
    /// Any target, with options.
    fn durable(self, target: Target, options: DurableOptions) -> Self;
}

impl DurableBus for EventBusBuilder {
    fn sqlite(self, path: impl Into<PathBuf>) -> Self {
        self.durable(
            Target::Sqlite(path.into(), Durability::Normal),
            DurableOptions::default(),
        )
    }

    fn postgres(self, url: impl Into<String>, schema: Option<&str>) -> Self {
        self.durable(
            Target::Postgres {
                url: url.into(),
                schema: schema.map(str::to_string),
                commit: PostgresCommit::Flushed,
            },
            DurableOptions::default(),
        )
    }

    fn durable(self, target: Target, options: DurableOptions) -> Self {
        self.backend(move |dispatcher: Arc<Dispatcher>| {
            let backend = SqlBackend::new(target, options, dispatcher);
            backend.start_if_in_runtime();
            backend as Arc<dyn Backend>
        })
    }
}

/// The durable backend. Opens the store on first use (the builder is not async),
/// then runs workers in the background.
pub struct SqlBackend {
    me: std::sync::Weak<SqlBackend>,
    target: Target,
    options: DurableOptions,
    dispatcher: Arc<Dispatcher>,
    store: OnceCell<Store>,
    started: AtomicBool,
    stop: watch::Sender<bool>,
    worker: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl SqlBackend {
    /// A backend for `target`; nothing is opened until it is used.
    pub fn new(target: Target, options: DurableOptions, dispatcher: Arc<Dispatcher>) -> Arc<Self> {
        Arc::new_cyclic(|me| SqlBackend {
            me: me.clone(),
            target,
            options,
            dispatcher,
            store: OnceCell::new(),
            started: AtomicBool::new(false),
            stop: watch::channel(false).0,
            worker: Mutex::new(None),
        })
    }

    fn start_if_in_runtime(self: &Arc<Self>) {
        if tokio::runtime::Handle::try_current().is_ok() {
            self.start();
        }
    }

    /// The store, opened (and migrated) on first call.
    pub async fn store(&self) -> Result<&Store, StoreError> {
        self.store
            .get_or_try_init(|| async {
                match &self.target {
                    Target::Sqlite(path, d) => Store::sqlite_with(path, *d).await,
                    Target::Postgres {
                        url,
                        schema,
                        commit,
                    } => Store::postgres_with(url, schema.as_deref(), *commit).await,
                    Target::Open(store) => Ok(store.clone()),
                }
            })
            .await
    }

    /// Starts the workers (once); called by the builder inside a runtime, and by
    /// every operation otherwise.
    pub fn start(self: &Arc<Self>) {
        if !self.options.run_workers || self.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            self.started.store(false, Ordering::SeqCst);
            return;
        };
        let this = Arc::clone(self);
        let task = handle.spawn(async move { this.run_workers().await });
        *self.worker.lock().unwrap_or_else(|e| e.into_inner()) = Some(task);
    }

    async fn run_workers(self: Arc<Self>) {
        let mut pause = Duration::from_millis(100);
        let store = loop {
            match self.store().await {
                Ok(s) => break s.clone(),
                Err(e) => {
                    eprintln!(
                        "skillcore-events: cannot open the event store: {e}; retrying in {pause:?}"
                    );
                    let mut stop = self.stop.subscribe();
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = stop.wait_for(|s| *s) => return,
                    }
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
            }
        };
        let worker = self.worker(store);
        let mut stop = self.stop.subscribe();
        worker
            .run(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
    }

    fn worker(&self, store: Store) -> Worker {
        // Short (every claimed row carries it) and unique among processes: the
        // process id and 32 random bits.
        let id = format!(
            "{}-{:08x}",
            std::process::id(),
            Uuid::now_v7().as_u64_pair().1 as u32
        );
        let mut b = Worker::builder(store, id)
            .concurrency(self.options.concurrency)
            .lease_margin(self.options.lease_margin)
            .idle_poll(self.options.idle_poll);
        if let Some(n) = self.options.prefetch {
            b = b.prefetch(n);
        }
        let mut seen = HashSet::new();
        for sub in self.dispatcher.subscribers() {
            if !seen.insert(sub.id) {
                continue;
            }
            let p = &sub.policy;
            let policy = Policy {
                max_attempts: p.attempts.max(1),
                backoff: p.backoff,
                max_backoff: p.max_backoff,
                // The dispatcher enforces the handler's own timeout; this one only
                // bounds the lease.
                timeout: p.timeout.unwrap_or(Duration::from_secs(3600)) + Duration::from_secs(1),
                ordered: self.options.ordered_handlers.contains(sub.id),
            };
            let dispatcher = Arc::clone(&self.dispatcher);
            let handler_id: &'static str = sub.id;
            b = b.handler(
                handler_id,
                policy,
                move |event: Arc<StoredEvent>, attempt: u32| {
                    let dispatcher = Arc::clone(&dispatcher);
                    async move { run_delivery(&dispatcher, handler_id, event, attempt).await }
                },
            );
        }
        b.build()
    }

    fn subscribers<'a>(&'a self, event_type: &str) -> Vec<Subscriber<'a>> {
        match self.dispatcher.route(event_type) {
            Some(route) => route
                .iter()
                .map(|s| Subscriber {
                    handler_id: s.id,
                    ordered: self.options.ordered_handlers.contains(s.id),
                })
                .collect(),
            None => Vec::new(),
        }
    }

    async fn append(self: &Arc<Self>, envs: Vec<DynEnvelope>) -> Result<(), PublishError> {
        if *self.stop.borrow() {
            return Err(PublishError::ShuttingDown);
        }
        self.start();
        let mut raws = Vec::with_capacity(envs.len());
        for env in &envs {
            let raw = env.to_raw().map_err(|e| PublishError::Encode(e))?;
            self.dispatcher.log_publish(
                env,
                self.dispatcher
                    .route(&raw.event_type)
                    .map_or(0, |r| r.len()),
            );
            raws.push(raw);
        }
        // The store's error stays the source (down to a refused connection's
        // I/O error).
        let store = self
            .store()
            .await
            .map_err(|e| PublishError::Backend(Box::new(e)))?;
        store
            .append_raw(&raws, |t| self.subscribers(t))
            .await
            .map_err(|e| PublishError::Backend(Box::new(e)))?;
        Ok(())
    }
}

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

async fn run_delivery(
    dispatcher: &Dispatcher,
    handler_id: &'static str,
    event: Arc<StoredEvent>,
    attempt: u32,
) -> Result<(), Failure> {
    let Some(sub) = dispatcher
        .subscriber(&event.event.event_type, handler_id)
        .cloned()
    else {
        return Err(Failure::Retry(format!(
            "handler `{handler_id}` is not subscribed to `{}` in this process",
            event.event.event_type
        )));
    };
    let raw = raw_envelope(&event).map_err(Failure::Dead)?;
    let env = DynEnvelope::raw(raw);
    let cx = HandlerContext {
        handler_id: sub.id,
        event_id: event.event.id,
        attempt,
        max_attempts: sub.policy.attempts.max(1),
    };
    let outcome = dispatcher.run_attempt(&sub, &env, cx).await;
    if outcome.is_success() {
        Ok(())
    } else if outcome.is_permanent() {
        Err(Failure::Dead(outcome.error_text()))
    } else {
        Err(Failure::Retry(outcome.error_text()))
    }
}

impl Backend for SqlBackend {
    fn publish(&self, event: DynEnvelope) -> BoxFuture<'_, Result<(), PublishError>> {
        self.publish_batch(vec![event])
    }

    fn publish_batch(&self, events: Vec<DynEnvelope>) -> BoxFuture<'_, Result<(), PublishError>> {
        Box::pin(async move {
            let this = self.arc();
            this.append(events).await
        })
    }

    fn dead_letters(&self, scope: &Scope) -> BoxFuture<'_, Result<Vec<DeadLetter>, BusError>> {
        let scope = scope.clone();
        Box::pin(async move {
            let store = self.store().await.map_err(backend_err)?;
            let letters = store
                .dead_letters(&scope, None, 10_000)
                .await
                .map_err(backend_err)?;
            letters
                .into_iter()
                .map(|d| {
                    Ok(DeadLetter {
                        id: DeadLetterId::from_number(d.delivery_id),
                        handler_id: d.handler_id,
                        envelope: raw_envelope(&d.event)
                            .map_err(|e| BusError::Backend(e.into()))?,
                        attempts: d.attempts,
                        last_error: d.last_error,
                        failed_at: d.failed_at,
                    })
                })
                .collect()
        })
    }

    fn retry_dead_letter(
        &self,
        scope: &Scope,
        id: DeadLetterId,
    ) -> BoxFuture<'_, Result<(), BusError>> {
        Box::pin(self.dead_letter_op(scope.clone(), id, true))
    }

    fn discard_dead_letter(
        &self,
        scope: &Scope,
        id: DeadLetterId,
    ) -> BoxFuture<'_, Result<(), BusError>> {
        Box::pin(self.dead_letter_op(scope.clone(), id, false))
    }

    fn idle(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.arc().start();
            let Ok(store) = self.store().await else {
                return;
            };
            let mine: Vec<&str> = self
                .dispatcher
                .subscribers()
                .iter()
                .map(|s| s.id)
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let mut pause = Duration::from_millis(2);
            while let Ok(true) = store.has_pending(&mine).await {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(50));
            }
        })
    }

    fn shutdown(&self, deadline: Duration) -> BoxFuture<'_, ShutdownReport> {
        Box::pin(async move {
            let _ = self.stop.send(true);
            let task = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take();
            let completed = match task {
                Some(t) => tokio::time::timeout(deadline, t).await.is_ok(),
                None => true,
            };
            // Whatever was still running keeps its lease; it runs again elsewhere
            // (or after a restart) once the lease runs out. Nothing is lost.
            ShutdownReport {
                completed,
                abandoned: 0,
            }
        })
    }
}

fn backend_err(e: StoreError) -> BusError {
    BusError::Backend(Box::new(e))
}

impl SqlBackend {
    /// Retries (`retry`) or discards a dead letter addressed by its bus UUID,
    /// if it is one of an event in `scope`.
    async fn dead_letter_op(
        &self,
        scope: Scope,
        id: DeadLetterId,
        retry: bool,
    ) -> Result<(), BusError> {
        let store = self.store().await.map_err(backend_err)?;
        let found = match id.as_number() {
            Some(d) if retry => store.retry_dead(&scope, d).await.map_err(backend_err)?,
            Some(d) => store.discard_dead(&scope, d).await.map_err(backend_err)?,
            None => false,
        };
        if found {
            Ok(())
        } else {
            Err(BusError::NotFound(id))
        }
    }

    // The trait hands out `&self`; the backend only ever lives in the `Arc` made
    // by `SqlBackend::new`, which keeps a weak reference to itself for spawning.
    fn arc(&self) -> Arc<Self> {
        self.me.upgrade().expect("SqlBackend lives in an Arc")
    }
}

/// A connection that events can be written through inside its current
/// transaction: `SqliteConnection` or `PgConnection` (what `&mut *tx` gives for an
/// sqlx transaction).
pub trait Outbox: Send {
    /// Writes the events and their deliveries in the connection's transaction.
    fn append_events<'a>(
        &'a mut self,
        events: &'a [NewEvent],
        subscribers: &'a (dyn Fn(&str) -> Vec<Subscriber<'a>> + Sync),
    ) -> BoxFuture<'a, Result<Vec<i64>, StoreError>>;
}

impl Outbox for sqlx::SqliteConnection {
    fn append_events<'a>(
        &'a mut self,
        events: &'a [NewEvent],
        subscribers: &'a (dyn Fn(&str) -> Vec<Subscriber<'a>> + Sync),
    ) -> BoxFuture<'a, Result<Vec<i64>, StoreError>> {
        Box::pin(crate::append_sqlite(self, events, subscribers))
    }
}

impl Outbox for sqlx::PgConnection {
    fn append_events<'a>(
        &'a mut self,
        events: &'a [NewEvent],
        subscribers: &'a (dyn Fn(&str) -> Vec<Subscriber<'a>> + Sync),
    ) -> BoxFuture<'a, Result<Vec<i64>, StoreError>> {
        Box::pin(crate::append_postgres(self, events, subscribers))
    }
}

/// The transactional outbox on the bus: publish inside the caller's own sqlx
/// transaction, so a service's domain write and its events commit or roll back
/// together.
///
/// ```no_run
/// # use skillcore_events::{Envelope, EventBus, Event};
/// # use skillcore_events_store::PublishIn;
/// # async fn post<E: Event>(bus: &EventBus, store: &skillcore_events_store::Store, envelope: Envelope<E>) -> Result<(), Box<dyn std::error::Error>> {
/// let pool = store.sqlite_pool().unwrap();
/// let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
/// sqlx::query("INSERT INTO results (id, score) VALUES (?, ?)").bind("r-1").bind(9.5).execute(&mut *tx).await?;
/// bus.publish_in(&mut *tx, envelope).await?;
/// tx.commit().await?; // both, or neither
/// # Ok(()) }
/// ```
pub trait PublishIn {
    /// Writes the event and a delivery for each of its handlers in `conn`'s
    /// transaction. Workers see it once the caller commits (PostgreSQL workers are
    /// woken at commit; SQLite workers within their poll interval).
    fn publish_in<'a, C, E>(
        &'a self,
        conn: &'a mut C,
        envelope: skillcore_events::Envelope<E>,
    ) -> BoxFuture<'a, Result<Uuid, PublishError>>
    where
        C: Outbox + ?Sized,
        E: skillcore_events::Event;
}

impl PublishIn for skillcore_events::EventBus {
    fn publish_in<'a, C, E>(
        &'a self,
        conn: &'a mut C,
        envelope: skillcore_events::Envelope<E>,
    ) -> BoxFuture<'a, Result<Uuid, PublishError>>
    where
        C: Outbox + ?Sized,
        E: skillcore_events::Event,
    {
        Box::pin(async move {
            let raw = envelope.to_raw().map_err(|e| PublishError::Encode(e))?;
            let id = raw.id;
            let event = new_event(&raw).map_err(|e| PublishError::Backend(e.into()))?;
            let dispatcher = self.dispatcher();
            let subscribers = |t: &str| -> Vec<Subscriber<'_>> {
                dispatcher
                    .route(t)
                    .map(|r| {
                        r.iter()
                            .map(|s| Subscriber {
                                handler_id: s.id,
                                ordered: false,
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            };
            conn.append_events(std::slice::from_ref(&event), &subscribers)
                .await
                .map_err(|e| PublishError::Backend(Box::new(e)))?;
            Ok(id)
        })
    }
}
