//! The store: one of the two dialects, and the wake-ups of this process's
//! workers. Each operation is a dispatch to the dialect's own; opening and
//! the wake-ups are here, the queue in `store/queue.rs`, dead letters,
//! queries and replays in `store/query.rs`, indexes of payload fields in
//! `store/fields.rs`.

mod fields;
mod manage;
mod query;
mod queue;

#[cfg(feature = "postgres")]
use crate::postgres::PgDb;
use crate::shared::Wake;
#[cfg(feature = "sqlite")]
use crate::sqlite::SqliteDb;
#[cfg(feature = "sqlite")]
use crate::Durability;
use crate::Result;
#[cfg(feature = "postgres")]
use crate::{connect, PostgresCommit};
#[cfg(feature = "postgres")]
use sqlx::postgres::PgPool;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};
use std::fmt;
#[cfg(feature = "sqlite")]
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The database a store is on, with what its dialect holds.
#[derive(Clone)]
pub(crate) enum Dialect {
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteDb),
    #[cfg(feature = "postgres")]
    Postgres(PgDb),
}

/// The event store and delivery queue.
#[derive(Clone)]
pub struct Store {
    pub(crate) dialect: Dialect,
    wake: Arc<Wake>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(_) => "Store(sqlite)",
            #[cfg(feature = "postgres")]
            Dialect::Postgres(_) => "Store(postgres)",
        })
    }
}

impl Store {
    fn of_dialect(dialect: Dialect) -> Store {
        Store {
            dialect,
            wake: Arc::default(),
        }
    }

    #[cfg(feature = "sqlite")]
    /// Opens (creating if needed) a SQLite store in one file, in WAL mode with
    /// `synchronous=NORMAL`, and applies the migrations.
    pub async fn sqlite(path: impl AsRef<Path>) -> Result<Store> {
        Store::sqlite_with(path, Durability::Normal).await
    }

    #[cfg(feature = "sqlite")]
    /// [`Store::sqlite`] with a chosen [`Durability`].
    pub async fn sqlite_with(path: impl AsRef<Path>, durability: Durability) -> Result<Store> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match durability {
                Durability::Normal => SqliteSynchronous::Normal,
                Durability::Full => SqliteSynchronous::Full,
            })
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let store = Store::sqlite_on(options).await?;
        store.migrate().await?;
        store.checkpoint_in_background();
        Ok(store)
    }

    #[cfg(feature = "sqlite")]
    /// The store's connections to one SQLite file, as `options` open it;
    /// nothing is created or migrated here.
    pub(crate) async fn sqlite_on(options: SqliteConnectOptions) -> Result<Store> {
        Ok(Store::of_dialect(Dialect::Sqlite(
            SqliteDb::connect(options).await?,
        )))
    }

    #[cfg(feature = "sqlite")]
    /// A SQLite store on its connections; nothing is created or migrated here.
    pub(crate) fn sqlite_of(db: SqliteDb) -> Store {
        Store::of_dialect(Dialect::Sqlite(db))
    }

    #[cfg(feature = "postgres")]
    /// A PostgreSQL store on `pool`, its group commit writing through it;
    /// nothing is created or migrated here.
    pub(crate) fn postgres_on(pool: PgPool, server: connect::PgServer) -> Store {
        Store::of_dialect(Dialect::Postgres(PgDb::on(pool, server)))
    }

    #[cfg(feature = "sqlite")]
    /// SQLite: while the store lives, a task runs a passive checkpoint every
    /// 50 ms (cheap when the WAL has nothing new), off the writer's thread.
    pub(crate) fn checkpoint_in_background(&self) {
        #[allow(irrefutable_let_patterns)]
        if let Dialect::Sqlite(db) = &self.dialect {
            db.checkpoint_in_background(Arc::downgrade(&self.wake));
        }
    }

    #[cfg(feature = "postgres")]
    /// Connects to PostgreSQL and applies the migrations. `schema`, when given, is
    /// created if missing and used as the search path (tests give each run its own).
    /// Commits are flushed ([`PostgresCommit::Flushed`]).
    ///
    /// A server that cannot be reached fails at once (a refused connection) or
    /// after the URL's `connect_timeout` (seconds, as libpq reads it; by default
    /// [`crate::DEFAULT_CONNECT_TIMEOUT`]) with [`crate::StoreError::Connect`],
    /// which names the address; so does a publish that finds the server gone
    /// later.
    pub async fn postgres(url: &str, schema: Option<&str>) -> Result<Store> {
        Store::postgres_with(url, schema, PostgresCommit::Flushed).await
    }

    #[cfg(feature = "postgres")]
    /// [`Store::postgres`] with a chosen [`PostgresCommit`].
    pub async fn postgres_with(
        url: &str,
        schema: Option<&str>,
        commit: PostgresCommit,
    ) -> Result<Store> {
        let db = PgDb::connect(url, schema, commit).await?;
        let store = Store::of_dialect(Dialect::Postgres(db));
        store.migrate().await?;
        Ok(store)
    }

    #[cfg(feature = "sqlite")]
    /// The SQLite pool for writes, to run the caller's own transactions with
    /// [`crate::append_sqlite`].
    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => Some(db.write_pool()),
            #[cfg(feature = "postgres")]
            Dialect::Postgres(_) => None,
        }
    }

    #[cfg(feature = "postgres")]
    /// The PostgreSQL pool, to run the caller's own transactions with
    /// [`crate::append_postgres`].
    pub fn postgres_pool(&self) -> Option<&PgPool> {
        match &self.dialect {
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => Some(db.pool()),
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(_) => None,
        }
    }

    /// Wakes workers waiting for new deliveries in this process.
    pub fn notify(&self) {
        self.wake.notify();
    }

    /// On PostgreSQL, starts a task that turns `NOTIFY skc_deliveries` (sent when
    /// deliveries are committed by any process) into local wake-ups. The task keeps
    /// reconnecting while the store lives; workers also poll, so a missed
    /// notification only delays work. Does nothing on SQLite.
    ///
    /// One task per store, however often it is called (every [`crate::Worker::run`]
    /// calls it), on a connection of its own outside the store's pool, so a
    /// worker restarted again and again in one process takes no connection
    /// from publishers; it ends when the last handle of the store is dropped.
    pub fn listen(&self) {
        match &self.dialect {
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.listen(&self.wake),
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    /// Whether the store is on PostgreSQL (the outbox checks that a caller's
    /// transaction is of the store's dialect).
    pub(crate) fn is_postgres(&self) -> bool {
        match &self.dialect {
            #[cfg(feature = "postgres")]
            Dialect::Postgres(_) => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// How many wake-ups ([`Store::notify`], or a `NOTIFY` from another process)
    /// this store has had: a worker compares it before and after looking for
    /// work, so a wake-up that came meanwhile is not missed.
    pub fn wake_count(&self) -> u64 {
        self.wake.count.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits until [`Store::notify`] is called or `timeout` passes.
    pub async fn wait_for_work(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.wake.notify.notified()).await;
    }

    pub(crate) async fn migrate(&self) -> Result<()> {
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.migrate().await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.migrate().await,
        }
    }
}
