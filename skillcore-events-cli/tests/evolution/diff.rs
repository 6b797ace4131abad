//! `diff`: every change in three formats, exit codes, against a lock file, struct type changes, escaping, and pii kept out of every output.

use super::*;

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
