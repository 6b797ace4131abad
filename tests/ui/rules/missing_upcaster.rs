mod events {
    skillcore_events::catalog!("ui/rules/missing_upcaster.yaml");
}

fn main() {}
