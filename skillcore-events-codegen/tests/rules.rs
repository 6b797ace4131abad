//! Validation rules, checked without rustc: every rule id with a minimal bad
//! catalog (rule, line, column, message and help asserted exactly), and good
//! catalogs with the model they produce.

use skillcore_events_codegen::model::{BaseType, TypeKind};
use skillcore_events_codegen::{compile_str, Compiled, Diagnostic, Rule};
use std::path::PathBuf;

fn compile(yaml: &str) -> Compiled {
    compile_str("t.yaml", yaml)
}

/// `(rule id, line, column)` of every diagnostic, in order.
fn positions(c: &Compiled) -> Vec<(&'static str, u32, u32)> {
    c.diagnostics
        .iter()
        .map(|d| {
            let l = d.location.as_ref().expect("located diagnostic");
            (d.rule.id(), l.line, l.column)
        })
        .collect()
}

/// The only diagnostic of `yaml`, checked to be `rule` at `line:col`.
#[track_caller]
fn only(yaml: &str, rule: &str, line: u32, col: u32) -> Diagnostic {
    let c = compile(yaml);
    assert_eq!(
        positions(&c),
        vec![(Rule::from_id(rule).expect("rule id").id(), line, col)],
        "\n{}",
        c.render_diagnostics()
    );
    c.diagnostics.into_iter().next().unwrap()
}

fn help(d: &Diagnostic) -> &str {
    d.help.as_deref().unwrap_or("<no help>")
}

/// A valid event, to append things to. Lines 1-7.
const GOOD: &str = "events:
  gradebook.grade.posted:
    description: Grade posted
    aggregate: Result
    aggregate_id: resultId
    payload:
      resultId: uuid
";

/// The same event with `name` instead of `gradebook.grade.posted`.
fn event_named(name: &str) -> String {
    GOOD.replace("gradebook.grade.posted", name)
}

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

// ---------------------------------------------------------------- name-format

#[test]
fn name_format_examples_from_the_issue() {
    for (name, expected_help) in [
        (
            "grade",
            "name events `<context>.<aggregate>.<action>`, for example `gradebook.grade.posted`",
        ),
        (
            "gradePosted",
            "name events `<context>.<aggregate>.<action>`, for example `gradebook.grade.posted`",
        ),
        (
            "Gradebook.Grade.Posted",
            "did you mean `gradebook.grade.posted`?",
        ),
        ("gradebook.gradeUpdate", "did you mean `gradebook.grade.updated`?"),
        (
            "gradebook.posted",
            "name events `<context>.<aggregate>.<action>`, for example `gradebook.grade.posted` (a legacy two-segment name may instead be listed under `naming.exempt`)",
        ),
        (
            "gradebook.grade.posted.v2",
            "name events `<context>.<aggregate>.<action>`, for example `gradebook.grade.posted`",
        ),
        ("gradebook.grade-item.posted", "did you mean `gradebook.grade_item.posted`?"),
        ("gradebook..posted", "name events `<context>.<aggregate>.<action>`, for example `gradebook.grade.posted`"),
    ] {
        let d = only(&event_named(name), "name-format", 2, 3);
        assert_eq!(
            d.message,
            format!(
                "event name `{name}` is not `<context>.<aggregate>.<action>` in lowercase snake_case"
            )
        );
        assert_eq!(help(&d), expected_help, "for {name}");
        assert_eq!(d.location.unwrap().len, name.chars().count() as u32);
    }
}

#[test]
fn name_format_exempt_two_segment_names() {
    let yaml = format!(
        "naming:\n  exempt: [intervention.created]\n{}",
        event_named("intervention.created")
    );
    let c = compile(&yaml);
    assert!(c.is_ok(), "{}", c.render_diagnostics());
    let e = c.catalog.event("intervention.created").unwrap();
    assert_eq!(e.context, "intervention");
    assert_eq!(e.aggregate_segment, "intervention");
    assert_eq!(e.action, "created");
    assert_eq!(e.idents.module, "intervention");
    assert_eq!(e.idents.type_name, "InterventionCreated");
    assert_eq!(e.idents.variant, "InterventionCreated");
    assert_eq!(e.idents.constant, "INTERVENTION_CREATED");
    // Exemption only covers the two-segment form, not arbitrary names.
    let yaml = format!(
        "naming:\n  exempt: [Intervention.Created]\n{}",
        event_named("Intervention.Created")
    );
    only(&yaml, "name-format", 4, 3);
}

// ----------------------------------------------------------------- past-tense

