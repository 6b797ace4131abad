//! `metadata:`: where an event's tenant metadata comes from in its payload.
//! Resolution (catalog-wide, overridden per event) and rule `bad-metadata`.

use skillcore_events_codegen::model::MetadataFields;
use skillcore_events_codegen::{compile_str, Compiled};

fn compile(yaml: &str) -> Compiled {
    compile_str("t.yaml", yaml)
}

const EVENTS: &str = "events:
  gradebook.grade.posted:
    description: d
    aggregate: Result
    aggregate_id: resultId
    payload:
      resultId: string
      districtId: string
      schoolId: string
      gradedById: string
      note: string?
  system.clock.ticked:
    description: d
    aggregate: Clock
    aggregate_id: clockId
    payload:
      clockId: string
";

/// `(rule, line, column, message, help)` of every diagnostic.
fn diags(c: &Compiled) -> Vec<(String, u32, u32, String, String)> {
    c.diagnostics
        .iter()
        .map(|d| {
            let l = d.location.as_ref().expect("located");
            (
                d.rule.id().to_string(),
                l.line,
                l.column,
                d.message.clone(),
                d.help.clone().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn catalog_wide_mapping_applies_where_the_fields_exist_and_events_override_it() {
    let c = compile(&format!(
        "catalog: t\nmetadata: {{ district: districtId, school: schoolId }}\n{}",
        EVENTS.replace(
            "    aggregate_id: resultId\n",
            "    aggregate_id: resultId\n    metadata: { user: gradedById }\n"
        )
    ));
    assert!(c.is_ok(), "{}", c.render_diagnostics());
    let grade = c.catalog.event("gradebook.grade.posted").unwrap();
    assert_eq!(
        grade.metadata,
        Some(MetadataFields {
            district: "districtId".into(),
            school: "schoolId".into(),
            user: Some("gradedById".into()),
        })
    );
    assert_eq!(
        c.catalog.event("system.clock.ticked").unwrap().metadata,
        None
    );
}

#[test]
fn no_metadata_key_means_no_mapping() {
    let c = compile(&format!("catalog: t\n{EVENTS}"));
    assert!(c.is_ok(), "{}", c.render_diagnostics());
    assert!(c.catalog.events.iter().all(|e| e.metadata.is_none()));
}

#[test]
fn an_event_field_that_does_not_exist_is_reported_with_a_suggestion() {
    let c = compile(&format!(
        "catalog: t\n{}",
        EVENTS.replace(
            "    aggregate_id: resultId\n",
            "    aggregate_id: resultId\n    metadata: { district: districtID, school: schoolId }\n"
        )
    ));
    let d = diags(&c);
    assert_eq!(d.len(), 1, "{}", c.render_diagnostics());
    assert_eq!((d[0].0.as_str(), d[0].1, d[0].2), ("bad-metadata", 7, 27));
    assert!(
        d[0].3.contains(
            "`metadata.district` of event `gradebook.grade.posted` names field `districtID`"
        ),
        "{}",
        d[0].3
    );
    assert_eq!(d[0].4, "did you mean `districtId`?");
}

#[test]
fn an_optional_field_is_refused_with_its_type() {
    let c = compile(&format!(
        "catalog: t\n{}",
        EVENTS.replace(
            "    aggregate_id: resultId\n",
            "    aggregate_id: resultId\n    metadata: { district: districtId, school: schoolId, user: note }\n"
        )
    ));
    let d = diags(&c);
    assert_eq!(d.len(), 1, "{}", c.render_diagnostics());
    assert_eq!(d[0].0, "bad-metadata");
    assert!(
        d[0].3
            .contains("which is `string?`; metadata comes from required `string` fields"),
        "{}",
        d[0].3
    );
    assert_eq!(
        d[0].4,
        "make `note` a required `string`, or map `user` to another field"
    );
    assert!(c.catalog.events.iter().all(|e| e.metadata.is_none()));
}

#[test]
fn a_catalog_wide_field_no_event_has_is_reported() {
    let c = compile(&format!(
        "catalog: t\nmetadata: {{ district: distrctId, school: schoolId }}\n{EVENTS}"
    ));
    let d = diags(&c);
    assert_eq!(d.len(), 1, "{}", c.render_diagnostics());
    assert_eq!((d[0].0.as_str(), d[0].1, d[0].2), ("bad-metadata", 2, 23));
    assert_eq!(d[0].4, "did you mean `districtId`?");
}

#[test]
fn an_event_mapping_without_district_and_school_is_reported() {
    let c = compile(&format!(
        "catalog: t\n{}",
        EVENTS.replace(
            "    aggregate_id: resultId\n",
            "    aggregate_id: resultId\n    metadata: { user: gradedById }\n"
        )
    ));
    let d = diags(&c);
    assert_eq!(d.len(), 1, "{}", c.render_diagnostics());
    assert!(
        d[0].3.contains("has no `district` nor `school`"),
        "{}",
        d[0].3
    );
}

#[test]
fn an_unknown_metadata_key_gets_a_did_you_mean() {
    let c = compile(&format!(
        "catalog: t\nmetadata: {{ district: districtId, shcool: schoolId }}\n{EVENTS}"
    ));
    let d = diags(&c);
    assert!(!d.is_empty());
    assert_eq!(d[0].0, "unknown-key", "{}", c.render_diagnostics());
    assert!(d[0].4.contains("school"), "{}", d[0].4);
}
