//! Durable storage for SkillCore Events: an event store and a work queue of
//! deliveries (a transactional outbox), on SQLite (the embedded default: one file,
//! WAL, no server) or PostgreSQL (any number of worker processes on any number of
//! machines).
//!
//! - [`Store::append`] writes events and one delivery row per subscribed handler in
//!   one statement (atomic by itself; appends of concurrent callers are committed
//!   together); [`append_sqlite`]/[`append_postgres`] do the same inside the
//!   caller's own transaction, so a domain write and its events commit or roll back
//!   together.
//! - Workers [`Store::claim_for`] deliveries with a lease (`FOR UPDATE SKIP LOCKED` on
//!   PostgreSQL), run the handler, and [`Store::complete`] the delivery: the done
//!   delivery, unique per event and handler, is the handler's idempotency record,
//!   written in the same statement ([`Store::complete_and_claim`] also claims the
//!   next batch in it); a dead worker's lease runs out and the delivery is claimed
//!   again (a delivery that keeps killing its worker ends in the dead letters
//!   once its attempts are used up). [`Store::fail`] schedules a retry or moves
//!   the delivery to the dead letters, all stored, so they survive restarts.
//! - Queries are scoped to one district unless [`Scope::AllDistricts`] is asked for.
//! - [`Store::read_after`] follows the global order without ever skipping an event,
//!   also on PostgreSQL where sequence numbers are not assigned in commit order.
//!
//! The tables (`skc_events`, `skc_deliveries`, `skc_handled`) are created and
//! migrated by the store. The store never deletes rows. If you prune old events
//! yourself, delete their deliveries first and never delete the newest event:
//! on SQLite a new row takes the largest id + 1, so deleting the newest event
//! would let the next one reuse its sequence number, which readers following
//! the global order have already passed.

// Size: this file is still about 1,800 lines: connecting, append, claim,
// dead letters, queries and replay, each with a SQLite and a PostgreSQL arm.
// Issue 12 cuts it by role and by dialect: the public types are in model.rs,
// the errors in error.rs, the pool constructors in pool.rs, the migrations in
// sqlite/ and postgres/; the operations are to follow into those dialects.

#![deny(missing_docs)]

mod bounded;
mod connect;
mod debug;
mod durable;
mod error;
mod group_commit;
mod model;
mod open;
mod poison;
mod pool;
mod postgres;
mod schema;
mod sqlite;
mod validate;
mod worker;

pub use bounded::MAX_ERROR_BYTES;
pub use connect::DEFAULT_CONNECT_TIMEOUT;
pub use open::Access;
pub use validate::Refused;

pub use durable::{
    new_event, raw_envelope, Durable, DurableBackend, Opened, Postgres, Sqlite, StorePool,
    DEFAULT_CONCURRENCY,
};

pub use worker::{Outcome, Worker, WorkerBuilder};

pub use error::{Result, StoreError};
pub(crate) use model::ScopeParts;
pub use model::{
    Claimed, Cursor, DeadLetter, Durability, HandlerStats, NewEvent, PostgresCommit, ReplayFilter,
    ReplayProgress, Scope, StoredEvent, Subscriber,
};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, PgConnection, Row, SqliteConnection};
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

#[derive(Clone)]
enum Db {
    Sqlite {
        /// The store's own writes: one connection held for good, so a write is
        /// one hop to SQLite's thread, without a pool checkout.
        writer: Arc<group_commit::GroupCommit<SqliteConnection>>,
        /// For the callers' own transactions ([`append_sqlite`]) and migrations.
        write: SqlitePool,
        read: SqlitePool,
    },
    Postgres(PgPool),
}

/// The event store and delivery queue.
#[derive(Clone)]
pub struct Store {
    db: Db,
    wake: Arc<Wake>,
    analyze: Arc<AnalyzeSchedule>,
    /// PostgreSQL: group commit of appends (SQLite's is its writer).
    pg_appends: Option<Arc<group_commit::GroupCommit<group_commit::PgWriter>>>,
}

/// WAL pages after which the SQLite writer checkpoints by itself (normally a
/// background task checkpoints long before: see `checkpoint_in_background`).
const WRITER_CHECKPOINT_PAGES: u32 = 20_000;

/// A pooled PostgreSQL connection idle this long is pinged before it is used.
const PG_PING_AFTER_IDLE: Duration = Duration::from_secs(5);

/// Wake-ups of this process's workers, counted, so a worker can tell whether
/// one came while it was not waiting.
#[derive(Default)]
struct Wake {
    notify: tokio::sync::Notify,
    count: std::sync::atomic::AtomicU64,
    /// PostgreSQL: the one-connection pool of this store's `LISTEN` task, set
    /// by the first [`Store::listen`]; closed when the last handle of the
    /// store is dropped, which ends the task.
    listener: std::sync::OnceLock<PgPool>,
}

impl Wake {
    fn notify(&self) {
        self.count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.notify.notify_waiters();
    }
}

impl Drop for Wake {
    fn drop(&mut self) {
        if let Some(pool) = self.listener.get() {
            // Marks the pool closed at once (the returned future only waits for
            // its connection to go), so the listener's `recv` ends.
            drop(pool.close());
        }
    }
}

/// When to refresh PostgreSQL's planner statistics of the queue. A claim picks
/// the next deliveries by an ordered index scan only if the planner knows the
/// queue is big; statistics taken while it was empty make it sort the whole
/// queue on every claim. Autovacuum corrects that within a minute or so; this
/// process does it as soon as what it appended doubles the table.
#[derive(Default)]
struct AnalyzeSchedule {
    appended: std::sync::atomic::AtomicU64,
    next: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.db {
            Db::Sqlite { .. } => "Store(sqlite)",
            Db::Postgres(_) => "Store(postgres)",
        })
    }
}

fn micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

fn now_us() -> i64 {
    Utc::now().timestamp_micros()
}

// Fixed width, so text order is time order in SQLite.
fn ts_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("occurred_at `{s}`: {e}")))
}

fn parse_json(s: &str, what: &str) -> Result<Value> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn check_field(field: &str) -> Result<()> {
    let ok = field.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && field.chars().all(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidField(field.to_string()))
    }
}

const SQLITE_EVENT_COLS: &str =
    "e.seq, e.id, e.event_type, e.aggregate_type, e.aggregate_id, e.payload, e.metadata, e.version, e.occurred_at";
/// A lease owner for one claim: the worker's id and a number unique in this
/// process (starting at a random point, so that two processes mistakenly
/// sharing a worker id still do not share owners). Every claimed row carries
/// it, so it is kept short.
fn claim_owner(worker: &str) -> String {
    static NEXT: std::sync::OnceLock<std::sync::atomic::AtomicU64> = std::sync::OnceLock::new();
    let n = NEXT
        .get_or_init(|| std::sync::atomic::AtomicU64::new(Uuid::now_v7().as_u64_pair().1 >> 16))
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{worker}:{n:x}")
}

/// The claim condition of ordered deliveries (`d`), the same in both dialects:
/// no earlier event of the same aggregate is still waiting or running for the
/// handler (in the same replay batch).
macro_rules! order_clear {
    () => {
        "(d.ordering_key IS NULL OR NOT EXISTS (
           SELECT 1 FROM skc_deliveries p
           WHERE p.handler_id = d.handler_id AND p.ordering_key = d.ordering_key
             AND p.replay = d.replay AND p.event_seq < d.event_seq
             AND p.status IN ('waiting', 'active')))"
    };
}

const PG_EVENT_COLS: &str =
    "e.seq, e.id, e.event_type, e.aggregate_type, e.aggregate_id, e.payload, e.metadata, e.version, e.occurred_at, e.tx_id::text::bigint AS tx";

fn sqlite_event(row: &sqlx::sqlite::SqliteRow) -> Result<StoredEvent> {
    let id: String = row.try_get("id")?;
    Ok(StoredEvent {
        seq: row.try_get("seq")?,
        event: NewEvent {
            id: Uuid::parse_str(&id).map_err(|e| StoreError::Corrupt(format!("id `{id}`: {e}")))?,
            event_type: row.try_get("event_type")?,
            aggregate_type: row.try_get("aggregate_type")?,
            aggregate_id: row.try_get("aggregate_id")?,
            version: row.try_get::<i64, _>("version")? as u32,
            occurred_at: parse_ts(&row.try_get::<String, _>("occurred_at")?)?,
            metadata: parse_json(&row.try_get::<String, _>("metadata")?, "metadata")?,
            payload: parse_json(&row.try_get::<String, _>("payload")?, "payload")?,
        },
    })
}

