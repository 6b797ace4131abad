mod events {
    skillcore_events::catalog!("ui/rules/past_tense.yaml");
}

fn main() {}
