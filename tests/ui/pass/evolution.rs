// A catalog with deprecated events and fields and defaults of every type
// expands without a single warning, and code that does not name the
// deprecated items compiles under `deny(warnings)`.
#![deny(warnings)]

mod events {
    skillcore_events::catalog!("fixtures/evolution/evolution.yaml");
}

use events::gradebook::{GradePosted, GradeRemoved};
use skillcore_events::{Event, EventSet};

fn main() {
    let p: GradePosted = serde_json::from_str(
        r#"{"gradeId": "0190a3f4-7b1c-7d2e-9f00-0000000000aa", "points": null}"#,
    )
    .unwrap();
    assert_eq!(p.points, 100.0);
    assert_eq!(p.window.days, 3);
    let r = GradeRemoved {
        grade_id: skillcore_events::uuid::Uuid::nil(),
    };
    let any = events::AnyEvent::from(r);
    assert_eq!(any.name(), GradeRemoved::NAME);
    assert_eq!(events::AnyEvent::events().len(), 4);
    assert_eq!(events::names::ALL.len(), 4);
}