/// An event as a claim reads it (one JSON array, on both backends): its columns (seq, id, type,
/// aggregate type and id, payload, metadata, version, time), then the claimed
/// deliveries of it as (delivery id, handler, attempts, replay batch, handled
/// before 0/1, expired leases, of them while alone). Each event comes once, however many of its deliveries were
/// claimed.
type ClaimedEventRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    Vec<(i64, String, i64, i64, i64, i64, i64)>,
);

/// A stored event from its columns' text (SQLite rows, and claims on both
/// backends). What does not parse (payload or
/// metadata that is no longer JSON, a bad id or time) is replaced by a null
/// value and reported next to the event, so one broken row never fails a whole
/// batch.
#[allow(clippy::too_many_arguments)]
fn event_from_text(
    seq: i64,
    id: &str,
    event_type: String,
    aggregate_type: String,
    aggregate_id: String,
    payload: &str,
    metadata: &str,
    version: i64,
    occurred_at: &str,
) -> (StoredEvent, Option<String>) {
    let mut problems = Vec::new();
    let mut ok = |r: Result<Value>| {
        r.unwrap_or_else(|e| {
            problems.push(e.to_string());
            Value::Null
        })
    };
    let payload = ok(parse_json(payload, "payload"));
    let metadata = ok(parse_json(metadata, "metadata"));
    let id = Uuid::parse_str(id).unwrap_or_else(|e| {
        problems.push(format!("corrupt row in the event store: id `{id}`: {e}"));
        Uuid::nil()
    });
    let occurred_at = parse_ts(occurred_at).unwrap_or_else(|e| {
        problems.push(e.to_string());
        DateTime::default()
    });
    let event = StoredEvent {
        seq,
        event: NewEvent {
            id,
            event_type,
            aggregate_type,
            aggregate_id,
            version: version as u32,
            occurred_at,
            metadata,
            payload,
        },
    };
    (event, (!problems.is_empty()).then(|| problems.join("; ")))
}

/// [`sqlite_event`] that reads a broken row as far as it can (for listings of
/// dead letters, which must show the rows that broke).
fn sqlite_event_lenient(row: &sqlx::sqlite::SqliteRow) -> Result<StoredEvent> {
    Ok(event_from_text(
        row.try_get("seq")?,
        &row.try_get::<String, _>("id")?,
        row.try_get("event_type")?,
        row.try_get("aggregate_type")?,
        row.try_get("aggregate_id")?,
        &row.try_get::<String, _>("payload")?,
        &row.try_get::<String, _>("metadata")?,
        row.try_get("version")?,
        &row.try_get::<String, _>("occurred_at")?,
    )
    .0)
}

/// The deliveries of a SQLite claim (a JSON array of [`ClaimRow`]s), in event
/// order; each event's payload and metadata are parsed once.
fn claimed_from_json(json: &str, owner: &str) -> Result<Vec<Claimed>> {
    let rows: Vec<ClaimedEventRow> =
        serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("claim: {e}")))?;
    let mut out: Vec<Claimed> = Vec::with_capacity(rows.len() * 3);
    // Each event is parsed once, for all of its deliveries. An event that
    // cannot be read does not fail the claim: its deliveries carry the error.
    for (seq, id, ty, at, ai, p, m, v, t, deliveries) in rows {
        let (event, unreadable) = event_from_text(seq, &id, ty, at, ai, &p, &m, v, &t);
        // The deliveries of one event share it.
        let event = Arc::new(event);
        let copies = std::iter::repeat_n(event, deliveries.len());
        for ((delivery_id, handler_id, attempts, replay, handled, expired, alone), event) in
            deliveries.into_iter().zip(copies)
        {
            out.push(Claimed {
                delivery_id,
                handler_id,
                attempt: attempts as u32,
                replay,
                already_handled: replay == 0 && handled != 0,
                event,
                lease_owner: owner.to_string(),
                unreadable: unreadable.clone(),
                expired_leases: expired as u32,
                lone_deaths: alone as u32,
            });
        }
    }
    out.sort_by_key(|c| (c.event.seq, c.delivery_id));
    Ok(out)
}

fn pg_event(row: &sqlx::postgres::PgRow) -> Result<StoredEvent> {
    Ok(StoredEvent {
        seq: row.try_get("seq")?,
        event: NewEvent {
            id: row.try_get("id")?,
            event_type: row.try_get("event_type")?,
            aggregate_type: row.try_get("aggregate_type")?,
            aggregate_id: row.try_get("aggregate_id")?,
            version: row.try_get::<i32, _>("version")? as u32,
            occurred_at: row.try_get("occurred_at")?,
            metadata: row.try_get("metadata")?,
            payload: row.try_get("payload")?,
        },
    })
}

/// The PostgreSQL claim: up to `$3` ready deliveries of the handlers `$4` for
/// owner `$1` with a lease of `$2` microseconds. One row: `claimed`, the claimed
/// events as JSON text, each event once with its deliveries nested (the shape
/// [`claimed_from_json`] reads, as on SQLite), and `completed`. With
/// `completing`, the same statement first marks done the deliveries `$5` held
/// by owners `$6` (what a worker finished); `completed` lists those it marked.
/// Without it, the claim commits without waiting for its WAL flush.
fn pg_claim_sql(completing: bool) -> String {
    let (relaxed, done, not_done, completed) = if completing {
        (
            "",
            "done AS (
               UPDATE skc_deliveries d
               SET status = 'done', lease_owner = NULL, lease_until = NULL, updated_at = clock.now
               FROM unnest($5::bigint[], $6::text[]) AS u(id, owner), clock
               WHERE d.id = u.id AND d.lease_owner = u.owner AND d.status = 'active'
               RETURNING d.id
             ),",
            "AND d.id <> ALL($5)",
            "(SELECT array_agg(id) FROM done)",
        )
    } else {
        (
            ", set_config('synchronous_commit', 'off', true) AS relaxed",
            "",
            "",
            "NULL::bigint[]",
        )
    };
    const ORDER_CLEAR: &str = order_clear!();
    format!(
        "WITH clock AS (
           SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS now{relaxed}
         ), {done} waiting AS (
           SELECT d.id FROM skc_deliveries d, clock
           WHERE d.status = 'waiting' AND d.available_at <= clock.now
             AND d.handler_id = ANY($4)
             AND {ORDER_CLEAR}
           ORDER BY d.available_at, d.id
           LIMIT $3
           FOR UPDATE OF d SKIP LOCKED
         ), expired AS (
           SELECT d.id FROM skc_deliveries d, clock
           WHERE d.status = 'active' AND d.lease_until < clock.now
             AND d.handler_id = ANY($4) {not_done}
           ORDER BY d.lease_until, d.id
           LIMIT $3
           FOR UPDATE OF d SKIP LOCKED
         ), next AS (
           SELECT id FROM waiting UNION ALL SELECT id FROM expired LIMIT $3
         ), claimed AS (
           UPDATE skc_deliveries d
           SET status = 'active', lease_owner = $1, lease_until = clock.now + $2,
               attempts = d.attempts + 1, updated_at = clock.now,
               expired_leases = d.expired_leases + CASE WHEN d.status = 'active' THEN 1 ELSE 0 END,
               lone_deaths = d.lone_deaths
                 + CASE WHEN d.status = 'active' AND d.lease_owner LIKE '%!' THEN 1 ELSE 0 END
           FROM next, clock
           WHERE d.id = next.id
           RETURNING d.id, d.handler_id, d.attempts, d.replay, d.event_seq, d.expired_leases,
                     d.lone_deaths
         ), grouped AS (
           SELECT c.event_seq AS seq, json_agg(json_build_array(
                    c.id, c.handler_id, c.attempts, c.replay,
                    EXISTS (SELECT 1 FROM skc_handled h JOIN skc_events he ON he.id = h.event_id
                            WHERE he.seq = c.event_seq AND h.handler_id = c.handler_id)::int,
                    c.expired_leases, c.lone_deaths)
                    ORDER BY c.id) AS deliveries
           FROM claimed c GROUP BY c.event_seq
         )
         SELECT coalesce((
                  SELECT json_agg(json_build_array(
                           e.seq, e.id, e.event_type, e.aggregate_type, e.aggregate_id,
                           e.payload::text, e.metadata::text, e.version,
                           to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
                           g.deliveries) ORDER BY e.seq)
                  FROM grouped g JOIN skc_events e ON e.seq = g.seq)::text, '[]') AS claimed,
                {completed} AS completed"
    )
}

