//! The operations queries on PostgreSQL (see `crate::inspect`): the
//! overview's counts, throughput, event search, an event with its deliveries
//! and chain, dead letters by chunk and their bulk updates, all on the
//! store's pool.

use super::row::EventRow;
use super::{sql, PgDb};
use crate::inspect::search::{Access, Bind, Compare, Plan, Sql};
use crate::inspect::{DeadRow, MAX_SCAN};
use crate::row::{EventColumns, StatsRow};
use crate::shared::{micros, stalled};
use crate::{DeadFilter, DeliveryInfo, DeliveryState, HandlerStats, Result, StoredEvent};
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, PgPool};
use sqlx::Arguments;
use std::any::Any;
use std::sync::{Arc, Weak};
use uuid::Uuid;

/// The database's clock in microseconds, as `sql.rs` has it.
const NOW: &str = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint";

/// The columns of an event (`e`) as [`EventRow`] reads them.
const EVENT_COLS: &str = "e.seq, e.id, e.event_type, e.aggregate_type, e.aggregate_id, e.payload, e.metadata, e.version, e.occurred_at, e.tx_id::text::bigint AS tx";

/// The oldest delivery waiting for its first attempt per handler (of the
/// events of district `$1`, or all with NULL).
const OLDEST_WAITING: &str = "SELECT d.handler_id, MIN(d.available_at)
     FROM skc_deliveries d
     WHERE d.status = 'waiting' AND d.attempts = 0
       AND ($1::text IS NULL OR EXISTS (SELECT 1 FROM skc_events e
                                        WHERE e.seq = d.event_seq AND e.district_id = $1))
     GROUP BY d.handler_id";

/// Deliveries finished with `status` per bucket of `$2` microseconds from
/// `$1`, in the scope (`$3`, `$4`).
fn finished(status: &str) -> String {
    format!(
        "SELECT (d.updated_at - $1) / $2, COUNT(*)
         FROM skc_deliveries d
         WHERE d.status = '{status}' AND d.updated_at >= $1
           AND ($3 OR EXISTS (SELECT 1 FROM skc_events e
                              WHERE e.seq = d.event_seq AND e.district_id = $4))
         GROUP BY 1"
    )
}

/// The overview's counting queries on a store's pool, with a token that
/// lives as long as the store.
#[derive(Clone)]
pub(crate) struct Figures {
    pool: PgPool,
    token: Weak<dyn Any + Send + Sync>,
}

impl Figures {
    pub fn token(&self) -> Weak<dyn Any + Send + Sync> {
        self.token.clone()
    }

    /// The queue counters (those of `Store::stats`) and the oldest waiting
    /// delivery per handler, of one district or all.
    pub async fn count(
        &self,
        district: Option<&str>,
    ) -> Result<(Vec<HandlerStats>, Vec<(String, DateTime<Utc>)>)> {
        let rows: Vec<StatsRow> = match district {
            None => sqlx::query_as(sql::STATS_ALL.as_str()),
            Some(d) => sqlx::query_as(sql::STATS_DISTRICT.as_str()).bind(d),
        }
        .fetch_all(&self.pool)
        .await?;
        let oldest: Vec<(String, i64)> = sqlx::query_as(OLDEST_WAITING)
            .bind(district)
            .fetch_all(&self.pool)
            .await?;
        Ok((
            rows.into_iter().map(HandlerStats::from).collect(),
            oldest.into_iter().map(|(h, t)| (h, micros(t))).collect(),
        ))
    }
}

fn arguments(binds: Vec<Bind>) -> PgArguments {
    let mut args = PgArguments::default();
    for b in binds {
        // Binding only fails for types PostgreSQL cannot take; these all can.
        let _ = match b {
            Bind::Bool(v) => args.add(v),
            Bind::I64(v) => args.add(v),
            Bind::F64(v) => args.add(v),
            Bind::Text(v) => args.add(v),
            Bind::Texts(v) => args.add(v),
            Bind::Time(v) => args.add(v),
        };
    }
    args
}

