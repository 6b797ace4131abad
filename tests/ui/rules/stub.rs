// The catalog has an error in `attendance.record.marked`; the valid event and
// the generated items around it are still there, so this code adds no
// "cannot find type" errors of its own.
mod events {
    skillcore_events::catalog!("ui/rules/stub.yaml");
}

use events::gradebook::GradePosted;
use skillcore_events::Event;

fn main() {
    let p = GradePosted {
        result_id: skillcore_events::uuid::Uuid::nil(),
        score: 4.5,
    };
    assert_eq!(GradePosted::NAME, events::names::GRADEBOOK_GRADE_POSTED);
    let any = events::AnyEvent::from(p);
    let _ = any.to_json();
    let _ = events::attendance::RecordMarked::NAME;
    let _ = events::EVENTS.len();
}
