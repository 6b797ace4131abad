// Code written for the types the author meant (an enum `AttendanceStatus`,
// `int`, `datetime?`) next to a catalog that does not have them yet: the build
// shows the three unknown-type errors and nothing else.
mod events {
    skillcore_events::catalog!("ui/rules/unknown_type_stub.yaml");
}

use events::attendance::RecordMarked;
use events::AttendanceStatus;

fn main() {
    let e = RecordMarked {
        record_id: skillcore_events::uuid::Uuid::nil(),
        status: AttendanceStatus::Late,
        minutes_late: 5,
        marked_at: Some(skillcore_events::chrono::Utc::now()),
    };
    let later: i64 = e.minutes_late + 1;
    println!("{e:?} {later}");
    let _ = events::AnyEvent::from(e).to_json();
}
