//! What both dialects use: the wake-ups of this process's workers, times as
//! the store keeps them, the checks of names and fields, lease owners, and
//! the claim condition of ordered deliveries.

use crate::{Claimed, Result, StoreError};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
#[cfg(feature = "postgres")]
use sqlx::postgres::PgPool;
use std::time::Duration;
use uuid::Uuid;

/// Wake-ups of this process's workers, counted, so a worker can tell whether
/// one came while it was not waiting.
#[derive(Default)]
pub(crate) struct Wake {
    pub notify: tokio::sync::Notify,
    pub count: std::sync::atomic::AtomicU64,
    /// PostgreSQL: the one-connection pool of this store's `LISTEN` task, set
    /// by the first [`crate::Store::listen`]; closed when the last handle of
    /// the store is dropped, which ends the task.
    #[cfg(feature = "postgres")]
    pub listener: std::sync::OnceLock<PgPool>,
}

impl Wake {
    pub fn notify(&self) {
        self.count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.notify.notify_waiters();
    }
}

#[cfg(feature = "postgres")]
impl Drop for Wake {
    fn drop(&mut self) {
        if let Some(pool) = self.listener.get() {
            // Marks the pool closed at once (the returned future only waits for
            // its connection to go), so the listener's `recv` ends.
            drop(pool.close());
        }
    }
}

pub(crate) fn micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

pub(crate) fn now_us() -> i64 {
    Utc::now().timestamp_micros()
}

/// A duration in microseconds, as leases and delays are stored.
pub(crate) fn duration_us(d: Duration) -> i64 {
    d.as_micros().min(i64::MAX as u128) as i64
}

// Fixed width, so text order is time order in SQLite.
pub(crate) fn ts_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("occurred_at `{s}`: {e}")))
}

pub(crate) fn parse_json(s: &str, what: &str) -> Result<Value> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

pub(crate) fn check_field(field: &str) -> Result<()> {
    let ok = field.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && field.chars().all(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidField(field.to_string()))
    }
}

#[cfg(feature = "postgres")]
pub(crate) fn check_schema_name(schema: &str) -> Result<()> {
    if !schema.is_empty()
        && schema.len() < 64
        && schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        Ok(())
    } else {
        Err(StoreError::InvalidSchemaName(schema.to_string()))
    }
}

#[cfg(feature = "postgres")]
// Two processes creating the same schema at once: one of them gets a unique
// violation on the catalog; the schema exists either way.
pub(crate) fn ignore_concurrent_create(
    e: sqlx::Error,
) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error> {
    match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => {
            Ok(Default::default())
        }
        _ => Err(e),
    }
}

/// A lease owner for one claim: the worker's id and a number unique in this
/// process (starting at a random point, so that two processes mistakenly
/// sharing a worker id still do not share owners). Every claimed row carries
/// it, so it is kept short.
pub(crate) fn claim_owner(worker: &str) -> String {
    static NEXT: std::sync::OnceLock<std::sync::atomic::AtomicU64> = std::sync::OnceLock::new();
    let n = NEXT
        .get_or_init(|| std::sync::atomic::AtomicU64::new(Uuid::now_v7().as_u64_pair().1 >> 16))
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{worker}:{n:x}")
}

/// A claim as the dialects run it: the lease owner of this claim, the
/// handlers, how many at most and for how long (microseconds).
pub(crate) struct Claim {
    pub owner: String,
    pub handlers: Vec<String>,
    pub limit: u32,
    pub lease_us: i64,
}

impl Claim {
    pub fn new(worker: &str, handlers: &[&str], limit: u32, lease: Duration) -> Claim {
        let handlers: Vec<String> = handlers.iter().map(|h| h.to_string()).collect();
        let lease_us = duration_us(lease);
        Claim {
            owner: claim_owner(worker),
            handlers,
            limit,
            lease_us,
        }
    }
}

/// The successes in `done` whose lease was lost (missing from the sorted
/// `completed`), as the handler ids and event ids to record in
/// `skc_handled`; `None` when there are none.
pub(crate) fn lost_leases(
    done: &[&Claimed],
    completed: &[i64],
) -> Option<(Vec<String>, Vec<String>)> {
    let lost: Vec<&Claimed> = done
        .iter()
        .copied()
        .filter(|c| completed.binary_search(&c.delivery_id).is_err())
        .collect();
    if lost.is_empty() {
        return None;
    }
    let handlers = lost.iter().map(|c| c.handler_id.clone()).collect();
    let events = lost.iter().map(|c| c.event.event.id.to_string()).collect();
    Some((handlers, events))
}

/// The claim condition of ordered deliveries (`d`), the same in both dialects:
/// no earlier event of the same aggregate is still waiting or running for the
/// handler (in the same replay batch).
pub(crate) const ORDER_CLEAR: &str = "(d.ordering_key IS NULL OR NOT EXISTS (
           SELECT 1 FROM skc_deliveries p
           WHERE p.handler_id = d.handler_id AND p.ordering_key = d.ordering_key
             AND p.replay = d.replay AND p.event_seq < d.event_seq
             AND p.status IN ('waiting', 'active')))";

