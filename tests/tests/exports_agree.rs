//! Agreement between the outputs: for every event of the SkillCore catalog, the
//! exported JSON Schema (`skillcore-events schema`), the schema schemars derives
//! from the generated Rust type, and `serde_json` decoding into that type all
//! accept the example payload and all reject the same mutated payloads: a
//! required field removed, a wrong type, a bad enum value, a bad date-time (and a
//! bad uuid and date). The envelope schema (`envelope.schema.json`) and the
//! runtime's `Envelope` agree the same way on the envelope around each example.

use serde_json::{json, Value};
use skillcore_events::__private::schemars::{self, JsonSchema};
use skillcore_events::{Envelope, Event, Metadata};
use skillcore_events_codegen::emit::{example, schema};
use skillcore_events_codegen::model::{BaseType, Catalog, EventDef, TypeKind, TypeRef};
use skillcore_events_tests::skillcore as sc;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Payloads judged, to show the test is not vacuous.
static JUDGED: AtomicUsize = AtomicUsize::new(0);

/// Serves the exported event schemas by `$id`, so the envelope schema's `$ref`s
/// to them resolve without a network.
struct Exported(std::collections::HashMap<String, Value>);

impl jsonschema::Retrieve for Exported {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        self.0
            .get(uri.as_str())
            .cloned()
            .ok_or_else(|| format!("no exported schema {uri}").into())
    }
}

fn envelope_validator(cat: &Catalog) -> jsonschema::Validator {
    let settings = skillcore_events_codegen::Settings::default();
    let all = cat
        .events
        .iter()
        .map(|e| {
            (
                schema::schema_id(&settings, e),
                schema::event_schema(cat, e, &settings).to_value(),
            )
        })
        .collect();
    let envelope = schema::envelope_schema(cat, &settings).to_value();
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .with_retriever(Exported(all))
        .build(&envelope)
        .unwrap_or_else(|e| panic!("envelope schema does not compile: {e}"))
}

struct Judges {
    exported: jsonschema::Validator,
    derived: jsonschema::Validator,
}

fn validator(s: &Value) -> jsonschema::Validator {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(s)
        .unwrap_or_else(|e| panic!("schema does not compile: {e}\n{s}"))
}

/// (exported schema, schemars schema, serde) verdicts.
fn verdicts<T: Event>(j: &Judges, payload: &Value) -> (bool, bool, bool) {
    JUDGED.fetch_add(1, Ordering::Relaxed);
    (
        j.exported.is_valid(payload),
        j.derived.is_valid(payload),
        serde_json::from_str::<T>(&payload.to_string()).is_ok(),
    )
}

/// Payloads that each break one rule of `e`'s payload, with a label.
fn mutations(cat: &Catalog, e: &EventDef, good: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let obj = good.as_object().expect("payloads are objects");
    for f in &e.fields {
        let with = |v: Value| {
            let mut m = obj.clone();
            m.insert(f.name.clone(), v);
            Value::Object(m)
        };
        // A field with a `default` may be left out (see `agree`).
        if !f.ty.optional && f.default.is_none() {
            let mut m = obj.clone();
            m.remove(&f.name);
            out.push((format!("required `{}` removed", f.name), Value::Object(m)));
        }
        if let Some(wrong) = wrong_type(&f.ty, cat) {
            out.push((format!("`{}` of the wrong type", f.name), with(wrong)));
        }
        let bad_scalar = match (&f.ty.base, cat_kind(cat, &f.ty)) {
            (_, Some(true)) => Some(("bad enum value", json!("NOT_A_VALUE"))),
            (BaseType::DateTime, _) => Some(("bad date-time", json!("2025-13-45T25:61:00Z"))),
            (BaseType::Uuid, _) => Some(("bad uuid", json!("not-a-uuid"))),
            (BaseType::Date, _) => Some(("bad date", json!("2025-02-30"))),
            _ => None,
        };
        if let Some((what, v)) = bad_scalar {
            let mut v = v;
            for _ in 0..f.ty.list_depth {
                v = json!([v]);
            }
            out.push((format!("{what} in `{}`", f.name), with(v)));
            // A second bad date-time: no offset.
            if f.ty.base == BaseType::DateTime {
                let mut v = json!("2025-11-17T14:03:00");
                for _ in 0..f.ty.list_depth {
                    v = json!([v]);
                }
                out.push((format!("date-time without offset in `{}`", f.name), with(v)));
            }
        }
    }
    out
}

/// `Some(true)` when the field's base type is a named enum.
fn cat_kind(cat: &Catalog, t: &TypeRef) -> Option<bool> {
    match &t.base {
        BaseType::Named(n) => cat
            .named_type(n)
            .map(|nt| matches!(nt.kind, TypeKind::Enum(_))),
        _ => None,
    }
}

