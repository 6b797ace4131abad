//! What a [`TestBus`](super::TestBus) records: every published envelope, and
//! every run of a handler on an event (its attempts, their errors, how it
//! ended), through the dispatcher's observer hook, so it sees the same
//! publishes and attempts on the in-process and the durable backends.

use crate::backend::{AttemptOutcome, DynEnvelope, Subscriber};
use crate::bus::Observer;
use crate::HandlerContext;
use std::fmt;
use std::sync::{Mutex, MutexGuard};
use uuid::Uuid;

/// How one handler's run on one event stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An attempt is running.
    Running,
    /// The last attempt failed; another is due after the backoff.
    Retrying,
    /// An attempt succeeded.
    Handled,
    /// The last attempt failed and no attempt is left (or the error was
    /// permanent): the delivery is in the dead letters.
    DeadLettered,
}

impl Outcome {
    /// `true` for [`Outcome::Handled`] and [`Outcome::DeadLettered`].
    pub fn is_final(self) -> bool {
        matches!(self, Outcome::Handled | Outcome::DeadLettered)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Running => "running",
            Outcome::Retrying => "waiting to retry",
            Outcome::Handled => "handled",
            Outcome::DeadLettered => "dead-lettered",
        })
    }
}

/// One handler's run on one event: every attempt it made and how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandlerRun {
    /// The handler id (`analytics.update_gpa`).
    pub handler: &'static str,
    /// The event name.
    pub event: &'static str,
    /// The event's id.
    pub event_id: Uuid,
    /// Attempts started so far.
    pub attempts: u32,
    /// How many attempts the handler gets in all.
    pub max_attempts: u32,
    /// The error text of each failed attempt, in order (as a dead letter
    /// records it: the handler's own message, never the payload).
    pub errors: Vec<String>,
    /// How it stands.
    pub outcome: Outcome,
}

impl HandlerRun {
    /// Attempts that failed.
    pub fn failures(&self) -> u32 {
        self.errors.len() as u32
    }
}

impl fmt::Display for HandlerRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` on {} {}: {} after {} of {} attempt(s)",
            self.handler, self.event, self.event_id, self.outcome, self.attempts, self.max_attempts
        )?;
        if let Some(last) = self.errors.last() {
            write!(f, ", {} failed (last: {last})", self.errors.len())?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct State {
    published: Vec<DynEnvelope>,
    runs: Vec<HandlerRun>,
}

/// The observer a [`TestBus`](super::TestBus) gives its dispatcher.
#[derive(Default)]
pub(crate) struct Recorder {
    state: Mutex<State>,
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.lock();
        f.debug_struct("Recorder")
            .field("published", &s.published.len())
            .field("runs", &s.runs.len())
            .finish()
    }
}

impl Recorder {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread may poison it; the records stay readable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn published(&self) -> Vec<DynEnvelope> {
        self.lock().published.clone()
    }

    pub(crate) fn runs(&self) -> Vec<HandlerRun> {
        self.lock().runs.clone()
    }

    /// The run of `sub` on the event `id`, made when it is the first attempt
    /// of a start (a dead letter retried starts a new run at attempt 1).
    fn run<'a>(
        runs: &'a mut Vec<HandlerRun>,
        sub: &Subscriber,
        id: Uuid,
        cx: &HandlerContext,
        start: bool,
    ) -> &'a mut HandlerRun {
        let found = runs
            .iter()
            .rposition(|r| r.event_id == id && r.handler == sub.id && r.event == sub.event);
        let fresh = (start && cx.attempt <= 1) || found.is_none();
        let i = if fresh {
            runs.push(HandlerRun {
                handler: sub.id,
                event: sub.event,
                event_id: id,
                attempts: 0,
                max_attempts: cx.max_attempts,
                errors: Vec::new(),
                outcome: Outcome::Running,
            });
            runs.len() - 1
        } else {
            found.unwrap_or_default()
        };
        &mut runs[i]
    }
}

impl Observer for Recorder {
    fn published(&self, envelope: &DynEnvelope) {
        self.lock().published.push(envelope.clone());
    }

    fn attempt_started(&self, sub: &Subscriber, envelope: &DynEnvelope, cx: &HandlerContext) {
        let mut s = self.lock();
        let run = Recorder::run(&mut s.runs, sub, envelope.id(), cx, true);
        run.attempts = cx.attempt;
        run.max_attempts = cx.max_attempts;
        run.outcome = Outcome::Running;
    }

    fn attempt_ended(
        &self,
        sub: &Subscriber,
        envelope: &DynEnvelope,
        cx: &HandlerContext,
        outcome: &AttemptOutcome,
    ) {
        let mut s = self.lock();
        let run = Recorder::run(&mut s.runs, sub, envelope.id(), cx, false);
        run.outcome = if outcome.is_success() {
            Outcome::Handled
        } else {
            run.errors.push(outcome.error_text());
            // The rule every backend applies after a failed attempt.
            if cx.attempt >= cx.max_attempts || outcome.is_permanent() {
                Outcome::DeadLettered
            } else {
                Outcome::Retrying
            }
        };
    }
}
