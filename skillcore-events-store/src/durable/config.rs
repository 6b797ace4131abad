//! [`Durable`]: what a service hands `EventBusBuilder::backend` to keep its
//! events in SQLite or PostgreSQL. The dialect is part of the type, so a
//! PostgreSQL setting on a SQLite backend does not compile.

use super::backend::DurableBackend;
#[cfg(feature = "sqlite")]
use crate::Durability;
#[cfg(feature = "postgres")]
use crate::PostgresCommit;
use crate::Store;
use skillcore_events::backend::{Backend, BackendConfig, BusOption, BusSettings, Dispatcher};
#[cfg(feature = "postgres")]
use sqlx::PgPool;
#[cfg(feature = "sqlite")]
use sqlx::SqlitePool;
use std::marker::PhantomData;
#[cfg(feature = "sqlite")]
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "sqlite")]
/// The SQLite dialect of [`Durable`] (the embedded default).
#[derive(Clone, Copy, Debug)]
pub struct Sqlite;

#[cfg(feature = "postgres")]
/// The PostgreSQL dialect of [`Durable`].
#[derive(Clone, Copy, Debug)]
pub struct Postgres;

/// A [`Durable`] on a [`Store`] already open (either dialect).
#[derive(Clone, Copy, Debug)]
pub struct Opened;

/// Where the store is, and how to open it (public only to name it in the
/// sealed [`StorePool`]; not reachable from outside the crate).
#[derive(Clone, Debug)]
pub enum Target {
    #[cfg(feature = "sqlite")]
    Sqlite {
        path: PathBuf,
        durability: Durability,
    },
    #[cfg(feature = "sqlite")]
    SqlitePool(SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres {
        url: String,
        schema: Option<String>,
        commit: PostgresCommit,
    },
    #[cfg(feature = "postgres")]
    PgPool {
        pool: PgPool,
        schema: Option<String>,
    },
    Open(Store),
}

impl Target {
    pub(crate) async fn open(&self) -> crate::Result<Store> {
        match self {
            #[cfg(feature = "sqlite")]
            Target::Sqlite { path, durability } => Store::sqlite_with(path, *durability).await,
            #[cfg(feature = "sqlite")]
            Target::SqlitePool(pool) => Store::from_sqlite_pool(pool.clone()).await,
            #[cfg(feature = "postgres")]
            Target::Postgres {
                url,
                schema,
                commit,
            } => Store::postgres_with(url, schema.as_deref(), *commit).await,
            #[cfg(feature = "postgres")]
            Target::PgPool { pool, schema } => {
                Store::from_pg_pool(pool.clone(), schema.as_deref()).await
            }
            Target::Open(store) => Ok(store.clone()),
        }
    }

    fn describe(&self) -> String {
        match self {
            #[cfg(feature = "sqlite")]
            Target::Sqlite { path, .. } => {
                format!("the durable SQLite backend ({})", path.display())
            }
            #[cfg(feature = "sqlite")]
            Target::SqlitePool(_) => "the durable SQLite backend (on the service's pool)".into(),
            #[cfg(feature = "postgres")]
            Target::Postgres { schema, .. } | Target::PgPool { schema, .. } => match schema {
                Some(s) => format!("the durable PostgreSQL backend (schema `{s}`)"),
                None => "the durable PostgreSQL backend".into(),
            },
            Target::Open(_) => "the durable backend".into(),
        }
    }
}

/// How the workers of a durable bus run.
#[derive(Clone, Debug)]
pub(crate) struct WorkerOptions {
    pub(crate) run_workers: bool,
    pub(crate) concurrency: usize,
    pub(crate) prefetch: Option<usize>,
    pub(crate) lease: crate::worker::Lease,
    pub(crate) worker_id: Option<String>,
    pub(crate) idle_poll: Duration,
    pub(crate) retention: Option<crate::Retention>,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            run_workers: true,
            concurrency: DEFAULT_CONCURRENCY,
            prefetch: None,
            lease: crate::worker::Lease::default(),
            worker_id: None,
            idle_poll: Duration::from_millis(200),
            retention: None,
        }
    }
}

/// Deliveries a durable bus runs at once by default (one per handler per
/// event: 32 is about 10 events of 3 handlers in flight).
pub const DEFAULT_CONCURRENCY: usize = 32;

