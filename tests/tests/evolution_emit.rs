//! The generated code of the evolution keys, used as users use it, on
//! `fixtures/evolution/evolution.yaml`:
//!
//! - a field with a `default` decodes to it when the payload lacks the field,
//!   and (unless the field is optional) when it is `null`; values given win,
//!   and bad values are still decode errors, not panics;
//! - `Debug` still redacts pii fields, defaulted or deprecated;
//! - the exported schema and the schema schemars derives from the type agree
//!   on `required`, `default` and `deprecated`, and both are valid 2020-12;
//! - the expansion of a catalog with deprecated events and fields raises no
//!   warning in this crate (`deny(warnings)` below), while using them does
//!   (the UI case `ui/rules/deprecated_event.rs` shows the error);
//! - the AsyncAPI parser accepts the document with deprecated messages.

#![deny(warnings)]

use serde_json::{json, Value};
use skillcore_events::__private::schemars;
use skillcore_events::{DecodeError, EventSet};
use skillcore_events_codegen::emit::{asyncapi, example, schema};
use skillcore_events_codegen::Settings;
use std::path::Path;

// Installs the AsyncAPI parser (npm ci, once) when it is missing.
#[path = "../node/install.rs"]
mod npm;

mod evo {
    skillcore_events::catalog!("fixtures/evolution/evolution.yaml");
}

use evo::gradebook::GradePosted;

const GRADE: &str = "0190a3f4-7b1c-7d2e-9f00-0000000000aa";

fn decode(v: Value) -> Result<GradePosted, DecodeError> {
    match evo::AnyEvent::from_value("gradebook.grade.posted", v)? {
        evo::AnyEvent::GradebookGradePosted(p) => Ok(p),
        other => panic!("decoded as {}", other.name()),
    }
}

/// Every defaulted field of `p` has its catalog default.
#[allow(deprecated)]
fn assert_defaults(p: &GradePosted) {
    assert_eq!(p.points, 100.0);
    assert_eq!(p.attempts, 1);
    assert!(!p.late);
    assert_eq!(p.label, "Untitled <draft>");
    assert_eq!(
        p.reviewer.to_string(),
        "0190a3f4-7b1c-7d2e-9f00-000000000001"
    );
    assert_eq!(p.posted_at.to_rfc3339(), "2025-01-01T08:00:00+00:00");
    assert_eq!(p.due.to_string(), "2025-06-30");
    assert_eq!(p.extra, json!({"a": [1, 2]}));
    assert_eq!(p.level, evo::Level::High);
    assert_eq!(p.window.days, 3);
    assert_eq!(p.window.label, None);
    assert_eq!(p.tags, vec!["core".to_string(), "math".to_string()]);
    assert_eq!(p.secret, "hidden");
    // Not defaulted: optional, so `None`.
    assert_eq!(p.old_score, None);
    assert_eq!(p.comment, None);
}

#[test]
fn missing_fields_read_as_their_defaults() {
    let p = decode(json!({ "gradeId": GRADE })).expect("only the id is required");
    assert_defaults(&p);
    assert_eq!(
        p.note.as_deref(),
        Some("none given"),
        "optional with a default"
    );
    // From JSON text too, the way the bus and the store decode.
    let q = match evo::AnyEvent::from_json(
        "gradebook.grade.posted",
        &format!("{{\"gradeId\":\"{GRADE}\"}}"),
    ) {
        Ok(evo::AnyEvent::GradebookGradePosted(q)) => q,
        other => panic!("{other:?}"),
    };
    assert_eq!(p, q);
    // A nested struct's own default: `window: {}` has 7 days.
    let p = decode(json!({ "gradeId": GRADE, "window": {} })).unwrap();
    assert_eq!(p.window.days, 7);
}

#[test]
fn null_reads_as_the_default_unless_the_field_is_optional() {
    let mut v = json!({ "gradeId": GRADE });
    for f in [
        "points", "attempts", "late", "label", "reviewer", "postedAt", "due", "extra", "level",
        "window", "tags", "secret", "note",
    ] {
        v[f] = Value::Null;
    }
    let p = decode(v).expect("null is accepted for defaulted fields");
    assert_defaults(&p);
    assert_eq!(p.note, None, "an optional field keeps null as None");
    let p = decode(json!({ "gradeId": GRADE, "window": { "days": null } })).unwrap();
    assert_eq!(p.window.days, 7);
}

