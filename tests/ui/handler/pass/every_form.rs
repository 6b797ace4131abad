// Every accepted form: name and options, state, context, no name at all.
use skillcore_events::{handler, Envelope, EventBus, HandlerContext, HandlerError};
use std::sync::Arc;

mod events {
    skillcore_events::catalog!("ui/handler/catalog.yaml");
}
use events::{attendance, gradebook};

struct AnalyticsCtx;

#[handler(
    "gradebook.grade.posted",
    catalog = "ui/handler/catalog.yaml",
    name = "analytics.update_gpa",
    retries = 5,
    backoff = "500ms",
    timeout = "10s"
)]
async fn update_gpa(
    event: &Envelope<gradebook::GradePosted>,
    ctx: &AnalyticsCtx,
    cx: &HandlerContext,
) -> Result<(), HandlerError> {
    let _ = (event, ctx, cx.attempt);
    Ok(())
}

#[handler]
async fn on_marked(event: &Envelope<attendance::RecordMarked>) -> Result<(), HandlerError> {
    let _ = event;
    Ok(())
}

fn main() {
    let bus = EventBus::builder()
        .register_all()
        .with_state(Arc::new(AnalyticsCtx))
        .catalog(events::EVENTS)
        .require_catalog_match(true)
        .build();
    assert!(bus.is_err(), "on_marked is not declared in the catalog");
}
