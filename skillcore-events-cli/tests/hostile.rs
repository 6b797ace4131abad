//! The binary against hostile or unlucky input: lines past column 65,535,
//! FIFOs and devices, symlink loops, terminal escape sequences in the catalog,
//! and writes that fail halfway.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `cmd`, killing it (and failing the test) if it takes longer than 30 s.
fn run_bounded(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("waits").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the command did not finish in 30 s (blocked?)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The binary run through bash with `limits` (`ulimit` commands) applied.
/// `trap '' XFSZ` makes a write past `ulimit -f` fail with EFBIG, as a full
/// disk does, instead of killing the process.
fn limited(cwd: &Path, limits: &str, args: &[&str]) -> Output {
    let mut c = Command::new("bash");
    c.current_dir(cwd)
        .env_remove("NO_COLOR")
        .arg("-c")
        .arg(format!("{limits}; trap '' XFSZ; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_skillcore-events"))
        .args(args);
    run_bounded(c)
}

fn copy_catalog(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(catalog()).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

fn has_raw_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control() && c != '\n' && c != '\t')
}

#[test]
fn an_error_past_column_65535_is_reported_not_a_panic() {
    let dir = scratch("col65535");
    let text = format!("{{events: {{}},{}bogus: 1}}\n", " ".repeat(70_000));
    std::fs::write(dir.join("c.yaml"), text).unwrap();
    let (code, out, err) = parts(&run_bounded({
        let mut c = cli(&dir);
        c.args(["check", "c.yaml"]);
        c
    }));
    assert_eq!(code, 1, "a finding, not a panic: {err}");
    assert!(out.is_empty());
    assert!(
        err.starts_with("c.yaml:1:70013: error[unknown-key]: unknown key `bogus` in the catalog\n"),
        "{err}"
    );
    assert!(err.contains("\n1 | …"), "the snippet is cut: {err}");
    assert!(err.len() < 1_000, "{} bytes", err.len());
    // JSON has the real column.
    let (code, out, _) = parts(&run(&dir, &["check", "c.yaml", "--format", "json"]));
    assert_eq!(code, 1);
    assert!(out.contains("\"column\": 70013"), "{out}");
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = scratch("fifo");
    let ok = Command::new("mkfifo")
        .arg(dir.join("fifo.yaml"))
        .status()
        .unwrap();
    assert!(ok.success());
    let (code, _, err) = parts(&run_bounded({
        let mut c = cli(&dir);
        c.args(["check", "fifo.yaml"]);
        c
    }));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.starts_with("error[catalog-io]: `fifo.yaml` is not a regular file"),
        "{err}"
    );
    // `new` reads its file the same way (it blocked on the FIFO before).
    let (code, _, err) = parts(&run_bounded({
        let mut c = cli(&dir);
        c.args(["new", "a.b.posted", "--catalog", "fifo.yaml"]);
        c
    }));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.starts_with("error[catalog-io]: `fifo.yaml` is not a regular file"),
        "{err}"
    );
}