/// The candidate rows of a search: sequence numbers from its index, newest
/// first, at most [`MAX_SCAN`]. One district with no type or aggregate reads
/// the district index.
fn candidates(plan: &Plan<'_>, q: &mut Sql) {
    let before = q.p(Bind::I64(plan.before));
    if let Some((t, field, value)) = plan.field_access() {
        // The field's index, `((payload->>'field'), seq) WHERE event_type =
        // 'type'`: only the events whose field is the value, newest first.
        let value = q.p(Bind::Text(value.to_string()));
        let scan = q.p(Bind::I64(i64::from(MAX_SCAN)));
        q.push(&format!(
            "SELECT seq FROM skc_events WHERE event_type = '{t}' AND payload->>'{field}' = {value} \
             AND seq < {before} ORDER BY seq DESC LIMIT {scan}"
        ));
        return;
    }
    let cond = match plan.access {
        Access::Aggregate(t, id) => format!(
            "aggregate_type = {} AND aggregate_id = {} AND",
            q.p(Bind::Text(t.to_string())),
            q.p(Bind::Text(id.to_string()))
        ),
        Access::Type(t) => format!("event_type = {} AND", q.p(Bind::Text(t.to_string()))),
        Access::Recent if !plan.all => format!(
            "district_id = {} AND",
            q.p(Bind::Text(plan.district.to_string()))
        ),
        Access::Recent => String::new(),
    };
    let scan = q.p(Bind::I64(i64::from(MAX_SCAN)));
    q.push(&format!(
        "SELECT seq FROM skc_events WHERE {cond} seq < {before} ORDER BY seq DESC LIMIT {scan}"
    ));
}

/// The search: the events among the candidates meeting the other filters,
/// newest first, up to one more than a page.
fn search_sql(plan: &Plan<'_>) -> Sql {
    let mut q = Sql::dollar();
    q.push("SELECT ").push(EVENT_COLS).push(" FROM (");
    candidates(plan, &mut q);
    q.push(") AS c JOIN skc_events e ON e.seq = c.seq WHERE ");
    let all = q.p(Bind::Bool(plan.all));
    let district = q.p(Bind::Text(plan.district.to_string()));
    q.push(&format!("({all} OR e.district_id = {district})"));
    if let Some(t) = plan.event_type {
        let t = q.p(Bind::Text(t.to_string()));
        q.push(&format!(" AND e.event_type = {t}"));
    }
    if let Some(from) = plan.from {
        let from = q.p(Bind::Time(from));
        q.push(&format!(" AND e.occurred_at >= {from}"));
    }
    if let Some(to) = plan.to {
        let to = q.p(Bind::Time(to));
        q.push(&format!(" AND e.occurred_at < {to}"));
    }
    if let Some((parts, compare, json)) = &plan.field {
        let path = q.p(Bind::Texts(parts.iter().map(|p| p.to_string()).collect()));
        let cond = match compare {
            // jsonb equality: numbers compare as numbers (85 = 85.0), a
            // string never equals a number.
            Compare::Text(_) | Compare::Int(_) | Compare::Float(_) | Compare::Null => format!(
                "e.payload #> {path}::text[] = {}::text::jsonb",
                q.p(Bind::Text(json.clone()))
            ),
            Compare::Bool(b) => format!("e.payload #> {path}::text[] = '{b}'::jsonb"),
        };
        q.push(&format!(" AND {cond}"));
    }
    let limit = q.p(Bind::I64(i64::from(plan.page) + 1));
    q.push(&format!(" ORDER BY e.seq DESC LIMIT {limit}"));
    q
}

/// How many candidates a search read, and the oldest of them.
fn window_sql(plan: &Plan<'_>) -> Sql {
    let mut q = Sql::dollar();
    q.push("SELECT COUNT(*), MIN(seq) FROM (");
    candidates(plan, &mut q);
    q.push(") AS c");
    q
}

/// A delivery as [`DeliveryInfo`] reads it.
#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: i64,
    handler_id: String,
    status: String,
    attempts: i32,
    last_error: Option<String>,
    replay: i64,
    available_at: i64,
    updated_at: i64,
    lease_until: Option<i64>,
    expired_leases: i32,
    stalled: bool,
}

