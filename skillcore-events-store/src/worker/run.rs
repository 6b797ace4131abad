//! The state of [`Worker::run`] between two turns of its loop, and the steps
//! of a turn: collect the handlers that finished, start what is ready, send
//! outcomes and claim more in a database step of its own, then wait for
//! whatever comes first (shutdown, a database step, a wake-up, a handler).
//! Once shutdown is asked and no database step is in flight, each turn winds
//! down instead.
//!
//! This is the hot path of the durable bench: no step allocates or awaits per
//! delivery beyond what the work itself needs.

use super::exec::Executed;
use super::lease::Lease;
use super::running::Running;
use super::window::Window;
use super::Worker;
use crate::{Claimed, Result};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::task::{Id, JoinError, JoinSet};

/// The pause after a failed database step, doubled after each further one...
const FIRST_PAUSE: Duration = Duration::from_millis(50);
/// ... up to this.
const LONGEST_PAUSE: Duration = Duration::from_secs(5);

/// What a database round trip of [`Worker::run`] came to.
struct DbStep {
    /// Outcomes were to be recorded.
    recording: bool,
    /// The outcomes sent, handed back: when the step failed they are recorded
    /// again with the next one (recording twice is harmless: a done or failed
    /// delivery is no longer held by the lease).
    outcomes: Vec<Executed>,
    /// The deliveries claimed.
    result: Result<Vec<Claimed>>,
}

/// The run loop of one [`Worker::run`].
pub(super) struct RunLoop<'w> {
    worker: &'w Worker,
    /// Handlers in flight.
    running: Running,
    /// Outcomes not yet sent to the store.
    finished: Vec<Executed>,
    /// Claimed ahead of free slots, waiting to start.
    ready: VecDeque<Claimed>,
    /// The database round trips in flight (record outcomes, claim more), each
    /// in a task of its own while this loop keeps starting handlers.
    ops: JoinSet<DbStep>,
    /// Deliveries asked for by each step in flight (kept here rather than in
    /// the step, so a step that panicked still gives its share back).
    asked_by: HashMap<Id, usize>,
    /// After a claim that found nothing, the next waits for a wake-up or the
    /// idle poll instead of asking again at once.
    may_claim: bool,
    /// The store's wake-up count when the last step was sent.
    wakes: u64,
    /// The last claim got all it asked for.
    backlog: bool,
    /// How long to wait after the next failed database step.
    pause: Duration,
    /// Shutdown was asked.
    stopping: bool,
    /// How many deliveries this worker holds at most: running, waiting, being
    /// claimed.
    window: Window,
    /// How many database steps may be in flight at once (1 or 2)...
    depth: usize,
    /// ... each claiming at most this many ([`Window::shape`]).
    batch: usize,
    /// Since the last step came back, a handler slot stood free with nothing
    /// ready to start while a step was in flight...
    starved: bool,
    /// ... and this many handlers finished.
    finished_since: usize,
    /// The lease of a claim.
    lease: Duration,
}

impl<'w> RunLoop<'w> {
    pub(super) fn new(worker: &'w Worker) -> Self {
        // A lease past the handlers' timeout covers a wait per `concurrency`
        // claimed ahead: that rule keeps the prefetch it had, as many as the
        // concurrency, rather than leases of minutes.
        let prefetch = match worker.lease {
            Lease::PastTimeout(_) => Some(worker.prefetch.unwrap_or(worker.concurrency)),
            Lease::Renewed(_) => worker.prefetch,
        };
        let window = Window::new(worker.concurrency, prefetch);
        // Two steps only under a backlog (the last claim came back full):
        // without one a second step would mostly claim nothing, and hold up
        // the next publish and claim.
        let (depth, batch) = window.shape();
        RunLoop {
            worker,
            running: Running::default(),
            finished: Vec::new(),
            ready: VecDeque::new(),
            ops: JoinSet::new(),
            asked_by: HashMap::new(),
            may_claim: true,
            wakes: 0,
            backlog: false,
            pause: FIRST_PAUSE,
            stopping: false,
            window,
            depth,
            batch,
            starved: false,
            finished_since: 0,
            lease: worker.lease(window.cap().saturating_sub(worker.concurrency)),
        }
    }

    /// Handlers in flight.
    #[inline]
    pub(super) fn running_len(&self) -> usize {
        self.running.len()
    }

    /// Deliveries this loop holds: running, waiting for a slot, finished and
    /// not recorded, and a claim's worth per database step in flight.
    #[inline]
    pub(super) fn held_len(&self) -> usize {
        self.running.len() + self.ready.len() + self.finished.len() + self.ops.len()
    }

