//! What an operations dashboard reads and does: the per-handler overview
//! (from a cache counted in the background), throughput per time bucket,
//! event search by cursor, an event with its deliveries and its chain, and
//! dead letters grouped by masked error with bulk retry and discard. Each
//! operation is handed over to its dialect (`sqlite/inspect.rs`,
//! `postgres/inspect.rs`); every one of them is scoped to a district unless
//! [`Scope::AllDistricts`] is asked for.

mod cache;
mod dead;
mod letters;
pub(crate) mod mask;
pub(crate) mod search;
mod types;

pub use letters::{DeadCursor, DeadPage, MAX_DEAD_PAGE};
pub use mask::mask_error;
pub use search::{MAX_PAGE, MAX_SCAN};
pub use types::{
    DeadFilter, DeadGroup, DeliveryInfo, DeliveryState, EventCursor, EventPage, EventQuery,
    FieldFilter, HandlerOverview, ThroughputBucket,
};

pub(crate) use dead::{DeadRow, Keyed, BATCH, CHUNK};

use crate::store::{Dialect, Store};
use crate::{Result, Scope, ScopeParts, StoreError, StoredEvent};
use cache::Source;
use chrono::{DateTime, Utc};
use std::time::Duration;
use uuid::Uuid;

/// The most events [`Store::correlated`] returns.
pub const MAX_CHAIN: u32 = 1_000;

/// The most buckets [`Store::throughput`] counts in one call.
pub const MAX_BUCKETS: i64 = 1_440;

