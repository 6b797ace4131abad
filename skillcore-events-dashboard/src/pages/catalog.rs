//! What the catalog knows: the health of declared against served handlers,
//! the list of event types and a page per type.

use super::{enc, layout, num, problem_page, Ctx};
use crate::access::Grant;
use crate::data::{self, Problem};
use crate::App;
use axum::extract::Path;
use axum::response::Response;
use maud::{html, Markup};
use serde::Serialize;
use skillcore_events::FieldInfo;
use std::collections::{BTreeMap, BTreeSet};

/// A declared handler no registered handler or live worker serves.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Unserved {
    pub handler: String,
    pub events: Vec<String>,
    /// Deliveries of it waiting: work piling up nobody does.
    pub waiting: i64,
}

/// The catalog against what runs.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HealthReport {
    pub catalog: bool,
    pub registered_known: bool,
    pub declared: usize,
    pub declared_not_served: Vec<Unserved>,
    pub registered_not_declared: Vec<String>,
    /// Handlers the store has deliveries for that the catalog does not declare.
    pub stored_not_declared: Vec<String>,
}

pub(crate) async fn health_report(app: &App, grant: &Grant) -> Result<HealthReport, Problem> {
    let mut declared: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for e in app.config.catalog.unwrap_or(&[]) {
        for h in e.handlers {
            declared.entry(h).or_default().push(e.name.to_string());
        }
    }
    let registered: BTreeSet<&str> = app
        .config
        .handlers
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let stats = app.store.stats(&grant.scope).await?;
    let waiting: BTreeMap<&str, i64> = stats
        .iter()
        .map(|s| (s.handler_id.as_str(), s.waiting + s.failed))
        .collect();
    let mut unserved = Vec::new();
    for (h, events) in &declared {
        if registered.contains(h) {
            continue;
        }
        if app.store.handler_held(h).await? > 0 {
            continue;
        }
        unserved.push(Unserved {
            handler: h.to_string(),
            events: events.clone(),
            waiting: waiting.get(h).copied().unwrap_or(0),
        });
    }
    let catalog = app.config.catalog.is_some();
    Ok(HealthReport {
        catalog,
        registered_known: app.config.handlers.is_some(),
        declared: declared.len(),
        declared_not_served: unserved,
        registered_not_declared: if catalog {
            registered
                .iter()
                .filter(|h| !declared.contains_key(*h))
                .map(|h| h.to_string())
                .collect()
        } else {
            vec![]
        },
        stored_not_declared: if catalog {
            stats
                .iter()
                .map(|s| s.handler_id.as_str())
                .filter(|h| !declared.contains_key(h))
                .map(str::to_string)
                .collect()
        } else {
            vec![]
        },
    })
}

/// `GET /health`.
pub(crate) async fn health(ctx: Ctx) -> Response {
    let r = match health_report(&ctx.app, &ctx.grant).await {
        Ok(r) => r,
        Err(p) => return problem_page(&ctx, p),
    };
    let content = html! {
        h1 { "Catalog health" }
        @if !r.catalog {
            p.alert { "No catalog was given to the dashboard: give " code { "DashboardConfig::catalog(EVENTS)" } " or " code { "--catalog PATH" } "." }
        } @else {
            div.headline {
                div.stat.big { span.n { (r.declared) } span.l { "declared handlers" } }
                div.stat.big.bad[!r.declared_not_served.is_empty()] { span.n { (r.declared_not_served.len()) } span.l { "not served" } }
                div.stat.big.warn[!r.registered_not_declared.is_empty()] { span.n { (r.registered_not_declared.len()) } span.l { "registered, undeclared" } }
            }
            @if !r.registered_known {
                p.muted { "The registered handlers were not given (" code { "DashboardConfig::handlers" } "): a declared handler counts as served while a live worker holds one of its deliveries." }
            }
            h2 { "Declared but not served" }
            @if r.declared_not_served.is_empty() { p.okay { "Every declared handler is served." } } @else {
                table.grid { thead { tr { th { "handler" } th.n { "waiting" } th { "events it handles" } } }
                tbody { @for u in &r.declared_not_served {
                    tr class=[(u.waiting > 0).then_some("problem")] {
                        td { (u.handler) } td.n { (num(u.waiting)) }
                        td { @for (i, e) in u.events.iter().enumerate() { @if i > 0 { ", " } a href=(ctx.href(&format!("/catalog/{}", enc(e)))) { (e) } } }
                    }
                } } }
            }
            h2 { "Registered but not declared" }
            @if r.registered_not_declared.is_empty() && r.stored_not_declared.is_empty() { p.okay { "None." } } @else {
                ul { @for h in &r.registered_not_declared { li { (h) " (registered)" } }
                     @for h in &r.stored_not_declared { li { (h) " (has deliveries in the store)" } } }
            }
        }
    };
    layout(&ctx, "Health", "health", content)
}