/// The durable backend of the event bus: events and their deliveries kept in
/// SQLite or PostgreSQL, run by workers in this process (and any other
/// process on the same database), surviving restarts. Hand it to
/// [`EventBusBuilder::backend`](skillcore_events::EventBusBuilder::backend):
///
/// ```no_run
/// use skillcore_events::EventBus;
/// use skillcore_events_store::Durable;
/// # fn f() -> Result<(), skillcore_events::BuildError> {
/// let bus = EventBus::builder()
///     .register_all()
///     .backend(Durable::sqlite("events.db").concurrency(64))
///     .build()?;
/// # Ok(()) }
/// ```
///
/// The store opens (and migrates) on first use: the builder is not async.
/// Every bus option works on it, except the two that only bound in-process
/// memory ([`idempotency_window`](skillcore_events::EventBusBuilder::idempotency_window):
/// a stored event's id is refused for good, and each delivery is a row of its own;
/// [`dead_letter_capacity`](skillcore_events::EventBusBuilder::dead_letter_capacity):
/// dead letters stay until retried or discarded), which `build()` refuses.
/// Per-aggregate ordering is `HandlerOptions::ordered` / `#[handler(ordered)]`.
#[derive(Clone, Debug)]
#[must_use = "a Durable does nothing until it is given to EventBusBuilder::backend"]
pub struct Durable<D = Opened> {
    pub(crate) target: Target,
    pub(crate) workers: WorkerOptions,
    dialect: PhantomData<D>,
}

impl<D> Durable<D> {
    fn on(target: Target) -> Self {
        Durable {
            target,
            workers: WorkerOptions::default(),
            dialect: PhantomData,
        }
    }

    /// Deliveries this process runs at once (default 32). A delivery is one
    /// handler on one event, so an event of 3 handlers takes 3.
    pub fn concurrency(mut self, deliveries: usize) -> Self {
        self.workers.concurrency = deliveries.max(1);
        self
    }

    /// Deliveries claimed ahead of free slots, in the same round trip, fixed.
    /// Bigger claims cost fewer round trips per delivery; a delivery claimed
    /// ahead waits in this process, under its lease (renewed), for a slot.
    ///
    /// Unset (the default), each worker adapts: it starts at as many as the
    /// concurrency and, while its handlers finish faster than the database
    /// answers a claim, doubles what it claims ahead, up to 2,048 deliveries
    /// (or as many as the concurrency if that is more); while claimed
    /// deliveries wait for a slot it halves it again. See
    /// [`WorkerBuilder::prefetch`](crate::WorkerBuilder::prefetch).
    pub fn prefetch(mut self, deliveries: usize) -> Self {
        self.workers.prefetch = Some(deliveries);
        self
    }

    /// How long a delivery's lease lasts after its last renewal (default
    /// 10 s, at least 30 ms). Workers renew the leases they hold three times
    /// per lease length while the handlers run (one statement per worker),
    /// so a worker that dies loses its deliveries to others within `lease`,
    /// however long its handlers' timeouts.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.workers.lease = crate::worker::Lease::Renewed(lease.max(Duration::from_millis(30)));
        self
    }

    /// The rule before leases were renewed: a lease lasts the handlers'
    /// longest timeout plus `margin` (still renewed while held). Prefer
    /// [`Durable::lease`], which replaces this setting.
    pub fn lease_margin(mut self, margin: Duration) -> Self {
        self.workers.lease = crate::worker::Lease::PastTimeout(margin);
        self
    }

    /// The identity of this process's worker (default: the process id and
    /// random bits, new at each start). A worker that restarts under the
    /// identity it had takes back the deliveries it held at once, instead of
    /// waiting for their leases to run out. It must be unique among the
    /// processes running at the same time on the database (a host name and
    /// a slot number, a pod name): a second live process under the same
    /// identity would take the first one's deliveries.
    pub fn worker_id(mut self, id: impl Into<String>) -> Self {
        self.workers.worker_id = Some(id.into());
        self
    }

    /// How often an idle worker looks for work no wake-up announced (other
    /// processes' events on SQLite, retries coming due). Default 200 ms.
    pub fn idle_poll(mut self, every: Duration) -> Self {
        self.workers.idle_poll = every;
        self
    }

    /// Removes finished deliveries (done, discarded, cancelled) older than
    /// the policy's keep time in the background, in small batches, while
    /// this process runs workers; the events stay (see [`crate::Retention`]
    /// for what is never removed). Off by default: nothing is deleted unless
    /// asked for. `Retention::default()` keeps a week.
    pub fn retention(mut self, policy: crate::Retention) -> Self {
        self.workers.retention = Some(policy);
        self
    }

    /// Whether this process runs workers (default `true`). A process that
    /// only publishes turns them off; other processes on the same database
    /// then run the deliveries.
    pub fn run_workers(mut self, on: bool) -> Self {
        self.workers.run_workers = on;
        self
    }
}

