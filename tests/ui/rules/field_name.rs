mod events {
    skillcore_events::catalog!("ui/rules/field_name.yaml");
}

fn main() {}
