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
use super::Worker;
use crate::{Claimed, Result};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::task::{Id, JoinError, JoinSet};

/// The smallest claim worth a database step of its own: [`Worker::run`] keeps
/// two steps in flight only when each can claim at least this many.
const PIPELINE_MIN_BATCH: usize = 32;

/// The most deliveries a worker without a set prefetch claims ahead of its
/// handler slots: see [`Window`].
pub(super) const ADAPTIVE_MAX_AHEAD: usize = 2048;

/// How many deliveries [`Worker::run`] holds at most, and how it claims them.
///
/// With a prefetch set ([`WorkerBuilder::prefetch`](super::WorkerBuilder::prefetch))
/// the worker holds `concurrency + prefetch`. Without one it starts at
/// `2 x concurrency` and adapts to its handlers: when a claim came back full
/// and, while it was in flight, a handler slot stood free with nothing to
/// start (the handlers are faster than the database step), the window
/// doubles, up to `concurrency +` [`ADAPTIVE_MAX_AHEAD`]; when deliveries claimed ahead
/// waited for a slot the whole time a step was in flight (the handlers are
/// the bottleneck), it halves, never below where it started. Fast handlers
/// thus get big claims (fewer round trips per delivery), and slow ones do not
/// hoard deliveries that other workers could run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Window {
    /// Held now.
    pub(super) in_hand: usize,
    /// Never below this...
    floor: usize,
    /// ... nor above this (equal when the prefetch was set).
    cap: usize,
}

impl Window {
    /// The window of a worker of `concurrency` slots and, if set, `prefetch`.
    pub(super) fn new(concurrency: usize, prefetch: Option<usize>) -> Window {
        match prefetch {
            Some(p) => {
                let n = concurrency.saturating_add(p);
                Window {
                    in_hand: n,
                    floor: n,
                    cap: n,
                }
            }
            None => {
                let floor = concurrency.saturating_mul(2);
                Window {
                    in_hand: floor,
                    floor,
                    cap: floor.max(concurrency.saturating_add(ADAPTIVE_MAX_AHEAD)),
                }
            }
        }
    }

    /// Back to where it started: after a worker died, each delivery that
    /// runs alone hands back what was claimed with it, so big claims would
    /// only be claimed again and again.
    pub(super) fn reset(&mut self) {
        self.in_hand = self.floor;
    }

    /// The most it may hold: what leases must cover.
    pub(super) fn cap(self) -> usize {
        self.cap
    }

    /// How many database steps may be in flight at once, and the most each
    /// claims. When half of what the worker may hold is still a sizeable
    /// batch, two steps are in flight under a backlog, each claiming at most
    /// that half, so the database works on the next step while this side
    /// reads and starts the previous one's deliveries (on SQLite the two queue
    /// on the one writer; on PostgreSQL they run side by side on two
    /// connections). Below that, a step's fixed cost outweighs the overlap:
    /// one step, whole batches.
    pub(super) fn shape(self) -> (usize, usize) {
        if self.in_hand / 2 >= PIPELINE_MIN_BATCH {
            (2, self.in_hand.div_ceil(2))
        } else {
            (1, self.in_hand)
        }
    }

    /// After a step that claimed: `full` when it got all it asked for,
    /// `starved` when, since the last step came back, handlers finished and a
    /// slot then stood free with nothing to start while a step was in flight,
    /// `waited` when deliveries claimed earlier still wait for a slot (and
    /// none stood free for lack of work).
    pub(super) fn adapt(&mut self, full: bool, starved: bool, waited: bool) {
        if full && starved {
            self.in_hand = self.in_hand.saturating_mul(2).min(self.cap);
        } else if waited && !starved {
            self.in_hand = (self.in_hand / 2).max(self.floor);
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::{Window, ADAPTIVE_MAX_AHEAD};

    #[test]
    fn a_set_prefetch_holds_the_window_where_it_is() {
        let mut w = Window::new(8, Some(4));
        assert_eq!(w.in_hand, 12);
        w.adapt(true, true, false);
        assert_eq!(w.in_hand, 12);
        w.adapt(true, false, true);
        assert_eq!(w.in_hand, 12);
        assert_eq!(w.cap(), 12);
        assert_eq!(w.shape(), (1, 12), "below two batches of 32: one step");
    }

    #[test]
    fn the_window_doubles_while_handlers_starve_up_to_the_cap() {
        let mut w = Window::new(12, None);
        assert_eq!((w.in_hand, w.shape()), (24, (1, 24)));
        let mut seen = vec![w.in_hand];
        for _ in 0..10 {
            w.adapt(true, true, false);
            seen.push(w.in_hand);
        }
        assert_eq!(
            seen,
            [24, 48, 96, 192, 384, 768, 1536, 2060, 2060, 2060, 2060]
        );
        assert_eq!(w.shape(), (2, 1030));
        assert_eq!(w.cap(), 12 + ADAPTIVE_MAX_AHEAD);
    }

    #[test]
    fn the_window_does_not_grow_on_a_short_claim_or_without_starving() {
        let mut w = Window::new(12, None);
        w.adapt(false, true, false);
        assert_eq!(w.in_hand, 24, "a claim that came back short: no backlog");
        w.adapt(true, false, false);
        assert_eq!(w.in_hand, 24, "the handlers never waited for work");
    }

    #[test]
    fn the_window_halves_while_claimed_deliveries_wait_never_below_its_floor() {
        let mut w = Window::new(12, None);
        for _ in 0..7 {
            w.adapt(true, true, false);
        }
        assert_eq!(w.in_hand, 2060);
        w.adapt(true, false, true);
        assert_eq!(w.in_hand, 1030);
        for _ in 0..10 {
            w.adapt(true, false, true);
        }
        assert_eq!(w.in_hand, 24);
        w.adapt(true, true, true);
        assert_eq!(w.in_hand, 48, "a free slot wins over leftovers");
    }

    #[test]
    fn a_reset_brings_the_window_back_to_its_floor() {
        let mut w = Window::new(4, None);
        w.adapt(true, true, false);
        w.adapt(true, true, false);
        assert_eq!(w.in_hand, 32);
        w.reset();
        assert_eq!((w.in_hand, w.shape()), (8, (1, 8)));
        let mut fixed = Window::new(4, Some(100));
        fixed.reset();
        assert_eq!(fixed.in_hand, 104);
    }

    #[test]
    fn a_concurrency_above_the_most_ahead_keeps_twice_its_slots() {
        let mut w = Window::new(4000, None);
        assert_eq!((w.in_hand, w.cap()), (8000, 8000));
        w.adapt(true, true, false);
        assert_eq!(w.in_hand, 8000);
        assert_eq!(w.shape(), (2, 4000));
        let mut w = Window::new(1000, None);
        w.adapt(true, true, false);
        assert_eq!((w.in_hand, w.cap()), (3048, 3048));
    }
}
