// `ordered` turns per-aggregate ordering on in the registration, alone or
// among other options; without it the handler is not ordered.
use skillcore_events::{handler, registered_handlers, Envelope, HandlerError};

mod events {
    skillcore_events::catalog!("ui/handler/catalog.yaml");
}
use events::{attendance, gradebook};

#[handler(
    "gradebook.grade.posted",
    catalog = "ui/handler/catalog.yaml",
    name = "analytics.update_gpa",
    ordered,
    retries = 1
)]
async fn update_gpa(event: &Envelope<gradebook::GradePosted>) -> Result<(), HandlerError> {
    let _ = event;
    Ok(())
}

#[handler(ordered)]
async fn on_marked(event: &Envelope<attendance::RecordMarked>) -> Result<(), HandlerError> {
    let _ = event;
    Ok(())
}

#[handler(
    "gradebook.grade.posted",
    catalog = "ui/handler/catalog.yaml",
    name = "unordered"
)]
async fn unordered(event: &Envelope<gradebook::GradePosted>) -> Result<(), HandlerError> {
    let _ = event;
    Ok(())
}

fn main() {
    let ordered = |id: &str| {
        registered_handlers()
            .iter()
            .find(|r| r.id.ends_with(id))
            .unwrap_or_else(|| panic!("{id} is registered"))
            .options
            .ordered
    };
    assert!(ordered("analytics.update_gpa"));
    assert!(ordered("::on_marked"));
    assert!(!ordered("unordered"));
}
