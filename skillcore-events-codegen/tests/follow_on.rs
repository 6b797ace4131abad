//! Follow-on errors: when an item has an error, later checks reason from its
//! corrected form (the one the help asks for), never from the broken one, so
//! each mistake gives exactly one error and no second error contradicts it.
//! Also the hints for type spellings from TypeScript and other languages.

use skillcore_events_codegen::model::{BaseType, TypeKind};
use skillcore_events_codegen::{compile_str, Compiled};

fn compile(yaml: &str) -> Compiled {
    compile_str("t.yaml", yaml)
}

/// `(rule id, line)` of every diagnostic, in order.
fn rules(c: &Compiled) -> Vec<(&'static str, u32)> {
    c.diagnostics
        .iter()
        .map(|d| (d.rule.id(), d.location.as_ref().map_or(0, |l| l.line)))
        .collect()
}

#[track_caller]
fn exactly(yaml: &str, expected: &[(&str, u32)]) -> Compiled {
    let c = compile(yaml);
    let got = rules(&c);
    let want: Vec<(&str, u32)> = expected.to_vec();
    assert_eq!(got, want, "\n{}", c.render_diagnostics());
    c
}

fn help(c: &Compiled, i: usize) -> &str {
    c.diagnostics[i].help.as_deref().unwrap_or("<no help>")
}

/// An event with a payload and examples to fill in.
fn event(name: &str, aggregate_id: &str, payload: &str, examples: &str) -> String {
    format!(
        "events:\n  {name}:\n    description: Grade posted\n    aggregate: Result\n    aggregate_id: {aggregate_id}\n    payload:\n{payload}{examples}"
    )
}

const ID: &str = "0b9c6f4e-3f1a-4c1e-9a55-6d2f1e7b8c90";

// ------------------------------------------------------------ event names

#[test]
fn a_present_tense_name_is_one_error_and_the_model_uses_the_corrected_name() {
    let yaml = event(
        "gradebook.grade.post",
        "resultId",
        "      resultId: uuid\n",
        &format!("    examples:\n      - resultId: {ID}\n"),
    );
    let c = exactly(&yaml, &[("past-tense", 2)]);
    assert!(help(&c, 0).starts_with("did you mean `gradebook.grade.posted`?"));
    // Handlers, the lock and the generated items see the name the help asks for.
    let e = c
        .catalog
        .event("gradebook.grade.posted")
        .expect("corrected name");
    assert_eq!(e.idents.type_name, "GradePosted");
    assert_eq!(e.idents.constant, "GRADEBOOK_GRADE_POSTED");
    assert!(c.catalog.event("gradebook.grade.post").is_none());
}

#[test]
fn a_correction_never_lands_on_another_event() {
    let mut yaml = event(
        "gradebook.grade.post",
        "resultId",
        "      resultId: uuid\n",
        "",
    );
    yaml.push_str(
        "  gradebook.grade.posted:\n    description: d\n    aggregate: Result\n    aggregate_id: resultId\n    payload:\n      resultId: uuid\n",
    );
    let c = exactly(&yaml, &[("past-tense", 2)]);
    assert_eq!(c.catalog.events.len(), 1);
    assert_eq!(c.catalog.events[0].span.line, 8);
}

#[test]
fn a_misformatted_name_is_one_error_and_held_under_its_suggestion() {
    let yaml = event(
        "Gradebook.Grade.Posted",
        "resultId",
        "      resultId: uuid\n",
        "",
    );
    let c = exactly(&yaml, &[("name-format", 2)]);
    assert_eq!(help(&c, 0), "did you mean `gradebook.grade.posted`?");
    assert!(c.catalog.event("gradebook.grade.posted").is_some());

    let yaml = event(
        "gradebook.gradeUpdate",
        "resultId",
        "      resultId: uuid\n",
        "",
    );
    let c = exactly(&yaml, &[("name-format", 2)]);
    assert_eq!(help(&c, 0), "did you mean `gradebook.grade.updated`?");
    assert!(c.catalog.event("gradebook.grade.updated").is_some());
}

// ------------------------------------------------------------ field names

