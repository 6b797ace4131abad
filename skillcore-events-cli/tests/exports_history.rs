//! The exports of older versions: a schema file per released version, an
//! AsyncAPI message per version, the docs site's version histories and
//! changelog, and `--check` over all of them. On a small catalog built in
//! three steps with the real `lock` command: `school.grade.posted` renames
//! `score` to `pointsEarned` at version 2 (and `Letter` gains a value after
//! that), `school.note.added` is renamed `school.note.written` at version 2
//! and reaches an unreleased version 3.

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The pii example value, never to appear in an older version's export.
const SECRET: &str = "jane.secret";

const V1: &str = "catalog: demo
types:
  Letter:
    description: A letter grade.
    enum: [A, B, C]
events:
  school.grade.posted:
    description: A grade was posted.
    aggregate: Grade
    aggregate_id: gradeId
    handlers: [notify.send_grade]
    payload:
      gradeId: uuid
      score: { type: number, description: Points earned. }
      letter: Letter
      comment:
        type: string?
        pii: true
    examples:
      - gradeId: '00000000-0000-4000-8000-000000000001'
        score: 88
        letter: B
        comment: jane.secret wrote this
  school.note.added:
    description: A note was added.
    aggregate: Note
    aggregate_id: noteId
    payload:
      noteId: string
      text: string
      legacy: string?
";

/// Build 2: version 2 of both events, one renamed.
fn v2() -> String {
    V1.replace(
        "    description: A grade was posted.\n",
        "    description: A grade was posted.\n    version: 2\n",
    )
    .replace(
        "      score: { type: number, description: Points earned. }\n",
        "      pointsEarned: { type: number, renamed_from: score, description: Points earned. }\n      pointsPossible: { type: number, default: 100 }\n",
    )
    .replace(
        "        score: 88\n",
        "        pointsEarned: 88\n        pointsPossible: 100\n",
    )
    .replace(
        "  school.note.added:\n    description: A note was added.\n",
        "  school.note.written:\n    description: A note was written.\n    version: 2\n    renamed_from: school.note.added\n",
    )
    .replace("      legacy: string?\n", "")
}

/// Build 3, not locked: `Letter` gains `D` (compatible, still version 2 of
/// `posted`), and `written` reaches version 3 with an optional field.
fn v3() -> String {
    v2().replace("enum: [A, B, C]", "enum: [A, B, C, D]")
        .replace(
            "    description: A note was written.\n    version: 2\n",
            "    description: A note was written.\n    version: 3\n",
        )
        + "      author: string?\n"
}

