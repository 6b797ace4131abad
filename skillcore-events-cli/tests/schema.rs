//! `skillcore-events schema`: one JSON Schema per event and released version
//! (from `catalog.lock`), valid against the official draft 2020-12
//! meta-schema, deterministic, written only when changed, and `--check`
//! catching drift.

mod common;

use common::*;
use serde_json::Value;
use skillcore_events_codegen::model::TypeKind;
use std::collections::BTreeMap;
use std::path::Path;

fn export(dir: &Path) -> BTreeMap<String, String> {
    let out = dir.join("schemas");
    let (code, stdout, err) = parts(&run(
        dir,
        &["schema", catalog().to_str().unwrap(), "--out", "schemas"],
    ));
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("58 files"), "{stdout}");
    read_dir(&out)
}

fn read_dir(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn every_schema_is_valid_draft_2020_12_and_describes_its_event() {
    let dir = scratch("schema-meta");
    let files = export(&dir);
    let compiled = skillcore_events_codegen::load(&catalog(), &root());
    assert!(compiled.is_ok());
    let cat = &compiled.catalog;
    assert_eq!(
        files.len(),
        cat.events.len() + 2,
        "one per event, version 1 of gradebook.grade.posted from the lock, and the envelope"
    );
    let envelope: Value = serde_json::from_str(&files["envelope.schema.json"]).unwrap();
    if let Err(err) = jsonschema::draft202012::meta::validate(&envelope) {
        panic!("envelope.schema.json is not a valid 2020-12 schema: {err}");
    }
    assert_eq!(
        envelope["$id"],
        "https://schemas.skillcore.dev/events/envelope.schema.json"
    );
    assert_eq!(
        envelope["properties"]["eventType"]["enum"]
            .as_array()
            .unwrap()
            .len(),
        cat.events.len()
    );
    // The meta-schema check can fail: a broken schema is rejected.
    let broken = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "objekt",
        "required": "resultId"
    });
    assert!(jsonschema::draft202012::meta::validate(&broken).is_err());
    for e in &cat.events {
        let name = format!("{}.v{}.schema.json", e.name, e.version);
        let text = files.get(&name).unwrap_or_else(|| panic!("{name} written"));
        let s: Value = serde_json::from_str(text).unwrap();
        if let Err(err) = jsonschema::draft202012::meta::validate(&s) {
            panic!("{name} is not a valid 2020-12 schema: {err}");
        }
        assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
        assert_eq!(
            s["$id"],
            format!("https://schemas.skillcore.dev/events/{name}"),
            "stable $id"
        );
        assert_eq!(s["title"], e.name.as_str());
        assert_eq!(s["description"], e.description.as_str());
        assert_eq!(s["type"], "object");
        assert_eq!(s["x-event"]["name"], e.name.as_str());
        assert_eq!(s["x-event"]["version"], e.version);
        assert_eq!(s["x-event"]["aggregate"], e.aggregate.as_str());
        assert_eq!(s["x-event"]["aggregateId"], e.aggregate_id.as_str());
        // `required` is exactly the non-optional fields without a `default`
        // (a reader fills that in), in catalog order.
        let required: Vec<&str> = e
            .fields
            .iter()
            .filter(|f| !f.ty.optional && f.default.is_none())
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(s["required"], serde_json::json!(required), "{name}");
        let props = s["properties"].as_object().unwrap();
        assert_eq!(props.len(), e.fields.len(), "{name}");
        for f in &e.fields {
            let p = &props[&f.name];
            if let Some(d) = &f.description {
                assert_eq!(p["description"], d.as_str(), "{name} {}", f.name);
            }
            assert_eq!(p.get("x-pii").is_some(), f.pii, "{name} {}", f.name);
            let format = |p: &Value| p["format"].as_str().map(str::to_string);
            use skillcore_events_codegen::model::BaseType::*;
            let inner = if f.ty.list_depth > 0 { &p["items"] } else { p };
            match (&f.ty.base, f.ty.list_depth) {
                (DateTime, 0) => assert_eq!(format(inner).as_deref(), Some("date-time")),
                (Date, 0) => assert_eq!(format(inner).as_deref(), Some("date")),
                (Uuid, 0) => assert_eq!(format(inner).as_deref(), Some("uuid")),
                _ => {}
            }
        }
        // Named types under $defs, enums with their values.
        for t in skillcore_events_codegen::emit::schema::used_types(cat, &e.fields) {
            let def = &s["$defs"][&t.name];
            assert_eq!(def["description"], t.description.as_str());
            if let TypeKind::Enum(values) = &t.kind {
                let v: Vec<&str> = values.iter().map(|v| v.value.as_str()).collect();
                assert_eq!(def["enum"], serde_json::json!(v), "{name} {}", t.name);
            }
        }
    }
    // Spot check the example.
    let posted: Value =
        serde_json::from_str(&files["gradebook.grade.posted.v2.schema.json"]).unwrap();
    assert_eq!(posted["properties"]["comment"]["x-pii"], true);
    assert_eq!(
        posted["properties"]["letterGrade"]["$ref"],
        "#/$defs/LetterGrade"
    );
    assert_eq!(
        posted["$defs"]["LetterGrade"]["enum"],
        serde_json::json!(["A", "B", "C", "D", "F"])
    );
    assert_eq!(
        posted["properties"]["previousScore"]["type"],
        serde_json::json!(["number", "null"])
    );
    // Version 2: `score` is `pointsEarned`; `pointsPossible` has a default.
    assert_eq!(posted["x-event"]["version"], 2);
    assert_eq!(posted["properties"]["pointsPossible"]["default"], 100);
    assert!(posted["properties"].get("score").is_none());
    assert_eq!(
        posted["properties"]["pointsEarned"]["x-renamedFrom"],
        serde_json::json!(["score"])
    );
    // Version 1, from the lock: meta-valid, `score` and no `pointsEarned`.
    let v1: Value = serde_json::from_str(&files["gradebook.grade.posted.v1.schema.json"]).unwrap();
    if let Err(err) = jsonschema::draft202012::meta::validate(&v1) {
        panic!("v1 is not a valid 2020-12 schema: {err}");
    }
    assert_eq!(
        v1["$id"],
        "https://schemas.skillcore.dev/events/gradebook.grade.posted.v1.schema.json"
    );
    assert_eq!(v1["x-event"]["version"], 1);
    assert_eq!(v1["properties"]["score"]["type"], "number");
    assert!(v1["properties"].get("pointsEarned").is_none());
    assert!(v1["properties"].get("pointsPossible").is_none());
    assert!(v1["required"]
        .as_array()
        .unwrap()
        .contains(&Value::from("score")));
    assert_eq!(v1["properties"]["comment"]["x-pii"], true);
}

