//! `skillcore-events asyncapi`: the document is parsed and validated by the
//! AsyncAPI initiative's own parser (`@asyncapi/parser`, run by
//! `tests/node/validate-asyncapi.mjs`), with zero errors.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn node_dir() -> PathBuf {
    root().join("tests/node")
}

/// Runs the AsyncAPI parser on `file`: (passed, output).
fn asyncapi_parser(file: &Path) -> (bool, String) {
    let node = node_dir();
    if let Err(e) = ensure_npm_packages(&node) {
        panic!("{e}");
    }
    let o = Command::new("node")
        .arg(node.join("validate-asyncapi.mjs"))
        .arg(file)
        .output()
        .expect("`node` runs (install Node.js)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

#[test]
fn the_asyncapi_parser_accepts_our_document_yaml_and_json() {
    let dir = scratch("asyncapi-parser");
    let cat = catalog();
    for file in ["skillcore.asyncapi.yaml", "skillcore.asyncapi.json"] {
        let (code, _, err) = parts(&run(
            &dir,
            &["asyncapi", cat.to_str().unwrap(), "--out", file],
        ));
        assert_eq!(code, 0, "{err}");
        let (ok, out) = asyncapi_parser(&dir.join(file));
        assert!(ok, "{file}: the AsyncAPI parser reported errors:\n{out}");
        assert!(out.contains("\n0 errors"), "{out}");
        assert!(
            out.contains("parsed AsyncAPI 3.0.0: 56 channels, 57 messages"),
            "{out}"
        );
    }
}

#[test]
fn the_parser_check_can_fail() {
    // A document with a dangling reference and a missing `info.version`.
    let dir = scratch("asyncapi-broken");
    let file = dir.join("broken.yaml");
    std::fs::write(
        &file,
        "asyncapi: 3.0.0\ninfo:\n  title: broken\nchannels:\n  a.b.posted:\n    address: a.b.posted\n    messages:\n      m:\n        $ref: '#/components/messages/nope'\n",
    )
    .unwrap();
    let (ok, out) = asyncapi_parser(&file);
    assert!(!ok, "{out}");
    assert!(out.contains("error"), "{out}");
}

#[test]
fn document_structure() {
    let dir = root();
    let (code, out, err) = parts(&run(&dir, &["asyncapi", "--format", "json"]));
    assert_eq!(code, 0, "{err}");
    let d: Value = serde_json::from_str(&out).unwrap();
    let compiled = skillcore_events_codegen::load(&catalog(), &root());
    let cat = &compiled.catalog;
    assert_eq!(d["asyncapi"], "3.0.0");
    assert_eq!(d["channels"].as_object().unwrap().len(), cat.events.len());
    let handlers: usize = cat.events.iter().map(|e| e.handlers.len()).sum();
    assert_eq!(d["operations"].as_object().unwrap().len(), handlers);
    let tags: Vec<&str> = d["info"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let contexts: Vec<&str> = cat.contexts().iter().map(|(c, _)| *c).collect();
    assert_eq!(tags, contexts, "one tag per context");
    let posted = &d["components"]["messages"]["gradebook.grade.posted"];
    assert_eq!(
        posted["description"],
        "Grade posted for student assignment."
    );
    assert_eq!(
        posted["payload"]["properties"]["letterGrade"]["$ref"],
        "#/components/schemas/LetterGrade"
    );
    assert_eq!(posted["tags"][0]["name"], "gradebook");
    // One message per version (catalog.lock has version 1): the current one
    // keeps the event's name as its key, version 1 is
    // `gradebook.grade.posted.v1`, from the shape in the lock.
    assert_eq!(posted["name"], "gradebook.grade.posted.v2");
    let v1 = &d["components"]["messages"]["gradebook.grade.posted.v1"];
    assert_eq!(v1["name"], "gradebook.grade.posted.v1");
    assert_eq!(v1["payload"]["properties"]["score"]["type"], "number");
    assert!(v1["payload"]["properties"].get("pointsEarned").is_none());
    assert_eq!(
        posted["payload"]["properties"]["pointsEarned"]["x-renamedFrom"],
        serde_json::json!(["score"])
    );
    let channel = d["channels"]["gradebook.grade.posted"]["messages"]
        .as_object()
        .unwrap();
    assert_eq!(channel.len(), 2);
    assert_eq!(
        channel["gradebook.grade.posted.v1"]["$ref"],
        "#/components/messages/gradebook.grade.posted.v1"
    );
    let text = out.as_str();
    let at = text
        .find("\"address\": \"gradebook.grade.posted\"")
        .unwrap();
    let current = text[at..]
        .find("\"$ref\": \"#/components/messages/gradebook.grade.posted\"")
        .unwrap();
    let older = text[at..]
        .find("\"$ref\": \"#/components/messages/gradebook.grade.posted.v1\"")
        .unwrap();
    assert!(current < older, "the current version first");
    let op = &d["operations"]["analytics.update_gpa.on.gradebook.grade.posted"];
    assert_eq!(op["action"], "receive");
    assert_eq!(op["channel"]["$ref"], "#/channels/gradebook.grade.posted");

    // YAML by default, and the same document.
    let (code, yaml, _) = parts(&run(&dir, &["asyncapi"]));
    assert_eq!(code, 0);
    assert!(
        yaml.starts_with("# Generated by `skillcore-events asyncapi`"),
        "{yaml}"
    );
    assert!(yaml.contains("\nasyncapi: \"3.0.0\"\n"));
    // Our YAML writer: the YAML reads back as exactly the JSON document.
    use skillcore_events_codegen::{source::Sources, yaml};
    let sources = Sources::single("api.yaml", yaml.as_str());
    let node = yaml::parse(&sources, 0)
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("a document");
    assert_eq!(node.to_json().expect("JSON values only"), d);
}

#[test]
fn check_catches_drift() {
    let dir = scratch("asyncapi-drift");
    let cat = catalog();
    let c = cat.to_str().unwrap();
    let (code, _, _) = parts(&run(&dir, &["asyncapi", c, "--out", "api.yaml"]));
    assert_eq!(code, 0);
    let (code, out, _) = parts(&run(&dir, &["asyncapi", c, "--out", "api.yaml", "--check"]));
    assert_eq!(code, 0, "{out}");
    let text = std::fs::read_to_string(dir.join("api.yaml")).unwrap();
    std::fs::write(dir.join("api.yaml"), text.replace("receive", "send")).unwrap();
    let (code, _, err) = parts(&run(&dir, &["asyncapi", c, "--out", "api.yaml", "--check"]));
    assert_eq!(code, 1);
    assert!(err.contains("api.yaml (differs from the catalog)"), "{err}");
    let (code, _, err) = parts(&run(
        &dir,
        &["asyncapi", c, "--out", "gone.yaml", "--check"],
    ));
    assert_eq!(code, 1);
    assert!(err.contains("gone.yaml (missing)"), "{err}");
    // Deterministic: two runs, same bytes.
    let (_, a, _) = parts(&run(&dir, &["asyncapi", c]));
    let (_, b, _) = parts(&run(&dir, &["asyncapi", c]));
    assert_eq!(a, b);
}
