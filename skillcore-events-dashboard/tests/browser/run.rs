//! What the browser test needs around the script: Chromium, Node.js and the
//! npm packages of `tests/node` (each missing one fails the test, naming the
//! command that installs it), the workspace's target directory, and the run
//! of `e2e.mjs` itself, bounded, with its `ready` lines answered.

#[path = "../../../tests/node/install.rs"]
mod install;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate is in the workspace")
        .to_path_buf()
}

/// The workspace's target directory: `CARGO_TARGET_DIR`, else the folder
/// above this test binary that cargo marked with `CACHEDIR.TAG`.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        return if dir.is_absolute() {
            dir
        } else {
            workspace().join(dir)
        };
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors()
        .find(|d| d.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| workspace().join("target"))
}

pub fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.is_file(),
        "headless Chromium is needed at {}: run `scripts/test` (it installs it), or \
         `apt-get update && apt-get install -y chromium` as root, or set CHROMIUM=/path/to/chromium",
        path.display()
    );
    path
}

/// `tests/node`, with playwright-core installed (by `npm ci` when missing).
pub fn node_ready() -> PathBuf {
    let ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "Node.js is needed to drive Chromium (`node` does not run): on Debian \
         `apt-get install -y nodejs npm`, then `scripts/test`"
    );
    let dir = workspace().join("tests/node");
    if let Err(e) = install::ensure_npm_packages(&dir) {
        panic!("playwright-core is needed to drive Chromium: {e}");
    }
    dir
}

enum Line {
    Out(String),
    End,
}

/// How the script ended.
pub struct Run {
    /// The `summary` it printed last.
    pub summary: Value,
    pub status: ExitStatus,
    pub stderr: String,
}

/// Runs `node script` with `plan` (as `SKC_E2E_PLAN`), calls `on_ready` with
/// the name of each `{"ready": NAME}` line (the test publishes then), and
/// returns the summary. Stops the script and fails after `limit`.
pub fn script(script: &Path, plan: &Value, limit: Duration, mut on_ready: impl FnMut(&str)) -> Run {
    let mut child = Command::new("node")
        .arg(script)
        .env("SKC_E2E_PLAN", plan.to_string())
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `node {}`: {e}", script.display()));
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(Line::Out(line)).is_err() {
                return;
            }
        }
        let _ = tx.send(Line::End);
    });
    let mut err = child.stderr.take().expect("stderr");
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });

    let deadline = Instant::now() + limit;
    let mut summary = None;
    let mut other = Vec::new();
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Line::Out(line)) => {
                let Some(msg) = line.strip_prefix("E2E ") else {
                    other.push(line);
                    continue;
                };
                let msg: Value = serde_json::from_str(msg).unwrap_or_else(|e| {
                    panic!("the script wrote a line that is not JSON ({e}): {msg}")
                });
                if let Some(what) = msg["ready"].as_str() {
                    on_ready(what);
                }
                if msg.get("summary").is_some() {
                    summary = Some(msg["summary"].clone());
                }
            }
            Ok(Line::End) => break,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the browser run did not finish within {limit:?} (stopped); it said:\n{}\n{}",
                    other.join("\n"),
                    stderr.join().unwrap_or_default()
                );
            }
        }
    }
    let status = child.wait().expect("wait for node");
    let stderr = stderr.join().unwrap_or_default();
    let Some(summary) = summary else {
        panic!(
            "`node {}` ended ({status}) without a summary; it said:\n{}\n{stderr}",
            script.display(),
            other.join("\n")
        );
    };
    Run {
        summary,
        status,
        stderr,
    }
}
