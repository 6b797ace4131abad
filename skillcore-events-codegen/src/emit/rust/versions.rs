//! Older released versions in the generated Rust: a type per released version
//! still in the lock (`gradebook::v1::GradePosted`), and the upcast chain the
//! current type decodes them through (`Event::decode_version`).
//!
//! - **Types.** `<context>::v<N>` holds the payload struct of every event of
//!   the context released as version N (the last shape released under that
//!   number), with the current types of the named types it uses where they
//!   are unchanged. A named type whose released shape differs from today's is
//!   generated as it was, under `<context>::v<N>::<event>_types`.
//! - **Steps.** A step whose changes are all backward compatible is generated
//!   on the JSON: renames, defaults (for a missing value, or `null` in a
//!   required field), recursively through struct values; removed fields are
//!   left for the decoder to ignore, widenings need nothing. Any other step
//!   decodes the older version's type and calls the function the catalog
//!   names under `upcast:` (the build refuses a chain that lacks one:
//!   `missing-upcaster`).
//! - **Decoding.** The current version decodes as before, straight from the
//!   text; so does a version one generated step before it, or before a
//!   hand-written step: the types read declared renames under their old
//!   names (`alias`) and fill in defaults, which is that step. Longer
//!   generated runs go through the JSON steps. A newer version decodes as the
//!   current one when the mode is `forward` or `full`.
//!
//! Events without older versions and without declarations expand exactly as
//! before.

use super::{Emitter, Lit, PRIVATE};
use crate::evolution::{chain, older_versions, EventShape, FieldShape, Step, TypeShape};
use crate::model::{BaseType, EventDef, Field, TypeKind};
use crate::naming;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

