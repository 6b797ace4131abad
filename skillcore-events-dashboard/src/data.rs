//! What the pages and the JSON API show, read from the store once for both:
//! the overview rows, events as a viewer sees them, searches, dead-letter
//! groups. Every value here is data; escaping is the pages' (maud's) job.

use crate::access::Grant;
use crate::App;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use skillcore_events_store::{
    mask_error, DeadLetter, EventCursor, EventQuery, Scope, StoreError, StoredEvent,
};

/// A request that cannot be answered as asked: 400 with this message.
#[derive(Debug)]
pub(crate) enum Problem {
    Bad(String),
    NotFound(String),
    Store(StoreError),
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            // The store's refusal of a search or filter says what to change.
            StoreError::InvalidQuery(why) => Problem::Bad(why),
            e => Problem::Store(e),
        }
    }
}

/// One handler's row of the overview: the keys of `queue stats --format json`
/// and what the dashboard adds.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OverviewRow {
    pub handler: String,
    pub waiting: i64,
    pub active: i64,
    pub stalled: i64,
    pub completed: i64,
    pub failed: i64,
    pub dead: i64,
    /// Deliveries not yet handled: waiting, retrying, running or stalled.
    pub lag: i64,
    /// Seconds since the oldest waiting delivery's event occurred, if any waits.
    pub oldest_waiting_age_seconds: Option<f64>,
    /// Dead letters, retries or stalled leases: shown first.
    pub problem: bool,
    /// When the store counted these figures.
    pub as_of: String,
}

/// The scope a request sees with an optional district filter: `None` when
/// the filter names a district outside the grant (nothing to show).
pub(crate) fn scope_for(grant: &Grant, district: Option<&str>) -> Option<Scope> {
    match (district, &grant.scope) {
        (None, s) => Some(s.clone()),
        (Some(d), Scope::AllDistricts) => Some(Scope::district(d)),
        (Some(d), Scope::District(mine)) if d == mine => Some(Scope::district(d)),
        _ => None,
    }
}

/// The overview rows of `scope`, problem handlers first (from the store's
/// overview, counted in the background: `as_of` says when); `None` while the
/// scope's first count is still running after the configured wait
/// ([`crate::DashboardConfig::first_count_wait`]; the count goes on in the
/// background and a later request finds its figures).
pub(crate) async fn overview(
    app: &App,
    scope: &Scope,
) -> Result<Option<Vec<OverviewRow>>, Problem> {
    let rows = match within(app.config.first_count_wait, app.store.overview(scope)).await {
        Some(rows) => rows?,
        None => return Ok(None),
    };
    let mut rows: Vec<OverviewRow> = rows
        .into_iter()
        .map(|s| OverviewRow {
            oldest_waiting_age_seconds: s
                .oldest_waiting_age()
                .map(|d| d.num_milliseconds() as f64 / 1000.0),
            as_of: time(&s.as_of),
            lag: s.lag,
            problem: s.dead > 0 || s.failed > 0 || s.stalled > 0,
            handler: s.handler_id,
            waiting: s.waiting,
            active: s.active,
            stalled: s.stalled,
            completed: s.completed,
            failed: s.failed,
            dead: s.dead,
        })
        .collect();
    sort_problems_first(&mut rows);
    Ok(Some(rows))
}

/// `f`'s output if it is ready within `wait`. A zero wait polls `f` once
/// and never yields: `tokio::time::timeout(ZERO, ..)` registers a timer that
/// fires at the next millisecond tick at the earliest, so a future that
/// becomes ready in the meantime (a first count of a small store, done on
/// the driver's thread) would be waited for after all.
pub(crate) async fn within<F: std::future::Future>(
    wait: std::time::Duration,
    f: F,
) -> Option<F::Output> {
    if !wait.is_zero() {
        return tokio::time::timeout(wait, f).await.ok();
    }
    let mut f = std::pin::pin!(f);
    let polled = std::future::poll_fn(|cx| std::task::Poll::Ready(f.as_mut().poll(cx))).await;
    match polled {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    }
}