impl Store {
    /// Opens (creating if needed) a SQLite store in one file, in WAL mode with
    /// `synchronous=NORMAL`, and applies the migrations.
    pub async fn sqlite(path: impl AsRef<Path>) -> Result<Store> {
        Store::sqlite_with(path, Durability::Normal).await
    }

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

    /// The store's connections to one SQLite file, as `options` open it;
    /// nothing is created or migrated here.
    pub(crate) async fn sqlite_on(options: SqliteConnectOptions) -> Result<Store> {
        // SQLite has one writer at a time. The store writes through one
        // connection it holds; callers' transactions use a pool of one more
        // (transactions start with BEGIN IMMEDIATE, so writers queue on the busy
        // timeout instead of deadlocking); a few connections read. A pool
        // checkout costs about as much as a statement, hence the held connection.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        // Checkpoints (copying WAL pages back into the database file, with an
        // fsync) would otherwise run inside whichever commit crosses the WAL
        // threshold, on the writer's thread. A task checkpoints from a reader
        // connection instead; the writer keeps a far threshold of its own, for
        // when that task cannot run.
        let writer = SqliteConnection::connect_with(
            &options
                .clone()
                .pragma("wal_autocheckpoint", WRITER_CHECKPOINT_PAGES.to_string()),
        )
        .await?;
        Ok(Store {
            db: Db::Sqlite {
                writer: Arc::new(group_commit::GroupCommit::new(
                    writer,
                    group_commit::write_sqlite,
                )),
                write,
                read,
            },
            wake: Arc::default(),
            analyze: Arc::default(),
            pg_appends: None,
        })
    }

    /// A PostgreSQL store on `pool`, its group commit writing through it;
    /// nothing is created or migrated here.
    pub(crate) fn postgres_on(pool: PgPool, server: connect::PgServer) -> Store {
        Store {
            pg_appends: Some(Arc::new(group_commit::GroupCommit::new(
                group_commit::PgWriter {
                    pool: pool.clone(),
                    server,
                },
                group_commit::write_postgres,
            ))),
            db: Db::Postgres(pool),
            wake: Arc::default(),
            analyze: Arc::default(),
        }
    }

