//! What must hold after every step, checked against the tables.
//!
//! The model keeps what the test knows for certain (which events committed,
//! which handlers they go to, which handler calls happened and what each did);
//! the tables must agree with it after every step, and every change a worker
//! step made to a delivery must be one the store is allowed to make.

use crate::world::{handlers_of, spec, Action, Invocation, Row, Snapshot};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// An event the test published, committed or not.
pub struct ModelEvent {
    pub id: Uuid,
    pub ty: &'static str,
    /// Acknowledged (publish returned Ok, the transaction committed). Events
    /// rolled back or refused stay `false` and must never be seen.
    pub committed: bool,
}

#[derive(Default)]
pub struct Model {
    pub events: Vec<ModelEvent>,
    /// Successful handler calls per delivery, over the whole run.
    pub ok_runs: HashMap<(Uuid, String), u32>,
    /// Rows the committed outbox transactions wrote to the caller's table.
    pub domain_rows: i64,
    /// Workers killed so far (their lease-owner prefixes, `m7:`).
    pub killed: Vec<String>,
    /// Outcomes that killed workers had reached but not recorded: their
    /// last statement may still commit after they died, as a dying process's
    /// can. (delivery) -> (attempt, what the handler did).
    pub late: HashMap<(Uuid, String), (u32, Action)>,
    /// Dead letters an operator retried: they are behind, in their
    /// aggregate's order, events that ran while they were dead.
    pub retried: HashSet<(Uuid, String)>,
}

type Check = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)*) => {
        if !$cond {
            return Err(format!($($fmt)*));
        }
    };
}

impl Model {
    fn committed(&self) -> impl Iterator<Item = &ModelEvent> {
        self.events.iter().filter(|e| e.committed)
    }