#[test]
fn past_tense_with_suggestion() {
    for (name, fixed, word, last) in [
        (
            "gradebook.grade.post",
            "gradebook.grade.posted",
            "posted",
            "post",
        ),
        (
            "attendance.record.mark",
            "attendance.record.marked",
            "marked",
            "mark",
        ),
        (
            "notifications.email.send",
            "notifications.email.sent",
            "sent",
            "send",
        ),
        (
            "gradebook.grade.score_update",
            "gradebook.grade.score_updated",
            "updated",
            "update",
        ),
        (
            "iep.plan.submit",
            "iep.plan.submitted",
            "submitted",
            "submit",
        ),
        (
            "enrollment.student.applying",
            "enrollment.student.applied",
            "applied",
            "applying",
        ),
    ] {
        let d = only(&event_named(name), "past-tense", 2, 3);
        let action = name.rsplit('.').next().unwrap();
        assert_eq!(
            d.message,
            format!("action `{action}` of event `{name}` is not in the past tense")
        );
        assert_eq!(
            help(&d),
            format!("did you mean `{fixed}`? (`{word}`; if `{last}` is already past tense, add it to `naming.past_tense`)")
        );
    }
}

#[test]
fn past_tense_accepts_irregulars_and_the_catalog_list() {
    for name in [
        "notifications.email.sent",
        "enrollment.student.withdrawn",
        "iep.goal.met",
    ] {
        assert!(compile(&event_named(name)).is_ok(), "{name}");
    }
    only(&event_named("sis_sync.roster.sync"), "past-tense", 2, 3);
    let yaml = format!(
        "naming:\n  past_tense: [sync]\n{}",
        event_named("sis_sync.roster.sync")
    );
    assert!(compile(&yaml).is_ok());
}

// ------------------------------------------------------------ duplicate-event

#[test]
fn duplicate_event_as_duplicate_yaml_key() {
    let yaml = format!("{GOOD}{}", &GOOD["events:\n".len()..]);
    let d = only(&yaml, "duplicate-event", 8, 3);
    assert_eq!(
        d.message,
        "event `gradebook.grade.posted` is declared twice"
    );
    assert_eq!(
        help(&d),
        "remove one declaration; to change a payload incompatibly, raise `version`"
    );
    assert_eq!(d.notes.len(), 1);
    assert_eq!(d.notes[0].1, "first declared here");
    assert_eq!((d.notes[0].0.line, d.notes[0].0.column), (2, 3));
}