#[test]
fn a_version_1_payload_is_valid_against_version_1_only() {
    let dir = scratch("schema-v1");
    let files = export(&dir);
    let compiled = skillcore_events_codegen::load(&catalog(), &root());
    let e = compiled.catalog.event("gradebook.grade.posted").unwrap();
    let ex = skillcore_events_codegen::emit::example::example(&compiled.catalog, e).to_value();
    // Today's example, as version 1 wrote it: `score`, no `pointsPossible`.
    let mut old = ex.clone();
    let o = old.as_object_mut().unwrap();
    let points = o
        .remove("pointsEarned")
        .expect("the example has pointsEarned");
    o.remove("pointsPossible");
    o.insert("score".into(), points);
    let judge = |file: &str| {
        let s: Value = serde_json::from_str(&files[file]).unwrap();
        jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&s)
            .unwrap()
    };
    let v1 = judge("gradebook.grade.posted.v1.schema.json");
    let v2 = judge("gradebook.grade.posted.v2.schema.json");
    assert!(v1.is_valid(&old), "{old}");
    assert!(!v2.is_valid(&old), "v2 requires pointsEarned");
    assert!(v2.is_valid(&ex));
    assert!(!v1.is_valid(&ex), "v1 requires score");
}

#[test]
fn examples_are_valid_against_the_schemas() {
    // Every event's example (catalog or generated) and every generated example.
    let compiled = skillcore_events_codegen::load(&catalog(), &root());
    let settings = skillcore_events_codegen::Settings::default();
    use skillcore_events_codegen::emit::{example, schema};
    for e in &compiled.catalog.events {
        let s = schema::event_schema(&compiled.catalog, e, &settings).to_value();
        let v = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&s)
            .unwrap();
        for (what, ex) in [
            ("example", example::example(&compiled.catalog, e).to_value()),
            (
                "generated",
                example::generated(&compiled.catalog, e).to_value(),
            ),
        ] {
            let errors: Vec<String> = v.iter_errors(&ex).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{} {what}: {errors:?}\n{ex}", e.name);
        }
        // Sanity: the validator does reject a payload missing everything required.
        if e.fields.iter().any(|f| !f.ty.optional) {
            assert!(!v.is_valid(&serde_json::json!({})), "{}", e.name);
        }
    }
}