impl Emitter<'_> {
    /// The released shapes of `e`, if the catalog has a lock that knows it.
    fn history(&self, e: &EventDef) -> Option<&[EventShape]> {
        let lock = self.lock?;
        lock.history(&e.name)
            .or_else(|| e.renamed_from.as_deref().and_then(|r| lock.history(r)))
    }

    /// `pub mod v<N>` modules of the context, then the chain's step functions.
    pub(super) fn version_modules(&mut self, events: &[&EventDef]) {
        let mut by_version: BTreeMap<u32, Vec<(&EventDef, EventShape)>> = BTreeMap::new();
        for e in events {
            let Some(hist) = self.history(e) else {
                continue;
            };
            for s in older_versions(hist, e.version) {
                by_version
                    .entry(s.version)
                    .or_default()
                    .push((e, s.clone()));
            }
        }
        for (n, list) in &by_version {
            let _ = write!(
                self.out,
                "#[doc = {}] pub mod v{n} {{",
                Lit(&format!(" Version {n} of the events of this context that released one, as released (from the catalog's lock file)."))
            );
            for (e, s) in list {
                self.old_struct(e, s);
            }
            self.w("}");
        }
        for e in events {
            self.step_fns(e);
        }
    }

    /// The payload struct of `e` as released in shape `s`, in `<ctx>::v<N>`.
    fn old_struct(&mut self, e: &EventDef, s: &EventShape) {
        let changed = self.changed_types(s);
        let module = format!("{}_types", naming::to_snake(&e.idents.type_name));
        let doc = format!(
            "Event `{}` as released in version {}: the type the upcaster from version {} takes.",
            s.name, s.version, s.version
        );
        // Paths of changed types are written from the root (`ty` prefixes
        // every named type with the way up to it).
        let prefix = format!("{}::v{}::{module}::", e.idents.module, s.version);
        let fields = model_fields(&s.fields, &changed, &prefix);
        self.struct_def(&e.idents.type_name, &doc, &fields, "super::super::", "");
        if changed.is_empty() {
            return;
        }
        let _ = write!(
            self.out,
            "#[doc = {}] pub mod {module} {{",
            Lit(&format!(
                " The named types of version {} of `{}` that differ from today's.",
                s.version, s.name
            ))
        );
        for name in &changed {
            let Some(t) = s.types.get(name) else { continue };
            self.old_named_type(name, t, &changed, s.version, &prefix);
        }
        self.w("}");
    }

    /// The named types of `s` whose shape differs from the catalog's today
    /// (and those that reach one of them).
    fn changed_types(&self, s: &EventShape) -> BTreeSet<String> {
        let mut changed: BTreeSet<String> = s
            .types
            .iter()
            .filter(|(name, t)| match self.catalog.named_type(name) {
                Some(now) => !same_type(t, &TypeShape::of(now)),
                None => true,
            })
            .map(|(n, _)| n.clone())
            .collect();
        loop {
            let before = changed.len();
            for (name, t) in &s.types {
                if let TypeShape::Struct(fields) = t {
                    if fields
                        .iter()
                        .any(|f| matches!(&f.ty.base, BaseType::Named(n) if changed.contains(n)))
                    {
                        changed.insert(name.clone());
                    }
                }
            }
            if changed.len() == before {
                return changed;
            }
        }
    }

    fn old_named_type(
        &mut self,
        name: &str,
        t: &TypeShape,
        changed: &BTreeSet<String>,
        version: u32,
        prefix: &str,
    ) {
        let ident = naming::rust_ident(name);
        let doc = format!("`{name}` as released in version {version}.");
        match t {
            TypeShape::Struct(fields) => {
                // From `<ctx>::v<N>::<module>`, the root is three levels up.
                let fields = model_fields(fields, changed, prefix);
                self.struct_def(&ident, &doc, &fields, "super::super::super::", "");
            }
            TypeShape::Enum(values) => {
                self.doc(&doc);
                self.derives(
                    "super::super::super::",
                    "::core::marker::Copy, ::core::fmt::Debug, ::core::cmp::Eq, ::core::hash::Hash, ",
                    true,
                );
                let _ = write!(self.out, "pub enum {ident} {{");
                for v in values {
                    let _ = write!(
                        self.out,
                        "#[serde(rename = {})] {},",
                        Lit(v),
                        naming::variant_ident(v)
                    );
                }
                self.w("}");
                // Every old value still exists today: an upcaster converts with `From`.
                let now = match self.catalog.named_type(name).map(|t| (&t.ident, &t.kind)) {
                    Some((now, TypeKind::Enum(current))) => Some((now.clone(), current.clone())),
                    _ => None,
                };
                if let Some((now, current)) = now {
                    let arms: Option<Vec<String>> = values
                        .iter()
                        .map(|v| {
                            current.iter().find(|c| c.value == *v).map(|c| {
                                format!(
                                    "{ident}::{} => Self::{},",
                                    naming::variant_ident(v),
                                    c.ident
                                )
                            })
                        })
                        .collect();
                    if let Some(arms) = arms {
                        let _ = write!(
                            self.out,
                            "#[automatically_derived] impl ::core::convert::From<{ident}> for super::super::super::{now} {{\
                             fn from(v: {ident}) -> Self {{ match v {{ {} }} }} }}",
                            arms.concat()
                        );
                    }
                }
            }
        }
    }

    /// The JSON step functions of `e`'s chain: one per shape a generated step
    /// makes.
    /// For each hand-written step, a trait the named function must
    /// implement, whose message (when it does not) names the catalog line:
    /// a function with the wrong signature is one compile error saying
    /// where it was named and what it must be.
    ///
    /// The trait is implemented for the one fn pointer type the step needs,
    /// and the named function is cast to `fn(_) -> _`, so a wrong argument
    /// or return type fails the trait bound and rustc prints the trait's
    /// `on_unimplemented` message (with the YAML line). Two details make
    /// that so: a blanket `impl<F: Fn(A) -> B>` would be reported as
    /// rustc's own E0631 without the message, and with a single impl rustc
    /// would infer the cast's `_` from it and report a bare invalid cast.
    /// A second impl, for a fn pointer over a type declared inside the
    /// function body (which no code outside can name, so it never runs),
    /// keeps the inference open; `do_not_recommend` keeps it out of the
    /// help text.
    fn upcaster_checks(&mut self, e: &EventDef) {
        if self.history(e).is_none() {
            return; // nothing released before: nothing to generate
        }
        let current = EventShape::of(self.catalog, e);
        let hist = self
            .history(e)
            .map(<[EventShape]>::to_vec)
            .unwrap_or_default();
        let ty = e.idents.type_name.clone();
        for s in chain(&hist, &current) {
            let Some(u) = e.upcasts.iter().find(|u| u.from == s.from.version) else {
                continue;
            };
            let from = s.from.version;
            let a = format!("v{from}::{ty}");
            let b = if s.to_current {
                ty.clone()
            } else {
                format!("v{}::{ty}", s.to.version)
            };
            let message = format!(
                "`{}`, named at {} as the upcaster from version {from} of `{}`, is not a `fn({a}) -> {b}`",
                u.path, u.at, e.name
            );
            let _ = write!(
                self.out,
                "#[diagnostic::on_unimplemented(message = {}, label = {}, note = {})]\
                 #[doc(hidden)] #[allow(non_camel_case_types)] pub trait __SkcUpcast_{ty}_{from} {{ fn __skc_call(&self, old: {a}) -> {b}; }}\
                 #[automatically_derived] impl __SkcUpcast_{ty}_{from} for fn({a}) -> {b} {{ fn __skc_call(&self, old: {a}) -> {b} {{ self(old) }} }}\
                 #[doc(hidden)] #[allow(non_snake_case)] fn __skc_upcaster_{ty}_{from}() -> impl __SkcUpcast_{ty}_{from} {{\
                   enum __SkcUnnameable {{}}\
                   #[diagnostic::do_not_recommend] #[automatically_derived] impl __SkcUpcast_{ty}_{from} for fn(__SkcUnnameable) -> __SkcUnnameable {{\
                     fn __skc_call(&self, _: {a}) -> {b} {{ ::core::unreachable!(\"no function can take a type declared inside this body\") }}\
                   }}\
                   {} as fn(_) -> _\
                 }}",
                Lit(&message),
                Lit(&format!("the catalog's `upcast:` names this for version {from}")),
                Lit(&format!("an upcaster takes the payload of version {from} and returns the next version's: `fn(old: {a}) -> {b}`")),
                u.path
            );
        }
    }

    fn step_fns(&mut self, e: &EventDef) {
        self.upcaster_checks(e);

        if self.history(e).is_none() {
            return; // nothing released before: nothing to generate
        }
        let current = crate::evolution::EventShape::of(self.catalog, e);
        let hist = self
            .history(e)
            .map(<[EventShape]>::to_vec)
            .unwrap_or_default();
        let steps = chain(&hist, &current);
        let targets: Vec<&EventShape> = steps
            .iter()
            .filter(|s| self.upcaster(e, s).is_none())
            .map(|s| s.to)
            .collect();
        for t in targets {
            let active = active_types(t);
            let base = step_fn(e, t.version);
            self.step_fn(&base, &t.fields, &active);
            for name in &active {
                if let Some(TypeShape::Struct(fields)) = t.types.get(name) {
                    self.step_fn(&format!("{base}_{name}"), fields, &active);
                }
            }
        }
    }

    fn step_fn(&mut self, name: &str, fields: &[FieldShape], active: &BTreeSet<String>) {
        let _ = write!(
            self.out,
            "#[doc(hidden)] #[allow(non_snake_case)] fn {name}(v: &mut super::{PRIVATE}::serde_json::Value) {{\
             let ::core::option::Option::Some(m) = super::{PRIVATE}::upcast::object(v) else {{ return }};"
        );
        for f in fields {
            if let Some(r) = &f.renamed_from {
                let _ = write!(
                    self.out,
                    "super::{PRIVATE}::upcast::rename(m, {}, {});",
                    Lit(r),
                    Lit(&f.name)
                );
            }
            if let Some(d) = &f.default {
                let json = serde_json::to_string(d).unwrap_or_else(|_| "null".into());
                let _ = write!(
                    self.out,
                    "super::{PRIVATE}::upcast::fill_default(m, {}, {}, {});",
                    Lit(&f.name),
                    Lit(&json),
                    f.ty.optional
                );
            }
            if let BaseType::Named(n) = &f.ty.base {
                if active.contains(n) {
                    let _ = write!(
                        self.out,
                        "super::{PRIVATE}::upcast::nested(m, {}, {}, {name}_{n});",
                        Lit(&f.name),
                        f.ty.list_depth
                    );
                }
            }
        }
        self.w("}");
    }

    /// The `Event` impl's items for versions: `READS_NEWER`, and
    /// `decode_version` when there is a chain.
    pub(super) fn versioned_decode(&mut self, e: &EventDef) {
        if e.compatibility.forward() {
            self.w("const READS_NEWER: bool = true;");
        }
        if self.history(e).is_none() {
            return; // nothing released before: nothing to generate
        }
        let current = EventShape::of(self.catalog, e);
        let hist = self
            .history(e)
            .map(<[EventShape]>::to_vec)
            .unwrap_or_default();
        let steps = chain(&hist, &current);
        if steps.is_empty() {
            return;
        }
        let p = format!("super::{PRIVATE}");
        let ty = e.idents.type_name.clone();
        let older: Vec<String> = steps.iter().map(|s| s.from.version.to_string()).collect();
        let _ = write!(
            self.out,
            "fn decode_version(version: u32, json: &str) -> ::core::result::Result<Self, {}::DecodeError> {{",
            self.rt
        );
        // Today's version, and any version whose generated step leads into
        // it, decode straight from the text: the current type reads declared
        // renames under their old names (`alias`) and fills in defaults.
        let _ = write!(self.out, "if version == {}", e.version);
        let direct: Vec<u32> = steps
            .iter()
            .filter(|s| s.to_current && self.upcaster(e, s).is_none())
            .map(|s| s.from.version)
            .collect();
        for v in direct {
            let _ = write!(self.out, " || version == {v}");
        }
        let _ = write!(self.out, " {{ return {p}::decode_json::<Self>(json); }}");
        let _ = write!(
            self.out,
            "{p}::upcast::check_version::<Self>(version, &[{}])?;\
             if version > {} {{ return {p}::decode_json::<Self>(json); }}\
             #[allow(unused_mut)] let mut version = version;\
             #[allow(unused_mut)] let mut v = {p}::serde_json::Value::Null;",
            older.join(", "),
            e.version
        );
        // A payload of a version whose step is hand-written is read straight
        // from its text into that version's type (no JSON tree in between).
        // So is a version whose generated step leads into a version whose step
        // is hand-written: that version's type reads it the same way.
        let mut typed_first = false;
        for (i, s) in steps.iter().enumerate() {
            if self.upcaster(e, s).is_none() {
                continue;
            }
            let from = s.from.version;
            let _ = write!(self.out, "if version == {from}");
            if let Some(prev) = i.checked_sub(1).map(|j| &steps[j]) {
                if self.upcaster(e, prev).is_none() {
                    let _ = write!(self.out, " || version == {}", prev.from.version);
                }
            }
            let _ = write!(
                self.out,
                " {{ let b = __skc_upcaster_{ty}_{from}().__skc_call({p}::upcast::decode_old::<Self, v{from}::{ty}>(json, {from})?);"
            );
            if s.to_current {
                self.w("return ::core::result::Result::Ok(b); }");
            } else {
                let _ = write!(
                    self.out,
                    "v = {p}::upcast::to_step_value::<Self, _>(&b, {from})?; version = {}; }}",
                    s.to.version
                );
            }
            typed_first = true;
        }
        if typed_first {
            let _ = write!(
                self.out,
                "if v.is_null() {{ v = {p}::upcast::parse::<Self>(json)?; }}"
            );
        } else {
            let _ = write!(self.out, "v = {p}::upcast::parse::<Self>(json)?;");
        }
        for s in &steps {
            let from = s.from.version;
            let _ = write!(self.out, "if version <= {from} {{");
            match self.upcaster(e, s) {
                Some(_) if s.to_current => {
                    let _ = write!(
                        self.out,
                        "return {p}::upcast::typed_last::<Self, v{from}::{ty}>(v, {from}, |old| __skc_upcaster_{ty}_{from}().__skc_call(old));"
                    );
                }
                Some(_) => {
                    let _ = write!(
                        self.out,
                        "v = {p}::upcast::typed_step::<Self, v{from}::{ty}, v{}::{ty}>(v, {from}, |old| __skc_upcaster_{ty}_{from}().__skc_call(old))?;",
                        s.to.version
                    );
                }
                None => {
                    let _ = write!(self.out, "{}(&mut v);", step_fn(e, s.to.version));
                }
            }
            self.w("}");
        }
        let _ = write!(self.out, "{p}::upcast::finish::<Self>(v) }}");
    }

    /// The path of the catalog's function for step `s`, if it has one (a
    /// hand-written step wins over a generated one).
    fn upcaster(&self, e: &EventDef, s: &Step<'_>) -> Option<String> {
        e.upcasts
            .iter()
            .find(|u| u.from == s.from.version)
            .map(|u| u.path.clone())
    }
}

