//! The PostgreSQL dialect of the store: its pool, the group commit of
//! appends on it, the `LISTEN` task that wakes this process's workers, the
//! schedule of planner statistics, and its statements (`sql.rs`), cut by
//! role: appends, the queue, dead letters, queries.

mod append;
mod counts;
mod dead;
mod fields;
pub(crate) mod inspect;
mod manage;
pub(crate) mod migrate;
#[cfg(test)]
mod plans;
mod query;
mod queue;
mod retention;
mod row;
mod sql;

pub use append::append_postgres;

use crate::connect::PgServer;
use crate::group_commit::GroupCommit;
use crate::shared::{check_schema_name, ignore_concurrent_create, Wake};
use crate::{PostgresCommit, Result};
use append::PgWriter;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Connection;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

/// A pooled PostgreSQL connection idle this long is pinged before it is used.
const PING_AFTER_IDLE: Duration = Duration::from_secs(5);

/// A store's pool on one PostgreSQL database, and the group commit of its
/// appends.
#[derive(Clone)]
pub(crate) struct PgDb {
    pool: PgPool,
    appends: Arc<GroupCommit<PgWriter>>,
    analyze: Arc<AnalyzeSchedule>,
    folds: Arc<counts::FoldSchedule>,
}

/// When to refresh PostgreSQL's planner statistics of the queue. A claim picks
/// the next deliveries by an ordered index scan only if the planner knows the
/// queue is big; statistics taken while it was empty make it sort the whole
/// queue on every claim. Autovacuum corrects that within a minute or so; this
/// process does it as soon as what it appended doubles the table.
#[derive(Default)]
struct AnalyzeSchedule {
    appended: AtomicU64,
    next: AtomicU64,
}

impl PgDb {
    /// Connects to the server at `url` (an unreachable one fails here, in
    /// its own words), creating `schema` if given and missing and using it as
    /// the search path; nothing is migrated here.
    pub async fn connect(url: &str, schema: Option<&str>, commit: PostgresCommit) -> Result<PgDb> {
        let server = PgServer::from_url(url)?;
        let mut options = server.options.clone();
        if let Some(schema) = schema {
            check_schema_name(schema)?;
        }
        // One connection of our own first: an unreachable server fails here at
        // once, in its own words, not after the pool's timeout. It creates the
        // schema.
        let mut admin = server.connect(&options).await?;
        if let Some(schema) = schema {
            create_schema(&mut admin, schema).await?;
            options = options.options([("search_path", schema)]);
        }
        let _ = admin.close().await;
        if commit == PostgresCommit::Asynchronous {
            options = options.options([("synchronous_commit", "off")]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(8)
            // Waiting for a busy pool; an unreachable server is found out
            // sooner (`PgServer::acquire`).
            .acquire_timeout((server.timeout * 2).max(Duration::from_secs(10)))
            // sqlx pings every connection it hands out by default: a round trip
            // before every statement. A connection in steady use is known to be
            // alive; only one that sat idle for a while is checked. (One that
            // died meanwhile fails its statement, which workers retry and a
            // publish reports; the pool then drops it.)
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_AFTER_IDLE {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_lazy_with(options.clone());
        let server = PgServer { options, ..server };
        Ok(PgDb::on(pool, server))
    }

    /// The store on `pool`, its group commit writing through it.
    pub fn on(pool: PgPool, server: PgServer) -> PgDb {
        PgDb {
            appends: Arc::new(GroupCommit::new(
                PgWriter {
                    pool: pool.clone(),
                    server,
                },
                append::write_rows,
            )),
            pool,
            analyze: Arc::default(),
            folds: Arc::default(),
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn migrate(&self) -> Result<()> {
        migrate::migrate(&self.pool).await
    }

    /// Starts the task that turns `NOTIFY skc_deliveries` into wake-ups of
    /// `wake`, once per store (`wake` holds its pool); it ends when the last
    /// handle of the store is dropped.
    pub fn listen(&self, wake: &Arc<Wake>) {
        let mut started = false;
        let own = wake.listener.get_or_init(|| {
            started = true;
            PgPoolOptions::new()
                .max_connections(1)
                .min_connections(0)
                .max_lifetime(None)
                .idle_timeout(None)
                .connect_lazy_with((*self.pool.connect_options()).clone())
        });
        if !started {
            return;
        }
        let pool = own.clone();
        let wake = Arc::downgrade(wake);
        tokio::spawn(async move {
            loop {
                if wake.strong_count() == 0 || pool.is_closed() {
                    return;
                }
                if let Ok(mut listener) = sqlx::postgres::PgListener::connect_with(&pool).await {
                    if listener.listen(sql::CHANNEL).await.is_ok() {
                        while let Ok(_n) = listener.recv().await {
                            match wake.upgrade() {
                                Some(w) => w.notify(),
                                None => return,
                            }
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
    }

    /// Counts `appended` events; once this process's appends have doubled
    /// the table since the last time (2,000 at first), refreshes the
    /// planner's statistics in the background.
    fn analyze_when_grown(&self, appended: u64) {
        const FIRST: u64 = 2_000;
        let total = self.analyze.appended.fetch_add(appended, Relaxed) + appended;
        // 0: nothing analyzed yet, the first threshold applies.
        let next = self.analyze.next.load(Relaxed);
        if total < next.max(FIRST)
            || self
                .analyze
                .next
                .compare_exchange(next, total * 2, Relaxed, Relaxed)
                .is_err()
        {
            return;
        }
        self.analyze_now();
    }

    /// After one statement moved `changed` deliveries between states (a
    /// replay queued, a replay cancelled): past 10,000 of them, refreshes
    /// the planner's statistics in the background. Until then it may think,
    /// say, that no delivery is cancelled, and read all of them where one per
    /// handler would do (`queue stats`: 164 ms against 0.09 ms for 315,000
    /// cancelled).
    pub(super) fn analyze_after_bulk(&self, changed: u64) {
        /// A change this big is worth a fresh look.
        const BULK: u64 = 10_000;
        if changed >= BULK {
            self.analyze_now();
        }
    }

    fn analyze_now(&self) {
        let pool = self.pool.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                // Best effort: autovacuum does the same later if this fails.
                let _ = sqlx::raw_sql(sql::ANALYZE).execute(&pool).await;
            });
        }
    }
}

/// Creates `schema` (a checked name) if it is missing.
pub(crate) async fn create_schema(conn: &mut sqlx::PgConnection, schema: &str) -> Result<()> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
    )))
    .execute(conn)
    .await
    .or_else(ignore_concurrent_create)?;
    Ok(())
}
