//! [`TestBus`]: an [`EventBus`] that records what was published and how each
//! handler ended, with assertions whose failure says what happened instead.

use super::recorder::{HandlerRun, Outcome, Recorder};
use crate::backend::DynEnvelope;
use crate::{
    BuildError, CatalogReport, DeadLetter, Envelope, Event, EventBus, EventBusBuilder, Scope,
};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

/// How long [`TestBus::settle`] waits, on Tokio's clock, before it fails the
/// test: with paused time (`#[tokio::test(start_paused = true)]`) this costs
/// no real time, and a handler that never finishes fails the test instead of
/// hanging it.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(3600);

/// An [`EventBus`] for tests: built from the same builder (the same
/// handlers, states, policies and backend), it records every published event
/// and every handler's run on every event, and offers assertions that print
/// what was published or how the handlers ended when they fail (payloads
/// through their redacting `Debug`: pii fields show as `[redacted]`).
///
/// It dereferences to the [`EventBus`], so `publish`, `dead_letters`,
/// `retry_dead_letter` and the rest are the bus's own.
///
/// ```
/// # mod events { skillcore_events::catalog!("tests/fixtures/mini.yaml"); }
/// use events::gradebook::GradePosted;
/// use skillcore_events::testing::TestBus;
/// use skillcore_events::{Envelope, EventBus, HandlerError, Metadata};
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// let bus = TestBus::build(
///     EventBus::builder()
///         .subscribe::<GradePosted, _, _>("audit.log", |e, cx| async move {
///             // Fails once, then succeeds: the retry waits 2 s of paused time.
///             if cx.attempt == 1 { return Err(HandlerError::msg("busy")); }
///             Ok(())
///         }),
/// )
/// .unwrap();
/// let grade = GradePosted { score: 42.0, ..GradePosted::example() };
/// bus.publish(Envelope::new(grade, Metadata::new("dst-1", "sch-1"))).await.unwrap();
/// bus.settle().await;
/// bus.assert_published::<GradePosted>(|g| g.payload.score == 42.0);
/// let run = bus.assert_handled("audit.log");
/// assert_eq!(run.failures(), 1);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct TestBus {
    bus: EventBus,
    recorder: Arc<Recorder>,
}

impl std::ops::Deref for TestBus {
    type Target = EventBus;

    fn deref(&self) -> &EventBus {
        &self.bus
    }
}

impl TestBus {
    /// Builds the bus `builder` describes, recording. Backoff jitter is
    /// turned off, so retry delays are exactly the policy's.
    pub fn build(builder: EventBusBuilder) -> Result<TestBus, BuildError> {
        let recorder = Arc::new(Recorder::default());
        let bus = builder
            .jitter(0.0)
            .observer(Arc::clone(&recorder) as _)
            .build()?;
        Ok(TestBus { bus, recorder })
    }

    /// The bus itself (also reachable through `Deref`).
    pub fn bus(&self) -> &EventBus {
        &self.bus
    }