#[test]
fn a_snake_case_field_is_one_error_whichever_spelling_the_example_uses() {
    for spelling in ["studentId", "student_id"] {
        let yaml = event(
            "gradebook.grade.posted",
            "resultId",
            "      resultId: uuid\n      student_id: string\n",
            &format!("    examples:\n      - resultId: {ID}\n        {spelling}: stu-1\n"),
        );
        let c = exactly(&yaml, &[("field-name", 8)]);
        assert_eq!(help(&c, 0), "rename it to `studentId`");
        let e = c.catalog.event("gradebook.grade.posted").unwrap();
        assert_eq!(e.fields[1].name, "studentId");
        assert_eq!(e.examples.len(), 1, "the example is accepted");
    }
}

#[test]
fn a_snake_case_field_missing_from_an_example_is_still_named_by_its_corrected_name() {
    let yaml = event(
        "gradebook.grade.posted",
        "resultId",
        "      resultId: uuid\n      student_id: string\n",
        &format!("    examples:\n      - resultId: {ID}\n"),
    );
    let c = exactly(&yaml, &[("field-name", 8), ("bad-example", 10)]);
    assert!(
        c.diagnostics[1].message.contains("`studentId`"),
        "{}",
        c.diagnostics[1].message
    );
}

#[test]
fn a_snake_case_aggregate_id_field_is_one_error() {
    for id in ["result_id", "resultId"] {
        let yaml = event(
            "gradebook.grade.posted",
            id,
            "      result_id: uuid\n",
            &format!("    examples:\n      - resultId: {ID}\n"),
        );
        let c = exactly(&yaml, &[("field-name", 7)]);
        let e = c.catalog.event("gradebook.grade.posted").unwrap();
        assert_eq!(e.aggregate_id, "resultId");
    }
}

#[test]
fn a_snake_case_field_of_a_named_type_is_one_error() {
    let yaml = format!(
        "types:\n  Contact:\n    description: c\n    fields:\n      phone_number: string\n{}",
        event(
            "gradebook.grade.posted",
            "resultId",
            "      resultId: uuid\n      contact: Contact\n",
            &format!(
                "    examples:\n      - resultId: {ID}\n        contact: {{ phoneNumber: '1' }}\n"
            ),
        )
    );
    exactly(&yaml, &[("field-name", 5)]);
}

// ------------------------------------------------------------ type names

#[test]
fn a_non_pascal_type_is_one_error_under_either_spelling() {
    for spelling in ["LetterGrade", "letter_grade"] {
        let yaml = format!(
            "types:\n  letter_grade:\n    description: g\n    enum: [A, B]\n{}",
            event(
                "gradebook.grade.posted",
                "resultId",
                &format!("      resultId: uuid\n      grade: {spelling}\n"),
                &format!("    examples:\n      - resultId: {ID}\n        grade: B\n"),
            )
        );
        let c = exactly(&yaml, &[("type-name", 2)]);
        let e = c.catalog.event("gradebook.grade.posted").unwrap();
        assert_eq!(e.fields[1].ty.base, BaseType::Named("LetterGrade".into()));
        assert!(matches!(
            c.catalog.named_type("LetterGrade").unwrap().kind,
            TypeKind::Enum(_)
        ));
    }
}

// ------------------------------------------------------------ unknown types

#[test]
fn an_unknown_type_is_one_error_even_as_the_aggregate_id_or_in_an_example() {
    let yaml = event(
        "gradebook.grade.posted",
        "resultId",
        "      resultId: Guid\n      status: AttendanceStatus\n",
        &format!("    examples:\n      - resultId: {ID}\n        status: present\n"),
    );
    let c = exactly(&yaml, &[("unknown-type", 7), ("unknown-type", 8)]);
    assert_eq!(help(&c, 0), "did you mean `uuid`?");
}

