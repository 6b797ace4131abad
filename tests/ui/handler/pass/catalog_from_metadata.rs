// No `catalog = "…"`: the event name is checked against the catalog that
// `[package.metadata.skillcore-events] catalog` in tests/Cargo.toml names.
use skillcore_events::{handler, Envelope, HandlerError};

mod events {
    skillcore_events::catalog!("ui/handler/catalog.yaml");
}
use events::gradebook;

#[handler("gradebook.grade.posted", name = "analytics.update_gpa")]
async fn update_gpa(event: &Envelope<gradebook::GradePosted>) -> Result<(), HandlerError> {
    let _ = event;
    Ok(())
}

fn main() {}
