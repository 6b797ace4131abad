mod events {
    skillcore_events::catalog!("ui/rules/bad_example.yaml");
}

fn main() {}
