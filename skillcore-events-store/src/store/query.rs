//! The store's dead letters, queries and replays, each handed over to its
//! dialect with the scope as the two values of `(? OR district_id = ?)`.

use super::{Dialect, Store};
use crate::shared::{check_field, now_us};
use crate::{
    Cursor, DeadLetter, HandlerStats, ReplayFilter, ReplayProgress, Result, Scope, ScopeParts,
    StoreError, StoredEvent,
};
use chrono::{DateTime, Utc};

impl Store {
    /// Dead letters of the events in `scope`, oldest first, optionally of one
    /// handler. Each holds its whole event: a caller working for one district
    /// passes that district's scope.
    pub async fn dead_letters(
        &self,
        scope: &Scope,
        handler: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DeadLetter>> {
        let (all, district) = scope.parts();
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.dead_letters(all, district, handler, limit).await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.dead_letters(all, district, handler, limit).await,
        }
    }

    /// Puts a dead letter back in the queue with a fresh set of attempts.
    /// Returns `false` if it is not a dead letter (any more), or not one of an
    /// event in `scope`.
    pub async fn retry_dead(&self, scope: &Scope, delivery_id: i64) -> Result<bool> {
        let (all, district) = scope.parts();
        let n = match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.retry_dead(all, district, delivery_id).await?,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.retry_dead(all, district, delivery_id).await?,
        };
        self.notify();
        Ok(n == 1)
    }

    /// Drops a dead letter for good (the row stays, marked `discarded`, for
    /// audit). Returns `false` if it is not a dead letter (any more), or not one
    /// of an event in `scope`.
    pub async fn discard_dead(&self, scope: &Scope, delivery_id: i64) -> Result<bool> {
        let (all, district) = scope.parts();
        let n = match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.discard_dead(all, district, delivery_id).await?,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.discard_dead(all, district, delivery_id).await?,
        };
        Ok(n == 1)
    }

    /// Whether any of these handlers has a delivery not yet finished (waiting,
    /// retrying or running). Reads the partial indexes of unfinished deliveries
    /// only, cheap enough to poll.
    pub async fn has_pending(&self, handlers: &[&str]) -> Result<bool> {
        let list: Vec<String> = handlers.iter().map(|h| h.to_string()).collect();
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.has_pending(&list).await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.has_pending(&list).await,
        }
    }

    /// Queue counters per handler of the deliveries of events in `scope`,
    /// sorted by handler id, without reading the history: completed from the
    /// counters the store keeps per district and handler as deliveries
    /// become done or are deleted (migration 10), waiting, failed (waiting
    /// again after a failure), active, stalled and dead from the partial
    /// indexes that hold only those deliveries. Its cost grows with the
    /// unfinished work and the dead letters, not with the store. A handler is
    /// listed while it has any delivery waiting, active, done or dead.
    ///
    /// On PostgreSQL only the store's own statements keep the done counters:
    /// after done deliveries are changed or deleted by hand, run
    /// [`Store::rebuild_counters`]. [`Store::recount_stats`] counts every
    /// delivery instead, what these figures must equal.
    pub async fn stats(&self, scope: &Scope) -> Result<Vec<HandlerStats>> {
        self.stats_by(scope, false).await
    }

    /// [`Store::stats`] counted from every delivery instead of the counters:
    /// what they must agree with. A read of the whole queue: seconds on one
    /// of millions.
    pub async fn recount_stats(&self, scope: &Scope) -> Result<Vec<HandlerStats>> {
        self.stats_by(scope, true).await
    }

    async fn stats_by(&self, scope: &Scope, recount: bool) -> Result<Vec<HandlerStats>> {
        // One district joins each delivery's event for its district (an
        // event's deliveries carry none); the counters are kept per district.
        let district = match scope {
            Scope::District(d) => Some(d.as_str()),
            Scope::AllDistricts => None,
        };
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.stats(district, recount).await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.stats(district, recount).await,
        }
    }

    /// The events of one aggregate, in order.
    pub async fn aggregate_events(
        &self,
        scope: &Scope,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Vec<StoredEvent>> {
        let (all, district) = scope.parts();
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => {
                db.aggregate_events(all, district, aggregate_type, aggregate_id)
                    .await
            }
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => {
                db.aggregate_events(all, district, aggregate_type, aggregate_id)
                    .await
            }
        }
    }

    /// The events of one type that occurred in `[from, to)`, in order.
    pub async fn events_by_type(
        &self,
        scope: &Scope,
        event_type: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<StoredEvent>> {
        let (all, district) = scope.parts();
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.events_by_type(all, district, event_type, from, to).await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.events_by_type(all, district, event_type, from, to).await,
        }
    }

    /// The events of one type whose payload field `field` equals `value` (compared
    /// as text: `payload->>'studentId' = 'student-123'`). The caller checks that the
    /// field exists in the catalog; the value is always a bound parameter. The
    /// text of a value is the same on both backends: a boolean is `true` or
    /// `false` (SQLite's `json_extract` would give `1` or `0`), a string is
    /// itself, without quotes.
    pub async fn events_by_field(
        &self,
        scope: &Scope,
        event_type: &str,
        field: &str,
        value: &str,
    ) -> Result<Vec<StoredEvent>> {
        check_field(field)?;
        let (all, district) = scope.parts();
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => {
                db.events_by_field(all, district, event_type, field, value)
                    .await
            }
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => {
                db.events_by_field(all, district, event_type, field, value)
                    .await
            }
        }
    }

    /// [`Store::events_by_field`] with the field checked against the catalog
    /// (`EVENTS` of the generated code, or `AnyEvent::events()`): an unknown event
    /// or field is an error that lists what exists, not an empty result.
    pub async fn events_by_catalog_field(
        &self,
        scope: &Scope,
        catalog: &[skillcore_events::EventInfo],
        event_type: &str,
        field: &str,
        value: &str,
    ) -> Result<Vec<StoredEvent>> {
        check_catalog_field(catalog, event_type, field)?;
        self.events_by_field(scope, event_type, field, value).await
    }

    /// Up to `limit` events after `cursor` in the global order, with the cursor to
    /// continue from. Never skips an event: on PostgreSQL it reads in
    /// `(transaction, seq)` order and only events of transactions older than every
    /// transaction still in flight, so an event whose transaction commits later is
    /// read later, not passed over.
    pub async fn read_after(
        &self,
        scope: &Scope,
        cursor: Cursor,
        limit: u32,
    ) -> Result<(Vec<StoredEvent>, Cursor)> {
        let (all, district) = scope.parts();
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.read_after(all, district, cursor, limit).await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.read_after(all, district, cursor, limit).await,
        }
    }

    /// Queues the stored events in `scope` matching `filter` again for one
    /// handler, as a replay batch that bypasses the idempotency record (the handler
    /// is rebuilding its projection). Returns the batch id and the number of
    /// deliveries queued; follow it with [`Store::replay_progress`].
    ///
    /// A filter naming an event renamed in a catalog linked into this process
    /// (`renamed_from`) also takes the events stored under its old names, as
    /// its handlers do.
    pub async fn replay(
        &self,
        scope: &Scope,
        handler_id: &str,
        filter: &ReplayFilter,
    ) -> Result<(i64, i64)> {
        let batch = now_us();
        let (all, district) = scope.parts();
        // The old names first: their events were stored before the rename.
        let mut filters: Vec<ReplayFilter> = match &filter.event_type {
            Some(name) => skillcore_events::__private::RENAMES
                .iter()
                .filter(|(old, new)| new == name && old != name)
                .map(|(old, _)| ReplayFilter {
                    event_type: Some(old.to_string()),
                    since: filter.since,
                })
                .collect(),
            None => Vec::new(),
        };
        filters.push(filter.clone());
        let mut n = 0;
        for f in &filters {
            n += match &self.dialect {
                #[cfg(feature = "sqlite")]
                Dialect::Sqlite(db) => db.replay(all, district, handler_id, f, batch).await?,
                #[cfg(feature = "postgres")]
                Dialect::Postgres(db) => db.replay(all, district, handler_id, f, batch).await?,
            };
        }
        self.notify();
        Ok((batch, n as i64))
    }

    /// Progress of a replay batch of one handler, counting the deliveries of
    /// events in `scope`.
    pub async fn replay_progress(
        &self,
        scope: &Scope,
        handler_id: &str,
        batch: i64,
    ) -> Result<ReplayProgress> {
        let (all, district) = scope.parts();
        match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.replay_progress(all, district, handler_id, batch).await,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.replay_progress(all, district, handler_id, batch).await,
        }
    }
}

/// The catalog declares event `event_type` with payload field `field`; else
/// an error listing what exists.
pub(super) fn check_catalog_field(
    catalog: &[skillcore_events::EventInfo],
    event_type: &str,
    field: &str,
) -> Result<()> {
    let info = catalog
        .iter()
        .find(|e| e.name == event_type)
        .ok_or_else(|| StoreError::UnknownEvent(event_type.to_string()))?;
    if info.field(field).is_none() {
        return Err(StoreError::UnknownField {
            event: event_type.to_string(),
            field: field.to_string(),
            fields: info.fields.iter().map(|f| f.name.to_string()).collect(),
        });
    }
    Ok(())
}
