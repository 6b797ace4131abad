//! The npm packages of `tests/node` (the AsyncAPI initiative's parser,
//! playwright-core), installed once by the first test that needs them, so that
//! a plain `cargo test --workspace` works on a fresh clone. Shared by the tests
//! that run them (`#[path]`-included by skillcore-events-cli/tests/common/mod.rs,
//! tests/tests/evolution_emit.rs and skillcore-events-dashboard/tests/browser.rs).
//!
//! Parallel tests in one process wait on a mutex; test binaries run at the same
//! time (other crates, other checkouts of the suite) wait on a file lock in
//! `tests/node`, so one `npm ci` runs and the others find its result.

use std::fs::File;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

/// The parser's package, playwright-core's (the dashboard's browser test) and
/// npm's record of a finished install (written last, so an interrupted install
/// is not taken for a finished one). `scripts/test` checks the same files.
fn installed(node: &Path) -> bool {
    node.join("node_modules/@asyncapi/parser/package.json")
        .is_file()
        && node
            .join("node_modules/playwright-core/package.json")
            .is_file()
        && node.join("node_modules/.package-lock.json").is_file()
}

/// Makes sure `node/node_modules` holds the packages of `node/package-lock.json`:
/// runs `npm ci --prefix NODE` when they are missing. `Err` says what to do by
/// hand when that is not possible (no npm, no network).
pub fn ensure_npm_packages(node: &Path) -> Result<(), String> {
    static IN_PROCESS: Mutex<()> = Mutex::new(());
    let _guard = IN_PROCESS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if installed(node) {
        return Ok(());
    }
    let lock_path = node.join(".npm-install.lock");
    let lock = File::create(&lock_path)
        .map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    // Another process may have installed them while this one waited.
    if installed(node) {
        return Ok(());
    }
    let hint = format!(
        "the npm packages of tests/node (the AsyncAPI parser, playwright-core) are not installed \
         and installing them failed: run `npm ci --prefix {}` \
         (needs Node.js and npm), or `scripts/test`",
        node.display()
    );
    eprintln!(
        "installing the npm packages of {} (npm ci, once)",
        node.display()
    );
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefix"])
        .arg(node)
        .output()
        .map_err(|e| format!("{hint}\n`npm` does not run: {e}"))?;
    if !out.status.success() || !installed(node) {
        return Err(format!(
            "{hint}\nnpm ci said:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}
