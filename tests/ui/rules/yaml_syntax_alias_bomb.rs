mod events {
    skillcore_events::catalog!("ui/rules/yaml_syntax_alias_bomb.yaml");
}

fn main() {}
