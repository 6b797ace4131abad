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
    pub group: Option<String>,
    pub district: Option<String>,
    pub cursor: Option<String>,
    pub done: Option<String>,
    pub action: Option<String>,
}

/// Letters per page on the dead letters page.
const PAGE: u32 = 50;

impl DeadQuery {
    fn filter(&self) -> DeadFilter {
        DeadFilter {
            handler: self.handler.clone(),
            group: self.group.clone(),
            district: self.district.clone(),
            cursor: self.cursor.clone(),
            limit: Some(PAGE),
        }
    }
}

fn filter_fields(f: &DeadFilter) -> Markup {
    html! {
        @if let Some(h) = data::given(&f.handler) { input type="hidden" name="handler" value=(h); }
        @if let Some(g) = data::given(&f.group) { input type="hidden" name="group" value=(g); }
        @if let Some(d) = data::given(&f.district) { input type="hidden" name="district" value=(d); }
    }
}

fn filter_query(f: &DeadFilter) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("handler", &f.handler),
        ("group", &f.group),
        ("district", &f.district),
    ] {
        if let Some(v) = data::given(v) {
            q.append_pair(k, v);
        }
    }
    q.finish()
}

/// What the filter is, in words.
fn described(f: &DeadFilter, groups: &[data::DeadGroup]) -> Markup {
    let group = data::given(&f.group).and_then(|k| groups.iter().find(|g| g.key == k));
    html! {
        @if let Some(h) = data::given(&f.handler) { "of handler " code { (h) } " " }
        @if let Some(g) = group { "with the error " code.err { (g.error) } " " }
        @if let Some(d) = data::given(&f.district) { "of district " code { (d) } " " }
    }
}

/// `GET /dead-letters`.
pub(crate) async fn page(ctx: Ctx, Query(q): Query<DeadQuery>) -> Response {
    let f = q.filter();
    let everything = DeadFilter {
        district: f.district.clone(),
        ..Default::default()
    };
    let (groups, (letters, next)) = match (
        data::dead_groups(&ctx.app, &ctx.grant, &everything).await,
        data::dead_page(&ctx.app, &ctx.grant, &f).await,
    ) {
        (Ok(g), Ok(l)) => (g, l),
        (Err(p), _) | (_, Err(p)) => return problem_page(&ctx, p),
    };
    let total: i64 = groups.iter().map(|g| g.count).sum();
    let matching: i64 = groups
        .iter()
        .filter(|g| data::given(&f.handler).is_none_or(|h| h == g.handler))
        .filter(|g| data::given(&f.group).is_none_or(|k| k == g.key))
        .map(|g| g.count)
        .sum();
    let shown: Vec<_> = letters
        .iter()
        .map(|d| data::dead_view(&ctx.app, &ctx.grant, d))
        .collect();
    let paged = data::given(&f.cursor).is_some();
    let older = next.map(|c| {
        let mut q = filter_query(&f.without_page());
        if !q.is_empty() {
            q.push('&');
        }
        q.push_str("cursor=");
        q.push_str(&enc(&c));
        q
    });
    let filtered = data::given(&f.handler).is_some() || data::given(&f.group).is_some();
    let content = html! {
        h1 { "Dead letters " span.badge.bad[total > 0] { (num(total)) } }
        @if let Some(d) = data::given(&q.done) { p.okay { (d) "." } }
        h2 { "Groups" }
        @if groups.is_empty() { p.okay { "No dead letters." } } @else {
            table.grid {
                thead { tr { th { "handler" } th { "error (ids, numbers and quoted values masked)" } th.n { "letters" } th { "first" } th { "last" } } }
                tbody { @for g in &groups {
                    tr class=[(data::given(&f.group) == Some(g.key.as_str())).then_some("on")] {
                        td { a href={(ctx.href("/dead-letters")) "?handler=" (enc(&g.handler))} { (g.handler) } }
                        td { a href={(ctx.href("/dead-letters")) "?group=" (enc(&g.key))} { code.err { (g.error) } } }
                        td.n.bad { (num(g.count)) } td.t { (g.first_seen) } td.t { (g.last_seen) }
                    }
                } }
            }
        }
        @if filtered {
            p { (num(matching)) " dead letters " (described(&f, &groups)) a href=(ctx.href("/dead-letters")) { "clear filter" } }
        }
        @if !letters.is_empty() {
            @if ctx.can_act() {
                div.actions {
                    a.button href={(ctx.href("/dead-letters/confirm")) "?action=retry&" (filter_query(&f))} { "Retry all " (num(matching)) " matching…" }
                    a.button.danger href={(ctx.href("/dead-letters/confirm")) "?action=discard&" (filter_query(&f))} { "Discard all " (num(matching)) " matching…" }
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
                    thead { tr { th { @if ctx.can_act() { input type="checkbox" data-select-all aria-label="select all"; } } th.n { "#" } th { "handler" } th { "event" } th.n { "attempts" } th { "last error" } th { "failed" } th {} } }
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
                            td.row-actions { @if ctx.can_act() {
                                button.small type="submit" name="action" value={"retry:" (d.id)} { "retry" }
                                button.small.danger type="submit" name="action" value={"discard:" (d.id)} { "discard" }
                            } }
                        }
                    } }
                }
                p.muted {
                    @if paged { "Older letters: " (shown.len()) " of " (num(matching)) ". " a href={(ctx.href("/dead-letters")) "?" (filter_query(&f.without_page()))} { "newest" } " " }
                    @else if (matching as usize) > shown.len() { "The newest " (shown.len()) " of " (num(matching)) " are listed. " }
                    @if let Some(q) = &older { a href={(ctx.href("/dead-letters")) "?" (q)} { "older letters →" } }
                }
            }
        }
    };
    layout(&ctx, "Dead letters", "dead letters", content)
}

/// `GET /dead-letters/confirm?action=retry|discard&handler=&group=`: how many
/// a bulk action would touch, and the button that does it.
pub(crate) async fn confirm(ctx: Ctx, Query(q): Query<DeadQuery>) -> Response {
    let f = q.filter();
    let (n, groups) = match (
        data::dead_count(&ctx.app, &ctx.grant, &f).await,
        data::dead_groups(&ctx.app, &ctx.grant, &f).await,
    ) {
        (Ok(n), Ok(g)) => (n as i64, g),
        (Err(p), _) | (_, Err(p)) => return problem_page(&ctx, p),
    };
    let retry = q.action.as_deref() != Some("discard");
    let verb = if retry { "Retry" } else { "Discard" };
    let content = html! {
        h1 { (verb) " " (num(n)) " dead letter" @if n != 1 { "s" } "?" }
        p { "Every dead letter " (described(&f, &groups)) "in your districts: " strong { (num(n)) } "."
            @if !retry { " Discarded letters are not delivered again." } }
        @if ctx.can_act() && n > 0 {
            form method="post" action=(ctx.href("/dead-letters/act")) {
                (ctx.csrf_field())
                input type="hidden" name="all" value="1";
                input type="hidden" name="action" value=(if retry { "retry" } else { "discard" });
                (filter_fields(&f))
                button type="submit" class=[(!retry).then_some("danger")] { (verb) " " (num(n)) }
                " " a href={(ctx.href("/dead-letters")) "?" (filter_query(&f))} { "cancel" }
            }
        }
    };
    layout(&ctx, "Confirm", "dead letters", content)
}
