//! The in-process backend: one Tokio task per published event runs the
//! event's handlers concurrently on that task (no task per handler); each
//! handler retries on its own; the idempotency record and the dead letters
//! live in memory, both bounded.

mod order;
mod record;

use record::Succeeded;

use super::{
    Backend, BusError, DeadLetter, DeadLetterId, Dispatcher, PublishError, Route, ShutdownReport,
    Subscriber,
};
use crate::envelope::{DynEnvelope, RawEnvelope};
use crate::handler::{BoxFuture, HandlerContext};
use crate::Scope;
use chrono::Utc;
use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::Duration;
use tokio::sync::Notify;
use tracing::Instrument;

/// Bounds of the in-process backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryOptions {
    /// (handler, event) successes remembered for idempotency; the oldest are
    /// forgotten first. 0 disables the record.
    pub idempotency_window: usize,
    /// Dead letters kept; the oldest are dropped first.
    pub dead_letter_capacity: usize,
}

impl Default for MemoryOptions {
    fn default() -> Self {
        MemoryOptions {
            idempotency_window: 100_000,
            dead_letter_capacity: 10_000,
        }
    }
}

/// The in-process [`Backend`]: nothing survives the process (the durable
/// store does that), everything else is the same.
pub struct MemoryBackend {
    core: Arc<Core>,
}