    /// Waits until nothing is in flight: every handler of every published
    /// event has succeeded or been dead-lettered, retries included. Panics
    /// after [`SETTLE_LIMIT`] of Tokio time, naming the runs still going.
    ///
    /// Retries wait out their backoff on Tokio's clock: under
    /// `#[tokio::test(start_paused = true)]` (the `testing` feature turns on
    /// Tokio's `test-util`) the runtime skips ahead whenever it has nothing
    /// else to do, so a 2 s backoff takes no real time and every delay is
    /// still observable through `tokio::time::Instant`.
    #[track_caller]
    pub fn settle(&self) -> impl std::future::Future<Output = ()> + '_ {
        self.settle_within(SETTLE_LIMIT)
    }

    /// [`TestBus::settle`] with another limit.
    #[track_caller]
    pub fn settle_within(&self, limit: Duration) -> impl std::future::Future<Output = ()> + '_ {
        let caller = std::panic::Location::caller();
        async move {
            if tokio::time::timeout(limit, self.bus.idle()).await.is_err() {
                let pending: Vec<String> = self
                    .runs()
                    .iter()
                    .filter(|r| !r.outcome.is_final())
                    .map(|r| format!("\n  {r}"))
                    .collect();
                panic!(
                    "the bus did not settle within {limit:?} (at {caller}); still in flight:{}",
                    if pending.is_empty() {
                        "\n  (no handler attempt is running: a delivery waits elsewhere)".into()
                    } else {
                        pending.concat()
                    }
                );
            }
        }
    }

    /// Every published envelope, in publish order, type-erased (their
    /// `Debug` redacts pii).
    pub fn published_all(&self) -> Vec<DynEnvelope> {
        self.recorder.published()
    }

    /// The published envelopes of event `E`, in publish order, typed.
    /// Envelopes published as raw JSON are decoded; one that does not decode
    /// is left out.
    pub fn published<E: Event + Clone>(&self) -> Vec<Envelope<E>> {
        self.recorder
            .published()
            .iter()
            .filter(|e| e.event_type() == E::NAME)
            .filter_map(|e| e.typed::<E>().ok())
            .map(|e| Envelope::clone(&e))
            .collect()
    }

    /// The payloads of the published events of `E`, in publish order.
    pub fn payloads<E: Event + Clone>(&self) -> Vec<E> {
        self.published::<E>()
            .into_iter()
            .map(|e| e.payload)
            .collect()
    }

    /// Every handler run so far (one per handler per event, and one more per
    /// retried dead letter), in the order they started.
    pub fn runs(&self) -> Vec<HandlerRun> {
        self.recorder.runs()
    }

    /// The runs of one handler, in the order they started.
    pub fn runs_of(&self, handler: &str) -> Vec<HandlerRun> {
        let mut runs = self.runs();
        runs.retain(|r| r.handler == handler);
        runs
    }

    /// How the last run of `handler` stands (`None`: it never ran).
    pub fn outcome(&self, handler: &str) -> Option<Outcome> {
        self.runs_of(handler).last().map(|r| r.outcome)
    }

    /// The dead letters of every district.
    pub async fn dead_letters_all(&self) -> Vec<DeadLetter> {
        self.bus
            .dead_letters(&Scope::AllDistricts)
            .await
            .unwrap_or_else(|e| panic!("the bus could not list its dead letters: {e}"))
    }

    /// Asserts that some published `E` satisfies `matches` and returns the
    /// first that does. On failure the message lists every published `E`
    /// (pii redacted) and how many events of other types were published.
    #[track_caller]
    pub fn assert_published<E>(&self, matches: impl Fn(&Envelope<E>) -> bool) -> Envelope<E>
    where
        E: Event + Clone + std::fmt::Debug,
    {
        let published = self.published::<E>();
        if let Some(found) = published.iter().find(|e| matches(e)) {
            return found.clone();
        }
        let mut msg = if published.is_empty() {
            format!("no `{}` event was published", E::NAME)
        } else {
            format!(
                "none of the {} published `{}` events matches; published:",
                published.len(),
                E::NAME
            )
        };
        for (i, e) in published.iter().enumerate() {
            let _ = write!(msg, "\n  [{i}] {:?}", e.payload);
        }
        msg.push_str(&self.others(E::NAME));
        panic!("{msg}");
    }

    /// Asserts that no `E` was published; the message lists those that were.
    #[track_caller]
    pub fn assert_not_published<E>(&self)
    where
        E: Event + Clone + std::fmt::Debug,
    {
        let published = self.published::<E>();
        if published.is_empty() {
            return;
        }
        let mut msg = format!(
            "expected no `{}` event, but {} were published:",
            E::NAME,
            published.len()
        );
        for (i, e) in published.iter().enumerate() {
            let _ = write!(msg, "\n  [{i}] {:?}", e.payload);
        }
        panic!("{msg}");
    }

    /// Asserts that `handler` ran and that its every run ended handled;
    /// returns the last run. On failure the message shows every run of the
    /// handler (attempts, errors) or, when it never ran, the handlers that did.
    #[track_caller]
    pub fn assert_handled(&self, handler: &str) -> HandlerRun {
        self.assert_runs(handler, Outcome::Handled)
    }

    /// Asserts that the last run of `handler` was dead-lettered; returns it.
    #[track_caller]
    pub fn assert_dead_lettered(&self, handler: &str) -> HandlerRun {
        self.assert_runs(handler, Outcome::DeadLettered)
    }

    /// Asserts that the registered handlers and the catalog's `handlers:`
    /// lists agree ([`EventBus::verify_catalog`]), printing the report
    /// (declared but not registered, registered but not declared, with a
    /// did-you-mean for a typo) when they do not.
    #[track_caller]
    pub fn assert_catalog_match(&self) -> CatalogReport {
        let report = self.bus.verify_catalog();
        if !report.is_ok() {
            panic!("the bus's handlers do not match the catalog:\n{report}");
        }
        report
    }

    #[track_caller]
    fn assert_runs(&self, handler: &str, want: Outcome) -> HandlerRun {
        let runs = self.runs_of(handler);
        let ok = match want {
            Outcome::Handled => !runs.is_empty() && runs.iter().all(|r| r.outcome == want),
            _ => runs.last().is_some_and(|r| r.outcome == want),
        };
        if let (true, Some(last)) = (ok, runs.last()) {
            return last.clone();
        }
        let mut msg = if runs.is_empty() {
            let mut ran: Vec<&str> = self.runs().iter().map(|r| r.handler).collect();
            ran.sort_unstable();
            ran.dedup();
            format!(
                "expected `{handler}` to be {want}, but it never ran (handlers that ran: {})",
                if ran.is_empty() {
                    "none".to_string()
                } else {
                    ran.join(", ")
                }
            )
        } else {
            format!("expected `{handler}` to be {want}; its runs:")
        };
        for r in &runs {
            let _ = write!(msg, "\n  {r}");
        }
        panic!("{msg}");
    }

    /// "; also published: 2 × a.b.c" (nothing when no other event was).
    fn others(&self, except: &str) -> String {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for e in self.recorder.published() {
            if e.event_type() == except {
                continue;
            }
            match counts.iter_mut().find(|(n, _)| n == e.event_type()) {
                Some((_, c)) => *c += 1,
                None => counts.push((e.event_type().to_string(), 1)),
            }
        }
        if counts.is_empty() {
            return String::new();
        }
        let list: Vec<String> = counts.iter().map(|(n, c)| format!("{c} × {n}")).collect();
        format!("\nother events published: {}", list.join(", "))
    }
}
