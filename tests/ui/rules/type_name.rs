mod events {
    skillcore_events::catalog!("ui/rules/type_name.yaml");
}

fn main() {}
