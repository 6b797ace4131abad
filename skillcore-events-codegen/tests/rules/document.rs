//! The document's shape: YAML syntax, unknown and missing keys, invalid values.

use super::*;

// ---------------------------------------------------------------- yaml-syntax

#[test]
fn yaml_syntax_tab_in_indentation() {
    let d = only(
        "events:\n  gradebook.grade.posted:\n\tdescription: Grade posted\n",
        "yaml-syntax",
        3,
        1,
    );
    assert_eq!(d.message, "tabs cannot indent YAML; use spaces");
    assert_eq!(help(&d), "replace the tab with spaces");
    assert_eq!(
        d.location.unwrap().source_line,
        "\tdescription: Grade posted"
    );
}

#[test]
fn yaml_syntax_tab_is_reported_at_the_tab_not_the_line_above() {
    // The scanner stops in the plain scalar of line 3; the tab is on line 4,
    // alone or after spaces.
    for (indent, col) in [("\t", 1), ("  \t", 3), ("\t  ", 1)] {
        let yaml = format!(
            "events:\n  gradebook.grade.posted:\n    description: Grade posted\n{indent}aggregate: Result\n"
        );
        let d = only(&yaml, "yaml-syntax", 4, col);
        assert_eq!(d.message, "tabs cannot indent YAML; use spaces");
    }
    // In a payload's long-form field.
    let yaml = format!("{GOOD}      comment:\n\t\ttype: string\n");
    only(&yaml, "yaml-syntax", 9, 1);
}

#[test]
fn yaml_syntax_unclosed_flow_sequence() {
    let c = compile("types:\n  A:\n    description: a\n    enum: [a, b\n");
    assert_eq!(c.diagnostics.len(), 1, "{}", c.render_diagnostics());
    let d = &c.diagnostics[0];
    assert_eq!(d.rule, Rule::YamlSyntax);
    assert!(d.message.starts_with("invalid YAML: "), "{d}");
    // The scanner notices on the next line; the help points at the cause.
    assert_eq!(d.location.as_ref().unwrap().line, 5, "{d}");
    assert_eq!(
        help(d),
        "the `[` at line 4, column 11 is never closed; add the missing `]`"
    );
}

const ALIAS_BOMB: &str = "a: &a [x,x,x,x,x,x,x,x,x]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
";

#[test]
fn yaml_syntax_alias_bomb_fails_fast() {
    let t = std::time::Instant::now();
    let c = compile(ALIAS_BOMB);
    assert!(t.elapsed().as_millis() < 500, "took {:?}", t.elapsed());
    assert_eq!(c.diagnostics.len(), 1);
    let d = &c.diagnostics[0];
    assert_eq!(d.rule, Rule::YamlSyntax);
    assert_eq!(
        d.message,
        "alias expansion exceeds 200000 nodes (an alias bomb?)"
    );
    assert_eq!(
        help(d),
        "catalogs do not need nested aliases; write the values out"
    );
    // The budget runs out while expanding `f` (9^6 nodes).
    assert_eq!(d.location.as_ref().unwrap().line, 6);
}

#[test]
fn yaml_syntax_deep_nesting_fails_fast() {
    for depth in [60usize, 100_000] {
        let deep = format!("k: {}1{}\n", "[".repeat(depth), "]".repeat(depth));
        let t = std::time::Instant::now();
        let c = compile(&deep);
        assert!(t.elapsed().as_millis() < 500, "took {:?}", t.elapsed());
        assert_eq!(c.diagnostics.len(), 1, "{}", c.render_diagnostics());
        let d = &c.diagnostics[0];
        assert_eq!(d.rule, Rule::YamlSyntax);
        assert_eq!(d.message, "nesting is deeper than 48 levels");
        assert_eq!(
            help(d),
            "catalog payloads should be flat; use a named type or `json`"
        );
        if depth == 60 {
            // The root mapping is the first of the 48 levels.
            assert_eq!(positions(&c), vec![("yaml-syntax", 1, 3 + 48)]);
        }
    }
    // Block-style nesting too.
    let mut block = String::new();
    for i in 0..100 {
        block.push_str(&" ".repeat(i));
        block.push_str("k:\n");
    }
    assert_eq!(compile(&block).diagnostics[0].rule, Rule::YamlSyntax);
}

