//! Recording what deliveries came to: every success in one statement (which
//! can also claim the next batch), each failure as a retry or a dead letter.

use super::exec::Executed;
use super::{Failure, Outcome, Worker};
use crate::{Claimed, Result};
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

impl Worker {
    /// Records what a batch of deliveries came to: every success in one
    /// statement, each failure as a retry or a dead letter.
    pub(super) async fn record(&self, finished: Vec<Executed>) -> Result<Vec<Outcome>> {
        Ok(self.record_and_claim(&finished, 0, Duration::ZERO).await?.0)
    }

    /// [`Worker::record`], and claims up to `want` more deliveries in the same
    /// statement as the successes.
    pub(super) async fn record_and_claim(
        &self,
        finished: &[Executed],
        want: usize,
        lease: Duration,
    ) -> Result<(Vec<Outcome>, Vec<Claimed>)> {
        let ok: Vec<&Claimed> = finished
            .iter()
            .filter(|e| e.result.is_ok())
            .map(|e| &e.claimed)
            .collect();
        let (completed, claimed) = if want > 0 {
            self.store
                .complete_and_claim(&ok, &self.id, &self.handler_ids(), want as u32, lease)
                .await?
        } else {
            (self.store.complete_many(&ok).await?, Vec::new())
        };
        let completed: HashSet<i64> = completed.into_iter().collect();
        let mut out = Vec::with_capacity(finished.len());
        for e in finished {
            let c = &e.claimed;
            match &e.result {
                Ok(()) if !completed.contains(&c.delivery_id) => out.push(Outcome::LeaseLost),
                Ok(()) if e.skipped => out.push(Outcome::Skipped),
                Ok(()) => out.push(Outcome::Done),
                Err(failure) => {
                    let out_of_attempts = c.attempt >= e.policy.max_attempts;
                    let dead = out_of_attempts || matches!(failure, &Failure::Dead(_));
                    let seed = self
                        .seed
                        .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
                        ^ c.delivery_id as u64;
                    let retry_in = (!dead).then(|| e.policy.delay_after(c.attempt, seed));
                    let msg = failure.message().to_string();
                    let recorded = if e.unrun {
                        let recorded = self.store.dead_letter_unrun(c, &msg).await?;
                        if recorded {
                            tracing::error!(
                                worker = %self.id,
                                handler = %c.handler_id,
                                delivery_id = c.delivery_id,
                                event_id = %c.event.event.id,
                                event_type = %c.event.event.event_type,
                                expired_leases = c.expired_leases(),
                                max_attempts = e.policy.max_attempts,
                                "delivery sent to the dead letters without running it: {msg}"
                            );
                        }
                        recorded
                    } else {
                        self.store.fail(c, &msg, retry_in).await?
                    };
                    out.push(match (recorded, dead) {
                        (false, _) => Outcome::LeaseLost,
                        (true, true) => Outcome::Dead(msg),
                        (true, false) => Outcome::Retrying(msg),
                    });
                }
            }
        }
        Ok((out, claimed))
    }
}
