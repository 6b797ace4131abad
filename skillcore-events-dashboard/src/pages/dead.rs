//! Dead letters: grouped by handler and masked error, each with its payload
//! and last error; retry or discard one, a selection, or every letter
//! matching the filter after a confirmation that says how many.

use super::{enc, layout, num, pretty, problem_page, Ctx};
use crate::data::{self, DeadFilter};
use axum::extract::Query;
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct DeadQuery {
    pub handler: Option<String>,
    pub error: Option<String>,
    pub district: Option<String>,
    pub done: Option<String>,
    pub action: Option<String>,
}

impl DeadQuery {
    fn filter(&self) -> DeadFilter {
        DeadFilter {
            handler: self.handler.clone(),
            error: self.error.clone(),
            district: self.district.clone(),
        }
    }
}

fn filter_fields(f: &DeadFilter) -> Markup {
    html! {
        @if let Some(h) = data::given(&f.handler) { input type="hidden" name="handler" value=(h); }
        @if let Some(e) = data::given(&f.error) { input type="hidden" name="error" value=(e); }
        @if let Some(d) = data::given(&f.district) { input type="hidden" name="district" value=(d); }
    }
}

fn filter_query(f: &DeadFilter) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("handler", &f.handler),
        ("error", &f.error),
        ("district", &f.district),
    ] {
        if let Some(v) = data::given(v) {
            q.append_pair(k, v);
        }
    }
    q.finish()
}

/// `GET /dead-letters`.
pub(crate) async fn page(ctx: Ctx, Query(q): Query<DeadQuery>) -> Response {
    let f = q.filter();
    let letters = match data::dead_matching(&ctx.app, &ctx.grant, &f).await {
        Ok(l) => l,
        Err(p) => return problem_page(&ctx, p),
    };
    let all = if data::given(&f.handler).is_some() || data::given(&f.error).is_some() {
        data::dead_matching(
            &ctx.app,
            &ctx.grant,
            &DeadFilter {
                district: f.district.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap_or_default()
    } else {
        letters.clone()
    };
    let groups = data::groups(&all);
    let shown: Vec<_> = letters
        .iter()
        .rev()
        .take(200)
        .map(|d| data::dead_view(&ctx.app, &ctx.grant, d))
        .collect();
    let filtered = data::given(&f.handler).is_some() || data::given(&f.error).is_some();
    let content = html! {
        h1 { "Dead letters " span.badge class=[(!all.is_empty()).then_some("bad")] { (num(all.len() as i64)) } }
        @if let Some(d) = data::given(&q.done) { p.okay { (d) "." } }
        h2 { "Groups" }
        @if groups.is_empty() { p.okay { "No dead letters." } } @else {
            table.grid { thead { tr { th { "handler" } th { "error (ids and numbers masked)" } th.n { "letters" } th { "last" } } }
            tbody { @for g in &groups {
                tr class=[(data::given(&f.handler) == Some(g.handler.as_str()) && data::given(&f.error) == Some(g.error.as_str())).then_some("on")] {
                    td { a href={(ctx.href("/dead-letters")) "?handler=" (enc(&g.handler))} { (g.handler) } }
                    td { a href={(ctx.href("/dead-letters")) "?handler=" (enc(&g.handler)) "&error=" (enc(&g.error))} { code.err { (g.error) } } }
                    td.n { (num(g.count as i64)) } td.t { (g.last_failed_at) }
                }
            } } }
        }
        @if filtered {
            p { "Showing " (num(letters.len() as i64)) " matching "
                @if let Some(h) = data::given(&f.handler) { "handler " code { (h) } " " }
                @if let Some(e) = data::given(&f.error) { "error " code.err { (e) } " " }
                a href=(ctx.href("/dead-letters")) { "clear filter" } }
        }
        @if !letters.is_empty() {
            @if ctx.can_act() {
                div.actions {
                    a.button href={(ctx.href("/dead-letters/confirm")) "?action=retry&" (filter_query(&f))} { "Retry all " (num(letters.len() as i64)) " matching…" }
                    a.button.danger href={(ctx.href("/dead-letters/confirm")) "?action=discard&" (filter_query(&f))} { "Discard all " (num(letters.len() as i64)) " matching…" }
                }
            }
            form method="post" action=(ctx.href("/dead-letters/act")) data-confirm-selection {
                (ctx.csrf_field())
                @if ctx.can_act() {
                    div.actions {
                        button type="submit" name="action" value="retry" { "Retry selected" }
                        button.danger type="submit" name="action" value="discard" { "Discard selected" }
                    }
                }
                table.grid.letters {
                    thead { tr { th { @if ctx.can_act() { input type="checkbox" data-select-all aria-label="select all"; } } th.n { "#" } th { "handler" } th { "event" } th.n { "attempts" } th { "last error" } th { "failed" } } }
                    tbody { @for d in &shown {
                        tr {
                            td { @if ctx.can_act() { input type="checkbox" name="id" value=(d.id) aria-label="select"; } }
                            td.n { (d.id) }
                            td { (d.handler) }
                            td { a href=(ctx.href(&format!("/events/{}", d.event.id))) { (d.event.event_type) }
                                 details { summary { "payload" } pre.json { (pretty(&d.event.payload)) } } }
                            td.n { (d.attempts) }
                            td { code.err { (d.last_error) } }
                            td.t { (d.failed_at) }
                        }
                    } }
                }
                @if letters.len() > shown.len() { p.muted { "The newest " (shown.len()) " of " (letters.len()) " are listed." } }
            }
        }
    };
    layout(&ctx, "Dead letters", "dead letters", content)
}

/// `GET /dead-letters/confirm?action=retry|discard&handler=&error=`: how many
/// a bulk action would touch, and the button that does it.
pub(crate) async fn confirm(ctx: Ctx, Query(q): Query<DeadQuery>) -> Response {
    let f = q.filter();
    let n = match data::dead_matching(&ctx.app, &ctx.grant, &f).await {
        Ok(l) => l.len(),
        Err(p) => return problem_page(&ctx, p),
    };
    let retry = q.action.as_deref() != Some("discard");
    let verb = if retry { "Retry" } else { "Discard" };
    let content = html! {
        h1 { (verb) " " (num(n as i64)) " dead letter" @if n != 1 { "s" } "?" }
        p { "Every dead letter "
            @if let Some(h) = data::given(&f.handler) { "of handler " code { (h) } " " }
            @if let Some(e) = data::given(&f.error) { "with the error " code.err { (e) } " " }
            "in your districts: " strong { (num(n as i64)) } "."
            @if !retry { " Discarded letters are not delivered again." } }
        @if ctx.can_act() && n > 0 {
            form method="post" action=(ctx.href("/dead-letters/act")) {
                (ctx.csrf_field())
                input type="hidden" name="all" value="1";
                input type="hidden" name="action" value=(if retry { "retry" } else { "discard" });
                (filter_fields(&f))
                button type="submit" class=[(!retry).then_some("danger")] { (verb) " " (num(n as i64)) }
                " " a href={(ctx.href("/dead-letters")) "?" (filter_query(&f))} { "cancel" }
            }
        }
    };
    layout(&ctx, "Confirm", "dead letters", content)
}
