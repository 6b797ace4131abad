//! trybuild UI tests: what a user sees when `catalog!` is given a bad catalog
//! (one case per rule id, checked-in `.stderr`), and catalogs that must compile.
//!
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test -p
//! skillcore-events-tests --test ui`, then read every one of them.
//!
//! The compile-fail cases `ui/rules/*.rs` go through trybuild, checked in one
//! batch; the pass cases `ui/pass/*.rs` are `harness = false` test targets
//! (`ui_pass_*` in tests/Cargo.toml), built and run as crates of their own by
//! `cargo test` (why: mod@ui_support).

mod ui_support;

#[test]
fn ui() {
    ui_support::setup();
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/rules/*.rs");
}

#[test]
fn every_pass_case_is_built_and_run() {
    assert!(ui_support::pass_cases_are_test_targets("ui/pass") > 0);
}