/// A value of another JSON type than the field's (None for `json`, which takes any).
fn wrong_type(t: &TypeRef, cat: &Catalog) -> Option<Value> {
    if t.list_depth > 0 {
        return Some(json!("not a list"));
    }
    Some(match &t.base {
        BaseType::String | BaseType::Uuid | BaseType::DateTime | BaseType::Date => json!(12345),
        BaseType::Int => json!("12"),
        BaseType::Number => json!("42.5"),
        BaseType::Bool => json!("true"),
        BaseType::Json => return None,
        BaseType::Named(_) if cat_kind(cat, t) == Some(true) => json!(7),
        BaseType::Named(_) => json!("an object was expected"),
    })
}

fn agree<T: Event + JsonSchema>(
    cat: &Catalog,
    seen: &mut BTreeSet<String>,
    problems: &mut Vec<String>,
) {
    let e = cat
        .event(T::NAME)
        .unwrap_or_else(|| panic!("{} in the catalog", T::NAME));
    seen.insert(e.name.clone());
    let exported =
        schema::event_schema(cat, e, &skillcore_events_codegen::Settings::default()).to_value();
    let derived = serde_json::to_value(schemars::schema_for!(T)).unwrap();
    let j = Judges {
        exported: validator(&exported),
        derived: validator(&derived),
    };
    let mut goods = vec![("generated example", example::generated(cat, e).to_value())];
    if let Some(first) = e.examples.first() {
        goods.push(("catalog example", first.clone()));
    }
    for (what, good) in &goods {
        let v = verdicts::<T>(&j, good);
        if v != (true, true, true) {
            problems.push(format!(
                "{}: the {what} is not accepted by all (exported, schemars, serde) = {v:?}\n  {good}",
                e.name
            ));
        }
    }
    let good = &goods[0].1;
    // A field with a `default` left out: all three accept it (serde fills in
    // the default).
    for f in e.fields.iter().filter(|f| f.default.is_some()) {
        let mut m = good.as_object().expect("payloads are objects").clone();
        m.remove(&f.name);
        let v = verdicts::<T>(&j, &Value::Object(m));
        if v != (true, true, true) {
            problems.push(format!(
                "{}: defaulted `{}` left out: (exported, schemars, serde) = {v:?}, all must accept",
                e.name, f.name
            ));
        }
    }
    envelope_agrees::<T>(cat, good, problems);
    let muts = mutations(cat, e, good);
    assert!(!muts.is_empty(), "{} has mutations", e.name);
    for (what, bad) in muts {
        let v = verdicts::<T>(&j, &bad);
        if v != (false, false, false) {
            problems.push(format!(
                "{}: {what}: (exported, schemars, serde) = {v:?}, all must reject",
                e.name
            ));
        }
    }
}

/// The envelope schema and `Envelope::<T>::from_json` agree on the envelope the
/// runtime writes around `good`, and on broken variants of it.
fn envelope_agrees<T: Event>(cat: &Catalog, good: &Value, problems: &mut Vec<String>) {
    thread_local! {
        static ENVELOPE: std::cell::OnceCell<jsonschema::Validator> = const { std::cell::OnceCell::new() };
    }
    let payload: T = serde_json::from_value(good.clone()).expect("the example decodes");
    let env = Envelope::new(
        payload,
        Metadata::new("dst-222", "sch-333").with_user("tch-111"),
    );
    let row: Value = serde_json::from_str(&env.to_json().unwrap()).unwrap();
    let mut cases = vec![("the runtime's envelope".to_string(), row.clone(), true)];
    let mut m = row.clone();
    m["metadata"].as_object_mut().unwrap().remove("districtId");
    cases.push(("metadata.districtId removed".into(), m, false));
    let mut m = row.clone();
    m["occurredAt"] = json!("not a time");
    cases.push(("bad occurredAt".into(), m, false));
    let mut m = row.clone();
    m["id"] = json!(42);
    cases.push(("id of the wrong type".into(), m, false));
    if let Some(f) = cat
        .event(T::NAME)
        .unwrap()
        .fields
        .iter()
        .find(|f| !f.ty.optional && f.default.is_none())
    {
        let mut m = row.clone();
        m["payload"].as_object_mut().unwrap().remove(&f.name);
        cases.push((format!("payload without required `{}`", f.name), m, false));
    }
    ENVELOPE.with(|cell| {
        let v = cell.get_or_init(|| envelope_validator(cat));
        for (what, doc, expected) in cases {
            JUDGED.fetch_add(1, Ordering::Relaxed);
            let schema_ok = v.is_valid(&doc);
            let serde_ok = Envelope::<T>::from_json(&doc.to_string()).is_ok();
            if (schema_ok, serde_ok) != (expected, expected) {
                problems.push(format!(
                    "{}: envelope, {what}: (envelope schema, Envelope::from_json) = ({schema_ok}, {serde_ok}), expected {expected}",
                    T::NAME
                ));
            }
        }
    });
}