impl std::fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBackend")
            .field("options", &self.core.opts)
            .field("in_flight", &self.core.inflight.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

struct Letter {
    public: DeadLetter,
    env: DynEnvelope,
    sub: Arc<Subscriber>,
}

impl Letter {
    fn in_scope(&self, scope: &Scope) -> bool {
        scope.admits(&self.public.envelope.metadata.district_id)
    }
}

struct Core {
    dispatcher: Arc<Dispatcher>,
    opts: MemoryOptions,
    inflight: AtomicUsize,
    idle: Notify,
    closed: AtomicBool,
    cancelled: AtomicBool,
    cancel: Notify,
    abandoned: AtomicUsize,
    /// Which handlers succeeded on which events.
    record: record::Record,
    dead: Mutex<VecDeque<Letter>>,
    /// Per-aggregate lines of the ordered handlers.
    lines: Arc<order::Lines>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic never happens while these locks are held; recover anyway.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Decrements the in-flight count when an event task ends, however it ends.
struct InFlight(Arc<Core>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.inflight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl MemoryBackend {
    /// A backend running the dispatcher's handlers in process.
    pub fn new(dispatcher: Arc<Dispatcher>, opts: MemoryOptions) -> Self {
        MemoryBackend {
            core: Arc::new(Core {
                dispatcher,
                opts,
                inflight: AtomicUsize::new(0),
                idle: Notify::new(),
                closed: AtomicBool::new(false),
                cancelled: AtomicBool::new(false),
                cancel: Notify::new(),
                abandoned: AtomicUsize::new(0),
                record: record::Record::new(opts.idempotency_window),
                dead: Mutex::new(VecDeque::new()),
                lines: Arc::default(),
            }),
        }
    }

    /// Events whose handlers are still running or waiting to retry.
    pub fn in_flight(&self) -> usize {
        self.core.inflight.load(Ordering::Acquire)
    }
}

impl Core {
    fn accept(self: &Arc<Self>, env: DynEnvelope) -> Result<(), PublishError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(PublishError::ShuttingDown);
        }
        let route = self.dispatcher.route(env.event_type());
        self.dispatcher
            .log_publish(&env, route.map_or(0, |r| r.len()));
        let Some(route) = route else {
            return Ok(());
        };
        let route = Arc::clone(route);
        let handle = tokio::runtime::Handle::try_current().map_err(|_| PublishError::NoRuntime)?;
        // Ordered handlers take their place in line now, in publish order.
        let tickets = self.tickets(&env, &route);
        self.inflight.fetch_add(1, Ordering::AcqRel);
        let guard = InFlight(Arc::clone(self));
        handle.spawn(async move {
            let core = Arc::clone(&guard.0);
            core.run_event(env, route, tickets).await;
            drop(guard);
        });
        Ok(())
    }

    /// A ticket per ordered handler of the route (by route position), none
    /// when the route has no ordered handler (no allocation then).
    fn tickets(&self, env: &DynEnvelope, route: &Route) -> Vec<Option<order::Ticket>> {
        if !route.iter().any(|s| s.ordered) {
            return Vec::new();
        }
        let aggregate = env.header().aggregate_id;
        route
            .iter()
            .map(|s| s.ordered.then(|| self.lines.enter(s.index, aggregate)))
            .collect()
    }

    async fn run_event(
        &self,
        env: DynEnvelope,
        route: Route,
        mut tickets: Vec<Option<order::Ticket>>,
    ) {
        let span = tracing::info_span!(
            target: "skillcore_events::bus",
            "event",
            event_id = %env.id(),
            event_name = env.event_type(),
        );
        async {
            let id = env.id().as_u128();
            let already = self.record.done_slots(id, &route);
            let skip = |s: &Subscriber| {
                let done = already.contains(s.slot);
                if done && self.dispatcher.log.handlers {
                    tracing::info!(
                        target: "skillcore_events::bus",
                        "[{}] already handled {}, skipped",
                        s.id,
                        env.id()
                    );
                }
                done
            };
            // One box per handler keeps each allocation small (glibc serves
            // blocks up to 1 KiB from its per-thread cache).
            // A skipped handler's ticket is dropped here, letting its line
            // move on.
            let mut tickets = tickets.drain(..).chain(std::iter::repeat_with(|| None));
            let futs: Box<[Option<_>]> = route
                .iter()
                .zip(&mut tickets)
                .filter(|(s, _)| !skip(s))
                .map(|(s, t)| Some(Box::pin(self.run_in_turn(&env, s, t))))
                .collect();
            join_all(futs).await;
        }
        .instrument(span)
        .await
    }

    /// Runs `fut` unless the bus is cancelled first (shutdown deadline passed).
    fn or_cancel<F: Future>(&self, fut: F) -> OrCancel<'_, F> {
        OrCancel {
            fut,
            notified: self.cancel.notified(),
            cancelled: &self.cancelled,
        }
    }

    /// [`Core::run_subscriber`] once `ticket` (an ordered handler's place in
    /// its aggregate's line) comes up; the ticket is released when it ends.
    async fn run_in_turn(
        &self,
        env: &DynEnvelope,
        sub: &Arc<Subscriber>,
        ticket: Option<order::Ticket>,
    ) -> bool {
        if let Some(t) = &ticket {
            if self.or_cancel(t.turn()).await.is_none() {
                self.abandon(env, sub, 0);
                return false;
            }
        }
        let done = self.run_subscriber(env, sub, 1).await;
        drop(ticket);
        done
    }

    /// One handler on one event: attempts, backoff, dead letter.
    async fn run_subscriber(
        &self,
        env: &DynEnvelope,
        sub: &Arc<Subscriber>,
        first_attempt: u32,
    ) -> bool {
        let max = sub.policy.attempts;
        let event_id = env.id();
        let mut attempt = first_attempt;
        loop {
            let cx = HandlerContext {
                handler_id: sub.id,
                event_id,
                attempt,
                max_attempts: max,
            };
            let Some(outcome) = self
                .or_cancel(self.dispatcher.run_attempt(sub, env, cx))
                .await
            else {
                self.abandon(env, sub, attempt);
                return false;
            };
            if outcome.is_success() {
                // Recorded at once, so a redelivery while other handlers of
                // the event still retry does not run this one again.
                let mut done = Succeeded::default();
                done.add(sub.slot);
                self.record.record_done(event_id.as_u128(), &done);
                return true;
            }
            let error = outcome.error_text();
            if attempt >= max || outcome.is_permanent() {
                super::log::bus_line!(
                    self.dispatcher.log.handlers,
                    error,
                    "ERROR",
                    { handler_id = sub.id, attempt, },
                    "[{}] \u{2717} attempt {}/{} failed: {}; moved to the dead letters",
                    sub.id,
                    attempt,
                    max,
                    error
                );
                self.dead_letter(env, sub, attempt, error);
                return false;
            }
            let seed = (event_id.as_u128() as u64) ^ ((sub.index as u64) << 40) ^ attempt as u64;
            let delay = sub.policy.delay(attempt, seed);
            super::log::bus_line!(
                self.dispatcher.log.handlers,
                warn,
                "WARN",
                { handler_id = sub.id, attempt, },
                "[{}] \u{2717} attempt {}/{} failed: {}; retrying in {}",
                sub.id,
                attempt,
                max,
                error,
                super::fmt_duration(delay)
            );
            if self.or_cancel(tokio::time::sleep(delay)).await.is_none() {
                self.abandon(env, sub, attempt);
                return false;
            }
            attempt += 1;
        }
    }

    fn abandon(&self, env: &DynEnvelope, sub: &Arc<Subscriber>, attempt: u32) {
        self.abandoned.fetch_add(1, Ordering::AcqRel);
        let error = if attempt == 0 {
            "abandoned: the bus shut down while the handler waited for the earlier events of its \
             aggregate (ordered)"
                .to_string()
        } else {
            format!("abandoned: the bus shut down before the handler finished (attempt {attempt})")
        };
        tracing::error!(
            target: "skillcore_events::bus",
            handler_id = sub.id,
            "[{}] {}",
            sub.id,
            error
        );
        self.dead_letter(env, sub, attempt, error);
    }

    fn dead_letter(&self, env: &DynEnvelope, sub: &Arc<Subscriber>, attempts: u32, error: String) {
        let cap = self.opts.dead_letter_capacity;
        if cap == 0 {
            return;
        }
        let envelope = env.to_raw().unwrap_or_else(|_| fallback_raw(env));
        let letter = Letter {
            public: DeadLetter {
                id: DeadLetterId::from_uuid(crate::ids::new_event_id()),
                handler_id: sub.id.to_string(),
                envelope,
                attempts,
                last_error: error,
                failed_at: Utc::now(),
            },
            env: env.clone(),
            sub: Arc::clone(sub),
        };
        let mut dead = lock(&self.dead);
        while dead.len() >= cap {
            if let Some(old) = dead.pop_front() {
                tracing::error!(
                    target: "skillcore_events::bus",
                    handler_id = old.sub.id,
                    event_id = %old.public.envelope.id,
                    "dead-letter queue full ({cap}): dropped the oldest dead letter"
                );
            }
        }
        dead.push_back(letter);
    }

    fn retry(self: &Arc<Self>, scope: &Scope, id: DeadLetterId) -> Result<(), BusError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(BusError::ShuttingDown);
        }
        let handle = tokio::runtime::Handle::try_current().map_err(|_| BusError::NoRuntime)?;
        let letter = {
            let mut dead = lock(&self.dead);
            let pos = dead
                .iter()
                .position(|l| l.public.id == id && l.in_scope(scope))
                .ok_or(BusError::NotFound(id))?;
            dead.remove(pos).ok_or(BusError::NotFound(id))?
        };
        self.inflight.fetch_add(1, Ordering::AcqRel);
        let guard = InFlight(Arc::clone(self));
        handle.spawn(async move {
            let core = Arc::clone(&guard.0);
            core.run_subscriber(&letter.env, &letter.sub, 1).await;
            drop(guard);
        });
        Ok(())
    }

    async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.inflight.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// The envelope without its payload, for the one case a typed payload fails
