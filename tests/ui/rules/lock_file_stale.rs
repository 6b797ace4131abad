mod events {
    skillcore_events::catalog!("ui/rules/lock_file_stale.yaml");
}

fn main() {}
