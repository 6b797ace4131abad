//! The JSON API under `{prefix}/api/` (docs/dashboard.md): the data of every
//! page, read with the grant's scope and pii grant.

use crate::access::Grant;
use crate::data::{self, Problem};
use crate::security::api_error;
use crate::App;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use skillcore_events_store::{EventQuery, Scope};

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        match self {
            Problem::Bad(m) => api_error(StatusCode::BAD_REQUEST, &m),
            Problem::NotFound(m) => api_error(StatusCode::NOT_FOUND, &m),
            Problem::Store(e) => {
                tracing::warn!(target: "skillcore_events_dashboard", error = %e, "store error");
                api_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!("event store: {e}"),
                )
            }
        }
    }
}

type ApiResult = Result<Json<Value>, Problem>;

fn to_json<T: serde::Serialize>(v: T) -> ApiResult {
    Ok(Json(serde_json::to_value(v).unwrap_or(Value::Null)))
}

/// `?district=` on the read endpoints.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DistrictQuery {
    pub district: Option<String>,
}

fn scope(grant: &Grant, q: &DistrictQuery) -> Option<Scope> {
    data::scope_for(grant, data::given(&q.district))
}

/// `GET /api/overview`: one object per handler, problem handlers first;
/// `202 Accepted` with `[]` and `Retry-After: 1` while the store's first
/// count of the scope runs (docs/dashboard.md).
pub(crate) async fn overview(
    State(app): State<App>,
    Extension(grant): Extension<Grant>,
    Query(q): Query<DistrictQuery>,
) -> Result<Response, Problem> {
    let Some(scope) = scope(&grant, &q) else {
        return Ok(Json(Vec::<Value>::new()).into_response());
    };
    Ok(match data::overview(&app, &scope).await? {
        Some(rows) => Json(rows).into_response(),
        None => (
            StatusCode::ACCEPTED,
            [(axum::http::header::RETRY_AFTER, "1")],
            Json(Vec::<Value>::new()),
        )
            .into_response(),
    })
}

/// `GET /api/throughput`: events per minute for the last hour.
pub(crate) async fn throughput(
    State(app): State<App>,
    Extension(grant): Extension<Grant>,
    Query(q): Query<DistrictQuery>,
) -> ApiResult {
    let Some(scope) = scope(&grant, &q) else {
        return to_json(Vec::<Value>::new());
    };
    to_json(crate::pages::overview::throughput(&app, &scope).await?)
}

/// `GET /api/health`: the catalog against the handlers served.
pub(crate) async fn health(
    State(app): State<App>,
    Extension(grant): Extension<Grant>,
) -> ApiResult {
    to_json(crate::pages::catalog::health_report(&app, &grant).await?)
}

/// `GET /api/catalog`: the catalog's events.
pub(crate) async fn catalog(State(app): State<App>) -> ApiResult {
    let events: Vec<Value> = app
        .config
        .catalog
        .unwrap_or(&[])
        .iter()
        .map(|e| catalog_json(&app, e))
        .collect();
    to_json(events)
}

fn catalog_json(app: &App, e: &skillcore_events::EventInfo) -> Value {
    let link = |p: &Option<String>| p.as_ref().map(|p| p.replace("{event}", e.name));
    json!({
        "name": e.name, "context": e.context, "aggregate": e.aggregate,
        "aggregateId": e.aggregate_id, "version": e.version, "description": e.description,
        "handlers": e.handlers,
        "fields": e.fields.iter().map(|f| json!({
            "name": f.name, "type": f.ty, "optional": f.optional, "pii": f.pii,
            "description": f.description,
        })).collect::<Vec<_>>(),
        "schemaUrl": link(&app.config.schema_url), "docsUrl": link(&app.config.docs_url),
    })
}

/// `GET /api/catalog/{event}`: one event type, with its recent events.
pub(crate) async fn catalog_event(
    State(app): State<App>,
    Extension(grant): Extension<Grant>,
    Path(name): Path<String>,
) -> ApiResult {
    let info = app
        .config
        .event(&name)
        .ok_or_else(|| Problem::NotFound(format!("no event `{name}` in the catalog")))?;
    let mut v = catalog_json(&app, info);
    let recent = data::search(
        &app,
        &grant,
        &data::EventFilter {
            event_type: Some(name),
            limit: Some(20),
            ..Default::default()
        },
    )
    .await?;
    v["recent"] = serde_json::to_value(recent.events).unwrap_or(Value::Null);
    to_json(v)
}

/// `GET /api/events?type=&from=&to=&aggregateType=&aggregateId=&district=&field=&value=&cursor=&limit=`.
pub(crate) async fn events(
    State(app): State<App>,
    Extension(grant): Extension<Grant>,
    Query(f): Query<data::EventFilter>,
) -> ApiResult {
    to_json(data::search(&app, &grant, &f).await?)
}

fn parse_id(id: &str) -> Result<uuid::Uuid, Problem> {
    id.parse()
        .map_err(|_| Problem::Bad(format!("`{id}` is not an event id (a UUID)")))
}

/// `GET /api/events/{id}`: the event, its deliveries and its correlated chain.
pub(crate) async fn event(
    State(app): State<App>,
    Extension(grant): Extension<Grant>,
    Path(id): Path<String>,
) -> ApiResult {
    let id = parse_id(&id)?;
    let detail = crate::pages::events::detail_data(&app, &grant, id).await?;
    to_json(detail)
}

/// `?cursor=` of an aggregate's stream.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CursorQuery {
    pub cursor: Option<String>,
}

