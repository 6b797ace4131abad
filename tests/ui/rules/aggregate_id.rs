mod events {
    skillcore_events::catalog!("ui/rules/aggregate_id.yaml");
}

fn main() {}