    /// The lease of this loop's claims.
    pub(super) fn lease(&self) -> Duration {
        self.lease
    }

    /// Moves the handlers that have finished into the outcomes at hand.
    #[inline]
    pub(super) fn collect_finished(&mut self) {
        let before = self.finished.len();
        self.running.collect_ready(&mut self.finished);
        self.finished_since += self.finished.len() - before;
    }

    /// Shutdown was asked and no database step is in flight: the turn winds
    /// down ([`RunLoop::wind_down`]).
    #[inline]
    pub(super) fn winding_down(&self) -> bool {
        self.stopping && self.ops.is_empty()
    }

    /// Records the outcomes at hand, hands back what was claimed and not
    /// started, and waits for the next handler to finish. Returns `true` once
    /// nothing runs any more: the worker is done.
    pub(super) async fn wind_down(&mut self) -> bool {
        let worker = self.worker;
        if !self.finished.is_empty() {
            if let Err(e) = worker.record(std::mem::take(&mut self.finished)).await {
                tracing::warn!(
                    worker = %worker.id,
                    error = %e,
                    "cannot record outcomes while shutting down"
                );
            }
        }
        if !self.ready.is_empty() {
            // Not started: hand them back now rather than when their leases
            // run out.
            let back: Vec<Claimed> = self.ready.drain(..).collect();
            if let Err(e) = worker.store.release(&back.iter().collect::<Vec<_>>()).await {
                tracing::warn!(
                    worker = %worker.id,
                    error = %e,
                    deliveries = back.len(),
                    "cannot release deliveries claimed and not started"
                );
            }
        }
        if self.running.is_empty() {
            return true;
        }
        if let Some(done) = self.running.next().await {
            self.finished.push(done);
        }
        false
    }

    /// Starts deliveries claimed ahead while handler slots are free (unless
    /// shutdown was asked). A delivery that was in flight when a worker died
    /// runs alone ([`RunLoop::start_alone`]).
    pub(super) async fn start_ready(&mut self) {
        if self.stopping {
            return;
        }
        let worker = self.worker;
        while self.running.len() < worker.concurrency {
            let Some(front) = self.ready.front() else {
                self.starved |= !self.ops.is_empty();
                break;
            };
            if worker.suspect(front) {
                self.start_alone().await;
                break;
            }
            let Some(c) = self.ready.pop_front() else {
                break;
            };
            self.start(c);
        }
    }

    /// The delivery at the front was in flight when a worker died: it runs
    /// alone, so that if it kills this worker too, no other delivery is caught
    /// with it (and charged an attempt). It waits for what runs and what is
    /// being recorded; what else is held goes back to the queue.
    async fn start_alone(&mut self) {
        // After a worker died, what the next claims take is handed back at each
        // delivery that must run alone: claim no more than at the start.
        self.window.reset();
        (self.depth, self.batch) = self.window.shape();
        if !self.running.is_empty() || !self.ops.is_empty() || !self.finished.is_empty() {
            return;
        }
        let Some(mut c) = self.ready.pop_front() else {
            return;
        };
        let worker = self.worker;
        let others: Vec<Claimed> = self.ready.drain(..).collect();
        let max = worker
            .handlers
            .get(c.handler_id.as_str())
            .map_or(1, |e| e.policy.max_attempts);
        let others: Vec<&Claimed> = others.iter().collect();
        match worker.store.run_alone(&mut c, max, &others).await {
            Ok(true) => self.start(c),
            // Another worker has it now.
            Ok(false) => {}
            // Not marked: if it kills this worker, the death is counted as one
            // among others. Run it anyway.
            Err(e) => {
                tracing::warn!(
                    worker = %worker.id,
                    handler = %c.handler_id,
                    delivery_id = c.delivery_id,
                    error = %e,
                    "cannot prepare a delivery to run alone; running it anyway"
                );
                self.start(c);
            }
        }
    }

    /// Starts one delivery ([`Worker::start`]); one settled at once joins the
    /// outcomes at hand.
    #[inline]
    fn start(&mut self, c: Claimed) {
        if let Some(done) = self.worker.start(c, &mut self.running) {
            self.finished.push(done);
            self.finished_since += 1;
        }
    }

