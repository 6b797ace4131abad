//! `lock` and `diff` as a user runs them: the lock file written once and left
//! alone, breaking changes refused until the version is raised, `lock --check`
//! for CI, `diff` in its three formats with its exit codes, a corrupt lock, and
//! pii kept out of every output.
//!
//! Over 600 lines on purpose: every test here works on the one fixture
//! catalog [`V1`] and its exact lock, and the brief's single test binary
//! (`--test evolution`) keeps `lock` and `diff` checked together.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Version 1 of a small catalog: `posted` has a pii field with an example
/// value that must never be printed, `removed` uses a strict mode.
const V1: &str = "catalog: demo
types:
  Level:
    description: How far along.
    enum: [low, high]
events:
  gradebook.grade.posted:
    description: Grade posted.
    aggregate: Grade
    aggregate_id: gradeId
    payload:
      gradeId: uuid
      score: number
      level: Level
      email:
        type: string?
        pii: true
    examples:
      - gradeId: '00000000-0000-4000-8000-000000000001'
        score: 1.5
        level: low
        email: jane.secret@example.org
  gradebook.grade.removed:
    description: Grade removed.
    compatibility: full
    aggregate: Grade
    aggregate_id: gradeId
    payload:
      gradeId: uuid
      reason: string
";

/// The pii example value of [`V1`].
const SECRET: &str = "jane.secret";

/// The exact lock of [`V1`].
const V1_LOCK: &str = "# Released versions of the events of catalog `demo`. Written by
# `skillcore-events lock`: commit it and review its changes; do not edit it.
lock: 1
catalog: demo
events:
  gradebook.grade.posted:
    - version: 1
      aggregate: Grade
      aggregate_id: gradeId
      fields:
        gradeId: uuid
        score: number
        level: Level
        email:
          type: string?
          pii: true
      types:
        Level:
          enum: [low, high]
  gradebook.grade.removed:
    - version: 1
      aggregate: Grade
      aggregate_id: gradeId
      fields:
        gradeId: uuid
        reason: string
";

/// `text` with `from` replaced by `to`, which must be there.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "`{from}` is in the catalog");
    text.replacen(from, to, 1)
}

/// A scratch directory holding `catalog/events.yaml` with `text`.
fn project(name: &str, text: &str) -> PathBuf {
    let dir = scratch(name);
    std::fs::create_dir_all(dir.join("catalog")).unwrap();
    write_catalog(&dir, text);
    dir
}

fn write_catalog(dir: &Path, text: &str) {
    std::fs::write(dir.join("catalog/events.yaml"), text).unwrap();
}

/// The 1-based line of the first line of `text` that equals `line`.
fn line_of(text: &str, line: &str) -> usize {
    text.lines().position(|l| l == line).expect("line is there") + 1
}

fn mtime(p: &Path) -> std::time::SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The CLI run from `cwd` as an unprivileged user (uid/gid 65534, through
/// `setpriv`) when the tests run as root, for whom file modes mean nothing.
fn unprivileged(cwd: &Path) -> std::process::Command {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        return cli(cwd);
    }
    let mut c = std::process::Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_skillcore-events"))
        .current_dir(cwd);
    c
}

/// `V1` with a required field added to `posted` at the same version.
fn v1_breaking() -> String {
    edit(
        V1,
        "      score: number\n",
        "      score: number\n      scale: number\n",
    )
    .replace(
        "        score: 1.5\n",
        "        score: 1.5\n        scale: 2\n",
    )
}

