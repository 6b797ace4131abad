//! The SQLite store's writer: one connection, and group commit for appends.
//!
//! SQLite commits one transaction at a time, and on an ordinary file system a
//! commit costs far more than the rows in it (every page it touched is appended
//! to the WAL). Publishes that arrive while a write is in progress are therefore
//! written together: whoever takes the connection next writes every append
//! waiting at that moment as one statement (or one transaction of several, past
//! [`SQLITE_ROWS_PER_INSERT`] events), and answers each caller with the sequence
//! numbers of its own events. Each append stays all-or-nothing: a group fails or
//! commits as a whole, and every caller in it is told.

use crate::{Result, StoreError, SQLITE_ROWS_PER_INSERT};
use sqlx::{Connection, Row, SqliteConnection};
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
    pub occurred_at: String,
    pub handlers: Option<String>,
}

type Reply = oneshot::Sender<std::result::Result<Vec<i64>, String>>;

struct Request {
    rows: Vec<EventRow>,
    reply: Reply,
}

pub(crate) struct Writer {
    conn: Arc<tokio::sync::Mutex<SqliteConnection>>,
    pending: Mutex<Vec<Request>>,
}

impl Writer {
    pub fn new(conn: SqliteConnection) -> Self {
        Writer {
            conn: Arc::new(tokio::sync::Mutex::new(conn)),
            pending: Mutex::new(Vec::new()),
        }
    }

    /// The connection, for the store's other writes.
    pub async fn lock(&self) -> tokio::sync::MutexGuard<'_, SqliteConnection> {
        self.conn.lock().await
    }

    /// Stores the rows (with the deliveries their trigger queues), possibly
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
            return r.map_err(StoreError::Write);
        }
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if batch.len() == 1 {
            // Only our own rows: no one else to answer if we are cancelled.
            write_group(guard, batch).await;
        } else {
            // The group is written by a task of its own, which keeps the
            // connection until every caller is answered: if this caller gives up
            // waiting (its future is dropped), the others still get their answers.
            tokio::spawn(write_group(guard, batch));
        }
        match answer.await {
            Ok(r) => r.map_err(StoreError::Write),
            Err(_) => Err(StoreError::Write(
                "the write was abandoned before it finished".into(),
            )),
        }
    }
}

async fn write_group(mut conn: OwnedMutexGuard<SqliteConnection>, batch: Vec<Request>) {
    let mut rows: Vec<&EventRow> = Vec::new();
    for req in &batch {
        rows.extend(req.rows.iter());
    }
    let stored = if rows.len() <= SQLITE_ROWS_PER_INSERT {
        // One statement: atomic without a transaction of its own.
        insert_rows(&mut conn, &rows).await
    } else {
        async {
            let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
            let stored = insert_rows(&mut tx, &rows).await?;
            tx.commit().await?;
            Ok(stored)
        }
        .await
    };
    match stored {
        Ok(mut by_id) => {
            for req in batch {
                // Each id's sequence number goes to the first row that asked for it.
                let mut seqs: Vec<i64> = req
                    .rows
                    .iter()
                    .filter_map(|r| by_id.remove(r.id.as_str()))
                    .collect();
                seqs.sort_unstable();
                let _ = req.reply.send(Ok(seqs));
            }
        }
        Err(e) => {
            let msg = e.to_string();
            for req in batch {
                let _ = req.reply.send(Err(msg.clone()));
            }
        }
    }
}

/// Inserts the rows, [`SQLITE_ROWS_PER_INSERT`] per statement, and returns the
/// sequence number of each id stored now.
async fn insert_rows(
    conn: &mut SqliteConnection,
    rows: &[&EventRow],
) -> Result<HashMap<String, i64>> {
    let mut stored = HashMap::with_capacity(rows.len());
    for chunk in rows.chunks(SQLITE_ROWS_PER_INSERT) {
        for row in insert_statement(chunk).fetch_all(&mut *conn).await? {
            stored.insert(row.try_get::<String, _>(1)?, row.try_get::<i64, _>(0)?);
        }
    }
    Ok(stored)
}

/// `INSERT INTO skc_events ... VALUES (...), ... RETURNING seq, id` for the rows.
pub(crate) fn insert_statement<'q>(
    rows: &[&'q EventRow],
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
    sql.push_str(" ON CONFLICT (id) DO NOTHING RETURNING seq, id");
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
