//! The commands for editors and pull requests, through the real binary:
//! `catalog-schema` (the committed schema is what it prints; `--output`
//! writes it) and `check --format github` (annotations at the YAML lines).

mod common;

use common::{parts, root, run, scratch};

#[test]
fn catalog_schema_prints_the_committed_schema() {
    let (code, out, err) = parts(&run(&root(), &["catalog-schema"]));
    assert_eq!(code, 0, "{err}");
    let committed = std::fs::read_to_string(root().join("schemas/catalog.schema.json")).unwrap();
    assert_eq!(
        out, committed,
        "regenerate: catalog-schema --output schemas/catalog.schema.json"
    );
    let schema: serde_json::Value = serde_json::from_str(&out).unwrap();
    jsonschema::draft202012::meta::validate(&schema).expect("a valid schema");
}

#[test]
fn catalog_schema_output_writes_the_file() {
    let dir = scratch("catalog-schema");
    let (code, out, err) = parts(&run(
        &dir,
        &["catalog-schema", "--output", "s/catalog.schema.json"],
    ));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("wrote"), "{out}");
    let written = std::fs::read_to_string(dir.join("s/catalog.schema.json")).unwrap();
    let (_, printed, _) = parts(&run(&dir, &["catalog-schema"]));
    assert_eq!(written, printed);
}

#[test]
fn check_format_github_annotates_each_problem_at_its_line() {
    let dir = scratch("github");
    std::fs::write(
        dir.join("bad.yaml"),
        "events:\n  gradebook.grade.post:\n    description: Grade posted\n    aggregate: Result\n    aggregate_id: resultId\n    payload:\n      resultId: uuid\n      score: integer\n",
    )
    .unwrap();
    let (code, out, err) = parts(&run(&dir, &["check", "bad.yaml", "--format", "github"]));
    assert_eq!(code, 1, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        vec![
            "::error file=bad.yaml,line=2,col=3,title=past-tense::action `post` of event `gradebook.grade.post` is not in the past tense%0Ahelp: did you mean `gradebook.grade.posted`? (`posted`; if `post` is already past tense, add it to `naming.past_tense`)",
            "::error file=bad.yaml,line=8,col=14,title=unknown-type::unknown type `integer`%0Ahelp: did you mean `int`?",
        ],
        "{out}"
    );
    // A valid catalog prints nothing and passes.
    let (code, out, _) = parts(&run(&root(), &["check", "catalog", "--format", "github"]));
    assert_eq!((code, out.as_str()), (0, ""));
    // A missing catalog is an annotation too, with exit code 2.
    let (code, out, _) = parts(&run(&dir, &["check", "nowhere", "--format", "github"]));
    assert_eq!(code, 2);
    assert!(
        out.starts_with("::error title=catalog-io::cannot read catalog `nowhere`"),
        "{out}"
    );
}
