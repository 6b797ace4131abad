//! `lock` and `diff` as a user runs them: the lock file written once and left
//! alone, breaking changes refused until the version is raised, `lock --check`
//! for CI, `diff` in its three formats with its exit codes, a corrupt lock, and
//! pii kept out of every output.
//!
//! One test binary (`--test evolution`): the fixture catalog [`V1`], its
//! exact lock and the helpers are here; the `lock` tests and the `diff`
//! tests are modules of their own.

#[path = "../common/mod.rs"]
mod common;
mod diff;
mod lock;

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