#[test]
fn output_is_deterministic_and_written_only_when_changed() {
    let dir = scratch("schema-determinism");
    let first = export(&dir);
    let out = dir.join("schemas");
    let stamp = |f: &str| std::fs::metadata(out.join(f)).unwrap().modified().unwrap();
    let before = stamp("gradebook.grade.posted.v2.schema.json");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let (code, stdout, _) = parts(&run(
        &dir,
        &["schema", catalog().to_str().unwrap(), "--out", "schemas"],
    ));
    assert_eq!(code, 0);
    assert!(stdout.contains("0 written, 58 unchanged"), "{stdout}");
    assert_eq!(stamp("gradebook.grade.posted.v2.schema.json"), before);
    assert_eq!(read_dir(&out), first, "byte-identical");
    // A second, independent export is byte-identical too.
    let other = scratch("schema-determinism-2");
    assert_eq!(export(&other), first);
}

#[test]
fn check_names_the_files_that_drifted() {
    let dir = scratch("schema-drift");
    export(&dir);
    let cat = catalog();
    let args = [
        "schema",
        cat.to_str().unwrap(),
        "--out",
        "schemas",
        "--check",
    ];
    let (code, out, err) = parts(&run(&dir, &args));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("58 files up to date"), "{out}");

    let out_dir = dir.join("schemas");
    let changed = out_dir.join("gradebook.grade.posted.v2.schema.json");
    let text = std::fs::read_to_string(&changed).unwrap();
    std::fs::write(&changed, text.replace("Grade posted", "Grade was posted")).unwrap();
    std::fs::remove_file(out_dir.join("iep.goal.updated.v1.schema.json")).unwrap();
    let (code, _, err) = parts(&run(&dir, &args));
    assert_eq!(code, 1, "drift exits 1");
    assert!(
        err.contains("gradebook.grade.posted.v2.schema.json (differs from the catalog)"),
        "{err}"
    );
    assert!(
        err.contains("iep.goal.updated.v1.schema.json (missing)"),
        "{err}"
    );
    assert!(err.contains("2 of 58 exported files drifted"), "{err}");
    // A file of another name the catalog does not produce is noted, not
    // counted as drift; a version of one of its events that it does not
    // produce (the catalog has a lock) is stale, which is drift.
    std::fs::write(out_dir.join("gradebook.grade.gone.v1.schema.json"), "{}").unwrap();
    let (code, _, err) = parts(&run(&dir, &args));
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "note: schemas/gradebook.grade.gone.v1.schema.json is not produced by this catalog"
        ),
        "{err}"
    );
    assert!(err.contains("2 of 58 exported files drifted"), "{err}");
    std::fs::write(out_dir.join("gradebook.grade.posted.v0.schema.json"), "{}").unwrap();
    let (code, _, err) = parts(&run(&dir, &args));
    assert_eq!(code, 1);
    assert!(
        err.contains("gradebook.grade.posted.v0.schema.json (stale: not produced by this catalog"),
        "{err}"
    );
    assert!(err.contains("3 of 58 exported files drifted"), "{err}");
    // A deleted or modified version 1 file is drift too.
    let v1 = out_dir.join("gradebook.grade.posted.v1.schema.json");
    std::fs::write(&v1, "{}").unwrap();
    let (code, _, err) = parts(&run(&dir, &args));
    assert_eq!(code, 1);
    assert!(
        err.contains("gradebook.grade.posted.v1.schema.json (differs from the catalog)"),
        "{err}"
    );
    std::fs::remove_file(&v1).unwrap();
    let (code, _, err) = parts(&run(&dir, &args));
    assert_eq!(code, 1);
    assert!(
        err.contains("gradebook.grade.posted.v1.schema.json (missing)"),
        "{err}"
    );
    assert!(err.contains("4 of 58 exported files drifted"), "{err}");
    // --check wrote nothing.
    assert!(!out_dir.join("iep.goal.updated.v1.schema.json").exists());
    // Exporting again repairs exactly those three and removes the stale one.
    let (code, out, _) = parts(&run(
        &dir,
        &["schema", cat.to_str().unwrap(), "--out", "schemas"],
    ));
    assert_eq!(code, 0);
    assert!(
        out.contains("3 written, 55 unchanged, 1 stale removed"),
        "{out}"
    );
    assert!(!out_dir
        .join("gradebook.grade.posted.v0.schema.json")
        .exists());
    assert!(out_dir.join("gradebook.grade.gone.v1.schema.json").exists());
}

#[test]
fn id_base_is_configurable() {
    let dir = scratch("schema-id");
    let (code, _, err) = parts(&run(
        &dir,
        &[
            "schema",
            catalog().to_str().unwrap(),
            "--out",
            "s",
            "--id-base",
            "https://example.org/ev/",
        ],
    ));
    assert_eq!(code, 0, "{err}");
    let s: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("s/gradebook.grade.posted.v2.schema.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        s["$id"],
        "https://example.org/ev/gradebook.grade.posted.v2.schema.json"
    );
}
