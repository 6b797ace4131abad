//! The layers every request passes: the security headers and the CSRF
//! cookie (outermost), then the grant of the [`Authorizer`](crate::Authorizer)
//! with the refusals (401 without access, 403 for an action without a
//! matching CSRF token or without the right to act).

use crate::access::{cookie, same, Grant, Level};
use crate::App;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The name of the CSRF cookie (double submit: forms carry the same value
/// in the field `csrf`, scripts in the header `x-csrf-token`).
pub(crate) const CSRF_COOKIE: &str = "skc_csrf";

/// Where the dashboard is mounted (`/admin/events`, or empty at the root),
/// for the links of pages.
#[derive(Clone, Debug, Default)]
pub(crate) struct Base(pub String);

/// The path below the mount point (`/api/overview`).
#[derive(Clone, Debug)]
pub(crate) struct Local(pub String);

/// This browser's CSRF token.
#[derive(Clone, Debug)]
pub(crate) struct Csrf(pub String);

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Security headers on every response; the mount point, the local path
/// and the CSRF token for the handlers.
pub(crate) async fn headers(mut req: Request, next: Next) -> Response {
    let local = req.uri().path().to_string();
    let original = req
        .extensions()
        .get::<OriginalUri>()
        .map(|u| u.0.path().to_string())
        .unwrap_or_else(|| local.clone());
    let base = if local == "/" {
        original.trim_end_matches('/').to_string()
    } else {
        original
            .strip_suffix(local.as_str())
            .unwrap_or("")
            .to_string()
    };
    let (parts, body) = req.into_parts();
    let existing = cookie(&parts, CSRF_COOKIE)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string);
    let fresh = existing.is_none();
    let csrf = existing.unwrap_or_else(crate::access::random_token);
    req = Request::from_parts(parts, body);
    req.extensions_mut().insert(Base(base.clone()));
    req.extensions_mut().insert(Local(local));
    req.extensions_mut().insert(Csrf(csrf.clone()));
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if fresh && !csrf.is_empty() {
        let path = if base.is_empty() { "/" } else { base.as_str() };
        let c = format!("{CSRF_COOKIE}={csrf}; Path={path}; HttpOnly; SameSite=Strict");
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    res
}

/// An error as the API gives it: `{"error": "..."}` with the status.
pub(crate) fn api_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}

/// The grant of the request, and the refusals: no access (401), an action
/// without a matching CSRF token or by a read-only viewer (403).
pub(crate) async fn authorize(State(app): State<App>, mut req: Request, next: Next) -> Response {
    let local = req
        .extensions()
        .get::<Local>()
        .map(|l| l.0.clone())
        .unwrap_or_default();
    let is_api = local.starts_with("/api/");
    let (parts, body) = req.into_parts();
    let grant = if local == "/login" {
        Grant::denied()
    } else {
        app.config.authorizer.authorize(&parts)
    };
    let csrf_ok = parts.headers.contains_key(header::AUTHORIZATION)
        || {
            // A form's field is checked by the form handlers (the body is theirs
            // to read); the header is checked here.
            let want = parts.extensions.get::<Csrf>().map(|c| c.0.as_str());
            let given = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok());
            matches!((want, given), (Some(w), Some(g)) if !w.is_empty() && same(w.as_bytes(), g.as_bytes()))
        };
    let is_post = parts.method == Method::POST;
    req = Request::from_parts(parts, body);
    if local == "/login" {
        req.extensions_mut().insert(grant);
        return next.run(req).await;
    }
    if grant.level == Level::None {
        if is_api {
            let mut res = api_error(
                StatusCode::UNAUTHORIZED,
                "no valid credentials: send `Authorization: Bearer TOKEN`",
            );
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"skillcore-events\""),
            );
            return res;
        }
        let base = req.extensions().get::<Base>().cloned().unwrap_or_default();
        let csrf = req
            .extensions()
            .get::<Csrf>()
            .cloned()
            .unwrap_or(Csrf(String::new()));
        let signs_in = app.config.authorizer.has_sign_in();
        let page = crate::pages::login::form(&app, &base, &csrf, signs_in, None);
        return (StatusCode::UNAUTHORIZED, page).into_response();
    }
    if is_post && local != "/logout" {
        if is_api && !csrf_ok {
            return api_error(
                StatusCode::FORBIDDEN,
                "missing or wrong CSRF token: send the header `x-csrf-token` with the value of the \
                 `skc_csrf` cookie, or authenticate with `Authorization: Bearer`",
            );
        }
        if grant.level < Level::Act {
            tracing::warn!(target: "skillcore_events_dashboard::audit", who = %grant.who, path = %local, "refused: read-only");
            return if is_api {
                api_error(
                    StatusCode::FORBIDDEN,
                    "read-only access: retry, discard and replay need the right to act",
                )
            } else {
                (
                    StatusCode::FORBIDDEN,
                    "read-only access: this action is not allowed",
                )
                    .into_response()
            };
        }
    }
    req.extensions_mut().insert(grant);
    next.run(req).await
}
