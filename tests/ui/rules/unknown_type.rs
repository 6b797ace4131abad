mod events {
    skillcore_events::catalog!("ui/rules/unknown_type.yaml");
}

fn main() {}
