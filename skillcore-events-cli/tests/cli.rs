//! The `skillcore-events` binary as a user runs it: `--help`, `check` (human and
//! JSON output, colours, exit codes), `example` and `new`.

mod common;

use common::*;

#[test]
fn every_command_has_help() {
    let dir = root();
    let (code, out, _) = parts(&run(&dir, &["--help"]));
    assert_eq!(code, 0);
    for cmd in [
        "check", "lock", "diff", "schema", "asyncapi", "docs", "new", "example",
    ] {
        assert!(out.contains(cmd), "top-level help lists `{cmd}`:\n{out}");
        let (code, out, err) = parts(&run(&dir, &[cmd, "--help"]));
        assert_eq!(code, 0, "{cmd} --help: {err}");
        assert!(
            out.contains(&format!("Usage: skillcore-events {cmd}")),
            "{cmd} --help:\n{out}"
        );
    }
    // `help new` is the same as `new --help`.
    let (code, out, _) = parts(&run(&dir, &["help", "new"]));
    assert_eq!(code, 0);
    assert!(out.contains("--aggregate"), "{out}");
}

#[test]
fn usage_errors_exit_2() {
    let dir = root();
    for args in [
        &["check", "--format", "xml"][..],
        &["frobnicate"][..],
        &["schema", "catalog"][..],              // --out is required
        &["asyncapi", "catalog", "--check"][..], // --check needs --out
        &["new"][..],
    ] {
        let (code, _, err) = parts(&run(&dir, args));
        assert_eq!(code, 2, "{args:?} must be a usage error: {err}");
        assert!(err.contains("error:"), "{args:?}: {err}");
    }
}