impl Emitter<'_> {
    /// The (old name, new name) pairs of renamed events, in the runtime's
    /// linked table: handlers of the new name take envelopes under the old.
    /// Nothing for a catalog without renames.
    pub(super) fn renames(&mut self) {
        let rt = self.rt.clone();
        let mut n = 0;
        for e in &self.catalog.events {
            let mut old: Vec<String> = e.renamed_from.iter().cloned().collect();
            if let Some(h) = self.history(e) {
                old.extend(h.iter().map(|s| s.name.clone()));
            }
            old.sort();
            old.dedup();
            for o in old.iter().filter(|o| **o != e.name) {
                let _ = write!(
                    self.out,
                    "#[{rt}::__private::linkme::distributed_slice({rt}::__private::RENAMES)]\
                     #[linkme(crate = {rt}::__private::linkme)]\
                     static __SKC_RENAME_{n}: (&'static str, &'static str) = ({}, {});",
                    Lit(o),
                    Lit(&e.name)
                );
                n += 1;
            }
        }
    }

    /// `EventSet::from_json_version` for `AnyEvent`, when some event has
    /// older versions, an earlier name or declarations: each event decodes
    /// through its chain, and a renamed event also answers to its old names.
    pub(super) fn any_event_versions(&mut self) {
        let catalog = self.catalog;
        let mut any = false;
        let mut arms = String::new();
        for e in &catalog.events {
            let hist = self.history(e);
            let mut names = vec![format!("names::{}", e.idents.constant)];
            if let Some(h) = hist {
                for s in h {
                    if s.name != e.name && !names.contains(&Lit(&s.name).to_string()) {
                        names.push(Lit(&s.name).to_string());
                    }
                }
            }
            if hist.is_some_and(|h| h.iter().any(|s| s.version != e.version)) || names.len() > 1 {
                any = true;
            }
            let _ = write!(
                arms,
                "{} => <{}::{} as {}::Event>::decode_version(version, json).map(Self::{}),",
                names.join(" | "),
                e.idents.module,
                e.idents.type_name,
                self.rt,
                e.idents.variant
            );
        }
        if !any {
            return;
        }
        let allow = self.allow_deprecated();
        let rt = &self.rt;
        let _ = write!(
            self.out,
            "{allow} fn from_json_version(name: &str, version: u32, json: &str) -> ::core::result::Result<Self, {rt}::DecodeError> {{\
             match name {{ {arms} _ => ::core::result::Result::Err({rt}::DecodeError::unknown_event(name, names::ALL)), }} }}"
        );
    }
}

