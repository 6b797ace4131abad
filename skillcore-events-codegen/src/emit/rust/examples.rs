//! Fixtures from the catalog's `examples:`: every event struct gets
//! `example()` (the first example, or the generated payload of
//! `emit/example.rs` when the event has none) and `examples()` (every
//! example, in catalog order).
//!
//! Always generated, not behind a feature: each is a JSON string and a
//! decode through the `Deserialize` the crate instantiates anyway, and a
//! fixture is as useful in a doctest or an example program as in a test.
//! `#[inline]` keeps them out of code generation until a caller uses them. The catalog's
//! examples were validated against the payload when the catalog was built,
//! so the decode cannot fail (a panic there is a bug of this crate).

use super::{Emitter, Lit, PRIVATE};
use crate::emit::example;
use crate::model::EventDef;
use std::fmt::Write as _;

impl Emitter<'_> {
    /// `impl <context>::<Event> { fn example(); fn examples(); }` for every
    /// event, at the top level (where the private import is).
    pub(super) fn examples(&mut self) {
        for e in &self.catalog.events {
            self.event_examples(e);
        }
    }

    fn event_examples(&mut self, e: &EventDef) {
        let first = match e.examples.first() {
            Some(v) => v.to_string(),
            None => example::generated(self.catalog, e).to_value().to_string(),
        };
        let first_doc = if e.examples.is_empty() {
            format!(
                " A payload of `{}` generated to fit its schema (the catalog gives no \
                 `examples:`), for tests: change the fields a test cares about with struct \
                 update syntax, `{} {{ field: value, ..{}::example() }}`.",
                e.name, e.idents.type_name, e.idents.type_name
            )
        } else {
            format!(
                " The first of the catalog's `examples:` of `{}`, for tests: change the \
                 fields a test cares about with struct update syntax, \
                 `{} {{ field: value, ..{}::example() }}`.",
                e.name, e.idents.type_name, e.idents.type_name
            )
        };
        let allow = if e.deprecated.is_some() {
            "#[allow(deprecated)]"
        } else {
            ""
        };
        let expect = Lit("a catalog example decodes (it was validated at build time)");
        let _ = write!(
            self.out,
            "{allow}impl {}::{} {{\
             #[doc = {}] #[must_use] #[inline] pub fn example() -> Self {{\
             {PRIVATE}::serde_json::from_str({}).expect({expect}) }}\
             #[doc = \" Every one of the catalog's `examples:` of this event, in catalog order (empty when it gives none).\"]\
             #[must_use] #[inline] pub fn examples() -> ::std::vec::Vec<Self> {{ ::std::vec![",
            e.idents.module,
            e.idents.type_name,
            Lit(&first_doc),
            Lit(&first),
        );
        for v in &e.examples {
            let _ = write!(
                self.out,
                "{PRIVATE}::serde_json::from_str({}).expect({expect}),",
                Lit(&v.to_string())
            );
        }
        self.w("] } }");
    }
}