#[test]
fn check_accepts_the_skillcore_catalog() {
    let (code, out, err) = parts(&run(&root(), &["check"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("ok: catalog `skillcore`: 56 events"),
        "{out}"
    );
    let (code, out, _) = parts(&run(&root(), &["check", "catalog", "--format", "json"]));
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "[]");
}

#[test]
fn check_reports_every_violation_with_source_caret_and_help() {
    let dir = scratch("check-human");
    std::fs::write(dir.join("bad.yaml"), BAD_CATALOG).unwrap();
    let (code, out, err) = parts(&run(&dir, &["check", "bad.yaml"]));
    assert_eq!(code, 1, "violations exit 1: {err}");
    assert!(out.is_empty(), "{out}");
    // The same text as the macro's, relative to the working directory.
    let expected = "bad.yaml:3:3: error[past-tense]: action `post` of event `gradebook.grade.post` is not in the past tense
  |
3 |   gradebook.grade.post:
  |   ^^^^^^^^^^^^^^^^^^^^
  = help: did you mean `gradebook.grade.posted`? (`posted`; if `post` is already past tense, add it to `naming.past_tense`)";
    assert!(err.starts_with(expected), "{err}");
    for rule in ["unknown-type", "unknown-key"] {
        assert!(err.contains(&format!("error[{rule}]")), "{rule}: {err}");
    }
    // The misspelt `paylod` is one error: no `missing-key` for the `payload`
    // it meant, no `aggregate-id` for the fields it holds (issue 14 §6).
    assert!(!err.contains("error[missing-key]"), "{err}");
    assert!(err.contains("help: did you mean `number`?"), "{err}");
    assert!(err.contains("help: did you mean `payload`?"), "{err}");
    assert!(
        err.trim_end().ends_with("error: the catalog has 3 errors"),
        "{err}"
    );
    assert!(
        !err.contains('\x1b'),
        "no colour when stderr is not a terminal"
    );
    // The macro's renderer gives the same text.
    let compiled = skillcore_events_codegen::compile_str("bad.yaml", BAD_CATALOG);
    assert_eq!(err.trim_end(), compiled.render_diagnostics());
}

#[test]
fn check_json_lists_rule_message_file_line_column_help() {
    let dir = scratch("check-json");
    std::fs::write(dir.join("bad.yaml"), BAD_CATALOG).unwrap();
    let (code, out, _) = parts(&run(&dir, &["check", "bad.yaml", "--format", "json"]));
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    let list = v.as_array().expect("an array");
    assert_eq!(list.len(), 3);
    let first = &list[0];
    assert_eq!(first["rule"], "past-tense");
    assert_eq!(first["file"], "bad.yaml");
    assert_eq!(first["line"], 3);
    assert_eq!(first["column"], 3);
    assert!(first["message"]
        .as_str()
        .unwrap()
        .contains("gradebook.grade.post"));
    assert!(first["help"]
        .as_str()
        .unwrap()
        .starts_with("did you mean `gradebook.grade.posted`?"));
    let typo = list.iter().find(|d| d["rule"] == "unknown-type").unwrap();
    assert_eq!(
        (typo["line"].as_u64(), typo["column"].as_u64()),
        (Some(9), Some(14))
    );
    // Keys in the documented order.
    let keys: Vec<&str> = out
        .lines()
        .skip(2)
        .take(6)
        .map(|l| l.trim().split('"').nth(1).unwrap())
        .collect();
    assert_eq!(keys, ["rule", "message", "file", "line", "column", "help"]);
}

#[test]
fn a_missing_catalog_is_an_io_error() {
    let dir = scratch("check-io");
    let (code, _, err) = parts(&run(&dir, &["check", "no-such-catalog"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("error[catalog-io]: cannot read catalog `no-such-catalog`"),
        "{err}"
    );
    let (code, out, _) = parts(&run(
        &dir,
        &["check", "no-such-catalog", "--format", "json"],
    ));
    assert_eq!(code, 2);
    assert!(out.contains("\"rule\": \"catalog-io\""), "{out}");
    let (code, _, err) = parts(&run(&dir, &["schema", "no-such-catalog", "--out", "x"]));
    assert_eq!(code, 2, "{err}");
}

#[test]
fn colours_only_on_a_terminal() {
    // `script` gives the program a pseudo-terminal.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("this test needs `script` (util-linux) to provide a terminal");
    }
    let dir = scratch("check-tty");
    std::fs::write(dir.join("bad.yaml"), BAD_CATALOG).unwrap();
    let cmd = format!("{} check bad.yaml", env!("CARGO_BIN_EXE_skillcore-events"));
    let o = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(&dir)
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("\x1b[1;31merror[past-tense]\x1b[0m"),
        "coloured on a terminal: {text:?}"
    );
    let o = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(&dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains('\x1b'),
        "NO_COLOR is honoured"
    );
}

#[test]
fn exports_refuse_a_broken_catalog() {
    let dir = scratch("broken-exports");
    std::fs::write(dir.join("bad.yaml"), BAD_CATALOG).unwrap();
    for args in [
        &["schema", "bad.yaml", "--out", "schemas"][..],
        &["asyncapi", "bad.yaml", "--out", "api.yaml"][..],
        &["docs", "bad.yaml", "--out", "site"][..],
        &["example", "gradebook.grade.deleted", "bad.yaml"][..],
    ] {
        let (code, _, err) = parts(&run(&dir, args));
        assert_eq!(code, 1, "{args:?}");
        assert!(err.contains("error[past-tense]"), "{args:?}: {err}");
    }
    assert!(!dir.join("schemas").exists());
    assert!(!dir.join("api.yaml").exists());
    assert!(!dir.join("site").exists());
}

#[test]
fn example_prints_the_catalog_example_or_a_generated_one() {
    let (code, out, err) = parts(&run(&root(), &["example", "gradebook.grade.posted"]));
    assert_eq!(code, 0, "{err}");
    let printed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let compiled = skillcore_events_codegen::load(&catalog(), &root());
    let e = compiled.catalog.event("gradebook.grade.posted").unwrap();
    assert_eq!(printed, e.examples[0], "the first catalog example");
    assert!(
        out.starts_with("{\n  \"resultId\""),
        "fields in catalog order: {out}"
    );

    let without = compiled
        .catalog
        .events
        .iter()
        .find(|e| e.examples.is_empty())
        .expect("some event has no example");
    let (code, out, _) = parts(&run(&root(), &["example", &without.name, "catalog"]));
    assert_eq!(code, 0);
    let printed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let obj = printed.as_object().unwrap();
    for f in &without.fields {
        assert!(
            obj.contains_key(&f.name),
            "generated example has `{}`",
            f.name
        );
    }

    let (code, _, err) = parts(&run(&root(), &["example", "gradebook.grade.postd"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("did you mean `gradebook.grade.posted`?"),
        "{err}"
    );
}

const SMALL: &str = "# Gradebook events, owned by the gradebook team.
catalog: school   # the catalog's name

naming:
  past_tense: [reopen_done]

events:
  gradebook.grade.posted:     # the first event
    description: Grade posted
    aggregate: Result
    aggregate_id: resultId
    payload:
      resultId: uuid

# trailing comment, kept as is
";

#[test]
fn new_appends_a_skeleton_that_checks() {
    let dir = scratch("new-ok");
    std::fs::write(dir.join("events.yaml"), SMALL).unwrap();
    let (code, out, err) = parts(&run(
        &dir,
        &[
            "new",
            "gradebook.grade.reopened",
            "--catalog",
            "events.yaml",
        ],
    ));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("added `gradebook.grade.reopened`"), "{out}");
    let text = std::fs::read_to_string(dir.join("events.yaml")).unwrap();
    assert!(
        text.starts_with(SMALL),
        "existing text kept byte for byte:\n{text}"
    );
    let line: usize = out
        .split("at line ")
        .nth(1)
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.parse().ok())
        .expect("the line is reported");
    assert_eq!(
        text.lines().nth(line - 1),
        Some("  gradebook.grade.reopened:")
    );
    assert!(
        text.contains("\n  gradebook.grade.reopened:\n    description: "),
        "{text}"
    );
    assert!(
        text.contains("    aggregate: Grade\n    aggregate_id: gradeId\n"),
        "{text}"
    );
    let (code, _, err) = parts(&run(&dir, &["check", "events.yaml"]));
    assert_eq!(code, 0, "the skeleton compiles: {err}\n{text}");

    // --aggregate, into a file that does not exist yet.
    let (code, _, err) = parts(&run(
        &dir,
        &[
            "new",
            "attendance.record.marked",
            "--catalog",
            "more/attendance.yaml",
            "--aggregate",
            "AttendanceRecord",
        ],
    ));
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(dir.join("more/attendance.yaml")).unwrap();
    assert!(
        text.starts_with("events:\n  attendance.record.marked:\n"),
        "{text}"
    );
    assert!(text.contains("aggregate_id: attendanceRecordId"), "{text}");
    let compiled = skillcore_events_codegen::compile_str("a.yaml", &text);
    assert!(compiled.is_ok(), "{}", compiled.render_diagnostics());
}

#[test]
fn new_refuses_a_bad_name_with_the_checks_help() {
    let dir = scratch("new-bad");
    std::fs::write(dir.join("events.yaml"), SMALL).unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["new", "gradebook.grade.post", "--catalog", "events.yaml"],
            "error[past-tense]: action `post` of event `gradebook.grade.post` is not in the past tense",
        ),
        (
            &["new", "gradebook.gradePosted", "--catalog", "events.yaml"],
            "error[name-format]",
        ),
        (
            &["new", "gradebook.grade.posted", "--catalog", "events.yaml"],
            "error[duplicate-event]: event `gradebook.grade.posted` is declared twice",
        ),
        (
            &["new", "gradebook.grade.reopened", "--catalog", "events.yaml", "--aggregate", "grade"],
            "error[type-name]: aggregate `grade` is not PascalCase",
        ),
    ];
    for (args, expected) in cases {
        let (code, _, err) = parts(&run(&dir, args));
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(err.contains("was not added; nothing was written"), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.join("events.yaml")).unwrap(),
            SMALL,
            "{args:?} left the file alone"
        );
    }
    // The help is the one `check` gives for the same mistake.
    let (_, _, err) = parts(&run(&dir, cases[0].0));
    let check = skillcore_events_codegen::compile_str(
        "x.yaml",
        "events:\n  gradebook.grade.post:\n    description: d\n    aggregate: Grade\n    aggregate_id: gradeId\n    payload:\n      gradeId: uuid\n",
    );
    let help = check.diagnostics[0].help.as_deref().unwrap();
    assert!(err.contains(&format!("help: {help}")), "{err}");
}

#[test]
fn new_uses_the_directory_catalog() {
    // The file belongs to a directory catalog: names in other files count.
    let dir = scratch("new-dir");
    std::fs::create_dir_all(dir.join("catalog")).unwrap();
    std::fs::write(dir.join("catalog/gradebook.yaml"), SMALL).unwrap();
    std::fs::write(
        dir.join("catalog/legacy.yaml"),
        "naming:\n  exempt: [student.enrolled]\nevents: {}\n",
    )
    .unwrap();
    let (code, _, err) = parts(&run(
        &dir,
        &[
            "new",
            "student.enrolled",
            "--catalog",
            "catalog/gradebook.yaml",
        ],
    ));
    assert_eq!(code, 0, "exempt in another file of the catalog: {err}");
    let (code, _, err) = parts(&run(&dir, &["check"]));
    assert_eq!(code, 0, "{err}");
}
