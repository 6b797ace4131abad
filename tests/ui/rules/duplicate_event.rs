mod events {
    skillcore_events::catalog!("ui/rules/duplicate_event");
}

fn main() {}