#[test]
fn given_values_win_and_bad_values_are_errors() {
    let p = decode(json!({
        "gradeId": GRADE, "points": 20, "attempts": 3, "late": true, "level": "low",
        "tags": [], "note": "n", "window": { "days": 1 }
    }))
    .unwrap();
    assert_eq!((p.points, p.attempts, p.late), (20.0, 3, true));
    assert_eq!(p.level, evo::Level::Low);
    assert!(p.tags.is_empty());
    assert_eq!(p.note.as_deref(), Some("n"));
    assert_eq!(p.window.days, 1);
    for (field, bad) in [
        ("points", json!("many")),
        ("attempts", json!(1.5)),
        ("level", json!("medium")),
        ("postedAt", json!("yesterday")),
        ("window", json!([1])),
        ("tags", json!("core")),
    ] {
        let mut v = json!({ "gradeId": GRADE });
        v[field] = bad.clone();
        let err = decode(v).expect_err(field);
        assert!(err.to_string().contains(field), "{field}: {err}");
    }
    // A defaulted pii field's bad value is not quoted (the field is looked
    // up as pii whatever its serde attributes).
    let err = decode(json!({ "gradeId": GRADE, "secret": 987654321 })).expect_err("secret");
    assert!(err.to_string().contains("secret"), "{err}");
    assert!(!err.to_string().contains("987654321"), "{err}");
    let err = decode(json!({ "gradeId": GRADE, "attempts": 987654321.5 })).expect_err("attempts");
    assert!(
        err.to_string().contains("987654321.5"),
        "other values are quoted: {err}"
    );
    // The id has no default: still required.
    assert!(decode(json!({})).is_err());
}

#[test]
#[allow(deprecated)]
fn debug_still_redacts_pii() {
    let mut p = decode(json!({ "gradeId": GRADE, "secret": "s3cr3t-value" })).unwrap();
    p.comment = Some("c0mment-value".into());
    let shown = format!("{p:?}");
    assert!(
        !shown.contains("s3cr3t-value") && !shown.contains("hidden"),
        "{shown}"
    );
    assert!(!shown.contains("c0mment-value"), "{shown}");
    assert!(shown.contains("secret: [redacted]"), "{shown}");
    assert!(shown.contains("comment: [redacted]"), "{shown}");
    // And the default of a pii field is not shown either.
    let p = decode(json!({ "gradeId": GRADE })).unwrap();
    assert!(!format!("{p:?}").contains("hidden"));
}

#[test]
#[allow(deprecated)]
fn deprecated_items_still_work() {
    let p = evo::gradebook::GradeDeleted {
        grade_id: skillcore_events::uuid::Uuid::nil(),
        reason: "r".into(),
    };
    let any = evo::AnyEvent::from(p.clone());
    assert_eq!(any.name(), evo::names::GRADEBOOK_GRADE_DELETED);
    let back = evo::AnyEvent::from_json(any.name(), &any.to_json().unwrap()).unwrap();
    assert_eq!(back, any);
    assert!(evo::names::ALL.contains(&evo::names::GRADEBOOK_TERM_CLOSED));
    assert_eq!(evo::AnyEvent::events().len(), 4);
}

/// Numbers compared by value (`100` and `100.0` are one JSON number).
fn norm(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(a) => Value::Array(a.iter().map(norm).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), norm(v))).collect()),
        other => other.clone(),
    }
}

fn required(s: &Value) -> Vec<String> {
    let mut r: Vec<String> = s["required"]
        .as_array()
        .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    r.sort();
    r
}

