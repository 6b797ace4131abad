//! Emitter: the validated model -> Rust items (what `catalog!` expands to).
//!
//! A pure function of the model and the settings: no YAML, no validation, no I/O.
//!
//! The output is built as **source text**, not with `quote!`: proc macros run at
//! opt-level 0 by default, where building a token stream one `Ident` and `Punct`
//! at a time (each a call across rustc's proc-macro bridge) costs far more than
//! appending text and letting rustc's optimized lexer read it once. Every string
//! literal is written with `{:?}`, which always gives a valid Rust literal, and
//! every identifier comes from the validated model.
//!
//! Hygiene: every path into other crates goes through the runtime crate's hidden
//! `__private` module (imported once as `__skc`), so users depend on
//! `skillcore-events` alone; std items are named by absolute path, so a catalog
//! type called `Option` or `String` cannot shadow them.
//!
//! `deprecated` and `default` are emitted by `rust/evolution.rs`, older released versions by `rust/versions.rs`.

mod any_event;
mod evolution;
mod examples;
mod metadata;
mod versions;

use super::schema;
use crate::model::*;
use crate::naming;
use crate::settings::Settings;
use proc_macro2::TokenStream;
use std::fmt::Write as _;
use std::path::PathBuf;

/// The name the generated code imports the runtime's `__private` module under.
const PRIVATE: &str = "__skc";

/// A field whose type is unknown, and the rendered `unknown-type` error: its
/// Rust type becomes `[(); compile_error!(..)]`, which raises that error and
/// which rustc then treats as an error type, quiet wherever it is used.
#[derive(Clone, Debug)]
pub struct Stub {
    /// The field (its name's span, as `Field::span`).
    pub field: crate::source::Span,
    /// A named type the author meant to declare, stubbed under that name.
    pub name: Option<String>,
    /// The diagnostic, rendered.
    pub message: String,
}

/// Expands a catalog into the items `catalog!` generates, as source text.
pub fn emit_source(catalog: &Catalog, settings: &Settings, tracked_files: &[PathBuf]) -> String {
    emit_source_locked(catalog, None, settings, tracked_files)
}

/// [`emit_source`] with the catalog's lock of released versions: older
/// versions' types and the upcast chains too (see `rust/versions.rs`).
pub fn emit_source_locked(
    catalog: &Catalog,
    lock: Option<&crate::evolution::Lock>,
    settings: &Settings,
    tracked_files: &[PathBuf],
) -> String {
    emit_source_stubbed(catalog, lock, settings, tracked_files, &[])
}

/// [`emit_source_locked`], with a stub type for each field of unknown type
/// (see [`Stub`]).
pub fn emit_source_stubbed(
    catalog: &Catalog,
    lock: Option<&crate::evolution::Lock>,
    settings: &Settings,
    tracked_files: &[PathBuf],
    stubs: &[Stub],
) -> String {
    let rt = settings.runtime_path.trim().to_string();
    let mut e = Emitter {
        out: String::with_capacity(64 * 1024 + catalog.events.len() * 4096),
        rt,
        catalog,
        lock,
        stubs,
    };
    e.all(tracked_files);
    e.out
}

/// [`emit_source`] as tokens (for tests and tools; the macro hands the text to
/// rustc directly). The text always parses: it is built from validated parts.
pub fn emit(catalog: &Catalog, settings: &Settings, tracked_files: &[PathBuf]) -> TokenStream {
    emit_source(catalog, settings, tracked_files)
        .parse()
        .expect("generated code is valid Rust tokens")
}

struct Emitter<'a> {
    out: String,
    rt: String,
    catalog: &'a Catalog,
    /// The lock of released versions, when the catalog has one.
    lock: Option<&'a crate::evolution::Lock>,
    /// Stub types of the fields of unknown type.
    stubs: &'a [Stub],
}

/// A string as a Rust literal.
struct Lit<'a>(&'a str);

impl std::fmt::Display for Lit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// Doc text with a leading space on every line, as `///` comments have.
fn doc_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for (i, l) in s.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if !l.is_empty() {
            out.push(' ');
            out.push_str(l);
        }
    }
    out
}

