//! What the pages and the JSON API show, read from the store once for both:
//! the overview rows, events as a viewer sees them, searches, dead-letter
//! groups. Every value here is data; escaping is the pages' (maud's) job.

use crate::access::Grant;
use crate::App;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use skillcore_events_store::{Cursor, DeadLetter, Scope, StoreError, StoredEvent};

/// A request that cannot be answered as asked: 400 with this message.
#[derive(Debug)]
pub(crate) enum Problem {
    Bad(String),
    NotFound(String),
    Store(StoreError),
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        Problem::Store(e)
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

/// The overview rows of `scope`, problem handlers first.
pub(crate) async fn overview(app: &App, scope: &Scope) -> Result<Vec<OverviewRow>, Problem> {
    let stats = app.store.stats(scope).await?;
    let mut rows: Vec<OverviewRow> = stats
        .into_iter()
        .map(|s| OverviewRow {
            lag: s.waiting + s.failed + s.active + s.stalled,
            problem: s.dead > 0 || s.failed > 0 || s.stalled > 0,
            handler: s.handler_id,
            waiting: s.waiting,
            active: s.active,
            stalled: s.stalled,
            completed: s.completed,
            failed: s.failed,
            dead: s.dead,
            oldest_waiting_age_seconds: None,
        })
        .collect();
    sort_problems_first(&mut rows);
    Ok(rows)
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

/// Searches the events of the grant's scope.
pub(crate) async fn search(
    app: &App,
    grant: &Grant,
    f: &EventFilter,
) -> Result<EventPage, Problem> {
    let limit = f.limit.unwrap_or(50).clamp(1, MAX_LIMIT) as usize;
    let from = parse_time("from", given(&f.from))?;
    let to = parse_time("to", given(&f.to))?;
    let before: Option<i64> = match given(&f.cursor) {
        None => None,
        Some(c) => Some(c.parse().map_err(|_| {
            Problem::Bad(
                "`cursor` is not one this search gave: use the `next` of the last page".into(),
            )
        })?),
    };
    let ty = given(&f.event_type);
    let field = given(&f.field);
    let value = f.value.as_deref().map(str::trim);
    let (agg_t, agg_id) = (given(&f.aggregate_type), given(&f.aggregate_id));
    if let (Some(field), Some(ty)) = (field, ty) {
        if let Some(info) = app.config.event(ty) {
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
    if field.is_some() && ty.is_none() {
        return Err(Problem::Bad(
            "a payload field search needs an event type (`type`)".into(),
        ));
    }
    if agg_t.is_some() != agg_id.is_some() {
        return Err(Problem::Bad(
            "an aggregate is its type and its id: give both `aggregateType` and `aggregateId`"
                .into(),
        ));
    }
    let Some(scope) = scope_for(grant, given(&f.district)) else {
        return Ok(EventPage {
            events: vec![],
            next: None,
        });
    };
    let mut found: Vec<StoredEvent> = if let (Some(ty), Some(field)) = (ty, field) {
        app.store
            .events_by_field(&scope, ty, field, value.unwrap_or(""))
            .await?
    } else if let (Some(t), Some(id)) = (agg_t, agg_id) {
        app.store.aggregate_events(&scope, t, id).await?
    } else if let Some(ty) = ty {
        // Bounds the stores compare as text alike: four-digit years.
        let lo = from.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let hi = to.unwrap_or_else(|| Utc::now() + chrono::Duration::days(365 * 100));
        app.store.events_by_type(&scope, ty, lo, hi).await?
    } else {
        let mut all = Vec::new();
        let mut cursor = Cursor::default();
        loop {
            let (page, next) = app.store.read_after(&scope, cursor, 1000).await?;
            if page.is_empty() || all.len() > 100_000 {
                break;
            }
            all.extend(page);
            cursor = next;
        }
        all
    };
    found.retain(|e| {
        let ev = &e.event;
        ty.is_none_or(|t| ev.event_type == t)
            && from.is_none_or(|t| ev.occurred_at >= t)
            && to.is_none_or(|t| ev.occurred_at < t)
            && agg_t.is_none_or(|t| ev.aggregate_type == t)
            && agg_id.is_none_or(|t| ev.aggregate_id == t)
            && before.is_none_or(|b| e.seq < b)
    });
    found.sort_by_key(|e| std::cmp::Reverse(e.seq));
    let more = found.len() > limit;
    found.truncate(limit);
    let next = if more {
        found.last().map(|e| e.seq.to_string())
    } else {
        None
    };
    Ok(EventPage {
        events: found.iter().map(|e| view(app, grant, e)).collect(),
        next,
    })
}

/// One event by id, in the grant's scope.
pub(crate) async fn event(
    app: &App,
    scope: &Scope,
    id: uuid::Uuid,
) -> Result<Option<StoredEvent>, Problem> {
    let mut cursor = Cursor::default();
    loop {
        let (page, next) = app.store.read_after(scope, cursor, 1000).await?;
        if page.is_empty() {
            return Ok(None);
        }
        if let Some(e) = page.into_iter().find(|e| e.event.id == id) {
            return Ok(Some(e));
        }
        cursor = next;
    }
}

/// The deliveries of one event.
pub(crate) async fn deliveries(
    _app: &App,
    _scope: &Scope,
    _id: uuid::Uuid,
) -> Result<Vec<crate::pages::events::DeliveryView>, Problem> {
    Ok(Vec::new())
}

/// Events sharing a correlation id, in order (for the causation tree).
pub(crate) async fn correlated(
    app: &App,
    scope: &Scope,
    correlation: &str,
) -> Result<Vec<StoredEvent>, Problem> {
    let mut out = Vec::new();
    let mut cursor = Cursor::default();
    loop {
        let (page, next) = app.store.read_after(scope, cursor, 1000).await?;
        if page.is_empty() || out.len() >= 500 {
            return Ok(out);
        }
        out.extend(page.into_iter().filter(|e| {
            e.event
                .metadata
                .get("correlationId")
                .and_then(Value::as_str)
                == Some(correlation)
        }));
        cursor = next;
    }
}

/// Error text with ids and numbers masked, so the same failure of many
/// events is one group: `order 123 not found` and `order 456 not found`
/// are both `order # not found`.
pub(crate) fn mask(error: &str) -> String {
    let mut out = String::with_capacity(error.len());
    let mut word = String::new();
    let flush = |w: &mut String, out: &mut String| {
        if w.is_empty() {
            return;
        }
        let digits = w.chars().filter(char::is_ascii_digit).count();
        let hexish = w.len() >= 8 && w.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        if digits > 0
            && (hexish
                || digits * 2 >= w.len()
                || w.chars().all(|c| c.is_ascii_digit() || c == '.'))
        {
            out.push('#');
        } else {
            out.push_str(w);
        }
        w.clear();
    };
    for c in error.chars() {
        if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Which dead letters: of one handler, of one masked error.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DeadFilter {
    pub handler: Option<String>,
    pub error: Option<String>,
    pub district: Option<String>,
}

/// The most dead letters one request reads.
pub(crate) const DEAD_LIMIT: u32 = 10_000;

/// The dead letters of the grant's scope matching the filter, oldest first.
pub(crate) async fn dead_matching(
    app: &App,
    grant: &Grant,
    f: &DeadFilter,
) -> Result<Vec<DeadLetter>, Problem> {
    let Some(scope) = scope_for(grant, given(&f.district)) else {
        return Ok(vec![]);
    };
    let mut letters = app
        .store
        .dead_letters(&scope, given(&f.handler), DEAD_LIMIT)
        .await?;
    if let Some(err) = given(&f.error) {
        letters.retain(|d| mask(&d.last_error) == err);
    }
    Ok(letters)
}

/// One group of dead letters: a handler and a masked error.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeadGroup {
    pub handler: String,
    pub error: String,
    pub count: usize,
    pub example: String,
    pub last_failed_at: String,
}

pub(crate) fn groups(letters: &[DeadLetter]) -> Vec<DeadGroup> {
    let mut map: std::collections::BTreeMap<(String, String), DeadGroup> = Default::default();
    for d in letters {
        let key = (d.handler_id.clone(), mask(&d.last_error));
        let g = map.entry(key.clone()).or_insert_with(|| DeadGroup {
            handler: key.0.clone(),
            error: key.1.clone(),
            count: 0,
            example: d.last_error.clone(),
            last_failed_at: time(&d.failed_at),
        });
        g.count += 1;
        let t = time(&d.failed_at);
        if t > g.last_failed_at {
            g.last_failed_at = t;
        }
    }
    let mut out: Vec<DeadGroup> = map.into_values().collect();
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.handler.cmp(&b.handler))
    });
    out
}

/// A dead letter as the API and pages show it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeadView {
    pub id: i64,
    pub handler: String,
    pub attempts: u32,
    pub last_error: String,
    pub error_group: String,
    pub failed_at: String,
    pub event: EventView,
}

pub(crate) fn dead_view(app: &App, grant: &Grant, d: &DeadLetter) -> DeadView {
    DeadView {
        id: d.delivery_id,
        handler: d.handler_id.clone(),
        attempts: d.attempts,
        last_error: d.last_error.clone(),
        error_group: mask(&d.last_error),
        failed_at: time(&d.failed_at),
        event: view(app, grant, &d.event),
    }
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn masks_ids_and_numbers_not_words() {
        assert_eq!(mask("order 123 not found"), "order # not found");
        assert_eq!(
            mask("student 0b9c6f4e-3f1a-4c1e-9a55-6d2f1e7b8c90: timeout after 30.5s"),
            "student #: timeout after #"
        );
        assert_eq!(mask("http2 error"), "http2 error");
    }
}