/// A fresh directory under the system temp dir (no `tempfile` crate).
fn temp_dir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "skillcore-rules-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn duplicate_event_across_files_points_at_both() {
    let base = temp_dir("dup-event");
    let cat = base.join("catalog");
    std::fs::create_dir(&cat).unwrap();
    std::fs::write(cat.join("a_gradebook.yaml"), GOOD).unwrap();
    std::fs::write(
        cat.join("b_other.yaml"),
        format!(
            "# owned by another team\n{}",
            GOOD.replace("Grade posted", "Again")
        ),
    )
    .unwrap();
    std::fs::write(cat.join("notes.txt"), "not yaml: [").unwrap();
    let c = skillcore_events_codegen::load(&cat, &base);
    assert_eq!(c.sources.files.len(), 2, "only *.yaml files are read");
    assert_eq!(c.diagnostics.len(), 1, "{}", c.render_diagnostics());
    let d = &c.diagnostics[0];
    assert_eq!(d.rule, Rule::DuplicateEvent);
    let l = d.location.as_ref().unwrap();
    assert_eq!(
        (l.file.as_str(), l.line, l.column),
        ("catalog/b_other.yaml", 3, 3)
    );
    assert_eq!(d.notes.len(), 1);
    let (n, text) = &d.notes[0];
    assert_eq!(
        (n.file.as_str(), n.line, n.column),
        ("catalog/a_gradebook.yaml", 2, 3)
    );
    assert_eq!(text, "first declared here");
    assert!(
        d.render()
            .ends_with("= note: first declared here: catalog/a_gradebook.yaml:2:3"),
        "{}",
        d.render()
    );
    // The first declaration wins in the model.
    assert_eq!(c.catalog.events.len(), 1);
    assert_eq!(c.catalog.events[0].description, "Grade posted");
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn directory_catalog_merges_files() {
    let base = temp_dir("merge");
    let cat = base.join("cat");
    std::fs::create_dir(&cat).unwrap();
    std::fs::write(
        cat.join("shared.yaml"),
        "catalog: school\nnaming:\n  exempt: [student.enrolled]\ntypes:\n  LetterGrade:\n    description: d\n    enum: [A, B]\n",
    )
    .unwrap();
    std::fs::write(
        cat.join("gradebook.yml"),
        format!("catalog: school\n{}      letterGrade: LetterGrade\n", GOOD),
    )
    .unwrap();
    std::fs::write(cat.join("enrollment.yaml"), event_named("student.enrolled")).unwrap();
    let c = skillcore_events_codegen::load(&cat, &base);
    assert!(c.is_ok(), "{}", c.render_diagnostics());
    assert_eq!(c.catalog.name, "school");
    let names: Vec<&str> = c.catalog.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, vec!["gradebook.grade.posted", "student.enrolled"]);
    let files: Vec<&str> = c.sources.files.iter().map(|f| f.display.as_str()).collect();
    assert_eq!(
        files,
        vec![
            "cat/enrollment.yaml",
            "cat/gradebook.yml",
            "cat/shared.yaml"
        ]
    );

    // Files that disagree on the catalog name.
    std::fs::write(cat.join("zz.yaml"), "catalog: other\n").unwrap();
    let c = skillcore_events_codegen::load(&cat, &base);
    assert_eq!(c.diagnostics.len(), 1, "{}", c.render_diagnostics());
    let d = &c.diagnostics[0];
    assert_eq!(d.rule, Rule::InvalidValue);
    assert_eq!(d.message, "catalog name `other` differs from `school`");
    assert_eq!(d.location.as_ref().unwrap().file, "cat/zz.yaml");
    assert_eq!(d.notes[0].0.file, "cat/gradebook.yml");
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn load_notices_edits() {
    let base = temp_dir("edit");
    let file = base.join("c.yaml");
    std::fs::write(&file, GOOD).unwrap();
    let first = skillcore_events_codegen::load(&file, &base);
    assert!(first.is_ok());
    // Unchanged: served from the cache, not parsed again.
    let again = skillcore_events_codegen::load(&file, &base);
    assert!(std::sync::Arc::ptr_eq(&first, &again));
    // A different size is enough for the cache to notice, whatever the mtime resolution.
    std::fs::write(&file, event_named("gradebook.grade.post")).unwrap();
    let c = skillcore_events_codegen::load(&file, &base);
    assert_eq!(positions(&c), vec![("past-tense", 2, 3)]);
    assert_eq!(c.diagnostics[0].location.as_ref().unwrap().file, "c.yaml");
    assert!(!std::sync::Arc::ptr_eq(&first, &c));
    let _ = std::fs::remove_dir_all(&base);
}

// ---------------------------------------------------------------- catalog-io

#[test]
fn catalog_io_missing_path_and_empty_directory() {
    let base = temp_dir("io");
    let c = skillcore_events_codegen::load(&base.join("nope.yaml"), &base);
    assert_eq!(c.diagnostics.len(), 1);
    let d = &c.diagnostics[0];
    assert_eq!(d.rule, Rule::CatalogIo);
    assert!(d.location.is_none());
    assert_eq!(
        d.message,
        "cannot read catalog `nope.yaml`: no such file or directory"
    );
    assert_eq!(
        help(d),
        format!(
            "paths are relative to the crate's manifest directory `{}`; point at a `.yaml` file or a directory of them",
            base.display()
        )
    );
    std::fs::create_dir(base.join("empty")).unwrap();
    let c = skillcore_events_codegen::load(&base.join("empty"), &base);
    assert_eq!(
        c.diagnostics[0].message,
        "catalog directory `empty` holds no `*.yaml` file"
    );
    std::fs::write(base.join("latin1.yaml"), b"events: {}\n# caf\xe9\n").unwrap();
    let c = skillcore_events_codegen::load(&base.join("latin1.yaml"), &base);
    assert_eq!(
        c.diagnostics[0].message,
        "`latin1.yaml` is not UTF-8 text (invalid byte at offset 16)"
    );
    let _ = std::fs::remove_dir_all(&base);
}

// ------------------------------------------------------------- duplicate-type

#[test]
fn duplicate_type() {
    let yaml = format!(
        "types:\n  LetterGrade:\n    description: d\n    enum: [A]\n  LetterGrade:\n    description: e\n    enum: [B]\n{GOOD}"
    );
    let d = only(&yaml, "duplicate-type", 5, 3);
    assert_eq!(d.message, "type `LetterGrade` is declared twice");
    assert_eq!(help(&d), "keep one declaration, or rename one of them");
    assert_eq!(d.notes[0].0.line, 2);
}

// ------------------------------------------------------------ duplicate-field

