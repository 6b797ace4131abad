mod events {
    skillcore_events::catalog!("ui/rules/breaking_change.yaml");
}

fn main() {}