/// Queue counters per handler (`d`), the same in both dialects; each adds its
/// grouping, and for one district the join with the events. `now` is the
/// dialect's clock in microseconds. An active delivery is stalled when its
/// lease ran out, or was not renewed for two renewal periods (a worker renews
/// three times per lease length: see [`STALLED`]).
pub(crate) fn stats(now: &str) -> String {
    let stalled = stalled(now);
    format!(
        "SELECT d.handler_id,
              CAST(SUM(CASE WHEN d.status = 'waiting' AND d.attempts = 0 THEN 1 ELSE 0 END) AS BIGINT) AS waiting,
              CAST(SUM(CASE WHEN d.status = 'active' AND NOT {stalled} THEN 1 ELSE 0 END) AS BIGINT) AS active,
              CAST(SUM(CASE WHEN d.status = 'done' THEN 1 ELSE 0 END) AS BIGINT) AS completed,
              CAST(SUM(CASE WHEN d.status = 'waiting' AND d.attempts > 0 THEN 1 ELSE 0 END) AS BIGINT) AS failed,
              CAST(SUM(CASE WHEN d.status = 'dead' THEN 1 ELSE 0 END) AS BIGINT) AS dead,
              CAST(SUM(CASE WHEN d.status = 'active' AND {stalled} THEN 1 ELSE 0 END) AS BIGINT) AS stalled
            FROM skc_deliveries d"
    )
}

/// [`stats`] of every delivery, per handler: what the counters of
/// [`counted_stats`] must agree with. `filter` joins or selects the district
/// (empty for all).
pub(crate) fn recount(now: &str, filter: &str) -> String {
    format!(
        "{}{filter} GROUP BY d.handler_id ORDER BY d.handler_id",
        stats(now)
    )
}

/// The queue counters per handler without reading the history: completed
/// from the done counters (migration 10: `counts` is a relation of
/// `district_id, handler_id, n`), every other state from its partial index
/// (waiting and failed from `skc_deliveries_waiting`, active and stalled
/// from `skc_deliveries_leased`, dead from `skc_deliveries_dead`), which hold
/// the unfinished work and the dead letters only; discarded and cancelled
/// ones (kept until retention prunes them) only list their handler, as a
/// count of every delivery does. `district` is the
/// placeholder of the one district to count, `None` for all. The same rows
/// and figures as [`recount`].
pub(crate) fn counted_stats(now: &str, counts: &str, district: Option<&str>) -> String {
    let stalled = stalled(now);
    let (counted, joined) = match district {
        None => (String::new(), String::new()),
        Some(p) => (
            format!(" WHERE c.district_id = {p}"),
            format!(" JOIN skc_events e ON e.seq = d.event_seq AND e.district_id = {p}"),
        ),
    };
    // Handlers whose only deliveries are discarded or cancelled stay listed.
    // Across districts that is one index entry per handler, each found by a
    // skip past the last (`skc_deliveries_finished_handler`): a replay of
    // millions cancelled costs nothing here. In one district the deliveries
    // are joined to their events (bounded by retention, which prunes them).
    let finished = match district {
        None => "SELECT h.handler_id, 0, 0, 0, 0, 0, 0, 1
                  FROM (WITH RECURSIVE h(handler_id) AS (
                          SELECT (SELECT f.handler_id FROM skc_deliveries f
                                   WHERE f.status IN ('discarded', 'cancelled')
                                   ORDER BY f.handler_id LIMIT 1)
                          UNION ALL
                          SELECT (SELECT f.handler_id FROM skc_deliveries f
                                   WHERE f.status IN ('discarded', 'cancelled')
                                     AND f.handler_id > h.handler_id
                                   ORDER BY f.handler_id LIMIT 1)
                            FROM h WHERE h.handler_id IS NOT NULL)
                        SELECT handler_id FROM h WHERE handler_id IS NOT NULL) h"
            .to_string(),
        Some(_) => format!(
            "SELECT d.handler_id, 0, 0, 0, 0, 0, 0, 1
                  FROM skc_deliveries d{joined} WHERE d.status IN ('discarded', 'cancelled')"
        ),
    };
    let sum = |column: &str| format!("CAST(SUM(x.{column}) AS BIGINT) AS {column}");
    format!(
        "SELECT x.handler_id, {}, {}, {}, {}, {}, {}
            FROM (SELECT c.handler_id, 0 AS waiting, 0 AS active, c.n AS completed,
                         0 AS failed, 0 AS dead, 0 AS stalled, c.n AS listed
                  FROM {counts} c{counted}
                  UNION ALL
                  SELECT d.handler_id, CASE WHEN d.attempts = 0 THEN 1 ELSE 0 END, 0, 0,
                         CASE WHEN d.attempts > 0 THEN 1 ELSE 0 END, 0, 0, 1
                  FROM skc_deliveries d{joined} WHERE d.status = 'waiting'
                  UNION ALL
                  SELECT d.handler_id, 0, CASE WHEN {stalled} THEN 0 ELSE 1 END, 0, 0, 0,
                         CASE WHEN {stalled} THEN 1 ELSE 0 END, 1
                  FROM skc_deliveries d{joined} WHERE d.status = 'active'
                  UNION ALL
                  SELECT d.handler_id, 0, 0, 0, 0, 1, 0, 1
                  FROM skc_deliveries d{joined} WHERE d.status = 'dead'
                  UNION ALL
                  {finished}) x
            GROUP BY x.handler_id
            HAVING SUM(x.listed) > 0
            ORDER BY x.handler_id",
        sum("waiting"),
        sum("active"),
        sum("completed"),
        sum("failed"),
        sum("dead"),
        sum("stalled"),
    )
}

/// The condition, on an active delivery `d` at time `now`, that its worker
/// stopped renewing its lease: the lease ran out, or it was last renewed more
/// than two thirds of its length ago (two renewal periods missed). A lease
/// taken before migration 7 (no renewal time) is stalled once it ran out.
pub(crate) const STALLED: &str = "(d.lease_until < NOW
             OR (d.lease_renewed IS NOT NULL AND 3 * NOW > d.lease_renewed + 2 * d.lease_until))";

/// [`STALLED`] with the dialect's clock.
pub(crate) fn stalled(now: &str) -> String {
    STALLED.replace("NOW", now)
}