    /// The invariants: every committed event is stored with all its
    /// deliveries and nothing else is; each delivery is in exactly one state;
    /// none has used more attempts than its handler has without being a dead
    /// letter; an ordered handler runs one event of an aggregate at a time.
    pub fn check_state(&self, s: &Snapshot) -> Check {
        let stored: HashSet<Uuid> = s.events.iter().copied().collect();
        ensure!(
            stored.len() == s.events.len(),
            "an event id is stored twice"
        );
        for e in &self.events {
            ensure!(
                stored.contains(&e.id) == e.committed,
                "event {} ({}) is {} but {}",
                e.id,
                e.ty,
                if e.committed {
                    "acknowledged"
                } else {
                    "rolled back or refused"
                },
                if e.committed {
                    "missing from skc_events"
                } else {
                    "stored in skc_events"
                }
            );
        }
        ensure!(
            stored.len() == self.committed().count(),
            "skc_events holds {} events, the model {}",
            stored.len(),
            self.committed().count()
        );
        ensure!(
            s.duplicates.is_empty(),
            "a delivery is queued twice (done and waiting at once?): {:?}",
            s.duplicates
        );
        ensure!(s.orphans == 0, "{} deliveries of no event", s.orphans);
        ensure!(
            s.domain_rows == self.domain_rows,
            "the caller's table has {} rows, the committed transactions wrote {}",
            s.domain_rows,
            self.domain_rows
        );
        let mut expected = 0;
        for e in self.committed() {
            for h in handlers_of(e.ty) {
                expected += 1;
                ensure!(
                    s.rows.contains_key(&(e.id, h.to_string())),
                    "committed event {} ({}) has no delivery to {h}",
                    e.id,
                    e.ty
                );
            }
        }
        ensure!(
            s.rows.len() == expected,
            "{} deliveries in the table, {expected} expected",
            s.rows.len()
        );
        let mut running: HashMap<(&str, &str), Vec<&Row>> = HashMap::new();
        for r in s.rows.values() {
            let max = spec(&r.handler).max_attempts as i64;
            ensure!(r.replay == 0, "unexpected replay row {r:?}");
            match r.status.as_str() {
                "waiting" | "done" | "dead" => ensure!(
                    r.lease_until.is_none(),
                    "a {} delivery holds a lease: {r:?}",
                    r.status
                ),
                "active" => ensure!(
                    r.lease_until.is_some() && r.attempts >= 1,
                    "an active delivery without a lease or attempt: {r:?}"
                ),
                other => return Err(format!("unknown status `{other}`: {r:?}")),
            }
            // The column counts claims: a worker counts one before it sees
            // that a delivery's attempts are used up (it then sends it to the
            // dead letters unrun, or runs it alone at its last attempt), and a
            // delivery claimed ahead and handed back keeps what its claims
            // counted less one. So a waiting or active delivery may read past
            // its maximum for a while; what may not happen is a handler running
            // past it (`check_worker_step`) or such a delivery never ending
            // (`check_all_dead`, `check_settled`). A done one ran within it.
            ensure!(
                r.status != "done" || r.attempts <= max,
                "delivery {} to {} is done after {} attempts of {max}: {r:?}",
                r.id,
                r.handler,
                r.attempts
            );
            if matches!(r.status.as_str(), "done" | "dead") {
                ensure!(r.attempts >= 1, "finished without an attempt: {r:?}");
            }
            if r.status == "dead" {
                ensure!(
                    r.last_error.as_deref().is_some_and(|e| !e.is_empty()),
                    "a dead letter without its error: {r:?}"
                );
            }
            if spec(&r.handler).ordered
                && r.status == "active"
                && !self.retried.contains(&(r.event, r.handler.clone()))
            {
                running
                    .entry((&r.handler, &r.aggregate))
                    .or_default()
                    .push(r);
            }
        }
        // An ordered delivery is active only once every earlier event of its
        // aggregate is finished for the handler (but for a retried dead
        // letter, which cannot undo what ran while it was dead).
        for r in s.rows.values() {
            if spec(&r.handler).ordered && r.status == "active" {
                for p in s.rows.values() {
                    ensure!(
                        !(p.handler == r.handler
                            && p.aggregate == r.aggregate
                            && p.seq < r.seq
                            && matches!(p.status.as_str(), "waiting" | "active")
                            && !self.retried.contains(&(p.event, p.handler.clone()))),
                        "ordered {} holds event seq {} of aggregate {} active while seq {} is {}: \
                         {r:?}, {p:?}",
                        r.handler,
                        r.seq,
                        r.aggregate,
                        p.seq,
                        p.status
                    );
                }
            }
        }
        // (A retried dead letter may run beside a later event of its
        // aggregate that was already in flight.)
        for ((h, a), rows) in running {
            ensure!(
                rows.len() <= 1,
                "{} deliveries of aggregate {a} are running at once for ordered {h}: {rows:?}",
                rows.len()
            );
        }
        Ok(())
    }

    /// A step that ran no worker changes no delivery (but for the late
    /// statements of a killed worker).
    pub fn check_untouched(&mut self, pre: &Snapshot, post: &Snapshot, end: i64) -> Check {
        for (k, p) in &pre.rows {
            let q = &post.rows[k];
            if same_state(p, q) {
                continue;
            }
            let late = self.late_changes(k, p, end);
            ensure!(
                late.iter().any(|a| a.matches(q)),
                "a step without a worker changed delivery {}: {p:?} -> {q:?}; allowed: {late:?}",
                p.id
            );
            self.late.remove(k);
        }
        Ok(())
    }

    /// What the late statements of killed workers may still do to `p`: record
    /// the outcome its handler had reached, or claim it.
    fn late_changes(&self, key: &(Uuid, String), p: &Row, end: i64) -> Vec<After> {
        let mut ok = Vec::new();
        if let Some(&(attempt, action)) = self.late.get(key) {
            if p.status == "active" && p.attempts == attempt as i64 {
                let max = spec(&p.handler).max_attempts;
                ok.extend(outcome(action, attempt, max, &p.handler));
            }
        }
        if ready(p, end) && !self.killed.is_empty() {
            ok.push(After::LateClaim(p.attempts + 1, self.killed.clone()));
        }
        let max = spec(&p.handler).max_attempts as i64;
        if p.status == "active" && self.held_by_killed(p) {
            // Its killed worker's last statement: hand it back unstarted, bring
            // its attempt back to the maximum to run it alone, or send it to
            // the dead letters unrun.
            ok.push(After::Is("waiting", p.attempts - 1, None));
            ok.push(After::LateClaim(p.attempts.min(max), self.killed.clone()));
            if p.attempts > max {
                ok.push(After::DeadUnrun);
            }
        }
        ok
    }