impl Store {
    fn figures(&self) -> Source {
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => Source::Sqlite(db.figures()),
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => Source::Postgres(db.figures()),
        }
    }

    /// Per handler in `scope`, sorted by handler id: the numbers of
    /// [`Store::stats`], the lag and the oldest waiting delivery, with when
    /// they were counted ([`HandlerOverview::as_of`]).
    ///
    /// The counts read the done counters and the partial indexes of the
    /// unfinished and dead deliveries (see [`Store::stats`]), so they grow
    /// with the backlog, not with the history; still, a request never runs
    /// them. One task per store counts every scope asked for in the
    /// background: a scope asked for the first time at once (this call waits
    /// for that first count; a caller that stops waiting, with
    /// `tokio::time::timeout` for instance, does not stop the count, and a
    /// later call finds its figures), then every scope again every second by
    /// default ([`Store::set_overview_refresh`]), but never sooner than nine
    /// times what the last round of counts took: with a backlog of millions,
    /// where a count takes seconds, counting takes at most a tenth of one
    /// core, and the figures are older (`as_of` says by how much). Later calls
    /// answer from memory at once. A scope nobody asks for during a minute is
    /// no longer counted, and the task ends when no scope is left or the
    /// store is dropped: a store nobody watches pays nothing.
    ///
    /// ```no_run
    /// # async fn f(store: skillcore_events_store::Store) -> skillcore_events_store::Result<()> {
    /// use skillcore_events_store::Scope;
    /// for h in store.overview(&Scope::district("dst-1")).await? {
    ///     println!("{} lag {} (as of {})", h.handler_id, h.lag, h.as_of);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn overview(&self, scope: &Scope) -> Result<Vec<HandlerOverview>> {
        cache::overview(self.figures(), scope).await
    }

    /// How often [`Store::overview`]'s figures are counted in the background
    /// (1 s by default, at least 10 ms), for every handle of this store.
    pub fn set_overview_refresh(&self, every: Duration) {
        cache::set_refresh(&self.figures(), every);
    }

    /// Deliveries of events in `scope` completed and gone dead per `bucket`
    /// from `since` until now, oldest bucket first, every bucket listed (zero
    /// when nothing finished in it). Read from the indexes of done and dead
    /// deliveries by the time they finished (their `updated_at`): the cost
    /// grows with the deliveries finished in the window, not with the table.
    /// Refused: a bucket under one second, `since` in the future, or more
    /// than [`MAX_BUCKETS`] buckets.
    ///
    /// ```no_run
    /// # async fn f(store: skillcore_events_store::Store) -> skillcore_events_store::Result<()> {
    /// use skillcore_events_store::Scope;
    /// use chrono::{Duration, Utc};
    /// let since = Utc::now() - Duration::hours(1);
    /// let minutes = store
    ///     .throughput(&Scope::AllDistricts, since, std::time::Duration::from_secs(60))
    ///     .await?;
    /// assert_eq!(minutes.len(), 60);
    /// # Ok(()) }
    /// ```
    pub async fn throughput(
        &self,
        scope: &Scope,
        since: DateTime<Utc>,
        bucket: Duration,
    ) -> Result<Vec<ThroughputBucket>> {
        let bucket_us = crate::shared::duration_us(bucket);
        let since_us = since.timestamp_micros();
        let now_us = crate::shared::now_us();
        if bucket_us < 1_000_000 {
            return Err(StoreError::InvalidQuery(
                "a throughput bucket must be at least one second long".into(),
            ));
        }
        if since_us > now_us {
            return Err(StoreError::InvalidQuery(
                "the throughput window starts in the future: `since` must be in the past".into(),
            ));
        }
        let n = (now_us - since_us) / bucket_us + 1;
        if n > MAX_BUCKETS {
            return Err(StoreError::InvalidQuery(format!(
                "the throughput window holds {n} buckets, more than {MAX_BUCKETS}: choose a \
                 later `since` or longer buckets"
            )));
        }
        let (all, district) = scope.parts();
        let rows = match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.throughput(all, district, since_us, bucket_us).await?,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.throughput(all, district, since_us, bucket_us).await?,
        };
        let mut buckets: Vec<ThroughputBucket> = (0..n)
            .map(|i| ThroughputBucket {
                start: crate::shared::micros(since_us + i * bucket_us),
                completed: 0,
                dead: 0,
            })
            .collect();
        for (i, done, dead) in rows {
            if let Some(b) = usize::try_from(i).ok().and_then(|i| buckets.get_mut(i)) {
                b.completed += done;
                b.dead += dead;
            }
        }
        Ok(buckets)
    }

    /// A page of the events matching `query`, newest first (by sequence
    /// number), continued with [`EventPage::next`] as the next query's
    /// cursor: keyset pagination, so pages neither repeat nor skip an event
    /// however many are stored meanwhile (newer ones appear on a search
    /// started again).
    ///
    /// Every search walks one index newest first, at most [`MAX_SCAN`]
    /// candidate rows per page, and checks the other filters on those rows:
    /// the aggregate index when an aggregate is given, else, for a type and a
    /// top-level payload field equal to a string, that field's index when
    /// one was made ([`Store::create_field_index`]: then a rare value is
    /// found however many events the type has), else the event type index
    /// when a type is, else the primary key (on PostgreSQL, for one
    /// district, its district index). So a page costs the same on a table of
    /// a thousand rows or a billion; a filter that matches rarely returns
    /// short (even empty) pages with a cursor to go on. Values are always
    /// bound parameters. Refused with [`StoreError::InvalidQuery`] (which
    /// never repeats a value searched for): a payload field without an event
    /// type, an array or object as the value, half an aggregate, an empty
    /// time range, a limit of 0. [`Store::explain_search`] shows the plan.
    ///
    /// ```no_run
    /// # async fn f(store: skillcore_events_store::Store) -> skillcore_events_store::Result<()> {
    /// use skillcore_events_store::{EventQuery, Scope};
    /// let mut query = EventQuery::new(Scope::district("dst-1"))
    ///     .event_type("gradebook.grade.posted")
    ///     .field("studentId", "stu-1");
    /// loop {
    ///     let page = store.search_events(&query).await?;
    ///     for e in &page.events {
    ///         println!("{} {}", e.seq, e.event.id);
    ///     }
    ///     match page.next {
    ///         Some(next) => query = query.after(Some(next)),
    ///         None => break,
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn search_events(&self, query: &EventQuery) -> Result<EventPage> {
        let mut plan = self.search_plan(query).await?;
        let page = plan.page;
        let found = self.run_search(&plan).await;
        let (mut events, examined, floor) = match found {
            // The field index was dropped between the check and the search
            // (SQLite refuses `INDEXED BY` a missing index): search as without.
            Err(_) if plan.field_index.is_some() => {
                plan.field_index = None;
                self.run_search(&plan).await?
            }
            found => found?,
        };
        let next = if events.len() > page as usize {
            events.truncate(page as usize);
            events.last().map(|e| EventCursor { before_seq: e.seq })
        } else if examined >= i64::from(MAX_SCAN) {
            floor.map(|before_seq| EventCursor { before_seq })
        } else {
            None
        };
        Ok(EventPage {
            events,
            next,
            examined: examined as u32,
        })
    }

    /// The database's plan for [`Store::search_events`] of `query`, a line
    /// per step (SQLite's `EXPLAIN QUERY PLAN`, PostgreSQL's `EXPLAIN`), to
    /// check which index a search reads:
    ///
    /// ```no_run
    /// # async fn f(store: skillcore_events_store::Store) -> skillcore_events_store::Result<()> {
    /// use skillcore_events_store::{EventQuery, Scope};
    /// let q = EventQuery::new(Scope::AllDistricts).event_type("gradebook.grade.posted");
    /// // SQLite: "SEARCH skc_events USING COVERING INDEX skc_events_type (event_type=? AND rowid<?)", ...
    /// for line in store.explain_search(&q).await? {
    ///     println!("{line}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn explain_search(&self, query: &EventQuery) -> Result<Vec<String>> {
        let plan = self.search_plan(query).await?;
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.explain_search(&plan).await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.explain_search(&plan).await,
        }
    }

    /// The checked search, reading the payload field's index when the store
    /// has one ready for it.
    async fn search_plan<'q>(&self, query: &'q EventQuery) -> Result<search::Plan<'q>> {
        let mut plan = search::plan(query)?;
        if let Some(name) = plan.field_index_wanted() {
            let ready = match &self.dialect {
                #[cfg(feature = "sqlite")]
                Dialect::Sqlite(db) => db.field_index_ready(&name).await?,
                #[cfg(feature = "postgres")]
                Dialect::Postgres(db) => db.field_index_ready(&name).await?,
            };
            if ready {
                plan.field_index = Some(name);
            }
        }
        Ok(plan)
    }

    async fn run_search(
        &self,
        plan: &search::Plan<'_>,
    ) -> Result<(Vec<StoredEvent>, i64, Option<i64>)> {
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.search(plan).await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.search(plan).await,
        }
    }

    /// The event with this id, if it is stored and in `scope` (an event of
    /// another district is `None`, as if it did not exist).
    pub async fn event(&self, scope: &Scope, id: Uuid) -> Result<Option<StoredEvent>> {
        let (all, district) = scope.parts();
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.event_by_id(all, district, id).await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.event_by_id(all, district, id).await,
        }
    }

    /// Every delivery of the event with this id (one per handler, and one per
    /// replay of it), oldest first; empty when the event is not stored or not
    /// in `scope`.
    pub async fn deliveries_of(&self, scope: &Scope, event_id: Uuid) -> Result<Vec<DeliveryInfo>> {
        let (all, district) = scope.parts();
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.deliveries_of(all, district, event_id).await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.deliveries_of(all, district, event_id).await,
        }
    }

    /// The events in `scope` whose metadata carries this correlation id
    /// (`correlationId`: a [`Uuid`] or any text the publisher chose), in
    /// order, at most `limit` (capped at [`MAX_CHAIN`]): the chain an event
    /// belongs to. Each event's `metadata.causationId` names the event that
    /// caused it, which makes the chain a tree. Read from an index on the
    /// correlation id.
    ///
    /// ```no_run
    /// # async fn f(store: skillcore_events_store::Store, e: skillcore_events_store::StoredEvent) -> skillcore_events_store::Result<()> {
    /// use skillcore_events_store::Scope;
    /// if let Some(c) = e.event.metadata["correlationId"].as_str() {
    ///     for link in store.correlated(&Scope::AllDistricts, c, 100).await? {
    ///         println!("{} caused by {}", link.event.id, link.event.metadata["causationId"]);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn correlated(
        &self,
        scope: &Scope,
        correlation_id: impl std::fmt::Display,
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        let (all, district) = scope.parts();
        let id = correlation_id.to_string();
        let limit = limit.min(MAX_CHAIN);
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.correlated(all, district, &id, limit).await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.correlated(all, district, &id, limit).await,
        }
    }

    /// Visits the dead letters in `scope` matching `filter`, newest first, a
    /// chunk at a time from the dead letters' index (time range, handler and
    /// event type in the statement; the group by its masked error here).
    async fn scan_dead(
        &self,
        scope: &Scope,
        filter: &DeadFilter,
        mut visit: impl FnMut(Keyed) + Send,
    ) -> Result<()> {
        let (all, district) = scope.parts();
        let mut after: Option<(i64, i64)> = None;
        loop {
            let rows = match &self.dialect {
                #[cfg(feature = "sqlite")]
                Dialect::Sqlite(db) => db.dead_chunk(all, district, filter, after, CHUNK).await?,
                #[cfg(feature = "postgres")]
                Dialect::Postgres(db) => db.dead_chunk(all, district, filter, after, CHUNK).await?,
            };
            let full = rows.len() >= CHUNK as usize;
            after = rows.last().map(|r| (r.updated_at, r.id));
            for row in rows {
                if let Some(k) = Keyed::of(row, filter) {
                    visit(k);
                }
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// The dead letters in `scope` matching `filter`, grouped by handler and
    /// by error text with ids, uuids, numbers and quoted values masked
    /// ([`mask_error`]): biggest group first, each with its count, first and
    /// last time seen and its newest letter as a sample. Reads every matching
    /// dead letter (not its event's payload) from the dead letters' index, so
    /// the cost grows with the dead letters, not with the queue.
    ///
    /// ```no_run
    /// # async fn f(store: skillcore_events_store::Store) -> skillcore_events_store::Result<()> {
    /// use skillcore_events_store::{DeadFilter, Scope};
    /// let scope = Scope::district("dst-1");
    /// for g in store.dead_letter_groups(&scope, &DeadFilter::default()).await? {
    ///     println!("{} x{}: {}", g.handler_id, g.count, g.error);
    ///     // Retry the whole group.
    ///     let n = store.retry_dead_matching(&scope, &DeadFilter::default().group(&g.key)).await?;
    ///     assert!(n <= g.count as u64);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn dead_letter_groups(
        &self,
        scope: &Scope,
        filter: &DeadFilter,
    ) -> Result<Vec<DeadGroup>> {
        let mut groups = dead::Groups::default();
        self.scan_dead(scope, filter, |k| groups.add(k)).await?;
        Ok(groups.finish())
    }

    /// How many dead letters in `scope` match `filter` (what a bulk action
    /// would take now).
    pub async fn count_dead_matching(&self, scope: &Scope, filter: &DeadFilter) -> Result<u64> {
        let mut n = 0;
        self.scan_dead(scope, filter, |_| n += 1).await?;
        Ok(n)
    }

    async fn dead_ids(&self, scope: &Scope, filter: &DeadFilter) -> Result<Vec<i64>> {
        let mut ids = Vec::new();
        self.scan_dead(scope, filter, |k| ids.push(k.row.id))
            .await?;
        Ok(ids)
    }

    /// Puts every dead letter in `scope` matching `filter` back in the queue
    /// with a fresh set of attempts, as [`Store::retry_dead`] does one.
    /// Returns exactly how many were retried: the letters are selected first,
    /// then changed a thousand at a time, each statement taking only rows that
    /// are still dead (one retried or discarded meanwhile by someone else is
    /// not counted twice), so publishers and workers are never held up for
    /// long. Letters that die after the selection are not taken.
    pub async fn retry_dead_matching(&self, scope: &Scope, filter: &DeadFilter) -> Result<u64> {
        let ids = self.dead_ids(scope, filter).await?;
        let n = self.update_dead(&ids, true).await?;
        self.notify();
        Ok(n)
    }

    /// Discards every dead letter in `scope` matching `filter` (the rows stay,
    /// marked `discarded`, as with [`Store::discard_dead`]). Returns exactly
    /// how many, as [`Store::retry_dead_matching`] counts.
    pub async fn discard_dead_matching(&self, scope: &Scope, filter: &DeadFilter) -> Result<u64> {
        let ids = self.dead_ids(scope, filter).await?;
        self.update_dead(&ids, false).await
    }

    async fn update_dead(&self, ids: &[i64], retry: bool) -> Result<u64> {
        let mut n = 0;
        for batch in ids.chunks(BATCH) {
            n += match &self.dialect {
                #[cfg(feature = "sqlite")]
                Dialect::Sqlite(db) => db.update_dead(batch, retry).await?,
                #[cfg(feature = "postgres")]
                Dialect::Postgres(db) => db.update_dead(batch, retry).await?,
            };
        }
        Ok(n)
    }
}
