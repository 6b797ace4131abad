//! The dead-letter groups, counted at most once per [`FRESH`] per filter.
//!
//! Grouping reads every matching dead letter's row (its handler and error,
//! not its payload) and masks each error: about 20 ms of one core for 3,000
//! dead letters on SQLite (docs/performance.md, "The dashboard at scale"),
//! growing with the dead letters. A page reload, several viewers, or the API
//! polled share one count for [`FRESH`]; concurrent requests that miss wait
//! for one count instead of each making their own. An action of this
//! dashboard (retry, discard) forgets every count, so its result shows at
//! once; letters that die or are retried elsewhere show within [`FRESH`].

use skillcore_events_store::{DeadFilter, DeadGroup, Result, Scope, Store};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a count of the groups is used.
pub(crate) const FRESH: Duration = Duration::from_secs(2);

type Key = (Scope, Option<String>, Option<String>);

/// A count: when it began, and the groups.
type Counted = (Instant, Arc<Vec<DeadGroup>>);

#[derive(Default)]
pub(crate) struct GroupsCache {
    counted: Mutex<HashMap<Key, Counted>>,
    /// One count at a time (a request that missed waits for the one running).
    counting: tokio::sync::Mutex<()>,
    /// Bumped by every action: a count begun before one is not kept.
    generation: AtomicU64,
}

impl GroupsCache {
    fn fresh(&self, key: &Key) -> Option<Arc<Vec<DeadGroup>>> {
        let counted = self.counted.lock().unwrap_or_else(|p| p.into_inner());
        counted
            .get(key)
            .filter(|(at, _)| at.elapsed() < FRESH)
            .map(|(_, g)| Arc::clone(g))
    }

    /// The groups of the dead letters in `scope` matching `f`
    /// ([`Store::dead_letter_groups`]), at most [`FRESH`] old.
    pub async fn get(
        &self,
        store: &Store,
        scope: &Scope,
        f: &DeadFilter,
    ) -> Result<Arc<Vec<DeadGroup>>> {
        let key = (scope.clone(), f.handler.clone(), f.group.clone());
        if let Some(g) = self.fresh(&key) {
            return Ok(g);
        }
        let _one = self.counting.lock().await;
        if let Some(g) = self.fresh(&key) {
            return Ok(g);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let started = Instant::now();
        let groups = Arc::new(store.dead_letter_groups(scope, f).await?);
        let mut counted = self.counted.lock().unwrap_or_else(|p| p.into_inner());
        // Old counts go (the keys come from request parameters).
        counted.retain(|_, (at, _)| at.elapsed() < FRESH);
        if self.generation.load(Ordering::SeqCst) == generation {
            counted.insert(key, (started, Arc::clone(&groups)));
        }
        Ok(groups)
    }

    /// Forgets every count (after an action changed dead letters).
    pub fn forget(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.counted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}