    fn held_by_killed(&self, r: &Row) -> bool {
        r.lease_owner
            .as_deref()
            .is_some_and(|o| self.killed.iter().any(|k| o.starts_with(k.as_str())))
    }

    /// Every change a worker step made is allowed. `calls` are the handler
    /// calls of the step, in order; `crashed` says the worker died in it;
    /// `end` is when it ended (what was due or expired by then could be
    /// claimed).
    pub fn check_worker_step(
        &mut self,
        pre: &Snapshot,
        post: &Snapshot,
        calls: &[Invocation],
        crashed: bool,
        end: i64,
    ) -> Check {
        let mut by_delivery: HashMap<(Uuid, String), Vec<&Invocation>> = HashMap::new();
        for c in calls {
            let key = (c.event, c.handler.to_string());
            ensure!(
                pre.rows.contains_key(&key),
                "{} ran for event {} that has no delivery to it (rolled back or refused?)",
                c.handler,
                c.event
            );
            by_delivery.entry(key).or_default().push(c);
        }
        self.check_order(pre, post, calls)?;
        for (key, p) in &pre.rows {
            let q = &post.rows[key];
            let max = spec(&p.handler).max_attempts as i64;
            let ready = ready(p, end);
            let ran = by_delivery.get(key).map(Vec::as_slice).unwrap_or(&[]);
            if let Some(first) = ran.first() {
                ensure!(
                    ready,
                    "{} ran delivery {} (attempt {}) that was not ready: {p:?}",
                    p.handler,
                    p.id,
                    first.attempt
                );
            }
            // Attempts follow each other, each after a retryable failure.
            let mut attempt = p.attempts;
            for (i, c) in ran.iter().enumerate() {
                ensure!(
                    c.attempt as i64 <= max,
                    "{} ran attempt {} of {max} of delivery {} (event {}): attempts beyond the maximum \
                     must end in the dead letters instead",
                    c.handler,
                    c.attempt,
                    p.id,
                    c.event
                );
                // A delivery that was in flight when its worker died may run
                // once more at its last attempt (a worker runs it alone, its
                // attempt brought back to the maximum): the deaths may have
                // been a neighbour's doing.
                let expected = if i == 0 {
                    (attempt + 1).min(max)
                } else {
                    attempt + 1
                };
                ensure!(
                    c.attempt as i64 == expected,
                    "delivery {} ran as attempt {} after {attempt} attempts (expected {expected})",
                    p.id,
                    c.attempt
                );
                if i > 0 {
                    let before = ran[i - 1];
                    ensure!(
                        before.action == Action::Retry,
                        "delivery {} ran again after {:?} on attempt {}",
                        p.id,
                        before.action,
                        before.attempt
                    );
                }
                attempt = c.attempt as i64;
                if c.action == Action::Ok {
                    *self.ok_runs.entry(key.clone()).or_default() += 1;
                }
            }
            let mut legal = allowed(p, ran, crashed, ready, max);
            if ran.is_empty() {
                legal.extend(self.late_changes(key, p, end));
            }
            ensure!(
                legal.iter().any(|a| a.matches(q)),
                "delivery {} to {} went {} -> {} (attempts {} -> {}, error {:?}) after calls {:?}{}; \
                 allowed: {legal:?}",
                p.id,
                p.handler,
                p.status,
                q.status,
                p.attempts,
                q.attempts,
                q.last_error,
                ran.iter().map(|c| (c.attempt, c.action)).collect::<Vec<_>>(),
                if crashed { " in a step whose worker died" } else { "" }
            );
            if !same_state(p, q) {
                self.late.remove(key);
            }
            // Killed before its outcome was recorded: the outcome may land later.
            if let (true, Some(last)) = (crashed, ran.last()) {
                if q.status == "active" && q.attempts == last.attempt as i64 {
                    self.late.insert(key.clone(), (last.attempt, last.action));
                }
            }
        }
        Ok(())
    }

