//! The catalog check as a test: the `#[handler]` functions linked into the
//! binary against the catalog's `handlers:` lists.

use crate::bus::compare_catalog as compare;
use crate::{registered_handlers, CatalogReport, EventInfo};
use std::fmt::Write as _;

/// The `#[handler]` functions linked into this binary compared with the
/// `handlers:` lists of `catalog` (the generated `EVENTS`): declared but
/// never written, and written under a name the catalog does not declare.
/// Handlers of events `catalog` does not have are left out (a binary may
/// link handlers checked against another catalog; `#[handler]` already
/// refuses an event name its own catalog lacks at compile time).
pub fn catalog_report(catalog: &'static [EventInfo]) -> CatalogReport {
    let registered = registered_handlers()
        .iter()
        .filter(|r| catalog.iter().any(|e| e.name == r.event))
        .map(|r| (r.event, r.id));
    compare(catalog.iter().collect(), registered)
}

/// Fails (panics) when the `#[handler]` functions linked into this binary
/// and the `handlers:` lists of `catalog` disagree (see [`catalog_report`]).
/// The message lists the handlers declared but not registered, those
/// registered but not declared, each with where it is defined and, for a
/// typo in `name = "…"`, the declared id it is closest to:
///
/// ```text
/// the #[handler] functions do not match the catalog's `handlers:` lists:
/// declared in the catalog but not registered (1):
///   `analytics.update_gpa` for `gradebook.grade.posted`
/// registered but not declared in the catalog (1):
///   `analytics.update_gap` for `gradebook.grade.posted` (did you mean `analytics.update_gpa`?)
///     defined at src/handlers.rs:12
/// ```
///
/// One test per service keeps the catalog honest:
///
/// ```no_run
/// # mod events { skillcore_events::catalog!("tests/fixtures/mini.yaml"); }
/// #[test]
/// fn handlers_match_the_catalog() {
///     skillcore_events::testing::assert_handlers_match_catalog(events::EVENTS);
/// }
/// ```
///
/// The same check runs on a built bus with
/// [`EventBusBuilder::require_catalog_match`](crate::EventBusBuilder::require_catalog_match)
/// (the build fails) or [`TestBus::assert_catalog_match`](super::TestBus::assert_catalog_match).
#[track_caller]
pub fn assert_handlers_match_catalog(catalog: &'static [EventInfo]) {
    let report = catalog_report(catalog);
    if report.is_ok() {
        return;
    }
    let mut msg =
        String::from("the #[handler] functions do not match the catalog's `handlers:` lists:\n");
    let text = report.to_string();
    for line in text.lines() {
        msg.push_str(line);
        msg.push('\n');
        // Where each registered-but-undeclared handler is written.
        let undeclared = report.undeclared.iter().chain(&report.unknown_events);
        for h in undeclared {
            if line.trim_start().starts_with(&h.to_string()) {
                for r in registered_handlers()
                    .iter()
                    .filter(|r| r.event == h.event && r.id == h.handler)
                {
                    let _ = writeln!(msg, "    defined at {}", r.location);
                }
            }
        }
    }
    panic!("{}", msg.trim_end());
}
