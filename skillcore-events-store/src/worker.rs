//! Workers: claim deliveries, run handlers, record the outcome.

// Size: past 800 lines with the poison-delivery handling of issue 11; issue 12
// turns the run loop into a state type with named steps and splits it.

use crate::{Claimed, Result, Store, StoredEvent};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

/// What a handler returns when it fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Worth another attempt (a timeout, a dependency down).
    Retry(String),
    /// Will never succeed (the stored payload no longer decodes, say): straight to
    /// the dead letters, whatever attempts are left.
    Dead(String),
}

impl Failure {
    fn message(&self) -> &str {
        match self {
            Failure::Retry(m) | Failure::Dead(m) => m,
        }
    }
}

/// The future a [`DeliveryHandler`] returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), Failure>> + Send>>;

/// A handler the worker can run. Implemented for closures
/// `Fn(Arc<StoredEvent>, u32) -> impl Future<Output = Result<(), Failure>>`.
/// The event is shared with the other handlers it was claimed for.
pub trait DeliveryHandler: Send + Sync + 'static {
    /// Handles one delivery; `attempt` is 1 for the first try.
    fn handle(&self, event: Arc<StoredEvent>, attempt: u32) -> HandlerFuture;
}

impl<F, Fut> DeliveryHandler for F
where
    F: Fn(Arc<StoredEvent>, u32) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Failure>> + Send + 'static,
{
    fn handle(&self, event: Arc<StoredEvent>, attempt: u32) -> HandlerFuture {
        Box::pin(self(event, attempt))
    }
}

/// Retry and timing policy of one handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Attempts in all, the first included (default 3).
    pub max_attempts: u32,
    /// Delay before the second attempt; doubles each time (default 2 s).
    pub backoff: Duration,
    /// Longest delay between attempts (default 5 min).
    pub max_backoff: Duration,
    /// An attempt running longer fails (default 30 s).
    pub timeout: Duration,
    /// Events of one aggregate are handled one at a time, in order.
    pub ordered: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_attempts: 3,
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(300),
            timeout: Duration::from_secs(30),
            ordered: false,
        }
    }
}

impl Policy {
    /// The delay before attempt `attempt + 1`, with up to 20 % jitter so that
    /// failures of many deliveries do not retry in lockstep.
    pub fn delay_after(&self, attempt: u32, seed: u64) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        let base = self
            .backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        // xorshift64*: cheap, good enough to spread retries.
        let mut x = seed | 1;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11; // 53 bits
        let frac = r as f64 / (1u64 << 53) as f64; // [0, 1)
        base.mul_f64(1.0 - 0.2 * frac)
    }
}

#[derive(Clone)]
struct Entry {
    handler: Arc<dyn DeliveryHandler>,
    policy: Policy,
}

/// Runs handlers for the deliveries of one [`Store`].
#[derive(Clone)]
pub struct Worker {
    store: Store,
    id: String,
    handlers: Arc<HashMap<String, Entry>>,
    concurrency: usize,
    prefetch: Option<usize>,
    lease_margin: Duration,
    idle_poll: Duration,
    seed: Arc<AtomicU64>,
}

/// Builds a [`Worker`].
pub struct WorkerBuilder {
    store: Store,
    id: String,
    handlers: HashMap<String, Entry>,
    concurrency: usize,
    prefetch: Option<usize>,
    lease_margin: Duration,
    idle_poll: Duration,
}

impl WorkerBuilder {
    /// Adds a handler under its stable id.
    pub fn handler(
        mut self,
        id: impl Into<String>,
        policy: Policy,
        handler: impl DeliveryHandler,
    ) -> Self {
        self.handlers.insert(
            id.into(),
            Entry {
                handler: Arc::new(handler),
                policy,
            },
        );
        self
    }

    /// How many deliveries this worker runs at once (default 8).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// How many deliveries [`Worker::run`] claims ahead of free handler slots
    /// (default: as many as [`WorkerBuilder::concurrency`]). Claiming in bigger
    /// batches costs fewer database round trips per delivery; a delivery claimed
    /// ahead waits in this process (under its lease) for a slot. Leases are
    /// lengthened to cover that wait: a handler timeout per `concurrency`
    /// deliveries claimed ahead.
    pub fn prefetch(mut self, n: usize) -> Self {
        self.prefetch = Some(n);
        self
    }

