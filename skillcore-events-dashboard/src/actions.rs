//! The actions: retry and discard dead letters (one, a selection, or every
//! one matching a filter) and start a replay. Each is a POST; the layer in
//! `security.rs` has already refused a viewer without the right to act and
//! an API call without a CSRF token; the form handlers check the form's
//! `csrf` field. Every action is logged with who did it and what it touched.

use crate::access::{same, Grant};
use crate::data::{self, DeadFilter, Problem};
use crate::security::{Base, Csrf};
use crate::App;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;
use skillcore_events_store::ReplayFilter;

const AUDIT: &str = "skillcore_events_dashboard::audit";

/// What to retry or discard: these ids, or every letter matching the filter.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DeadTarget {
    pub ids: Vec<i64>,
    pub all: bool,
    pub handler: Option<String>,
    pub group: Option<String>,
    pub district: Option<String>,
}

/// Retries (or discards) the target's letters; returns how many changed.
pub(crate) async fn act_on_dead(
    app: &App,
    grant: &Grant,
    t: &DeadTarget,
    retry: bool,
) -> Result<u64, Problem> {
    let f = DeadFilter {
        handler: t.handler.clone(),
        group: t.group.clone(),
        district: t.district.clone(),
        ..Default::default()
    };
    if !t.all && t.ids.is_empty() {
        return Err(Problem::Bad(
            "no dead letters chosen: give `ids` or `all: true` with a filter".into(),
        ));
    }
    let ids = if t.all { Vec::new() } else { t.ids.clone() };
    // Forgotten before (an action that fails half way) and after (a count
    // begun meanwhile) the change: the groups shown next are counted anew.
    app.groups.forget();
    let n = if t.all {
        data::act_on_matching(app, grant, &f, retry).await?
    } else {
        let mut n = 0;
        for id in &ids {
            let done = if retry {
                app.store.retry_dead(&grant.scope, *id).await?
            } else {
                app.store.discard_dead(&grant.scope, *id).await?
            };
            n += u64::from(done);
        }
        n
    };
    app.groups.forget();
    tracing::info!(
        target: AUDIT,
        who = %grant.who,
        action = if retry { "retry" } else { "discard" },
        matching = t.all,
        handler = t.handler.as_deref().unwrap_or(""),
        group = t.group.as_deref().unwrap_or(""),
        district = t.district.as_deref().unwrap_or(""),
        changed = n,
        ids = ?ids.iter().take(50).collect::<Vec<_>>(),
        "dead letters {}", if retry { "retried" } else { "discarded" }
    );
    Ok(n)
}

/// `POST /api/dead-letters/retry` with `{"ids": [..]}` or `{"all": true, "handler": .., "group": ..}`.
pub(crate) async fn api_retry(
    State(app): State<App>,
    Extension(grant): Extension<Grant>,
    Json(t): Json<DeadTarget>,
) -> Result<Json<serde_json::Value>, Problem> {
    let n = act_on_dead(&app, &grant, &t, true).await?;
    Ok(Json(json!({ "retried": n })))
}

/// `POST /api/dead-letters/discard`, as retry.
pub(crate) async fn api_discard(
    State(app): State<App>,
    Extension(grant): Extension<Grant>,
    Json(t): Json<DeadTarget>,
) -> Result<Json<serde_json::Value>, Problem> {
    let n = act_on_dead(&app, &grant, &t, false).await?;
    Ok(Json(json!({ "discarded": n })))
}

/// A replay to start.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct ReplayAsk {
    pub handler: String,
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    pub since: Option<String>,
    pub district: Option<String>,
}

pub(crate) async fn start_replay(
    app: &App,
    grant: &Grant,
    r: &ReplayAsk,
) -> Result<(i64, i64), Problem> {
    let handler = r.handler.trim();
    if handler.is_empty() {
        return Err(Problem::Bad(
            "a replay needs the handler to replay to (`handler`)".into(),
        ));
    }
    if let Some(cat) = app.config.catalog {
        let declared = cat.iter().any(|e| e.handlers.contains(&handler));
        let registered = app
            .config
            .handlers
            .as_ref()
            .is_some_and(|h| h.iter().any(|x| x == handler));
        if !declared && !registered {
            return Err(Problem::Bad(format!(
                "no handler `{handler}` is declared in the catalog or registered"
            )));
        }
    }
    let since = match data::given(&r.since) {
        None => None,
        Some(t) => Some(
            chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|_| {
                    Problem::Bad(
                        "`since` is not an RFC 3339 time, for example 2026-01-31T08:00:00Z".into(),
                    )
                })?
                .with_timezone(&chrono::Utc),
        ),
    };
    let Some(scope) = data::scope_for(grant, data::given(&r.district)) else {
        return Err(Problem::Bad("that district is outside your access".into()));
    };
    let filter = ReplayFilter {
        event_type: data::given(&r.event_type).map(str::to_string),
        since,
    };
    let (batch, n) = app.store.replay(&scope, handler, &filter).await?;
    tracing::info!(
        target: AUDIT,
        who = %grant.who,
        action = "replay",
        handler,
        event_type = filter.event_type.as_deref().unwrap_or("*"),
        since = ?filter.since,
        batch,
        queued = n,
        "replay started"
    );
    Ok((batch, n))
}

