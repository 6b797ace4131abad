//! The JSON Schema of the catalog format (`skillcore-events catalog-schema`,
//! committed as `schemas/catalog.schema.json`): the committed copy is the one
//! the code builds; it is a valid draft 2020-12 schema; the SkillCore catalog
//! and the spec example of docs/catalog.md validate against it; and every
//! file of the bad-catalog corpus (tests/ui/rules) whose error is about the
//! document's shape fails against it.

use serde_json::Value;
use skillcore_events_codegen::ast::{catalog_schema, catalog_schema_text};
use skillcore_events_codegen::{compile_str, yaml, Sources};
use std::path::{Path, PathBuf};

/// The rules about the document's shape: a key the format does not define, a
/// required key left out, a value of the wrong shape.
const SHAPE_RULES: &[&str] = &["unknown-key", "missing-key", "invalid-value"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::options()
        .build(&catalog_schema())
        .expect("a valid schema")
}

/// The JSON form of one YAML document (as the YAML language server reads it).
fn to_json(display: &str, text: &str) -> Value {
    let sources = Sources::single(display, text);
    match yaml::parse(&sources, 0) {
        Ok(Some(node)) => node
            .to_json()
            .unwrap_or_else(|_| panic!("{display}: no JSON form")),
        Ok(None) => Value::Null,
        Err(d) => panic!("{display}: {}", d.render()),
    }
}

/// The schema's complaints about a document, one line each.
fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{e} at `{}`", e.instance_path()))
        .collect()
}

#[test]
fn the_committed_schema_is_the_one_the_code_builds() {
    let path = root().join("schemas/catalog.schema.json");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == catalog_schema_text(),
        "schemas/catalog.schema.json is out of date; regenerate it with\n  cargo run -p skillcore-events-cli -- catalog-schema --output schemas/catalog.schema.json"
    );
}

#[test]
fn the_schema_is_valid_draft_2020_12() {
    let schema = catalog_schema();
    jsonschema::draft202012::meta::validate(&schema).expect("a valid 2020-12 schema");
    // And it does judge: a document with an unknown key fails.
    let v = validator();
    assert!(!v.is_valid(&serde_json::json!({ "evnts": {} })));
    assert!(v.is_valid(&serde_json::json!({ "events": {} })));
}

#[test]
fn every_file_of_the_skillcore_catalog_validates() {
    let v = validator();
    let mut n = 0;
    for entry in std::fs::read_dir(root().join("catalog")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml" && e != "yml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let doc = to_json(&path.display().to_string(), &text);
        let errs = errors(&v, &doc);
        assert!(errs.is_empty(), "{}:\n{}", path.display(), errs.join("\n"));
        n += 1;
    }
    assert!(n >= 9, "only {n} catalog files");
}

#[test]
fn the_spec_example_validates() {
    let doc = std::fs::read_to_string(root().join("docs/catalog.md")).unwrap();
    let after = doc
        .split_once("## A complete example")
        .expect("the example section")
        .1;
    let yaml_text = after
        .split_once("```yaml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a yaml block")
        .0;
    assert!(yaml_text.contains("gradebook.grade.posted"));
    // The example is a valid catalog, and the schema agrees.
    let compiled = compile_str("example.yaml", yaml_text);
    assert!(compiled.is_ok(), "{}", compiled.render_diagnostics());
    let errs = errors(&validator(), &to_json("example.yaml", yaml_text));
    assert!(errs.is_empty(), "{}", errs.join("\n"));
}

/// The rule ids of a UI case's checked-in `.stderr`.
fn stderr_rules(stderr: &str) -> Vec<String> {
    stderr
        .split("error[")
        .skip(1)
        .filter_map(|s| s.split_once(']').map(|(id, _)| id.to_string()))
        .collect()
}

#[test]
fn every_shape_error_of_the_bad_catalog_corpus_fails_against_the_schema() {
    let v = validator();
    let dir = root().join("tests/ui/rules");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let stderr_path = entry.unwrap().path();
        if stderr_path.extension().is_none_or(|e| e != "stderr") {
            continue;
        }
        let stderr = std::fs::read_to_string(&stderr_path).unwrap();
        let rules = stderr_rules(&stderr);
        if !rules.iter().any(|r| SHAPE_RULES.contains(&r.as_str())) {
            continue;
        }
        // The case's catalog: `<case>.yaml`, or the files of `<case>/`.
        let stem = stderr_path.with_extension("");
        let files: Vec<PathBuf> = if stem.is_dir() {
            let mut f: Vec<PathBuf> = std::fs::read_dir(&stem)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
                .collect();
            f.sort();
            f
        } else {
            vec![stem.with_extension("yaml")]
        };
        let failing = files.iter().any(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            !v.is_valid(&to_json(&f.display().to_string(), &text))
        });
        assert!(
            failing,
            "{} has {rules:?} but its catalog passes the schema",
            stem.display()
        );
        checked.push(stem.file_name().unwrap().to_string_lossy().to_string());
    }
    checked.sort();
    // The corpus's shape cases are all found (more may be added).
    for case in ["invalid_value", "missing_key", "unknown_key"] {
        assert!(
            checked.iter().any(|c| c == case),
            "{case} not checked: {checked:?}"
        );
    }
}

/// A valid event, to break in the cases below (lines 1-7).
const GOOD: &str = "events:
  gradebook.grade.posted:
    description: Grade posted
    aggregate: Result
    aggregate_id: resultId
    payload:
      resultId: uuid
";

