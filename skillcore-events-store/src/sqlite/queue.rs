//! The queue on SQLite: claims, completions, failures, hand-backs, and the
//! lease marks of deliveries that kill their worker. Every write goes
//! through the store's writer connection.

use super::{sql, SqliteDb};
use crate::row::claimed_from_json;
use crate::shared::{lost_leases, now_us, Claim};
use crate::{Claimed, Result};

impl SqliteDb {
    /// One UPDATE marks `done` done (where their leases still hold) and claims
    /// up to `claim.limit` ready deliveries for `claim.owner`; a SELECT then
    /// reads what the owner holds as one row of JSON (one hand-over from
    /// SQLite's thread however many were claimed). Nobody else can take those
    /// before the lease runs out, and events never change, so the SELECT needs
    /// no transaction with the UPDATE. The owner stays on a done row, so when
    /// fewer rows than asked were completed, the ones this call completed can
    /// be told apart.
    pub async fn complete_and_claim(
        &self,
        done: &[&Claimed],
        claim: &Claim,
    ) -> Result<(Vec<i64>, Vec<Claimed>)> {
        let owner = claim.owner.as_str();
        let leases: Vec<(i64, &str)> = done
            .iter()
            .map(|c| (c.delivery_id, c.lease_owner.as_str()))
            .collect();
        let leases = serde_json::to_string(&leases).unwrap_or_default();
        let now = now_us();
        let lease_until = now.saturating_add(claim.lease_us);
        // A lease renewal must not move the lease time of what this claim
        // takes before the SELECT below finds it by that time.
        let _gate = if claim.limit > 0 {
            Some(self.claim_gate.read().await)
        } else {
            None
        };
        let mut conn = self.writer.lock().await;
        let changed = sqlx::query(sql::COMPLETE_AND_CLAIM.as_str())
            .bind(owner)
            .bind(lease_until)
            .bind(now)
            .bind(claim.limit as i64)
            .bind(serde_json::to_string(&claim.handlers).unwrap_or_default())
            .bind(&leases)
            .execute(&mut *conn)
            .await?
            .rows_affected() as usize;
        // The rest only reads rows this owner now holds (or has finished), which
        // nobody else changes: it runs on a reader connection, on a thread of
        // its own, while the writer takes the next step's UPDATE. The UPDATE
        // has committed, so the reader sees it.
        drop(conn);
        let (claimed, claimed_n): (String, i64) = if claim.limit == 0 {
            ("[]".into(), 0)
        } else {
            sqlx::query_as(sql::CLAIMED)
                .bind(owner)
                .bind(lease_until)
                .fetch_one(&self.read)
                .await?
        };
        let completed: Vec<i64> = if changed == done.len() + claimed_n as usize {
            done.iter().map(|c| c.delivery_id).collect()
        } else {
            sqlx::query_scalar(sql::COMPLETED)
                .bind(&leases)
                .fetch_all(&self.read)
                .await?
        };
        let claimed = claimed_from_json(&claimed, owner)?;
        let mut completed = completed;
        completed.sort_unstable();
        self.record_handled(done, &completed).await?;
        Ok((completed, claimed))
    }

    /// [`SqliteDb::complete_and_claim`] completing nothing.
    pub async fn claim(&self, claim: &Claim) -> Result<Vec<Claimed>> {
        Ok(self.complete_and_claim(&[], claim).await?.1)
    }

    /// [`SqliteDb::complete_and_claim`] claiming nothing.
    pub async fn complete_many(&self, done: &[&Claimed]) -> Result<Vec<i64>> {
        let nothing = Claim {
            owner: String::new(),
            handlers: Vec::new(),
            limit: 0,
            lease_us: 0,
        };
        Ok(self.complete_and_claim(done, &nothing).await?.0)
    }

    /// Records the successes in `done` whose lease was lost (missing from the
    /// sorted `completed`) in `skc_handled`.
    async fn record_handled(&self, done: &[&Claimed], completed: &[i64]) -> Result<()> {
        let Some((handlers, events)) = lost_leases(done, completed) else {
            return Ok(());
        };
        sqlx::query(sql::RECORD_HANDLED)
            .bind(serde_json::to_string(&handlers).unwrap_or_default())
            .bind(serde_json::to_string(&events).unwrap_or_default())
            .bind(now_us())
            .execute(&mut *self.writer.lock().await)
            .await?;
        Ok(())
    }

    /// Hands claimed deliveries back unstarted; how many were still held.
    pub async fn release(&self, claimed: &[&Claimed]) -> Result<u64> {
        let leases: Vec<(i64, &str)> = claimed
            .iter()
            .map(|c| (c.delivery_id, c.lease_owner.as_str()))
            .collect();
        Ok(sqlx::query(sql::RELEASE)
            .bind(serde_json::to_string(&leases).unwrap_or_default())
            .bind(now_us())
            .execute(&mut *self.writer.lock().await)
            .await?
            .rows_affected())
    }

    /// A failed attempt: `dead`, or waiting `delay_us` for the next one.
    pub async fn fail(&self, c: &Claimed, error: &str, dead: bool, delay_us: i64) -> Result<u64> {
        let now = now_us();
        Ok(sqlx::query(sql::FAIL)
            .bind(dead)
            .bind(now.saturating_add(delay_us))
            .bind(error)
            .bind(now)
            .bind(c.delivery_id)
            .bind(&c.lease_owner)
            .execute(&mut *self.writer.lock().await)
            .await?
            .rows_affected())
    }

    /// A dead letter without running (this claim not counted as an attempt).
    pub async fn dead_letter_unrun(&self, c: &Claimed, error: &str) -> Result<u64> {
        Ok(sqlx::query(sql::DEAD_LETTER_UNRUN)
            .bind(error)
            .bind(now_us())
            .bind(c.delivery_id)
            .bind(&c.lease_owner)
            .execute(&mut *self.writer.lock().await)
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
            .execute(&mut *self.writer.lock().await)
            .await?
            .rows_affected())
    }
}
