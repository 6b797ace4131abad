//! What both trybuild harnesses (`ui.rs`, `ui_handler.rs`) share.
//!
//! Where the time goes (issue 14 §1, docs/performance.md): trybuild builds its
//! cases in a scratch crate with a target directory of its own
//! (`target/tests/trybuild`), so every dependency of this crate (sqlx, tokio,
//! jsonschema, ...) is compiled a second time there. A `TestCases` holding a
//! pass case makes that a full build (code generation, debug info) and then
//! cleans and builds each case one at a time; one holding only compile-fail
//! cases checks them all in one `cargo check --bins --keep-going` (metadata
//! only: no code generation, no linking, both cores). So trybuild gets the
//! compile-fail cases only, and the pass cases (`ui/pass/*.rs`,
//! `ui/handler/pass/*.rs`) are `harness = false` test targets of this crate
//! (tests/Cargo.toml): each still a crate of its own, compiled with the rest of
//! the workspace and run by `cargo test`, `main` and all.

use std::path::Path;

/// Sets the environment trybuild's cargo inherits.
pub fn setup() {
    // The scratch crate expands `catalog!` and `#[handler]`; resolve the cases'
    // paths (`ui/rules/x.yaml`, `ui/handler/catalog.yaml`) against this crate,
    // so diagnostics show `ui/rules/x.yaml:L:C`.
    std::env::set_var("SKILLCORE_EVENTS_MANIFEST_DIR", env!("CARGO_MANIFEST_DIR"));
}

/// Fails when a pass case in `dir` (relative to this crate, e.g. `ui/pass`) is
/// not a `[[test]]` target in tests/Cargo.toml, so that none is silently left
/// out; returns how many there are.
pub fn pass_cases_are_test_targets(dir: &str) -> usize {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(base.join("Cargo.toml")).expect("tests/Cargo.toml");
    let mut cases: Vec<String> = std::fs::read_dir(base.join(dir))
        .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".rs"))
        .collect();
    cases.sort();
    let missing: Vec<&String> = cases
        .iter()
        .filter(|name| !manifest.contains(&format!("path = \"{dir}/{name}\"")))
        .collect();
    assert!(
        missing.is_empty(),
        "pass cases without a `[[test]]` target in tests/Cargo.toml (add one with \
         `path = \"{dir}/NAME.rs\"` and `harness = false`, like the others): {missing:?}"
    );
    cases.len()
}
