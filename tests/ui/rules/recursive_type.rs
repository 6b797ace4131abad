mod events {
    skillcore_events::catalog!("ui/rules/recursive_type.yaml");
}

fn main() {}
