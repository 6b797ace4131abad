// A handler takes the event envelope as its first parameter.
use skillcore_events::{handler, HandlerError};

mod events {
    skillcore_events::catalog!("ui/handler/catalog.yaml");
}

#[handler("gradebook.grade.posted", catalog = "ui/handler/catalog.yaml")]
async fn update_gpa() -> Result<(), HandlerError> {
    Ok(())
}

fn main() {}
