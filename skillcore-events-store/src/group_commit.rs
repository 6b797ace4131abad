//! Group commit of appends, for both backends.
//!
//! A commit costs far more than the rows in it: on SQLite every page the
//! transaction touched is appended to the WAL, on PostgreSQL the commit waits
//! for its WAL flush. Appends that arrive while a write is in progress are
//! therefore written together: whoever takes the writer next writes every
//! append waiting at that moment as one statement (on SQLite, one transaction of
//! several past [`SQLITE_ROWS_PER_INSERT`] events), and answers each caller
//! with the sequence numbers of its own events. Each append stays
//! all-or-nothing, and succeeds or fails on its own merits: when a group's
//! statement fails, nothing of it was stored, and its appends are written
//! again one by one, so only the one at fault fails (an event no backend can
//! store never gets this far: see `validate`). When a lone write finds the
//! database unreachable, the appends not yet retried get that error without
//! trying (each would wait for the same server). A lone append is written at
//! once, as before.

use crate::{Result, StoreError, SQLITE_ROWS_PER_INSERT};
use skillcore_events::backend::BoxFuture;
use sqlx::{Connection, PgPool, Row, SqliteConnection};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{oneshot, OwnedMutexGuard};

/// One event as the values of its `skc_events` row.
pub(crate) struct EventRow {
    pub id: String,
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub district_id: Option<String>,
    pub payload: String,
    pub metadata: String,
    pub version: i64,
    /// RFC 3339, microseconds, `Z`.
    pub occurred_at: String,
    /// JSON `[[handler_id, ordered], ...]`; `None` when nobody subscribes.
    pub handlers: Option<String>,
}

type Reply = oneshot::Sender<Result<Vec<i64>>>;

struct Request {
    rows: Vec<EventRow>,
    reply: Reply,
}

/// Writes rows on `C`, returning the sequence number of each id stored now.
pub(crate) type WriteRows<C> =
    for<'a> fn(&'a mut C, Vec<&'a EventRow>) -> BoxFuture<'a, Result<HashMap<String, i64>>>;

/// The writer of one store: a resource only one write uses at a time (the
/// SQLite connection; a turn on the PostgreSQL pool) and the appends waiting
/// for it.
pub(crate) struct GroupCommit<C> {
    conn: Arc<tokio::sync::Mutex<C>>,
    pending: Mutex<Vec<Request>>,
    write: WriteRows<C>,
}

impl<C: Send + 'static> GroupCommit<C> {
    pub fn new(conn: C, write: WriteRows<C>) -> Self {
        GroupCommit {
            conn: Arc::new(tokio::sync::Mutex::new(conn)),
            pending: Mutex::new(Vec::new()),
            write,
        }
    }

    /// The resource, for the store's other writes.
    pub async fn lock(&self) -> tokio::sync::MutexGuard<'_, C> {
        self.conn.lock().await
    }

    /// Stores the rows (with the deliveries their handlers get), possibly
    /// together with other callers' rows; returns the sequence numbers of the
    /// rows stored now (an id already stored is skipped), in order.
    pub async fn append(&self, rows: Vec<EventRow>) -> Result<Vec<i64>> {
        let (reply, mut answer) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Request { rows, reply });
        let guard = Arc::clone(&self.conn).lock_owned().await;
        // A writer before us may have written our rows already.
        if let Ok(r) = answer.try_recv() {
            return r;
        }
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if batch.len() == 1 {
            // Only our own rows: no one else to answer if we are cancelled.
            write_group(guard, self.write, batch).await;
        } else {
            // The group is written by a task of its own, which keeps the writer
            // until every caller is answered: if this caller gives up waiting
            // (its future is dropped), the others still get their answers.
            tokio::spawn(write_group(guard, self.write, batch));
        }
        match answer.await {
            Ok(r) => r,
            Err(_) => Err(StoreError::Abandoned),
        }
    }
}

