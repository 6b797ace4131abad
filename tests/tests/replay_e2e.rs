//! Replay, end to end (issue 13), with real processes on a real SQLite file
//! and a real PostgreSQL schema. Three builds of one catalog
//! (`fixtures/replay/b1..b3/`, each with the lock `skillcore-events lock`
//! wrote for it) are three binaries (`src/bin/evolve_b1..3.rs`):
//!
//! 1. build 1 publishes version 1 of four events;
//! 2. build 2 publishes version 2: fields renamed (`renamed_from`), defaults
//!    added, fields removed, `lab.note.added` renamed to `lab.note.written`,
//!    `tags` from text to a list by a hand-written upcaster;
//! 3. build 3 publishes version 3 (points moved into a struct by a
//!    hand-written upcaster, a defaulted field, an optional field added within
//!    a version);
//! 4. build 3 replays every stored event to one handler of its current
//!    types, through the store's replay and the bus's workers; then the
//!    renamed event alone, by its current name (`--type`), which takes its
//!    events stored under the old name too.
//!
//! The test computes, from the published values alone, what each stored
//! event must be in build 3's types and compares every field: 100 % decoded,
//! every value carried through the chain, no failure, no dead letter. And a
//! catalog edit that would strand the stored events (a breaking change
//! without a version bump) does not compile: `breaking-change`.

#[path = "../fixtures/replay/values.rs"]
mod values;

#[path = "../../skillcore-events-store/tests/common/leftovers.rs"]
mod leftovers;

use serde_json::{json, Map, Value};
use skillcore_events::store::{Cursor, Scope, Store};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use values::{BADGE, NOTE, NOTE_OLD, PER_EVENT, SCORE, VISIT};

fn pg_url() -> String {
    std::env::var("SKILLCORE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs a build binary to its end; its stdout, or a failed assertion with
/// its stderr.
fn run(bin: &str, mode: &str, db: &[String]) -> String {
    let out = Command::new(bin)
        .arg(mode)
        .args(db)
        .output()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{bin} {mode} {db:?} failed ({}):\n--- stderr\n{stderr}\n--- stdout (last 2000 bytes)\n{}",
        out.status,
        &stdout[stdout.len().saturating_sub(2000)..]
    );
    stdout
}

const BUILDS: [&str; 3] = [
    env!("CARGO_BIN_EXE_evolve_b1"),
    env!("CARGO_BIN_EXE_evolve_b2"),
    env!("CARGO_BIN_EXE_evolve_b3"),
];

/// The value of `key` in a payload (absent is null).
fn get<'a>(p: &'a Value, key: &str) -> &'a Value {
    p.get(key).unwrap_or(&Value::Null)
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("a number, not {v}"))
}

/// What build 3's handler must receive for event `i` of `event` (its name in
/// `build`) published by `build`: (current name, aggregate id, payload),
/// computed from the published values by the catalogs' declarations.
fn expected(build: u64, event: &str, i: u64) -> (&'static str, String, Value) {
    let p = values::published(build, event, i).unwrap();
    let (name, id_field, v) = match (event, build) {
        // v1 -> v2: `score` renamed to `pointsEarned`, `pointsPossible` takes
        // its default (100), `attempts` dropped; v2 -> v3: the points move
        // into `Points`, `comment` (optional) is absent.
        (SCORE, 1) => (
            SCORE,
            "scoreId",
            json!({
                "scoreId": p["scoreId"],
                "points": {"earned": num(&p["score"]), "possible": 100.0},
                "letter": p["letter"],
            }),
        ),
        (SCORE, 2) => (
            SCORE,
            "scoreId",
            json!({
                "scoreId": p["scoreId"],
                "points": {"earned": num(&p["pointsEarned"]), "possible": num(&p["pointsPossible"])},
                "letter": p["letter"],
            }),
        ),
        // Renamed event: `text` renamed to `body`, `pinned` takes its default,
        // `legacy` dropped.
        (NOTE_OLD, 1) => (
            NOTE,
            "noteId",
            json!({"noteId": p["noteId"], "body": p["text"], "pinned": false}),
        ),
        // v1 -> v2 (hand-written): comma-separated tags to a list, minutes
        // to a number; v2 -> v3: `room` takes its default.
        (VISIT, 1) => {
            let tags: Vec<&str> = p["tags"]
                .as_str()
                .unwrap()
                .split(',')
                .filter(|t| !t.is_empty())
                .collect();
            (
                VISIT,
                "visitId",
                json!({
                    "visitId": p["visitId"],
                    "tags": tags,
                    "minutes": num(&p["minutes"]),
                    "room": "main",
                }),
            )
        }
        (VISIT, 2) => {
            let mut v = p.clone();
            v["room"] = json!("main");
            (VISIT, "visitId", v)
        }
        // Build 3's own events, and badges (version 1 throughout; `note`
        // added as optional within it) arrive as published.
        (SCORE, 3) => (SCORE, "scoreId", p.clone()),
        (NOTE, _) => (NOTE, "noteId", p.clone()),
        (VISIT, 3) => (VISIT, "visitId", p.clone()),
        (BADGE, _) => (BADGE, "badgeId", p.clone()),
        other => panic!("no expectation for {other:?}"),
    };
    let id = get(&v, id_field).as_str().unwrap().to_string();
    (name, id, without_nulls(v))
}

