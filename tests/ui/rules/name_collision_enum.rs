mod events {
    skillcore_events::catalog!("ui/rules/name_collision_enum.yaml");
}

fn main() {}