/// More shape mistakes, one per key the format has: the compiler reports a
/// shape rule for each, and the schema refuses each.
#[test]
fn each_shape_mistake_the_compiler_reports_the_schema_refuses_too() {
    let v = validator();
    let with = |from: &str, to: &str| GOOD.replace(from, to);
    let extra = |s: &str| format!("{GOOD}{s}");
    let cases: Vec<(String, &str)> = vec![
        ("catalog: [a]\n".to_string() + GOOD, "invalid-value"),
        ("catalgo: x\n".to_string() + GOOD, "unknown-key"),
        (
            "naming: { past_tense: sent }\n".to_string() + GOOD,
            "invalid-value",
        ),
        (
            "naming: { exmpt: [a.b] }\n".to_string() + GOOD,
            "unknown-key",
        ),
        (
            "evolution: { compatibility: sideways }\n".to_string() + GOOD,
            "invalid-value",
        ),
        (
            "evolution: { mode: full }\n".to_string() + GOOD,
            "unknown-key",
        ),
        ("types: [A]\n".to_string() + GOOD, "invalid-value"),
        (
            "types:\n  A:\n    enum: [a]\n".to_string() + GOOD,
            "missing-key",
        ),
        (
            "types:\n  A:\n    description: a\n".to_string() + GOOD,
            "missing-key",
        ),
        (
            "types:\n  A:\n    description: a\n    enum: []\n".to_string() + GOOD,
            "invalid-value",
        ),
        (
            "types:\n  A:\n    description: a\n    enum: [a]\n    fields: {}\n".to_string() + GOOD,
            "invalid-value",
        ),
        (
            "types:\n  A:\n    description: a\n    enum: [a]\n    values: [b]\n".to_string() + GOOD,
            "unknown-key",
        ),
        (with("    description: Grade posted\n", ""), "missing-key"),
        (with("    aggregate: Result\n", ""), "missing-key"),
        (
            with("description: Grade posted", "description: [a, b]"),
            "invalid-value",
        ),
        (
            with("description: Grade posted", "description: ''"),
            "invalid-value",
        ),
        (extra("    version: 0\n"), "invalid-value"),
        (extra("    version: one\n"), "invalid-value"),
        (
            extra("    handlers: analytics.update_gpa\n"),
            "invalid-value",
        ),
        (extra("    examples: { resultId: x }\n"), "invalid-value"),
        (extra("    compatibility: sideways\n"), "invalid-value"),
        (extra("    deprecated: [a]\n"), "invalid-value"),
        (extra("    upcast: [a]\n"), "invalid-value"),
        (extra("    owner: gradebook\n"), "unknown-key"),
        (extra("      comment: { description: c }\n"), "missing-key"),
        (
            extra("      comment: { type: string, pii: maybe }\n"),
            "invalid-value",
        ),
        (
            extra("      comment: { type: string, secret: true }\n"),
            "unknown-key",
        ),
        (extra("      comment: [string]\n"), "invalid-value"),
        (
            extra("      comment: { type: string, deprecated: [x] }\n"),
            "invalid-value",
        ),
        (
            with("payload:\n      resultId: uuid", "payload: [resultId]"),
            "invalid-value",
        ),
        ("- events\n".to_string(), "invalid-value"),
    ];
    for (yaml_text, rule) in &cases {
        let c = compile_str("t.yaml", yaml_text);
        let rules: Vec<&str> = c.diagnostics.iter().map(|d| d.rule.id()).collect();
        assert!(
            rules.contains(rule),
            "the compiler gives {rules:?}, not {rule}, for\n{yaml_text}"
        );
        assert!(
            !v.is_valid(&to_json("t.yaml", yaml_text)),
            "the schema accepts ({rule})\n{yaml_text}"
        );
    }
    // And what is only a naming or type rule is no shape error: the schema
    // lets the compiler judge it.
    for (yaml_text, rule) in [
        (
            with("gradebook.grade.posted", "gradebook.grade.post"),
            "past-tense",
        ),
        (with("resultId: uuid", "resultId: strng"), "unknown-type"),
        (with("resultId: uuid", "result_id: uuid"), "field-name"),
        (
            extra("    handlers: [Analytics.UpdateGpa]\n"),
            "handler-name",
        ),
    ] {
        let c = compile_str("t.yaml", &yaml_text);
        assert_eq!(
            c.diagnostics[0].rule.id(),
            rule,
            "{}",
            c.render_diagnostics()
        );
        let errs = errors(&v, &to_json("t.yaml", &yaml_text));
        assert!(errs.is_empty(), "{rule}:\n{}", errs.join("\n"));
    }
}

#[test]
fn every_evolution_key_is_in_the_schema() {
    let text = catalog_schema_text();
    for key in [
        "evolution",
        "compatibility",
        "renamed_from",
        "deprecated",
        "upcast",
        "default",
        "backward_transitive",
    ] {
        assert!(text.contains(&format!("\"{key}\"")), "{key}");
    }
    let v = validator();
    let evolved = format!(
        "evolution:\n  compatibility: full\n{}    version: 2\n    compatibility: backward\n    renamed_from: gradebook.score.posted\n    deprecated: use gradebook.grade.recorded\n    upcast:\n      1: crate::upcast::grade_posted_v1\n      score:\n        type: number\n        renamed_from: points\n        default: 0\n        deprecated: true\n",
        GOOD.replace("    payload:\n      resultId: uuid\n", "")
    );
    let evolved = evolved.replace(
        "      1: crate::upcast::grade_posted_v1\n",
        "      1: crate::upcast::grade_posted_v1\n    payload:\n      resultId: uuid\n",
    );
    let errs = errors(&v, &to_json("t.yaml", &evolved));
    assert!(errs.is_empty(), "{evolved}\n{}", errs.join("\n"));
    assert!(compile_str("t.yaml", &evolved)
        .diagnostics
        .iter()
        .all(|d| !SHAPE_RULES.contains(&d.rule.id())));
}