/// `GET /catalog`.
pub(crate) async fn index(ctx: Ctx) -> Response {
    let events = ctx.app.config.catalog.unwrap_or(&[]);
    let content = html! {
        h1 { "Catalog" }
        @if events.is_empty() { p.muted { "No catalog was given to the dashboard." } }
        table.grid { thead { tr { th { "event" } th.n { "version" } th { "aggregate" } th.n { "handlers" } th { "description" } } }
        tbody { @for e in events {
            tr { td { a href=(ctx.href(&format!("/catalog/{}", enc(e.name)))) { (e.name) } }
                 td.n { (e.version) } td { (e.aggregate) } td.n { (e.handlers.len()) } td { (e.description) } }
        } } }
    };
    layout(&ctx, "Catalog", "catalog", content)
}

fn field_rows(fields: &[FieldInfo], prefix: &str) -> Markup {
    html! {
        @for f in fields {
            tr { td { code { (prefix) (f.name) } } td { code { (f.ty) } }
                 td { @if f.pii { span.badge.warn { "pii" } } } td { (f.description) } }
            @if !f.fields.is_empty() { (field_rows(f.fields, &format!("{prefix}{}.", f.name))) }
        }
    }
}

/// `GET /catalog/{event}`.
pub(crate) async fn event(ctx: Ctx, Path(name): Path<String>) -> Response {
    let Some(info) = ctx.app.config.event(&name) else {
        return problem_page(
            &ctx,
            Problem::NotFound(format!("no event `{name}` in the catalog")),
        );
    };
    let recent = data::search(
        &ctx.app,
        &ctx.grant,
        &data::EventFilter {
            event_type: Some(name.clone()),
            limit: Some(20),
            ..Default::default()
        },
    )
    .await;
    let link = |p: &Option<String>| p.as_ref().map(|p| p.replace("{event}", info.name));
    let content = html! {
        h1 { (info.name) " " span.badge { "v" (info.version) } }
        p.lead { (info.description) }
        p { "Aggregate " code { (info.aggregate) } " (id field " code { (info.aggregate_id) } "), produced by the " code { (info.context) } " context. "
            @if let Some(u) = link(&ctx.app.config.schema_url) { a href=(u) { "JSON Schema" } " · " }
            @if let Some(u) = link(&ctx.app.config.docs_url) { a href=(u) { "docs" } " · " }
            a href=(ctx.href(&format!("/events?type={}", enc(info.name)))) { "search its events" } }
        h2 { "Payload" }
        table.grid { thead { tr { th { "field" } th { "type" } th {} th { "description" } } } tbody { (field_rows(info.fields, "")) } }
        h2 { "Declared consumers" }
        @if info.handlers.is_empty() { p.muted { "None." } } @else { ul { @for h in info.handlers { li { code { (h) } } } } }
        h2 { "Recent events" }
        @match recent {
            Ok(page) => (super::events::table(&ctx, &page.events)),
            Err(_) => p.error { "The recent events could not be read." },
        }
    };
    layout(&ctx, info.name, "catalog", content)
}