#[test]
fn duplicate_field_same_name_and_same_rust_name() {
    let d = only(
        &format!("{GOOD}      resultId: string\n"),
        "duplicate-field",
        8,
        7,
    );
    assert_eq!(
        d.message,
        "field `resultId` of event `gradebook.grade.posted` is declared twice"
    );
    assert_eq!(help(&d), "remove or rename one of the fields");
    assert_eq!(d.notes[0].0.line, 7);

    let d = only(
        &format!("{GOOD}      districtId: string\n      districtID: string\n"),
        "duplicate-field",
        9,
        7,
    );
    assert_eq!(
        d.message,
        "fields `districtId` and `districtID` of event `gradebook.grade.posted` both become the Rust field `district_id`"
    );
    assert_eq!(d.notes[0].1, "the other field");
}

// ------------------------------------------------------------- name-collision

#[test]
fn name_collision_between_events() {
    let yaml = format!(
        "{}{}",
        event_named("gradebook.grade_item.posted"),
        &event_named("gradebook.grade.item_posted")["events:\n".len()..]
    );
    let c = compile(&yaml);
    assert_eq!(
        positions(&c),
        vec![("name-collision", 8, 3)],
        "{}",
        c.render_diagnostics()
    );
    let d = &c.diagnostics[0];
    assert_eq!(
        d.message,
        "events `gradebook.grade_item.posted` and `gradebook.grade.item_posted` would both generate `gradebook::GradeItemPosted`"
    );
    assert_eq!(help(d), "rename one of the events");
    assert_eq!(d.notes[0].0.line, 2);
    assert_eq!(c.catalog.events.len(), 1);
}

#[test]
fn name_collision_reserved_names() {
    let d = only(&event_named("names.list.created"), "name-collision", 2, 3);
    assert_eq!(
        d.message,
        "context `names` would clash with the generated module `names`"
    );
    let d = only(
        &format!("types:\n  AnyEvent:\n    description: d\n    enum: [a]\n{GOOD}"),
        "name-collision",
        2,
        3,
    );
    assert_eq!(
        d.message,
        "type name `AnyEvent` is taken by the generated code"
    );
    assert_eq!(help(&d), "rename it, for example to `AnyEventKind`");
}

#[test]
fn name_collision_enum_values_and_types() {
    let d = only(
        &format!("types:\n  Channel:\n    description: d\n    enum: [in_app, InApp]\n{GOOD}"),
        "name-collision",
        4,
        20,
    );
    assert_eq!(
        d.message,
        "enum values `in_app` and `InApp` of `Channel` both become the Rust variant `InApp`"
    );
    assert_eq!(help(&d), "remove or rename one of the values");

    let d = only(
        &format!("types:\n  Channel:\n    description: d\n    enum: [sms, sms]\n{GOOD}"),
        "name-collision",
        4,
        17,
    );
    assert_eq!(d.message, "enum value `sms` of `Channel` is listed twice");

    let d = only(
        &format!("types:\n  IEPGoal:\n    description: d\n    enum: [a]\n  IepGoal:\n    description: d\n    enum: [a]\n{GOOD}"),
        "name-collision",
        5,
        3,
    );
    assert_eq!(
        d.message,
        "type `IepGoal` would generate the Rust type `IepGoal` a second time"
    );
}

// --------------------------------------------------------------- unknown-type

#[test]
fn unknown_type_with_did_you_mean() {
    let d = only(
        &format!("{GOOD}      score: strng\n"),
        "unknown-type",
        8,
        14,
    );
    assert_eq!(d.message, "unknown type `strng`");
    assert_eq!(help(&d), "did you mean `string`?");

    let d = only(
        &format!("{GOOD}      scores: numbr[]?\n"),
        "unknown-type",
        8,
        15,
    );
    assert_eq!(help(&d), "did you mean `number`?");

    let yaml = format!(
        "types:\n  LetterGrade:\n    description: d\n    enum: [A]\n{GOOD}      grade: LeterGrade\n"
    );
    let d = only(&yaml, "unknown-type", 12, 14);
    assert_eq!(help(&d), "did you mean `LetterGrade`?");

    let d = only(
        &format!("{GOOD}      grade: Grade\n"),
        "unknown-type",
        8,
        14,
    );
    assert_eq!(
        help(&d),
        "use a built-in (string, int, number, bool, uuid, datetime, date, json) or declare `Grade` under `types:`"
    );

    let d = only(
        &format!("{GOOD}      tags: list<string>\n"),
        "unknown-type",
        8,
        13,
    );
    assert!(help(&d).starts_with("write a type as `T`, `T[]` (list), `T?` (optional)"));
}

