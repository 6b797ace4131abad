//! Good catalogs and the model they produce.

use super::*;

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