    /// SQLite: while the store lives, a task runs a passive checkpoint every
    /// 50 ms (cheap when the WAL has nothing new), off the writer's thread.
    pub(crate) fn checkpoint_in_background(&self) {
        let Db::Sqlite { read, .. } = &self.db else {
            return;
        };
        let read = read.clone();
        let alive = Arc::downgrade(&self.wake);
        tokio::spawn(async move {
            while alive.strong_count() > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                // Best effort: the writer's own threshold is the fallback.
                let _ = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&read)
                    .await;
            }
        });
    }

    /// Connects to PostgreSQL and applies the migrations. `schema`, when given, is
    /// created if missing and used as the search path (tests give each run its own).
    /// Commits are flushed ([`PostgresCommit::Flushed`]).
    ///
    /// A server that cannot be reached fails at once (a refused connection) or
    /// after the URL's `connect_timeout` (seconds, as libpq reads it; by default
    /// [`DEFAULT_CONNECT_TIMEOUT`]) with [`StoreError::Connect`], which names
    /// the address; so does a publish that finds the server gone later.
    pub async fn postgres(url: &str, schema: Option<&str>) -> Result<Store> {
        Store::postgres_with(url, schema, PostgresCommit::Flushed).await
    }

    /// [`Store::postgres`] with a chosen [`PostgresCommit`].
    pub async fn postgres_with(
        url: &str,
        schema: Option<&str>,
        commit: PostgresCommit,
    ) -> Result<Store> {
        let server = connect::PgServer::from_url(url)?;
        let mut options = server.options.clone();
        if let Some(schema) = schema {
            check_schema_name(schema)?;
        }
        // One connection of our own first: an unreachable server fails here at
        // once, in its own words, not after the pool's timeout. It creates the
        // schema.
        let mut admin = server.connect(&options).await?;
        if let Some(schema) = schema {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
            )))
            .execute(&mut admin)
            .await
            .or_else(ignore_concurrent_create)?;
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
                    if meta.idle_for >= PG_PING_AFTER_IDLE {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_lazy_with(options.clone());
        let server = connect::PgServer { options, ..server };
        let store = Store::postgres_on(pool, server);
        store.migrate().await?;
        Ok(store)
    }

    /// The SQLite pool for writes, to run the caller's own transactions with
    /// [`append_sqlite`].
    pub fn sqlite_pool(&self) -> Option<&SqlitePool> {
        match &self.db {
            Db::Sqlite { write, .. } => Some(write),
            Db::Postgres(_) => None,
        }
    }

    /// The PostgreSQL pool, to run the caller's own transactions with
    /// [`append_postgres`].
    pub fn postgres_pool(&self) -> Option<&PgPool> {
        match &self.db {
            Db::Postgres(p) => Some(p),
            Db::Sqlite { .. } => None,
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
    /// One task per store, however often it is called (every [`Worker::run`]
    /// calls it), on a connection of its own outside the store's pool, so a
    /// worker restarted again and again in one process takes no connection
    /// from publishers; it ends when the last handle of the store is dropped.
    pub fn listen(&self) {
        let Db::Postgres(pool) = &self.db else { return };
        let mut started = false;
        let own = self.wake.listener.get_or_init(|| {
            started = true;
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .min_connections(0)
                .max_lifetime(None)
                .idle_timeout(None)
                .connect_lazy_with((*pool.connect_options()).clone())
        });
        if !started {
            return;
        }
        let pool = own.clone();
        let wake = Arc::downgrade(&self.wake);
        tokio::spawn(async move {
            loop {
                if wake.strong_count() == 0 || pool.is_closed() {
                    return;
                }
                if let Ok(mut listener) = sqlx::postgres::PgListener::connect_with(&pool).await {
                    if listener.listen("skc_deliveries").await.is_ok() {
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
        match &self.db {
            Db::Sqlite { write, .. } => sqlite::migrate::migrate(write).await,
            Db::Postgres(pool) => postgres::migrate::migrate(pool).await,
        }
    }

    /// Stores `events` and queues one delivery per subscriber of each, in one
    /// transaction: either all of it is stored or nothing is. `subscribers` gives
    /// the handlers of an event type. An event whose id is already stored is
    /// skipped (publishing is idempotent). Returns the sequence numbers of the
    /// events stored now.
    pub async fn append<'s, F>(&self, events: &[NewEvent], subscribers: F) -> Result<Vec<i64>>
    where
        F: Fn(&str) -> Vec<Subscriber<'s>>,
    {
        self.append_rows(event_rows(events, &subscribers)).await
    }

    /// [`Store::append`] for envelopes as the bus hands them over: the payload
    /// is stored as the JSON text it already is, not parsed and encoded again.
    pub(crate) async fn append_raw<'s, F>(
        &self,
        envelopes: &[skillcore_events::RawEnvelope],
        subscribers: F,
    ) -> Result<Vec<i64>>
    where
        F: Fn(&str) -> Vec<Subscriber<'s>>,
    {
        let mut routes = Routes::default();
        let mut rows = Vec::with_capacity(envelopes.len());
        for e in envelopes {
            rows.push(group_commit::EventRow {
                id: e.id.to_string(),
                event_type: e.event_type.clone(),
                aggregate_type: e.aggregate_type.clone(),
                aggregate_id: e.aggregate_id.clone(),
                district_id: Some(e.metadata.district_id.clone()),
                payload: e.payload.get().to_string(),
                metadata: serde_json::to_string(&e.metadata).map_err(StoreError::Encode)?,
                version: e.version as i64,
                occurred_at: ts_text(&e.occurred_at),
                handlers: routes.of(&e.event_type, &subscribers),
            });
        }
        self.append_rows(rows).await
    }

    async fn append_rows(&self, rows: Vec<group_commit::EventRow>) -> Result<Vec<i64>> {
        // Before grouping: an event that cannot be stored fails its own append,
        // never a group it would have joined.
        validate::check_rows(&rows)?;
        let seqs = match (&self.db, &self.pg_appends) {
            // Group commit: written together with the appends of other tasks
            // that arrive meanwhile, each still all-or-nothing, one statement
            // per group (up to SQLITE_ROWS_PER_INSERT events on SQLite).
            (Db::Sqlite { writer, .. }, _) => writer.append(rows).await?,
            (Db::Postgres(pool), Some(appends)) => {
                let seqs = appends.append(rows).await?;
                self.analyze_when_grown(pool, seqs.len() as u64);
                seqs
            }
            (Db::Postgres(_), None) => {
                unreachable!("a PostgreSQL store is opened with its group commit")
            }
        };
        self.notify();
        Ok(seqs)
    }

    fn analyze_when_grown(&self, pool: &PgPool, appended: u64) {
        use std::sync::atomic::Ordering::Relaxed;
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
        let pool = pool.clone();
        tokio::spawn(async move {
            // Best effort: autovacuum does the same later if this fails.
            let _ = sqlx::raw_sql("ANALYZE skc_deliveries, skc_events")
                .execute(&pool)
                .await;
        });
    }

    /// [`Store::complete_many`] and [`Store::claim_for`] in one go, what a
    /// worker does between batches: one commit on both backends (on SQLite one
    /// UPDATE; on PostgreSQL one statement whose first part completes).
    pub async fn complete_and_claim(
        &self,
        done: &[&Claimed],
        worker: &str,
        handlers: &[&str],
        limit: u32,
        lease: Duration,
    ) -> Result<(Vec<i64>, Vec<Claimed>)> {
        let postgres = matches!(self.db, Db::Postgres(_));
        if handlers.is_empty() || limit == 0 || (postgres && done.is_empty()) {
            let completed = self.complete_many(done).await?;
            let claimed = self.claim_for(worker, handlers, limit, lease).await?;
            return Ok((completed, claimed));
        }
        let handler_list: Vec<String> = handlers.iter().map(|h| h.to_string()).collect();
        let lease_us = lease.as_micros().min(i64::MAX as u128) as i64;
        let owner = claim_owner(worker);
        match &self.db {
            Db::Sqlite { .. } => {
                self.sqlite_complete_and_claim(done, &owner, &handler_list, limit, lease_us)
                    .await
            }
            Db::Postgres(pool) => {
                let ids: Vec<i64> = done.iter().map(|c| c.delivery_id).collect();
                let owners: Vec<&str> = done.iter().map(|c| c.lease_owner.as_str()).collect();
                let (claimed, completed): (String, Option<Vec<i64>>) =
                    sqlx::query_as(sqlx::AssertSqlSafe(pg_claim_sql(true)))
                        .bind(&owner)
                        .bind(lease_us)
                        .bind(limit as i64)
                        .bind(&handler_list)
                        .bind(&ids)
                        .bind(&owners)
                        .fetch_one(pool)
                        .await?;
                let claimed = claimed_from_json(&claimed, &owner)?;
                let mut completed = completed.unwrap_or_default();
                completed.sort_unstable();
                self.record_handled(done, &completed).await?;
                Ok((completed, claimed))
            }
        }
    }

    /// One UPDATE marks `done` done (where their leases still hold) and claims
    /// up to `limit` ready deliveries for `owner`; a SELECT then reads what
    /// `owner` holds as one row of JSON (one hand-over from SQLite's thread
    /// however many were claimed). Nobody else can take those before the lease
    /// runs out, and events never change, so the SELECT needs no transaction
    /// with the UPDATE. The owner stays on a done row, so when fewer rows than
    /// asked were completed, the ones this call completed can be told apart.
    async fn sqlite_complete_and_claim(
        &self,
        done: &[&Claimed],
        owner: &str,
        handlers: &[String],
        limit: u32,
        lease_us: i64,
    ) -> Result<(Vec<i64>, Vec<Claimed>)> {
        let Db::Sqlite { writer, read, .. } = &self.db else {
            unreachable!("called for SQLite stores only")
        };
        let leases: Vec<(i64, &str)> = done
            .iter()
            .map(|c| (c.delivery_id, c.lease_owner.as_str()))
            .collect();
        let leases = serde_json::to_string(&leases).unwrap_or_default();
        let now = now_us();
        let lease_until = now.saturating_add(lease_us);
        let mut conn = writer.lock().await;
        let changed = sqlx::query(concat!(
            "UPDATE skc_deliveries
             SET status = CASE WHEN u.owner IS NULL THEN 'active' ELSE 'done' END,
                 lease_owner = CASE WHEN u.owner IS NULL THEN ?1 ELSE skc_deliveries.lease_owner END,
                 lease_until = CASE WHEN u.owner IS NULL THEN ?2 END,
                 attempts = skc_deliveries.attempts + (u.owner IS NULL),
                 expired_leases = skc_deliveries.expired_leases
                   + (u.owner IS NULL AND skc_deliveries.status = 'active'),
                 lone_deaths = skc_deliveries.lone_deaths
                   + (u.owner IS NULL AND skc_deliveries.status = 'active'
                      AND skc_deliveries.lease_owner LIKE '%!'),
                 updated_at = ?3
             FROM (
               SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS owner
               FROM json_each(?6)
               UNION ALL
               SELECT id, NULL FROM (
                 SELECT id FROM (
                   SELECT d.id FROM skc_deliveries d INDEXED BY skc_deliveries_waiting
                   WHERE d.status = 'waiting' AND d.available_at <= ?3
                     AND d.handler_id IN (SELECT value FROM json_each(?5))
                     AND ", order_clear!(), "
                   ORDER BY d.available_at, d.id
                   LIMIT ?4)
                 UNION ALL
                 SELECT id FROM (
                   SELECT d.id FROM skc_deliveries d INDEXED BY skc_deliveries_leased
                   WHERE d.status = 'active' AND d.lease_until < ?3
                     AND d.handler_id IN (SELECT value FROM json_each(?5))
                     AND d.id NOT IN (SELECT json_extract(value, '$[0]') FROM json_each(?6))
                   ORDER BY d.lease_until, d.id
                   LIMIT ?4)
                 LIMIT ?4)
             ) AS u
             WHERE skc_deliveries.id = u.id
               AND (u.owner IS NULL
                    OR (skc_deliveries.lease_owner = u.owner AND skc_deliveries.status = 'active'))",
        ))
        .bind(owner)
        .bind(lease_until)
        .bind(now)
        .bind(limit as i64)
        .bind(serde_json::to_string(handlers).unwrap_or_default())
        .bind(&leases)
        .execute(&mut *conn)
        .await?
        .rows_affected() as usize;
        // The rest only reads rows this owner now holds (or has finished), which
        // nobody else changes: it runs on a reader connection, on a thread of
        // its own, while the writer takes the next step's UPDATE. The UPDATE
        // has committed, so the reader sees it.
        drop(conn);
        let (claimed, claimed_n): (String, i64) = if limit == 0 {
            ("[]".into(), 0)
        } else {
            sqlx::query_as(
                "SELECT json_group_array(json_array(
                      e.seq, e.id, e.event_type, e.aggregate_type, e.aggregate_id,
                      e.payload, e.metadata, e.version, e.occurred_at, json(c.deliveries))),
                    coalesce(sum(c.n), 0)
             FROM (
               SELECT d.event_seq AS seq, count(*) AS n, json_group_array(json_array(
                        d.id, d.handler_id, d.attempts, d.replay,
                        EXISTS (SELECT 1 FROM skc_handled h JOIN skc_events he ON he.id = h.event_id
                                WHERE he.seq = d.event_seq AND h.handler_id = d.handler_id),
                        d.expired_leases, d.lone_deaths)) AS deliveries
               FROM skc_deliveries d INDEXED BY skc_deliveries_leased
               WHERE d.status = 'active' AND d.lease_until = ?2 AND d.lease_owner = ?1
               GROUP BY d.event_seq
             ) AS c JOIN skc_events e ON e.seq = c.seq",
            )
            .bind(owner)
            .bind(lease_until)
            .fetch_one(read)
            .await?
        };
        let completed: Vec<i64> = if changed == done.len() + claimed_n as usize {
            done.iter().map(|c| c.delivery_id).collect()
        } else {
            sqlx::query_scalar(
                "SELECT d.id FROM skc_deliveries d,
                   (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS owner
                    FROM json_each(?1)) AS u
                 WHERE d.id = u.id AND d.lease_owner = u.owner AND d.status = 'done'",
            )
            .bind(&leases)
            .fetch_all(read)
            .await?
        };
        let claimed = claimed_from_json(&claimed, owner)?;
        let mut completed = completed;
        completed.sort_unstable();
        self.record_handled(done, &completed).await?;
        Ok((completed, claimed))
    }

    /// Claims up to `limit` ready deliveries of the given handlers for `worker`,
    /// with a lease of `lease`. Ready: waiting and due, or active with an expired
    /// lease (its worker died). With `ordered` subscriptions, a delivery waits until
    /// earlier events of the same aggregate are done for that handler.
    pub async fn claim_for(
        &self,
        worker: &str,
        handlers: &[&str],
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Claimed>> {
        if handlers.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let handler_list: Vec<String> = handlers.iter().map(|h| h.to_string()).collect();
        let lease_us = lease.as_micros().min(i64::MAX as u128) as i64;
        let owner = claim_owner(worker);
        match &self.db {
            Db::Sqlite { .. } => Ok(self
                .sqlite_complete_and_claim(&[], &owner, &handler_list, limit, lease_us)
                .await?
                .1),
            Db::Postgres(pool) => {
                // The claim commits without waiting for its WAL flush
                // (`synchronous_commit` off for this statement's transaction
                // only): a claim lost in a server crash leaves the delivery
                // waiting, as if never claimed, and a success recorded after it
                // still counts (see `complete_many`). Publishes and completions
                // stay synchronous.
                let claimed: String = sqlx::query_scalar(sqlx::AssertSqlSafe(pg_claim_sql(false)))
                    .bind(&owner)
                    .bind(lease_us)
                    .bind(limit as i64)
                    .bind(&handler_list)
                    .fetch_one(pool)
                    .await?;
                claimed_from_json(&claimed, &owner)
            }
        }
    }

    /// Marks a claimed delivery done: the done delivery, unique per event and
    /// handler, is the handler's idempotency record, written in the same
    /// statement. Returns `false` when the lease was lost (another worker has
    /// claimed the delivery since); the success is then recorded in
    /// `skc_handled`, so the handler is not run for the event again.
    pub async fn complete(&self, c: &Claimed) -> Result<bool> {
        Ok(self.complete_many(&[c]).await? == [c.delivery_id])
    }

    /// [`Store::complete`] for many deliveries in one statement (what workers do
    /// with a batch of finished handlers). Returns the ids of the deliveries that
    /// were still held by their lease and are now done.
    pub async fn complete_many(&self, done: &[&Claimed]) -> Result<Vec<i64>> {
        if done.is_empty() {
            return Ok(Vec::new());
        }
        let Db::Postgres(pool) = &self.db else {
            return Ok(self.sqlite_complete_and_claim(done, "", &[], 0, 0).await?.0);
        };
        let ids: Vec<i64> = done.iter().map(|c| c.delivery_id).collect();
        let owners: Vec<&str> = done.iter().map(|c| c.lease_owner.as_str()).collect();
        let mut completed: Vec<i64> = sqlx::query_scalar(
            "UPDATE skc_deliveries d
             SET status = 'done', lease_owner = NULL, lease_until = NULL,
                 updated_at = (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
             FROM unnest($1::bigint[], $2::text[]) AS u(id, owner)
             WHERE d.id = u.id AND d.lease_owner = u.owner AND d.status = 'active'
             RETURNING d.id",
        )
        .bind(&ids)
        .bind(&owners)
        .fetch_all(pool)
        .await?;
        completed.sort_unstable();
        self.record_handled(done, &completed).await?;
        Ok(completed)
    }

    /// Successes whose lease was lost: the delivery belongs to another worker
    /// now (which may be running it). Records that the handler succeeded, so a
    /// later claim settles it without running the handler again.
    /// `completed` is sorted; the successes in `done` missing from it lost
    /// their lease.
    async fn record_handled(&self, done: &[&Claimed], completed: &[i64]) -> Result<()> {
        let lost: Vec<&Claimed> = done
            .iter()
            .copied()
            .filter(|c| completed.binary_search(&c.delivery_id).is_err())
            .collect();
        if lost.is_empty() {
            return Ok(());
        }
        let handlers: Vec<&str> = lost.iter().map(|c| c.handler_id.as_str()).collect();
        let events: Vec<String> = lost.iter().map(|c| c.event.event.id.to_string()).collect();
        match &self.db {
            Db::Sqlite { writer, .. } => {
                // `WHERE true` keeps SQLite from reading ON CONFLICT as a join clause.
                sqlx::query(
                    "INSERT INTO skc_handled (handler_id, event_id, handled_at)
                     SELECT h.value, e.value, ?3
                     FROM json_each(?1) AS h JOIN json_each(?2) AS e ON e.key = h.key
                     WHERE true
                     ON CONFLICT DO NOTHING",
                )
                .bind(serde_json::to_string(&handlers).unwrap_or_default())
                .bind(serde_json::to_string(&events).unwrap_or_default())
                .bind(now_us())
                .execute(&mut *writer.lock().await)
                .await?;
            }
            Db::Postgres(pool) => {
                sqlx::query(
                    "INSERT INTO skc_handled (handler_id, event_id, handled_at)
                     SELECT h, e::uuid, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
                     FROM unnest($1::text[], $2::text[]) AS u(h, e)
                     ON CONFLICT DO NOTHING",
                )
                .bind(&handlers)
                .bind(&events)
                .execute(pool)
                .await?;
            }
        }
        Ok(())
    }

    /// Hands claimed deliveries back unstarted (a worker shutting down with
    /// deliveries claimed ahead): they are waiting again at once, and the claim
    /// does not count as an attempt. Returns how many were still held.
    pub async fn release(&self, claimed: &[&Claimed]) -> Result<u64> {
        if claimed.is_empty() {
            return Ok(0);
        }
        let n = match &self.db {
            Db::Sqlite { writer, .. } => {
                let leases: Vec<(i64, &str)> = claimed
                    .iter()
                    .map(|c| (c.delivery_id, c.lease_owner.as_str()))
                    .collect();
                sqlx::query(
                    "UPDATE skc_deliveries
                     SET status = 'waiting', attempts = MAX(attempts - 1, 0), lease_owner = NULL,
                         lease_until = NULL, updated_at = ?2
                     FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS owner
                           FROM json_each(?1)) AS u
                     WHERE skc_deliveries.id = u.id AND skc_deliveries.lease_owner = u.owner
                       AND skc_deliveries.status = 'active'",
                )
                .bind(serde_json::to_string(&leases).unwrap_or_default())
                .bind(now_us())
                .execute(&mut *writer.lock().await)
                .await?
                .rows_affected()
            }
            Db::Postgres(pool) => {
                let ids: Vec<i64> = claimed.iter().map(|c| c.delivery_id).collect();
                let owners: Vec<&str> = claimed.iter().map(|c| c.lease_owner.as_str()).collect();
                sqlx::query(
                    "UPDATE skc_deliveries d
                     SET status = 'waiting', attempts = GREATEST(d.attempts - 1, 0), lease_owner = NULL,
                         lease_until = NULL,
                         updated_at = (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
                     FROM unnest($1::bigint[], $2::text[]) AS u(id, owner)
                     WHERE d.id = u.id AND d.lease_owner = u.owner AND d.status = 'active'",
                )
                .bind(&ids)
                .bind(&owners)
                .execute(pool)
                .await?
                .rows_affected()
            }
        };
        self.notify();
        Ok(n)
    }

    /// Records a failed attempt: the delivery waits `retry_in` for its next attempt,
    /// or, with `retry_in = None`, becomes a dead letter. Returns `false` when the
    /// lease was lost. At most [`MAX_ERROR_BYTES`] of `error` are stored, cut at
    /// a character boundary with a note of its full length.
    pub async fn fail(&self, c: &Claimed, error: &str, retry_in: Option<Duration>) -> Result<bool> {
        // At most `MAX_ERROR_BYTES` of it are kept.
        let error = bounded::error_text(error);
        let dead = retry_in.is_none();
        let delay = retry_in
            .map(|d| d.as_micros().min(i64::MAX as u128) as i64)
            .unwrap_or(0);
        let n = match &self.db {
            Db::Sqlite { writer, .. } => {
                let now = now_us();
                sqlx::query(
                    "UPDATE skc_deliveries
                     SET status = CASE WHEN ? THEN 'dead' ELSE 'waiting' END,
                         available_at = ?, last_error = ?, lease_owner = NULL,
                         lease_until = NULL, updated_at = ?
                     WHERE id = ? AND lease_owner = ? AND status = 'active'",
                )
                .bind(dead)
                .bind(now.saturating_add(delay))
                .bind(error.as_ref())
                .bind(now)
                .bind(c.delivery_id)
                .bind(&c.lease_owner)
                .execute(&mut *writer.lock().await)
                .await?
                .rows_affected()
            }
            Db::Postgres(pool) => sqlx::query(
                "WITH clock AS (
                       SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS now
                     )
                     UPDATE skc_deliveries
                     SET status = CASE WHEN $1 THEN 'dead' ELSE 'waiting' END,
                         available_at = clock.now + $2, last_error = $3, lease_owner = NULL,
                         lease_until = NULL, updated_at = clock.now
                     FROM clock
                     WHERE id = $4 AND lease_owner = $5 AND status = 'active'",
            )
            .bind(dead)
            .bind(delay)
            .bind(error.as_ref())
            .bind(c.delivery_id)
            .bind(&c.lease_owner)
            .execute(pool)
            .await?
            .rows_affected(),
        };
        Ok(n == 1)
    }

    /// Dead letters of the events in `scope`, oldest first, optionally of one
    /// handler. Each holds its whole event: a caller working for one district
    /// passes that district's scope.
    pub async fn dead_letters(
        &self,
        scope: &Scope,
        handler: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DeadLetter>> {
        let (all, district) = scope.parts();
        // The same rows in both dialects; only the integer width differs.
        macro_rules! dead_letters_of {
            ($rows:expr, $int:ty, $event:ident) => {
                $rows
                    .iter()
                    .map(|r| {
                        Ok(DeadLetter {
                            delivery_id: r.try_get("delivery_id")?,
                            handler_id: r.try_get("handler_id")?,
                            attempts: r.try_get::<$int, _>("attempts")? as u32,
                            last_error: r
                                .try_get::<Option<String>, _>("last_error")?
                                .unwrap_or_default(),
                            failed_at: micros(r.try_get("updated_at")?),
                            event: $event(r)?,
                        })
                    })
                    .collect()
            };
        }
        match &self.db {
            Db::Sqlite { read, .. } => {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT d.id AS delivery_id, d.handler_id, d.attempts, d.last_error, d.updated_at, {SQLITE_EVENT_COLS}
                     FROM skc_deliveries d JOIN skc_events e ON e.seq = d.event_seq
                     WHERE d.status = 'dead' AND (?1 IS NULL OR d.handler_id = ?1)
                       AND (?3 OR e.district_id = ?4)
                     ORDER BY d.updated_at, d.id LIMIT ?2"
                )))
                .bind(handler)
                .bind(limit as i64)
                .bind(all)
                .bind(district)
                .fetch_all(read)
                .await?;
                dead_letters_of!(rows, i64, sqlite_event_lenient)
            }
            Db::Postgres(pool) => {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT d.id AS delivery_id, d.handler_id, d.attempts, d.last_error, d.updated_at, {PG_EVENT_COLS}
                     FROM skc_deliveries d JOIN skc_events e ON e.seq = d.event_seq
                     WHERE d.status = 'dead' AND ($1::text IS NULL OR d.handler_id = $1)
                       AND ($3 OR e.district_id = $4)
                     ORDER BY d.updated_at, d.id LIMIT $2"
                )))
                .bind(handler)
                .bind(limit as i64)
                .bind(all)
                .bind(district)
                .fetch_all(pool)
                .await?;
                dead_letters_of!(rows, i32, pg_event)
            }
        }
    }

    /// Puts a dead letter back in the queue with a fresh set of attempts.
    /// Returns `false` if it is not a dead letter (any more), or not one of an
    /// event in `scope`.
    pub async fn retry_dead(&self, scope: &Scope, delivery_id: i64) -> Result<bool> {
        let n = self
            .exec_dead(
                "UPDATE skc_deliveries SET status = 'waiting', attempts = 0, available_at = ?1, updated_at = ?1
                 WHERE id = ?2 AND status = 'dead' AND ",
                "UPDATE skc_deliveries SET status = 'waiting', attempts = 0,
                   available_at = (extract(epoch FROM clock_timestamp()) * 1000000)::bigint,
                   updated_at = (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
                 WHERE id = $1 AND status = 'dead' AND ",
                scope,
                delivery_id,
            )
            .await?;
        self.notify();
        Ok(n == 1)
    }

    /// Drops a dead letter for good (the row stays, marked `discarded`, for
    /// audit). Returns `false` if it is not a dead letter (any more), or not one
    /// of an event in `scope`.
    pub async fn discard_dead(&self, scope: &Scope, delivery_id: i64) -> Result<bool> {
        let n = self
            .exec_dead(
                "UPDATE skc_deliveries SET status = 'discarded', updated_at = ?1
                 WHERE id = ?2 AND status = 'dead' AND ",
                "UPDATE skc_deliveries SET status = 'discarded',
                   updated_at = (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
                 WHERE id = $1 AND status = 'dead' AND ",
                scope,
                delivery_id,
            )
            .await?;
        Ok(n == 1)
    }

    // An update of one dead letter, in `scope`: the statements end in `AND `,
    // and the scope's condition on the letter's event follows. SQLite ones bind
    // (now, id); PostgreSQL ones read the database clock and bind (id).
    async fn exec_dead(
        &self,
        sqlite: &'static str,
        pg: &'static str,
        scope: &Scope,
        id: i64,
    ) -> Result<u64> {
        let (all, district) = scope.parts();
        Ok(match &self.db {
            Db::Sqlite { writer, .. } => sqlx::query(sqlx::AssertSqlSafe(format!(
                "{sqlite}(?3 OR EXISTS (SELECT 1 FROM skc_events e
                                 WHERE e.seq = skc_deliveries.event_seq AND e.district_id = ?4))"
            )))
            .bind(now_us())
            .bind(id)
            .bind(all)
            .bind(district)
            .execute(&mut *writer.lock().await)
            .await?
            .rows_affected(),
            Db::Postgres(pool) => sqlx::query(sqlx::AssertSqlSafe(format!(
                "{pg}($2 OR EXISTS (SELECT 1 FROM skc_events e
                             WHERE e.seq = skc_deliveries.event_seq AND e.district_id = $3))"
            )))
            .bind(id)
            .bind(all)
            .bind(district)
            .execute(pool)
            .await?
            .rows_affected(),
        })
    }

    /// Whether any of these handlers has a delivery not yet finished (waiting,
    /// retrying or running). Reads the partial indexes of unfinished deliveries
    /// only, cheap enough to poll.
    pub async fn has_pending(&self, handlers: &[&str]) -> Result<bool> {
        let list: Vec<String> = handlers.iter().map(|h| h.to_string()).collect();
        Ok(match &self.db {
            Db::Sqlite { read, .. } => {
                sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM skc_deliveries INDEXED BY skc_deliveries_waiting
                                    WHERE status = 'waiting'
                                      AND handler_id IN (SELECT value FROM json_each(?1)))
                         OR EXISTS (SELECT 1 FROM skc_deliveries INDEXED BY skc_deliveries_leased
                                    WHERE status = 'active'
                                      AND handler_id IN (SELECT value FROM json_each(?1)))",
                )
                .bind(serde_json::to_string(&list).unwrap_or_default())
                .fetch_one(read)
                .await?
            }
            Db::Postgres(pool) => {
                sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM skc_deliveries
                                    WHERE status = 'waiting' AND handler_id = ANY($1))
                         OR EXISTS (SELECT 1 FROM skc_deliveries
                                    WHERE status = 'active' AND handler_id = ANY($1))",
                )
                .bind(&list)
                .fetch_one(pool)
                .await?
            }
        })
    }

    /// Queue counters per handler of the deliveries of events in `scope`,
    /// sorted by handler id.
    pub async fn stats(&self, scope: &Scope) -> Result<Vec<HandlerStats>> {
        const COUNTS: &str = "SELECT d.handler_id,
              CAST(SUM(CASE WHEN d.status = 'waiting' AND d.attempts = 0 THEN 1 ELSE 0 END) AS BIGINT) AS waiting,
              CAST(SUM(CASE WHEN d.status = 'active' THEN 1 ELSE 0 END) AS BIGINT) AS active,
              CAST(SUM(CASE WHEN d.status = 'done' THEN 1 ELSE 0 END) AS BIGINT) AS completed,
              CAST(SUM(CASE WHEN d.status = 'waiting' AND d.attempts > 0 THEN 1 ELSE 0 END) AS BIGINT) AS failed,
              CAST(SUM(CASE WHEN d.status = 'dead' THEN 1 ELSE 0 END) AS BIGINT) AS dead
            FROM skc_deliveries d";
        // All districts count the table alone; one district joins each
        // delivery's event for its district (an event's deliveries carry none).
        let sql = match scope {
            Scope::AllDistricts => format!("{COUNTS} GROUP BY d.handler_id ORDER BY d.handler_id"),
            Scope::District(_) => format!(
                "{COUNTS} JOIN skc_events e ON e.seq = d.event_seq WHERE e.district_id = {}
                 GROUP BY d.handler_id ORDER BY d.handler_id",
                if self.postgres_pool().is_some() {
                    "$1"
                } else {
                    "?1"
                }
            ),
        };
        let district = match scope {
            Scope::District(d) => Some(d.as_str()),
            Scope::AllDistricts => None,
        };
        macro_rules! stats_of {
            ($rows:expr) => {
                $rows
                    .iter()
                    .map(|r| {
                        Ok(HandlerStats {
                            handler_id: r.try_get("handler_id")?,
                            waiting: r.try_get("waiting")?,
                            active: r.try_get("active")?,
                            completed: r.try_get("completed")?,
                            failed: r.try_get("failed")?,
                            dead: r.try_get("dead")?,
                        })
                    })
                    .collect()
            };
        }
        match &self.db {
            Db::Sqlite { read, .. } => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                if let Some(d) = district {
                    q = q.bind(d);
                }
                stats_of!(q.fetch_all(read).await?)
            }
            Db::Postgres(pool) => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                if let Some(d) = district {
                    q = q.bind(d);
                }
                stats_of!(q.fetch_all(pool).await?)
            }
        }
    }

    /// The events of one aggregate, in order.
    pub async fn aggregate_events(
        &self,
        scope: &Scope,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Vec<StoredEvent>> {
        self.select_events(
            scope,
            "e.aggregate_type = ?3 AND e.aggregate_id = ?4",
            "e.aggregate_type = $3 AND e.aggregate_id = $4",
            &[aggregate_type, aggregate_id],
        )
        .await
    }

    /// The events of one type that occurred in `[from, to)`, in order.
    pub async fn events_by_type(
        &self,
        scope: &Scope,
        event_type: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<StoredEvent>> {
        match &self.db {
            Db::Sqlite { .. } => {
                let (from, to) = (ts_text(&from), ts_text(&to));
                self.select_events(
                    scope,
                    "e.event_type = ?3 AND e.occurred_at >= ?4 AND e.occurred_at < ?5",
                    "",
                    &[event_type, &from, &to],
                )
                .await
            }
            Db::Postgres(pool) => {
                let (all, district) = scope.parts();
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {PG_EVENT_COLS} FROM skc_events e
                     WHERE ($1 OR e.district_id = $2) AND e.event_type = $3
                       AND e.occurred_at >= $4 AND e.occurred_at < $5
                     ORDER BY e.seq"
                )))
                .bind(all)
                .bind(district)
                .bind(event_type)
                .bind(from)
                .bind(to)
                .fetch_all(pool)
                .await?;
                rows.iter().map(pg_event).collect()
            }
        }
    }

    /// The events of one type whose payload field `field` equals `value` (compared
    /// as text: `payload->>'studentId' = 'student-123'`). The caller checks that the
    /// field exists in the catalog; the value is always a bound parameter. The
    /// text of a value is the same on both backends: a boolean is `true` or
    /// `false` (SQLite's `json_extract` would give `1` or `0`), a string is
    /// itself, without quotes.
    pub async fn events_by_field(
        &self,
        scope: &Scope,
        event_type: &str,
        field: &str,
        value: &str,
    ) -> Result<Vec<StoredEvent>> {
        check_field(field)?;
        let path = format!("$.{field}");
        self.select_events(
            scope,
            "e.event_type = ?3
             AND CASE json_type(e.payload, ?4)
                   WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
                   ELSE CAST(json_extract(e.payload, ?4) AS TEXT) END = ?5",
            "e.event_type = $3 AND e.payload->>$4 = $5",
            &[
                event_type,
                if self.postgres_pool().is_some() {
                    field
                } else {
                    &path
                },
                value,
            ],
        )
        .await
    }

    /// [`Store::events_by_field`] with the field checked against the catalog
    /// (`EVENTS` of the generated code, or `AnyEvent::events()`): an unknown event
    /// or field is an error that lists what exists, not an empty result.
    pub async fn events_by_catalog_field(
        &self,
        scope: &Scope,
        catalog: &[skillcore_events::EventInfo],
        event_type: &str,
        field: &str,
        value: &str,
    ) -> Result<Vec<StoredEvent>> {
        let info = catalog
            .iter()
            .find(|e| e.name == event_type)
            .ok_or_else(|| StoreError::UnknownEvent(event_type.to_string()))?;
        if info.field(field).is_none() {
            return Err(StoreError::UnknownField {
                event: event_type.to_string(),
                field: field.to_string(),
                fields: info.fields.iter().map(|f| f.name.to_string()).collect(),
            });
        }
        self.events_by_field(scope, event_type, field, value).await
    }

    async fn select_events(
        &self,
        scope: &Scope,
        sqlite_where: &str,
        pg_where: &str,
        args: &[&str],
    ) -> Result<Vec<StoredEvent>> {
        let (all, district) = scope.parts();
        match &self.db {
            Db::Sqlite { read, .. } => {
                let sql = format!(
                    "SELECT {SQLITE_EVENT_COLS} FROM skc_events e
                     WHERE (?1 OR e.district_id = ?2) AND {sqlite_where} ORDER BY e.seq"
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(all)
                    .bind(district);
                for a in args {
                    q = q.bind(*a);
                }
                q.fetch_all(read).await?.iter().map(sqlite_event).collect()
            }
            Db::Postgres(pool) => {
                let sql = format!(
                    "SELECT {PG_EVENT_COLS} FROM skc_events e
                     WHERE ($1 OR e.district_id = $2) AND {pg_where} ORDER BY e.seq"
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(all)
                    .bind(district);
                for a in args {
                    q = q.bind(*a);
                }
                q.fetch_all(pool).await?.iter().map(pg_event).collect()
            }
        }
    }

    /// Up to `limit` events after `cursor` in the global order, with the cursor to
    /// continue from. Never skips an event: on PostgreSQL it reads in
    /// `(transaction, seq)` order and only events of transactions older than every
    /// transaction still in flight, so an event whose transaction commits later is
    /// read later, not passed over.
    pub async fn read_after(
        &self,
        scope: &Scope,
        cursor: Cursor,
        limit: u32,
    ) -> Result<(Vec<StoredEvent>, Cursor)> {
        let (all, district) = scope.parts();
        match &self.db {
            Db::Sqlite { read, .. } => {
                // One writer: sequence numbers are assigned in commit order.
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {SQLITE_EVENT_COLS} FROM skc_events e
                     WHERE e.seq > ?1 AND (?2 OR e.district_id = ?3) ORDER BY e.seq LIMIT ?4"
                )))
                .bind(cursor.seq)
                .bind(all)
                .bind(district)
                .bind(limit as i64)
                .fetch_all(read)
                .await?;
                let events: Vec<StoredEvent> =
                    rows.iter().map(sqlite_event).collect::<Result<_>>()?;
                let next = events
                    .last()
                    .map_or(cursor, |e| Cursor { tx: 0, seq: e.seq });
                Ok((events, next))
            }
            Db::Postgres(pool) => {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {PG_EVENT_COLS} FROM skc_events e
                     WHERE (e.tx_id, e.seq) > ($1::text::xid8, $2)
                       AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())
                       AND ($3 OR e.district_id = $4)
                     ORDER BY e.tx_id, e.seq LIMIT $5"
                )))
                .bind(cursor.tx.to_string())
                .bind(cursor.seq)
                .bind(all)
                .bind(district)
                .bind(limit as i64)
                .fetch_all(pool)
                .await?;
                let mut next = cursor;
                let mut events = Vec::with_capacity(rows.len());
                for r in &rows {
                    next = Cursor {
                        tx: r.try_get("tx")?,
                        seq: r.try_get("seq")?,
                    };
                    events.push(pg_event(r)?);
                }
                Ok((events, next))
            }
        }
    }

    /// Queues the stored events in `scope` matching `filter` again for one
    /// handler, as a replay batch that bypasses the idempotency record (the handler
    /// is rebuilding its projection). Returns the batch id and the number of
    /// deliveries queued; follow it with [`Store::replay_progress`].
    pub async fn replay(
        &self,
        scope: &Scope,
        handler_id: &str,
        filter: &ReplayFilter,
    ) -> Result<(i64, i64)> {
        let batch = now_us();
        let (all, district) = scope.parts();
        let n = match &self.db {
            Db::Sqlite { writer, .. } => {
                let since = filter.since.as_ref().map(ts_text);
                sqlx::query(
                    "INSERT INTO skc_deliveries
                       (event_seq, handler_id, status, available_at, replay, ordering_key, updated_at)
                     SELECT e.seq, ?1, 'waiting', ?2, ?2, e.aggregate_type || ':' || e.aggregate_id, ?2
                     FROM skc_events e
                     WHERE (?3 IS NULL OR e.event_type = ?3) AND (?4 IS NULL OR e.occurred_at >= ?4)
                       AND (?5 OR e.district_id = ?6)
                     ORDER BY e.seq",
                )
                .bind(handler_id)
                .bind(batch)
                .bind(filter.event_type.as_deref())
                .bind(since)
                .bind(all)
                .bind(district)
                .execute(&mut *writer.lock().await)
                .await?
                .rows_affected()
            }
            Db::Postgres(pool) => {
                sqlx::query(
                    "INSERT INTO skc_deliveries
                       (event_seq, handler_id, status, available_at, replay, ordering_key, updated_at)
                     SELECT e.seq, $1, 'waiting', (extract(epoch FROM clock_timestamp()) * 1000000)::bigint,
                            $2, e.aggregate_type || ':' || e.aggregate_id,
                            (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
                     FROM skc_events e
                     WHERE ($3::text IS NULL OR e.event_type = $3)
                       AND ($4::timestamptz IS NULL OR e.occurred_at >= $4)
                       AND ($5 OR e.district_id = $6)
                     ORDER BY e.tx_id, e.seq",
                )
                .bind(handler_id)
                .bind(batch)
                .bind(filter.event_type.as_deref())
                .bind(filter.since)
                .bind(all)
                .bind(district)
                .execute(pool)
                .await?
                .rows_affected()
            }
        };
        self.notify();
        Ok((batch, n as i64))
    }

    /// Progress of a replay batch of one handler, counting the deliveries of
    /// events in `scope`.
    pub async fn replay_progress(
        &self,
        scope: &Scope,
        handler_id: &str,
        batch: i64,
    ) -> Result<ReplayProgress> {
        let (all, district) = scope.parts();
        let (total, done, dead): (i64, i64, i64) = match &self.db {
            Db::Sqlite { read, .. } => {
                sqlx::query_as(
                    "SELECT COUNT(*), COALESCE(SUM(d.status = 'done'), 0), COALESCE(SUM(d.status = 'dead'), 0)
                     FROM skc_deliveries d JOIN skc_events e ON e.seq = d.event_seq
                     WHERE d.handler_id = ?1 AND d.replay = ?2 AND d.replay <> 0
                       AND (?3 OR e.district_id = ?4)",
                )
                .bind(handler_id)
                .bind(batch)
                .bind(all)
                .bind(district)
                .fetch_one(read)
                .await?
            }
            Db::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT COUNT(*),
                            COALESCE(SUM(CASE WHEN d.status = 'done' THEN 1 ELSE 0 END), 0)::bigint,
                            COALESCE(SUM(CASE WHEN d.status = 'dead' THEN 1 ELSE 0 END), 0)::bigint
                     FROM skc_deliveries d JOIN skc_events e ON e.seq = d.event_seq
                     WHERE d.handler_id = $1 AND d.replay = $2 AND d.replay <> 0
                       AND ($3 OR e.district_id = $4)",
                )
                .bind(handler_id)
                .bind(batch)
                .bind(all)
                .bind(district)
                .fetch_one(pool)
                .await?
            }
        };
        Ok(ReplayProgress { total, done, dead })
    }
}