#[test]
#[allow(deprecated)]
fn exported_and_derived_schemas_agree_on_defaults_and_deprecations() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"));
    let compiled =
        skillcore_events_codegen::load(&base.join("fixtures/evolution/evolution.yaml"), base);
    assert!(compiled.is_ok(), "{}", compiled.render_diagnostics());
    let cat = &compiled.catalog;
    let settings = Settings::default();
    let pairs = [
        (
            "gradebook.grade.posted",
            serde_json::to_value(schemars::schema_for!(GradePosted)).unwrap(),
        ),
        (
            "gradebook.grade.deleted",
            serde_json::to_value(schemars::schema_for!(evo::gradebook::GradeDeleted)).unwrap(),
        ),
        (
            "gradebook.term.closed",
            serde_json::to_value(schemars::schema_for!(evo::gradebook::TermClosed)).unwrap(),
        ),
    ];
    for (name, derived) in &pairs {
        let e = cat.event(name).unwrap();
        let exported = schema::event_schema(cat, e, &settings).to_value();
        for s in [&exported, derived] {
            if let Err(err) = jsonschema::draft202012::meta::validate(s) {
                panic!("{name}: not a valid 2020-12 schema: {err}\n{s}");
            }
        }
        assert_eq!(required(&exported), required(derived), "{name}");
        assert_eq!(exported["deprecated"], derived["deprecated"], "{name}");
        assert_eq!(exported["description"], derived["description"], "{name}");
        for (field, p) in exported["properties"].as_object().unwrap() {
            let d = &derived["properties"][field];
            assert_eq!(norm(&p["default"]), norm(&d["default"]), "{name}.{field}");
            assert_eq!(p["deprecated"], d["deprecated"], "{name}.{field}");
            assert_eq!(p["description"], d["description"], "{name}.{field}");
        }
        // And they judge payloads alike: the generated example, and (for
        // `posted`, whose other fields all have defaults or are optional) the
        // id alone.
        let mut payloads = vec![example::generated(cat, e).to_value()];
        if *name == "gradebook.grade.posted" {
            payloads.push(json!({ "gradeId": GRADE }));
        }
        for payload in &payloads {
            let v = |s: &Value| {
                jsonschema::draft202012::options()
                    .should_validate_formats(true)
                    .build(s)
                    .unwrap_or_else(|err| panic!("{name}: {err}"))
                    .is_valid(payload)
            };
            assert!(v(&exported) && v(derived), "{name}: {payload}");
        }
    }
    let posted = schema::event_schema(cat, cat.event("gradebook.grade.posted").unwrap(), &settings)
        .to_value();
    assert_eq!(required(&posted), vec!["gradeId"]);
    assert_eq!(
        posted["properties"]["window"]["default"],
        json!({"days": 3})
    );
    assert_eq!(posted["properties"]["comment"]["deprecated"], true);
    assert_eq!(posted["deprecated"], Value::Null);
    // The named type's defaulted field, under `$defs`.
    assert_eq!(posted["$defs"]["Window"]["required"], json!([]));
    assert_eq!(
        posted["$defs"]["Window"]["properties"]["days"]["default"],
        7
    );
    assert_eq!(
        posted["$defs"]["Window"]["properties"]["label"]["deprecated"],
        true
    );
}

#[test]
fn the_asyncapi_parser_accepts_deprecated_messages() {
    // The AsyncAPI initiative's own parser (as in the CLI's asyncapi test):
    // `deprecated: true` on a message, and `deprecated`/`default` in its
    // payload schema, are valid AsyncAPI 3.0.
    let base = Path::new(env!("CARGO_MANIFEST_DIR"));
    let node = base.join("node");
    if let Err(e) = npm::ensure_npm_packages(&node) {
        panic!("{e}");
    }
    let compiled =
        skillcore_events_codegen::load(&base.join("fixtures/evolution/evolution.yaml"), base);
    let doc = asyncapi::render(
        &compiled.catalog,
        &Settings::default(),
        asyncapi::Format::Yaml,
    );
    assert!(doc.contains("\n      deprecated: true\n"), "{doc}");
    let dir = std::env::temp_dir().join(format!("skc-evolution-asyncapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let judge = |text: &str, name: &str| {
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        let o = std::process::Command::new("node")
            .arg(node.join("validate-asyncapi.mjs"))
            .arg(&file)
            .output()
            .expect("`node` runs (install Node.js)");
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        (o.status.success(), out)
    };
    let (ok, out) = judge(&doc, "evolution.asyncapi.yaml");
    assert!(ok && out.contains("\n0 errors"), "{out}");
    assert!(
        out.contains("parsed AsyncAPI 3.0.0: 4 channels, 4 messages"),
        "{out}"
    );
    // The check can fail: a `deprecated` that is not a boolean is refused.
    let bad = doc.replacen(
        "\n      deprecated: true\n",
        "\n      deprecated: \"yes\"\n",
        1,
    );
    let (ok, out) = judge(&bad, "bad.asyncapi.yaml");
    assert!(!ok, "{out}");
    assert!(
        out.contains("\"deprecated\" property type must be boolean"),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