#[test]
fn lock_writes_a_deterministic_file_once() {
    let dir = project("lock-once", V1);
    let (code, out, err) = parts(&run(&dir, &["lock"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "wrote catalog.lock: 2 events (a new lock)\n");
    let lock = dir.join("catalog.lock");
    let first = std::fs::read(&lock).unwrap();
    assert_eq!(String::from_utf8_lossy(&first), V1_LOCK);
    let before = mtime(&lock);
    std::thread::sleep(std::time::Duration::from_millis(20));

    let (code, out, err) = parts(&run(&dir, &["lock"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "catalog.lock is up to date\n");
    assert_eq!(std::fs::read(&lock).unwrap(), first, "same bytes");
    assert_eq!(mtime(&lock), before, "an unchanged lock is not touched");

    // Another directory, the same catalog as one file: the same bytes.
    let other = scratch("lock-once-file");
    std::fs::write(other.join("events.yaml"), V1).unwrap();
    let (code, out, err) = parts(&run(&other, &["lock", "events.yaml"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "wrote events.lock: 2 events (a new lock)\n");
    assert_eq!(std::fs::read(other.join("events.lock")).unwrap(), first);
    // And `check` accepts the catalog with its lock.
    let (code, _, err) = parts(&run(&dir, &["check"]));
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_breaking_change_is_reported_by_check_and_never_locked() {
    let dir = project("lock-breaking", V1);
    assert_eq!(parts(&run(&dir, &["lock"])).0, 0);
    let lock = dir.join("catalog.lock");
    let locked = std::fs::read(&lock).unwrap();
    let changed = v1_breaking();
    write_catalog(&dir, &changed);
    let line = line_of(&changed, "      scale: number");

    let (code, _, err) = parts(&run(&dir, &["check"]));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "catalog/events.yaml:{line}:7: error[breaking-change]: breaking change to released version 1 of `gradebook.grade.posted` under compatibility `backward`: field `scale` is added (required) [field-added-required]"
        )),
        "{err}"
    );
    assert!(
        err.contains(
            "= help: make `scale` optional or give it a `default`, or bump `version` to 2"
        ),
        "{err}"
    );
    assert!(err.contains("released here: catalog.lock:7:7"), "{err}");
    let (code, out, _) = parts(&run(&dir, &["check", "--format", "json"]));
    assert_eq!(code, 1);
    let found: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(found[0]["rule"], "breaking-change");
    assert_eq!(found[0]["line"], line);

    for args in [&["lock"][..], &["lock", "--check"][..]] {
        let (code, out, err) = parts(&run(&dir, args));
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(out.is_empty(), "{out}");
        assert!(err.contains("error[breaking-change]"), "{err}");
        assert!(err.contains("catalog.lock is not written"), "{err}");
        assert_eq!(
            std::fs::read(&lock).unwrap(),
            locked,
            "{args:?} leaves the lock alone"
        );
    }
}

#[test]
fn a_new_version_passes_and_is_appended_to_the_lock() {
    let dir = project("lock-bump", V1);
    assert_eq!(parts(&run(&dir, &["lock"])).0, 0);
    let lock = dir.join("catalog.lock");
    // A required field without a default cannot be upcast by generated code:
    // version 2 names a hand-written upcaster (rule `missing-upcaster`).
    let bumped = edit(
        &v1_breaking(),
        "    description: Grade posted.\n",
        "    description: Grade posted.\n    version: 2\n    upcast: { 1: crate::upcast::grade_posted_v1 }\n",
    );
    write_catalog(&dir, &bumped);
    let (code, _, err) = parts(&run(&dir, &["check"]));
    assert_eq!(code, 0, "{err}");

    let before = std::fs::read(&lock).unwrap();
    let (code, out, err) = parts(&run(&dir, &["lock", "--check"]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("would change: gradebook.grade.posted: new version 2\n"),
        "{err}"
    );
    assert!(err.contains("error: catalog.lock is out of date"), "{err}");
    assert_eq!(
        std::fs::read(&lock).unwrap(),
        before,
        "--check writes nothing"
    );

    let (code, out, err) = parts(&run(&dir, &["lock"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "wrote catalog.lock: 2 events, 1 new version\n");
    let text = std::fs::read_to_string(&lock).unwrap();
    assert!(
        text.starts_with(V1_LOCK.split("  gradebook.grade.removed:").next().unwrap()),
        "v1 stays as it was:\n{text}"
    );
    let v2 = "    - version: 2
      aggregate: Grade
      aggregate_id: gradeId
      fields:
        gradeId: uuid
        score: number
        scale: number
        level: Level
";
    assert!(text.contains(v2), "{text}");
    assert_eq!(text.matches("- version: ").count(), 3, "{text}");

    let (code, out, err) = parts(&run(&dir, &["lock", "--check"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "catalog.lock is up to date\n");
}

#[test]
fn a_renamed_event_keeps_its_history_in_the_lock() {
    let dir = project("lock-rename", V1);
    assert_eq!(parts(&run(&dir, &["lock"])).0, 0);
    write_catalog(
        &dir,
        &edit(
            V1,
            "  gradebook.grade.posted:\n",
            "  gradebook.grade.recorded:\n    renamed_from: gradebook.grade.posted\n",
        ),
    );
    let (code, _, err) = parts(&run(&dir, &["lock", "--check"]));
    assert_eq!(code, 1);
    assert!(
        err.starts_with(
            "would change: gradebook.grade.recorded: renamed from gradebook.grade.posted\nerror:"
        ),
        "{err}"
    );
    let (code, out, err) = parts(&run(&dir, &["lock"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "wrote catalog.lock: 2 events, 1 renamed event\n");
    let text = std::fs::read_to_string(dir.join("catalog.lock")).unwrap();
    assert!(
        text.contains(
            "  gradebook.grade.recorded:\n    - version: 1\n      name: gradebook.grade.posted\n"
        ),
        "the released entry keeps its name:\n{text}"
    );
    assert!(!text.contains("\n  gradebook.grade.posted:"), "{text}");
    let (code, out, _) = parts(&run(&dir, &["diff", "catalog.lock", "catalog"]));
    assert_eq!((code, out.as_str()), (0, "no changes\n"));
}

#[test]
fn lock_check_and_io_errors() {
    // No lock yet: --check fails and creates nothing.
    let dir = project("lock-check", V1);
    let (code, _, err) = parts(&run(&dir, &["lock", "--check"]));
    assert_eq!(code, 1);
    assert!(err.contains("catalog.lock is missing"), "{err}");
    assert!(!dir.join("catalog.lock").exists());

    // A compatible change within version 1 adds an entry of the same version.
    assert_eq!(parts(&run(&dir, &["lock"])).0, 0);
    write_catalog(
        &dir,
        &edit(V1, "enum: [low, high]", "enum: [low, high, top]"),
    );
    let (code, _, err) = parts(&run(&dir, &["lock", "--check"]));
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "would change: gradebook.grade.posted: a compatible change to version 1 (a new entry)"
        ),
        "{err}"
    );
    let (code, out, err) = parts(&run(&dir, &["lock"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "wrote catalog.lock: 2 events, 1 compatible change\n");

    // The lock path is a directory: an I/O error, exit 2.
    let dir = project("lock-io", V1);
    std::fs::create_dir(dir.join("catalog.lock")).unwrap();
    for args in [&["lock"][..], &["lock", "--check"][..]] {
        let (code, _, err) = parts(&run(&dir, args));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            err.starts_with("error: cannot read lock file `catalog.lock`: "),
            "{err}"
        );
    }
    // A directory the lock cannot be written to: exit 2, nothing left behind.
    let dir = project("lock-ro", V1);
    chmod(&dir, 0o555);
    let (code, out, err) = parts(&unprivileged(&dir).args(["lock"]).output().unwrap());
    chmod(&dir, 0o755);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.starts_with("error: cannot write lock file `catalog.lock`: Permission denied"),
        "{err}"
    );
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, ["catalog"], "no lock and no temporary file");
    // A missing catalog: exit 2.
    let (code, _, err) = parts(&run(&scratch("lock-none"), &["lock", "nope"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot read catalog `nope`"), "{err}");
}

#[test]
fn a_corrupt_lock_is_a_lock_file_error_at_its_line() {
    let dir = project("lock-corrupt", V1);
    let lock = dir.join("catalog.lock");
    std::fs::write(&lock, "lock: 1\ncatalog: [x").unwrap();
    for args in [&["check"][..], &["lock"][..], &["lock", "--check"][..]] {
        let (code, _, err) = parts(&run(&dir, args));
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(
            err.contains("catalog.lock:2:"),
            "{args:?} names the line: {err}"
        );
        assert!(err.contains("error[lock-file]"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        if args[0] == "lock" {
            assert!(
                err.contains("catalog.lock cannot be read, so it is not replaced"),
                "{err}"
            );
        }
    }
    assert_eq!(std::fs::read(&lock).unwrap(), b"lock: 1\ncatalog: [x");
    let (code, _, err) = parts(&run(&dir, &["diff", "catalog.lock", "catalog"]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("catalog.lock:2:") && err.contains("error[lock-file]"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// `V1` changed: on `posted`, `score` removed, `note` added (optional), a
/// value added to `Level`; `removed` (mode `full`) loses its required
/// `reason`, which is breaking there.
fn v2_mixed() -> String {
    let t = edit(V1, "      score: number\n", "      note: string?\n");
    let t = edit(&t, "        score: 1.5\n", "");
    let t = edit(&t, "enum: [low, high]", "enum: [low, high, top]");
    edit(&t, "      reason: string\n", "")
}

/// Runs `diff --format json` and returns the array.
fn diff_json(dir: &Path, old: &str, new: &str) -> (i32, Vec<Value>) {
    let (code, out, err) = parts(&run(dir, &["diff", old, new, "--format", "json"]));
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    (code, v.as_array().unwrap().clone())
}

#[test]
fn diff_lists_every_change_in_three_formats() {
    let dir = scratch("diff-formats");
    let new = v2_mixed();
    std::fs::write(dir.join("old.yaml"), V1).unwrap();
    std::fs::write(dir.join("new.yaml"), &new).unwrap();

    let (code, list) = diff_json(&dir, "old.yaml", "new.yaml");
    assert_eq!(code, 1, "a breaking change exits 1");
    let keys = [
        "rule", "event", "field", "breaking", "mode", "message", "file", "line", "column",
    ];
    let mut sorted = keys;
    sorted.sort_unstable();
    for item in &list {
        let got: Vec<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(got, sorted, "exactly these keys: {item}");
    }
    // In this order in the text.
    let (_, out, _) = parts(&run(
        &dir,
        &["diff", "old.yaml", "new.yaml", "--format", "json"],
    ));
    let first = &out[..out.find('}').unwrap()];
    let at: Vec<usize> = keys
        .iter()
        .map(|k| first.find(&format!("\"{k}\":")).unwrap())
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{first}");
    let short: Vec<(&str, &str, &str, bool, &str)> = list
        .iter()
        .map(|c| {
            (
                c["rule"].as_str().unwrap(),
                c["event"].as_str().unwrap(),
                c["field"].as_str().unwrap(),
                c["breaking"].as_bool().unwrap(),
                c["mode"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        short,
        [
            (
                "field-added-optional",
                "gradebook.grade.posted",
                "note",
                false,
                "backward"
            ),
            (
                "enum-value-added",
                "gradebook.grade.posted",
                "level",
                false,
                "backward"
            ),
            (
                "field-removed",
                "gradebook.grade.posted",
                "score",
                false,
                "backward"
            ),
            (
                "field-removed",
                "gradebook.grade.removed",
                "reason",
                true,
                "full"
            ),
        ]
    );
    assert_eq!(list[0]["message"], "field `note` is added (optional)");
    assert_eq!(
        list[3]["message"],
        "field `reason` is removed (it was required)"
    );
    assert_eq!(list[0]["file"], "new.yaml");
    assert_eq!(list[0]["line"], line_of(&new, "      note: string?"));
    assert_eq!(list[0]["column"], 7);

    let (code, out, err) = parts(&run(&dir, &["diff", "old.yaml", "new.yaml"]));
    assert_eq!(code, 1, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    let note = line_of(&new, "      note: string?");
    assert_eq!(
        lines[0],
        format!("ok       gradebook.grade.posted: field `note` is added (optional) [field-added-optional, backward, v1] at new.yaml:{note}:7")
    );
    assert!(lines[3].starts_with("breaking gradebook.grade.removed: field `reason` is removed (it was required) [field-removed, full, v1] at new.yaml:"), "{out}");
    assert_eq!(lines[4], "4 changes to 2 events, 1 breaking");

    let (code, out, err) = parts(&run(
        &dir,
        &["diff", "old.yaml", "new.yaml", "--format", "markdown"],
    ));
    assert_eq!(code, 1, "{err}");
    let md: Vec<&str> = out.lines().collect();
    assert_eq!(
        md[0],
        "**Event catalog changes** (`old.yaml` → `new.yaml`): 4 changes to 2 events, 1 breaking"
    );
    assert_eq!(
        md[2],
        "| Breaking | Rule | Event | Field | Change | Where |"
    );
    assert_eq!(md[3], "|---|---|---|---|---|---|");
    assert_eq!(md.len(), 8, "{out}");
    assert!(md[7].starts_with("| **yes** | `field-removed` | `gradebook.grade.removed` | `reason` | field `reason` is removed (it was required) (full, v1) | `new.yaml:"), "{out}");
    assert!(
        md[4].starts_with("| no | `field-added-optional` |"),
        "{out}"
    );

    // Without the breaking part (and `removed` bumped), exit 0.
    let bumped = edit(
        &new,
        "    compatibility: full\n",
        "    compatibility: full\n    version: 2\n",
    );
    std::fs::write(dir.join("new.yaml"), &bumped).unwrap();
    let (code, list) = diff_json(&dir, "old.yaml", "new.yaml");
    assert_eq!(code, 0);
    assert_eq!(list.len(), 4);
    assert!(list.iter().all(|c| c["breaking"] == false), "{list:?}");
    let (code, out, _) = parts(&run(&dir, &["diff", "old.yaml", "new.yaml"]));
    assert_eq!(code, 0);
    assert!(out.contains("[field-removed, full, v1 -> v2]"), "{out}");
    assert!(
        out.ends_with("4 changes to 2 events, none breaking\n"),
        "{out}"
    );
}

#[test]
fn diff_of_unchanged_catalogs_and_its_usage_errors() {
    let dir = scratch("diff-same");
    std::fs::write(dir.join("a.yaml"), V1).unwrap();
    let (code, out, err) = parts(&run(&dir, &["diff", "a.yaml", "a.yaml"]));
    assert_eq!((code, out.as_str()), (0, "no changes\n"), "{err}");
    let (code, out, _) = parts(&run(
        &dir,
        &["diff", "a.yaml", "a.yaml", "--format", "json"],
    ));
    assert_eq!((code, out.trim()), (0, "[]"));
    let (code, out, _) = parts(&run(
        &dir,
        &["diff", "a.yaml", "a.yaml", "--format", "markdown"],
    ));
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "**Event catalog changes** (`a.yaml` → `a.yaml`): no changes\n"
    );

    // A new event is no change to a released one; the summary names it.
    let more = format!("{V1}  gradebook.grade.reopened:\n    description: Reopened.\n    aggregate: Grade\n    aggregate_id: gradeId\n    payload:\n      gradeId: uuid\n");
    std::fs::write(dir.join("b.yaml"), more).unwrap();
    let (code, out, _) = parts(&run(&dir, &["diff", "a.yaml", "b.yaml"]));
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "no changes to released events; 1 new event: gradebook.grade.reopened\n"
    );

    // Missing paths, a broken side, bad usage: exit 2.
    std::fs::write(dir.join("bad.yaml"), BAD_CATALOG).unwrap();
    for (args, says) in [
        (
            &["diff", "nope.yaml", "a.yaml"][..],
            "cannot read catalog `nope.yaml`",
        ),
        (
            &["diff", "a.yaml", "nope"][..],
            "cannot read catalog `nope`",
        ),
        (
            &["diff", "nope.lock", "a.yaml"][..],
            "cannot read lock file `nope.lock`",
        ),
        (
            &["diff", "bad.yaml", "a.yaml"][..],
            "the OLD catalog `bad.yaml` has errors",
        ),
        (
            &["diff", "a.yaml", "bad.yaml"][..],
            "the NEW catalog `bad.yaml` has errors",
        ),
        (&["diff", "a.yaml"][..], "error:"),
        (
            &["diff", "a.yaml", "a.yaml", "--format", "xml"][..],
            "error:",
        ),
    ] {
        let (code, out, err) = parts(&run(&dir, args));
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn diff_against_a_lock_file() {
    let dir = project("diff-lock", V1);
    assert_eq!(parts(&run(&dir, &["lock"])).0, 0);
    std::fs::write(dir.join("v1.yaml"), V1).unwrap();
    write_catalog(&dir, &v2_mixed());
    // `catalog` has a lock beside it that it breaks: diff reads it without.
    let (code, from_lock) = diff_json(&dir, "catalog.lock", "catalog");
    assert_eq!(code, 1);
    let (_, from_catalog) = diff_json(&dir, "v1.yaml", "catalog");
    assert_eq!(from_lock, from_catalog);
    assert_eq!(from_lock.len(), 4);
    assert_eq!(from_lock[0]["file"], "catalog/events.yaml");

    // A removed event has no place in NEW.
    let gone = V1
        .split("  gradebook.grade.removed:")
        .next()
        .unwrap()
        .to_string();
    write_catalog(&dir, &gone);
    let (code, list) = diff_json(&dir, "catalog.lock", "catalog");
    assert_eq!(
        code, 1,
        "removing a released event that was never deprecated breaks"
    );
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["rule"], "event-removed");
    assert_eq!(list[0]["breaking"], true);
    for k in ["field", "file", "line", "column"] {
        assert_eq!(list[0][k], Value::Null, "{k}");
    }
    let (_, out, _) = parts(&run(&dir, &["diff", "catalog.lock", "catalog"]));
    assert_eq!(out, "breaking gradebook.grade.removed: event `gradebook.grade.removed` is removed [event-removed, backward, v1]\n1 change to 1 event, 1 breaking\n");
}

#[test]
fn a_struct_type_change_names_its_inner_rule() {
    let dir = scratch("diff-struct");
    let with_struct = edit(
        V1,
        "types:\n",
        "types:\n  Who:\n    description: Who acted.\n    fields:\n      id: string\n      nick: string?\n",
    );
    let with_struct = edit(
        &with_struct,
        "      level: Level\n",
        "      level: Level\n      who: Who?\n",
    );
    std::fs::write(dir.join("old.yaml"), &with_struct).unwrap();
    std::fs::write(
        dir.join("new.yaml"),
        edit(&with_struct, "      nick: string?\n", ""),
    )
    .unwrap();
    let (code, list) = diff_json(&dir, "old.yaml", "new.yaml");
    assert_eq!(code, 0);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["rule"], "struct-type-changed");
    assert_eq!(list[0]["field"], "who.nick");
    assert_eq!(
        list[0]["message"],
        "in type `Who`: field `who.nick` is removed"
    );
    let (_, out, _) = parts(&run(&dir, &["diff", "old.yaml", "new.yaml"]));
    assert!(
        out.contains("[struct-type-changed (field-removed), backward, v1]"),
        "{out}"
    );
    let (_, out, _) = parts(&run(
        &dir,
        &["diff", "old.yaml", "new.yaml", "--format", "markdown"],
    ));
    assert!(
        out.contains("| `struct-type-changed (field-removed)` |"),
        "{out}"
    );
}

#[test]
fn markdown_cells_escape_pipes() {
    let dir = scratch("diff-pipe");
    std::fs::write(dir.join("old.yaml"), V1).unwrap();
    std::fs::write(
        dir.join("new.yaml"),
        edit(V1, "enum: [low, high]", "enum: [low, high, \"a|b\"]"),
    )
    .unwrap();
    let (code, out, err) = parts(&run(
        &dir,
        &["diff", "old.yaml", "new.yaml", "--format", "markdown"],
    ));
    assert_eq!(code, 0, "{err}");
    let row = out.lines().last().unwrap();
    assert!(row.contains("gains value `a\\|b`"), "{out}");
    // Every row has its six cells: no unescaped pipe inside one.
    let unescaped = row.replace("\\|", "").matches('|').count();
    assert_eq!(unescaped, 7, "{row}");
}

#[test]
fn pii_never_reaches_lock_or_diff_output() {
    let dir = project("pii", V1);
    let mut seen = String::new();
    let keep = |seen: &mut String, o: std::process::Output| {
        let (_, out, err) = parts(&o);
        seen.push_str(&out);
        seen.push_str(&err);
    };
    keep(&mut seen, run(&dir, &["lock"]));
    let lock = std::fs::read_to_string(dir.join("catalog.lock")).unwrap();
    assert!(lock.contains("pii: true"), "the lock marks the field");
    seen.push_str(&lock);
    // Changes that touch the pii field: made required (with its example kept).
    let changed = edit(
        V1,
        "        type: string?\n        pii: true\n",
        "        type: string\n        pii: true\n        default: nobody\n",
    );
    std::fs::write(dir.join("new.yaml"), &changed).unwrap();
    std::fs::write(dir.join("v1.yaml"), V1).unwrap();
    for format in ["human", "json", "markdown"] {
        keep(
            &mut seen,
            run(
                &dir,
                &["diff", "catalog.lock", "new.yaml", "--format", format],
            ),
        );
        keep(
            &mut seen,
            run(&dir, &["diff", "v1.yaml", "new.yaml", "--format", format]),
        );
    }
    write_catalog(&dir, &changed);
    keep(&mut seen, run(&dir, &["lock"]));
    keep(&mut seen, run(&dir, &["lock", "--check"]));
    seen.push_str(&std::fs::read_to_string(dir.join("catalog.lock")).unwrap());
    assert!(
        seen.contains("field-made-required"),
        "the change was seen:\n{seen}"
    );
    assert!(
        !seen.contains(SECRET),
        "pii example text in output:\n{seen}"
    );
}

#[test]
fn a_pii_fields_default_is_not_shown_by_diff() {
    let dir = scratch("pii-default");
    let with_default = edit(
        V1,
        "        type: string?\n        pii: true\n",
        "        type: string\n        pii: true\n        default: first.default\n",
    );
    std::fs::write(dir.join("old.yaml"), &with_default).unwrap();
    std::fs::write(
        dir.join("new.yaml"),
        edit(&with_default, "first.default", "second.default"),
    )
    .unwrap();
    for format in ["human", "json", "markdown"] {
        let (code, out, err) = parts(&run(
            &dir,
            &["diff", "old.yaml", "new.yaml", "--format", format],
        ));
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("field-default-changed"), "{out}");
        assert!(
            out.contains("the default of `email` changed (values of pii fields are not shown)"),
            "{out}"
        );
        assert!(
            !out.contains("first.default") && !out.contains("second.default"),
            "{out}"
        );
    }
}
