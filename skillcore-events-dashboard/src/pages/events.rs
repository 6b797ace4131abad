//! Events: the search, an event's detail (envelope, payload, deliveries,
//! causation tree) and an aggregate's stream.

use super::{enc, layout, pretty, problem_page, Ctx};
use crate::access::Grant;
use crate::data::{self, EventFilter, EventView, Problem};
use crate::App;
use axum::extract::{Path, Query};
use axum::response::Response;
use maud::{html, Markup};
use serde::Serialize;

/// The rows of a list of events.
pub(crate) fn table(ctx: &Ctx, events: &[EventView]) -> Markup {
    html! {
        @if events.is_empty() { p.muted { "No events." } } @else {
            table.grid.events {
                thead { tr { th { "occurred" } th { "type" } th { "aggregate" } th { "district" } th { "event" } } }
                tbody { @for e in events {
                    tr {
                        td.t { (e.occurred_at) }
                        td { a href=(ctx.href(&format!("/catalog/{}", enc(&e.event_type)))) { (e.event_type) } " " span.muted { "v" (e.version) } }
                        td { a href=(ctx.href(&format!("/aggregates/{}/{}", enc(&e.aggregate_type), enc(&e.aggregate_id)))) { (e.aggregate_type) " " (e.aggregate_id) } }
                        td { (e.district_id.as_deref().unwrap_or("–")) }
                        td { a.mono href=(ctx.href(&format!("/events/{}", e.id))) { (e.id) } }
                    }
                } }
            }
        }
    }
}

fn query_string(f: &EventFilter, cursor: &str) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("type", &f.event_type),
        ("from", &f.from),
        ("to", &f.to),
        ("aggregateType", &f.aggregate_type),
        ("aggregateId", &f.aggregate_id),
        ("district", &f.district),
        ("field", &f.field),
        ("value", &f.value),
    ] {
        if let Some(v) = data::given(v) {
            q.append_pair(k, v);
        }
    }
    q.append_pair("cursor", cursor);
    q.finish()
}

/// `GET /events`.
pub(crate) async fn search(ctx: Ctx, Query(f): Query<EventFilter>) -> Response {
    let result = data::search(&ctx.app, &ctx.grant, &f).await;
    let catalog = ctx.app.config.catalog.unwrap_or(&[]);
    let chosen = data::given(&f.event_type).and_then(|t| ctx.app.config.event(t));
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let content = html! {
        h1 { "Events" }
        form.filters method="get" action=(ctx.href("/events")) {
            label { "type" select name="type" data-fields-for="field" {
                option value="" { "any type" }
                @for e in catalog {
                    option value=(e.name) selected[chosen.is_some_and(|c| c.name == e.name)]
                        data-fields=(e.fields.iter().map(|f| f.name).collect::<Vec<_>>().join(",")) { (e.name) }
                }
                @if chosen.is_none() { @if let Some(t) = data::given(&f.event_type) { option value=(t) selected { (t) } } }
            } }
            label { "from" input type="text" name="from" value=(v(&f.from)) placeholder="2026-01-31T08:00:00Z"; }
            label { "to" input type="text" name="to" value=(v(&f.to)) placeholder="now"; }
            label { "aggregate" input type="text" name="aggregateType" value=(v(&f.aggregate_type)) placeholder="type"; }
            label { "id" input type="text" name="aggregateId" value=(v(&f.aggregate_id)) placeholder="id"; }
            label { "district" input type="text" name="district" value=(v(&f.district)); }
            label { "payload field" select name="field" id="field" {
                option value="" { "—" }
                @if let Some(info) = chosen { @for fi in info.fields {
                    option value=(fi.name) selected[data::given(&f.field) == Some(fi.name)] { (fi.name) }
                } } @else if let Some(fl) = data::given(&f.field) { option value=(fl) selected { (fl) } }
            } }
            label { "=" input type="text" name="value" value=(v(&f.value)); }
            button type="submit" { "Search" }
        }
        @match &result {
            Err(Problem::Bad(m)) => p.error { (m) },
            Err(_) => p.error { "The store could not answer this search." },
            Ok(page) => {
                (table(&ctx, &page.events))
                @if let Some(c) = &page.next {
                    p.pager {
                        @if page.events.is_empty() { span.muted { "No match among the newest events read so far (each page reads a bounded stretch of the index). " } }
                        a href={(ctx.href("/events")) "?" (query_string(&f, c))} { "older →" }
                    }
                }
            }
        }
    };
    layout(&ctx, "Events", "events", content)
}

/// A delivery of an event.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeliveryView {
    pub id: i64,
    pub handler: String,
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub replay: i64,
    pub updated_at: String,
}

/// An event with its deliveries and the events of its correlation id.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Detail {
    pub event: EventView,
    pub deliveries: Vec<DeliveryView>,
    pub chain: Vec<EventView>,
}