    /// How long past a handler's timeout its lease lasts (default 10 s): a worker
    /// that dies loses its deliveries to others after timeout + margin.
    pub fn lease_margin(mut self, d: Duration) -> Self {
        self.lease_margin = d;
        self
    }

    /// How often an idle worker looks for work that no wake-up announced (other
    /// processes, retries coming due). Default 200 ms.
    pub fn idle_poll(mut self, d: Duration) -> Self {
        self.idle_poll = d;
        self
    }

    /// The worker.
    pub fn build(self) -> Worker {
        Worker {
            store: self.store,
            id: self.id,
            handlers: Arc::new(self.handlers),
            concurrency: self.concurrency,
            prefetch: self.prefetch,
            lease_margin: self.lease_margin,
            idle_poll: self.idle_poll,
            seed: Arc::new(AtomicU64::new(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64),
            )),
        }
    }
}

/// What one claimed delivery came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The handler succeeded.
    Done,
    /// Already handled before (a redelivery): not run again.
    Skipped,
    /// Failed; another attempt is scheduled.
    Retrying(String),
    /// Failed for good: a dead letter.
    Dead(String),
    /// The lease was lost before the outcome could be recorded.
    LeaseLost,
}

impl Worker {
    /// A worker with an id unique among the workers of the database (the process id
    /// and a counter are a good choice).
    pub fn builder(store: Store, id: impl Into<String>) -> WorkerBuilder {
        WorkerBuilder {
            store,
            id: id.into(),
            handlers: HashMap::new(),
            concurrency: 8,
            prefetch: None,
            lease_margin: Duration::from_secs(10),
            idle_poll: Duration::from_millis(200),
        }
    }

    fn prefetch(&self) -> usize {
        self.prefetch.unwrap_or(self.concurrency)
    }

    /// A lease covers the wait for a slot (a handler timeout for every
    /// `concurrency` deliveries claimed ahead), the run, and the margin.
    fn lease(&self, ahead: usize) -> Duration {
        let longest = self
            .handlers
            .values()
            .map(|e| e.policy.timeout)
            .max()
            .unwrap_or_default();
        let waits = ahead.div_ceil(self.concurrency) as u32;
        longest.saturating_mul(1 + waits) + self.lease_margin
    }

    fn handler_ids(&self) -> Vec<&str> {
        self.handlers.keys().map(String::as_str).collect()
    }

    /// A delivery that was in flight when a worker died and is not condemned
    /// for it: [`Worker::run`] runs it alone.
    fn suspect(&self, c: &Claimed) -> bool {
        c.expired_leases() > 0
            && !c.already_handled
            && c.unreadable().is_none()
            && self
                .handlers
                .get(&c.handler_id)
                .is_some_and(|e| !crate::poison::condemned(c, e.policy.max_attempts))
    }

    /// Claims and runs one batch of up to `concurrency` deliveries; returns their
    /// outcomes (empty when there was nothing to do). When the batch holds a
    /// delivery that was in flight when a worker died, that one runs alone and
    /// the rest are handed back (as in [`Worker::run`]).
    pub async fn run_once(&self) -> Result<Vec<Outcome>> {
        let mut claimed = self
            .store
            .claim_for(
                &self.id,
                &self.handler_ids(),
                self.concurrency as u32,
                self.lease(0),
            )
            .await?;
        if let Some(i) = claimed.iter().position(|c| self.suspect(c)) {
            let mut c = claimed.remove(i);
            let max = self
                .handlers
                .get(&c.handler_id)
                .map_or(1, |e| e.policy.max_attempts);
            let others: Vec<&Claimed> = claimed.iter().collect();
            if !self.store.run_alone(&mut c, max, &others).await? {
                return Ok(vec![Outcome::LeaseLost]);
            }
            claimed = vec![c];
        }
        let mut running = Running::default();
        let mut finished = Vec::new();
        for c in claimed {
            if let Some(done) = self.start(c, &mut running) {
                finished.push(done);
            }
        }
        while let Some(done) = running.next().await {
            finished.push(done);
        }
        self.record(finished).await
    }

    /// Runs batches until no delivery is ready now; returns how many were processed.
    pub async fn drain(&self) -> Result<usize> {
        let mut n = 0;
        loop {
            let done = self.run_once().await?;
            if done.is_empty() {
                return Ok(n);
            }
            n += done.len();
        }
    }

