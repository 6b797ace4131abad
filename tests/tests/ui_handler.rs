//! trybuild UI tests of `#[handler]` misuse: what a user sees for an unknown
//! event, a payload type of another event, a handler that is not async, a
//! wrong return type, a missing event parameter and bad options (checked-in
//! `.stderr`), plus the accepted forms.
//!
//! Regenerate with `TRYBUILD=overwrite cargo test -p skillcore-events-tests
//! --test ui_handler`, then read every `.stderr`.
//!
//! As in `ui.rs`: the compile-fail cases go through trybuild in one batch; the
//! accepted forms `ui/handler/pass/*.rs` are `harness = false` test targets
//! (`ui_handler_pass_*` in tests/Cargo.toml), each a crate of its own, so each
//! has its own handler registry, as before.

mod ui_support;

#[test]
fn ui_handler() {
    ui_support::setup();
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/handler/*.rs");
}

#[test]
fn every_pass_case_is_built_and_run() {
    assert!(ui_support::pass_cases_are_test_targets("ui/handler/pass") > 0);
}
