//! trybuild UI tests of `#[handler]` misuse: what a user sees for an unknown
//! event, a payload type of another event, a handler that is not async, a
//! wrong return type, a missing event parameter and bad options (checked-in
//! `.stderr`), plus the accepted forms.
//!
//! Regenerate with `TRYBUILD=overwrite cargo test -p skillcore-events-tests
//! --test ui_handler`, then read every `.stderr`.

#[test]
fn ui_handler() {
    // trybuild builds the cases in a scratch crate; resolve the cases'
    // catalog paths (`ui/handler/catalog.yaml`) against this crate.
    std::env::set_var("SKILLCORE_EVENTS_MANIFEST_DIR", env!("CARGO_MANIFEST_DIR"));
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/handler/*.rs");
    t.pass("ui/handler/pass/*.rs");
}
