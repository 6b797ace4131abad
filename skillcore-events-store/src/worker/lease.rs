//! Leases: how long one lasts, its renewal while the worker holds
//! deliveries (a heartbeat: one statement for all the worker holds, three
//! times per lease length), and what a worker does about leases when it
//! starts (takes back its own from before a restart, logs those nobody
//! renews).

use super::Worker;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The default lease: a dead worker's deliveries are free within this.
pub(crate) const DEFAULT_LEASE: Duration = Duration::from_secs(10);

/// The shortest lease a worker takes (renewed every 10 ms).
pub(crate) const SHORTEST: Duration = Duration::from_millis(30);

/// How long a worker's leases last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lease {
    /// This long after the last renewal.
    Renewed(Duration),
    /// The handlers' longest timeout (once more per `concurrency` claimed
    /// ahead) plus this margin: the rule before leases were renewed, still
    /// renewed.
    PastTimeout(Duration),
}

impl Default for Lease {
    fn default() -> Self {
        Lease::Renewed(DEFAULT_LEASE)
    }
}

/// Renews a worker's leases until dropped.
pub(super) struct Heartbeat(Option<tokio::task::JoinHandle<()>>);

impl Drop for Heartbeat {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

impl Worker {
    /// Renews every lease this worker holds for `lease`, three times per
    /// `lease`, in a task of its own (a handler that blocks its thread does
    /// not hold it up), while `held` (when given) counts deliveries in hand.
    /// Each renewal is one statement for all of them.
    pub(super) fn heartbeat(&self, lease: Duration, held: Option<Arc<AtomicUsize>>) -> Heartbeat {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return Heartbeat(None);
        };
        let store = self.store.clone();
        let id = self.id.clone();
        let every = (lease / 3).max(Duration::from_millis(10));
        Heartbeat(Some(rt.spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if held
                    .as_ref()
                    .is_some_and(|h| h.load(Ordering::Relaxed) == 0)
                {
                    continue;
                }
                if let Err(e) = store.renew_leases(&id, lease).await {
                    tracing::warn!(
                        worker = %id,
                        error = %e,
                        "cannot renew the leases of the deliveries this worker holds; they \
                         go to other workers if it cannot renew them within {lease:?}"
                    );
                }
            }
        })))
    }

    /// When [`Worker::run`] starts: leases held under this worker's own
    /// identity are from before it restarted, so they run out now, before its
    /// first claim (which takes them back); then, in a task of its own, the
    /// deliveries of its handlers held by workers that stopped renewing their
    /// leases are logged, with when they free up.
    pub(super) async fn start_up(&self) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let store = self.store.clone();
        let id = self.id.clone();
        // Bounded: a database that does not answer must not hold the worker
        // up (its leases then run out by themselves).
        let own = tokio::time::timeout(Duration::from_secs(5), store.expire_own_leases(&id)).await;
        match own {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::warn!(
                worker = %id,
                deliveries = n,
                "took back {n} deliveries this worker held before it restarted (they run \
                 again now)"
            ),
            Ok(Err(e)) => tracing::warn!(
                worker = %id,
                error = %e,
                "cannot take back the leases this worker held before it restarted; they \
                 run again when they run out"
            ),
            Err(_) => tracing::warn!(
                worker = %id,
                "the database did not answer within 5 s: the leases this worker held before \
                 it restarted run again when they run out"
            ),
        }
        let handlers: Vec<&'static str> = self.handlers.keys().copied().collect();
        rt.spawn(async move {
            match store.stalled_leases_of_others(&handlers, &id).await {
                Ok(r) if r.stalled == 0 => {}
                Ok(r) => {
                    let when = match (r.held, r.free_at) {
                        (0, _) | (_, None) => "all free now".to_string(),
                        (held, Some(at)) => format!(
                            "{held} still leased, all free by {} (in {})",
                            at.format("%H:%M:%S%.3f UTC"),
                            super::record::fmt_duration(r.free_in)
                        ),
                    };
                    tracing::warn!(
                        worker = %id,
                        deliveries = r.stalled,
                        held = r.held,
                        owners = r.owners,
                        free_in_ms = r.free_in.as_millis() as u64,
                        "{} deliveries are held by {}: {when}",
                        r.stalled,
                        if r.owners == 1 {
                            "1 worker that no longer renews its leases (died or stuck)".to_string()
                        } else {
                            format!(
                                "{} workers that no longer renew their leases (died or stuck)",
                                r.owners
                            )
                        },
                    );
                }
                Err(e) => tracing::debug!(
                    worker = %id,
                    error = %e,
                    "cannot count the leases nobody renews"
                ),
            }
        });
    }
}
