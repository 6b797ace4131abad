//! Lease upkeep (renewal by a running worker, its own stale leases on a
//! restart, leases nobody renews) and queue maintenance (cancelling a replay,
//! dropping the rows of a handler that no longer exists).

use super::{Dialect, Store};
use crate::shared::duration_us;
use crate::{LeaseReport, Result, Scope, ScopeParts};
use std::time::Duration;

impl Store {
    /// Renews every lease `worker` holds (those it marked to run alone
    /// too) for `lease` from now, in one statement; returns how many. A
    /// [`Worker`](crate::Worker) does this while it holds deliveries, three
    /// times per lease length, so its leases can be short: a worker that
    /// dies stops renewing, and its deliveries are free once `lease` has
    /// passed.
    pub async fn renew_leases(&self, worker: &str, lease: Duration) -> Result<u64> {
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.renew_leases(worker, duration_us(lease)).await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.renew_leases(worker, duration_us(lease)).await,
        }
    }

    /// Lets the leases `worker` holds run out now; returns how many. A
    /// worker calls it when it starts: leases held under its own identity
    /// are from before it restarted, and its next claim takes them back (each
    /// counted as a lease that ran out, as when another worker takes over a
    /// dead one's). Only for an identity no other live worker uses.
    pub async fn expire_own_leases(&self, worker: &str) -> Result<u64> {
        let n = match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.expire_own_leases(worker).await?,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.expire_own_leases(worker).await?,
        };
        if n > 0 {
            self.notify();
        }
        Ok(n)
    }

    /// The deliveries of `handlers` held by workers that stopped renewing
    /// their leases (dead or stuck), and when they are free.
    pub async fn stalled_leases(&self, handlers: &[&str]) -> Result<LeaseReport> {
        self.stalled_leases_of_others(handlers, "").await
    }

    /// [`Store::stalled_leases`] but those of worker `me` (which takes its own
    /// back when it starts).
    pub(crate) async fn stalled_leases_of_others(
        &self,
        handlers: &[&str],
        me: &str,
    ) -> Result<LeaseReport> {
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => {
                let list = serde_json::to_string(handlers).unwrap_or_default();
                db.stalled_leases(&list, me).await
            }
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => {
                let list: Vec<String> = handlers.iter().map(|h| h.to_string()).collect();
                db.stalled_leases(&list, me).await
            }
        }
    }

    /// Cancels the replay deliveries of `handler` in `scope` that have not
    /// run (waiting for a first attempt or for a retry): of replay batch
    /// `batch`, or of every replay of the handler. Deliveries running now
    /// finish; the cancelled ones stay as rows marked `cancelled` and no
    /// longer count in [`Store::replay_progress`]'s unfinished work. Returns
    /// how many were cancelled.
    pub async fn cancel_replay(
        &self,
        scope: &Scope,
        handler: &str,
        batch: Option<i64>,
    ) -> Result<u64> {
        let (all, district) = scope.parts();
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.cancel_replay(all, district, handler, batch).await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.cancel_replay(all, district, handler, batch).await,
        }
    }

    /// How many deliveries of `handler` a live worker holds now (its lease
    /// renewed recently): a handler some process still runs.
    pub async fn handler_held(&self, handler: &str) -> Result<i64> {
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.handler_held(handler).await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.handler_held(handler).await,
        }
    }

    /// Deletes the rows of a handler that no longer exists, in `scope`: its
    /// deliveries (waiting, retrying, dead, done, held by a worker that
    /// stopped; never one a live worker holds) and its idempotency records,
    /// so `queue stats` stops listing it. Returns how many deliveries were
    /// deleted. Its events stay.
    pub async fn drop_handler(&self, scope: &Scope, handler: &str) -> Result<u64> {
        let (all, district) = scope.parts();
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.drop_handler(all, district, handler).await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.drop_handler(all, district, handler).await,
        }
    }

    /// Counts the done deliveries again, per district and handler, into the
    /// counters [`Store::stats`] reads (what migration 10 did when it made
    /// them). The store keeps them itself as deliveries become done or are
    /// deleted; this is for a database whose deliveries were changed by
    /// hand: on PostgreSQL only the store's own statements count (on SQLite
    /// triggers count every change), so `queue stats` then disagrees with
    /// [`Store::recount_stats`] until this runs. One transaction that reads
    /// every done delivery: seconds on a store of millions, and on
    /// PostgreSQL publishers and workers wait for it.
    pub async fn rebuild_counters(&self) -> Result<()> {
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.rebuild_counters().await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.rebuild_counters().await,
        }
    }
}
