mod events {
    skillcore_events::catalog!("ui/rules/lock_file_corrupt.yaml");
}

fn main() {}
