//! trybuild UI tests: what a user sees when `catalog!` is given a bad catalog
//! (one case per rule id, checked-in `.stderr`), and catalogs that must compile.
//!
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test -p
//! skillcore-events-tests --test ui`, then read every one of them.

#[test]
fn ui() {
    // trybuild builds the cases in a scratch crate; make the macro resolve
    // `ui/...` against this crate, so diagnostics show `ui/rules/x.yaml:L:C`.
    std::env::set_var("SKILLCORE_EVENTS_MANIFEST_DIR", env!("CARGO_MANIFEST_DIR"));
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/rules/*.rs");
    t.pass("ui/pass/*.rs");
}