/// to serialize (a hand-written `Serialize` can).
fn fallback_raw(env: &DynEnvelope) -> RawEnvelope {
    let h = env.header();
    RawEnvelope {
        id: h.id,
        event_type: h.event_type.to_string(),
        aggregate_id: h.aggregate_id.to_string(),
        aggregate_type: h.aggregate_type.to_string(),
        payload: serde_json::value::RawValue::from_string("null".into())
            .unwrap_or_else(|_| Box::<serde_json::value::RawValue>::default()),
        metadata: h.metadata.clone(),
        version: h.version,
        occurred_at: h.occurred_at,
    }
}

pin_project_lite::pin_project! {
    /// A future raced against the bus's cancellation (shutdown deadline). The
    /// `Notified` registers only when the future is still pending.
    struct OrCancel<'a, F> {
        #[pin]
        fut: F,
        #[pin]
        notified: tokio::sync::futures::Notified<'a>,
        cancelled: &'a AtomicBool,
    }
}

impl<F: Future> Future for OrCancel<'_, F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.fut.poll(cx) {
            return Poll::Ready(Some(v));
        }
        if this.cancelled.load(Ordering::Acquire) {
            return Poll::Ready(None);
        }
        match this.notified.poll(cx) {
            Poll::Ready(()) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Polls every future on the current task until all are done (the handlers
/// of one event: a handful, so polling all on each wake-up is cheapest).
async fn join_all<F: Future>(futs: Box<[Option<F>]>) {
    let mut slots: Pin<Box<[Option<F>]>> = Box::into_pin(futs);
    poll_fn(move |cx| {
        let mut pending = false;
        for i in 0..slots.len() {
            // SAFETY: the elements of a pinned boxed slice are never moved;
            // a finished one is dropped in place through `Pin::set`.
            let mut slot = unsafe { slots.as_mut().map_unchecked_mut(|s| &mut s[i]) };
            if let Some(f) = slot.as_mut().as_pin_mut() {
                if f.poll(cx).is_ready() {
                    slot.set(None);
                } else {
                    pending = true;
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await
}

impl Backend for MemoryBackend {
    fn publish(&self, event: DynEnvelope) -> BoxFuture<'_, Result<(), PublishError>> {
        Box::pin(std::future::ready(self.core.accept(event)))
    }

    fn publish_batch(&self, events: Vec<DynEnvelope>) -> BoxFuture<'_, Result<(), PublishError>> {
        let r = events.into_iter().try_for_each(|e| self.core.accept(e));
        Box::pin(std::future::ready(r))
    }

    fn dead_letters(&self, scope: &Scope) -> BoxFuture<'_, Result<Vec<DeadLetter>, BusError>> {
        let list = lock(&self.core.dead)
            .iter()
            .filter(|l| l.in_scope(scope))
            .map(|l| l.public.clone())
            .collect();
        Box::pin(std::future::ready(Ok(list)))
    }

    fn retry_dead_letter(
        &self,
        scope: &Scope,
        id: DeadLetterId,
    ) -> BoxFuture<'_, Result<(), BusError>> {
        Box::pin(std::future::ready(self.core.retry(scope, id)))
    }

    fn discard_dead_letter(
        &self,
        scope: &Scope,
        id: DeadLetterId,
    ) -> BoxFuture<'_, Result<(), BusError>> {
        let mut dead = lock(&self.core.dead);
        let r = match dead
            .iter()
            .position(|l| l.public.id == id && l.in_scope(scope))
        {
            Some(pos) => {
                dead.remove(pos);
                Ok(())
            }
            None => Err(BusError::NotFound(id)),
        };
        Box::pin(std::future::ready(r))
    }

    fn idle(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.core.idle())
    }

    fn shutdown(&self, deadline: Duration) -> BoxFuture<'_, ShutdownReport> {
        Box::pin(async move {
            let core = &self.core;
            core.closed.store(true, Ordering::Release);
            let completed = tokio::time::timeout(deadline, core.idle()).await.is_ok();
            if !completed {
                core.cancelled.store(true, Ordering::Release);
                core.cancel.notify_waiters();
                core.idle().await;
            }
            ShutdownReport {
                completed,
                abandoned: core.abandoned.load(Ordering::Acquire),
            }
        })
    }
}
