// A handler must be an `async fn`.
use skillcore_events::{handler, Envelope, HandlerError};

mod events {
    skillcore_events::catalog!("ui/handler/catalog.yaml");
}
use events::gradebook;

#[handler("gradebook.grade.posted", catalog = "ui/handler/catalog.yaml")]
fn update_gpa(event: &Envelope<gradebook::GradePosted>) -> Result<(), HandlerError> {
    let _ = event;
    Ok(())
}

fn main() {}