macro_rules! all_events {
    ($cat:expr, $seen:expr, $problems:expr; $($ty:path),* $(,)?) => {
        $( agree::<$ty>($cat, $seen, $problems); )*
    };
}

#[test]
fn exported_schemas_schemars_and_serde_agree_on_every_event() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let compiled = skillcore_events_codegen::load(&root.join("catalog"), root);
    assert!(compiled.is_ok(), "{}", compiled.render_diagnostics());
    let cat = &compiled.catalog;
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    all_events!(cat, &mut seen, &mut problems;
        sc::assessment::AccommodationApplied,
        sc::assessment::AttemptScored,
        sc::assessment::AttemptSubmitted,
        sc::assessment::ResultImported,
        sc::assessment::RiskFlagged,
        sc::assessment::WindowClosed,
        sc::assessment::WindowOpened,
        sc::attendance::AbsenceReported,
        sc::attendance::ChronicAbsenceDetected,
        sc::attendance::RecordCorrected,
        sc::attendance::RecordExcused,
        sc::attendance::RecordMarked,
        sc::attendance::SessionSubmitted,
        sc::attendance::TruancyNoticeIssued,
        sc::enrollment::ClassAssigned,
        sc::enrollment::ClassDropped,
        sc::enrollment::GuardianLinked,
        sc::enrollment::ProgramAssigned,
        sc::enrollment::StudentPromoted,
        sc::enrollment::StudentTransferred,
        sc::enrollment::StudentWithdrawn,
        sc::gradebook::GradeDeleted,
        sc::gradebook::GradePosted,
        sc::gradebook::LineItemCreated,
        sc::gradebook::ReportCardPublished,
        sc::gradebook::SubmissionReceived,
        sc::gradebook::TermClosed,
        sc::gradebook::TermGradeFinalized,
        sc::gradebook::TermGradeOverridden,
        sc::iep::ConsentRecorded,
        sc::iep::GoalUpdated,
        sc::iep::MeetingScheduled,
        sc::iep::PlanAmended,
        sc::iep::PlanCreated,
        sc::iep::PlanFinalized,
        sc::iep::ProgressReportIssued,
        sc::intervention::InterventionCreated,
        sc::intervention::GoalAchieved,
        sc::intervention::GoalCreated,
        sc::intervention::MeetingHeld,
        sc::intervention::PlanClosed,
        sc::intervention::ProgressRecorded,
        sc::intervention::ReferralSubmitted,
        sc::intervention::TierChanged,
        sc::notifications::AnnouncementPublished,
        sc::notifications::DeliveryFailed,
        sc::notifications::MessageRead,
        sc::notifications::MessageSent,
        sc::notifications::PreferenceChanged,
        sc::sis_sync::ConflictDetected,
        sc::sis_sync::ConflictResolved,
        sc::sis_sync::JobCompleted,
        sc::sis_sync::JobFailed,
        sc::sis_sync::JobStarted,
        sc::sis_sync::RosterImported,
        sc::student::StudentEnrolled
    );
    // Every event of the catalog is in the list above.
    let missing: Vec<&str> = cat
        .events
        .iter()
        .map(|e| e.name.as_str())
        .filter(|n| !seen.contains(*n))
        .collect();
    assert!(
        missing.is_empty(),
        "add these events' types to the list in exports_agree.rs: {missing:?}"
    );
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );
    let judged = JUDGED.load(Ordering::Relaxed);
    eprintln!(
        "{} events, {judged} payloads judged by all three",
        seen.len()
    );
    assert!(judged > cat.events.len() * 10, "{judged} payloads judged");
}

#[test]
fn the_judges_can_disagree() {
    // The harness is not vacuous: a payload with an extra unknown field is accepted
    // by all three (no `additionalProperties: false`, and serde ignores unknown
    // fields), while a wrong type is rejected by all three.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let compiled = skillcore_events_codegen::load(&root.join("catalog"), root);
    let cat = &compiled.catalog;
    type T = sc::gradebook::GradePosted;
    let e = cat.event(T::NAME).unwrap();
    let s = schema::event_schema(cat, e, &skillcore_events_codegen::Settings::default()).to_value();
    let j = Judges {
        exported: validator(&s),
        derived: validator(&serde_json::to_value(schemars::schema_for!(T)).unwrap()),
    };
    let mut good = example::generated(cat, e).to_value();
    good["somethingNew"] = json!(1);
    assert_eq!(verdicts::<T>(&j, &good), (true, true, true));
    good["pointsEarned"] = json!("high");
    assert_eq!(verdicts::<T>(&j, &good), (false, false, false));
    // A validator without format checks would accept a bad date-time: the test's
    // validators do check formats.
    let mut bad = example::generated(cat, e).to_value();
    bad["postedAt"] = json!("yesterday");
    assert!(jsonschema::draft202012::is_valid(&s, &bad));
    assert!(!j.exported.is_valid(&bad));
}