// ----------------------------------------------------------------- field-name

#[test]
fn field_name_not_lower_camel() {
    for (bad, fixed) in [
        ("student_id", "studentId"),
        ("StudentId", "studentId"),
        ("student-id", "studentId"),
    ] {
        let d = only(&format!("{GOOD}      {bad}: string\n"), "field-name", 8, 7);
        assert_eq!(
            d.message,
            format!("field name `{bad}` of event `gradebook.grade.posted` is not lowerCamelCase")
        );
        assert_eq!(help(&d), format!("rename it to `{fixed}`"));
    }
    let d = only(&format!("{GOOD}      _: string\n"), "field-name", 8, 7);
    assert_eq!(
        help(&d),
        "use lowerCamelCase: a lowercase letter, then letters and digits"
    );
}

// --------------------------------------------------------------- aggregate-id

#[test]
fn aggregate_id_rules() {
    let d = only(
        &GOOD.replace("aggregate_id: resultId", "aggregate_id: resultID"),
        "aggregate-id",
        5,
        19,
    );
    assert_eq!(
        d.message,
        "aggregate_id `resultID` of event `gradebook.grade.posted` is not a payload field"
    );
    assert_eq!(help(&d), "did you mean `resultId`?");

    let d = only(
        &GOOD.replace("aggregate_id: resultId", "aggregate_id: zzz"),
        "aggregate-id",
        5,
        19,
    );
    assert_eq!(
        help(&d),
        "add `zzz: uuid` to the payload, or name an existing field"
    );

    for (ty, why) in [
        ("uuid?", "is optional"),
        ("number", "has type `number`"),
        ("string[]", "has type `string[]`"),
    ] {
        let d = only(
            &GOOD.replace("resultId: uuid", &format!("resultId: {ty}")),
            "aggregate-id",
            5,
            19,
        );
        assert_eq!(
            d.message,
            format!("aggregate_id field `resultId` of event `gradebook.grade.posted` {why}")
        );
        assert_eq!(
            help(&d),
            "the aggregate id must be a required `string`, `uuid` or `int` field"
        );
    }
    for ty in ["string", "int"] {
        assert!(compile(&GOOD.replace("resultId: uuid", &format!("resultId: {ty}"))).is_ok());
    }
}

// ------------------------------------------------------------------ type-name

#[test]
fn type_name_rules() {
    let d = only(
        &format!("types:\n  letter_grade:\n    description: d\n    enum: [A]\n{GOOD}"),
        "type-name",
        2,
        3,
    );
    assert_eq!(d.message, "type name `letter_grade` is not PascalCase");
    assert_eq!(help(&d), "rename it to `LetterGrade`");

    let d = only(
        &GOOD.replace("aggregate: Result", "aggregate: result"),
        "type-name",
        4,
        16,
    );
    assert_eq!(d.message, "aggregate `result` is not PascalCase");
    assert_eq!(help(&d), "rename it to `Result`");
}

// ------------------------------------------------------------- recursive-type

#[test]
fn recursive_type() {
    let yaml = format!(
        "types:\n  Person:\n    description: d\n    fields:\n      name: string\n      manager: Person?\n      reports: Person[]\n{GOOD}"
    );
    let d = only(&yaml, "recursive-type", 6, 7);
    assert_eq!(d.message, "type `Person` contains itself: Person -> Person");
    assert_eq!(
        help(&d),
        "refer to the other entity by its id (`managerId: string`), or make it a list (`Person[]`)"
    );
    let c = compile(&yaml);
    let TypeKind::Struct(fields) = &c.catalog.named_type("Person").unwrap().kind else {
        panic!()
    };
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["name", "reports"],
        "the cycle is cut, the list kept"
    );

    // Through another type.
    let yaml = format!(
        "types:\n  A:\n    description: d\n    fields:\n      b: B\n  B:\n    description: d\n    fields:\n      a: A?\n{GOOD}"
    );
    // The field that closes the cycle is reported (and cut).
    let c = compile(&yaml);
    assert_eq!(
        positions(&c),
        vec![("recursive-type", 9, 7)],
        "{}",
        c.render_diagnostics()
    );
    assert_eq!(
        c.diagnostics[0].message,
        "type `B` contains itself: B -> A -> B"
    );
    assert_eq!(
        help(&c.diagnostics[0]),
        "refer to the other entity by its id (`aId: string`), or make it a list (`A[]`)"
    );
}