impl From<DeliveryRow> for DeliveryInfo {
    fn from(r: DeliveryRow) -> Self {
        DeliveryInfo {
            delivery_id: r.id,
            state: DeliveryState::of(&r.status, i64::from(r.attempts), r.stalled),
            handler_id: r.handler_id,
            attempts: r.attempts.max(0) as u32,
            last_error: r.last_error,
            replay: r.replay,
            available_at: micros(r.available_at),
            updated_at: micros(r.updated_at),
            lease_until: r.lease_until.map(micros),
            expired_leases: r.expired_leases.max(0) as u32,
        }
    }
}

impl PgDb {
    /// The overview's counting queries, on the store's pool.
    pub fn figures(&self) -> Figures {
        let token: Arc<dyn Any + Send + Sync> = self.analyze.clone();
        Figures {
            pool: self.pool.clone(),
            token: Arc::downgrade(&token),
        }
    }

    /// Done and dead deliveries per bucket: (bucket, done, dead).
    pub async fn throughput(
        &self,
        all: bool,
        district: &str,
        since_us: i64,
        bucket_us: i64,
    ) -> Result<Vec<(i64, i64, i64)>> {
        let mut out = Vec::new();
        for (i, status) in [(0, "done"), (1, "dead")] {
            let rows: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(finished(status)))
                .bind(since_us)
                .bind(bucket_us)
                .bind(all)
                .bind(district)
                .fetch_all(&self.pool)
                .await?;
            out.extend(
                rows.into_iter()
                    .map(|(b, n)| if i == 0 { (b, n, 0) } else { (b, 0, n) }),
            );
        }
        Ok(out)
    }

    /// The matching events (up to a page and one), how many candidates were
    /// read and the oldest of them.
    /// Whether the field index `name` exists and is valid (a concurrent build
    /// that failed leaves an invalid one, which no query uses: then the
    /// search must not count on it).
    pub async fn field_index_ready(&self, name: &str) -> Result<bool> {
        let valid: Option<bool> = sqlx::query_scalar(
            "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass($1)",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(valid == Some(true))
    }

    pub async fn search(&self, plan: &Plan<'_>) -> Result<(Vec<StoredEvent>, i64, Option<i64>)> {
        let q = search_sql(plan);
        // Planned for its values every time (an unnamed statement), not
        // cached: after five runs of a cached one, PostgreSQL may keep a plan
        // made for any values, and for this join it chose a merge join that
        // walks the whole primary key backwards (1.9 s on a million events
        // for a payload value that matches rarely, against 17 ms planned for
        // the value; docs/performance.md, "The dashboard at scale"). Planning
        // takes about a millisecond.
        let rows: Vec<EventRow> =
            sqlx::query_as_with(sqlx::AssertSqlSafe(q.text), arguments(q.binds))
                .persistent(false)
                .fetch_all(&self.pool)
                .await?;
        let events = rows
            .into_iter()
            .map(|r| EventColumns::from(r).strict())
            .collect::<Result<Vec<_>>>()?;
        let w = window_sql(plan);
        let (examined, floor): (i64, Option<i64>) =
            sqlx::query_as_with(sqlx::AssertSqlSafe(w.text), arguments(w.binds))
                .fetch_one(&self.pool)
                .await?;
        Ok((events, examined, floor))
    }

    /// `EXPLAIN` of the search, a line per plan line.
    pub async fn explain_search(&self, plan: &Plan<'_>) -> Result<Vec<String>> {
        let q = search_sql(plan);
        Ok(sqlx::query_scalar_with(
            sqlx::AssertSqlSafe(format!("EXPLAIN {}", q.text)),
            arguments(q.binds),
        )
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn event_by_id(
        &self,
        all: bool,
        district: &str,
        id: Uuid,
    ) -> Result<Option<StoredEvent>> {
        let row: Option<EventRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {EVENT_COLS} FROM skc_events e
             WHERE e.id = $1 AND ($2 OR e.district_id = $3)"
        )))
        .bind(id)
        .bind(all)
        .bind(district)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| EventColumns::from(r).strict()).transpose()
    }

    pub async fn deliveries_of(
        &self,
        all: bool,
        district: &str,
        id: Uuid,
    ) -> Result<Vec<DeliveryInfo>> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT d.id, d.handler_id, d.status, d.attempts, d.last_error, d.replay,
                    d.available_at, d.updated_at, d.lease_until, d.expired_leases,
                    (d.status = 'active' AND {}) AS stalled
             FROM skc_events e JOIN skc_deliveries d ON d.event_seq = e.seq
             WHERE e.id = $1 AND ($2 OR e.district_id = $3)
             ORDER BY d.id",
            stalled(NOW)
        )))
        .bind(id)
        .bind(all)
        .bind(district)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(DeliveryInfo::from).collect())
    }

    pub async fn correlated(
        &self,
        all: bool,
        district: &str,
        correlation_id: &str,
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        let rows: Vec<EventRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {EVENT_COLS} FROM skc_events e
             WHERE e.metadata->>'correlationId' = $1
               AND e.metadata->>'correlationId' IS NOT NULL
               AND ($2 OR e.district_id = $3)
             ORDER BY e.metadata->>'correlationId', e.seq LIMIT $4"
        )))
        .bind(correlation_id)
        .bind(all)
        .bind(district)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| EventColumns::from(r).strict())
            .collect()
    }

    /// Up to `limit` dead letters matching `f` (but its group) in the scope,
    /// newest first, after `after` (`updated_at`, id) in that order.
    pub async fn dead_chunk(
        &self,
        all: bool,
        district: &str,
        f: &DeadFilter,
        after: Option<(i64, i64)>,
        limit: u32,
    ) -> Result<Vec<DeadRow>> {
        let (at, id) = after.unwrap_or((i64::MAX, i64::MAX));
        // The event is read only when a filter is on it: for every district
        // and every type, the dead letters' index and their rows suffice.
        // (Every parameter is used in both forms: PostgreSQL must type them.)
        let q = if all && f.event_type.is_none() {
            "SELECT d.id, d.handler_id, d.last_error, d.updated_at
             FROM skc_deliveries d
             WHERE d.status = 'dead' AND (d.updated_at, d.id) < ($1, $2)
               AND d.updated_at >= $3 AND d.updated_at < $4
               AND ($5::text IS NULL OR d.handler_id = $5)
               AND ($6::text IS NULL OR $7 OR $8::text IS NULL)
             ORDER BY d.updated_at DESC, d.id DESC LIMIT $9"
        } else {
            "SELECT d.id, d.handler_id, d.last_error, d.updated_at
             FROM skc_deliveries d JOIN skc_events e ON e.seq = d.event_seq
             WHERE d.status = 'dead' AND (d.updated_at, d.id) < ($1, $2)
               AND d.updated_at >= $3 AND d.updated_at < $4
               AND ($5::text IS NULL OR d.handler_id = $5)
               AND ($6::text IS NULL OR e.event_type = $6)
               AND ($7 OR e.district_id = $8)
             ORDER BY d.updated_at DESC, d.id DESC LIMIT $9"
        };
        Ok(sqlx::query_as(q)
            .bind(at)
            .bind(id)
            .bind(f.since.map_or(i64::MIN, |t| t.timestamp_micros()))
            .bind(f.until.map_or(i64::MAX, |t| t.timestamp_micros()))
            .bind(f.handler.as_deref())
            .bind(f.event_type.as_deref())
            .bind(all)
            .bind(district)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?)
    }

    /// The dead letters `ids` (still dead) with their events, in no order.
    pub async fn dead_letters_by_id(&self, ids: &[i64]) -> Result<Vec<crate::DeadLetter>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<super::row::DeadRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT d.id AS delivery_id, d.handler_id, d.attempts, d.last_error, d.updated_at,
                    {EVENT_COLS}
             FROM skc_deliveries d JOIN skc_events e ON e.seq = d.event_seq
             WHERE d.id = ANY($1) AND d.status = 'dead'"
        )))
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(crate::DeadLetter::from).collect())
    }

    /// Retries (`retry`) or discards the dead letters `ids` that are still
    /// dead, in one statement; how many.
    pub async fn update_dead(&self, ids: &[i64], retry: bool) -> Result<u64> {
        let set = if retry {
            format!("status = 'waiting', attempts = 0, available_at = {NOW}, updated_at = {NOW}")
        } else {
            format!("status = 'discarded', updated_at = {NOW}")
        };
        Ok(sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE skc_deliveries SET {set} WHERE id = ANY($1) AND status = 'dead'"
        )))
        .bind(ids)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}