impl Emitter<'_> {
    fn w(&mut self, s: &str) {
        self.out.push_str(s);
    }

    fn doc(&mut self, text: &str) {
        let _ = write!(self.out, "#[doc = {}]", Lit(&doc_text(text)));
    }

    fn all(&mut self, tracked: &[PathBuf]) {
        let _ = write!(
            self.out,
            "#[allow(unused_imports)] use {}::__private as {PRIVATE};",
            self.rt
        );
        self.stub_types();
        for t in &self.catalog.types {
            self.named_type(t);
        }
        for (ctx, events) in self.catalog.contexts() {
            self.context_module(ctx, &events);
        }
        self.names_module();
        self.any_event();
        self.event_infos();
        self.renames();
        self.examples();
        for p in tracked {
            let _ = write!(
                self.out,
                "const _: &[u8] = ::core::include_bytes!({});",
                Lit(&p.to_string_lossy())
            );
        }
    }

    /// The stub types: one per field of unknown type, and the names the
    /// author meant to declare as aliases of them.
    fn stub_types(&mut self) {
        let mut named: Vec<&str> = Vec::new();
        for (i, s) in self.stubs.iter().enumerate() {
            let _ = write!(
                self.out,
                "#[doc(hidden)] #[allow(dead_code)] pub type __SkcUnknown{i} = [(); ::core::compile_error!({})];",
                Lit(&s.message)
            );
            if let Some(n) = s.name.as_deref() {
                if !named.contains(&n) && self.catalog.named_type(n).is_none() {
                    named.push(n);
                    let _ = write!(
                        self.out,
                        "#[allow(dead_code)] pub type {n} = __SkcUnknown{i};"
                    );
                }
            }
        }
    }

    /// Writes the Rust type of field `f`: its stub when its type is unknown.
    fn field_ty(&mut self, f: &Field, up: &str) {
        match self.stubs.iter().position(|s| s.field == f.span) {
            Some(i) => {
                let _ = write!(self.out, "{up}__SkcUnknown{i}");
            }
            None => self.ty(&f.ty, up),
        }
    }

    /// Writes the Rust type of a field. `p` is the path prefix of the private
    /// module and of named types (`` or `super::`).
    fn ty(&mut self, t: &TypeRef, up: &str) {
        for _ in 0..usize::from(t.optional) {
            self.w("::core::option::Option<");
        }
        for _ in 0..t.list_depth {
            self.w("::std::vec::Vec<");
        }
        let _ = match &t.base {
            BaseType::String => write!(self.out, "::std::string::String"),
            BaseType::Int => write!(self.out, "i64"),
            BaseType::Number => write!(self.out, "f64"),
            BaseType::Bool => write!(self.out, "bool"),
            BaseType::Uuid => write!(self.out, "{up}{PRIVATE}::Uuid"),
            BaseType::DateTime => {
                write!(self.out, "{up}{PRIVATE}::DateTime<{up}{PRIVATE}::Utc>")
            }
            BaseType::Date => write!(self.out, "{up}{PRIVATE}::NaiveDate"),
            BaseType::Json => write!(self.out, "{up}{PRIVATE}::serde_json::Value"),
            BaseType::Named(n) => {
                let ident = self
                    .catalog
                    .named_type(n)
                    .map_or_else(|| n.clone(), |t| t.ident.clone());
                write!(self.out, "{up}{ident}")
            }
        };
        for _ in 0..t.list_depth {
            self.w(">");
        }
        if t.optional {
            self.w(">");
        }
    }

    /// The derive and crate attributes of every generated struct and enum
    /// (structs get their `Deserialize` from [`Self::objects_only`]).
    fn derives(&mut self, up: &str, extra: &str, deserialize: bool) {
        let p = format!("{up}{PRIVATE}");
        let de = if deserialize {
            format!("{p}::Deserialize, ")
        } else {
            String::new()
        };
        let _ = write!(
            self.out,
            "#[derive(::core::clone::Clone, ::core::cmp::PartialEq, {extra}{p}::Serialize, {de}{p}::JsonSchema)]\
             #[serde(crate = \"{up}{PRIVATE}::serde\")]#[schemars(crate = \"{up}{PRIVATE}::schemars\")]"
        );
    }

    /// `Deserialize` for a struct that accepts JSON objects only. serde's
    /// derive also takes a struct from a sequence, by position; here it is
    /// derived on a private mirror with the same fields (`remote`, so it builds
    /// the struct itself), called through a deserializer that refuses
    /// sequences. The struct keeps its derived `Serialize` and `JsonSchema`,
    /// so the exported schema does not change.
    fn objects_only(&mut self, name: &str, fields: &[Field], up: &str) {
        let p = format!("{up}{PRIVATE}");
        let mirror = name.trim_start_matches("r#");
        // The mirror's derived code builds the struct, naming its deprecated
        // fields: inside a block whose lint level allows that.
        let deprecated = evolution::any_deprecated(fields);
        if deprecated {
            self.w("#[allow(deprecated)] const _: () = {");
        }
        let _ = write!(
            self.out,
            "#[derive({p}::Deserialize)]#[allow(dead_code)]\
             #[serde(crate = \"{p}::serde\", remote = \"{name}\", rename = {})]\
             struct __SkcDe{mirror} {{",
            Lit(mirror)
        );
        // A missing `Option` field is `None` without `default`; a rename only
        // where the wire name is not the identifier.
        for f in fields {
            if f.name != f.ident {
                let _ = write!(self.out, "#[serde(rename = {})]", Lit(&f.name));
            }
            // A declared rename: payloads under the old name read too (the
            // generated upcast step of one version to the next is this).
            if let Some(old) = &f.renamed_from {
                let _ = write!(self.out, "#[serde(alias = {})]", Lit(old));
            }
            self.mirror_default(name, f);
            let _ = write!(self.out, "{}: ", f.ident);
            self.field_ty(f, up);
            self.w(",");
        }
        let _ = write!(
            self.out,
            "}} #[automatically_derived] impl<'de> {p}::Deserialize<'de> for {name} {{\
             fn deserialize<D: {p}::serde::Deserializer<'de>>(d: D) -> ::core::result::Result<Self, D::Error> {{\
             __SkcDe{mirror}::deserialize({p}::ObjectsOnly(d)) }} }}"
        );
        if deprecated {
            self.w("};");
        }
    }

    fn struct_def(&mut self, name: &str, doc: &str, fields: &[Field], up: &str, extra_attrs: &str) {
        let has_pii = fields.iter().any(|f| f.pii);
        self.doc(doc);
        // Without pii a derived Debug does; with pii a hand-written one redacts.
        self.derives(up, if has_pii { "" } else { "::core::fmt::Debug, " }, false);
        self.w(extra_attrs);
        let _ = write!(self.out, "pub struct {name} {{");
        for f in fields {
            // Only the catalog's description becomes the doc comment: schemars turns
            // doc comments into schema descriptions, and the exported schema agrees.
            // A deprecation's reason ends the schema description, as in the
            // exported schema.
            if let Some(d) = &f.description {
                self.doc(d);
            }
            if let Some(d) = schema::described(f.description.as_deref(), f.deprecated.as_deref()) {
                let _ = write!(self.out, "#[schemars(description = {})]", Lit(&d));
            }
            if let Some(reason) = &f.deprecated {
                self.w(&evolution::deprecated_attr(reason));
            }
            let _ = write!(self.out, "#[serde(rename = {}", Lit(&f.name));
            // The default function here is for schemars (`default`, not
            // required); decoding goes through the mirror.
            let default = match f.default {
                Some(_) => format!(" = {}", Lit(&evolution::default_fn(name, f))),
                None => String::new(),
            };
            if f.ty.optional {
                let _ = write!(
                    self.out,
                    ", default{default}, skip_serializing_if = \"::core::option::Option::is_none\""
                );
            } else if f.default.is_some() {
                let _ = write!(self.out, ", default{default}");
            }
            self.w(")]");
            if f.pii {
                self.w("#[schemars(extend(\"x-pii\" = true))]");
            }
            let _ = write!(self.out, "pub {}: ", f.ident);
            self.field_ty(f, up);
            self.w(",");
        }
        self.w("}");
        self.objects_only(name, fields, up);
        self.default_fns(name, fields, up);
        if has_pii {
            if evolution::any_deprecated(fields) {
                self.w("#[allow(deprecated)]");
            }
            let _ = write!(
                self.out,
                "#[automatically_derived] impl ::core::fmt::Debug for {name} {{\
                 fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {{\
                 f.debug_struct({})",
                Lit(name)
            );
            for f in fields {
                let label = f.ident.trim_start_matches("r#");
                if f.pii {
                    let _ = write!(self.out, ".field({}, &{up}{PRIVATE}::Redacted)", Lit(label));
                } else {
                    let _ = write!(self.out, ".field({}, &self.{})", Lit(label), f.ident);
                }
            }
            self.w(".finish() } }");
        }
    }

    fn named_type(&mut self, t: &NamedType) {
        match &t.kind {
            TypeKind::Struct(fields) => self.struct_def(&t.ident, &t.description, fields, "", ""),
            TypeKind::Enum(values) => {
                let name = &t.ident;
                self.doc(&t.description);
                self.derives(
                    "",
                    "::core::marker::Copy, ::core::fmt::Debug, ::core::cmp::Eq, ::core::hash::Hash, ::core::cmp::PartialOrd, ::core::cmp::Ord, ",
                    true,
                );
                // No doc comments on variants: schemars would then describe the enum
                // as a `oneOf` of constants instead of a plain `enum` list.
                let _ = write!(self.out, "pub enum {name} {{");
                for v in values {
                    let _ = write!(
                        self.out,
                        "#[serde(rename = {})] {},",
                        Lit(&v.value),
                        v.ident
                    );
                }
                let _ = write!(
                    self.out,
                    "}} impl {name} {{\
                     #[doc = \" Every value, in catalog order.\"] pub const ALL: &'static [Self] = &["
                );
                for v in values {
                    let _ = write!(self.out, "Self::{},", v.ident);
                }
                self.w("]; #[doc = \" The value as written on the wire.\"] pub const fn as_str(&self) -> &'static str {");
                if values.is_empty() {
                    self.w("match *self {}");
                } else {
                    self.w("match self {");
                    for v in values {
                        let _ = write!(self.out, "Self::{} => {},", v.ident, Lit(&v.value));
                    }
                    self.w("}");
                }
                let _ = write!(
                    self.out,
                    "}} }} #[automatically_derived] impl ::core::fmt::Display for {name} {{\
                     fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {{ f.write_str(self.as_str()) }} }}"
                );
            }
        }
    }

    fn context_module(&mut self, ctx: &str, events: &[&EventDef]) {
        self.doc(&format!("Events of the `{ctx}` context."));
        // Its items name its deprecated events and fields: no warnings here.
        if events
            .iter()
            .any(|e| e.deprecated.is_some() || evolution::any_deprecated(&e.fields))
        {
            self.w("#[allow(deprecated)]");
        }
        let _ = write!(self.out, "pub mod {} {{", events[0].idents.module);
        for e in events {
            self.event_struct(e);
        }
        self.version_modules(events);
        self.w("}");
    }

    fn event_struct(&mut self, e: &EventDef) {
        let mut doc = e.description.clone();
        let _ = write!(
            doc,
            "\n\nEvent `{}`, version {}; aggregate `{}` identified by `{}`.",
            e.name, e.version, e.aggregate, e.aggregate_id
        );
        if !e.handlers.is_empty() {
            doc.push_str("\n\nDeclared handlers: ");
            for (i, h) in e.handlers.iter().enumerate() {
                if i > 0 {
                    doc.push_str(", ");
                }
                let _ = write!(doc, "`{h}`");
            }
            doc.push('.');
        }
        let description = schema::described(Some(&e.description), e.deprecated.as_deref());
        let mut attrs = format!(
            "#[schemars(title = {}, description = {}, extend(\"x-event\" = {}, \"x-version\" = {}))]",
            Lit(&e.name),
            Lit(description.as_deref().unwrap_or_default()),
            Lit(&e.name),
            e.version
        );
        if let Some(reason) = &e.deprecated {
            attrs.push_str(&evolution::deprecated_attr(reason));
        }
        let name = e.idents.type_name.clone();
        self.struct_def(&name, &doc, &e.fields, "super::", &attrs);
        let idx = self
            .catalog
            .events
            .binary_search_by(|x| x.name.cmp(&e.name))
            .expect("event comes from this catalog");
        let aggregate_id = match e.fields.iter().find(|f| f.name == e.aggregate_id) {
            Some(f) => format!("::std::string::ToString::to_string(&self.{})", f.ident),
            None => "::std::string::String::new()".into(),
        };
        let rt = &self.rt;
        let _ = write!(
            self.out,
            "#[automatically_derived] impl {rt}::Event for {name} {{\
             const NAME: &'static str = {};\
             const CONTEXT: &'static str = {};\
             const AGGREGATE: &'static str = {};\
             const ACTION: &'static str = {};\
             const VERSION: u32 = {};\
             const AGGREGATE_ID_FIELD: &'static str = {};\
             fn aggregate_id(&self) -> ::std::string::String {{ {aggregate_id} }}\
             fn info() -> &'static {rt}::EventInfo {{ &super::EVENTS[{idx}] }}",
            Lit(&e.name),
            Lit(&e.context),
            Lit(&e.aggregate),
            Lit(&e.action),
            e.version,
            Lit(&e.aggregate_id),
        );
        self.versioned_decode(e);
        self.tenant_fn(e);
        self.w("}");
        self.tenant_marker(e);
    }

    /// `#[allow(deprecated)]` when the catalog deprecates an event (for the
    /// items that name every event), else nothing.
    fn allow_deprecated(&self) -> &'static str {
        if self.catalog.events.iter().any(|e| e.deprecated.is_some()) {
            "#[allow(deprecated)]"
        } else {
            ""
        }
    }

    fn names_module(&mut self) {
        self.w(
            "#[doc = \" The name of every event in the catalog, as constants.\"] pub mod names {",
        );
        for e in &self.catalog.events {
            let first = e.description.lines().next().unwrap_or("");
            let deprecated = e
                .deprecated
                .as_deref()
                .map(evolution::deprecated_attr)
                .unwrap_or_default();
            let _ = write!(
                self.out,
                "#[doc = {}]{deprecated} pub const {}: &str = {};",
                Lit(&format!(" `{}`: {first}", e.name)),
                e.idents.constant,
                Lit(&e.name)
            );
        }
        let allow = self.allow_deprecated();
        let _ = write!(
            self.out,
            "#[doc = \" Every event name, sorted.\"]{allow} pub const ALL: &[&str] = &["
        );
        for e in &self.catalog.events {
            let _ = write!(self.out, "{},", e.idents.constant);
        }
        self.w("]; }");
    }

    /// One `FieldInfo` entry; `fields` is the path prefix of the struct types'
    /// field lists (see [`Self::struct_fields`]).
    fn field_info(&mut self, f: &Field, fields: &str) {
        let _ = write!(
            self.out,
            "{}::FieldInfo::new({}, {}, {}, {}, {}, {})",
            self.rt,
            Lit(&f.name),
            Lit(f.ident.trim_start_matches("r#")),
            Lit(&f.ty.to_string()),
            f.ty.optional,
            f.pii,
            Lit(f.description.as_deref().unwrap_or("")),
        );
        if let BaseType::Named(n) = &f.ty.base {
            if let Some(NamedType {
                kind: TypeKind::Struct(_),
                ident,
                ..
            }) = self.catalog.named_type(n)
            {
                let _ = write!(self.out, ".with_fields({fields}{ident})");
            }
        }
        self.w(",");
    }

    /// The runtime field list of every struct type, one constant each named as
    /// the type, so `FieldInfo`s of struct-typed fields can nest them (the
    /// catalog forbids recursive types: the constants form no cycle).
    fn struct_fields(&mut self) {
        let rt = self.rt.clone();
        self.w("#[doc(hidden)] #[allow(non_upper_case_globals)] pub mod __skc_fields {");
        for t in &self.catalog.types {
            if let TypeKind::Struct(fields) = &t.kind {
                let _ = write!(self.out, "pub const {}: &[{rt}::FieldInfo] = &[", t.ident);
                for f in fields {
                    self.field_info(f, "");
                }
                self.w("];");
            }
        }
        self.w("}");
    }

    fn event_infos(&mut self) {
        let rt = self.rt.clone();
        let _ = write!(
            self.out,
            "#[doc = \" The runtime catalog: every event with its fields and declared handlers, sorted by name.\"]\
             pub static EVENTS: &[{rt}::EventInfo] = &["
        );
        for e in &self.catalog.events {
            let _ = write!(
                self.out,
                "{rt}::EventInfo {{ name: {}, context: {}, aggregate: {}, action: {}, version: {}, aggregate_id: {}, description: {}, fields: &[",
                Lit(&e.name),
                Lit(&e.context),
                Lit(&e.aggregate),
                Lit(&e.action),
                e.version,
                Lit(&e.aggregate_id),
                Lit(&e.description),
            );
            for f in &e.fields {
                self.field_info(f, "__skc_fields::");
            }
            self.w("], handlers: &[");
            for h in &e.handlers {
                let _ = write!(self.out, "{},", Lit(h));
            }
            self.w("] },");
        }
        let _ = write!(
            self.out,
            "];\
             #[doc = \" Looks an event up in [`EVENTS`] by name.\"]\
             pub fn event_info(name: &str) -> ::core::option::Option<&'static {rt}::EventInfo> {{\
             EVENTS.binary_search_by(|e| e.name.cmp(name)).ok().map(|i| &EVENTS[i]) }}\
             #[{rt}::__private::linkme::distributed_slice({rt}::__private::CATALOGS)]\
             #[linkme(crate = {rt}::__private::linkme)]\
             static __SKC_CATALOG: fn() -> &'static [{rt}::EventInfo] = || EVENTS;"
        );
        self.struct_fields();
    }
}

/// The Rust identifier text of a catalog name, for tools that print paths.
pub fn module_ident(context: &str) -> String {
    naming::rust_ident(context)
}
