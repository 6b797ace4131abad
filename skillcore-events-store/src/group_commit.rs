//! Group commit of appends, for both backends (each dialect's writes are in
//! its `append.rs`).
//!
//! A commit costs far more than the rows in it: on SQLite every page the
//! transaction touched is appended to the WAL, on PostgreSQL the commit waits
//! for its WAL flush. Appends that arrive while a write is in progress are
//! therefore written together: whoever takes the writer next writes every
//! append waiting at that moment as one statement (on SQLite, one transaction of
//! several past [`crate::SQLITE_ROWS_PER_INSERT`] events), and answers each caller
//! with the sequence numbers of its own events. Each append stays
//! all-or-nothing, and succeeds or fails on its own merits: when a group's
//! statement fails, nothing of it was stored, and its appends are written
//! again one by one, so only the one at fault fails (an event no backend can
//! store never gets this far: see `validate`). When a lone write finds the
//! database unreachable, the appends not yet retried get that error without
//! trying (each would wait for the same server). A lone append is written at
//! once, as before.

use crate::{Result, StoreError};
use skillcore_events::backend::BoxFuture;
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
    #[cfg(feature = "sqlite")]
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