    /// An ordered handler runs an event only once every earlier event of the
    /// same aggregate is finished for it: done or dead before the step,
    /// finished by an earlier call in it, or made a dead letter by the worker
    /// without a call (out of attempts).
    fn check_order(&self, pre: &Snapshot, post: &Snapshot, calls: &[Invocation]) -> Check {
        let called: HashSet<(Uuid, &str)> = calls.iter().map(|c| (c.event, c.handler)).collect();
        // Finished in the step without a call: sent to the dead letters unrun,
        // or by a killed worker's late statement.
        let mut finished: HashSet<(Uuid, &str)> = post
            .rows
            .values()
            .filter(|r| {
                matches!(r.status.as_str(), "done" | "dead")
                    && !called.contains(&(r.event, r.handler.as_str()))
            })
            .map(|r| (r.event, spec(&r.handler).id))
            .collect();
        for c in calls {
            let me = &pre.rows[&(c.event, c.handler.to_string())];
            // A takeover of an expired lease continues a delivery that passed
            // the rule when it was first claimed (an operator may have retried
            // an earlier dead letter since: see `check_state`).
            if spec(c.handler).ordered && me.status != "active" {
                for other in pre.rows.values() {
                    if other.handler == c.handler
                        && other.aggregate == me.aggregate
                        && other.seq < me.seq
                        && !matches!(other.status.as_str(), "done" | "dead")
                    {
                        ensure!(
                            finished.contains(&(other.event, c.handler)),
                            "ordered {} ran event seq {} of aggregate {} before seq {} was finished: \
                             {me:?}, {other:?}",
                            c.handler,
                            me.seq,
                            me.aggregate,
                            other.seq
                        );
                    }
                }
            }
            let max = spec(c.handler).max_attempts;
            let terminal = match c.action {
                Action::Ok | Action::Dead => true,
                Action::Retry => c.attempt >= max,
                Action::Crash => false,
            };
            if terminal {
                finished.insert((c.event, c.handler));
            }
        }
        Ok(())
    }

    /// With every handler call crashing its worker: every delivery is a dead
    /// letter (none can ever succeed, and none may be retried for ever).
    pub fn check_all_dead(&self, s: &Snapshot) -> Check {
        let alive: Vec<&Row> = s.rows.values().filter(|r| r.status != "dead").collect();
        ensure!(
            alive.is_empty(),
            "every call of these handlers kills its worker, yet {} deliveries are not dead letters              after the poison steps: {alive:?}",
            alive.len()
        );
        // None of them ever recorded a failure of its own: each was sent to
        // the dead letters for killing its workers, and says so.
        let unexplained: Vec<&Row> = s
            .rows
            .values()
            .filter(|r| {
                !r.last_error
                    .as_deref()
                    .is_some_and(|e| e.contains("in flight when its worker died"))
            })
            .collect();
        ensure!(
            unexplained.is_empty(),
            "dead letters of poison deliveries must say they were in flight when their worker \
             died: {unexplained:?}"
        );
        Ok(())
    }

    /// After the queue settled: every delivery of every committed event is
    /// done (its handler succeeded at least once: at-least-once) or a dead
    /// letter.
    pub fn check_settled(&self, s: &Snapshot) -> Check {
        for (k, r) in &s.rows {
            match r.status.as_str() {
                "done" => ensure!(
                    self.ok_runs.get(k).copied().unwrap_or(0) >= 1,
                    "delivery {} to {} is done but its handler never succeeded",
                    r.id,
                    r.handler
                ),
                "dead" => {}
                _ => return Err(format!("not settled: {r:?}")),
            }
        }
        Ok(())
    }
}

