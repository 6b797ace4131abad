//! Helpers shared by the CLI's integration tests: run the real binary, make
//! scratch directories under cargo's per-target temporary directory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The workspace root (the CLI crate's parent directory).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the CLI crate sits in the workspace")
        .to_path_buf()
}

/// SkillCore's real catalog directory.
pub fn catalog() -> PathBuf {
    root().join("catalog")
}

/// The `skillcore-events` binary, run from `cwd`, colours off.
pub fn cli(cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_skillcore-events"));
    c.current_dir(cwd).env_remove("NO_COLOR");
    c
}

/// Runs the binary with `args` from `cwd`.
pub fn run(cwd: &Path, args: &[&str]) -> Output {
    cli(cwd).args(args).output().expect("the binary runs")
}

/// The exit code, stdout and stderr of a finished run.
pub fn parts(o: &Output) -> (i32, String, String) {
    (
        o.status.code().expect("exited normally"),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A fresh, empty scratch directory named after the test.
pub fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "cli-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A catalog with three mistakes: a non-past-tense action, a typo'd key and an
/// unknown type.
pub const BAD_CATALOG: &str = "catalog: broken
events:
  gradebook.grade.post:
    description: Grade posted
    aggregate: Result
    aggregate_id: resultId
    payload:
      resultId: uuid
      score: numbr
  gradebook.grade.deleted:
    description: Grade deleted
    aggregate: Result
    aggregate_id: resultId
    paylod:
      resultId: uuid
";

#[path = "../../../tests/node/install.rs"]
mod npm;

/// Installs the npm packages of `node` (tests/node: the AsyncAPI parser) once
/// when they are missing; `Err` says what to run by hand.
pub fn ensure_npm_packages(node: &Path) -> Result<(), String> {
    npm::ensure_npm_packages(node)
}
