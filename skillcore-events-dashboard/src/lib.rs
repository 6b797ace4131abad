//! The operations dashboard of SkillCore Events: the event store and its
//! delivery queues in a browser, live, with the catalog's knowledge, safe to
//! expose.
//!
//! [`router`] gives an [`axum::Router`] to nest under any prefix of a
//! service's own app; the `skillcore-events dashboard` command serves the same
//! router standalone ([`serve`]). Pages are rendered on the server (maud),
//! with one embedded stylesheet and one small script; every page has a JSON
//! API behind it under `{prefix}/api/` (docs/dashboard.md).
//!
//! ```no_run
//! # async fn f(store: skillcore_events_store::Store) {
//! use skillcore_events_dashboard::{router, DashboardConfig, Grant, TokenAuthorizer};
//! let config = DashboardConfig::new(TokenAuthorizer::new("a-long-random-token"));
//! let app: axum::Router = axum::Router::new().nest("/admin/events", router(store, config));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```
//!
//! Access is denied by default: every request goes through the
//! [`Authorizer`] of the [`DashboardConfig`], which grants no access, read
//! only, or read and actions, the `pii` grant, and a district scope (a viewer
//! scoped to one district sees nothing of the others). Actions are POSTs with
//! a CSRF token; every response carries a Content-Security-Policy without
//! inline scripts, `X-Content-Type-Options: nosniff`, `Referrer-Policy:
//! no-referrer` and `Cache-Control: no-store`.

#![deny(missing_docs)]

mod access;
mod actions;
mod api;
mod data;
mod groups;
mod pages;
mod redact;
mod security;
mod serve;

pub use access::{
    random_token, Authorizer, Grant, Level, TokenAuthorizer, SESSION_COOKIE, SESSION_LIFETIME,
};
pub use serve::{normalize_prefix, serve, standalone_token, ServeError};

use axum::routing::{get, post};
use skillcore_events::EventInfo;
use skillcore_events_store::Store;
use std::sync::Arc;

/// What the dashboard knows besides the store: who may do what, the
/// catalog, the handlers the service registers, and links.
pub struct DashboardConfig {
    /// Decides per request (see [`Authorizer`]).
    pub authorizer: Arc<dyn Authorizer>,
    /// The runtime catalog (`EVENTS` of the module `catalog!` expanded in):
    /// payload tables, descriptions, declared handlers, field search, pii.
    pub catalog: Option<&'static [EventInfo]>,
    /// The handler ids the service registers (`AnyEvent::handlers()` or the
    /// bus's), for the catalog-aware health page.
    pub handlers: Option<Vec<String>>,
    /// Link to an event type's JSON Schema, `{event}` replaced by its name
    /// (for example `/schemas/{event}.json`).
    pub schema_url: Option<String>,
    /// Link to an event type's docs page, `{event}` replaced by its name.
    pub docs_url: Option<String>,
    /// Shown in the header and the title.
    pub title: String,
    /// How long an overview request waits for the store's first count of
    /// its scope (250 ms by default). A first count reads the whole queue,
    /// seconds on a queue of millions: past this wait the request answers
    /// that it is still counting (`/api/overview`: `202 Accepted`, `[]`,
    /// `Retry-After: 1`; the page: a notice, the figures appear by themselves)
    /// while the count goes on in the background.
    pub first_count_wait: std::time::Duration,
}

impl DashboardConfig {
    /// A configuration with this authorizer and nothing else.
    ///
    /// ```
    /// use skillcore_events_dashboard::{DashboardConfig, TokenAuthorizer};
    /// let config = DashboardConfig::new(TokenAuthorizer::new("t0ken"))
    ///     .handlers(["analytics.update_gpa"])
    ///     .schema_url("/schemas/{event}.json");
    /// assert_eq!(config.handlers.as_deref().map(|h| h.len()), Some(1));
    /// ```
    pub fn new(authorizer: impl Authorizer) -> DashboardConfig {
        DashboardConfig {
            authorizer: Arc::new(authorizer),
            catalog: None,
            handlers: None,
            schema_url: None,
            docs_url: None,
            title: "SkillCore Events".into(),
            first_count_wait: std::time::Duration::from_millis(250),
        }
    }