/// `POST /api/replays` with `{"handler": .., "type": .., "since": ..}`.
pub(crate) async fn api_replay(
    State(app): State<App>,
    Extension(grant): Extension<Grant>,
    Json(r): Json<ReplayAsk>,
) -> Result<Json<serde_json::Value>, Problem> {
    let (batch, n) = start_replay(&app, &grant, &r).await?;
    Ok(Json(
        json!({ "handler": r.handler.trim(), "batch": batch, "queued": n }),
    ))
}

/// The pairs of a form body (`a=1&b=2`, repeated keys kept).
pub(crate) fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn one(pairs: &[(String, String)], k: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(key, _)| key == k)
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty())
}

/// The form's `csrf` field equals the cookie's.
pub(crate) fn form_csrf_ok(pairs: &[(String, String)], csrf: &Csrf) -> bool {
    matches!(one(pairs, "csrf"), Some(given) if !csrf.0.is_empty() && same(given.as_bytes(), csrf.0.as_bytes()))
}

fn csrf_refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        "missing or wrong CSRF token: reload the page and try again",
    )
        .into_response()
}

fn page_problem(p: Problem) -> Response {
    let (status, m) = match p {
        Problem::Bad(m) => (StatusCode::BAD_REQUEST, m),
        Problem::NotFound(m) => (StatusCode::NOT_FOUND, m),
        Problem::Store(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("event store: {e}")),
    };
    (status, m).into_response()
}

/// `POST /dead-letters/act` from the dead-letters page.
pub(crate) async fn form_dead(
    State(app): State<App>,
    Extension(grant): Extension<Grant>,
    Extension(base): Extension<Base>,
    Extension(csrf): Extension<Csrf>,
    body: Bytes,
) -> Response {
    let pairs = form_pairs(&body);
    if !form_csrf_ok(&pairs, &csrf) {
        return csrf_refused();
    }
    // `retry` / `discard` act on the ticked ids; `retry:ID` / `discard:ID`
    // (a row's own button) on that one letter alone.
    let action = one(&pairs, "action").unwrap_or_default();
    let (verb, only) = match action.split_once(':') {
        Some((v, id)) => (v.to_string(), id.parse::<i64>().ok()),
        None => (action.clone(), None),
    };
    let retry = verb == "retry";
    let t = DeadTarget {
        ids: match only {
            Some(id) => vec![id],
            None => pairs
                .iter()
                .filter(|(k, _)| k == "id")
                .filter_map(|(_, v)| v.parse().ok())
                .collect(),
        },
        all: only.is_none() && one(&pairs, "all").is_some(),
        handler: one(&pairs, "handler"),
        group: one(&pairs, "group"),
        district: one(&pairs, "district"),
    };
    match act_on_dead(&app, &grant, &t, retry).await {
        Ok(n) => {
            let verb = if retry { "retried" } else { "discarded" };
            Redirect::to(&format!("{}/dead-letters?done={n}+{verb}", base.0)).into_response()
        }
        Err(p) => page_problem(p),
    }
}

/// `POST /replays` from the replays page.
pub(crate) async fn form_replay(
    State(app): State<App>,
    Extension(grant): Extension<Grant>,
    Extension(base): Extension<Base>,
    Extension(csrf): Extension<Csrf>,
    body: Bytes,
) -> Response {
    let pairs = form_pairs(&body);
    if !form_csrf_ok(&pairs, &csrf) {
        return csrf_refused();
    }
    let r = ReplayAsk {
        handler: one(&pairs, "handler").unwrap_or_default(),
        event_type: one(&pairs, "type"),
        since: one(&pairs, "since"),
        district: one(&pairs, "district"),
    };
    match start_replay(&app, &grant, &r).await {
        Ok((batch, _)) => {
            let h: String = form_urlencoded::byte_serialize(r.handler.trim().as_bytes()).collect();
            Redirect::to(&format!("{}/replays?handler={h}&batch={batch}", base.0)).into_response()
        }
        Err(p) => page_problem(p),
    }
}
