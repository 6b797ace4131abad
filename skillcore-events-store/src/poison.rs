//! Deliveries that kill their worker: a handler that aborts the process,
//! overflows its stack or runs out of memory on one event never records a
//! failure, so the delivery's lease runs out and it is claimed again, with one
//! more attempt counted at each claim, and so are the deliveries that were in
//! flight beside it.
//!
//! A claim that takes over an expired lease counts it (`expired_leases`). A
//! worker runs such a delivery alone ([`Store::run_alone`]: nothing else in
//! flight, its lease marked), so a lease that runs out during that run is a
//! death it caused for certain (`lone_deaths`), while one among other
//! deliveries may have been a neighbour's. A delivery is sent to the dead
//! letters without running again ([`Store::dead_letter_unrun`]) once its
//! attempts are used up and it has killed its worker while alone; until then
//! it keeps the benefit of the doubt, so a worker killed by a deploy or by a
//! neighbour's crash does not condemn the deliveries it held.

use crate::store::Dialect;
use crate::{Claimed, Result, Store};

/// Marks a lease held by a delivery running alone.
const ALONE: &str = "!";

impl Store {
    /// Sends a claimed delivery to the dead letters without running it, with
    /// `error` as its last error; this claim is not counted as an attempt.
    /// What a worker does with a delivery whose attempts were used up by
    /// workers that died with it in flight ([`Claimed::expired_leases`]).
    /// Returns `false` when the lease was lost.
    pub async fn dead_letter_unrun(&self, c: &Claimed, error: &str) -> Result<bool> {
        let error = crate::bounded::error_text(error);
        let n = match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.dead_letter_unrun(c, &error).await?,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.dead_letter_unrun(c, &error).await?,
        };
        Ok(n == 1)
    }

    /// Before running `c` alone (nothing else of this worker in flight): hands
    /// `others` back unstarted ([`Store::release`]) and marks `c`'s lease, so
    /// that if its worker dies during the run the next claim counts a death it
    /// caused for certain ([`Claimed::expired_alone`]). An attempt past
    /// `max_attempts` (deaths among other deliveries counted as attempts) is
    /// brought back to it: this run is its last. Returns `false` when `c`'s
    /// lease was lost (do not run it).
    pub async fn run_alone(
        &self,
        c: &mut Claimed,
        max_attempts: u32,
        others: &[&Claimed],
    ) -> Result<bool> {
        self.release(others).await?;
        let marked = format!("{}{ALONE}", c.lease_owner);
        let max = i64::from(max_attempts.max(1));
        let n = match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.mark_alone(c, &marked, max).await?,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.mark_alone(c, &marked, max).await?,
        };
        if n == 1 {
            c.lease_owner = marked;
            c.attempt = c.attempt.min(max as u32);
        }
        Ok(n == 1)
    }
}

/// Whether `c` has used up its attempts killing its worker, once at least
/// while alone: it goes to the dead letters without running again.
pub(crate) fn condemned(c: &Claimed, max_attempts: u32) -> bool {
    c.expired_leases > 0 && c.lone_deaths > 0 && c.attempt > max_attempts
}

/// The dead letter's reason for a [`condemned`] delivery.
pub(crate) fn reason(c: &Claimed, max_attempts: u32) -> String {
    let (n, alone) = (c.expired_leases, c.lone_deaths);
    format!(
        "in flight when its worker died (or stalled past its lease) {n} time{}, \
         {alone} of them running alone, using up its {max_attempts} attempt{}; not run \
         again. A handler that aborts the process, overflows its stack or runs out of \
         memory on this event does this",
        if n == 1 { "" } else { "s" },
        if max_attempts == 1 { "" } else { "s" },
    )
}
