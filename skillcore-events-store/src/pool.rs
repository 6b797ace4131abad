//! A store on a pool the service already has: its own writes and the store's
//! share one set of connections (and, for the transactional outbox, one
//! transaction).

#[cfg(feature = "sqlite")]
use crate::sqlite::{SqliteDb, WRITER_CHECKPOINT_PAGES};
#[cfg(feature = "postgres")]
use crate::{connect, StoreError};
use crate::{Result, Store};
#[cfg(feature = "postgres")]
use sqlx::postgres::PgPool;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqlitePool;

impl Store {
    #[cfg(feature = "sqlite")]
    /// A store on the service's own SQLite pool, migrating its tables into
    /// that database (created when missing, as [`Store::sqlite`] does).
    ///
    /// The store's writer takes one connection of the pool for good
    /// (detached from it, so the pool may open another in its place): SQLite
    /// has one writer at a time, and a write through a held connection is one
    /// hop, without a pool checkout. Reads, migrations and the callers' own
    /// transactions ([`Store::sqlite_pool`], [`crate::append_sqlite`]) use the
    /// pool itself. The pool's connect options (journal mode, `synchronous`,
    /// busy timeout) are the service's and apply to the store too; in WAL
    /// mode a background task checkpoints, as for [`Store::sqlite`].
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// use skillcore_events_store::Store;
    /// let pool = sqlx::SqlitePool::connect("sqlite://school.db?mode=rwc").await?;
    /// sqlx::query("CREATE TABLE IF NOT EXISTS grades (id TEXT PRIMARY KEY)")
    ///     .execute(&pool)
    ///     .await?;
    /// let store = Store::from_sqlite_pool(pool.clone()).await?;
    /// assert!(store.sqlite_pool().is_some());
    /// # Ok(()) }
    /// ```
    pub async fn from_sqlite_pool(pool: SqlitePool) -> Result<Store> {
        let mut writer = pool.acquire().await?.detach();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES}"
        )))
        .execute(&mut writer)
        .await?;
        let store = Store::sqlite_of(SqliteDb::on(writer, pool.clone(), pool.clone()));
        store.migrate().await?;
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&pool)
            .await?;
        if mode.eq_ignore_ascii_case("wal") {
            store.checkpoint_in_background();
        }
        Ok(store)
    }

    #[cfg(feature = "postgres")]
    /// A store on the service's own PostgreSQL pool, migrating its tables
    /// (as [`Store::postgres`] does). Every statement of the store, its group
    /// commit of appends included, runs on this pool; only [`Store::listen`]
    /// opens one connection of its own (with the pool's connect options).
    /// The commit mode is the pool's (`synchronous_commit` in its options).
    ///
    /// `schema`, when given, is created if missing and must be the schema the
    /// pool's connections use (their `search_path`, set in the pool's connect
    /// options), so that the service's transactions and the store see the
    /// same tables: else [`StoreError::PoolSchema`]. A name the store does not
    /// accept is [`StoreError::InvalidSchemaName`].
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// use skillcore_events_store::Store;
    /// let pool = sqlx::PgPool::connect("postgres://postgres@127.0.0.1:5432/test").await?;
    /// let store = Store::from_pg_pool(pool.clone(), None).await?;
    /// assert!(store.postgres_pool().is_some());
    /// # Ok(()) }
    /// ```
    pub async fn from_pg_pool(pool: PgPool, schema: Option<&str>) -> Result<Store> {
        let server = connect::PgServer::of_options(
            (*pool.connect_options()).clone(),
            connect::DEFAULT_CONNECT_TIMEOUT,
        );
        if let Some(schema) = schema {
            crate::shared::check_schema_name(schema)?;
            let mut conn = server.acquire(&pool).await?;
            crate::postgres::create_schema(&mut conn, schema).await?;
            let current: Option<String> = sqlx::query_scalar("SELECT current_schema()::text")
                .fetch_one(&mut *conn)
                .await?;
            if current.as_deref() != Some(schema) {
                return Err(StoreError::PoolSchema {
                    asked: schema.to_string(),
                    current,
                });
            }
        }
        let store = Store::postgres_on(pool, server);
        store.migrate().await?;
        Ok(store)
    }
}
