// Misspelt options and malformed durations are caught at the literal.
use skillcore_events::{handler, Envelope, HandlerError};

mod events {
    skillcore_events::catalog!("ui/handler/catalog.yaml");
}
use events::gradebook;

#[handler("gradebook.grade.posted", catalog = "ui/handler/catalog.yaml", retires = 3)]
async fn update_gpa(event: &Envelope<gradebook::GradePosted>) -> Result<(), HandlerError> {
    let _ = event;
    Ok(())
}

#[handler("gradebook.grade.posted", catalog = "ui/handler/catalog.yaml", backoff = "soon")]
async fn notify(event: &Envelope<gradebook::GradePosted>) -> Result<(), HandlerError> {
    let _ = event;
    Ok(())
}

fn main() {}
