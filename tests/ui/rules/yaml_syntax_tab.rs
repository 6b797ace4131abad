mod events {
    skillcore_events::catalog!("ui/rules/yaml_syntax_tab.yaml");
}

fn main() {}
