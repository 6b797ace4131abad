mod events {
    skillcore_events::catalog!("ui/rules/many_errors.yaml");
}

fn main() {}