    /// With the runtime catalog (`EVENTS`).
    pub fn catalog(mut self, events: &'static [EventInfo]) -> Self {
        self.catalog = Some(events);
        self
    }

    /// With the registered handler ids.
    pub fn handlers<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.handlers = Some(ids.into_iter().map(Into::into).collect());
        self
    }

    /// With a JSON Schema link pattern (`{event}` is the event's name).
    pub fn schema_url(mut self, pattern: impl Into<String>) -> Self {
        self.schema_url = Some(pattern.into());
        self
    }

    /// With a docs page link pattern (`{event}` is the event's name).
    pub fn docs_url(mut self, pattern: impl Into<String>) -> Self {
        self.docs_url = Some(pattern.into());
        self
    }

    /// With another wait for a first count (see
    /// [`DashboardConfig::first_count_wait`]); zero never waits.
    pub fn first_count_wait(mut self, wait: std::time::Duration) -> Self {
        self.first_count_wait = wait;
        self
    }

    /// The event of this name in the catalog.
    pub(crate) fn event(&self, name: &str) -> Option<&'static EventInfo> {
        self.catalog?.iter().find(|e| e.name == name)
    }
}

/// What every handler holds.
pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) config: DashboardConfig,
    /// The dead-letter groups, shared for a moment.
    pub(crate) groups: groups::GroupsCache,
}

pub(crate) type App = Arc<Inner>;

/// The dashboard's pages, API and assets, to nest under any prefix
/// (`Router::nest("/admin/events", router(..))`) or serve at the root.
pub fn router(store: Store, config: DashboardConfig) -> axum::Router {
    let app: App = Arc::new(Inner {
        store,
        config,
        groups: Default::default(),
    });
    let api = axum::Router::new()
        .route("/overview", get(api::overview))
        .route("/throughput", get(api::throughput))
        .route("/health", get(api::health))
        .route("/catalog", get(api::catalog))
        .route("/catalog/{event}", get(api::catalog_event))
        .route("/events", get(api::events))
        .route("/events/{id}", get(api::event))
        .route("/aggregates/{ty}/{id}", get(api::aggregate))
        .route("/dead-letters", get(api::dead_letters))
        .route("/dead-letters/count", get(api::dead_count))
        .route("/dead-letters/groups", get(api::dead_groups))
        .route("/dead-letters/letters", get(api::dead_letter_page))
        .route("/dead-letters/retry", post(actions::api_retry))
        .route("/dead-letters/discard", post(actions::api_discard))
        .route("/replays", post(actions::api_replay))
        .route("/replays/{handler}/{batch}", get(api::replay_progress))
        .route("/tail", get(api::tail));
    let pages = axum::Router::new()
        .route("/", get(pages::overview::page))
        .route("/health", get(pages::catalog::health))
        .route("/catalog", get(pages::catalog::index))
        .route("/catalog/{event}", get(pages::catalog::event))
        .route("/events", get(pages::events::search))
        .route("/events/{id}", get(pages::events::detail))
        .route("/aggregates/{ty}/{id}", get(pages::events::aggregate))
        .route("/dead-letters", get(pages::dead::page))
        .route("/dead-letters/confirm", get(pages::dead::confirm))
        .route("/dead-letters/act", post(actions::form_dead))
        .route(
            "/replays",
            get(pages::replays::page).post(actions::form_replay),
        )
        .route("/live", get(pages::overview::live))
        .route("/login", get(pages::login::page).post(pages::login::submit))
        .route("/logout", post(pages::login::logout));
    axum::Router::new()
        .nest("/api", api)
        .merge(pages)
        .route_layer(axum::middleware::from_fn_with_state(
            app.clone(),
            security::authorize,
        ))
        .route("/assets/app.css", get(pages::assets::css))
        .route("/assets/app.js", get(pages::assets::js))
        .layer(axum::middleware::from_fn(security::headers))
        .with_state(app)
}
