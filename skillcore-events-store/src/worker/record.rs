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
                        let recorded = self.store.fail(c, &msg, retry_in).await?;
                        if recorded {
                            log_failure(c, e.policy.max_attempts, &msg, retry_in);
                        }
                        recorded
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

/// Logs a failed attempt as the in-process bus does (target
/// `skillcore_events::bus`, the same message): a retry with its delay at WARN,
/// a move to the dead letters at ERROR. The event id and name are fields of
/// their own (in process they come from the event's span). `error` is the
/// attempt's error text (the handler's error, bounded), never the payload.
fn log_failure(c: &Claimed, max: u32, error: &str, retry_in: Option<Duration>) {
    let handler_id = c.handler_id.as_str();
    let event_id = &c.event.event.id;
    let event_name = c.event.event.event_type.as_str();
    let attempt = c.attempt;
    match retry_in {
        Some(delay) => tracing::warn!(
            target: "skillcore_events::bus",
            handler_id,
            %event_id,
            event_name,
            attempt,
            retry_in_ms = delay.as_millis() as u64,
            error,
            "[{handler_id}] \u{2717} attempt {attempt}/{max} failed: {error}; retrying in {}",
            fmt_duration(delay)
        ),
        None => tracing::error!(
            target: "skillcore_events::bus",
            handler_id,
            %event_id,
            event_name,
            attempt,
            error,
            "[{handler_id}] \u{2717} attempt {attempt}/{max} failed: {error}; moved to the dead \
             letters"
        ),
    }
}

/// A delay as the in-process bus writes it: `2s`, `250ms`, `800µs`.
pub(crate) fn fmt_duration(d: Duration) -> String {
    if d.as_secs() >= 1 && d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else if d.as_millis() >= 1 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}\u{b5}s", d.as_micros())
    }
}
