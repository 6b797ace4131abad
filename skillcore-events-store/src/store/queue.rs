//! The store's appends and its queue: each operation checks what both
//! dialects share and hands over to its dialect.

use super::{Dialect, Store};
use crate::group_commit::EventRow;
use crate::shared::{duration_us, Claim};
use crate::{bounded, row, validate, Claimed, NewEvent, Result, Subscriber};
use std::time::Duration;

impl Store {
    /// Stores `events` and queues one delivery per subscriber of each, in one
    /// transaction: either all of it is stored or nothing is. `subscribers` gives
    /// the handlers of an event type. An event whose id is already stored is
    /// skipped (publishing is idempotent). Returns the sequence numbers of the
    /// events stored now.
    pub async fn append<'s, F>(&self, events: &[NewEvent], subscribers: F) -> Result<Vec<i64>>
    where
        F: Fn(&str) -> Vec<Subscriber<'s>>,
    {
        self.append_rows(row::event_rows(events, &subscribers))
            .await
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
        self.append_rows(row::raw_rows(envelopes, &subscribers)?)
            .await
    }

    async fn append_rows(&self, rows: Vec<EventRow>) -> Result<Vec<i64>> {
        // Before grouping: an event that cannot be stored fails its own append,
        // never a group it would have joined.
        validate::check_rows(&rows)?;
        // Group commit: written together with the appends of other tasks
        // that arrive meanwhile, each still all-or-nothing.
        let seqs = match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.append(rows).await?,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.append(rows).await?,
        };
        self.notify();
        Ok(seqs)
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
        if handlers.is_empty() || limit == 0 {
            let completed = self.complete_many(done).await?;
            let claimed = self.claim_for(worker, handlers, limit, lease).await?;
            return Ok((completed, claimed));
        }
        let claim = Claim::new(worker, handlers, limit, lease);
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.complete_and_claim(done, &claim).await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.complete_and_claim(done, &claim).await,
        }
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
        let claim = Claim::new(worker, handlers, limit, lease);
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.claim(&claim).await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.claim(&claim).await,
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
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.complete_many(done).await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.complete_many(done).await,
        }
    }

    /// Hands claimed deliveries back unstarted (a worker shutting down with
    /// deliveries claimed ahead): they are waiting again at once, and the claim
    /// does not count as an attempt. Returns how many were still held.
    pub async fn release(&self, claimed: &[&Claimed]) -> Result<u64> {
        if claimed.is_empty() {
            return Ok(0);
        }
        let n = match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.release(claimed).await?,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.release(claimed).await?,
        };
        self.notify();
        Ok(n)
    }

    /// Records a failed attempt: the delivery waits `retry_in` for its next attempt,
    /// or, with `retry_in = None`, becomes a dead letter. Returns `false` when the
    /// lease was lost. At most [`crate::MAX_ERROR_BYTES`] of `error` are stored, cut at
    /// a character boundary with a note of its full length.
    pub async fn fail(&self, c: &Claimed, error: &str, retry_in: Option<Duration>) -> Result<bool> {
        // At most `MAX_ERROR_BYTES` of it are kept.
        let error = bounded::error_text(error);
        let dead = retry_in.is_none();
        let delay = retry_in.map(duration_us).unwrap_or(0);
        let n = match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.fail(c, &error, dead, delay).await?,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.fail(c, &error, dead, delay).await?,
        };
        Ok(n == 1)
    }
}
