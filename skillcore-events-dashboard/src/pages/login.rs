//! Sign-in with the standalone token: the token in a form, a session cookie
//! back (HttpOnly, SameSite=Strict, the mount point's path).

use crate::access::{cookie, SESSION_COOKIE};
use crate::actions::{form_csrf_ok, form_pairs};
use crate::security::{Base, Csrf};
use crate::App;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Extension;
use maud::{html, DOCTYPE};

/// The sign-in page (or, for a host without sign-in, the refusal).
pub(crate) fn form(
    app: &App,
    base: &Base,
    csrf: &Csrf,
    signs_in: bool,
    error: Option<&str>,
) -> Response {
    let body = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Sign in · " (app.config.title) }
                link rel="stylesheet" href={(base.0) "/assets/app.css"};
            }
            body {
                main.signin {
                    h1 { (app.config.title) }
                    @if signs_in {
                        p { "Paste the dashboard token (printed when the dashboard started, or the one given with "
                            code { "--token" } " / " code { "SKILLCORE_DASHBOARD_TOKEN" } ")." }
                        @if let Some(e) = error { p.error { (e) } }
                        form method="post" action={(base.0) "/login"} {
                            input type="hidden" name="csrf" value=(csrf.0);
                            input type="password" name="token" autocomplete="current-password" autofocus placeholder="token" required;
                            button type="submit" { "Sign in" }
                        }
                    } @else {
                        p.error { "You have no access to this dashboard. Sign in to the application first." }
                    }
                }
            }
        }
    };
    Html(body.into_string()).into_response()
}

pub(crate) async fn page(
    State(app): State<App>,
    Extension(base): Extension<Base>,
    Extension(csrf): Extension<Csrf>,
) -> Response {
    let signs_in = app.config.authorizer.has_sign_in();
    form(&app, &base, &csrf, signs_in, None)
}

fn cookie_path(base: &Base) -> &str {
    if base.0.is_empty() {
        "/"
    } else {
        &base.0
    }
}

pub(crate) async fn submit(
    State(app): State<App>,
    Extension(base): Extension<Base>,
    Extension(csrf): Extension<Csrf>,
    body: Bytes,
) -> Response {
    let pairs = form_pairs(&body);
    if !form_csrf_ok(&pairs, &csrf) {
        return (
            StatusCode::FORBIDDEN,
            "missing or wrong CSRF token: reload the sign-in page",
        )
            .into_response();
    }
    let token = pairs
        .iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    match app.config.authorizer.sign_in(token) {
        Some(session) => {
            tracing::info!(target: "skillcore_events_dashboard::audit", who = "session", "signed in");
            let mut res = Redirect::to(&super::home_or(&base.0, "/")).into_response();
            let c = format!(
                "{SESSION_COOKIE}={session}; Path={}; HttpOnly; SameSite=Strict; Max-Age={}",
                cookie_path(&base),
                crate::access::SESSION_LIFETIME.as_secs()
            );
            if let Ok(v) = HeaderValue::from_str(&c) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            res
        }
        None => {
            tracing::warn!(target: "skillcore_events_dashboard::audit", "sign-in refused: wrong token");
            let mut res = form(
                &app,
                &base,
                &csrf,
                app.config.authorizer.has_sign_in(),
                Some("That token is not the dashboard's."),
            );
            *res.status_mut() = StatusCode::UNAUTHORIZED;
            res
        }
    }
}

pub(crate) async fn logout(
    State(app): State<App>,
    Extension(base): Extension<Base>,
    req: Request,
) -> Response {
    let (parts, _) = req.into_parts();
    if let Some(s) = cookie(&parts, SESSION_COOKIE) {
        app.config.authorizer.sign_out(s);
    }
    let mut res = Redirect::to(&format!("{}/login", base.0)).into_response();
    let c = format!(
        "{SESSION_COOKIE}=; Path={}; HttpOnly; SameSite=Strict; Max-Age=0",
        cookie_path(&base)
    );
    if let Ok(v) = HeaderValue::from_str(&c) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}
