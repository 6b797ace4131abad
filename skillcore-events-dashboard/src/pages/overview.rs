//! The overview (per-handler counters, problem handlers first, the last
//! hour's throughput as an SVG chart) and the live tail page.

use super::{age, layout, num, problem_page, Ctx};
use crate::data::{self, Problem};
use crate::App;
use axum::response::Response;
use chrono::{Duration, DurationRound, Utc};
use maud::{html, Markup};
use serde::Serialize;
use skillcore_events_store::Scope;

/// Deliveries finished in one minute.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Bucket {
    pub start: String,
    pub completed: i64,
    pub dead: i64,
}

/// The last hour, per minute, oldest first (60 buckets).
pub(crate) async fn throughput(app: &App, scope: &Scope) -> Result<Vec<Bucket>, Problem> {
    let now = Utc::now();
    let since = now.duration_trunc(Duration::minutes(1)).unwrap_or(now) - Duration::minutes(59);
    let buckets = app
        .store
        .throughput(scope, since, std::time::Duration::from_secs(60))
        .await?;
    Ok(buckets
        .into_iter()
        .map(|b| Bucket {
            start: data::time(&b.start),
            completed: b.completed,
            dead: b.dead,
        })
        .collect())
}

/// The chart: one bar per minute, completed above, dead in red on top.
fn chart(buckets: &[Bucket]) -> Markup {
    let max = buckets
        .iter()
        .map(|b| b.completed + b.dead)
        .max()
        .unwrap_or(0)
        .max(1);
    let (w, h) = (1200.0, 120.0);
    let bw = w / buckets.len().max(1) as f64;
    let total: i64 = buckets.iter().map(|b| b.completed).sum();
    html! {
        figure.chart {
            svg viewBox={"0 0 " (w) " " (h + 16.0)} role="img" aria-label="deliveries finished per minute, last hour" {
                line x1="0" y1=(h) x2=(w) y2=(h) class="axis" {}
                @for (i, b) in buckets.iter().enumerate() {
                    // The top 16 units are the label's.
                    @let hc = b.completed as f64 / max as f64 * (h - 16.0);
                    @let hd = b.dead as f64 / max as f64 * (h - 16.0);
                    rect class="ok" x=(i as f64 * bw + 1.0) y=(h - hc) width=(bw - 2.0) height=(hc) {
                        title { (b.start) ": " (b.completed) " completed, " (b.dead) " dead" }
                    }
                    @if b.dead > 0 {
                        rect class="bad" x=(i as f64 * bw + 1.0) y=(h - hc - hd) width=(bw - 2.0) height=(hd) {}
                    }
                }
                text x="0" y=(h + 14.0) class="tick" { "-60 min" }
                text x=(w) y=(h + 14.0) class="tick end" { "now" }
                text x=(w) y="12" class="tick end" { "max " (max) "/min" }
            }
            figcaption { "Deliveries finished per minute, last hour: " (num(total)) " completed" }
        }
    }
}

/// `GET /`: the overview.
pub(crate) async fn page(ctx: Ctx) -> Response {
    let scope = ctx.grant.scope.clone();
    let (rows, counting) = match data::overview(&ctx.app, &scope).await {
        Ok(Some(r)) => (r, false),
        Ok(None) => (Vec::new(), true),
        Err(p) => return problem_page(&ctx, p),
    };
    let tp = throughput(&ctx.app, &scope).await.unwrap_or_default();
    let problems = rows.iter().filter(|r| r.problem).count();
    let sum = |f: fn(&data::OverviewRow) -> i64| rows.iter().map(f).sum::<i64>();
    let content = html! {
        @if counting {
            p.alert data-counting { "Counting the queue for the first time (a full read of the deliveries: seconds on a queue of millions). The figures appear here by themselves." }
        }
        div.headline data-poll="overview" data-src=(ctx.href("/api/overview")) {
            div.stat.big.bad[sum(|r| r.dead) > 0] { span.n data-total="dead" { (num(sum(|r| r.dead))) } span.l { "dead" } }
            div.stat.big.warn[sum(|r| r.failed) > 0] { span.n data-total="failed" { (num(sum(|r| r.failed))) } span.l { "retrying" } }
            div.stat.big.warn[sum(|r| r.stalled) > 0] { span.n data-total="stalled" { (num(sum(|r| r.stalled))) } span.l { "stalled" } }
            div.stat.big { span.n data-total="waiting" { (num(sum(|r| r.waiting))) } span.l { "waiting" } }
            div.stat.big { span.n data-total="active" { (num(sum(|r| r.active))) } span.l { "active" } }
            div.stat.big { span.n data-total="completed" { (num(sum(|r| r.completed))) } span.l { "completed" } }
        }
        @if problems > 0 {
            p.alert { (problems) " handler" @if problems != 1 { "s" } " with dead letters, retries or stalled leases, listed first." }
        } @else if !rows.is_empty() {
            p.okay { "No dead letters, no retries, no stalled leases." }
        }
        (chart(&tp))
        h2 { "Handlers" }
        @if counting {
            p.muted { "Counting…" }
        } @else if rows.is_empty() {
            p.muted { "No deliveries yet." }
        } @else {
            table.grid.counters {
                thead { tr {
                    th { "handler" } th.n { "waiting" } th.n { "active" } th.n { "stalled" }
                    th.n { "completed" } th.n { "retrying" } th.n { "dead" } th.n { "lag" } th.n { "oldest waiting" }
                } }
                tbody {
                    @for r in &rows {
                        tr class=[r.problem.then_some("problem")] data-handler=(r.handler) {
                            td { a href={(ctx.href("/dead-letters")) "?handler=" (super::enc(&r.handler))} { (r.handler) } }
                            td.n data-k="waiting" { (num(r.waiting)) }
                            td.n data-k="active" { (num(r.active)) }
                            td.n.warn[r.stalled > 0] data-k="stalled" { (num(r.stalled)) }
                            td.n data-k="completed" { (num(r.completed)) }
                            td.n.warn[r.failed > 0] data-k="failed" { (num(r.failed)) }
                            td.n.bad[r.dead > 0] data-k="dead" { (num(r.dead)) }
                            td.n data-k="lag" { (num(r.lag)) }
                            td.n data-k="oldestWaitingAgeSeconds" { @match r.oldest_waiting_age_seconds { Some(s) => (age(s)), None => "–" } }
                        }
                    }
                }
            }
        }
        p.muted.small { "Updates every 5 s while this tab is visible. " span data-updated {} }
    };
    layout(&ctx, "Overview", "overview", content)
}

/// `GET /live`: new events as they are stored, filterable by type.
pub(crate) async fn live(ctx: Ctx) -> Response {
    let types: Vec<&str> = ctx
        .app
        .config
        .catalog
        .unwrap_or(&[])
        .iter()
        .map(|e| e.name)
        .collect();
    let content = html! {
        h1 { "Live tail" }
        form.filters data-tail=(ctx.href("/api/tail")) data-events=(ctx.href("/events/")) {
            label { "event type "
                input name="type" list="types" placeholder="every type";
            }
            datalist id="types" { @for t in &types { option value=(t) {} } }
            button type="button" data-pause { "pause" }
            span.muted data-tail-status { "waiting for new events…" }
        }
        table.grid {
            thead { tr { th { "time" } th { "type" } th { "aggregate" } th { "district" } th { "event" } } }
            tbody data-tail-rows {}
        }
    };
    layout(&ctx, "Live", "live", content)
}
