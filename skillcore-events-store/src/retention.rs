//! Retention of finished deliveries (issue 16 §4): a policy ([`Retention`]),
//! one pass of it ([`Store::prune`], [`Store::prune_finished`]), one batch
//! ([`Store::prune_batch`]), and a background task running passes
//! ([`Store::retain`], or [`crate::Durable::retention`] on a bus).
//!
//! Finished is `done`, `discarded` (a dead letter an operator dropped) and
//! `cancelled` (a replay's delivery cancelled before it ran), by the time it
//! finished (`updated_at`). Never removed: waiting deliveries (retrying ones
//! included), active ones, dead letters, and the done deliveries of a replay
//! batch that still has work (its progress counts them). The events stay.
//!
//! Each batch is one short `DELETE` of at most `batch` rows found by index
//! (`skc_deliveries_done`, `skc_deliveries_finished`), its own transaction:
//! publishers and workers wait for one batch at most, and a pause between
//! batches gives the database back to them. On SQLite each batch is followed
//! by `PRAGMA incremental_vacuum` (stores created since migration 9 give the
//! freed pages back to the file; older ones reuse them, or are converted once
//! with [`Store::vacuum`]).
//!
//! Idempotency does not depend on the rows removed: re-publishing an event
//! id is refused by the event row, which stays, so a pruned delivery is never
//! queued again; a replay queues new deliveries from the events and runs as
//! before.

use crate::shared::duration_us;
use crate::store::{Dialect, Store};
use crate::Result;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long finished deliveries are kept, and how they are removed. Off
/// unless asked for ([`crate::Durable::retention`], [`Store::retain`]): the
/// done rows are what `queue stats` counts as completed, what the dashboard
/// shows of an event's handlers, and the only record of when each ran, so
/// how long to keep them is the operator's decision.
///
/// ```
/// use skillcore_events_store::Retention;
/// use std::time::Duration;
/// let policy = Retention::keep_done(Duration::from_secs(3 * 24 * 3600)).batch(500);
/// assert_eq!(policy.kept(), Duration::from_secs(3 * 24 * 3600));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retention {
    keep_done: Duration,
    batch: usize,
    pause: Duration,
    every: Duration,
}

/// How long [`Retention::default`] keeps finished deliveries: 7 days.
pub const DEFAULT_KEEP_DONE: Duration = Duration::from_secs(7 * 24 * 3600);

/// SQLite pages given back to the file after each batch (4 MiB at the
/// default page size: more than a batch of 1,000 deliveries frees).
/// A pass sleeps at least this many times a batch's time before the next.
const PACE: u32 = 19;

#[cfg(feature = "sqlite")]
const VACUUM_PAGES: i64 = 1024;

impl Default for Retention {
    /// Finished deliveries kept 7 days ([`DEFAULT_KEEP_DONE`]), removed 1,000
    /// at a time with 50 ms between batches (and at least nineteen times a
    /// batch's time: see [`Retention::pause`]), at most 20,000 a second, far
    /// more than a service finishes (500,000 events a day of 3 handlers are
    /// 17 deliveries a second), a pass every minute.
    fn default() -> Self {
        Retention {
            keep_done: DEFAULT_KEEP_DONE,
            batch: 1000,
            pause: Duration::from_millis(50),
            every: Duration::from_secs(60),
        }
    }
}

impl Retention {
    /// The default policy, keeping finished deliveries for `keep` after they
    /// finished (zero: every finished delivery goes).
    pub fn keep_done(keep: Duration) -> Self {
        Retention {
            keep_done: keep,
            ..Retention::default()
        }
    }

    /// Deliveries removed per batch, each batch one transaction (default
    /// 1,000; at least 1). Bigger batches finish a pass sooner and hold the
    /// database longer each.
    pub fn batch(mut self, deliveries: usize) -> Self {
        self.batch = deliveries.clamp(1, 1_000_000);
        self
    }

    /// The pause between two batches of a pass (default 50 ms), and at
    /// least nineteen times as long as the batch took, so that a pass holds
    /// the database (SQLite's one writer) at most a twentieth of the time
    /// however loaded it is. Zero: no pause at all (a pass at full speed, for a
    /// store nobody writes to).
    pub fn pause(mut self, pause: Duration) -> Self {
        self.pause = pause;
        self
    }

    /// How often the background task runs a pass (default a minute; at
    /// least 10 ms).
    pub fn every(mut self, every: Duration) -> Self {
        self.every = every.max(Duration::from_millis(10));
        self
    }

    /// How long finished deliveries are kept.
    pub fn kept(&self) -> Duration {
        self.keep_done
    }
}

/// The background task of [`Store::retain`]: a pass of the policy at once
/// and then every [`Retention::every`]. Dropping it (or [`RetentionTask::stop`])
/// stops it after the batch in progress, never inside one.
#[must_use = "retention stops when its task is dropped"]
#[derive(Debug)]
pub struct RetentionTask {
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
    removed: Arc<AtomicU64>,
}

impl RetentionTask {
    /// How many deliveries the task has removed so far.
    pub fn removed(&self) -> u64 {
        self.removed.load(Ordering::Relaxed)
    }

