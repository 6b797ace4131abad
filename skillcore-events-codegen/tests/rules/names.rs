//! Names: event name format and past tense, collisions, field, type and handler names.

use super::*;

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
