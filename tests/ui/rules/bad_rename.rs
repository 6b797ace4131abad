mod events {
    skillcore_events::catalog!("ui/rules/bad_rename.yaml");
}

fn main() {}
