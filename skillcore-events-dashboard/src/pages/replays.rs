//! Replays: start one (a filter to one handler) and follow its progress.

use super::{layout, num, Ctx};
use axum::extract::Query;
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use std::collections::BTreeSet;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ReplayQuery {
    pub handler: Option<String>,
    pub batch: Option<i64>,
}

/// `GET /replays`.
pub(crate) async fn page(ctx: Ctx, Query(q): Query<ReplayQuery>) -> Response {
    let catalog = ctx.app.config.catalog.unwrap_or(&[]);
    let mut handlers: BTreeSet<String> = catalog
        .iter()
        .flat_map(|e| e.handlers.iter().map(|h| h.to_string()))
        .collect();
    handlers.extend(ctx.app.config.handlers.iter().flatten().cloned());
    if let Ok(stats) = ctx.app.store.stats(&ctx.grant.scope).await {
        handlers.extend(stats.into_iter().map(|s| s.handler_id));
    }
    let progress = match (&q.handler, q.batch) {
        (Some(h), Some(b)) => ctx
            .app
            .store
            .replay_progress(&ctx.grant.scope, h, b)
            .await
            .ok()
            .map(|p| (h.clone(), b, p)),
        _ => None,
    };
    let content = html! {
        h1 { "Replays" }
        @if let Some((h, b, p)) = &progress {
            section.card data-poll="replay" data-src=(ctx.href(&format!("/api/replays/{}/{b}", super::enc(h)))) {
                h2 { "Replay " (b) " to " code { (h) } }
                progress max=(p.total.max(1)) value=(p.done + p.dead) {}
                p { span data-k="done" { (num(p.done)) } " handled · "
                    span data-k="dead" class=[(p.dead > 0).then_some("bad")] { (num(p.dead)) } " dead · of "
                    span data-k="total" { (num(p.total)) }
                    " · " span data-k="state" { @if p.finished() { "finished" } @else { "running" } } }
            }
        }
        @if ctx.can_act() {
            h2 { "Start a replay" }
            form.filters method="post" action=(ctx.href("/replays")) {
                (ctx.csrf_field())
                label { "handler" select name="handler" required { @for h in &handlers { option value=(h) selected[q.handler.as_deref() == Some(h.as_str())] { (h) } } } }
                label { "event type" select name="type" { option value="" { "every type" } @for e in catalog { option value=(e.name) { (e.name) } } } }
                label { "since" input type="text" name="since" placeholder="2026-01-31T08:00:00Z"; }
                button type="submit" { "Replay" }
            }
            p.muted { "The matching events of your districts are queued again for that handler (its idempotency record bypassed); the service's workers run them." }
        } @else {
            p.muted { "Read-only access: replays need the right to act." }
        }
    };
    layout(&ctx, "Replays", "replays", content)
}
