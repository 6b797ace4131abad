//! Retention on SQLite: the statements and their runs. Batches are deleted
//! on the store's writer connection (SQLite has one writer: a batch waits for
//! the group commit in progress and the next publish waits for the batch),
//! each in autocommit, its own transaction; the pages it frees are given back
//! to the file right after, a bounded number at a time.

use super::SqliteDb;
use crate::retention::RunningReplays;
use crate::Result;
use std::sync::LazyLock;

/// The replay batches with work left (waiting or active deliveries), from
/// the index of replay deliveries (empty without replays, and holding no
/// more than retention keeps), not the whole backlog.
const RUNNING_REPLAYS: &str = "SELECT DISTINCT handler_id, replay
             FROM skc_deliveries INDEXED BY skc_deliveries_replayed
             WHERE replay <> 0 AND status IN ('waiting', 'active')";

/// A delivery (`d`) of no replay batch in `?3` (a JSON array of
/// `[handler, batch]`).
const NOT_RUNNING: &str = "(d.replay = 0 OR NOT EXISTS (
                   SELECT 1 FROM json_each(?3) AS r
                   WHERE json_extract(r.value, '$[0]') = d.handler_id
                     AND json_extract(r.value, '$[1]') = d.replay))";

/// Deletes up to `?2` finished deliveries that finished before `?1`, oldest
/// first, each index read in order (done, then discarded and cancelled).
/// Never the newest delivery row: without AUTOINCREMENT (migration 4) the
/// next row would take its id again, and ids seen before (a dead letter's
/// number, a dashboard link) must not come to name another delivery.
static PRUNE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "DELETE FROM skc_deliveries
         WHERE id < (SELECT MAX(id) FROM skc_deliveries) AND id IN (
           SELECT id FROM (
             SELECT d.id FROM skc_deliveries d INDEXED BY skc_deliveries_done
             WHERE d.status = 'done' AND d.updated_at < ?1 AND {NOT_RUNNING}
             ORDER BY d.updated_at LIMIT ?2)
           UNION ALL
           SELECT id FROM (
             SELECT d.id FROM skc_deliveries d INDEXED BY skc_deliveries_finished
             WHERE d.status IN ('discarded', 'cancelled') AND d.updated_at < ?1 AND {NOT_RUNNING}
             ORDER BY d.updated_at LIMIT ?2)
           LIMIT ?2)"
    )
});

/// The file's size in bytes, the log not counted.
const SIZE: &str = "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size";

impl SqliteDb {
    /// The replay batches with work left.
    pub async fn running_replays(&self) -> Result<RunningReplays> {
        Ok(sqlx::query_as(RUNNING_REPLAYS)
            .fetch_all(&self.read)
            .await?)
    }

    /// Deletes one batch, then gives back up to `vacuum_pages` free pages
    /// (nothing unless the file is in incremental auto-vacuum); how many
    /// deliveries.
    pub async fn prune_batch(
        &self,
        before: i64,
        running: &RunningReplays,
        batch: usize,
        vacuum_pages: i64,
    ) -> Result<u64> {
        let running = serde_json::to_string(running).unwrap_or_else(|_| "[]".into());
        let mut conn = self.writer.lock().await;
        let n = sqlx::query(PRUNE.as_str())
            .bind(before)
            .bind(batch as i64)
            .bind(running)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        if n > 0 {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "PRAGMA incremental_vacuum({vacuum_pages})"
            )))
            .execute(&mut *conn)
            .await?;
        }
        Ok(n)
    }

    /// Turns on incremental auto-vacuum if off and rewrites the file
    /// (`VACUUM`); its size before and after.
    pub async fn vacuum(&self) -> Result<(u64, u64)> {
        let mut conn = self.writer.lock().await;
        let before: i64 = sqlx::query_scalar(SIZE).fetch_one(&mut *conn).await?;
        sqlx::raw_sql("PRAGMA auto_vacuum = INCREMENTAL; VACUUM;")
            .execute(&mut *conn)
            .await?;
        let after: i64 = sqlx::query_scalar(SIZE).fetch_one(&mut *conn).await?;
        Ok((before as u64, after as u64))
    }

    /// The file's size in bytes (pages × page size).
    pub async fn size_on_disk(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(SIZE).fetch_one(&self.read).await?;
        Ok(n as u64)
    }
}