#[test]
fn recursive_type_checks_stay_fast_on_long_chains() {
    // A chain T0 -> T1 -> ... -> T3000 (no cycle), then the same closed into a ring.
    let n = 3000;
    let mut chain = String::from("types:\n");
    for i in 0..n {
        chain.push_str(&format!(
            "  T{i}:\n    description: d\n    fields:\n      next: T{}\n",
            i + 1
        ));
    }
    let ring = format!("{chain}  T{n}:\n    description: d\n    fields:\n      next: T0\n");
    chain.push_str(&format!("  T{n}:\n    description: d\n    enum: [a]\n"));
    let t = std::time::Instant::now();
    assert!(compile(&chain).is_ok());
    let c = compile(&ring);
    assert!(t.elapsed().as_secs() < 3, "took {:?}", t.elapsed());
    assert_eq!(c.diagnostics.len(), 1, "{}", c.render_diagnostics());
    assert_eq!(
        c.diagnostics[0].message,
        "type `T3000` contains itself: T3000 -> T0 -> T1 -> T2 -> ... -> T2997 -> T2998 -> T2999 -> T3000"
    );
}

// --------------------------------------------------------------- handler-name

#[test]
fn handler_name_rules() {
    let yaml = format!("{GOOD}    handlers:\n      - Analytics.UpdateGpa\n      - analytics.update_gpa\n      - analytics.update_gpa\n      - updategpa\n");
    let c = compile(&yaml);
    assert_eq!(
        positions(&c),
        vec![
            ("handler-name", 9, 9),
            ("handler-name", 11, 9),
            ("handler-name", 12, 9)
        ],
        "{}",
        c.render_diagnostics()
    );
    assert_eq!(
        c.diagnostics[0].message,
        "handler id `Analytics.UpdateGpa` of event `gradebook.grade.posted` is not `<context>.<handler_name>` in lowercase snake_case"
    );
    assert_eq!(
        help(&c.diagnostics[0]),
        "did you mean `analytics.update_gpa`?"
    );
    assert_eq!(
        c.diagnostics[1].message,
        "handler `analytics.update_gpa` is listed twice for event `gradebook.grade.posted`"
    );
    assert_eq!(
        help(&c.diagnostics[2]),
        "name handlers `<context>.<handler_name>`, for example `analytics.update_gpa`"
    );
    assert_eq!(c.catalog.events[0].handlers, vec!["analytics.update_gpa"]);
}

// ---------------------------------------------------------------- bad-example

#[test]
fn bad_examples() {
    let yaml = "types:
  LetterGrade:
    description: d
    enum: [A, B]
events:
  gradebook.grade.posted:
    description: Grade posted
    aggregate: Result
    aggregate_id: resultId
    payload:
      resultId: uuid
      score: number
      grade: LetterGrade
      postedAt: datetime
      note: string?
    examples:
      - resultId: not-a-uuid
        score: high
        grade: a
        postedAt: 2025-11-17T14:03:00Z
        notte: x
      - score: 1
        grade: A
        postedAt: 2025-11-17
";
    let c = compile(yaml);
    assert_eq!(
        positions(&c),
        vec![
            ("bad-example", 17, 19),
            ("bad-example", 18, 16),
            ("bad-example", 19, 16),
            ("bad-example", 21, 9),
            ("bad-example", 22, 9),
            ("bad-example", 24, 19),
        ],
        "{}",
        c.render_diagnostics()
    );
    let msgs: Vec<(&str, Option<&str>)> = c
        .diagnostics
        .iter()
        .map(|d| (d.message.as_str(), d.help.as_deref()))
        .collect();
    assert_eq!(
        msgs,
        vec![
            (
                "example 1 of `gradebook.grade.posted`: `resultId` must be a UUID, found the text `not-a-uuid`",
                Some("for example `0b9c6f4e-3f1a-4c1e-9a55-6d2f1e7b8c90`")
            ),
            (
                "example 1 of `gradebook.grade.posted`: `score` must be a number, found the text `high`",
                None
            ),
            (
                "example 1 of `gradebook.grade.posted`: `grade` must be one of A, B, found the text `a`",
                Some("did you mean `A`?")
            ),
            (
                "example 1 of `gradebook.grade.posted`: unknown field `notte`",
                Some("did you mean `note`?")
            ),
            (
                "example 2 of `gradebook.grade.posted`: missing required field: `resultId`",
                Some("add the field, or make it optional in the payload with `?`")
            ),
            (
                "example 2 of `gradebook.grade.posted`: `postedAt` must be an RFC 3339 date-time, found the text `2025-11-17`",
                Some("for example `2025-11-17T14:03:00Z`")
            ),
        ]
    );
    assert!(c.catalog.events[0].examples.is_empty());
}