async fn write_group<C>(mut conn: OwnedMutexGuard<C>, write: WriteRows<C>, batch: Vec<Request>) {
    let mut rows: Vec<&EventRow> = Vec::new();
    for req in &batch {
        rows.extend(req.rows.iter());
    }
    let error = match write(&mut conn, rows).await {
        Ok(mut by_id) => {
            for req in batch {
                let _ = req.reply.send(Ok(seqs_of(&req.rows, &mut by_id)));
            }
            return;
        }
        Err(e) => e,
    };
    let mut batch = batch.into_iter();
    if batch.len() == 1 {
        if let Some(req) = batch.next() {
            let _ = req.reply.send(Err(error));
        }
        return;
    }
    // The group's statement failed as a whole, so nothing of it was stored:
    // each append is written again alone and gets its own answer.
    let mut unreachable: Option<std::sync::Arc<StoreError>> = None;
    for req in batch {
        if let Some(why) = &unreachable {
            let _ = req.reply.send(Err(StoreError::Write(why.clone())));
            continue;
        }
        let result = match write(&mut conn, req.rows.iter().collect()).await {
            Ok(mut by_id) => Ok(seqs_of(&req.rows, &mut by_id)),
            Err(e) if e.is_unreachable() => {
                // The others of the group get the same error, shared.
                let shared = std::sync::Arc::new(e);
                unreachable = Some(shared.clone());
                Err(StoreError::Write(shared))
            }
            Err(e) => Err(e),
        };
        let _ = req.reply.send(result);
    }
}

/// The sequence numbers of `rows` stored now, in order. Each id's sequence
/// number goes to the first row that asked for it.
fn seqs_of(rows: &[EventRow], by_id: &mut HashMap<String, i64>) -> Vec<i64> {
    let mut seqs: Vec<i64> = rows
        .iter()
        .filter_map(|r| by_id.remove(r.id.as_str()))
        .collect();
    seqs.sort_unstable();
    seqs
}

/// [`WriteRows`] for SQLite: one statement per [`SQLITE_ROWS_PER_INSERT`] rows,
/// in a transaction when there are several.
pub(crate) fn write_sqlite<'a>(
    conn: &'a mut SqliteConnection,
    rows: Vec<&'a EventRow>,
) -> BoxFuture<'a, Result<HashMap<String, i64>>> {
    Box::pin(async move {
        if let [row] = rows[..] {
            // One row (a lone publish): no RETURNING row to hand back from
            // SQLite's thread, the result carries the new rowid.
            let done = insert_statement(&[row], false).execute(conn).await?;
            let mut stored = HashMap::new();
            if done.rows_affected() == 1 {
                stored.insert(row.id.clone(), done.last_insert_rowid());
            }
            return Ok(stored);
        }
        if rows.len() <= SQLITE_ROWS_PER_INSERT {
            // One statement: atomic without a transaction of its own.
            return sqlite_rows(conn, &rows).await;
        }
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        let stored = sqlite_rows(&mut tx, &rows).await?;
        tx.commit().await?;
        Ok(stored)
    })
}

/// The PostgreSQL writer: a turn on the pool, and the server it connects to
/// (so that an unreachable server fails a publish at once, by name).
pub(crate) struct PgWriter {
    pub pool: PgPool,
    pub server: crate::connect::PgServer,
}

/// [`WriteRows`] for PostgreSQL: one statement on a connection of the pool.
pub(crate) fn write_postgres<'a>(
    writer: &'a mut PgWriter,
    rows: Vec<&'a EventRow>,
) -> BoxFuture<'a, Result<HashMap<String, i64>>> {
    Box::pin(async move {
        let mut conn = writer.server.acquire(&writer.pool).await?;
        let mut stored = HashMap::with_capacity(rows.len());
        for row in postgres_statement(&rows).fetch_all(&mut *conn).await? {
            stored.insert(row.try_get::<String, _>(1)?, row.try_get::<i64, _>(0)?);
        }
        Ok(stored)
    })
}

/// Inserts the rows, [`SQLITE_ROWS_PER_INSERT`] per statement, and returns the
/// sequence number of each id stored now.
async fn sqlite_rows(
    conn: &mut SqliteConnection,
    rows: &[&EventRow],
) -> Result<HashMap<String, i64>> {
    let mut stored = HashMap::with_capacity(rows.len());
    for chunk in rows.chunks(SQLITE_ROWS_PER_INSERT) {
        for row in insert_statement(chunk, true).fetch_all(&mut *conn).await? {
            stored.insert(row.try_get::<String, _>(1)?, row.try_get::<i64, _>(0)?);
        }
    }
    Ok(stored)
}

