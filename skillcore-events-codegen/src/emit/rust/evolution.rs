//! The evolution keys in the generated Rust: `#[deprecated]` on deprecated
//! events (their payload struct and `names` constant) and fields, and the
//! reader side of `default`.
//!
//! **Deprecations** warn where the *user's* code names the item: every
//! generated item that mentions one itself (the `impl Event`, the `AnyEvent`
//! variants and decoders, `names::ALL`, a hand-written `Debug`) carries
//! `#[allow(deprecated)]`, or sits in a context module that does. The
//! attributes are emitted only where a catalog deprecates something, so other
//! catalogs expand exactly as before.
//!
//! **Defaults**: a field with a `default` gets two private functions beside
//! its struct. `__skc_default_<Type>_<field>()` returns the default, decoded
//! from the JSON text the catalog compiler wrote; serde's `default = "..."`
//! calls it when the field is missing (and schemars reads it, so the derived
//! schema shows the same `default` as the exported one). For a non-optional
//! field `__skc_null_<Type>_<field>` is its `deserialize_with`: an explicit
//! `null` reads as the default too. An optional field keeps `null` as `None`.
//!
//! Why decoding the default cannot fail (its `Err` arm is `unreachable!`):
//! validation accepts a `default` only when it passes the checker `examples:`
//! pass (rule `bad-default`), and the round-trip tests hold that checker to
//! what these types decode; the text is a constant of the expansion, so no
//! payload, however bad, reaches that arm. A payload's own value for the
//! field is decoded by serde as usual, and its errors are ordinary
//! `DecodeError`s.

use super::{Emitter, Lit, PRIVATE};
use crate::model::Field;
use std::fmt::Write as _;

/// `#[deprecated(note = "...")]`, or `#[deprecated]` for an empty reason.
pub(super) fn deprecated_attr(reason: &str) -> String {
    let reason = reason.trim();
    if reason.is_empty() {
        "#[deprecated]".to_string()
    } else {
        format!("#[deprecated(note = {})]", Lit(reason))
    }
}

/// The function returning the default of `field` of the struct `owner`.
pub(super) fn default_fn(owner: &str, f: &Field) -> String {
    format!(
        "__skc_default_{}_{}",
        owner.trim_start_matches("r#"),
        f.ident.trim_start_matches("r#")
    )
}

/// The `deserialize_with` function of a defaulted non-optional field.
fn null_fn(owner: &str, f: &Field) -> String {
    format!(
        "__skc_null_{}_{}",
        owner.trim_start_matches("r#"),
        f.ident.trim_start_matches("r#")
    )
}

/// Whether any field is deprecated.
pub(super) fn any_deprecated(fields: &[Field]) -> bool {
    fields.iter().any(|f| f.deprecated.is_some())
}

impl Emitter<'_> {
    /// The serde attributes of a field of the deserializing mirror: the
    /// default function, and for a non-optional field the `null` reader.
    pub(super) fn mirror_default(&mut self, owner: &str, f: &Field) {
        if f.default.is_none() {
            return;
        }
        let _ = write!(self.out, "#[serde(default = {}", Lit(&default_fn(owner, f)));
        if !f.ty.optional {
            let _ = write!(self.out, ", deserialize_with = {}", Lit(&null_fn(owner, f)));
        }
        self.w(")]");
    }

    /// The functions of every defaulted field of `owner` (see the module docs).
    pub(super) fn default_fns(&mut self, owner: &str, fields: &[Field], up: &str) {
        let p = format!("{up}{PRIVATE}");
        for f in fields {
            let Some(value) = &f.default else { continue };
            // serde_json writes valid JSON for every `Value` (the catalog's
            // numbers are finite: YAML's `.inf` and `.nan` are rejected).
            let json = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
            let dfn = default_fn(owner, f);
            let _ = write!(
                self.out,
                "#[doc = \" The catalog's `default`: JSON text checked against the field's type when the catalog was compiled.\"]\
                 #[doc(hidden)] #[allow(non_snake_case)] fn {dfn}() -> "
            );
            self.ty(&f.ty, up);
            let _ = write!(
                self.out,
                " {{ match {p}::serde_json::from_str({}) {{\
                 ::core::result::Result::Ok(v) => v,\
                 ::core::result::Result::Err(_) => ::core::unreachable!(\"{{}}\", {}),\
                 }} }}",
                Lit(&json),
                Lit(&format!(
                    "the default of `{}` was checked against its type when the catalog was compiled",
                    f.name
                )),
            );
            if f.ty.optional {
                continue;
            }
            let _ = write!(
                self.out,
                "#[doc(hidden)] #[allow(non_snake_case)] fn {}<'de, D: {p}::serde::Deserializer<'de>>(d: D) -> ::core::result::Result<",
                null_fn(owner, f)
            );
            self.ty(&f.ty, up);
            self.w(", D::Error> { match <::core::option::Option<");
            self.ty(&f.ty, up);
            let _ = write!(
                self.out,
                "> as {p}::Deserialize<'de>>::deserialize(d)? {{\
                 ::core::option::Option::Some(v) => ::core::result::Result::Ok(v),\
                 ::core::option::Option::None => ::core::result::Result::Ok({dfn}()),\
                 }} }}"
            );
        }
    }
}
