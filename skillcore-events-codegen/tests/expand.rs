//! Snapshot of the Rust code `catalog!` expands to for a small catalog,
//! formatted with prettyplease. Review the `.snap` by eye when it changes.

use skillcore_events_codegen::{compile_str, emit, Settings};

/// Small, but with one of everything: an enum and a struct type, an exempt
/// two-segment name, optional, list and pii fields, a keyword field, a version,
/// handlers and an `int` aggregate id.
const SMALL: &str = r#"catalog: school
naming:
  exempt: [intervention.created]
types:
  LetterGrade:
    description: Letter grade derived from a percent score
    enum: [A, B, in_progress]
  GuardianContact:
    description: How to reach a guardian
    fields:
      email: string
      phone: string?
events:
  gradebook.grade.posted:
    description: Grade posted for student assignment
    version: 2
    aggregate: Result
    aggregate_id: resultId
    payload:
      resultId: uuid
      score: number
      letterGrade: LetterGrade?
      districtID: string
      tags: string[]
      postedAt: datetime
      comment:
        type: string?
        description: Teacher comment to the student
        pii: true
    handlers:
      - analytics.update_gpa
  intervention.created:
    description: Intervention opened for a student
    aggregate: Intervention
    aggregate_id: interventionId
    payload:
      interventionId: int
      type: string
      dueOn: date
      contacts: GuardianContact[]
      extra: json?
"#;

fn expanded() -> String {
    let compiled = compile_str("school.yaml", SMALL);
    assert!(compiled.is_ok(), "{}", compiled.render_diagnostics());
    let tokens = emit::rust::emit(&compiled.catalog, &Settings::default(), &[]);
    let file = syn::parse2::<syn::File>(tokens).expect("the expansion parses as a Rust file");
    prettyplease::unparse(&file)
}

#[test]
fn small_catalog_expansion() {
    insta::assert_snapshot!(expanded());
}

#[test]
fn expansion_is_deterministic() {
    assert_eq!(expanded(), expanded());
}