#[test]
fn good_examples_become_json() {
    let yaml = format!(
        "{GOOD}      tags: string[]\n      n: int?\n    examples:\n      - resultId: 0b9c6f4e-3f1a-4c1e-9a55-6d2f1e7b8c90\n        tags: [a, '12']\n        n: null\n"
    );
    let c = compile(&yaml);
    assert!(c.is_ok(), "{}", c.render_diagnostics());
    assert_eq!(
        c.catalog.events[0].examples,
        vec![serde_json::json!({
            "resultId": "0b9c6f4e-3f1a-4c1e-9a55-6d2f1e7b8c90",
            "tags": ["a", "12"],
            "n": null
        })]
    );
}

// ------------------------------------------------------- many errors at once

#[test]
fn every_error_is_reported_at_once() {
    let yaml = "types:
  letter_grade:
    description: d
    enum: [A, B]
events:
  gradebook.grade.post:
    description: Grade posted
    aggregate: Result
    aggregate_id: resultId
    paylod:
      resultId: uuid
  attendance.record.marked:
    description: Marked
    aggregate: Record
    aggregate_id: recordId
    payload:
      recordId: uuid
      student_id: string
      status: strng
";
    let c = compile(yaml);
    assert_eq!(
        positions(&c),
        vec![
            ("type-name", 2, 3),
            ("past-tense", 6, 3),
            ("unknown-key", 10, 5),
            ("field-name", 18, 7),
            ("unknown-type", 19, 15),
        ],
        "{}",
        c.render_diagnostics()
    );
    let text = c.render_diagnostics();
    assert!(text.ends_with("error: the catalog has 5 errors"), "{text}");
}

// -------------------------------------------------------------- good catalogs

/// The example of issue 2, "accepted exactly as written".
const ISSUE_EXAMPLE: &str = r#"catalog: skillcore

naming:                         # optional
  past_tense: [sent, withdrawn] # extra words accepted as past-tense actions
  exempt: [intervention.created, student.enrolled]   # legacy two-segment names; aggregate = context

types:                          # shared named types, PascalCase
  LetterGrade:
    description: Letter grade derived from a percent score
    enum: [A, B, C, D, F]
  GuardianContact:
    description: How to reach a guardian
    fields:
      email: string
      phone: string?

events:
  gradebook.grade.posted:
    description: Grade posted for student assignment
    version: 1                  # optional, default 1
    aggregate: Result           # aggregate type, PascalCase
    aggregate_id: resultId      # payload field holding the aggregate id (string, uuid or int)
    payload:
      resultId: uuid
      lineItemId: string
      studentId: string
      classId: string
      score: number
      scorePercent: number
      letterGrade: LetterGrade
      previousScore: number?    # optional: may be absent or null
      gradedById: string
      postedAt: datetime
      districtId: string
      schoolId: string
      comment:                  # long form of a field
        type: string?
        description: Teacher comment to the student
        pii: true               # sensitive (FERPA): redacted in Debug output and logs
    handlers:                   # declared consumers: documentation now, cross-checked against real handlers later
      - analytics.update_gpa
      - notifications.send_grade_notification
"#;

