// No `catalog = "…"`: the catalog named by tests/Cargo.toml's
// `[package.metadata.skillcore-events]` is the one checked, with its
// did-you-mean.
use skillcore_events::{handler, Envelope, HandlerError};

mod events {
    skillcore_events::catalog!("ui/handler/catalog.yaml");
}
use events::gradebook;

#[handler("gradebook.grade.postd")]
async fn update_gpa(event: &Envelope<gradebook::GradePosted>) -> Result<(), HandlerError> {
    let _ = event;
    Ok(())
}

fn main() {}
