// A handler returns `Result<(), HandlerError>`: not nothing, not another type.
use skillcore_events::{handler, Envelope, HandlerError};

mod events {
    skillcore_events::catalog!("ui/handler/catalog.yaml");
}
use events::gradebook;

#[handler("gradebook.grade.posted", catalog = "ui/handler/catalog.yaml")]
async fn update_gpa(event: &Envelope<gradebook::GradePosted>) {
    let _ = event;
}

#[handler("gradebook.grade.posted", catalog = "ui/handler/catalog.yaml", name = "b")]
async fn send_notification(event: &Envelope<gradebook::GradePosted>) -> Option<()> {
    let _ = event;
    None
}

#[handler("gradebook.grade.posted", catalog = "ui/handler/catalog.yaml", name = "c")]
async fn check_failing(event: &Envelope<gradebook::GradePosted>) -> Result<u32, HandlerError> {
    let _ = event;
    Ok(1)
}

fn main() {
    let _ = HandlerError::msg("unused");
}