    /// Stops the task and waits until it has (the batch in progress ends
    /// first).
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RetentionTask {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// A replay batch that still has work: `(handler, batch)`.
pub(crate) type RunningReplays = Vec<(String, i64)>;

impl Store {
    /// Removes the finished deliveries (done, discarded, cancelled) that
    /// finished more than `older_than` ago, in batches of the default policy
    /// ([`Retention::default`]); returns how many. The events stay; so do
    /// waiting, active and dead deliveries and those of a replay still
    /// running. On SQLite the freed pages are given back to the file as it
    /// goes (see [`Store::vacuum`] for stores created before).
    pub async fn prune_finished(&self, older_than: Duration) -> Result<u64> {
        self.prune(&Retention::keep_done(older_than)).await
    }

    /// One pass of `policy`: batches until none is full; returns how many
    /// deliveries were removed.
    pub async fn prune(&self, policy: &Retention) -> Result<u64> {
        self.pass(policy, &watch::channel(false).1, &AtomicU64::new(0))
            .await
    }

    /// One batch: removes at most `batch` finished deliveries that finished
    /// more than `older_than` ago, in one transaction; returns how many (fewer
    /// than `batch`: nothing older is left).
    pub async fn prune_batch(&self, older_than: Duration, batch: usize) -> Result<u64> {
        let before = self.finished_before(older_than).await?;
        let running = self.running_replays().await?;
        self.prune_one(before, &running, batch.max(1)).await
    }

    /// Starts a background task running `policy` (a pass at once, then every
    /// [`Retention::every`]) until the returned task is dropped or stopped.
    /// Needs a Tokio runtime. A pass that fails is logged (`tracing`, warn)
    /// and tried again at the next.
    pub fn retain(&self, policy: Retention) -> RetentionTask {
        let (stop, mut stopped) = watch::channel(false);
        let store = self.clone();
        let removed = Arc::new(AtomicU64::new(0));
        let count = Arc::clone(&removed);
        let task = tokio::spawn(async move {
            loop {
                match store.pass(&policy, &stopped, &count).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(
                        removed = n,
                        "skillcore-events: retention removed finished deliveries"
                    ),
                    Err(e) => tracing::warn!(
                        error = %e,
                        "skillcore-events: retention pass failed; trying again at the next"
                    ),
                }
                tokio::select! {
                    _ = tokio::time::sleep(policy.every) => {}
                    _ = stopped.wait_for(|s| *s) => return,
                }
            }
        });
        RetentionTask {
            stop,
            task: Some(task),
            removed,
        }
    }

    /// Gives the free pages of a SQLite store back to the file, and turns on
    /// `auto_vacuum = INCREMENTAL` for a store created before migration 9
    /// (by a `VACUUM`: it rewrites the whole file, needs as much free disk
    /// again, and holds the write lock until done, so publishes wait: run it
    /// while the service is stopped). Returns the file's bytes before and
    /// after (pages × page size). On PostgreSQL a plain `VACUUM` of the
    /// store's tables (space reused, not returned; autovacuum does the same
    /// by itself), returning the tables' total size before and after.
    pub async fn vacuum(&self) -> Result<(u64, u64)> {
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.vacuum().await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.vacuum().await,
        }
    }

    /// Bytes the store takes: on SQLite the database file (pages × page
    /// size, the log not counted), on PostgreSQL the total relation size of
    /// its tables with their indexes and TOAST.
    pub async fn size_on_disk(&self) -> Result<u64> {
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.size_on_disk().await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.size_on_disk().await,
        }
    }

    /// A pass, checking `stopped` between batches and adding to `removed`
    /// after each.
    async fn pass(
        &self,
        policy: &Retention,
        stopped: &watch::Receiver<bool>,
        removed: &AtomicU64,
    ) -> Result<u64> {
        // The cut-off and the running replays once per pass: a replay
        // started later has finished nothing before the cut-off.
        let before = self.finished_before(policy.keep_done).await?;
        let running = self.running_replays().await?;
        let mut total = 0;
        loop {
            let started = std::time::Instant::now();
            let n = self.prune_one(before, &running, policy.batch).await?;
            total += n;
            removed.fetch_add(n, Ordering::Relaxed);
            if (n as usize) < policy.batch || *stopped.borrow() {
                break;
            }
            if !policy.pause.is_zero() {
                // At least nineteen times the batch: a pass takes at most a
                // twentieth of the database's time, however slow it is now
                // (at nine times, a tenth, publishers lost 8 to 12 % beside it).
                let pause = policy.pause.max(started.elapsed() * PACE);
                tokio::time::sleep(pause).await;
            }
        }
        Ok(total)
    }

    /// The store's clock, in microseconds, less `keep`.
    async fn finished_before(&self, keep: Duration) -> Result<i64> {
        let keep = duration_us(keep);
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(_) => Ok(crate::shared::now_us().saturating_sub(keep)),
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.finished_before(keep).await,
        }
    }

    async fn running_replays(&self) -> Result<RunningReplays> {
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.running_replays().await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.running_replays().await,
        }
    }

    async fn prune_one(&self, before: i64, running: &RunningReplays, batch: usize) -> Result<u64> {
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.prune_batch(before, running, batch, VACUUM_PAGES).await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.prune_batch(before, running, batch).await,
        }
    }
}
