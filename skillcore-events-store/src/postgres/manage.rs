//! Lease upkeep and queue maintenance on PostgreSQL: renewing a worker's
//! leases, letting its own stale leases run out when it restarts, finding
//! leases nobody renews, cancelling replays, dropping a handler's rows. Times
//! are the database's clock.

use super::{sql, PgDb};
use crate::{LeaseReport, Result};

impl PgDb {
    /// Renews every lease `owner` holds for `lease_us` from now; how many.
    pub async fn renew_leases(&self, owner: &str, lease_us: i64) -> Result<u64> {
        Ok(sqlx::query(sql::RENEW_LEASES.as_str())
            .bind(owner)
            .bind(lease_us)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Lets the leases `owner` holds run out now; how many.
    pub async fn expire_own_leases(&self, owner: &str) -> Result<u64> {
        Ok(sqlx::query(sql::EXPIRE_OWN_LEASES.as_str())
            .bind(owner)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// The leases of `handlers` nobody renews.
    pub async fn stalled_leases(&self, handlers: &[String], me: &str) -> Result<LeaseReport> {
        let rows: Vec<(String, i64, i64, Option<i64>, i64)> =
            sqlx::query_as(sql::STALLED_LEASES.as_str())
                .bind(handlers)
                .fetch_all(&self.pool)
                .await?;
        let now = rows.first().map(|r| r.4);
        Ok(LeaseReport::of_owners(rows, me, now.unwrap_or_default()))
    }

    /// Cancels the waiting deliveries of replays of `handler`; how many.
    pub async fn cancel_replay(
        &self,
        all: bool,
        district: &str,
        handler: &str,
        batch: Option<i64>,
    ) -> Result<u64> {
        let n = sqlx::query(sql::CANCEL_REPLAY.as_str())
            .bind(handler)
            .bind(batch)
            .bind(all)
            .bind(district)
            .execute(&self.pool)
            .await?
            .rows_affected();
        self.analyze_after_bulk(n);
        Ok(n)
    }

    /// Deliveries of `handler` a live worker holds.
    pub async fn handler_held(&self, handler: &str) -> Result<i64> {
        Ok(sqlx::query_scalar(sql::HANDLER_HELD.as_str())
            .bind(handler)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Deletes the rows of `handler` in the scope (deliveries, but those a
    /// live worker holds, and idempotency records), in one transaction; how
    /// many deliveries.
    pub async fn drop_handler(&self, all: bool, district: &str, handler: &str) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let n: i64 = sqlx::query_scalar(sql::DROP_HANDLER.as_str())
            .bind(handler)
            .bind(all)
            .bind(district)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(sql::DROP_HANDLED)
            .bind(handler)
            .bind(all)
            .bind(district)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.fold_when_due();
        Ok(n as u64)
    }

    /// Counts the done deliveries again into `skc_done_counts`, the deltas
    /// dropped, in one transaction that holds off writers of the deliveries
    /// until it commits (their deltas would count twice or not at all).
    pub async fn rebuild_counters(&self) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::raw_sql(
            "LOCK TABLE skc_deliveries IN SHARE ROW EXCLUSIVE MODE;
             DELETE FROM skc_done_deltas;
             DELETE FROM skc_done_counts;",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query(crate::schema::count_done_deliveries!())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