/// An optional field may be absent or `null`: compare without the nulls.
fn without_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect::<Map<_, _>>(),
        ),
        other => other,
    }
}

/// Current version of each event in build 3.
fn current_version(name: &str) -> u64 {
    match name {
        SCORE | VISIT => 3,
        NOTE => 2,
        _ => 1,
    }
}

/// The stored events by (name, version), read back from the store.
fn stored(store: &Store, rt: &tokio::runtime::Runtime) -> BTreeMap<(String, u32), usize> {
    let (events, _) = rt
        .block_on(store.read_after(&Scope::AllDistricts, Cursor::default(), 10_000))
        .unwrap();
    let mut counts = BTreeMap::new();
    for e in events {
        *counts
            .entry((e.event.event_type.clone(), e.event.version))
            .or_default() += 1;
    }
    counts
}

/// The whole chain on one store: three builds publish, build 3 replays;
/// every check. `open` opens the store the children used, to read what
/// they stored.
fn chain(db: &[String], open: impl FnOnce(&tokio::runtime::Runtime) -> Store) {
    for (b, bin) in BUILDS.iter().enumerate() {
        let out = run(bin, "publish", db);
        assert_eq!(
            out.trim(),
            format!("published {}", 4 * PER_EVENT),
            "build {}",
            b + 1
        );
    }

    // What the store holds: each build's events under its own names and versions.
    let rt = runtime();
    let store = open(&rt);
    let n = PER_EVENT as usize;
    let want: BTreeMap<(String, u32), usize> = [
        ((BADGE, 1), 3 * n),
        ((NOTE_OLD, 1), n),
        ((NOTE, 2), 2 * n),
        ((SCORE, 1), n),
        ((SCORE, 2), n),
        ((SCORE, 3), n),
        ((VISIT, 1), n),
        ((VISIT, 2), n),
        ((VISIT, 3), n),
    ]
    .into_iter()
    .map(|((e, v), c)| ((e.to_string(), v), c))
    .collect();
    assert_eq!(
        stored(&store, &rt),
        want,
        "the stored events, by name and version"
    );
    drop(store);

    let out = run(BUILDS[2], "replay", db);
    let mut lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let summary = lines.pop().expect("a summary line");
    let total = 12 * PER_EVENT;
    assert_eq!(
        summary,
        json!({"summary": {"queued": total, "decoded": total, "failed": 0, "deadLetters": 0}}),
        "100 % decoded, nothing failed, no dead letters"
    );

    let mut got: BTreeMap<(String, String), Value> = BTreeMap::new();
    for line in &lines {
        let name = line["handler"].as_str().unwrap().to_string();
        assert_eq!(line["event"], line["handler"], "the current name: {line}");
        assert_eq!(
            line["version"],
            json!(current_version(&name)),
            "the current version: {line}"
        );
        let key = (name, line["aggregateId"].as_str().unwrap().to_string());
        let payload = without_nulls(line["payload"].clone());
        assert!(
            got.insert(key.clone(), payload).is_none(),
            "{key:?} handled twice"
        );
    }
    let mut want = BTreeMap::new();
    for build in 1..=3 {
        for event in values::events_of(build) {
            for i in 0..PER_EVENT {
                let (name, id, payload) = expected(build, event, i);
                want.insert((name.to_string(), id), payload);
            }
        }
    }
    assert_eq!(want.len() as u64, total);
    for (key, w) in &want {
        match got.get(key) {
            Some(g) => assert_eq!(g, w, "{key:?}: the value carried through the chain"),
            None => panic!("{key:?} was not handled"),
        }
    }
    assert_eq!(got.len(), want.len(), "nothing else was handled");

    // A replay of the renamed event alone, by its current name, takes the
    // events stored under its old name too.
    let mut db_type = db.to_vec();
    db_type.extend(["--type".to_string(), NOTE.to_string()]);
    let out = run(BUILDS[2], "replay", &db_type);
    let mut lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let summary = lines.pop().expect("a summary line");
    let notes = 3 * PER_EVENT;
    assert_eq!(
        summary,
        json!({"summary": {"queued": notes, "decoded": notes, "failed": 0, "deadLetters": 0}}),
        "`--type {NOTE}`: its events under both names"
    );
    let mut seen = 0;
    for line in &lines {
        let key = (
            line["handler"].as_str().unwrap().to_string(),
            line["aggregateId"].as_str().unwrap().to_string(),
        );
        assert_eq!(key.0, NOTE, "{line}");
        assert_eq!(
            Some(&without_nulls(line["payload"].clone())),
            want.get(&key),
            "{key:?}"
        );
        seen += 1;
    }
    assert_eq!(seen, notes, "every note once");
}

