mod events {
    skillcore_events::catalog!("ui/rules/bad_default.yaml");
}

fn main() {}