#[test]
fn dev_zero_is_refused_before_memory_runs_out() {
    let dir = scratch("devzero");
    // Today's code read /dev/zero until the allocation failed: cap the
    // address space so that shows as a failure, not a stuck machine.
    let (code, _, err) = parts(&limited(&dir, "ulimit -v 2000000", &["check", "/dev/zero"]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.starts_with("error[catalog-io]: `/dev/zero` is not a regular file"),
        "{err}"
    );
}

#[test]
fn a_symlink_loop_in_a_catalog_directory_is_an_error_not_skipped() {
    let dir = scratch("symloop");
    let cat = dir.join("cat");
    copy_catalog(&cat);
    std::os::unix::fs::symlink("loop.yaml", cat.join("loop.yaml")).unwrap();
    let (code, out, err) = parts(&run(&dir, &["check", "cat"]));
    assert_eq!(code, 2, "a broken checkout must not check ok: {out}{err}");
    assert!(
        err.starts_with("error[catalog-io]: cannot read `cat/loop.yaml`: "),
        "{err}"
    );
    assert!(err.contains("is a symbolic link to `loop.yaml`"), "{err}");
}

#[test]
fn a_missing_path_speaks_of_the_working_directory() {
    let dir = scratch("missing");
    let (code, _, err) = parts(&run(&dir, &["check", "nope.yaml"]));
    assert_eq!(code, 2);
    assert!(!err.contains("manifest"), "{err}");
    assert!(
        err.contains(&format!(
            "help: paths are relative to the working directory `{}`",
            dir.display()
        )),
        "{err}"
    );
}

#[test]
fn terminal_escapes_from_the_catalog_are_printed_escaped() {
    let dir = scratch("esc");
    let ok = "catalog: \"x\\e]0;PWNED\\a\\e[2J\"\nevents:\n  a.b.posted:\n    description: d\n    aggregate: B\n    aggregate_id: id\n    payload:\n      id: string\n";
    std::fs::write(dir.join("ok.yaml"), ok).unwrap();
    let (code, out, err) = parts(&run(&dir, &["check", "ok.yaml"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "ok: catalog `x\\u{1b}]0;PWNED\\u{7}\\u{1b}[2J`: 1 events in 1 contexts, 0 types, 1 files\n"
    );
    // In diagnostics: an unknown key holding ESC, quoted by the message and
    // shown in the snippet; and an unknown event for `example`.
    let bad = format!("{ok}    \"k\\e[2J\\u009b\": 1\n");
    std::fs::write(dir.join("bad.yaml"), bad).unwrap();
    let (code, _, err) = parts(&run(&dir, &["check", "bad.yaml"]));
    assert_eq!(code, 1);
    assert!(!has_raw_control(&err), "{err:?}");
    assert!(err.contains("`k\\u{1b}[2J\\u{9b}`"), "{err}");
    let (code, _, err) = parts(&run(&dir, &["example", "a.b.\u{1b}[2J", "ok.yaml"]));
    assert_eq!(code, 2);
    assert!(!has_raw_control(&err), "{err:?}");
    assert!(err.contains("no event `a.b.\\u{1b}[2J`"), "{err}");
    let (code, _, err) = parts(&run(
        &dir,
        &["new", "a.b.\u{1b}[2J", "--catalog", "ok.yaml"],
    ));
    assert_eq!(code, 1);
    assert!(!has_raw_control(&err), "{err:?}");
}

/// Every file under `dir`, with its bytes.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_failed_docs_write_leaves_no_truncated_page() {
    let dir = scratch("atomic-docs");
    let cat = dir.join("cat");
    copy_catalog(&cat);
    let (code, _, err) = parts(&run(&dir, &["docs", "cat", "--out", "site"]));
    assert_eq!(code, 0, "{err}");
    let before = tree(&dir.join("site"));
    // Change every page, then fail writes past 40 KB (index.html and map.html
    // are larger), as a full disk would.
    for e in std::fs::read_dir(&cat).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, text.replace("catalog: skillcore", "catalog: renamed")).unwrap();
    }
    let (code, _, err) = parts(&limited(
        &dir,
        "ulimit -f 40",
        &["docs", "cat", "--out", "site"],
    ));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("File too large"), "{err}");
    let after = tree(&dir.join("site"));
    let old: std::collections::HashMap<_, _> = before.into_iter().collect();
    for (name, bytes) in &after {
        assert!(
            !name.contains(".tmp-"),
            "temporary file left behind: {name}"
        );
        let was = old.get(name).expect("no new file");
        if bytes != was {
            // Rewritten whole: a complete page ends its document.
            let text = String::from_utf8_lossy(bytes);
            assert!(
                !name.ends_with(".html") || text.trim_end().ends_with("</html>"),
                "{name} is truncated ({} of {} bytes)",
                bytes.len(),
                was.len()
            );
        }
    }
    for big in ["index.html", "map.html"] {
        let now = &after.iter().find(|(n, _)| n == big).unwrap().1;
        assert_eq!(now, &old[big], "{big} must keep its old content");
    }
}

#[test]
fn a_failed_asyncapi_write_keeps_the_old_file() {
    let dir = scratch("atomic-asyncapi");
    let cat = dir.join("cat");
    copy_catalog(&cat);
    let (code, _, err) = parts(&run(&dir, &["asyncapi", "cat", "--out", "api.yaml"]));
    assert_eq!(code, 0, "{err}");
    let before = std::fs::read(dir.join("api.yaml")).unwrap();
    let (code, _, err) = parts(&limited(
        &dir,
        "ulimit -f 40",
        &[
            "asyncapi",
            "cat",
            "--out",
            "api.yaml",
            "--api-version",
            "2.0.0",
        ],
    ));
    assert_eq!(code, 2, "{err}");
    assert_eq!(std::fs::read(dir.join("api.yaml")).unwrap(), before);
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains(".tmp-")), "{names:?}");
}
