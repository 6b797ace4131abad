// `ordered` is a bare flag: a value, or the flag written twice, is caught at
// the flag.
use skillcore_events::{handler, Envelope, HandlerError};

mod events {
    skillcore_events::catalog!("ui/handler/catalog.yaml");
}
use events::gradebook;

#[handler("gradebook.grade.posted", catalog = "ui/handler/catalog.yaml", ordered = true)]
async fn update_gpa(event: &Envelope<gradebook::GradePosted>) -> Result<(), HandlerError> {
    let _ = event;
    Ok(())
}

#[handler("gradebook.grade.posted", catalog = "ui/handler/catalog.yaml", ordered, ordered)]
async fn notify(event: &Envelope<gradebook::GradePosted>) -> Result<(), HandlerError> {
    let _ = event;
    Ok(())
}

fn main() {}