#[test]
fn typescript_habits_get_the_built_in() {
    for (written, hint) in [
        ("Date", "did you mean `datetime`? (a TypeScript `Date` is a timestamp: `datetime`; the catalog's `date` is a calendar day, `YYYY-MM-DD`)"),
        ("Date?", "did you mean `datetime?`? (a TypeScript `Date` is a timestamp: `datetime`; the catalog's `date` is a calendar day, `YYYY-MM-DD`)"),
        ("integer", "did you mean `int`?"),
        ("Int", "did you mean `int`?"),
        ("float", "did you mean `number`?"),
        ("boolean", "did you mean `bool`?"),
        ("String", "did you mean `string`?"),
        ("integer[]?", "did you mean `int[]?`?"),
        ("Array<number>", "did you mean `number[]`?"),
        ("'boolean | null'", "did you mean `bool?`?"),
    ] {
        let yaml = event(
            "gradebook.grade.posted",
            "resultId",
            &format!("      resultId: uuid\n      x: {written}\n"),
            "",
        );
        let c = exactly(&yaml, &[("unknown-type", 8)]);
        assert_eq!(help(&c, 0), hint, "{written}");
    }
    // The catalog's own list syntax is no error.
    let yaml = event(
        "gradebook.grade.posted",
        "resultId",
        "      resultId: uuid\n      x: number[]\n",
        "",
    );
    exactly(&yaml, &[]);
}

#[test]
fn several_mistakes_give_one_error_each() {
    let yaml = format!(
        "types:\n  letter_grade:\n    description: g\n    enum: [A, B]\n{}",
        event(
            "gradebook.grade.post",
            "result_id",
            "      result_id: uuid\n      grade: LetterGrade\n      postedAt: Date\n",
            &format!(
                "    examples:\n      - resultId: {ID}\n        grade: A\n        postedAt: 2025-11-17T14:03:00Z\n"
            ),
        )
    );
    exactly(
        &yaml,
        &[
            ("type-name", 2),
            ("past-tense", 6),
            ("field-name", 11),
            ("unknown-type", 13),
        ],
    );
}

// ------------------------------------------------ the unknown-type stub

/// `catalog!`'s expansion of `yaml` (written to a scratch file).
fn expansion(name: &str, yaml: &str) -> skillcore_events_codegen::Expansion {
    let dir = std::env::temp_dir().join(format!("skc-follow-on-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("events.yaml"), yaml).unwrap();
    let settings = skillcore_events_codegen::Settings::for_cli("events.yaml", &dir);
    let x = skillcore_events_codegen::expand(&settings);
    let _ = std::fs::remove_dir_all(&dir);
    x
}

#[test]
fn an_unknown_type_raises_its_error_from_the_fields_stub_type() {
    let yaml = event(
        "gradebook.grade.posted",
        "resultId",
        "      resultId: uuid\n      status: AttendanceStatus?\n      score: integer\n      name: String\n",
        "",
    );
    let x = expansion("stub", &yaml);
    // The errors are raised by the stubs, so the macro reports them no more.
    assert!(x.diagnostics.is_empty(), "{:?}", x.diagnostics);
    let src = x.source;
    for (i, ty) in ["AttendanceStatus?", "integer", "String"]
        .iter()
        .enumerate()
    {
        let start = format!("pub type __SkcUnknown{i} = [(); ::core::compile_error!(\"t.yaml");
        let start = start.replace("t.yaml", "events.yaml");
        let at = src
            .find(&start)
            .unwrap_or_else(|| panic!("no stub {i} in {src}"));
        assert!(src[at..].contains(&format!("unknown type `{ty}`")), "{ty}");
    }
    // The fields have the stub types (optional or not, the stub is the type).
    assert!(src.contains("pub status: super::__SkcUnknown0,"), "{src}");
    assert!(src.contains("pub score: super::__SkcUnknown1,"), "{src}");
    // A name the author meant to declare is stubbed too; a foreign spelling
    // of a built-in is not (it would shadow `String`).
    assert!(src.contains("pub type AttendanceStatus = __SkcUnknown0;"));
    assert!(!src.contains("pub type String"));
    // Without unknown types there are no stubs.
    let x = expansion(
        "no-stub",
        &event(
            "gradebook.grade.posted",
            "resultId",
            "      resultId: uuid\n",
            "",
        ),
    );
    assert!(!x.source.contains("__SkcUnknown"));
}
