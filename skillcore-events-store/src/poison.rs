//! Deliveries that kill their worker: a handler that aborts the process,
//! overflows its stack or runs out of memory on one event never records a
//! failure, so the delivery's lease runs out and it is claimed again, with one
//! more attempt counted at each claim. A claim that finds the attempts used up
//! on such a delivery does not run it again: the worker sends it to the dead
//! letters (the claim not counted as an attempt), with a reason that says so.

use crate::{now_us, Claimed, Db, Result, Store};

impl Store {
    /// Sends a claimed delivery to the dead letters without running it, with
    /// `error` as its last error; this claim is not counted as an attempt.
    /// What a worker does with a delivery whose attempts were used up by
    /// workers that died with it in flight ([`Claimed::expired_leases`]).
    /// Returns `false` when the lease was lost.
    pub async fn dead_letter_unrun(&self, c: &Claimed, error: &str) -> Result<bool> {
        let error = crate::bounded::error_text(error);
        let n = match &self.db {
            Db::Sqlite { writer, .. } => sqlx::query(
                "UPDATE skc_deliveries
                 SET status = 'dead', attempts = MAX(attempts - 1, 0), last_error = ?1,
                     lease_owner = NULL, lease_until = NULL, updated_at = ?2
                 WHERE id = ?3 AND lease_owner = ?4 AND status = 'active'",
            )
            .bind(error.as_ref())
            .bind(now_us())
            .bind(c.delivery_id)
            .bind(&c.lease_owner)
            .execute(&mut *writer.lock().await)
            .await?
            .rows_affected(),
            Db::Postgres(pool) => sqlx::query(
                "UPDATE skc_deliveries
                 SET status = 'dead', attempts = GREATEST(attempts - 1, 0), last_error = $1,
                     lease_owner = NULL, lease_until = NULL,
                     updated_at = (extract(epoch FROM clock_timestamp()) * 1000000)::bigint
                 WHERE id = $2 AND lease_owner = $3 AND status = 'active'",
            )
            .bind(error.as_ref())
            .bind(c.delivery_id)
            .bind(&c.lease_owner)
            .execute(pool)
            .await?
            .rows_affected(),
        };
        Ok(n == 1)
    }
}

/// The dead letter's reason for a delivery whose attempts were used up by
/// workers that died with it in flight.
pub(crate) fn reason(c: &Claimed, max_attempts: u32) -> String {
    let n = c.expired_leases();
    format!(
        "in flight when its worker died (or stalled past its lease) {n} time{}, \
         using up its {max_attempts} attempt{}; not run again. A handler that aborts \
         the process, overflows its stack or runs out of memory on this event does this",
        if n == 1 { "" } else { "s" },
        if max_attempts == 1 { "" } else { "s" },
    )
}
