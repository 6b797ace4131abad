//! Reads of the store on PostgreSQL (events by aggregate, type or field, the
//! global order, queue counters, pending work) and replays.

use super::row::EventRow;
use super::{sql, PgDb};
use crate::field_index::plain_type;
use crate::row::{EventColumns, StatsRow};
use crate::{Cursor, HandlerStats, ReplayFilter, ReplayProgress, Result, StoredEvent};
use chrono::{DateTime, Utc};

impl PgDb {
    /// Events in the scope (`all`, `district`) by `sql`, whose other
    /// parameters from `$3` on are `args`.
    async fn select_events(
        &self,
        sql: impl sqlx::SqlSafeStr,
        all: bool,
        district: &str,
        args: &[&str],
    ) -> Result<Vec<StoredEvent>> {
        let mut q = sqlx::query_as::<_, EventRow>(sql).bind(all).bind(district);
        for a in args {
            q = q.bind(*a);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.into_iter()
            .map(|r| EventColumns::from(r).strict())
            .collect()
    }

    pub async fn aggregate_events(
        &self,
        all: bool,
        district: &str,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Vec<StoredEvent>> {
        self.select_events(
            sql::AGGREGATE_EVENTS.as_str(),
            all,
            district,
            &[aggregate_type, aggregate_id],
        )
        .await
    }

    pub async fn events_by_type(
        &self,
        all: bool,
        district: &str,
        event_type: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<StoredEvent>> {
        let rows: Vec<EventRow> = sqlx::query_as(sql::EVENTS_BY_TYPE.as_str())
            .bind(all)
            .bind(district)
            .bind(event_type)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|r| EventColumns::from(r).strict())
            .collect()
    }

    /// `field` is checked by the caller; it is bound as the key of `->>`.
    pub async fn events_by_field(
        &self,
        all: bool,
        district: &str,
        event_type: &str,
        field: &str,
        value: &str,
    ) -> Result<Vec<StoredEvent>> {
        if plain_type(event_type) {
            // With the type and the key in the statement, an index of the
            // field (`Store::create_field_index`) serves it.
            return self
                .select_events(
                    sqlx::AssertSqlSafe(sql::events_by_indexed_field(event_type, field)),
                    all,
                    district,
                    &[value],
                )
                .await;
        }
        self.select_events(
            sql::EVENTS_BY_FIELD.as_str(),
            all,
            district,
            &[event_type, field, value],
        )
        .await
    }

    /// In `(transaction, seq)` order, only events of transactions older than
    /// every one still in flight: an event whose transaction commits later is
    /// read later, not passed over.
    pub async fn read_after(
        &self,
        all: bool,
        district: &str,
        cursor: Cursor,
        limit: u32,
    ) -> Result<(Vec<StoredEvent>, Cursor)> {
        let rows: Vec<EventRow> = sqlx::query_as(sql::READ_AFTER.as_str())
            .bind(cursor.tx.to_string())
            .bind(cursor.seq)
            .bind(all)
            .bind(district)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        let mut next = cursor;
        let mut events = Vec::with_capacity(rows.len());
        for r in rows {
            next = Cursor {
                tx: r.tx,
                seq: r.seq(),
            };
            events.push(EventColumns::from(r).strict()?);
        }
        Ok((events, next))
    }

    pub async fn has_pending(&self, handlers: &[String]) -> Result<bool> {
        Ok(sqlx::query_scalar(sql::HAS_PENDING)
            .bind(handlers)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Counters of all districts, or of one: from the counters, or counted
    /// from every delivery (`recount`).
    pub async fn stats(&self, district: Option<&str>, recount: bool) -> Result<Vec<HandlerStats>> {
        let statement = match (district.is_some(), recount) {
            (false, false) => sql::STATS_ALL.as_str(),
            (true, false) => sql::STATS_DISTRICT.as_str(),
            (false, true) => sql::RECOUNT_ALL.as_str(),
            (true, true) => sql::RECOUNT_DISTRICT.as_str(),
        };
        let mut q = sqlx::query_as::<_, StatsRow>(statement);
        if let Some(d) = district {
            q = q.bind(d);
        }
        let rows = q.fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(HandlerStats::from).collect())
    }

    /// Queues the matching events again for `handler_id` as `batch`; how many.
    pub async fn replay(
        &self,
        all: bool,
        district: &str,
        handler_id: &str,
        filter: &ReplayFilter,
        batch: i64,
    ) -> Result<u64> {
        let statement = match (filter.event_type.is_some(), filter.since.is_some()) {
            (true, false) => sql::REPLAY_OF_TYPE.as_str(),
            (false, false) => sql::REPLAY.as_str(),
            (true, true) => sql::REPLAY_OF_TYPE_SINCE.as_str(),
            (false, true) => sql::REPLAY_SINCE.as_str(),
        };
        let n = sqlx::query(statement)
            .bind(handler_id)
            .bind(batch)
            .bind(filter.event_type.as_deref())
            .bind(filter.since)
            .bind(all)
            .bind(district)
            .execute(&self.pool)
            .await?
            .rows_affected();
        self.analyze_after_bulk(n);
        Ok(n)
    }

    pub async fn replay_progress(
        &self,
        all: bool,
        district: &str,
        handler_id: &str,
        batch: i64,
    ) -> Result<ReplayProgress> {
        let (total, done, dead): (i64, i64, i64) = sqlx::query_as(sql::REPLAY_PROGRESS)
            .bind(handler_id)
            .bind(batch)
            .bind(all)
            .bind(district)
            .fetch_one(&self.pool)
            .await?;
        Ok(ReplayProgress { total, done, dead })
    }
}