fn same_state(p: &Row, q: &Row) -> bool {
    p.status == q.status
        && p.attempts == q.attempts
        && p.lease_until == q.lease_until
        && p.last_error == q.last_error
}

/// Claimable by `end`: waiting and due, or active with a lease that ran out.
fn ready(p: &Row, end: i64) -> bool {
    match p.status.as_str() {
        "waiting" => p.available_at <= end,
        "active" => p.lease_until.is_some_and(|l| l < end),
        _ => false,
    }
}

/// A state a delivery may be in after a step.
#[derive(Debug)]
enum After {
    /// This status with this many attempts; with an error, that error.
    Is(&'static str, i64, Option<String>),
    /// A dead letter sent there unrun, its error saying it was in flight
    /// when its worker died.
    DeadUnrun,
    /// Claimed (with this many attempts) by one of these killed workers.
    LateClaim(i64, Vec<String>),
}

impl After {
    fn matches(&self, q: &Row) -> bool {
        match self {
            After::Is(status, attempts, error) => {
                q.status == *status
                    && q.attempts == *attempts
                    && error
                        .as_ref()
                        .is_none_or(|e| q.last_error.as_ref() == Some(e))
            }
            After::DeadUnrun => {
                q.status == "dead"
                    && q.last_error
                        .as_deref()
                        .is_some_and(|e| e.contains("in flight when its worker died"))
            }
            After::LateClaim(attempts, owners) => {
                q.status == "active"
                    && q.attempts == *attempts
                    && q.lease_owner
                        .as_deref()
                        .is_some_and(|o| owners.iter().any(|k| o.starts_with(k.as_str())))
            }
        }
    }
}

fn allowed(p: &Row, ran: &[&Invocation], crashed: bool, ready: bool, max: i64) -> Vec<After> {
    let mut ok = Vec::new();
    match ran.last() {
        None => {
            // As it was.
            ok.push(After::Is(
                status_name(&p.status),
                p.attempts,
                p.last_error.clone(),
            ));
            if ready {
                // Used up while its worker was away: a dead letter, unrun.
                if p.attempts >= max {
                    ok.push(After::DeadUnrun);
                }
                // Claimed ahead and handed back at shutdown.
                if p.status == "active" {
                    ok.push(After::Is("waiting", p.attempts, None));
                }
                // Claimed, then the worker died before running it (perhaps
                // after bringing its attempt back to the maximum, to run it
                // alone).
                if crashed {
                    ok.push(After::Is("active", p.attempts + 1, None));
                    ok.push(After::Is("active", (p.attempts + 1).min(max), None));
                }
            }
        }
        Some(last) => {
            let a = last.attempt as i64;
            ok.extend(outcome(last.action, last.attempt, max as u32, last.handler));
            if crashed {
                if last.action == Action::Retry && a < max {
                    // Recorded, claimed again, and the worker died.
                    ok.push(After::Is("active", a + 1, None));
                }
                // Its outcome was never recorded.
                ok.push(After::Is("active", a, None));
            }
        }
    }
    ok
}

/// Where a delivery ends when the handler's `action` on `attempt` is recorded.
fn outcome(action: Action, attempt: u32, max: u32, handler: &str) -> Vec<After> {
    let a = attempt as i64;
    let msg = Some(action.message(handler, attempt));
    match action {
        Action::Ok => vec![After::Is("done", a, None)],
        Action::Dead => vec![After::Is("dead", a, msg)],
        Action::Retry if attempt >= max => vec![After::Is("dead", a, msg)],
        Action::Retry => vec![After::Is("waiting", a, msg)],
        // It never returns; its timeout may fire before the test kills the
        // worker (`timed out after …`).
        Action::Crash if attempt >= max => vec![After::Is("dead", a, None)],
        Action::Crash => vec![After::Is("waiting", a, None)],
    }
}

fn status_name(s: &str) -> &'static str {
    match s {
        "waiting" => "waiting",
        "active" => "active",
        "done" => "done",
        "dead" => "dead",
        _ => "unknown",
    }
}
