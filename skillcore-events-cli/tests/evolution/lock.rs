//! `lock`: written once and left alone, breaking changes refused until the version is raised, renames, `--check`, I/O errors, a corrupt lock.

use super::*;

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