#[test]
fn a_replay_on_sqlite_decodes_every_stored_version_exactly() {
    let dir = std::env::temp_dir().join(leftovers::unique("skc_replay"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("events.db");
    let db = vec!["--db".to_string(), format!("sqlite:{}", path.display())];
    chain(&db, |rt| rt.block_on(Store::sqlite(&path)).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_replay_on_postgres_decodes_every_stored_version_exactly() {
    let rt = runtime();
    rt.block_on(leftovers::sweep_schemas(&pg_url()));
    let schema = leftovers::unique("skc_replay");
    let db = vec![
        "--db".to_string(),
        pg_url(),
        "--schema".to_string(),
        schema.clone(),
    ];
    let result = std::panic::catch_unwind(|| {
        chain(&db, |rt| {
            rt.block_on(Store::postgres(&pg_url(), Some(&schema)))
                .unwrap_or_else(|e| panic!("PostgreSQL at {} must answer: {e}", pg_url()))
        })
    });
    // The schema goes, whatever happened.
    rt.block_on(async {
        let pool = sqlx::PgPool::connect(&pg_url()).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
        )))
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    });
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// Build 3's catalog and lock, copied to a fresh folder, with `edit` applied
/// to the catalog; its diagnostics.
fn check_edited(edit: impl FnOnce(String) -> String) -> Vec<skillcore_events_codegen::Diagnostic> {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/replay/b3");
    let dir: PathBuf = std::env::temp_dir().join(leftovers::unique("skc_replay_check"));
    std::fs::create_dir_all(&dir).unwrap();
    let yaml = std::fs::read_to_string(from.join("replay.yaml")).unwrap();
    std::fs::write(dir.join("replay.yaml"), edit(yaml)).unwrap();
    std::fs::copy(from.join("replay.lock"), dir.join("replay.lock")).unwrap();
    let compiled = skillcore_events_codegen::load(&dir.join("replay.yaml"), &dir);
    assert!(compiled.lock.is_some(), "the lock is read");
    let found = compiled.diagnostics.clone();
    let _ = std::fs::remove_dir_all(&dir);
    found
}

#[test]
fn an_edit_that_would_strand_stored_events_does_not_compile() {
    // Build 3 as committed passes.
    let clean = check_edited(|y| y);
    assert!(clean.is_empty(), "{clean:?}");

    // Each edit changes a released version incompatibly without a bump: the
    // events stored as it could no longer be read.
    let edits: [(&str, &str, &str, &str); 3] = [
        // a type that is no widening (number -> int)
        (
            "      minutes: number\n      room:",
            "      minutes: int\n      room:",
            "minutes",
            "bump `version` to 4",
        ),
        // a required field with no default
        (
            "      comment: string?",
            "      comment: string",
            "comment",
            "bump `version` to 4",
        ),
        // a field renamed without `renamed_from`
        (
            "      title: string",
            "      heading: string",
            "heading",
            "bump `version` to 2",
        ),
    ];
    for (from, to, field, fix) in edits {
        let found = check_edited(|y| {
            assert!(y.contains(from), "{from:?} in build 3's catalog");
            y.replace(from, to)
        });
        let breaking: Vec<_> = found
            .iter()
            .filter(|d| d.rule == skillcore_events_codegen::Rule::BreakingChange)
            .collect();
        assert!(
            !breaking.is_empty(),
            "{to:?}: no breaking-change among {found:?}"
        );
        let text = breaking
            .iter()
            .map(|d| format!("{} {}", d.message, d.help.as_deref().unwrap_or("")))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(text.contains(&format!("`{field}`")), "{to:?}: {text}");
        assert!(text.contains(fix), "{to:?}: {text}");
        assert!(
            breaking.iter().all(|d| d
                .location
                .as_ref()
                .is_some_and(|l| l.file.ends_with("replay.yaml"))),
            "at the catalog's line: {breaking:?}"
        );
    }
}
