//! The overview's figures, counted in the background.
//!
//! Per store, one task counts every scope asked for (the queue counters of
//! [`crate::Store::stats`] and the oldest waiting delivery). A scope asked for
//! the first time is counted at once by that task (a caller waiting for it
//! may give up waiting: the count goes on); after that every scope is counted
//! again every refresh interval (1 s by default), but never sooner than
//! [`REST`] times what the last round of counts took: counting a big queue
//! is a full scan, and it may take at most about a tenth of the time of one
//! core (of the database's core, on PostgreSQL), however big the queue grows.
//! Each call answers from memory at once. A scope not asked for in [`IDLE`] is
//! dropped, and the task ends once none is left, so a store nobody watches
//! counts nothing; it also ends when the last handle of its store is dropped.
//!
//! The figures live in a registry keyed by the store's own shared state (a
//! `Weak` of it, so a key can never be reused by another store while the
//! entry exists): the store type itself is not changed by this module.

use crate::{HandlerOverview, Result, Scope};
use chrono::Utc;
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};

/// A scope whose figures nobody asked for in this long is no longer counted.
pub(crate) const IDLE: Duration = Duration::from_secs(60);

/// The default refresh interval.
pub(crate) const DEFAULT_REFRESH: Duration = Duration::from_secs(1);

/// After a round of counts, the task rests at least this many times as long
/// as the round took: counting takes at most 1 / (1 + REST) of the time.
pub(crate) const REST: u32 = 9;

/// What counts a store's figures: its dialect's counting queries on its read
/// pool, with a token that dies with the store.
#[derive(Clone)]
pub(crate) enum Source {
    #[cfg(feature = "sqlite")]
    Sqlite(crate::sqlite::inspect::Figures),
    #[cfg(feature = "postgres")]
    Postgres(crate::postgres::inspect::Figures),
}

impl Source {
    fn token(&self) -> Weak<dyn Any + Send + Sync> {
        match self {
            #[cfg(feature = "sqlite")]
            Source::Sqlite(f) => f.token(),
            #[cfg(feature = "postgres")]
            Source::Postgres(f) => f.token(),
        }
    }

    async fn count(&self, scope: &Scope) -> Result<Vec<HandlerOverview>> {
        let district = match scope {
            Scope::District(d) => Some(d.as_str()),
            Scope::AllDistricts => None,
        };
        // Stamped before counting: the figures hold at least what was there
        // at `as_of`.
        let now = Utc::now();
        let (stats, oldest) = match self {
            #[cfg(feature = "sqlite")]
            Source::Sqlite(f) => f.count(district).await?,
            #[cfg(feature = "postgres")]
            Source::Postgres(f) => f.count(district).await?,
        };
        Ok(stats
            .into_iter()
            .map(|s| {
                let o = oldest
                    .iter()
                    .find(|(h, _)| *h == s.handler_id)
                    .map(|(_, t)| *t);
                HandlerOverview::of(s, o, now)
            })
            .collect())
    }
}

/// One store's figures.
struct Cache {
    token: Weak<dyn Any + Send + Sync>,
    state: Mutex<State>,
    /// Wakes the resting task: a scope was asked for the first time.
    wake: Notify,
    /// Bumped after every count, for callers waiting for a first one.
    counted: watch::Sender<u64>,
}

struct State {
    every: Duration,
    running: bool,
    scopes: HashMap<Scope, Entry>,
}

struct Entry {
    /// `None` until the first count of the scope is done.
    figures: Option<Arc<Vec<HandlerOverview>>>,
    asked: Instant,
}

static REGISTRY: Mutex<Vec<Arc<Cache>>> = Mutex::new(Vec::new());

/// The cache of the store `token` belongs to (made if missing); entries of
/// stores that are gone are dropped on the way.
fn cache_of(token: Weak<dyn Any + Send + Sync>) -> Arc<Cache> {
    let mut all = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    all.retain(|c| c.token.strong_count() > 0);
    if let Some(c) = all.iter().find(|c| Weak::ptr_eq(&c.token, &token)) {
        return Arc::clone(c);
    }
    let c = Arc::new(Cache {
        token,
        state: Mutex::new(State {
            every: DEFAULT_REFRESH,
            running: false,
            scopes: HashMap::new(),
        }),
        wake: Notify::new(),
        counted: watch::channel(0).0,
    });
    all.push(Arc::clone(&c));
    c
}