pub(crate) fn check_schema_name(schema: &str) -> Result<()> {
    if !schema.is_empty()
        && schema.len() < 64
        && schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        Ok(())
    } else {
        Err(StoreError::InvalidSchemaName(schema.to_string()))
    }
}

// Two processes creating the same schema at once: one of them gets a unique
// violation on the catalog; the schema exists either way.
pub(crate) fn ignore_concurrent_create(
    e: sqlx::Error,
) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error> {
    match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => {
            Ok(Default::default())
        }
        _ => Err(e),
    }
}

/// [`Store::append`] inside the caller's SQLite transaction (start it with
/// `pool.begin_with("BEGIN IMMEDIATE")` on [`Store::sqlite_pool`]): the events and
/// their deliveries commit or roll back with the caller's own writes. Call
/// [`Store::notify`] after committing to wake local workers at once.
///
/// Outside a transaction, up to [`SQLITE_ROWS_PER_INSERT`] events are stored
/// atomically as well: they are one `INSERT` statement, whose trigger queues the
/// deliveries.
pub async fn append_sqlite<'s, F>(
    conn: &mut SqliteConnection,
    events: &[NewEvent],
    subscribers: &F,
) -> Result<Vec<i64>>
where
    F: Fn(&str) -> Vec<Subscriber<'s>> + ?Sized,
{
    let rows = event_rows(events, subscribers);
    validate::check_rows(&rows)?;
    let mut seqs = Vec::with_capacity(rows.len());
    let refs: Vec<&group_commit::EventRow> = rows.iter().collect();
    for chunk in refs.chunks(SQLITE_ROWS_PER_INSERT) {
        for row in group_commit::insert_statement(chunk, true)
            .fetch_all(&mut *conn)
            .await?
        {
            seqs.push(row.try_get::<i64, _>(0)?);
        }
    }
    seqs.sort_unstable();
    Ok(seqs)
}