/// `GET /api/aggregates/{type}/{id}?cursor=`: one aggregate's events in
/// order, the newest 200 (before `cursor`), and `next`, the cursor of the
/// earlier ones.
pub(crate) async fn aggregate(
    State(app): State<App>,
    Extension(grant): Extension<Grant>,
    Path((ty, id)): Path<(String, String)>,
    Query(q): Query<CursorQuery>,
) -> ApiResult {
    to_json(data::aggregate_page(&app, &grant, &ty, &id, q.cursor).await?)
}

/// `GET /api/dead-letters?handler=&group=&district=&limit=`: the groups,
/// how many letters match, and the first page of the newest matching letters
/// (20 unless `limit` says, at most 100) with `next`, the cursor of the rest
/// (`/api/dead-letters/letters`).
pub(crate) async fn dead_letters(
    State(app): State<App>,
    Extension(grant): Extension<Grant>,
    Query(f): Query<data::DeadFilter>,
) -> ApiResult {
    let f = data::DeadFilter { cursor: None, ..f };
    let groups = data::dead_groups(&app, &grant, &f).await?;
    let total: i64 = groups.iter().map(|g| g.count).sum();
    let (letters, next) = data::dead_page(&app, &grant, &f).await?;
    let views: Vec<_> = letters
        .iter()
        .map(|d| data::dead_view(&app, &grant, d))
        .collect();
    to_json(json!({ "total": total, "groups": groups, "letters": views, "next": next }))
}

/// `GET /api/dead-letters/groups?handler=&group=&district=`: the groups and
/// how many letters match, without letters (no payload is read).
pub(crate) async fn dead_groups(
    State(app): State<App>,
    Extension(grant): Extension<Grant>,
    Query(f): Query<data::DeadFilter>,
) -> ApiResult {
    let groups = data::dead_groups(&app, &grant, &f).await?;
    let total: i64 = groups.iter().map(|g| g.count).sum();
    to_json(json!({ "total": total, "groups": groups }))
}

/// `GET /api/dead-letters/letters?handler=&group=&district=&cursor=&limit=`:
/// one page of the matching letters, newest first, with their events, and
/// `next`, the cursor of the next (older) page, `null` at the end.
pub(crate) async fn dead_letter_page(
    State(app): State<App>,
    Extension(grant): Extension<Grant>,
    Query(f): Query<data::DeadFilter>,
) -> ApiResult {
    let (letters, next) = data::dead_page(&app, &grant, &f).await?;
    let views: Vec<_> = letters
        .iter()
        .map(|d| data::dead_view(&app, &grant, d))
        .collect();
    to_json(json!({ "letters": views, "next": next }))
}

/// `GET /api/dead-letters/count?handler=&group=`: how many match (what a
/// bulk action would touch).
pub(crate) async fn dead_count(
    State(app): State<App>,
    Extension(grant): Extension<Grant>,
    Query(f): Query<data::DeadFilter>,
) -> ApiResult {
    to_json(json!({ "count": data::dead_count(&app, &grant, &f).await? }))
}

/// `GET /api/replays/{handler}/{batch}`: a replay's progress.
pub(crate) async fn replay_progress(
    State(app): State<App>,
    Extension(grant): Extension<Grant>,
    Path((handler, batch)): Path<(String, i64)>,
) -> ApiResult {
    let p = app
        .store
        .replay_progress(&grant.scope, &handler, batch)
        .await?;
    to_json(json!({
        "handler": handler, "batch": batch, "total": p.total, "done": p.done,
        "dead": p.dead, "finished": p.finished(),
    }))
}

/// `?after=&type=` of the live tail.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct TailQuery {
    pub after: Option<String>,
    #[serde(rename = "type")]
    pub event_type: Option<String>,
}

/// `GET /api/tail?after=SEQ&type=`: the events stored after position
/// `after` (newest first, at most 200), and the position to ask from next.
/// Without `after`, no events and the newest position: a tail starts now.
/// Read newest first from one index (the type's, or the primary key), so a
/// poll costs the same on any size of store. On PostgreSQL an event whose
/// transaction commits after a later-numbered one can be passed over: the
/// tail is for eyes; `Store::read_after` is the reader that never skips.
pub(crate) async fn tail(
    State(app): State<App>,
    Extension(grant): Extension<Grant>,
    Query(q): Query<TailQuery>,
) -> ApiResult {
    let (events, cursor) = tail_data(&app, &grant, &q).await?;
    to_json(json!({ "events": events, "cursor": cursor.to_string() }))
}

pub(crate) async fn tail_data(
    app: &App,
    grant: &Grant,
    q: &TailQuery,
) -> Result<(Vec<data::EventView>, i64), Problem> {
    let after: Option<i64> = match data::given(&q.after) {
        Some(a) => Some(a.parse().map_err(|_| {
            Problem::Bad("`after` is the `cursor` of an earlier answer (a number)".into())
        })?),
        None => None,
    };
    let mut query = EventQuery::new(grant.scope.clone()).limit(200);
    if after.is_some() {
        query.event_type = data::given(&q.event_type).map(str::to_string);
    } else {
        query = query.limit(1);
    }
    let page = app.store.search_events(&query).await?;
    let newest = page.events.first().map_or(after.unwrap_or(0), |e| e.seq);
    let Some(after) = after else {
        return Ok((Vec::new(), newest));
    };
    let events: Vec<_> = page
        .events
        .iter()
        .filter(|e| e.seq > after)
        .map(|e| data::view(app, grant, e))
        .collect();
    Ok((events, newest.max(after)))
}
