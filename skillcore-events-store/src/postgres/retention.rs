//! Retention on PostgreSQL: the statements and their runs. Each batch is one
//! `DELETE` in autocommit on the pool (its own transaction; rows another
//! transaction has locked are skipped, never waited for). The rows' space is
//! reused by later inserts once (auto)vacuum has passed: PostgreSQL does not
//! give it back to the file system without `VACUUM FULL`, which locks the
//! tables.

use super::PgDb;
use crate::retention::RunningReplays;
use crate::Result;
use std::sync::LazyLock;

/// The database's clock in microseconds less `$1`.
const FINISHED_BEFORE: &str =
    "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint - $1";

/// The replay batches with work left (waiting or active deliveries), from
/// the index of replay deliveries (`skc_deliveries_replayed`), not the whole
/// backlog.
const RUNNING_REPLAYS: &str = "SELECT DISTINCT handler_id, replay FROM skc_deliveries
             WHERE replay <> 0 AND status IN ('waiting', 'active')";

/// A delivery (`d`) of no replay batch in `($3, $4)` (handlers and batches,
/// pairwise).
const NOT_RUNNING: &str = "(d.replay = 0 OR (d.handler_id, d.replay) NOT IN (
                   SELECT * FROM unnest($3::text[], $4::bigint[])))";

/// Deletes up to `$2` finished deliveries that finished before `$1`, oldest
/// first, each index read in order (done, then discarded and cancelled);
/// how many. The done ones are taken off their counters in the same
/// statement.
static PRUNE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH done AS (
           SELECT d.id FROM skc_deliveries d
           WHERE d.status = 'done' AND d.updated_at < $1 AND {NOT_RUNNING}
           ORDER BY d.updated_at LIMIT $2 FOR UPDATE SKIP LOCKED
         ), other AS (
           SELECT d.id FROM skc_deliveries d
           WHERE d.status IN ('discarded', 'cancelled') AND d.updated_at < $1 AND {NOT_RUNNING}
           ORDER BY d.updated_at LIMIT $2 FOR UPDATE SKIP LOCKED
         ), gone AS (
           DELETE FROM skc_deliveries WHERE id IN (
             SELECT id FROM done UNION ALL SELECT id FROM other LIMIT $2)
           RETURNING handler_id, event_seq, status
         ), {}
         SELECT COUNT(*) FROM gone",
        super::sql::count_done("gone", "-")
    )
});

/// The store's tables with their indexes and TOAST, in bytes.
const SIZE: &str = "SELECT COALESCE(SUM(pg_total_relation_size(t)), 0)::bigint
             FROM unnest(ARRAY[to_regclass('skc_events'), to_regclass('skc_deliveries'),
                               to_regclass('skc_handled')]) AS t
             WHERE t IS NOT NULL";

const VACUUM: &str = "VACUUM (ANALYZE) skc_deliveries, skc_events, skc_handled";

impl PgDb {
    /// The database's clock less `keep_us`.
    pub async fn finished_before(&self, keep_us: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(FINISHED_BEFORE)
            .bind(keep_us)
            .fetch_one(&self.pool)
            .await?)
    }

    /// The replay batches with work left.
    pub async fn running_replays(&self) -> Result<RunningReplays> {
        Ok(sqlx::query_as(RUNNING_REPLAYS)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Deletes one batch; how many deliveries.
    pub async fn prune_batch(
        &self,
        before: i64,
        running: &RunningReplays,
        batch: usize,
    ) -> Result<u64> {
        let (handlers, batches): (Vec<&str>, Vec<i64>) =
            running.iter().map(|(h, b)| (h.as_str(), *b)).unzip();
        let n: i64 = sqlx::query_scalar(PRUNE.as_str())
            .bind(before)
            .bind(batch as i64)
            .bind(handlers)
            .bind(batches)
            .fetch_one(&self.pool)
            .await?;
        self.fold_when_due();
        Ok(n as u64)
    }

    /// A plain `VACUUM (ANALYZE)` of the store's tables; their size before
    /// and after.
    pub async fn vacuum(&self) -> Result<(u64, u64)> {
        let before = self.size_on_disk().await?;
        sqlx::raw_sql(VACUUM).execute(&self.pool).await?;
        Ok((before, self.size_on_disk().await?))
    }

    /// The total size of the store's tables.
    pub async fn size_on_disk(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(SIZE).fetch_one(&self.pool).await?;
        Ok(n as u64)
    }
}
