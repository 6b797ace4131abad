//! [`DurableBackend`]: the bus's [`Backend`] on a [`Store`]. It opens the
//! store on first use (the builder is not async), writes every published
//! event with one delivery per subscribed handler, runs a worker in the
//! background, and takes part in the caller's transaction for the outbox.

use super::config::{Target, WorkerOptions};
use crate::worker::Worker;
use crate::{NewEvent, Scope, Store, StoreError, Subscriber};
use skillcore_events::backend::{Backend, BoxFuture, Dispatcher, DynEnvelope};
use skillcore_events::{BusError, DeadLetter, DeadLetterId, PublishError, ShutdownReport};
use std::any::Any;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
    /// Handlers the worker is running now.
    running: Arc<AtomicUsize>,
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
            running: Arc::default(),
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
        // Stopped (after its batch in progress) when the workers stop.
        let retention = self.options.retention.clone().map(|p| store.retain(p));
        let worker = self.worker(store);
        let mut stop = self.stop.subscribe();
        worker
            .run(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
        if let Some(task) = retention {
            task.stop().await;
        }
    }

    fn worker(&self, store: Store) -> Worker {
        // Short (every claimed row carries it) and unique among processes: the
        // process id and 32 random bits.
        let o = &self.options;
        let id = o.worker_id.clone().unwrap_or_else(|| {
            format!(
                "{}-{:08x}",
                std::process::id(),
                Uuid::now_v7().as_u64_pair().1 as u32
            )
        });
        let b = Worker::builder(store, Arc::clone(&self.dispatcher), id)
            .concurrency(o.concurrency)
            .idle_poll(o.idle_poll);
        let mut b = match o.lease {
            crate::worker::Lease::Renewed(d) => b.lease(d),
            crate::worker::Lease::PastTimeout(m) => b.lease_margin(m),
        }
        .count_running(Arc::clone(&self.running));
        if let Some(n) = o.prefetch {
            b = b.prefetch(n);
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
                        envelope: d.event.to_raw().map_err(backend_err)?,
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
            let Some(mut task) = task else {
                return ShutdownReport {
                    completed: true,
                    abandoned: 0,
                };
            };
            if tokio::time::timeout(deadline, &mut task).await.is_ok() {
                return ShutdownReport {
                    completed: true,
                    abandoned: 0,
                };
            }
            // The deadline passed: the handlers still running are cut off
            // (the worker's task and its handler tasks end here). Each keeps
            // its stored delivery and lease; it runs again, here after a
            // restart or in another process, once the lease runs out. Nothing
            // is lost.
            let abandoned = self.running.load(Ordering::Relaxed);
            task.abort();
            let _ = task.await;
            tracing::warn!(
                abandoned,
                "skillcore-events: shutdown deadline passed; handlers still running were cut off \
                 and run again once their leases run out"
            );
            ShutdownReport {
                completed: false,
                abandoned,
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
        let new = NewEvent::from_raw(&raw).map_err(|e| PublishError::Backend(Box::new(e)))?;
        let events = std::slice::from_ref(&new);
        let subscribers = |t: &str| self.subscribers(t);
        let written = self.append_in(connection, events, &subscribers).await?;
        written.map_err(|e| PublishError::Backend(Box::new(e)))?;
        self.dispatcher.log_publish(
            &event,
            self.dispatcher
                .route(&raw.event_type)
                .map_or(0, |r| r.len()),
        );
        Ok(())
    }

    /// Appends in the caller's transaction, on the connection of whichever
    /// dialect it is (the ones compiled in).
    async fn append_in<'s, F>(
        &self,
        connection: &mut (dyn Any + Send),
        events: &[NewEvent],
        subscribers: &F,
    ) -> Result<crate::Result<Vec<i64>>, PublishError>
    where
        F: Fn(&str) -> Vec<Subscriber<'s>> + Sync + ?Sized,
    {
        #[cfg(feature = "sqlite")]
        if let Some(conn) = connection.downcast_mut::<sqlx::SqliteConnection>() {
            self.expect_dialect(false)?;
            return Ok(crate::append_sqlite(conn, events, subscribers).await);
        }
        #[cfg(feature = "postgres")]
        if let Some(conn) = connection.downcast_mut::<sqlx::PgConnection>() {
            self.expect_dialect(true)?;
            return Ok(crate::append_postgres(conn, events, subscribers).await);
        }
        let _ = (connection, events, subscribers);
        Err(PublishError::Unsupported(
            "publish_in takes the connection of an open sqlx transaction of the bus's \
             database: pass `&mut *tx` (a `SqliteConnection` or `PgConnection`), not the \
             transaction itself or another type"
                .into(),
        ))
    }

    /// Refuses a transaction of the other dialect than the store's, when the
    /// store is known (it is opened by then unless nothing was published or
    /// run yet; then its dialect is read from its target).
    fn expect_dialect(&self, postgres: bool) -> Result<(), PublishError> {
        let is_postgres = match (self.store.get(), &self.target) {
            (Some(store), _) | (None, Target::Open(store)) => store.is_postgres(),
            #[cfg(feature = "postgres")]
            (None, target) => matches!(target, Target::Postgres { .. } | Target::PgPool { .. }),
            #[cfg(not(feature = "postgres"))]
            (None, _) => false,
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
