mod events {
    skillcore_events::catalog!("ui/rules/unknown_key.yaml");
}

fn main() {}