    /// Runs until `shutdown` completes, then waits for the deliveries in flight.
    /// Finished deliveries are recorded in batches (one transaction for all the
    /// successes at hand, which also claims the next batch). Under a backlog,
    /// with `concurrency + prefetch` of 64 or more, two such database steps are
    /// in flight at once, each claiming half, so the database and this process
    /// work at the same time. Database errors (a lost connection, the server
    /// restarting) are logged to stderr and retried after a pause: the worker
    /// carries on when the database is back, and deliveries whose outcome could
    /// not be recorded run again once their lease runs out.
    ///
    /// A delivery that was in flight when a worker died (its lease ran out)
    /// runs alone, nothing else held meanwhile, so that if it kills this worker
    /// too no other delivery dies with it; once such deaths have used up its
    /// attempts, one at least while alone, it goes to the dead letters without
    /// running (see [`Claimed::expired_leases`]).
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        self.store.listen();
        let mut running = Running::default();
        let mut finished: Vec<Executed> = Vec::new();
        // Claimed ahead of free slots, waiting to start.
        let mut ready: VecDeque<Claimed> = VecDeque::new();
        let prefetch = self.prefetch();
        let in_hand = self.concurrency + prefetch;
        let lease = self.lease(prefetch);
        let mut pause = Duration::from_millis(50);
        let mut stopping = false;
        // The database round trips in flight (record outcomes, claim more):
        // each runs in a task of its own while this loop keeps starting
        // handlers. When half of what this worker may hold is still a sizeable
        // batch, and the last claim came back full (there is a backlog), two
        // are in flight, each claiming at most that half, so the database works
        // on the next step while this side reads and starts the previous one's
        // deliveries (on SQLite the two queue on the one writer; on PostgreSQL
        // they run side by side on two connections). Below that, a step's
        // fixed cost outweighs the overlap: one step, whole batches. Without a
        // backlog a second step would mostly claim nothing, and hold up the
        // next publish and claim.
        let (depth, batch) = if in_hand / 2 >= PIPELINE_MIN_BATCH {
            (2, in_hand.div_ceil(2))
        } else {
            (1, in_hand)
        };
        let mut ops: tokio::task::JoinSet<DbStep> = tokio::task::JoinSet::new();
        // Deliveries asked for by each step in flight (kept here rather than in
        // the step, so a step that panicked still gives its share back).
        let mut asked_by: HashMap<tokio::task::Id, usize> = HashMap::new();
        // After a claim that found nothing, the next waits for a wake-up or the
        // idle poll instead of asking again at once.
        let mut may_claim = true;
        let mut wakes = 0;
        // The last claim got all it asked for.
        let mut backlog = false;
        loop {
            running.collect_ready(&mut finished);
            if stopping && ops.is_empty() {
                if !finished.is_empty() {
                    if let Err(e) = self.record(std::mem::take(&mut finished)).await {
                        eprintln!(
                            "skillcore-events worker {}: cannot record outcomes: {e}",
                            self.id
                        );
                    }
                }
                if !ready.is_empty() {
                    // Not started: hand them back now rather than when their
                    // leases run out.
                    let back: Vec<Claimed> = ready.drain(..).collect();
                    if let Err(e) = self.store.release(&back.iter().collect::<Vec<_>>()).await {
                        eprintln!(
                            "skillcore-events worker {}: cannot release deliveries: {e}",
                            self.id
                        );
                    }
                }
                if running.is_empty() {
                    return;
                }
                if let Some(done) = running.next().await {
                    finished.push(done);
                }
                continue;
            }
            if !stopping {
                while running.len() < self.concurrency {
                    let Some(front) = ready.front() else { break };
                    if self.suspect(front) {
                        // It was in flight when a worker died: it runs alone,
                        // so that if it kills this worker too, no other
                        // delivery is caught with it (and charged an attempt).
                        // It waits for what runs and what is being recorded;
                        // what else is held goes back to the queue.
                        if !running.is_empty() || !ops.is_empty() || !finished.is_empty() {
                            break;
                        }
                        let Some(mut c) = ready.pop_front() else {
                            break;
                        };
                        let others: Vec<Claimed> = ready.drain(..).collect();
                        let max = self
                            .handlers
                            .get(&c.handler_id)
                            .map_or(1, |e| e.policy.max_attempts);
                        let others: Vec<&Claimed> = others.iter().collect();
                        match self.store.run_alone(&mut c, max, &others).await {
                            Ok(true) => {
                                if let Some(done) = self.start(c, &mut running) {
                                    finished.push(done);
                                }
                            }
                            // Another worker has it now.
                            Ok(false) => {}
                            // Not marked: if it kills this worker, the death
                            // is counted as one among others. Run it anyway.
                            Err(e) => {
                                eprintln!(
                                    "skillcore-events worker {}: cannot prepare a delivery to run alone: {e}",
                                    self.id
                                );
                                if let Some(done) = self.start(c, &mut running) {
                                    finished.push(done);
                                }
                            }
                        }
                        break;
                    }
                    let Some(c) = ready.pop_front() else { break };
                    if let Some(done) = self.start(c, &mut running) {
                        finished.push(done);
                    }
                }
            }
            // While a suspect waits for its turn or runs, nothing more is claimed.
            let alone = ready.front().is_some_and(|c| self.suspect(c))
                || running.claims.values().any(|(c, _)| self.suspect(c));
            let held = running.len() + ready.len() + asked_by.values().sum::<usize>();
            let want = in_hand.saturating_sub(held).min(batch);
            let room = ops.is_empty() || (ops.len() < depth && backlog);
            if room && !stopping {
                // Claim in batches: with most of the deliveries in hand still
                // running, waiting or being claimed, wait for more to finish
                // rather than paying a round trip for a few. Outcomes at hand go
                // in the same round trip as the claim.
                let claim = may_claim && !alone && want > 0 && (held == 0 || want * 2 >= batch);
                // A second step only claims; outcomes alone wait for the first.
                if claim || (!finished.is_empty() && ops.is_empty()) {
                    let worker = self.clone();
                    let outcomes = std::mem::take(&mut finished);
                    let want = if claim { want } else { 0 };
                    wakes = self.store.wake_count();
                    let step = ops.spawn(async move {
                        let recording = !outcomes.is_empty();
                        let result = worker.record_and_claim(&outcomes, want, lease).await;
                        DbStep {
                            recording,
                            result: result.map(|(_, claimed)| claimed),
                            outcomes,
                        }
                    });
                    asked_by.insert(step.id(), want);
                    continue;
                }
            }
            tokio::select! {
                _ = &mut shutdown, if !stopping => stopping = true,
                Some(step) = ops.join_next_with_id(), if !ops.is_empty() => {
                    let id = match &step {
                        Ok((id, _)) => *id,
                        Err(e) => e.id(),
                    };
                    let asked = asked_by.remove(&id).unwrap_or(0);
                    match step.map(|(_, s)| s) {
                        Ok(DbStep { result: Ok(claimed), .. }) => {
                            pause = Duration::from_millis(50);
                            if asked > 0 && claimed.is_empty() && self.store.wake_count() == wakes {
                                may_claim = false;
                            }
                            if asked > 0 {
                                backlog = claimed.len() >= asked;
                            }
                            ready.extend(claimed);
                        }
                        Ok(DbStep { result: Err(e), recording, outcomes, .. }) => {
                            // The outcomes go again with the next step; if this
                            // process dies first, their deliveries run again once
                            // their leases run out. Nothing is lost.
                            finished.extend(outcomes);
                            eprintln!(
                                "skillcore-events worker {}: cannot {}: {e}; retrying in {pause:?}",
                                self.id,
                                if recording { "record outcomes" } else { "claim" }
                            );
                            tokio::select! {
                                _ = &mut shutdown, if !stopping => stopping = true,
                                _ = tokio::time::sleep(pause) => {}
                            }
                            pause = (pause * 2).min(Duration::from_secs(5));
                        }
                        Err(e) => eprintln!(
                            "skillcore-events worker {}: database step failed: {e}",
                            self.id
                        ),
                    }
                }
                _ = self.store.wait_for_work(self.idle_poll), if ops.is_empty() && !may_claim => {
                    may_claim = true;
                }
                Some(done) = running.next(), if !running.is_empty() => {
                    finished.push(done);
                    // Let the other handlers of the batch finish too, so their
                    // outcomes are recorded in the same statement.
                    tokio::task::yield_now().await;
                    running.collect_ready(&mut finished);
                }
            }
        }
    }

    /// Starts a claimed delivery's handler in a task of its own (which isolates
    /// panics), or settles it at once (redelivery of a handled event, unknown
    /// handler).
    fn start(&self, c: Claimed, running: &mut Running) -> Option<Executed> {
        let Some(entry) = self.handlers.get(&c.handler_id).cloned() else {
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
        let began = std::time::Instant::now();
        let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut fut = entry.handler.handle(c.event.clone(), c.attempt);
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
                        panic_message(p)
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

    /// Records what a batch of deliveries came to: every success in one
    /// statement, each failure as a retry or a dead letter.
    async fn record(&self, finished: Vec<Executed>) -> Result<Vec<Outcome>> {
        Ok(self.record_and_claim(&finished, 0, Duration::ZERO).await?.0)
    }

    /// [`Worker::record`], and claims up to `want` more deliveries in the same
    /// statement as the successes.
    async fn record_and_claim(
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
        let completed: std::collections::HashSet<i64> = completed.into_iter().collect();
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

/// The smallest claim worth a database step of its own: [`Worker::run`] keeps
/// two steps in flight only when each can claim at least this many.
const PIPELINE_MIN_BATCH: usize = 32;

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

/// A delivery whose handler has finished (or was never run).
struct Executed {
    claimed: Claimed,
    result: std::result::Result<(), Failure>,
    policy: Policy,
    skipped: bool,
    /// Sent to the dead letters without running the handler: the attempts were
    /// used up by workers that died with it in flight.
    unrun: bool,
}

/// Handler tasks in flight, with the delivery each one runs.
#[derive(Default)]
struct Running {
    set: JoinSet<std::result::Result<(), Failure>>,
    claims: HashMap<tokio::task::Id, (Claimed, Policy)>,
}

impl Running {
    fn len(&self) -> usize {
        self.set.len()
    }

    fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    fn settle(
        &mut self,
        joined: std::result::Result<
            (tokio::task::Id, std::result::Result<(), Failure>),
            tokio::task::JoinError,
        >,
    ) -> Option<Executed> {
        let (id, result) = match joined {
            Ok((id, r)) => (id, r),
            Err(e) => {
                let id = e.id();
                let msg = if e.is_panic() {
                    format!("handler panicked: {}", panic_message(e.into_panic()))
                } else {
                    format!("handler task failed: {e}")
                };
                (id, Err(Failure::Retry(msg)))
            }
        };
        let (claimed, policy) = self.claims.remove(&id)?;
        Some(Executed {
            claimed,
            result,
            policy,
            skipped: false,
            unrun: false,
        })
    }

    async fn next(&mut self) -> Option<Executed> {
        loop {
            let joined = self.set.join_next_with_id().await?;
            if let Some(done) = self.settle(joined) {
                return Some(done);
            }
        }
    }

    fn collect_ready(&mut self, into: &mut Vec<Executed>) {
        while let Some(joined) = self.set.try_join_next_with_id() {
            if let Some(done) = self.settle(joined) {
                into.push(done);
            }
        }
    }
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".into()
    }
}

/// A success that came after the attempt's timeout is a timeout: a handler
/// that blocked its thread could not be cut off by the timer (issue 11).
fn late(
    result: Result<(), Failure>,
    began: std::time::Instant,
    timeout: Duration,
) -> Result<(), Failure> {
    let took = began.elapsed();
    match result {
        Ok(()) if took > timeout => Err(Failure::Retry(format!(
            "timed out after {timeout:?}: the attempt returned after {took:?} (a handler must not \
             block its thread; run blocking work with tokio::task::spawn_blocking)"
        ))),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let p = Policy {
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(10),
            ..Policy::default()
        };
        for seed in [1u64, 42, 7_000_000_007, u64::MAX] {
            let d1 = p.delay_after(1, seed);
            let d2 = p.delay_after(2, seed);
            let d5 = p.delay_after(5, seed);
            assert!(
                d1 <= Duration::from_secs(2) && d1 >= Duration::from_millis(1600),
                "{d1:?}"
            );
            assert!(
                d2 <= Duration::from_secs(4) && d2 >= Duration::from_millis(3200),
                "{d2:?}"
            );
            assert!(
                d5 <= Duration::from_secs(10) && d5 >= Duration::from_secs(8),
                "{d5:?}"
            );
        }
        let spread: std::collections::HashSet<_> =
            (0..50u64).map(|s| p.delay_after(1, s * 7919)).collect();
        assert!(spread.len() > 10, "jitter must vary: {}", spread.len());
    }
}
