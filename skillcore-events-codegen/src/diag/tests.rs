use super::*;

fn loc() -> Location {
    Location {
        file: "catalog/events.yaml".into(),
        line: 42,
        column: 3,
        len: 20,
        source_line: "  gradebook.grade.post:".into(),
        source_skip: 0,
        source_more: false,
    }
}

#[test]
fn renders_headline_snippet_and_help() {
    let d = Diagnostic {
        rule: Rule::PastTense,
        location: Some(loc()),
        message: "action `post` is not in the past tense".into(),
        help: Some("did you mean `gradebook.grade.posted`?".into()),
        notes: vec![],
    };
    assert_eq!(
            d.render(),
            "catalog/events.yaml:42:3: error[past-tense]: action `post` is not in the past tense\n   |\n42 |   gradebook.grade.post:\n   |   ^^^^^^^^^^^^^^^^^^^^\n   = help: did you mean `gradebook.grade.posted`?"
        );
}

#[test]
fn caret_is_clamped_to_the_line() {
    let mut l = loc();
    l.column = 20;
    l.len = 500;
    let d = Diagnostic {
        rule: Rule::YamlSyntax,
        location: Some(l),
        message: "x".into(),
        help: None,
        notes: vec![],
    };
    let last = d.render().lines().last().unwrap().to_string();
    assert_eq!(last, format!("   | {}{}", " ".repeat(19), "^".repeat(4)));
}

#[test]
fn a_long_line_is_cut_around_the_column() {
    let mut l = loc();
    l.source_line = format!("{}bogus{}", "a".repeat(1_000), "b".repeat(1_000));
    l.column = 1_001;
    l.len = 5;
    let d = Diagnostic {
        rule: Rule::UnknownKey,
        location: Some(l),
        message: "m".into(),
        help: None,
        notes: vec![],
    };
    let before = "a".repeat(SNIPPET_BEFORE);
    let after = "b".repeat(SNIPPET_CHARS - SNIPPET_BEFORE - 5);
    let pad = " ".repeat(SNIPPET_BEFORE + 1);
    assert_eq!(
            d.render(),
            format!("catalog/events.yaml:42:1001: error[unknown-key]: m\n   |\n42 | …{before}bogus{after}…\n   | {pad}^^^^^")
        );
}

#[test]
fn source_window_keeps_the_column_and_says_what_was_cut() {
    let line = format!("{}X{}", "a".repeat(10_000), "b".repeat(10_000));
    let (text, skip, more) = source_window(&line, 10_001);
    assert!(more);
    assert_eq!(text.chars().nth(10_000 - skip as usize), Some('X'));
    assert_eq!(text.chars().count(), 2 * SNIPPET_CHARS);
    assert_eq!(source_window("short", 3), ("short".to_string(), 0, false));
}

#[test]
fn rule_ids_round_trip() {
    for r in Rule::ALL {
        assert_eq!(Rule::from_id(r.id()), Some(*r));
    }
    assert_eq!(Rule::from_id("nope"), None);
}
