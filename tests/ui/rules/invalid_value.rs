mod events {
    skillcore_events::catalog!("ui/rules/invalid_value.yaml");
}

fn main() {}