    /// Sends a database step when there is room for one: the outcomes at hand,
    /// with a claim of more in the same round trip when it is worth one.
    /// Returns `true` when a step was sent.
    pub(super) fn claim_or_record(&mut self) -> bool {
        let room = self.ops.is_empty() || (self.ops.len() < self.depth && self.backlog);
        if !room || self.stopping {
            return false;
        }
        let worker = self.worker;
        // While a suspect waits for its turn or runs, nothing more is claimed.
        let alone = self.ready.front().is_some_and(|c| worker.suspect(c))
            || self.running.claims.values().any(|(c, _)| worker.suspect(c));
        let held = self.running.len() + self.ready.len() + self.asked_by.values().sum::<usize>();
        let want = self.window.in_hand.saturating_sub(held).min(self.batch);
        // Claim in batches: with most of the deliveries in hand still running,
        // waiting or being claimed, wait for more to finish rather than paying
        // a round trip for a few. Outcomes at hand go in the same round trip
        // as the claim.
        let claim = self.may_claim && !alone && want > 0 && (held == 0 || want * 2 >= self.batch);
        // A second step only claims; outcomes alone wait for the first.
        if !(claim || (!self.finished.is_empty() && self.ops.is_empty())) {
            return false;
        }
        let owned = worker.clone();
        let outcomes = std::mem::take(&mut self.finished);
        let want = if claim { want } else { 0 };
        let lease = self.lease;
        self.wakes = worker.store.wake_count();
        let step = self.ops.spawn(async move {
            let recording = !outcomes.is_empty();
            let result = owned.record_and_claim(&outcomes, want, lease).await;
            DbStep {
                recording,
                result: result.map(|(_, claimed)| claimed),
                outcomes,
            }
        });
        self.asked_by.insert(step.id(), want);
        true
    }

    /// Waits for what comes first: shutdown, a database step, a wake-up (when
    /// the last claim found nothing), a handler finishing.
    pub(super) async fn wait<S: Future<Output = ()>>(&mut self, mut shutdown: Pin<&mut S>) {
        let worker = self.worker;
        tokio::select! {
            _ = shutdown.as_mut(), if !self.stopping => self.stopping = true,
            Some(step) = self.ops.join_next_with_id(), if !self.ops.is_empty() => {
                if !self.on_step_done(step) {
                    self.back_off(shutdown).await;
                }
            }
            _ = worker.store.wait_for_work(worker.idle_poll),
                if self.ops.is_empty() && !self.may_claim =>
            {
                self.may_claim = true;
            }
            Some(done) = self.running.next(), if !self.running.is_empty() => {
                self.finished.push(done);
                self.finished_since += 1;
                // Let the other handlers of the batch finish too, so their
                // outcomes are recorded in the same statement.
                tokio::task::yield_now().await;
                self.collect_finished();
            }
        }
    }

    /// Takes in what a database step came to: the deliveries it claimed join
    /// those ready to start; the outcomes of a step that failed go again with
    /// the next one (if this process dies first, their deliveries run again
    /// once their leases run out: nothing is lost). Returns `false` when the
    /// step failed on the database ([`RunLoop::back_off`] follows).
    fn on_step_done(&mut self, step: std::result::Result<(Id, DbStep), JoinError>) -> bool {
        let id = match &step {
            Ok((id, _)) => *id,
            Err(e) => e.id(),
        };
        let asked = self.asked_by.remove(&id).unwrap_or(0);
        match step.map(|(_, s)| s) {
            Ok(DbStep {
                result: Ok(claimed),
                ..
            }) => {
                self.pause = FIRST_PAUSE;
                if asked > 0 && claimed.is_empty() && self.worker.store.wake_count() == self.wakes {
                    self.may_claim = false;
                }
                if asked > 0 {
                    self.backlog = claimed.len() >= asked;
                    let waited = !self.ready.is_empty();
                    let starved = self.starved && self.finished_since > 0;
                    self.window.adapt(self.backlog, starved, waited);
                    (self.depth, self.batch) = self.window.shape();
                    self.starved = false;
                    self.finished_since = 0;
                }
                self.ready.extend(claimed);
                true
            }
            Ok(DbStep {
                result: Err(e),
                recording,
                outcomes,
            }) => {
                self.finished.extend(outcomes);
                tracing::warn!(
                    worker = %self.worker.id,
                    error = %e,
                    retry_in = ?self.pause,
                    "cannot {}; retrying after a pause",
                    if recording { "record outcomes" } else { "claim" }
                );
                false
            }
            Err(e) => {
                tracing::error!(worker = %self.worker.id, error = %e, "database step failed");
                true
            }
        }
    }

    /// After a failed database step: pauses (shutdown cuts the pause short),
    /// doubling the next pause up to [`LONGEST_PAUSE`].
    async fn back_off<S: Future<Output = ()>>(&mut self, mut shutdown: Pin<&mut S>) {
        tokio::select! {
            _ = shutdown.as_mut(), if !self.stopping => self.stopping = true,
            _ = tokio::time::sleep(self.pause) => {}
        }
        self.pause = (self.pause * 2).min(LONGEST_PAUSE);
    }
}
