mod events {
    skillcore_events::catalog!("ui/rules/yaml_syntax_unclosed.yaml");
}

fn main() {}