#[test]
fn issue_example_is_accepted_exactly_as_written() {
    let c = compile_str("catalog/skillcore.yaml", ISSUE_EXAMPLE);
    assert!(c.is_ok(), "{}", c.render_diagnostics());
    let cat = &c.catalog;
    assert_eq!(cat.name, "skillcore");
    assert_eq!(
        cat.types
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        vec!["GuardianContact", "LetterGrade"]
    );
    let e = cat.event("gradebook.grade.posted").unwrap();
    assert_eq!(
        (
            e.context.as_str(),
            e.aggregate_segment.as_str(),
            e.action.as_str()
        ),
        ("gradebook", "grade", "posted")
    );
    assert_eq!(e.aggregate, "Result");
    assert_eq!(e.aggregate_id, "resultId");
    assert_eq!(e.version, 1);
    assert_eq!(e.description, "Grade posted for student assignment");
    assert_eq!(e.idents.module, "gradebook");
    assert_eq!(e.idents.type_name, "GradePosted");
    assert_eq!(e.idents.variant, "GradebookGradePosted");
    assert_eq!(e.idents.constant, "GRADEBOOK_GRADE_POSTED");
    assert_eq!(
        e.handlers,
        vec![
            "analytics.update_gpa",
            "notifications.send_grade_notification"
        ]
    );
    let fields: Vec<(&str, &str, String, bool)> = e
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.ident.as_str(), f.ty.to_string(), f.pii))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("resultId", "result_id", "uuid".into(), false),
            ("lineItemId", "line_item_id", "string".into(), false),
            ("studentId", "student_id", "string".into(), false),
            ("classId", "class_id", "string".into(), false),
            ("score", "score", "number".into(), false),
            ("scorePercent", "score_percent", "number".into(), false),
            ("letterGrade", "letter_grade", "LetterGrade".into(), false),
            ("previousScore", "previous_score", "number?".into(), false),
            ("gradedById", "graded_by_id", "string".into(), false),
            ("postedAt", "posted_at", "datetime".into(), false),
            ("districtId", "district_id", "string".into(), false),
            ("schoolId", "school_id", "string".into(), false),
            ("comment", "comment", "string?".into(), true),
        ]
    );
    let comment = e.fields.last().unwrap();
    assert_eq!(
        comment.description.as_deref(),
        Some("Teacher comment to the student")
    );
    assert_eq!(e.fields[6].ty.base, BaseType::Named("LetterGrade".into()));
    let TypeKind::Enum(values) = &cat.named_type("LetterGrade").unwrap().kind else {
        panic!("LetterGrade is an enum")
    };
    assert_eq!(
        values.iter().map(|v| v.value.as_str()).collect::<Vec<_>>(),
        vec!["A", "B", "C", "D", "F"]
    );
    let TypeKind::Struct(fields) = &cat.named_type("GuardianContact").unwrap().kind else {
        panic!("GuardianContact is a struct")
    };
    assert_eq!(fields[1].ty.to_string(), "string?");
}

#[test]
fn identifiers_of_keywords_and_odd_names() {
    let yaml = "types:
  Ordinal:
    description: d
    enum: [1st, 2nd, self, in_app, type]
  Self:
    description: d
    enum: [x]
events:
  match.type.created:
    description: d
    aggregate: Match
    aggregate_id: type
    payload:
      type: string
      match: int
      self: bool
      crate: string?
      districtID: string
      loop: Ordinal
      async: Self
";
    let c = compile(yaml);
    assert!(c.is_ok(), "{}", c.render_diagnostics());
    let e = c.catalog.event("match.type.created").unwrap();
    assert_eq!(e.idents.module, "r#match");
    assert_eq!(e.idents.type_name, "TypeCreated");
    assert_eq!(e.idents.variant, "MatchTypeCreated");
    assert_eq!(e.idents.constant, "MATCH_TYPE_CREATED");
    let idents: Vec<(&str, &str)> = e
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.ident.as_str()))
        .collect();
    assert_eq!(
        idents,
        vec![
            ("type", "r#type"),
            ("match", "r#match"),
            ("self", "self_"),
            ("crate", "crate_"),
            ("districtID", "district_id"),
            ("loop", "r#loop"),
            ("async", "r#async"),
        ]
    );
    let TypeKind::Enum(values) = &c.catalog.named_type("Ordinal").unwrap().kind else {
        panic!()
    };
    let v: Vec<(&str, &str)> = values
        .iter()
        .map(|v| (v.value.as_str(), v.ident.as_str()))
        .collect();
    assert_eq!(
        v,
        vec![
            ("1st", "V1st"),
            ("2nd", "V2nd"),
            ("self", "Self_"),
            ("in_app", "InApp"),
            ("type", "Type"),
        ]
    );
    assert_eq!(c.catalog.named_type("Self").unwrap().ident, "Self_");
}

#[test]
fn versions_and_defaults() {
    let c = compile(&format!("{GOOD}    version: 3\n"));
    assert!(c.is_ok());
    assert_eq!(c.catalog.events[0].version, 3);
    assert_eq!(c.catalog.name, "t", "falls back to the file stem");
    assert!(compile("").is_ok(), "an empty file is an empty catalog");
    assert!(compile("events: {}\n").is_ok());
}

#[test]
fn rendered_text_is_what_users_see() {
    let c = compile(&event_named("gradebook.grade.post"));
    assert_eq!(
        c.diagnostics[0].render(),
        "t.yaml:2:3: error[past-tense]: action `post` of event `gradebook.grade.post` is not in the past tense
  |
2 |   gradebook.grade.post:
  |   ^^^^^^^^^^^^^^^^^^^^
  = help: did you mean `gradebook.grade.posted`? (`posted`; if `post` is already past tense, add it to `naming.past_tense`)"
    );
}
