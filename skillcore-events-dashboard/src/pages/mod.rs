//! The pages, rendered on the server with maud (every value from the store
//! is escaped by the template; nothing is written with `PreEscaped` but our
//! own constant markup). One module per page family; the layout here.

pub(crate) mod assets;
pub(crate) mod catalog;
pub(crate) mod dead;
pub(crate) mod events;
pub(crate) mod login;
pub(crate) mod overview;
pub(crate) mod replays;

use crate::access::{Grant, Level};
use crate::data::Problem;
use crate::security::{Base, Csrf};
use crate::App;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};
use skillcore_events_store::Scope;

/// What every page handler needs: the app, the grant, the mount point and
/// the CSRF token of forms.
pub(crate) struct Ctx {
    pub app: App,
    pub grant: Grant,
    pub base: String,
    pub csrf: String,
}

impl FromRequestParts<App> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let grant = parts
            .extensions
            .get::<Grant>()
            .cloned()
            .ok_or_else(|| StatusCode::UNAUTHORIZED.into_response())?;
        Ok(Ctx {
            app: app.clone(),
            grant,
            base: parts
                .extensions
                .get::<Base>()
                .map(|b| b.0.clone())
                .unwrap_or_default(),
            csrf: parts
                .extensions
                .get::<Csrf>()
                .map(|c| c.0.clone())
                .unwrap_or_default(),
        })
    }
}

impl Ctx {
    /// A link below the mount point.
    pub fn href(&self, path: &str) -> String {
        home_or(&self.base, path)
    }

    pub fn can_act(&self) -> bool {
        self.grant.level >= Level::Act
    }

    /// The hidden CSRF field of a form.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.csrf); }
    }
}

/// `path` below `base`; the overview (`/`) is `base` itself (a router nested
/// at `/admin/events` answers `/admin/events`, not `/admin/events/`).
pub(crate) fn home_or(base: &str, path: &str) -> String {
    match path {
        "" | "/" if !base.is_empty() => base.to_string(),
        _ => format!("{base}{path}"),
    }
}

/// A query-string value, percent-encoded.
pub(crate) fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

const NAV: [(&str, &str); 7] = [
    ("overview", "/"),
    ("health", "/health"),
    ("catalog", "/catalog"),
    ("events", "/events"),
    ("dead letters", "/dead-letters"),
    ("replays", "/replays"),
    ("live", "/live"),
];

/// The page around `content`.
pub(crate) fn layout(ctx: &Ctx, title: &str, active: &str, content: Markup) -> Response {
    let scope = match &ctx.grant.scope {
        Scope::AllDistricts => "all districts".to_string(),
        Scope::District(d) => format!("district {d}"),
    };
    let body = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (ctx.app.config.title) }
                link rel="stylesheet" href=(ctx.href("/assets/app.css"));
                script src=(ctx.href("/assets/app.js")) defer {}
            }
            body data-base=(ctx.base) {
                header.top {
                    a.brand href=(ctx.href("/")) { (ctx.app.config.title) }
                    nav {
                        @for (name, path) in NAV {
                            a href=(ctx.href(path)) class=[(name == active).then_some("on")] { (name) }
                        }
                    }
                    div.who {
                        span.badge { (scope) }
                        @if !ctx.can_act() { span.badge.warn { "read-only" } }
                        @if ctx.grant.pii { span.badge.warn { "pii visible" } }
                        @if ctx.app.config.authorizer.has_sign_in() {
                            form.inline method="post" action=(ctx.href("/logout")) {
                                (ctx.csrf_field())
                                button.link type="submit" { "sign out" }
                            }
                        }
                    }
                }
                main { (content) }
            }
        }
    };
    Html(body.into_string()).into_response()
}

/// A page saying what went wrong, with the status.
pub(crate) fn problem_page(ctx: &Ctx, p: Problem) -> Response {
    let (status, msg) = match p {
        Problem::Bad(m) => (StatusCode::BAD_REQUEST, m),
        Problem::NotFound(m) => (StatusCode::NOT_FOUND, m),
        Problem::Store(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("event store: {e}")),
    };
    let mut res = layout(
        ctx,
        "Problem",
        "",
        html! {
            h1 { "Cannot show this" }
            p.error { (msg) }
        },
    );
    *res.status_mut() = status;
    res
}

/// A count with thousands separators, at a glance.
pub(crate) fn num(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// Seconds as `3 s`, `4 min`, `2 h 5 min`, `3 d`.
pub(crate) fn age(secs: f64) -> String {
    let s = secs.max(0.0) as i64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d", s / 86_400),
    }
}

/// Pretty JSON text (escaped by the template that shows it).
pub(crate) fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}