pub(crate) fn sort_problems_first(rows: &mut [OverviewRow]) {
    rows.sort_by(|a, b| {
        (b.problem, b.dead, b.failed + b.stalled, b.lag)
            .cmp(&(a.problem, a.dead, a.failed + a.stalled, a.lag))
            .then_with(|| a.handler.cmp(&b.handler))
    });
}

/// An event as a viewer sees it (pii redacted without the grant).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EventView {
    pub seq: i64,
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub version: u32,
    pub occurred_at: String,
    pub district_id: Option<String>,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    pub metadata: Value,
    pub payload: Value,
}

pub(crate) fn time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub(crate) fn view(app: &App, grant: &Grant, e: &StoredEvent) -> EventView {
    let ev = &e.event;
    let meta = |k: &str| {
        ev.metadata
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    EventView {
        seq: e.seq,
        id: ev.id.to_string(),
        event_type: ev.event_type.clone(),
        aggregate_type: ev.aggregate_type.clone(),
        aggregate_id: ev.aggregate_id.clone(),
        version: ev.version,
        occurred_at: time(&ev.occurred_at),
        district_id: meta("districtId"),
        correlation_id: meta("correlationId"),
        causation_id: meta("causationId"),
        metadata: ev.metadata.clone(),
        payload: crate::redact::payload(app, grant, &ev.event_type, &ev.payload),
    }
}

/// The filter of the events search (query string, empty values as absent).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct EventFilter {
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub aggregate_type: Option<String>,
    pub aggregate_id: Option<String>,
    pub district: Option<String>,
    pub field: Option<String>,
    pub value: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

pub(crate) fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn parse_time(name: &str, v: Option<&str>) -> Result<Option<DateTime<Utc>>, Problem> {
    match v {
        None => Ok(None),
        Some(t) => {
            // `datetime-local` inputs give no seconds and no zone: taken as UTC.
            let full = if t.len() == 16 {
                format!("{t}:00Z")
            } else {
                t.to_string()
            };
            let full = if full.ends_with('Z') || full.contains('+') {
                full
            } else {
                format!("{full}Z")
            };
            DateTime::parse_from_rfc3339(&full)
                .map(|d| Some(d.with_timezone(&Utc)))
                .map_err(|_| {
                    Problem::Bad(format!(
                    "`{name}` is not a time: write it as RFC 3339, for example 2026-01-31T08:00:00Z"
                ))
                })
        }
    }
}

/// One page of a search, newest first, with the cursor of the next (older) page.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct EventPage {
    pub events: Vec<EventView>,
    pub next: Option<String>,
}

pub(crate) const MAX_LIMIT: u32 = 200;

/// The JSON value a payload field is compared with: a number or boolean
/// when the catalog types the field so, else the text itself.
fn field_value(app: &App, ty: &str, field: &str, value: &str) -> Value {
    let base = app
        .config
        .event(ty)
        .and_then(|e| e.field(field))
        .map(|f| f.base_type());
    match base {
        Some("int" | "number") => value
            .parse::<serde_json::Number>()
            .map(Value::Number)
            .unwrap_or_else(|_| Value::String(value.into())),
        Some("bool") if value == "true" || value == "false" => Value::Bool(value == "true"),
        _ => Value::String(value.into()),
    }
}

