mod events {
    skillcore_events::catalog!("ui/rules/handler_name.yaml");
}

fn main() {}