impl Cache {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The figures of `scope` if counted; `None` and the scope asked for
    /// (counted at once by the task, started if it was not running) if not.
    fn ask(self: &Arc<Self>, source: &Source, scope: &Scope) -> Option<Arc<Vec<HandlerOverview>>> {
        let (held, new, start) = {
            let mut st = self.state();
            let (held, new) = match st.scopes.get_mut(scope) {
                Some(e) => {
                    e.asked = Instant::now();
                    (e.figures.clone(), false)
                }
                None => {
                    st.scopes.insert(
                        scope.clone(),
                        Entry {
                            figures: None,
                            asked: Instant::now(),
                        },
                    );
                    (None, true)
                }
            };
            (held, new, !std::mem::replace(&mut st.running, true))
        };
        if start {
            tokio::spawn(refresh(Arc::clone(self), source.clone()));
        } else if new {
            self.wake.notify_one();
        }
        held
    }
}

/// Sets how often the figures of the store of `source` are counted.
pub(crate) fn set_refresh(source: &Source, every: Duration) {
    cache_of(source.token()).state().every = every.max(Duration::from_millis(10));
}

/// The figures of `scope`: from memory when a count of it is there (however
/// old: `as_of` tells), else once its first count is done. That count is the
/// background task's: a caller that stops waiting (a request with a time
/// limit) does not stop it, and the next caller finds its figures. If it
/// fails, the caller counts once itself, to report the error.
pub(crate) async fn overview(source: Source, scope: &Scope) -> Result<Vec<HandlerOverview>> {
    let cache = cache_of(source.token());
    let mut counted = cache.counted.subscribe();
    if let Some(f) = cache.ask(&source, scope) {
        return Ok((*f).clone());
    }
    loop {
        let held = cache.state().scopes.get(scope).map(|e| e.figures.clone());
        match held {
            Some(Some(f)) => return Ok((*f).clone()),
            Some(None) => {}
            // The first count failed (the entry was dropped), or the task
            // ended: count here, which reports the error if there is one.
            None => return source.count(scope).await,
        }
        if counted.changed().await.is_err() {
            return source.count(scope).await;
        }
    }
}

/// How long the task rests after a round of counts that took `took`: the
/// refresh interval, and at least [`REST`] times the round.
pub(crate) fn rest(every: Duration, took: Duration) -> Duration {
    every.max(took * REST)
}

/// The background task: counts scopes asked for the first time at once, and
/// every scope asked for in [`IDLE`] again after resting ([`rest`]); ends
/// when no scope is left or the store is gone.
async fn refresh(cache: Arc<Cache>, source: Source) {
    let mut next_round = Instant::now();
    loop {
        let (scopes, full) = {
            let mut st = cache.state();
            let alive = cache.token.strong_count() > 0;
            st.scopes.retain(|_, e| alive && e.asked.elapsed() < IDLE);
            if st.scopes.is_empty() {
                st.running = false;
                drop(st);
                // Waiters of a store that is gone see it.
                cache.counted.send_modify(|n| *n += 1);
                return;
            }
            let full = Instant::now() >= next_round;
            let scopes: Vec<Scope> = st
                .scopes
                .iter()
                .filter(|(_, e)| full || e.figures.is_none())
                .map(|(s, _)| s.clone())
                .collect();
            (scopes, full)
        };
        let started = Instant::now();
        for scope in scopes {
            let counted = source.count(&scope).await;
            {
                let mut st = cache.state();
                match (counted, st.scopes.get_mut(&scope)) {
                    (Ok(f), Some(e)) => e.figures = Some(Arc::new(f)),
                    // A failed first count is not kept: its waiters count
                    // themselves (and report the error), the next call asks
                    // again. A failed recount keeps the last figures (their
                    // `as_of` ages).
                    (Err(_), Some(Entry { figures: None, .. })) => {
                        st.scopes.remove(&scope);
                    }
                    _ => {}
                }
            }
            cache.counted.send_modify(|n| *n += 1);
        }
        if full {
            next_round = Instant::now() + rest(cache.state().every, started.elapsed());
        }
        let now = Instant::now();
        tokio::select! {
            _ = tokio::time::sleep(next_round.saturating_duration_since(now)) => {}
            _ = cache.wake.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_task_rests_nine_times_the_count_and_at_least_the_interval() {
        let s = Duration::from_secs;
        assert_eq!(rest(s(1), Duration::from_millis(10)), s(1));
        assert_eq!(rest(s(1), s(2)), s(18));
        assert_eq!(rest(s(30), s(2)), s(30));
    }
}
