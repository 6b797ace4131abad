// Deprecated events and fields warn where the user's code names them (here
// denied, so the warnings are the errors below) and nowhere else: the
// expansion of `catalog!` adds none of its own.
#![deny(deprecated)]

mod events {
    skillcore_events::catalog!("ui/rules/deprecated_event.yaml");
}

use events::gradebook::{GradeDeleted, GradeRemoved};

fn main() {
    let deleted = GradeDeleted {
        grade_id: skillcore_events::uuid::Uuid::nil(),
    };
    let _ = events::names::GRADEBOOK_GRADE_DELETED;
    let removed = GradeRemoved {
        grade_id: skillcore_events::uuid::Uuid::nil(),
        points: 1.0,
        old_score: None,
        comment: None,
    };
    let _ = (deleted, removed.points);
    // The deprecated event's `AnyEvent` variant warns too.
    let any: Option<events::AnyEvent> = None;
    if let Some(events::AnyEvent::GradebookGradeDeleted(_)) = any {}
}
