mod events {
    skillcore_events::catalog!("ui/rules/no_such_catalog.yaml");
}

fn main() {}
