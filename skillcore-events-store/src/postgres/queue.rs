//! The queue on PostgreSQL: claims (`FOR UPDATE SKIP LOCKED`), completions,
//! failures, hand-backs, and the lease marks of deliveries that kill their
//! worker. Times are the database's clock.

use super::{sql, PgDb};
use crate::row::claimed_from_json;
use crate::shared::{lost_leases, Claim};
use crate::{Claimed, Result};

impl PgDb {
    /// Completes `done` and claims in one statement, whose first part
    /// completes. With nothing to complete, a claim alone.
    pub async fn complete_and_claim(
        &self,
        done: &[&Claimed],
        claim: &Claim,
    ) -> Result<(Vec<i64>, Vec<Claimed>)> {
        if done.is_empty() {
            return Ok((Vec::new(), self.claim(claim).await?));
        }
        let ids: Vec<i64> = done.iter().map(|c| c.delivery_id).collect();
        let owners: Vec<&str> = done.iter().map(|c| c.lease_owner.as_str()).collect();
        let (claimed, completed): (String, Option<Vec<i64>>) =
            sqlx::query_as(sql::COMPLETE_AND_CLAIM.as_str())
                .bind(&claim.owner)
                .bind(claim.lease_us)
                .bind(claim.limit as i64)
                .bind(&claim.handlers)
                .bind(&ids)
                .bind(&owners)
                .fetch_one(&self.pool)
                .await?;
        let claimed = claimed_from_json(&claimed, &claim.owner)?;
        let mut completed = completed.unwrap_or_default();
        completed.sort_unstable();
        self.record_handled(done, &completed).await?;
        self.fold_when_due();
        Ok((completed, claimed))
    }

    /// The claim commits without waiting for its WAL flush
    /// (`synchronous_commit` off for this statement's transaction only): a
    /// claim lost in a server crash leaves the delivery waiting, as if never
    /// claimed, and a success recorded after it still counts (see
    /// [`PgDb::complete_many`]). Publishes and completions stay synchronous.
    pub async fn claim(&self, claim: &Claim) -> Result<Vec<Claimed>> {
        let claimed: String = sqlx::query_scalar(sql::CLAIM.as_str())
            .bind(&claim.owner)
            .bind(claim.lease_us)
            .bind(claim.limit as i64)
            .bind(&claim.handlers)
            .fetch_one(&self.pool)
            .await?;
        claimed_from_json(&claimed, &claim.owner)
    }

    /// Marks done those of `done` still held by their lease; their ids. The
    /// others' successes are recorded in `skc_handled`.
    pub async fn complete_many(&self, done: &[&Claimed]) -> Result<Vec<i64>> {
        let ids: Vec<i64> = done.iter().map(|c| c.delivery_id).collect();
        let owners: Vec<&str> = done.iter().map(|c| c.lease_owner.as_str()).collect();
        let mut completed: Vec<i64> = sqlx::query_scalar(sql::COMPLETE.as_str())
            .bind(&ids)
            .bind(&owners)
            .fetch_all(&self.pool)
            .await?;
        completed.sort_unstable();
        self.record_handled(done, &completed).await?;
        self.fold_when_due();
        Ok(completed)
    }

    /// Records the successes in `done` whose lease was lost (missing from the
    /// sorted `completed`) in `skc_handled`.
    async fn record_handled(&self, done: &[&Claimed], completed: &[i64]) -> Result<()> {
        let Some((handlers, events)) = lost_leases(done, completed) else {
            return Ok(());
        };
        sqlx::query(sql::RECORD_HANDLED.as_str())
            .bind(&handlers)
            .bind(&events)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Hands claimed deliveries back unstarted; how many were still held.
    pub async fn release(&self, claimed: &[&Claimed]) -> Result<u64> {
        let ids: Vec<i64> = claimed.iter().map(|c| c.delivery_id).collect();
        let owners: Vec<&str> = claimed.iter().map(|c| c.lease_owner.as_str()).collect();
        Ok(sqlx::query(sql::RELEASE.as_str())
            .bind(&ids)
            .bind(&owners)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// A failed attempt: `dead`, or waiting `delay_us` for the next one.
    pub async fn fail(&self, c: &Claimed, error: &str, dead: bool, delay_us: i64) -> Result<u64> {
        Ok(sqlx::query(sql::FAIL.as_str())
            .bind(dead)
            .bind(delay_us)
            .bind(error)
            .bind(c.delivery_id)
            .bind(&c.lease_owner)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// A dead letter without running (this claim not counted as an attempt).
    pub async fn dead_letter_unrun(&self, c: &Claimed, error: &str) -> Result<u64> {
        Ok(sqlx::query(sql::DEAD_LETTER_UNRUN.as_str())
            .bind(error)
            .bind(c.delivery_id)
            .bind(&c.lease_owner)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Marks `c`'s lease as `marked` (running alone), attempts at most `max`.
    pub async fn mark_alone(&self, c: &Claimed, marked: &str, max: i64) -> Result<u64> {
        Ok(sqlx::query(sql::MARK_ALONE)
            .bind(marked)
            .bind(max)
            .bind(c.delivery_id)
            .bind(&c.lease_owner)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}
