//! Workers: claim deliveries, run the bus's handlers on them, record the
//! outcome.
//!
//! The handlers are the bus's own ([`Dispatcher`] subscribers, with the
//! policy the bus resolved for them): one handler shape for every backend.
//!
//! - `handler`: what an attempt came to (`Failure`);
//! - `policy`: what the worker takes of a subscriber's policy;
//! - this module: the [`Worker`], its builder, [`Worker::run_once`],
//!   [`Worker::drain`] and [`Worker::run`];
//! - `run`: the state and the named steps of [`Worker::run`]'s loop;
//! - `exec`: starting one claimed delivery (first poll in place, task, timeout);
//! - `record`: recording outcomes (and claiming more in the same statement);
//! - `running`: the handler tasks in flight;
//! - `lease`: how long a lease is, its renewal while the worker holds
//!   deliveries, and what a worker does about leases when it starts.

mod exec;
mod handler;
mod lease;
mod policy;
mod record;
mod run;
mod running;
mod window;

pub(crate) use handler::Failure;
pub(crate) use policy::Policy;

use crate::{Claimed, Result, Store};
pub(crate) use lease::Lease;
use run::RunLoop;
use running::Running;
use skillcore_events::backend::Dispatcher;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What the worker holds per handler id: the policy of its first
/// subscription (a durable store records deliveries by handler id).
#[derive(Clone)]
struct Entry {
    /// The handler id (as the bus holds it: no copy per delivery).
    id: &'static str,
    policy: Policy,
}

/// Runs the deliveries of a bus's handlers from one [`Store`]: claims them
/// with a lease, runs each handler through the bus's [`Dispatcher`] (its
/// policy, timeout, logs and spans), and records the outcome. A bus built
/// with [`Durable`](crate::Durable) runs one by itself; build one to run
/// deliveries in a process or task of your own (with
/// `Durable::run_workers(false)` on the publishing side), or to step them
/// one batch at a time in a test ([`Worker::run_once`]).
///
/// ```no_run
/// use skillcore_events::EventBus;
/// use skillcore_events_store::{Durable, Store, Worker};
/// # async fn f(store: Store) -> Result<(), Box<dyn std::error::Error>> {
/// let bus = EventBus::builder()
///     .register_all()
///     .backend(Durable::store(store.clone()).run_workers(false))
///     .build()?;
/// let worker = Worker::builder(store, bus.dispatcher().clone(), "worker-1")
///     .concurrency(16)
///     .build();
/// worker.drain().await?; // every delivery ready now
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Worker {
    store: Store,
    id: String,
    dispatcher: Arc<Dispatcher>,
    handlers: Arc<HashMap<&'static str, Entry>>,
    /// Handlers running now (read by a durable bus's `shutdown`).
    running_now: Arc<AtomicUsize>,
    /// Deliveries [`Worker::run`] holds now (running, waiting for a slot,
    /// outcomes not recorded, claims in flight): its leases are renewed
    /// while there are any.
    held: Arc<AtomicUsize>,
    concurrency: usize,
    prefetch: Option<usize>,
    lease: Lease,
    idle_poll: Duration,
    seed: Arc<AtomicU64>,
}

/// Builds a [`Worker`].
pub struct WorkerBuilder {
    store: Store,
    id: String,
    dispatcher: Arc<Dispatcher>,
    running_now: Arc<AtomicUsize>,
    concurrency: usize,
    prefetch: Option<usize>,
    lease: Lease,
    idle_poll: Duration,
}

impl WorkerBuilder {
    /// How many deliveries this worker runs at once (default 32, as a
    /// durable bus's).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// How many deliveries [`Worker::run`] claims ahead of free handler slots,
    /// fixed. Claiming in bigger batches costs fewer database round trips per
    /// delivery; a delivery claimed ahead waits in this process (under its
    /// lease, renewed) for a slot. With
    /// [`WorkerBuilder::lease_margin`], leases are lengthened to cover that
    /// wait: a handler timeout per `concurrency` deliveries claimed ahead.
    ///
    /// Unset (the default), the worker adapts: it starts at as many as
    /// [`WorkerBuilder::concurrency`] and, while its handlers finish faster
    /// than the database answers a claim, doubles what it claims ahead, up to
    /// 2,048 deliveries ahead of its slots (or as many as its concurrency if
    /// that is more);
    /// while claimed deliveries wait for a slot it halves it again. Set it to
    /// hold a worker to smaller claims, for example so that several workers
    /// share a short queue of slow handlers evenly. With
    /// [`WorkerBuilder::lease_margin`] it does not adapt: it stays at as many
    /// as the concurrency, which that rule's leases cover.
    pub fn prefetch(mut self, n: usize) -> Self {
        self.prefetch = Some(n);
        self
    }

    /// How long a lease lasts after its last renewal (default 10 s, at
    /// least 30 ms). The worker renews the leases it holds three times per
    /// lease length while their handlers run (one statement for all of
    /// them), so a lease can be much shorter than a handler's timeout: a
    /// worker that dies loses its deliveries to others within `lease`.
    pub fn lease(mut self, d: Duration) -> Self {
        self.lease = Lease::Renewed(d.max(lease::SHORTEST));
        self
    }

    /// The rule before leases were renewed: a lease lasts the handlers'
    /// longest timeout (once more per `concurrency` deliveries claimed
    /// ahead) plus `d`. Still renewed while held; prefer
    /// [`WorkerBuilder::lease`], which replaces this setting.
    pub fn lease_margin(mut self, d: Duration) -> Self {
        self.lease = Lease::PastTimeout(d);
        self
    }

