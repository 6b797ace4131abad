//! Examples, and every error of a catalog reported at once.

use super::*;

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
