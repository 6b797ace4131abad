//! [`DurableBackend`]: the bus's [`Backend`] on a [`Store`]. It opens the
//! store on first use (the builder is not async), writes every published
//! event with one delivery per subscribed handler, runs a worker in the
//! background, and takes part in the caller's transaction for the outbox.

use super::config::{Target, WorkerOptions};
use super::raw_envelope;
use crate::worker::{Failure, Policy, Worker};
use crate::{Scope, Store, StoreError, StoredEvent, Subscriber};
use skillcore_events::backend::{Backend, BoxFuture, Dispatcher, DynEnvelope};
use skillcore_events::{
    BusError, DeadLetter, DeadLetterId, HandlerContext, PublishError, ShutdownReport,
};
use std::any::Any;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, OnceCell};
use uuid::Uuid;

/// The durable backend. Opens the store on first use (the builder is not async),
/// then runs workers in the background.
pub struct DurableBackend {
    me: std::sync::Weak<DurableBackend>,
    target: Target,
    options: WorkerOptions,
    dispatcher: Arc<Dispatcher>,
    store: OnceCell<Store>,
    started: AtomicBool,
    stop: watch::Sender<bool>,
    worker: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl DurableBackend {
    /// A backend for `target`; nothing is opened until it is used.
    pub(crate) fn new(
        target: Target,
        options: WorkerOptions,
        dispatcher: Arc<Dispatcher>,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| DurableBackend {
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

    pub(crate) fn start_if_in_runtime(self: &Arc<Self>) {
        if tokio::runtime::Handle::try_current().is_ok() {
            self.start();
        }
    }

    /// The store, opened (and migrated) on first call.
    pub async fn store(&self) -> Result<&Store, StoreError> {
        self.store.get_or_try_init(|| self.target.open()).await
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
                    tracing::warn!(
                        error = %e,
                        retry_in = ?pause,
                        "skillcore-events: cannot open the event store; retrying"
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
                jitter: p.jitter,
                // The dispatcher enforces the handler's own timeout; this one only
                // bounds the lease.
                timeout: p.timeout.unwrap_or(Duration::from_secs(3600)) + Duration::from_secs(1),
                ordered: sub.ordered,
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
                    ordered: s.ordered,
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
            let raw = env.to_raw().map_err(PublishError::Encode)?;
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

impl Backend for DurableBackend {
    fn publish(&self, event: DynEnvelope) -> BoxFuture<'_, Result<(), PublishError>> {
        self.publish_batch(vec![event])
    }

    fn publish_batch(&self, events: Vec<DynEnvelope>) -> BoxFuture<'_, Result<(), PublishError>> {
        Box::pin(async move {
            let this = self.arc();
            this.append(events).await
        })
    }

    fn publish_in<'a>(
        &'a self,
        connection: &'a mut (dyn Any + Send),
        event: DynEnvelope,
    ) -> BoxFuture<'a, Result<(), PublishError>> {
        Box::pin(self.outbox(connection, event))
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

impl DurableBackend {
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
    // by `DurableBackend::new`, which keeps a weak reference to itself for spawning.
    fn arc(&self) -> Arc<Self> {
        self.me.upgrade().expect("DurableBackend lives in an Arc")
    }
}

impl DurableBackend {
    /// The transactional outbox: the event and a delivery per subscribed
    /// handler (ordered ones as ordered, as [`Backend::publish`] writes
    /// them) in the caller's open transaction on `connection`.
    async fn outbox(
        &self,
        connection: &mut (dyn Any + Send),
        event: DynEnvelope,
    ) -> Result<(), PublishError> {
        if *self.stop.borrow() {
            return Err(PublishError::ShuttingDown);
        }
        let raw = event.to_raw().map_err(PublishError::Encode)?;
        let new = super::new_event(&raw).map_err(|e| PublishError::Backend(e.into()))?;
        let events = std::slice::from_ref(&new);
        let subscribers = |t: &str| self.subscribers(t);
        let written = if let Some(conn) = connection.downcast_mut::<sqlx::SqliteConnection>() {
            self.expect_dialect(false)?;
            crate::append_sqlite(conn, events, &subscribers).await
        } else if let Some(conn) = connection.downcast_mut::<sqlx::PgConnection>() {
            self.expect_dialect(true)?;
            crate::append_postgres(conn, events, &subscribers).await
        } else {
            return Err(PublishError::Unsupported(
                "publish_in takes the connection of an open sqlx transaction of the bus's \
                 database: pass `&mut *tx` (a `SqliteConnection` or `PgConnection`), not the \
                 transaction itself or another type"
                    .into(),
            ));
        };
        written.map_err(|e| PublishError::Backend(Box::new(e)))?;
        self.dispatcher.log_publish(
            &event,
            self.dispatcher
                .route(&raw.event_type)
                .map_or(0, |r| r.len()),
        );
        Ok(())
    }

    /// Refuses a transaction of the other dialect than the store's, when the
    /// store is known (it is opened by then unless nothing was published or
    /// run yet; then its dialect is read from its target).
    fn expect_dialect(&self, postgres: bool) -> Result<(), PublishError> {
        let is_postgres = match (self.store.get(), &self.target) {
            (Some(store), _) | (None, Target::Open(store)) => store.postgres_pool().is_some(),
            (None, target) => matches!(target, Target::Postgres { .. } | Target::PgPool { .. }),
        };
        if is_postgres == postgres {
            Ok(())
        } else {
            let (given, store) = if postgres {
                ("a PostgreSQL", "SQLite")
            } else {
                ("a SQLite", "PostgreSQL")
            };
            Err(PublishError::Unsupported(format!(
                "publish_in was given {given} transaction, but this bus keeps its events in \
                 {store}: the events must be written in the bus's own database"
            )))
        }
    }
}

impl Store {
    /// The store of a bus built with a [`Durable`](super::Durable) backend
    /// (opened now if nothing opened it yet), to read what it holds: the same
    /// store, pool and connections as the bus's.
    ///
    /// ```no_run
    /// use skillcore_events::{EventBus, Scope};
    /// use skillcore_events_store::{Durable, Store};
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// let bus = EventBus::builder().backend(Durable::sqlite("events.db")).build()?;
    /// let store = Store::of(&bus).await?;
    /// let stats = store.stats(&Scope::AllDistricts).await?;
    /// # Ok(()) }
    /// ```
    pub async fn of(bus: &skillcore_events::EventBus) -> Result<Store, StoreError> {
        let backend: &dyn Any = bus.backend().as_ref();
        match backend.downcast_ref::<DurableBackend>() {
            Some(durable) => durable.store().await.cloned(),
            None => Err(StoreError::NoStore(
                "this bus keeps its events in process: build it with \
                 `.backend(Durable::sqlite(..))` (or `Durable::postgres`, `Durable::from_pool`) \
                 to have a store"
                    .into(),
            )),
        }
    }
}
