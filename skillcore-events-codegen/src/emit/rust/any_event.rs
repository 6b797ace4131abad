//! `AnyEvent`: the enum of every event of the catalog, its decoders by name,
//! and its `EventSet` impl.

use super::{Emitter, Lit, PRIVATE};
use crate::model::EventDef;
use std::fmt::Write as _;

impl Emitter<'_> {
    /// `match self { Self::A(p) => <arm>, ... }`, or `match *self {}` without events.
    /// `uses_payload`: the arm reads the payload as `p` (else it binds `_`).
    pub(super) fn match_self(&mut self, uses_payload: bool, arm: impl Fn(&EventDef) -> String) {
        if self.catalog.events.is_empty() {
            self.w("match *self {}");
            return;
        }
        self.w("match self {");
        for e in &self.catalog.events {
            let body = arm(e);
            let bind = if uses_payload { "p" } else { "_" };
            let _ = write!(self.out, "Self::{}({bind}) => {body},", e.idents.variant);
        }
        self.w("}");
    }

    pub(super) fn any_event(&mut self) {
        let rt = self.rt.clone();
        let events = &self.catalog.events;
        self.w(
            "#[doc = \" Any event of the catalog, tagged by its name.\"]\
             #[doc = \"\"]\
             #[doc = \" Serializes to the payload JSON alone; the name travels beside it (in the\"]\
             #[doc = \" envelope), which is why decoding takes both.\"]\
             #[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::cmp::PartialEq)]",
        );
        let allow = self.allow_deprecated();
        let _ = write!(self.out, "{allow} pub enum AnyEvent {{");
        for e in events {
            // A deprecated event's variant is deprecated too, so a `match`
            // that names it warns where the type itself would.
            let deprecated = e
                .deprecated
                .as_deref()
                .map(super::evolution::deprecated_attr)
                .unwrap_or_default();
            let _ = write!(
                self.out,
                "#[doc = {}] {deprecated} {}({}::{}),",
                Lit(&format!(" `{}`", e.name)),
                e.idents.variant,
                e.idents.module,
                e.idents.type_name
            );
        }
        let _ = write!(
            self.out,
            "}} {allow} impl AnyEvent {{\
             #[doc = \" The name of the catalog these events come from.\"]\
             pub const CATALOG: &'static str = {};",
            Lit(&self.catalog.name)
        );
        for (func, input, decoder) in [
            ("from_json", "json: &str", "decode_json"),
            (
                "from_value",
                "json: __skc::serde_json::Value",
                "decode_value",
            ),
        ] {
            let doc = if func == "from_json" {
                " Decodes the payload JSON of the event called `name`: an unknown name and a payload that does not match are distinct errors, both naming the event (and the field)."
            } else {
                " Decodes an already parsed payload of the event called `name`."
            };
            let _ = write!(
                self.out,
                "#[doc = {}] pub fn {func}(name: &str, {input}) -> ::core::result::Result<Self, {rt}::DecodeError> {{ match name {{",
                Lit(doc)
            );
            for e in events {
                let _ = write!(
                    self.out,
                    "names::{} => {PRIVATE}::{decoder}::<{}::{}>(json).map(Self::{}),",
                    e.idents.constant, e.idents.module, e.idents.type_name, e.idents.variant
                );
            }
            let _ = write!(
                self.out,
                "_ => ::core::result::Result::Err({rt}::DecodeError::unknown_event(name, names::ALL)), }} }}"
            );
        }
        self.w("#[doc = \" The event's name, for example `gradebook.grade.posted`.\"] pub fn name(&self) -> &'static str {");
        self.match_self(false, |e| format!("names::{}", e.idents.constant));
        let _ = write!(self.out, "}} #[doc = \" The event's entry in [`EVENTS`].\"] pub fn info(&self) -> &'static {rt}::EventInfo {{");
        let indices: std::collections::HashMap<&str, usize> = events
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name.as_str(), i))
            .collect();
        self.match_self(false, |e| format!("&EVENTS[{}]", indices[e.name.as_str()]));
        self.w("} #[doc = \" The id of the aggregate the event is about.\"] pub fn aggregate_id(&self) -> ::std::string::String {");
        let rt2 = rt.clone();
        self.match_self(true, move |_| format!("{rt2}::Event::aggregate_id(p)"));
        let _ = write!(
            self.out,
            "}}\
             #[doc = \" The payload as JSON text.\"]\
             pub fn to_json(&self) -> ::core::result::Result<::std::string::String, {PRIVATE}::serde_json::Error> {{ {PRIVATE}::serde_json::to_string(self) }}\
             #[doc = \" The payload as a JSON value.\"]\
             pub fn to_value(&self) -> ::core::result::Result<{PRIVATE}::serde_json::Value, {PRIVATE}::serde_json::Error> {{ {PRIVATE}::serde_json::to_value(self) }}\
             }}\
             #[automatically_derived] {allow} impl {PRIVATE}::Serialize for AnyEvent {{\
             fn serialize<S>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error> where S: {PRIVATE}::Serializer {{"
        );
        self.match_self(true, |_| {
            format!("{PRIVATE}::Serialize::serialize(p, serializer)")
        });
        self.w("} }");
        for e in events {
            let allow = if e.deprecated.is_some() {
                "#[allow(deprecated)]"
            } else {
                ""
            };
            let _ = write!(
                self.out,
                "#[automatically_derived]{allow} impl ::core::convert::From<{m}::{t}> for AnyEvent {{ fn from(payload: {m}::{t}) -> Self {{ Self::{v}(payload) }} }}",
                m = e.idents.module,
                t = e.idents.type_name,
                v = e.idents.variant
            );
        }
        let _ = write!(
            self.out,
            "#[automatically_derived] {allow} impl {rt}::EventSet for AnyEvent {{\
             const CATALOG: &'static str = {};\
             fn events() -> &'static [{rt}::EventInfo] {{ EVENTS }}\
             fn from_json(name: &str, json: &str) -> ::core::result::Result<Self, {rt}::DecodeError> {{ AnyEvent::from_json(name, json) }}\
             fn from_value(name: &str, value: {PRIVATE}::serde_json::Value) -> ::core::result::Result<Self, {rt}::DecodeError> {{ AnyEvent::from_value(name, value) }}\
             fn name(&self) -> &'static str {{ AnyEvent::name(self) }}",
            Lit(&self.catalog.name)
        );
        self.any_event_versions();
        self.w("}");
    }
}