pub(crate) async fn detail_data(
    app: &App,
    grant: &Grant,
    id: uuid::Uuid,
) -> Result<Detail, Problem> {
    let Some(e) = data::event(app, &grant.scope, id).await? else {
        return Err(Problem::NotFound(format!(
            "no event {id} (in your districts)"
        )));
    };
    let event = data::view(app, grant, &e);
    let chain = match &event.correlation_id {
        Some(c) => data::correlated(app, &grant.scope, c)
            .await?
            .iter()
            .map(|e| data::view(app, grant, e))
            .collect(),
        None => vec![],
    };
    let deliveries = data::deliveries(app, &grant.scope, id).await?;
    Ok(Detail {
        event,
        deliveries,
        chain,
    })
}

/// The causation tree: each event under the one that caused it.
fn tree(ctx: &Ctx, chain: &[EventView], parent: Option<&str>, me: &str, depth: usize) -> Markup {
    let ids: Vec<&str> = chain.iter().map(|e| e.id.as_str()).collect();
    let children: Vec<&EventView> = chain
        .iter()
        .filter(|e| match parent {
            // Roots: caused by nothing in this chain.
            None => e.causation_id.as_deref().is_none_or(|c| !ids.contains(&c)),
            Some(p) => e.causation_id.as_deref() == Some(p),
        })
        .collect();
    html! {
        @if !children.is_empty() && depth < 32 {
            ul.tree { @for c in children {
                li class=[(c.id == me).then_some("me")] {
                    a href=(ctx.href(&format!("/events/{}", c.id))) { (c.event_type) } " " span.muted { (c.occurred_at) }
                    (tree(ctx, chain, Some(&c.id), me, depth + 1))
                }
            } }
        }
    }
}

/// `GET /events/{id}`.
pub(crate) async fn detail(ctx: Ctx, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return problem_page(
            &ctx,
            Problem::Bad(format!("`{id}` is not an event id (a UUID)")),
        );
    };
    let d = match detail_data(&ctx.app, &ctx.grant, id).await {
        Ok(d) => d,
        Err(p) => return problem_page(&ctx, p),
    };
    let e = &d.event;
    let content = html! {
        h1 { (e.event_type) " " span.badge { "v" (e.version) } }
        table.kv { tbody {
            tr { th { "event id" } td.mono { (e.id) } }
            tr { th { "occurred" } td { (e.occurred_at) } }
            tr { th { "aggregate" } td { a href=(ctx.href(&format!("/aggregates/{}/{}", enc(&e.aggregate_type), enc(&e.aggregate_id)))) { (e.aggregate_type) " " (e.aggregate_id) } } }
            tr { th { "district" } td { (e.district_id.as_deref().unwrap_or("–")) } }
            tr { th { "correlation" } td.mono { (e.correlation_id.as_deref().unwrap_or("–")) } }
            tr { th { "caused by" } td.mono { @match &e.causation_id { Some(c) => a href=(ctx.href(&format!("/events/{c}"))) { (c) }, None => "–" } } }
            tr { th { "position" } td { (e.seq) } }
        } }
        details open { summary { "Payload" @if !ctx.grant.pii { " " span.muted { "(pii redacted)" } } } pre.json { (pretty(&e.payload)) } }
        details { summary { "Metadata" } pre.json { (pretty(&e.metadata)) } }
        h2 { "Deliveries" }
        @if d.deliveries.is_empty() { p.muted { "No deliveries." } } @else {
            table.grid { thead { tr { th { "handler" } th { "state" } th.n { "attempts" } th { "last error" } th { "updated" } } }
            tbody { @for dl in &d.deliveries {
                tr class=[(dl.state == "dead").then_some("problem")] {
                    td { (dl.handler) @if dl.replay != 0 { " " span.badge { "replay" } } }
                    td { span class={"state " (dl.state)} { (dl.state) } } td.n { (dl.attempts) }
                    td { @if let Some(err) = &dl.last_error { code.err { (err) } } } td.t { (dl.updated_at) }
                }
            } } }
        }
        h2 { "Causation tree" }
        @if d.chain.is_empty() { p.muted { "No correlation id." } } @else { (tree(&ctx, &d.chain, None, &e.id, 0)) }
    };
    layout(&ctx, &e.event_type, "events", content)
}

/// `GET /aggregates/{type}/{id}?cursor=`.
pub(crate) async fn aggregate(
    ctx: Ctx,
    Path((ty, id)): Path<(String, String)>,
    Query(q): Query<crate::api::CursorQuery>,
) -> Response {
    let page = match data::aggregate_page(&ctx.app, &ctx.grant, &ty, &id, q.cursor).await {
        Ok(p) => p,
        Err(p) => return problem_page(&ctx, p),
    };
    let here = format!("/aggregates/{}/{}", enc(&ty), enc(&id));
    let content = html! {
        h1 { (ty) " " span.mono { (id) } }
        p.muted { (page.events.len()) " events, in order"
            @if let Some(c) = &page.next { " · " a href={(ctx.href(&here)) "?cursor=" (enc(c))} { "← earlier" } } }
        ol.stream { @for e in &page.events {
            li { div { span.t { (e.occurred_at) } " " a href=(ctx.href(&format!("/events/{}", e.id))) { (e.event_type) } " " span.muted { "v" (e.version) } }
                 details { summary { "payload" } pre.json { (pretty(&e.payload)) } } }
        } }
    };
    layout(&ctx, &ty, "events", content)
}
