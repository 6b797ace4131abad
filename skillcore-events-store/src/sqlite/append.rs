//! Appends on SQLite: the group commit's writes on the store's writer, and
//! [`append_sqlite`] in the caller's transaction. The `INSERT` of the events
//! is built for the number of rows; a trigger queues their deliveries.

use super::SqliteDb;
use crate::group_commit::EventRow;
use crate::{row, validate, NewEvent, Result, Subscriber};
use skillcore_events::backend::BoxFuture;
use sqlx::{Connection, Row, SqliteConnection};
use std::collections::HashMap;

/// Events stored by one `INSERT` statement on SQLite (10 bound values each).
pub const SQLITE_ROWS_PER_INSERT: usize = 100;

impl SqliteDb {
    /// Group commit: written together with the appends of other tasks that
    /// arrive meanwhile, each still all-or-nothing, one statement per group
    /// (up to [`SQLITE_ROWS_PER_INSERT`] events).
    pub async fn append(&self, rows: Vec<EventRow>) -> Result<Vec<i64>> {
        self.writer.append(rows).await
    }
}

/// [`crate::Store::append`] inside the caller's SQLite transaction (start it with
/// `pool.begin_with("BEGIN IMMEDIATE")` on [`crate::Store::sqlite_pool`]): the events and
/// their deliveries commit or roll back with the caller's own writes. Call
/// [`crate::Store::notify`] after committing to wake local workers at once.
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
    let rows = row::event_rows(events, subscribers);
    validate::check_rows(&rows)?;
    let mut seqs = Vec::with_capacity(rows.len());
    let refs: Vec<&EventRow> = rows.iter().collect();
    for chunk in refs.chunks(SQLITE_ROWS_PER_INSERT) {
        for row in insert_statement(chunk, true).fetch_all(&mut *conn).await? {
            seqs.push(row.try_get::<i64, _>(0)?);
        }
    }
    seqs.sort_unstable();
    Ok(seqs)
}

/// The group commit's write ([`crate::group_commit::WriteRows`]) on SQLite:
/// one statement per [`SQLITE_ROWS_PER_INSERT`] rows, in a transaction when
/// there are several.
pub(super) fn write_rows<'a>(
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
            return insert_rows(conn, &rows).await;
        }
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        let stored = insert_rows(&mut tx, &rows).await?;
        tx.commit().await?;
        Ok(stored)
    })
}

/// Inserts the rows, [`SQLITE_ROWS_PER_INSERT`] per statement, and returns the
/// sequence number of each id stored now.
async fn insert_rows(
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
fn insert_statement<'q>(
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