#[test]
fn yaml_syntax_duplicate_key_in_an_event() {
    let yaml = format!("{GOOD}    description: Again\n");
    let d = only(&yaml, "yaml-syntax", 8, 5);
    assert_eq!(
        d.message,
        "duplicate key `description` in event `gradebook.grade.posted`"
    );
    assert_eq!(d.notes.len(), 1);
    assert_eq!(d.notes[0].0.line, 3);
    assert_eq!(d.notes[0].1, "first written here");
}

#[test]
fn yaml_syntax_two_documents() {
    let d = only(&format!("{GOOD}---\n{GOOD}"), "yaml-syntax", 8, 1);
    assert_eq!(
        d.message,
        "a catalog file must hold exactly one YAML document"
    );
}

// ---------------------------------------------------------------- unknown-key

#[test]
fn unknown_key_with_did_you_mean() {
    let yaml = "events:
  gradebook.grade.posted:
    description: Grade posted
    aggregate: Result
    aggregate_id: resultId
    paylod:
      resultId: uuid
";
    let c = compile(yaml);
    // The misspelt key is reported once: not again as the `payload` it meant
    // being missing, nor as an aggregate id with no payload field.
    assert_eq!(
        positions(&c),
        vec![("unknown-key", 6, 5)],
        "{}",
        c.render_diagnostics()
    );
    let d = &c.diagnostics[0];
    assert_eq!(
        d.message,
        "unknown key `paylod` in event `gradebook.grade.posted`"
    );
    assert_eq!(help(d), "did you mean `payload`?");
    // A key left out with no misspelling in its place is still missing.
    let c = compile(&yaml.replace("    paylod:\n      resultId: uuid\n", "    owner: x\n"));
    assert_eq!(
        positions(&c),
        vec![("missing-key", 2, 3), ("unknown-key", 6, 5)],
        "{}",
        c.render_diagnostics()
    );
    assert_eq!(
        c.diagnostics[0].message,
        "event `gradebook.grade.posted` has no `payload`"
    );
}

#[test]
fn unknown_key_everywhere() {
    // Top level, naming, types, long-form fields.
    let d = only(&format!("evnts: {{}}\n{GOOD}"), "unknown-key", 1, 1);
    assert_eq!(d.message, "unknown key `evnts` in the catalog");
    assert_eq!(help(&d), "did you mean `events`?");

    let d = only(
        &format!("naming:\n  pastTense: [sync]\n{GOOD}"),
        "unknown-key",
        2,
        3,
    );
    assert_eq!(help(&d), "did you mean `past_tense`?");

    let d = only(
        &format!("types:\n  A:\n    description: a\n    enum: [x]\n    colour: red\n{GOOD}"),
        "unknown-key",
        5,
        5,
    );
    assert_eq!(d.message, "unknown key `colour` in type `A`");
    assert_eq!(
        help(&d),
        "the keys of type `A` are: `description`, `enum`, `fields`"
    );

    let d = only(
        &format!("{GOOD}      note:\n        typ: string\n        type: string\n"),
        "unknown-key",
        9,
        9,
    );
    assert_eq!(
        d.message,
        "unknown key `typ` in field `note` of event `gradebook.grade.posted`"
    );
    assert_eq!(help(&d), "did you mean `type`?");
}

// ---------------------------------------------------------------- missing-key

