mod events {
    skillcore_events::catalog!("ui/rules/missing_key.yaml");
}

fn main() {}