/// Searches the events of the grant's scope ([`Store::search_events`]:
/// one index per search, keyset cursor).
///
/// [`Store::search_events`]: skillcore_events_store::Store::search_events
pub(crate) async fn search(
    app: &App,
    grant: &Grant,
    f: &EventFilter,
) -> Result<EventPage, Problem> {
    let limit = f.limit.unwrap_or(50).clamp(1, MAX_LIMIT);
    let ty = given(&f.event_type);
    let field = given(&f.field);
    if let (Some(field), Some(ty)) = (field, ty) {
        if let Some(info) = app.config.event(ty) {
            // A match would tell a viewer without the grant the value.
            if info.field(field).is_some_and(|f| f.pii) && !grant.pii {
                return Err(Problem::Bad(format!(
                    "`{field}` is a pii field: searching by it needs the pii grant"
                )));
            }
            if info.field(field).is_none() {
                return Err(Problem::Bad(format!(
                    "event `{ty}` has no payload field `{field}`; its fields: {}",
                    info.fields
                        .iter()
                        .map(|f| f.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
    }
    let Some(scope) = scope_for(grant, given(&f.district)) else {
        return Ok(EventPage {
            events: vec![],
            next: None,
        });
    };
    let mut q = EventQuery::new(scope).limit(limit);
    q.event_type = ty.map(str::to_string);
    q.from = parse_time("from", given(&f.from))?;
    q.to = parse_time("to", given(&f.to))?;
    q.cursor = given(&f.cursor)
        .map(str::parse::<EventCursor>)
        .transpose()?;
    match (given(&f.aggregate_type), given(&f.aggregate_id)) {
        (Some(t), Some(id)) => q = q.aggregate(t, id),
        (None, None) => {}
        _ => {
            return Err(Problem::Bad(
                "an aggregate is its type and its id: give both `aggregateType` and `aggregateId`"
                    .into(),
            ))
        }
    }
    if let Some(field) = field {
        let value = f.value.as_deref().map(str::trim).unwrap_or("");
        q = q.field(field, field_value(app, ty.unwrap_or(""), field, value));
    }
    let page = app.store.search_events(&q).await?;
    Ok(EventPage {
        events: page.events.iter().map(|e| view(app, grant, e)).collect(),
        next: page.next.map(|c| c.to_string()),
    })
}

/// A stretch of one aggregate's events in order (oldest first): the newest
/// [`AGGREGATE_PAGE`] before `cursor` (from the aggregate's index), with the
/// cursor of the earlier stretch.
pub(crate) async fn aggregate_page(
    app: &App,
    grant: &Grant,
    ty: &str,
    id: &str,
    cursor: Option<String>,
) -> Result<EventPage, Problem> {
    let f = EventFilter {
        aggregate_type: Some(ty.to_string()),
        aggregate_id: Some(id.to_string()),
        cursor,
        limit: Some(AGGREGATE_PAGE),
        ..Default::default()
    };
    let mut page = search(app, grant, &f).await?;
    page.events.reverse();
    Ok(page)
}

/// Events per stretch of an aggregate's stream.
pub(crate) const AGGREGATE_PAGE: u32 = 200;

/// One event by id, in the scope.
pub(crate) async fn event(
    app: &App,
    scope: &Scope,
    id: uuid::Uuid,
) -> Result<Option<StoredEvent>, Problem> {
    Ok(app.store.event(scope, id).await?)
}

/// The deliveries of one event.
pub(crate) async fn deliveries(
    app: &App,
    scope: &Scope,
    id: uuid::Uuid,
) -> Result<Vec<crate::pages::events::DeliveryView>, Problem> {
    Ok(app
        .store
        .deliveries_of(scope, id)
        .await?
        .into_iter()
        .map(|d| crate::pages::events::DeliveryView {
            id: d.delivery_id,
            handler: d.handler_id,
            state: serde_json::to_value(&d.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| "other".into()),
            attempts: d.attempts,
            last_error: d.last_error,
            replay: d.replay,
            updated_at: time(&d.updated_at),
        })
        .collect())
}

/// The most events of a causation tree shown.
pub(crate) const CHAIN_LIMIT: u32 = 500;

/// Events sharing a correlation id, in order (for the causation tree).
pub(crate) async fn correlated(
    app: &App,
    scope: &Scope,
    correlation: &str,
) -> Result<Vec<StoredEvent>, Problem> {
    Ok(app
        .store
        .correlated(scope, correlation, CHAIN_LIMIT)
        .await?)
}

/// Which dead letters: of one handler, of one group (its key: handler and
/// masked error), of one district; and for a list of letters, where the page
/// starts (`cursor`, a `next` of an earlier page) and its length (`limit`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DeadFilter {
    pub handler: Option<String>,
    pub group: Option<String>,
    pub district: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

impl DeadFilter {
    fn store(&self) -> skillcore_events_store::DeadFilter {
        skillcore_events_store::DeadFilter {
            handler: given(&self.handler).map(str::to_string),
            group: given(&self.group).map(str::to_string),
            ..Default::default()
        }
    }

    /// The same letters, from the first page.
    pub fn without_page(&self) -> DeadFilter {
        DeadFilter {
            cursor: None,
            limit: None,
            ..self.clone()
        }
    }
}

/// Letters per page of dead letters unless `limit` says otherwise (at most
/// [`MAX_DEAD_PAGE`]). A page is read by itself, newest first, from the dead
/// letters' index, and only its letters' events are read: 1,000 letters with
/// their events in one answer made 880 KB and took 470 ms on a store of 3,000
/// dead letters (docs/performance.md, "The dashboard at scale").
pub(crate) const DEAD_PAGE: u32 = 20;

pub(crate) use skillcore_events_store::MAX_DEAD_PAGE;

/// One group of dead letters: a handler and a masked error.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeadGroup {
    pub key: String,
    pub handler: String,
    pub error: String,
    pub count: i64,
    pub sample_error: String,
    pub first_seen: String,
    pub last_seen: String,
}

/// The groups of the dead letters matching the filter, biggest first
/// (counted at most 2 s ago, or since this dashboard's last action:
/// `crate::groups`).
pub(crate) async fn dead_groups(
    app: &App,
    grant: &Grant,
    f: &DeadFilter,
) -> Result<Vec<DeadGroup>, Problem> {
    let Some(scope) = scope_for(grant, given(&f.district)) else {
        return Ok(vec![]);
    };
    Ok(app
        .groups
        .get(&app.store, &scope, &f.store())
        .await?
        .iter()
        .map(|g| DeadGroup {
            key: g.key.clone(),
            handler: g.handler_id.clone(),
            error: g.error.clone(),
            count: g.count,
            sample_error: g.sample_error.clone(),
            first_seen: time(&g.first_seen),
            last_seen: time(&g.last_seen),
        })
        .collect())
}

/// How many dead letters match (what a bulk action would take now).
pub(crate) async fn dead_count(app: &App, grant: &Grant, f: &DeadFilter) -> Result<u64, Problem> {
    let Some(scope) = scope_for(grant, given(&f.district)) else {
        return Ok(0);
    };
    Ok(app.store.count_dead_matching(&scope, &f.store()).await?)
}

/// Retries (or discards) every dead letter matching; exactly how many.
pub(crate) async fn act_on_matching(
    app: &App,
    grant: &Grant,
    f: &DeadFilter,
    retry: bool,
) -> Result<u64, Problem> {
    let Some(scope) = scope_for(grant, given(&f.district)) else {
        return Ok(0);
    };
    Ok(if retry {
        app.store.retry_dead_matching(&scope, &f.store()).await?
    } else {
        app.store.discard_dead_matching(&scope, &f.store()).await?
    })
}

/// One page of the dead letters matching the filter, newest first, and the
/// cursor of the next (older) page.
pub(crate) async fn dead_page(
    app: &App,
    grant: &Grant,
    f: &DeadFilter,
) -> Result<(Vec<DeadLetter>, Option<String>), Problem> {
    let Some(scope) = scope_for(grant, given(&f.district)) else {
        return Ok((vec![], None));
    };
    let cursor = given(&f.cursor)
        .map(str::parse::<skillcore_events_store::DeadCursor>)
        .transpose()?;
    let limit = f.limit.unwrap_or(DEAD_PAGE).clamp(1, MAX_DEAD_PAGE);
    let page = app
        .store
        .dead_letter_page(&scope, &f.store(), cursor, limit)
        .await?;
    Ok((page.letters, page.next.map(|c| c.to_string())))
}

/// A dead letter as the API and pages show it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeadView {
    pub id: i64,
    pub handler: String,
    pub attempts: u32,
    pub last_error: String,
    pub masked_error: String,
    pub failed_at: String,
    pub event: EventView,
}

pub(crate) fn dead_view(app: &App, grant: &Grant, d: &DeadLetter) -> DeadView {
    DeadView {
        id: d.delivery_id,
        handler: d.handler_id.clone(),
        attempts: d.attempts,
        last_error: d.last_error.clone(),
        masked_error: mask_error(&d.last_error),
        failed_at: time(&d.failed_at),
        event: view(app, grant, &d.event),
    }
}

#[cfg(test)]
mod tests;