    /// How often an idle worker looks for work that no wake-up announced (other
    /// processes, retries coming due). Default 200 ms.
    pub fn idle_poll(mut self, d: Duration) -> Self {
        self.idle_poll = d;
        self
    }

    /// Counts the handlers running into `counter` (a durable bus reports
    /// them as abandoned when its shutdown deadline passes).
    pub(crate) fn count_running(mut self, counter: Arc<AtomicUsize>) -> Self {
        self.running_now = counter;
        self
    }

    /// The worker, for every handler of the dispatcher.
    pub fn build(self) -> Worker {
        let mut handlers = HashMap::new();
        for sub in self.dispatcher.subscribers() {
            handlers.entry(sub.id).or_insert_with(|| Entry {
                id: sub.id,
                policy: Policy::of(sub),
            });
        }
        Worker {
            store: self.store,
            id: self.id,
            dispatcher: self.dispatcher,
            handlers: Arc::new(handlers),
            running_now: self.running_now,
            held: Arc::default(),
            concurrency: self.concurrency,
            prefetch: self.prefetch,
            lease: self.lease,
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
    /// A worker for the handlers of `dispatcher` (`bus.dispatcher()`), with
    /// an id unique among the workers of the database (the process id and a
    /// counter are a good choice).
    pub fn builder(
        store: Store,
        dispatcher: Arc<Dispatcher>,
        id: impl Into<String>,
    ) -> WorkerBuilder {
        WorkerBuilder {
            store,
            id: id.into(),
            dispatcher,
            running_now: Arc::default(),
            concurrency: crate::durable::DEFAULT_CONCURRENCY,
            prefetch: None,
            lease: Lease::default(),
            idle_poll: Duration::from_millis(200),
        }
    }

    /// The lease of a claim of `ahead` deliveries beyond the free slots: the
    /// set length, or (with [`WorkerBuilder::lease_margin`]) one covering the
    /// wait for a slot (a handler timeout for every `concurrency` deliveries
    /// claimed ahead), the run, and the margin.
    fn lease(&self, ahead: usize) -> Duration {
        match self.lease {
            Lease::Renewed(d) => d,
            Lease::PastTimeout(margin) => {
                let longest = self
                    .handlers
                    .values()
                    .map(|e| e.policy.timeout)
                    .max()
                    .unwrap_or_default();
                let waits = ahead.div_ceil(self.concurrency) as u32;
                longest.saturating_mul(1 + waits) + margin
            }
        }
    }

    fn handler_ids(&self) -> Vec<&str> {
        self.handlers.keys().copied().collect()
    }

    /// A delivery that was in flight when a worker died and is not condemned
    /// for it: [`Worker::run`] runs it alone.
    fn suspect(&self, c: &Claimed) -> bool {
        c.expired_leases() > 0
            && !c.already_handled
            && c.unreadable().is_none()
            && self
                .handlers
                .get(c.handler_id.as_str())
                .is_some_and(|e| !crate::poison::condemned(c, e.policy.max_attempts))
    }

    /// Handlers of [`Worker::run`] running now.
    pub fn running(&self) -> usize {
        self.running_now.load(Ordering::Relaxed)
    }

    /// Claims and runs one batch of up to `concurrency` deliveries; returns their
    /// outcomes (empty when there was nothing to do). When the batch holds a
    /// delivery that was in flight when a worker died, that one runs alone and
    /// the rest are handed back (as in [`Worker::run`]).
    pub async fn run_once(&self) -> Result<Vec<Outcome>> {
        // Renewed until this batch is recorded.
        let _heartbeat = self.heartbeat(self.lease(0), None);
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
                .get(c.handler_id.as_str())
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
    /// restarting) are logged (`tracing` warnings) and retried after a pause: the worker
    /// carries on when the database is back, and deliveries whose outcome could
    /// not be recorded run again once their lease runs out.
    ///
    /// While it holds deliveries it renews their leases (one statement for
    /// all of them, three times per [`WorkerBuilder::lease`]), so a handler may
    /// run far longer than the lease. When it starts, it takes back the
    /// deliveries held under its own id (a restart: see
    /// [`Store::expire_own_leases`]) and logs those of its handlers held by
    /// workers that stopped renewing them, with when they free up.
    ///
    /// A delivery that was in flight when a worker died (its lease ran out)
    /// runs alone, nothing else held meanwhile, so that if it kills this worker
    /// too no other delivery dies with it; once such deaths have used up its
    /// attempts, one at least while alone, it goes to the dead letters without
    /// running (see [`Claimed::expired_leases`]).
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        self.store.listen();
        self.start_up().await;
        let mut run = RunLoop::new(self);
        let _heartbeat = self.heartbeat(run.lease(), Some(Arc::clone(&self.held)));
        // One turn: take in the handlers that finished; once shutdown is asked
        // and no database step is in flight, wind down instead; else start what
        // is ready, send a database step if there is room for one (and turn
        // again at once), or wait for the next thing to happen.
        loop {
            run.collect_finished();
            if run.winding_down() {
                if run.wind_down().await {
                    return;
                }
                continue;
            }
            run.start_ready().await;
            self.running_now.store(run.running_len(), Ordering::Relaxed);
            self.held.store(run.held_len(), Ordering::Relaxed);
            if run.claim_or_record() {
                continue;
            }
            run.wait(shutdown.as_mut()).await;
        }
    }
}