/// A project with the lock of builds 1 and 2 and the catalog of build 3.
fn project(name: &str) -> PathBuf {
    let dir = scratch(name);
    std::fs::create_dir_all(dir.join("catalog")).unwrap();
    let write = |text: &str| std::fs::write(dir.join("catalog/events.yaml"), text).unwrap();
    for build in [V1.to_string(), v2()] {
        write(&build);
        let (code, _, err) = parts(&run(&dir, &["lock", "catalog"]));
        assert_eq!(code, 0, "{err}");
    }
    write(&v3());
    let lock = std::fs::read_to_string(dir.join("catalog.lock")).unwrap();
    assert!(lock.contains("name: school.note.added"), "{lock}");
    dir
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

fn schemas(dir: &Path) -> BTreeMap<String, Value> {
    let (code, out, err) = parts(&run(dir, &["schema", "catalog", "--out", "schemas"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("schema: 6 files"), "{out}");
    read_dir(&dir.join("schemas"))
        .into_iter()
        .map(|(k, v)| (k, serde_json::from_str(&v).unwrap()))
        .collect()
}

fn validator(s: &Value, all: &BTreeMap<String, Value>) -> jsonschema::Validator {
    struct Files(HashMap<String, Value>);
    impl jsonschema::Retrieve for Files {
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
    let by_id = all
        .values()
        .map(|s| (s["$id"].as_str().unwrap().to_string(), s.clone()))
        .collect();
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .with_retriever(Files(by_id))
        .build(s)
        .unwrap_or_else(|e| panic!("schema does not compile: {e}"))
}

#[test]
fn a_schema_file_per_released_version() {
    let dir = project("history-schema");
    let files = schemas(&dir);
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "envelope.schema.json",
            "school.grade.posted.v1.schema.json",
            "school.grade.posted.v2.schema.json",
            "school.note.written.v1.schema.json",
            "school.note.written.v2.schema.json",
            "school.note.written.v3.schema.json",
        ]
    );
    for (name, s) in &files {
        if let Err(err) = jsonschema::draft202012::meta::validate(s) {
            panic!("{name} is not a valid 2020-12 schema: {err}");
        }
    }
    let v1 = &files["school.grade.posted.v1.schema.json"];
    let v2 = &files["school.grade.posted.v2.schema.json"];
    assert_eq!(
        v1["$id"],
        "https://schemas.skillcore.dev/events/school.grade.posted.v1.schema.json"
    );
    assert_eq!(v1["x-event"]["version"], 1);
    assert_eq!(v2["x-event"]["version"], 2);
    // v1 has `score`, v2 `pointsEarned`, which names its older name.
    assert_eq!(v1["properties"]["score"]["type"], "number");
    assert!(v1["properties"].get("pointsEarned").is_none());
    assert!(v2["properties"].get("score").is_none());
    assert_eq!(
        v2["properties"]["pointsEarned"]["x-renamedFrom"],
        json!(["score"])
    );
    assert_eq!(v2["properties"]["pointsPossible"]["default"], 100);
    assert_eq!(v1["required"], json!(["gradeId", "score", "letter"]));
    assert_eq!(v2["required"], json!(["gradeId", "pointsEarned", "letter"]));
    // The description of an unchanged field is borrowed; each version has
    // its named types as they were.
    assert_eq!(v1["properties"]["comment"]["x-pii"], true);
    assert_eq!(v1["$defs"]["Letter"]["enum"], json!(["A", "B", "C"]));
    assert_eq!(v2["$defs"]["Letter"]["enum"], json!(["A", "B", "C", "D"]));
    // The renamed event's first version says what it was published as.
    let n1 = &files["school.note.written.v1.schema.json"];
    assert_eq!(n1["x-event"]["publishedAs"], "school.note.added");
    assert!(n1["properties"].get("legacy").is_some());
    assert!(files["school.note.written.v3.schema.json"]["properties"]
        .get("author")
        .is_some());

    // A version 1 payload is valid against version 1, not version 2, and the
    // other way round.
    let old =
        json!({"gradeId": "00000000-0000-4000-8000-000000000001", "score": 88, "letter": "C"});
    let new = json!({"gradeId": "00000000-0000-4000-8000-000000000001", "pointsEarned": 88, "letter": "D"});
    assert!(validator(v1, &files).is_valid(&old));
    assert!(!validator(v2, &files).is_valid(&old));
    assert!(validator(v2, &files).is_valid(&new));
    assert!(!validator(v1, &files).is_valid(&new));

    // The envelope checks each version's payload against its own file: an
    // envelope without `version` is version 1.
    let env = validator(&files["envelope.schema.json"], &files);
    let envelope = |version: Option<u32>, payload: &Value| {
        let mut e = json!({
            "id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
            "eventType": "school.grade.posted",
            "aggregateId": "g-1",
            "aggregateType": "Grade",
            "payload": payload,
            "metadata": {"districtId": "d", "schoolId": "s"},
            "occurredAt": "2025-11-17T14:03:00Z"
        });
        if let Some(v) = version {
            e["version"] = json!(v);
        }
        e
    };
    assert!(env.is_valid(&envelope(None, &old)));
    assert!(env.is_valid(&envelope(Some(1), &old)));
    assert!(!env.is_valid(&envelope(Some(2), &old)));
    assert!(env.is_valid(&envelope(Some(2), &new)));
    assert!(!env.is_valid(&envelope(None, &new)));

    // No older version's file holds the pii example value.
    for (name, s) in &files {
        assert!(!s.to_string().contains(SECRET), "{name}");
    }
}

#[test]
fn check_covers_every_versioned_file() {
    let dir = project("history-check");
    schemas(&dir);
    let check = ["schema", "catalog", "--out", "schemas", "--check"];
    let (code, out, err) = parts(&run(&dir, &check));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("6 files up to date"), "{out}");
    let out_dir = dir.join("schemas");
    let v1 = out_dir.join("school.grade.posted.v1.schema.json");

    // A modified v1 file.
    let text = std::fs::read_to_string(&v1).unwrap();
    std::fs::write(&v1, text.replace("\"score\"", "\"scores\"")).unwrap();
    let (code, _, err) = parts(&run(&dir, &check));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("school.grade.posted.v1.schema.json (differs from the catalog)"),
        "{err}"
    );
    // A missing one, and a stale version of one of the catalog's events (or
    // of a name the lock knows); a file of some other name is only noted.
    std::fs::remove_file(&v1).unwrap();
    std::fs::write(out_dir.join("school.grade.posted.v9.schema.json"), "{}").unwrap();
    std::fs::write(out_dir.join("school.note.written.v0.schema.json"), "{}").unwrap();
    std::fs::write(out_dir.join("other.thing.done.v1.schema.json"), "{}").unwrap();
    let (code, _, err) = parts(&run(&dir, &check));
    assert_eq!(code, 1);
    assert!(
        err.contains("school.grade.posted.v1.schema.json (missing)"),
        "{err}"
    );
    assert!(
        err.contains("school.grade.posted.v9.schema.json (stale: not produced by this catalog"),
        "{err}"
    );
    assert!(
        err.contains("school.note.written.v0.schema.json (stale"),
        "{err}"
    );
    assert!(
        err.contains("note: schemas/other.thing.done.v1.schema.json is not produced"),
        "{err}"
    );
    assert!(err.contains("3 of 6 exported files drifted"), "{err}");
    assert!(!v1.exists(), "--check writes nothing");
    // Exporting repairs v1 and removes the stale files, not the other one.
    let (code, out, _) = parts(&run(&dir, &["schema", "catalog", "--out", "schemas"]));
    assert_eq!(code, 0);
    assert!(
        out.contains("1 written, 5 unchanged, 2 stale removed"),
        "{out}"
    );
    assert!(v1.exists());
    assert!(!out_dir.join("school.grade.posted.v9.schema.json").exists());
    assert!(out_dir.join("other.thing.done.v1.schema.json").exists());
    let (code, _, err) = parts(&run(&dir, &check));
    assert_eq!(code, 0, "{err}");
}

