//! Starting a claimed delivery: settled at once when there is nothing to run,
//! else its handler polled once in place and, if it has to wait, continued in
//! a task of its own under its timeout.

use super::running::Running;
use super::{Failure, Policy, Worker};
use crate::{Claimed, StoredEvent};
use skillcore_events::backend::{panic_message, Dispatcher, DynEnvelope};
use skillcore_events::HandlerContext;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A delivery whose handler has finished (or was never run).
pub(super) struct Executed {
    pub(super) claimed: Claimed,
    pub(super) result: Result<(), Failure>,
    pub(super) policy: Policy,
    pub(super) skipped: bool,
    /// Sent to the dead letters without running the handler: the attempts were
    /// used up by workers that died with it in flight.
    pub(super) unrun: bool,
}

impl Worker {
    /// Starts a claimed delivery's handler in a task of its own (which isolates
    /// panics), or settles it at once (redelivery of a handled event, unknown
    /// handler).
    pub(super) fn start(&self, c: Claimed, running: &mut Running) -> Option<Executed> {
        let Some(entry) = self.handlers.get(c.handler_id.as_str()).cloned() else {
            let msg = format!("no handler `{}` in this worker", c.handler_id);
            return Some(Executed {
                claimed: c,
                result: Err(Failure::Retry(msg)),
                policy: Policy::default(),
                skipped: false,
                unrun: false,
            });
        };
        if let Some(why) = c.unreadable() {
            let why = format!("the stored event cannot be read: {why}");
            return Some(Executed {
                claimed: c,
                result: Err(Failure::Dead(why)),
                policy: entry.policy,
                skipped: false,
                unrun: false,
            });
        }
        if c.already_handled {
            return Some(Executed {
                claimed: c,
                result: Ok(()),
                policy: entry.policy,
                skipped: true,
                unrun: false,
            });
        }
        if crate::poison::condemned(&c, entry.policy.max_attempts) {
            // Its attempts were used up by workers that died with it in flight
            // (each claim counts one), once at least while it ran alone:
            // running it again would kill this worker too.
            let why = crate::poison::reason(&c, entry.policy.max_attempts);
            return Some(Executed {
                claimed: c,
                result: Err(Failure::Dead(why)),
                policy: entry.policy,
                skipped: false,
                unrun: true,
            });
        }
        // Build and poll the handler's future once here: a handler that
        // finishes without waiting (most do, or finish fast) costs no task. One
        // that has to wait continues in a task of its own, under its timeout.
        let began = Instant::now();
        let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut fut = Box::pin(run_delivery(
                Arc::clone(&self.dispatcher),
                c.event.clone(),
                entry.id,
                c.attempt,
            ));
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            match fut.as_mut().poll(&mut cx) {
                std::task::Poll::Ready(r) => Ok(r),
                std::task::Poll::Pending => Err(fut),
            }
        }));
        let fut = match first {
            Ok(Ok(result)) => {
                return Some(Executed {
                    claimed: c,
                    result: late(result, began, entry.policy.timeout),
                    policy: entry.policy,
                    skipped: false,
                    unrun: false,
                })
            }
            Ok(Err(pending)) => pending,
            Err(p) => {
                return Some(Executed {
                    claimed: c,
                    result: Err(Failure::Retry(format!(
                        "handler panicked: {}",
                        panic_message(&*p)
                    ))),
                    policy: entry.policy,
                    skipped: false,
                    unrun: false,
                })
            }
        };
        let timeout = entry.policy.timeout;
        let handle = running.set.spawn(async move {
            match tokio::time::timeout(timeout.saturating_sub(began.elapsed()), fut).await {
                Ok(r) => late(r, began, timeout),
                Err(_) => Err(Failure::Retry(format!("timed out after {timeout:?}"))),
            }
        });
        running.claims.insert(handle.id(), (c, entry.policy));
        None
    }
}

/// One attempt of the bus's handler `handler_id` on a stored event: the
/// subscriber found by (event name, handler id), the event as the bus's raw
/// envelope, and the attempt run by the dispatcher (its timeout, panic
/// isolation, span and log lines), as the in-process bus runs it.
async fn run_delivery(
    dispatcher: Arc<Dispatcher>,
    event: Arc<StoredEvent>,
    handler_id: &'static str,
    attempt: u32,
) -> Result<(), Failure> {
    let Some(sub) = dispatcher
        .subscriber(&event.event.event_type, handler_id)
        .cloned()
    else {
        return Err(Failure::Retry(format!(
            "handler `{handler_id}` is not subscribed to `{}` in this process",
            event.event.event_type
        )));
    };
    let raw = event.to_raw().map_err(|e| Failure::Dead(e.to_string()))?;
    let env = DynEnvelope::raw(raw);
    let cx = HandlerContext {
        handler_id: sub.id,
        event_id: event.event.id,
        attempt,
        max_attempts: sub.policy.attempts.max(1),
    };
    let outcome = dispatcher.run_attempt(&sub, &env, cx).await;
    if outcome.is_success() {
        Ok(())
    } else if outcome.is_permanent() {
        Err(Failure::Dead(outcome.error_text()))
    } else {
        Err(Failure::Retry(outcome.error_text()))
    }
}

/// A success that came after the attempt's timeout is a timeout: a handler
/// that blocked its thread could not be cut off by the timer (issue 11).
fn late(result: Result<(), Failure>, began: Instant, timeout: Duration) -> Result<(), Failure> {
    let took = began.elapsed();
    match result {
        Ok(()) if took > timeout => Err(Failure::Retry(format!(
            "timed out after {timeout:?}: the attempt returned after {took:?} (a handler must not \
             block its thread; run blocking work with tokio::task::spawn_blocking)"
        ))),
        other => other,
    }
}