/// `INSERT INTO skc_events ... VALUES (...), ...` for the rows, with `RETURNING
/// seq, id` when asked. (Without it, the insert's `last_insert_rowid` is the
/// event's `seq`: the deliveries the trigger inserts do not change it.)
pub(crate) fn insert_statement<'q>(
    rows: &[&'q EventRow],
    returning: bool,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    let mut sql = String::from(
        "INSERT INTO skc_events (id, event_type, aggregate_type, aggregate_id, district_id, \
         payload, metadata, version, occurred_at, handlers) VALUES ",
    );
    for i in 0..rows.len() {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str("(?,?,?,?,?,?,?,?,?,?)");
    }
    // An id already stored is skipped, and so the trigger does not queue its
    // deliveries again: publishing is idempotent.
    sql.push_str(" ON CONFLICT (id) DO NOTHING");
    if returning {
        sql.push_str(" RETURNING seq, id");
    }
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for r in rows {
        q = q
            .bind(r.id.as_str())
            .bind(r.event_type.as_str())
            .bind(r.aggregate_type.as_str())
            .bind(r.aggregate_id.as_str())
            .bind(r.district_id.as_deref())
            .bind(r.payload.as_str())
            .bind(r.metadata.as_str())
            .bind(r.version)
            .bind(r.occurred_at.as_str())
            .bind(r.handlers.as_deref());
    }
    q
}

/// The PostgreSQL append statement: `$input` (CTEs the rows come from, if
/// any) and `$rows` (the `VALUES` or `SELECT` of the new event rows) wrapped in
/// the CTE that stores them and the one that queues their deliveries; returns
/// `seq, id::text` of each event stored now.
macro_rules! pg_append {
    ($input:literal, $rows:literal) => {
        concat!(
            "WITH ",
            $input,
            " stored AS (
               INSERT INTO skc_events (id, event_type, aggregate_type, aggregate_id, district_id,
                                       payload, metadata, version, occurred_at, handlers)
               ",
            $rows,
            "
               ON CONFLICT (id) DO NOTHING
               RETURNING seq, id, aggregate_type, aggregate_id, handlers
             ), queued AS (
               INSERT INTO skc_deliveries (event_seq, handler_id, status, available_at, ordering_key, updated_at)
               SELECT s.seq, r.value->>0, 'waiting', c.now,
                      CASE WHEN (r.value->>1)::boolean THEN s.aggregate_type || ':' || s.aggregate_id END,
                      c.now
               FROM stored s
               CROSS JOIN LATERAL jsonb_array_elements(s.handlers) AS r(value)
               CROSS JOIN (SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS now) AS c
               WHERE s.handlers IS NOT NULL
             )
             SELECT seq, id::text FROM stored"
        )
    };
}

/// The PostgreSQL append for the rows: one statement (a data-modifying CTE
/// stores the events, then queues their deliveries), atomic by itself; returns
/// `seq, id::text` of each event stored now.
pub(crate) fn postgres_statement<'q>(
    rows: &[&'q EventRow],
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    if let [row] = rows {
        return postgres_single(row);
    }
    macro_rules! column {
        ($f:expr) => {
            rows.iter().map($f).collect::<Vec<_>>()
        };
    }
    sqlx::query(pg_append!(
        "input AS (
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                $6::text[], $7::text[], $8::bigint[], $9::text[], $10::text[])
             WITH ORDINALITY AS i(id, event_type, aggregate_type, aggregate_id, district_id,
                                  payload, metadata, version, occurred_at, handlers, n)
         ),",
        "SELECT id::uuid, event_type, aggregate_type, aggregate_id, district_id,
                payload::jsonb, metadata::jsonb, version::int, occurred_at::timestamptz,
                handlers::jsonb
         FROM input ORDER BY n"
    ))
    .bind(column!(|r| r.id.as_str()))
    .bind(column!(|r| r.event_type.as_str()))
    .bind(column!(|r| r.aggregate_type.as_str()))
    .bind(column!(|r| r.aggregate_id.as_str()))
    .bind(column!(|r| r.district_id.as_deref()))
    .bind(column!(|r| r.payload.as_str()))
    .bind(column!(|r| r.metadata.as_str()))
    .bind(column!(|r| r.version))
    .bind(column!(|r| r.occurred_at.as_str()))
    .bind(column!(|r| r.handlers.as_deref()))
}

/// [`postgres_statement`] for one event (a lone publish, the common case): the
/// values bound as scalars instead of arrays to unnest, which the server plans
/// and runs faster (awaited single publishes about 5 % faster).
fn postgres_single<'q>(
    row: &'q EventRow,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    sqlx::query(pg_append!(
        "",
        "VALUES ($1::text::uuid, $2, $3, $4, $5, $6::text::jsonb, $7::text::jsonb, $8::int,
                 $9::text::timestamptz, $10::text::jsonb)"
    ))
    .bind(row.id.as_str())
    .bind(row.event_type.as_str())
    .bind(row.aggregate_type.as_str())
    .bind(row.aggregate_id.as_str())
    .bind(row.district_id.as_deref())
    .bind(row.payload.as_str())
    .bind(row.metadata.as_str())
    .bind(row.version)
    .bind(row.occurred_at.as_str())
    .bind(row.handlers.as_deref())
}
