//! What the dashboard's API tests share: a store on each backend filled with
//! known events, deliveries and dead letters, and requests through the
//! router with `tower::ServiceExt::oneshot`.

#![allow(dead_code)]

pub mod events {
    skillcore_events::catalog!("tests/fixtures/dash.yaml");
}

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use skillcore_events_dashboard::{router, Authorizer, DashboardConfig, Grant};
use skillcore_events_store::testing::TempStore;
use skillcore_events_store::{NewEvent, Postgres, Sqlite, Store, Subscriber};
use std::time::Duration;
use tower::ServiceExt;

pub const TOKEN: &str = "test-token-0123456789";

/// A store on one backend, kept while the test runs.
pub enum Temp {
    Sqlite(TempStore<Sqlite>),
    Postgres(TempStore<Postgres>),
}

pub async fn stores() -> Vec<(&'static str, Store, Temp)> {
    let s = TempStore::sqlite();
    let sqlite = Store::sqlite(s.path()).await.expect("sqlite store");
    let p = TempStore::postgres().await;
    let pg = Store::postgres(p.url(), Some(p.schema()))
        .await
        .expect("postgres store");
    vec![
        ("sqlite", sqlite, Temp::Sqlite(s)),
        ("postgres", pg, Temp::Postgres(p)),
    ]
}

pub fn grade(district: &str, result: &str, student: &str, comment: &str) -> NewEvent {
    NewEvent {
        id: uuid::Uuid::now_v7(),
        event_type: "school.grade.posted".into(),
        aggregate_type: "Result".into(),
        aggregate_id: result.into(),
        version: 1,
        occurred_at: chrono::Utc::now(),
        metadata: json!({"districtId": district, "schoolId": "sch-1", "correlationId": format!("corr-{result}")}),
        payload: json!({"resultId": result, "studentId": student, "score": 91.5, "comment": comment}),
    }
}

pub fn subscribers(ty: &str) -> Vec<Subscriber<'static>> {
    let hs: &[&'static str] = match ty {
        "school.grade.posted" => &["analytics.gpa", "notify.parent"],
        _ => &["notify.parent"],
    };
    hs.iter()
        .map(|h| Subscriber {
            handler_id: h,
            ordered: false,
        })
        .collect()
}

pub async fn append(store: &Store, events: &[NewEvent]) {
    store.append(events, subscribers).await.expect("append");
}

/// Claims up to `n` deliveries of `handler` and makes them dead letters
/// with `error` (`{i}` replaced by a running number).
pub async fn kill(store: &Store, handler: &str, n: u32, error: &str) -> usize {
    let claimed = store
        .claim_for("test-worker", &[handler], n, Duration::from_secs(30))
        .await
        .expect("claim");
    for (i, c) in claimed.iter().enumerate() {
        let e = error.replace("{i}", &(1000 + i).to_string());
        assert!(store.fail(c, &e, None).await.expect("fail"));
    }
    claimed.len()
}

/// Claims and completes up to `n` deliveries of `handler`.
pub async fn finish(store: &Store, handler: &str, n: u32) -> usize {
    let claimed = store
        .claim_for("test-worker", &[handler], n, Duration::from_secs(30))
        .await
        .expect("claim");
    for c in &claimed {
        store.complete(c).await.expect("complete");
    }
    claimed.len()
}

/// A test authorizer: the headers `x-level` (read/act), `x-district`, `x-pii`.
pub struct Headers;

impl Authorizer for Headers {
    fn authorize(&self, req: &axum::http::request::Parts) -> Grant {
        let h = |n: &str| req.headers.get(n).and_then(|v| v.to_str().ok());
        let scope = match h("x-district") {
            Some(d) => skillcore_events_store::Scope::district(d),
            None => skillcore_events_store::Scope::AllDistricts,
        };
        let g = match h("x-level") {
            Some("read") => Grant::read("tester", scope),
            Some("act") => Grant::act("tester", scope),
            _ => return Grant::denied(),
        };
        if h("x-pii").is_some() {
            g.with_pii()
        } else {
            g
        }
    }
}

pub fn config_with(auth: impl Authorizer) -> DashboardConfig {
    DashboardConfig::new(auth)
        .catalog(events::EVENTS)
        .handlers(["analytics.gpa", "notify.parent", "legacy.thing"])
}

/// The dashboard of `store` nested at `/admin/events`.
pub fn app(store: &Store, auth: impl Authorizer) -> axum::Router {
    axum::Router::new().nest("/admin/events", router(store.clone(), config_with(auth)))
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

pub async fn send(app: &axum::Router, req: Request<Body>) -> Reply {
    let res: Response<Body> = app.clone().oneshot(req).await.expect("router answers");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// `GET path` with the given headers.
pub async fn get(app: &axum::Router, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut b = Request::get(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    send(app, b.body(Body::empty()).unwrap()).await
}

/// `POST path` with a JSON body and the given headers.
pub async fn post_json(
    app: &axum::Router,
    path: &str,
    body: Value,
    headers: &[(&str, &str)],
) -> Reply {
    let mut b = Request::post(path).header("content-type", "application/json");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    send(app, b.body(Body::from(body.to_string())).unwrap()).await
}

/// `POST path` with a form body.
pub async fn post_form(
    app: &axum::Router,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let mut b = Request::post(path).header("content-type", "application/x-www-form-urlencoded");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    send(app, b.body(Body::from(body.to_string())).unwrap()).await
}

pub const READ: [(&str, &str); 1] = [("x-level", "read")];
pub const ACT: [(&str, &str); 1] = [("x-level", "act")];

/// A CSRF value, as the `skc_csrf` cookie and the `x-csrf-token` header.
pub const CSRF: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
pub const CSRF_COOKIE: &str =
    "skc_csrf=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
