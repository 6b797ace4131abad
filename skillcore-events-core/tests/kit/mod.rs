//! The fixture of the testing kit's catalog tests (tests/testing_catalog.rs
//! and tests/testing_warnings.rs, each a binary of its own): the kit catalog
//! and two `#[handler]`s that disagree with it. `analytics.update_gpa` is
//! declared and written; `notifications.send_grade_notification` is declared
//! but written as `notifications.send_grade_notificaton` (a typo in
//! `name = "…"`).

pub mod events {
    skillcore_events::catalog!("tests/fixtures/kit.yaml");
}

use events::gradebook::GradePosted;
use skillcore_events::{handler, Envelope, HandlerError};

#[handler(
    "gradebook.grade.posted",
    name = "analytics.update_gpa",
    catalog = "tests/fixtures/kit.yaml"
)]
pub async fn update_gpa(_event: &Envelope<GradePosted>) -> Result<(), HandlerError> {
    Ok(())
}

#[handler(
    "gradebook.grade.posted",
    name = "notifications.send_grade_notificaton",
    catalog = "tests/fixtures/kit.yaml"
)]
pub async fn send_notification(_event: &Envelope<GradePosted>) -> Result<(), HandlerError> {
    Ok(())
}
