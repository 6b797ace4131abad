mod events {
    skillcore_events::catalog!("ui/rules/duplicate_field.yaml");
}

fn main() {}