#[test]
fn missing_key_each_required_event_key() {
    for (key, example) in [
        ("description", "<one sentence saying what happened>"),
        ("aggregate", "<PascalCase aggregate type>"),
    ] {
        let yaml: String = GOOD
            .lines()
            .filter(|l| !l.trim_start().starts_with(&format!("{key}:")))
            .map(|l| format!("{l}\n"))
            .collect();
        let d = only(&yaml, "missing-key", 2, 3);
        assert_eq!(
            d.message,
            format!("event `gradebook.grade.posted` has no `{key}`")
        );
        assert_eq!(help(&d), format!("add `{key}: {example}`"));
    }
    let d = only(
        "events:\n  gradebook.grade.posted:\n    description: d\n    aggregate: Result\n    payload:\n      resultId: uuid\n",
        "missing-key",
        2,
        3,
    );
    assert_eq!(
        help(&d),
        "add `aggregate_id: <payload field holding the aggregate id>`"
    );
    let c = compile("events:\n  gradebook.grade.posted:\n    description: d\n");
    assert_eq!(
        c.diagnostics
            .iter()
            .map(|d| d.message.as_str())
            .collect::<Vec<_>>(),
        vec![
            // Sorted by position, then text.
            "event `gradebook.grade.posted` has no `aggregate_id`",
            "event `gradebook.grade.posted` has no `aggregate`",
            "event `gradebook.grade.posted` has no `payload`",
        ]
    );
}

#[test]
fn missing_key_in_types_and_fields() {
    let d = only(
        &format!("types:\n  LetterGrade:\n    enum: [A, B]\n{GOOD}"),
        "missing-key",
        2,
        3,
    );
    assert_eq!(d.message, "type `LetterGrade` has no `description`");
    assert_eq!(help(&d), "add `description: <what the type means>`");

    let d = only(
        &format!("types:\n  LetterGrade:\n    description: d\n{GOOD}"),
        "missing-key",
        2,
        3,
    );
    assert_eq!(
        d.message,
        "type `LetterGrade` has neither `enum` nor `fields`"
    );

    let d = only(
        &format!("{GOOD}      note:\n        pii: true\n"),
        "missing-key",
        8,
        7,
    );
    assert_eq!(
        d.message,
        "field `note` of event `gradebook.grade.posted` has no `type`"
    );
    assert_eq!(help(&d), "add `type: string`");
}

// -------------------------------------------------------------- invalid-value

#[test]
fn invalid_value_shapes() {
    let d = only(&format!("{GOOD}    version: 0\n"), "invalid-value", 8, 14);
    assert_eq!(
        d.message,
        "the version of event `gradebook.grade.posted` must be a whole number from 1, found `0`"
    );
    assert_eq!(
        help(&d),
        "write `version: 2` (or leave it out for version 1)"
    );

    let d = only(
        &format!("{GOOD}      note:\n        type: string\n        pii: maybe\n"),
        "invalid-value",
        10,
        14,
    );
    assert_eq!(
        d.message,
        "`pii` of field `note` of event `gradebook.grade.posted` must be `true` or `false`"
    );

    let d = only(
        &format!("naming:\n  exempt: a.b\n{GOOD}"),
        "invalid-value",
        2,
        11,
    );
    assert_eq!(
        d.message,
        "`naming.exempt` must be a list, found a single value"
    );
    assert_eq!(help(&d), "write it as a YAML list: `[a, b]`");

    let d = only("events: [a, b]\n", "invalid-value", 1, 9);
    assert_eq!(d.message, "`events` must be a mapping, found a list");

    let d = only(&format!("{GOOD}    examples: 3\n"), "invalid-value", 8, 15);
    assert_eq!(
        help(&d),
        "write `examples:` followed by `- field: value` entries"
    );

    let d = only(
        &format!(
            "types:\n  A:\n    description: a\n    enum: [x]\n    fields: {{ y: int }}\n{GOOD}"
        ),
        "invalid-value",
        5,
        5,
    );
    assert_eq!(d.message, "type `A` has both `enum` and `fields`");
}
