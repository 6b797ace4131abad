mod events {
    skillcore_events::catalog!("ui/rules/name_collision.yaml");
}

fn main() {}