/// Runs the AsyncAPI initiative's parser on `file`: (passed, output).
fn asyncapi_parser(file: &Path) -> (bool, String) {
    let node = root().join("tests/node");
    assert!(
        node.join("node_modules/@asyncapi/parser").is_dir(),
        "the AsyncAPI parser is not installed: run `npm ci --prefix tests/node` (needs Node.js and npm)"
    );
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

/// The keys of channel `name`'s `messages`, in the order of the JSON text
/// (`serde_json` maps sort their keys).
fn key_order(text: &str, name: &str) -> Vec<String> {
    let at = text
        .find(&format!("\"address\": \"{name}\""))
        .expect("the channel");
    let block = &text[at..];
    let block = &block[block.find("\"messages\": {").unwrap()..];
    let block = &block[..block.find("\n      }").unwrap()];
    block
        .lines()
        .skip(1)
        .filter_map(|l| {
            let l = l.trim_start();
            l.strip_prefix('"')?
                .split_once("\": {")
                .map(|(k, _)| k.to_string())
        })
        .collect()
}

#[test]
fn asyncapi_has_a_message_per_version_current_first() {
    let dir = project("history-asyncapi");
    let (code, out, err) = parts(&run(&dir, &["asyncapi", "catalog", "--format", "json"]));
    assert_eq!(code, 0, "{err}");
    let d: Value = serde_json::from_str(&out).unwrap();
    let channel = &d["channels"]["school.grade.posted"]["messages"];
    let keys: Vec<&String> = channel.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(
        key_order(&out, "school.grade.posted"),
        ["school.grade.posted", "school.grade.posted.v1"],
        "the current version first"
    );
    assert_eq!(
        channel["school.grade.posted.v1"]["$ref"],
        "#/components/messages/school.grade.posted.v1"
    );
    let messages = &d["components"]["messages"];
    let (m2, m1) = (
        &messages["school.grade.posted"],
        &messages["school.grade.posted.v1"],
    );
    assert_eq!(m2["name"], "school.grade.posted.v2");
    assert_eq!(m1["name"], "school.grade.posted.v1");
    assert!(m1["payload"]["properties"].get("score").is_some());
    assert!(m2["payload"]["properties"].get("pointsEarned").is_some());
    // Version 1's `Letter` as it was, under its own name; version 2's is
    // the catalog's.
    assert_eq!(
        m1["payload"]["properties"]["letter"]["$ref"],
        "#/components/schemas/school.grade.posted.v1.Letter"
    );
    assert_eq!(
        d["components"]["schemas"]["school.grade.posted.v1.Letter"]["enum"],
        json!(["A", "B", "C"])
    );
    assert_eq!(
        m2["payload"]["properties"]["letter"]["$ref"],
        "#/components/schemas/Letter"
    );
    // A handler receives every version.
    let op = &d["operations"]["notify.send_grade.on.school.grade.posted"]["messages"];
    assert_eq!(op.as_array().unwrap().len(), 2);
    // Three versions of the renamed event, newest first.
    assert_eq!(
        key_order(&out, "school.note.written"),
        [
            "school.note.written",
            "school.note.written.v2",
            "school.note.written.v1"
        ]
    );
    // An older version's example is valid against its own schema file, and
    // holds no pii example value.
    let files = schemas(&dir);
    let ex = &m1["examples"][0]["payload"];
    assert!(validator(&files["school.grade.posted.v1.schema.json"], &files).is_valid(ex));
    assert!(!validator(&files["school.grade.posted.v2.schema.json"], &files).is_valid(ex));
    assert!(!m1.to_string().contains(SECRET));

    // The AsyncAPI parser accepts it, YAML and JSON.
    for file in ["api.yaml", "api.json"] {
        let (code, _, err) = parts(&run(&dir, &["asyncapi", "catalog", "--out", file]));
        assert_eq!(code, 0, "{err}");
        let (ok, out) = asyncapi_parser(&dir.join(file));
        assert!(ok && out.contains("\n0 errors"), "{file}:\n{out}");
        assert!(
            out.contains("parsed AsyncAPI 3.0.0: 2 channels, 5 messages"),
            "{out}"
        );
    }
    // --check sees an older version's message drift.
    let check = ["asyncapi", "catalog", "--out", "api.yaml", "--check"];
    let (code, _, err) = parts(&run(&dir, &check));
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(dir.join("api.yaml")).unwrap();
    assert!(text.contains("school.grade.posted.v1:"));
    std::fs::write(
        dir.join("api.yaml"),
        text.replace("school.grade.posted.v1.Letter", "Letter"),
    )
    .unwrap();
    let (code, _, err) = parts(&run(&dir, &check));
    assert_eq!(code, 1);
    assert!(err.contains("api.yaml (differs from the catalog)"), "{err}");
}

#[test]
fn docs_show_version_history_and_changelog() {
    let dir = project("history-docs");
    let (code, _, err) = parts(&run(&dir, &["docs", "catalog", "--out", "site"]));
    assert_eq!(code, 0, "{err}");
    let site = dir.join("site");
    let read = |p: &str| std::fs::read_to_string(site.join(p)).unwrap();
    let index = read("index.html");
    assert!(
        index.contains("href=\"changelog.html\""),
        "linked from the index"
    );
    for f in [
        "school.grade.posted.v1.schema.json",
        "school.note.written.v3.schema.json",
    ] {
        assert!(site.join("schemas").join(f).is_file(), "{f}");
    }

    let page = read("events/school.grade.posted.html");
    let at = page
        .find("<section class=\"card-box history\"")
        .expect("history");
    let history = &page[at..at + page[at..].find("</section>").unwrap()];
    let v2 = history.find("<h3>Version 2 ").expect("v2");
    let v1 = history.find("<h3>Version 1 ").expect("v1");
    assert!(v2 < v1, "newest first");
    // Version 1's table has `score`; version 2's names it as the older name.
    assert!(history[v1..].contains("<td class=\"fname\"><code>score</code>"));
    assert!(history[v2..v1].contains("<code>pointsEarned</code></td><td class=\"ftype\"><code>number</code></td><td><span class=\"opt no\">required</span></td><td><span class=\"muted\">–</span></td><td><code>score</code></td>"));
    assert!(history[v2..v1].contains("href=\"../schemas/school.grade.posted.v2.schema.json\""));
    assert!(history[v1..].contains(
        "<li><code>Letter</code>: enum <code>A</code> <code>B</code> <code>C</code></li>"
    ));
    // The classified changes from version 1, judged under the mode.
    let changes = &history[v2..v1];
    assert!(
        changes.contains("<h4>Changes from version 1</h4>"),
        "{changes}"
    );
    assert!(changes.contains("Breaking under <code>backward</code>"));
    assert!(changes.contains("<tr><td><code>field-renamed</code></td><td>field <code>score</code> is renamed to <code>pointsEarned</code></td><td><span class=\"opt yes\">yes</span></td><td><span class=\"opt no\">no</span></td><td><span class=\"opt yes\">no</span></td></tr>"), "{changes}");
    assert!(
        changes.contains("<code>enum-value-added</code>"),
        "{changes}"
    );
    assert!(!history.contains(SECRET));

    // The renamed event: published as its old name; version 3 not released.
    let written = read("events/school.note.written.html");
    assert!(written.contains("published as <code>school.note.added</code>"));
    assert!(written.contains("<h3>Version 3 <span class=\"chip ver\">current</span><span class=\"chip\" title=\"not in the lock file yet: run skillcore-events lock\">not released yet</span>"));
    assert!(written.contains("<code>event-renamed</code>"));
    // An event with one version has no history.
    assert!(!read("types.html").contains("id=\"history\""));

    // The changelog: every step, newest first (unreleased, then by version).
    let log = read("changelog.html");
    assert!(log.contains("<strong>3 version steps</strong>"), "{log}");
    let pos = |id: &str| {
        log.find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("{id} in {log}"))
    };
    let (w3, p2, w2) = (
        pos("school.note.written-v3"),
        pos("school.grade.posted-v2"),
        pos("school.note.written-v2"),
    );
    assert!(w3 < p2 && p2 < w2, "{w3} {p2} {w2}");
    assert!(log.contains("<code>field-added-optional</code>"));
    assert!(log.contains("href=\"events/school.grade.posted.html#history\""));
    assert!(!log.contains(SECRET));
}

