//! The done counters on PostgreSQL (migration 10): the statements that make
//! deliveries done or delete done ones append deltas to `skc_done_deltas`,
//! which nothing updates, so writers never wait for one another on a counter
//! row; the fold here moves them into `skc_done_counts`, one statement under
//! a transaction-scoped advisory lock (a fold already running elsewhere is
//! left to finish; the next one takes what it left). Readers add the two
//! relations ([`COUNTS`]), so a fold changes no figure. Completions, drops
//! and retention batches fold in the background at most every
//! [`FOLD_EVERY`], which keeps the delta table to a few seconds of changes.

use super::PgDb;
use crate::Result;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The counters as readers see them: folded plus not yet folded.
pub(super) const COUNTS: &str = "(SELECT district_id, handler_id, n FROM skc_done_counts
      UNION ALL SELECT district_id, handler_id, n FROM skc_done_deltas)";

/// Folds are at least this far apart (per process).
pub(super) const FOLD_EVERY: Duration = Duration::from_secs(2);

/// The advisory lock of the fold (any value unlikely to be another's).
const LOCK: &str = "SELECT pg_try_advisory_xact_lock(7316202612)";

/// Moves every delta into the counters in one statement; the deltas are
/// summed per counter first and written in key order (two folds never lock
/// counter rows in opposite orders).
const FOLD: &str =
    "WITH moved AS (DELETE FROM skc_done_deltas RETURNING district_id, handler_id, n)
    INSERT INTO skc_done_counts (district_id, handler_id, n)
    SELECT district_id, handler_id, SUM(n) FROM moved
    GROUP BY district_id, handler_id
    ORDER BY district_id, handler_id
    ON CONFLICT (district_id, handler_id) DO UPDATE SET n = skc_done_counts.n + EXCLUDED.n";

/// When this process last started a fold.
pub(super) struct FoldSchedule {
    started: Instant,
    /// Milliseconds after `started` of the last fold begun (0: none).
    last_ms: AtomicU64,
}

impl Default for FoldSchedule {
    fn default() -> Self {
        FoldSchedule {
            started: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }
}

impl PgDb {
    /// Folds the deltas now; false if another fold held the lock (its
    /// deltas are folded by it, newer ones by the next fold).
    pub async fn fold_counts(&self) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let locked: bool = sqlx::query_scalar(LOCK).fetch_one(&mut *tx).await?;
        if locked {
            sqlx::query(FOLD).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(locked)
    }

    /// Starts a fold in the background if this process started none for
    /// [`FOLD_EVERY`]. Best effort: a fold that fails leaves the deltas for
    /// the next one, and readers count them meanwhile.
    pub(super) fn fold_when_due(&self) {
        let s = &self.folds;
        let now = s.started.elapsed().as_millis() as u64 + 1;
        let last = s.last_ms.load(Relaxed);
        if (last != 0 && now < last + FOLD_EVERY.as_millis() as u64)
            || s.last_ms
                .compare_exchange(last, now, Relaxed, Relaxed)
                .is_err()
        {
            return;
        }
        let db = self.clone();
        tokio::spawn(async move {
            if let Err(e) = db.fold_counts().await {
                tracing::debug!(error = %e, "folding the queue counters failed; the next fold takes them");
            }
        });
    }
}
