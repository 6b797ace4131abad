//! `metadata:` in the generated Rust: an event whose catalog entry says where
//! its tenant metadata lives gets `Event::tenant` (the payload's district,
//! school and user, by reference) and the `TenantFromPayload` marker, which
//! lets `bus.publish(payload)` build the envelope. Events without a mapping
//! expand exactly as before.

use super::{Emitter, Lit};
use crate::model::EventDef;
use std::fmt::Write as _;

impl Emitter<'_> {
    /// `fn tenant` inside the event's `impl Event`.
    pub(super) fn tenant_fn(&mut self, e: &EventDef) {
        let Some(m) = &e.metadata else {
            return;
        };
        let ident = |wire: &str| {
            e.fields
                .iter()
                .find(|f| f.name == wire)
                .map(|f| f.ident.clone())
                .expect("validation resolved the metadata fields")
        };
        let rt = self.rt.clone();
        let user = match &m.user {
            Some(u) => format!(
                "::core::option::Option::Some(({}, &self.{}))",
                Lit(u),
                ident(u)
            ),
            None => "::core::option::Option::None".into(),
        };
        let _ = write!(
            self.out,
            "fn tenant(&self) -> ::core::option::Option<{rt}::Tenant<'_>> {{\
             ::core::option::Option::Some({rt}::Tenant {{ district: ({}, &self.{}), school: ({}, &self.{}), user: {user} }}) }}",
            Lit(&m.district),
            ident(&m.district),
            Lit(&m.school),
            ident(&m.school),
        );
    }

    /// The `TenantFromPayload` marker after the event's `impl Event`.
    pub(super) fn tenant_marker(&mut self, e: &EventDef) {
        if e.metadata.is_some() {
            let rt = &self.rt;
            let name = &e.idents.type_name;
            let allow = if e.deprecated.is_some() {
                "#[allow(deprecated)]"
            } else {
                ""
            };
            let _ = write!(
                self.out,
                "{allow} #[automatically_derived] impl {rt}::TenantFromPayload for {name} {{}}"
            );
        }
    }
}
