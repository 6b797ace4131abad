//! The overview's figures, counted in the background.
//!
//! Per store, the first [`crate::Store::overview`] of a scope counts it (the
//! queue counters of [`crate::Store::stats`] and the oldest waiting delivery),
//! then starts a task that counts every scope asked for again every refresh
//! interval (1 s by default; never more often than twice the time the last
//! count took, so a big queue costs at most about a third of one core). Each
//! later call answers from memory at once. A scope not asked for in
//! [`IDLE`] is dropped, and the task ends once none is left, so a store
//! nobody watches counts nothing; it also ends when the last handle of its
//! store is dropped.
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

/// A scope whose figures nobody asked for in this long is no longer counted.
pub(crate) const IDLE: Duration = Duration::from_secs(60);

/// The default refresh interval.
pub(crate) const DEFAULT_REFRESH: Duration = Duration::from_secs(1);

/// What counts a store's figures: its dialect's counting queries on its read
/// pool, with a token that dies with the store.
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
}

struct State {
    every: Duration,
    running: bool,
    scopes: HashMap<Scope, Entry>,
}

struct Entry {
    figures: Arc<Vec<HandlerOverview>>,
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
    });
    all.push(Arc::clone(&c));
    c
}

impl Cache {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Sets how often the figures of the store of `source` are counted.
pub(crate) fn set_refresh(source: &Source, every: Duration) {
    cache_of(source.token()).state().every = every.max(Duration::from_millis(10));
}

/// The figures of `scope`: from memory when a count of it is there (however
/// old: `as_of` tells), else counted now; the background task is started if
/// it is not running.
pub(crate) async fn overview(source: Source, scope: &Scope) -> Result<Vec<HandlerOverview>> {
    let cache = cache_of(source.token());
    let cached = {
        let mut st = cache.state();
        st.scopes.get_mut(scope).map(|e| {
            e.asked = Instant::now();
            Arc::clone(&e.figures)
        })
    };
    let figures = match cached {
        Some(f) => f,
        None => {
            let f = Arc::new(source.count(scope).await?);
            cache.state().scopes.insert(
                scope.clone(),
                Entry {
                    figures: Arc::clone(&f),
                    asked: Instant::now(),
                },
            );
            f
        }
    };
    let start = {
        let mut st = cache.state();
        !std::mem::replace(&mut st.running, true)
    };
    if start {
        tokio::spawn(refresh(cache, source));
    }
    Ok((*figures).clone())
}

/// The background task: counts every scope asked for in [`IDLE`], pausing
/// the refresh interval (at least twice the last count's time) between
/// rounds; ends when no scope is left or the store is gone.
async fn refresh(cache: Arc<Cache>, source: Source) {
    let mut pause = cache.state().every;
    loop {
        tokio::time::sleep(pause).await;
        let scopes: Vec<Scope> = {
            let mut st = cache.state();
            let alive = cache.token.strong_count() > 0;
            st.scopes.retain(|_, e| alive && e.asked.elapsed() < IDLE);
            if st.scopes.is_empty() {
                st.running = false;
                return;
            }
            st.scopes.keys().cloned().collect()
        };
        let started = Instant::now();
        for scope in scopes {
            // A failed count keeps the last figures (their `as_of` ages).
            if let Ok(f) = source.count(&scope).await {
                if let Some(e) = cache.state().scopes.get_mut(&scope) {
                    e.figures = Arc::new(f);
                }
            }
        }
        pause = cache.state().every.max(started.elapsed() * 2);
    }
}