#[test]
fn without_a_lock_the_exports_are_the_current_versions() {
    let dir = scratch("history-none");
    std::fs::create_dir_all(dir.join("catalog")).unwrap();
    std::fs::write(dir.join("catalog/events.yaml"), v3()).unwrap();
    let (code, out, err) = parts(&run(&dir, &["schema", "catalog", "--out", "schemas"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("schema: 3 files"), "{out}");
    // Without a lock, an older file is kept (noted), not stale.
    std::fs::write(dir.join("schemas/school.grade.posted.v1.schema.json"), "{}").unwrap();
    let (code, _, err) = parts(&run(
        &dir,
        &["schema", "catalog", "--out", "schemas", "--check"],
    ));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("note: schemas/school.grade.posted.v1.schema.json"),
        "{err}"
    );
    let (code, _, err) = parts(&run(&dir, &["docs", "catalog", "--out", "site"]));
    assert_eq!(code, 0, "{err}");
    assert!(!dir.join("site/changelog.html").exists());
    let page = std::fs::read_to_string(dir.join("site/events/school.grade.posted.html")).unwrap();
    assert!(!page.contains("id=\"history\""));
    assert!(!std::fs::read_to_string(dir.join("site/index.html"))
        .unwrap()
        .contains("changelog.html"));
}