#[cfg(feature = "sqlite")]
impl Durable<Sqlite> {
    /// Events and deliveries in a SQLite file (created when missing; WAL,
    /// `synchronous=NORMAL`): the embedded default.
    pub fn sqlite(path: impl Into<PathBuf>) -> Self {
        Durable::on(Target::Sqlite {
            path: path.into(),
            durability: Durability::Normal,
        })
    }

    /// How durable SQLite commits are (default [`Durability::Normal`]).
    /// Has no effect on a pool given with [`Durable::from_pool`], whose
    /// settings are the service's.
    pub fn durability(mut self, durability: Durability) -> Self {
        if let Target::Sqlite { durability: d, .. } = &mut self.target {
            *d = durability;
        }
        self
    }
}

#[cfg(feature = "postgres")]
impl Durable<Postgres> {
    /// Events and deliveries in PostgreSQL, shared by any number of worker
    /// processes; tables in the connection's default schema unless
    /// [`Durable::schema`] names one.
    pub fn postgres(url: impl Into<String>) -> Self {
        Durable::on(Target::Postgres {
            url: url.into(),
            schema: None,
            commit: PostgresCommit::Flushed,
        })
    }

    /// The schema to keep the tables in (created when missing).
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        match &mut self.target {
            Target::Postgres { schema: s, .. } | Target::PgPool { schema: s, .. } => {
                *s = Some(schema.into())
            }
            _ => {}
        }
        self
    }

    /// How the store's commits are made durable (default
    /// [`PostgresCommit::Flushed`]). Has no effect on a pool given with
    /// [`Durable::from_pool`], whose connections are the service's.
    pub fn commit(mut self, commit: PostgresCommit) -> Self {
        if let Target::Postgres { commit: c, .. } = &mut self.target {
            *c = commit;
        }
        self
    }
}

impl Durable<Opened> {
    /// On a [`Store`] already open (shared with the code that opened it).
    pub fn store(store: Store) -> Self {
        Durable::on(Target::Open(store))
    }
}

impl<D> Durable<D> {
    /// On a pool the service already has (`SqlitePool` or `PgPool`), so its
    /// own writes and the bus share one set of connections: the store's
    /// tables are created in that database on first use.
    ///
    /// ```no_run
    /// use skillcore_events::EventBus;
    /// use skillcore_events_store::Durable;
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = sqlx::SqlitePool::connect("sqlite://school.db?mode=rwc").await?;
    /// let bus = EventBus::builder().backend(Durable::from_pool(pool.clone())).build()?;
    /// # Ok(()) }
    /// ```
    pub fn from_pool<P: StorePool<Dialect = D>>(pool: P) -> Self {
        Durable::on(pool.into_target())
    }
}

/// A pool [`Durable::from_pool`] takes: `sqlx::SqlitePool` or `sqlx::PgPool`.
pub trait StorePool: sealed::Sealed {
    /// [`Sqlite`] or [`Postgres`].
    type Dialect;
    #[doc(hidden)]
    fn into_target(self) -> Target;
}

mod sealed {
    pub trait Sealed {}
    #[cfg(feature = "sqlite")]
    impl Sealed for sqlx::SqlitePool {}
    #[cfg(feature = "postgres")]
    impl Sealed for sqlx::PgPool {}
}

#[cfg(feature = "sqlite")]
impl StorePool for SqlitePool {
    type Dialect = Sqlite;
    fn into_target(self) -> Target {
        Target::SqlitePool(self)
    }
}

#[cfg(feature = "postgres")]
impl StorePool for PgPool {
    type Dialect = Postgres;
    fn into_target(self) -> Target {
        Target::PgPool {
            pool: self,
            schema: None,
        }
    }
}

impl<D: Send + 'static> BackendConfig for Durable<D> {
    fn describe(&self) -> String {
        self.target.describe()
    }

    fn ignores(&self, option: BusOption) -> Option<&'static str> {
        match option {
            BusOption::IdempotencyWindow => Some(
                "a durable backend keeps every stored event, whose id a re-publish cannot \
                 use again, and tracks each delivery in a row of its own, so there is no \
                 window to size",
            ),
            BusOption::DeadLetterCapacity => Some(
                "a durable backend keeps every dead letter in the store until it is retried or \
                 discarded, so there is no capacity to set",
            ),
            _ => None,
        }
    }

    fn start(self: Box<Self>, dispatcher: Arc<Dispatcher>, _: BusSettings) -> Arc<dyn Backend> {
        let backend = DurableBackend::new(self.target, self.workers, dispatcher);
        backend.start_if_in_runtime();
        backend
    }
}