/// Events stored by one `INSERT` statement on SQLite (10 bound values each).
pub const SQLITE_ROWS_PER_INSERT: usize = 100;

fn event_rows<'s, F>(events: &[NewEvent], subscribers: &F) -> Vec<group_commit::EventRow>
where
    F: Fn(&str) -> Vec<Subscriber<'s>> + ?Sized,
{
    let mut routes = Routes::default();
    events
        .iter()
        .map(|ev| group_commit::EventRow {
            id: ev.id.to_string(),
            event_type: ev.event_type.clone(),
            aggregate_type: ev.aggregate_type.clone(),
            aggregate_id: ev.aggregate_id.clone(),
            district_id: ev.district_id().map(str::to_string),
            payload: ev.payload.to_string(),
            metadata: ev.metadata.to_string(),
            version: ev.version as i64,
            occurred_at: ts_text(&ev.occurred_at),
            handlers: routes.of(&ev.event_type, subscribers),
        })
        .collect()
}

/// The handlers of each event type as the JSON the store records
/// (`[[handler_id, ordered], ...]`), built once per type per call.
#[derive(Default)]
struct Routes {
    known: Vec<(String, Option<String>)>,
}

impl Routes {
    fn of<'s, F>(&mut self, event_type: &str, subscribers: &F) -> Option<String>
    where
        F: Fn(&str) -> Vec<Subscriber<'s>> + ?Sized,
    {
        if let Some((_, r)) = self.known.iter().find(|(t, _)| t == event_type) {
            return r.clone();
        }
        let subs = subscribers(event_type);
        let json = (!subs.is_empty()).then(|| {
            let list: Vec<(&str, bool)> = subs.iter().map(|s| (s.handler_id, s.ordered)).collect();
            serde_json::to_string(&list).unwrap_or_default()
        });
        self.known.push((event_type.to_string(), json.clone()));
        json
    }
}

/// [`Store::append`] inside the caller's PostgreSQL transaction: the events and
/// their deliveries commit or roll back with the caller's own writes. One
/// statement, atomic by itself outside a transaction too; workers in every
/// process are woken (`NOTIFY`) when it commits.
pub async fn append_postgres<'s, F>(
    conn: &mut PgConnection,
    events: &[NewEvent],
    subscribers: &F,
) -> Result<Vec<i64>>
where
    F: Fn(&str) -> Vec<Subscriber<'s>> + ?Sized,
{
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let rows = event_rows(events, subscribers);
    validate::check_rows(&rows)?;
    let refs: Vec<&group_commit::EventRow> = rows.iter().collect();
    let mut seqs: Vec<i64> = group_commit::postgres_statement(&refs)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()?;
    seqs.sort_unstable();
    Ok(seqs)
}
