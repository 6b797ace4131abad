mod events {
    skillcore_events::catalog!("ui/rules/duplicate_type.yaml");
}

fn main() {}
