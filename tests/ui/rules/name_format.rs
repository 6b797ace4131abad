mod events {
    skillcore_events::catalog!("ui/rules/name_format.yaml");
}

fn main() {}
