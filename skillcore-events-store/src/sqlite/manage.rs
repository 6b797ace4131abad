//! Lease upkeep and queue maintenance on SQLite: renewing a worker's leases,
//! letting its own stale leases run out when it restarts, finding leases
//! nobody renews, cancelling replays, dropping a handler's rows.

use super::{sql, SqliteDb};
use crate::shared::now_us;
use crate::{LeaseReport, Result};

impl SqliteDb {
    /// Renews every lease `owner` holds for `lease_us` from now; how many.
    pub async fn renew_leases(&self, owner: &str, lease_us: i64) -> Result<u64> {
        let now = now_us();
        // Not while a claim of this store is between its UPDATE and the
        // SELECT of what it took (which finds the rows by their lease time).
        let _gate = self.claim_gate.write().await;
        Ok(sqlx::query(sql::RENEW_LEASES)
            .bind(now.saturating_add(lease_us))
            .bind(now)
            .bind(owner)
            .execute(&mut *self.writer.lock().await)
            .await?
            .rows_affected())
    }

    /// Lets the leases `owner` holds run out now; how many.
    pub async fn expire_own_leases(&self, owner: &str) -> Result<u64> {
        let _gate = self.claim_gate.write().await;
        Ok(sqlx::query(sql::EXPIRE_OWN_LEASES)
            .bind(now_us())
            .bind(owner)
            .execute(&mut *self.writer.lock().await)
            .await?
            .rows_affected())
    }

    /// The leases of `handlers` (a JSON array) nobody renews.
    pub async fn stalled_leases(&self, handlers: &str, me: &str) -> Result<LeaseReport> {
        let rows: Vec<(String, i64, i64, Option<i64>)> =
            sqlx::query_as(sql::STALLED_LEASES.as_str())
                .bind(handlers)
                .fetch_all(&self.read)
                .await?;
        let rows = rows.into_iter().map(|(o, n, h, u)| (o, n, h, u, 0));
        Ok(LeaseReport::of_owners(rows, me, now_us()))
    }

    /// Cancels the waiting deliveries of replays of `handler`; how many.
    pub async fn cancel_replay(
        &self,
        all: bool,
        district: &str,
        handler: &str,
        batch: Option<i64>,
    ) -> Result<u64> {
        Ok(sqlx::query(sql::CANCEL_REPLAY.as_str())
            .bind(now_us())
            .bind(handler)
            .bind(batch)
            .bind(all)
            .bind(district)
            .execute(&mut *self.writer.lock().await)
            .await?
            .rows_affected())
    }

    /// Deliveries of `handler` a live worker holds.
    pub async fn handler_held(&self, handler: &str) -> Result<i64> {
        Ok(sqlx::query_scalar(sql::HANDLER_HELD.as_str())
            .bind(handler)
            .fetch_one(&self.read)
            .await?)
    }

    /// Deletes the rows of `handler` in the scope (deliveries, but those a
    /// live worker holds, and idempotency records); how many deliveries.
    pub async fn drop_handler(&self, all: bool, district: &str, handler: &str) -> Result<u64> {
        // By stretches of ids, each its own statement with the writer taken
        // for it alone: publishers and workers go on between them. Rows added
        // meanwhile are past the end and not the gone handler's anyway.
        const STRETCH: i64 = 20_000;
        let end: i64 = sqlx::query_scalar(sql::MAX_DELIVERY_ID)
            .fetch_one(&self.read)
            .await?;
        let mut n = 0;
        let mut from = 0;
        while from < end {
            let to = (from + STRETCH).min(end);
            n += sqlx::query(sql::DROP_HANDLER.as_str())
                .bind(handler)
                .bind(all)
                .bind(district)
                .bind(from)
                .bind(to)
                .execute(&mut *self.writer.lock().await)
                .await?
                .rows_affected();
            from = to;
        }
        let mut conn = self.writer.lock().await;
        sqlx::query(sql::DROP_HANDLED)
            .bind(handler)
            .bind(all)
            .bind(district)
            .execute(&mut *conn)
            .await?;
        Ok(n)
    }

    /// Counts the done deliveries again into `skc_done_counts`, in one
    /// write transaction.
    pub async fn rebuild_counters(&self) -> Result<()> {
        let mut conn = self.writer.lock().await;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::query("DELETE FROM skc_done_counts")
            .execute(&mut *tx)
            .await?;
        sqlx::query(crate::schema::count_done_deliveries!())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
