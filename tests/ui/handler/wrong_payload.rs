// The name says one event, the parameter takes another event's payload.
use skillcore_events::{handler, Envelope, HandlerError};

mod events {
    skillcore_events::catalog!("ui/handler/catalog.yaml");
}
use events::attendance;

#[handler("gradebook.grade.posted", catalog = "ui/handler/catalog.yaml")]
async fn update_gpa(event: &Envelope<attendance::RecordMarked>) -> Result<(), HandlerError> {
    let _ = event;
    Ok(())
}

fn main() {}