fn step_fn(e: &EventDef, version: u32) -> String {
    format!("__skc_up_{}_{version}", e.idents.type_name)
}

/// The struct types of `s` whose values a step must visit: those declaring
/// renames or defaults, and those reaching one.
fn active_types(s: &EventShape) -> BTreeSet<String> {
    let mut active: BTreeSet<String> = s
        .types
        .iter()
        .filter(|(_, t)| matches!(t, TypeShape::Struct(f) if f.iter().any(|f| f.renamed_from.is_some() || f.default.is_some())))
        .map(|(n, _)| n.clone())
        .collect();
    loop {
        let before = active.len();
        for (name, t) in &s.types {
            if let TypeShape::Struct(fields) = t {
                if fields
                    .iter()
                    .any(|f| matches!(&f.ty.base, BaseType::Named(n) if active.contains(n)))
                {
                    active.insert(name.clone());
                }
            }
        }
        if active.len() == before {
            return active;
        }
    }
}

/// A shape's fields as model fields for the struct writer: named types that
/// changed are named through `changed_prefix` (relative to the root).
fn model_fields(
    fields: &[FieldShape],
    changed: &BTreeSet<String>,
    changed_prefix: &str,
) -> Vec<Field> {
    fields
        .iter()
        .map(|f| {
            let mut ty = f.ty.clone();
            if let BaseType::Named(n) = &ty.base {
                if changed.contains(n.as_str()) {
                    ty.base = BaseType::Named(format!("{changed_prefix}{}", naming::rust_ident(n)));
                }
            }
            Field {
                name: f.name.clone(),
                ident: naming::rust_ident(&naming::to_snake(&f.name)),
                ty,
                description: None,
                pii: f.pii,
                span: f.span,
                renamed_from: f.renamed_from.clone(),
                default: f.default.clone(),
                deprecated: None,
            }
        })
        .collect()
}

/// Two type shapes alike on the wire (positions do not count).
fn same_type(a: &TypeShape, b: &TypeShape) -> bool {
    match (a, b) {
        (TypeShape::Enum(x), TypeShape::Enum(y)) => x == y,
        (TypeShape::Struct(x), TypeShape::Struct(y)) => {
            x.len() == y.len()
                && x.iter().zip(y).all(|(f, g)| {
                    f.name == g.name && f.ty == g.ty && f.default == g.default && f.pii == g.pii
                })
        }
        _ => false,
    }
}
