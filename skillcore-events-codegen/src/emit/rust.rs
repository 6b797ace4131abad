//! Emitter: the validated model -> Rust items (what `catalog!` expands to).
//!
//! A pure function of the model and the settings: no YAML, no validation, no I/O.
//! Every path into other crates is absolute and goes through the runtime crate's
//! hidden `__private` module, so users depend on `skillcore-events` alone; std
//! items are named by absolute path too, so a catalog type called `Option` or
//! `String` cannot shadow them.

use crate::model::*;
use crate::settings::Settings;
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;

/// Makes an identifier from a model identifier string (`r#type` becomes a raw one).
fn ident(s: &str) -> Ident {
    match s.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(s, Span::call_site()),
    }
}

struct Emitter<'a> {
    rt: TokenStream,
    serde_crate: String,
    schemars_crate: String,
    catalog: &'a Catalog,
}

/// Expands a catalog into the items `catalog!` generates.
pub fn emit(
    catalog: &Catalog,
    settings: &Settings,
    tracked_files: &[std::path::PathBuf],
) -> TokenStream {
    let rt = settings.runtime_path_tokens();
    let rt_text = rt.to_string().replace(' ', "");
    let e = Emitter {
        serde_crate: format!("{rt_text}::__private::serde"),
        schemars_crate: format!("{rt_text}::__private::schemars"),
        rt,
        catalog,
    };
    let types = catalog.types.iter().map(|t| e.named_type(t));
    let modules = catalog
        .contexts()
        .into_iter()
        .map(|(ctx, events)| e.context_module(ctx, &events));
    let names = e.names_module();
    let any = e.any_event();
    let infos = e.event_infos();
    let tracked = tracked_files.iter().map(|p| {
        let lit = Literal::string(&p.to_string_lossy());
        quote! { const _: &[u8] = ::core::include_bytes!(#lit); }
    });
    quote! {
        #(#types)*
        #(#modules)*
        #names
        #any
        #infos
        #(#tracked)*
    }
}

impl Emitter<'_> {
    fn ty(&self, t: &TypeRef, in_module: bool) -> TokenStream {
        let rt = &self.rt;
        let mut out = match &t.base {
            BaseType::String => quote!(::std::string::String),
            BaseType::Int => quote!(i64),
            BaseType::Number => quote!(f64),
            BaseType::Bool => quote!(bool),
            BaseType::Uuid => quote!(#rt::__private::Uuid),
            BaseType::DateTime => quote!(#rt::__private::DateTime<#rt::__private::Utc>),
            BaseType::Date => quote!(#rt::__private::NaiveDate),
            BaseType::Json => quote!(#rt::__private::serde_json::Value),
            BaseType::Named(n) => {
                let id = ident(
                    &self
                        .catalog
                        .named_type(n)
                        .map_or_else(|| n.clone(), |t| t.ident.clone()),
                );
                if in_module {
                    quote!(super::#id)
                } else {
                    quote!(#id)
                }
            }
        };
        for _ in 0..t.list_depth {
            out = quote!(::std::vec::Vec<#out>);
        }
        if t.optional {
            out = quote!(::core::option::Option<#out>);
        }
        out
    }

    fn struct_def(
        &self,
        name: &Ident,
        doc: &str,
        fields: &[Field],
        in_module: bool,
        extra_attrs: TokenStream,
    ) -> TokenStream {
        let rt = &self.rt;
        let serde_crate = &self.serde_crate;
        let schemars_crate = &self.schemars_crate;
        let defs = fields.iter().map(|f| {
            let id = ident(&f.ident);
            let ty = self.ty(&f.ty, in_module);
            let wire = &f.name;
            // Only the catalog's description becomes the doc comment: schemars turns doc
            // comments into schema descriptions, and the exported schema must agree.
            let doc = f
                .description
                .as_deref()
                .map(doc_text)
                .map(|d| quote!(#[doc = #d]));
            let optional = if f.ty.optional {
                quote!(#[serde(default, skip_serializing_if = "::core::option::Option::is_none")])
            } else {
                quote!()
            };
            let pii = if f.pii {
                quote!(#[schemars(extend("x-pii" = true))])
            } else {
                quote!()
            };
            let desc = match &f.description {
                Some(d) => quote!(#[schemars(description = #d)]),
                None => quote!(),
            };
            quote! {
                #doc
                #[serde(rename = #wire)]
                #optional
                #desc
                #pii
                pub #id: #ty,
            }
        });
        let debug_fields = fields.iter().map(|f| {
            let id = ident(&f.ident);
            let label = f.ident.trim_start_matches("r#");
            if f.pii {
                quote!(.field(#label, &#rt::__private::Redacted))
            } else {
                quote!(.field(#label, &self.#id))
            }
        });
        let name_str = name.to_string();
        let doc = doc_text(doc);
        quote! {
            #[doc = #doc]
            #[derive(::core::clone::Clone, ::core::cmp::PartialEq, #rt::__private::Serialize, #rt::__private::Deserialize, #rt::__private::JsonSchema)]
            #[serde(crate = #serde_crate)]
            #[schemars(crate = #schemars_crate)]
            #extra_attrs
            pub struct #name {
                #(#defs)*
            }

            #[automatically_derived]
            impl ::core::fmt::Debug for #name {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.debug_struct(#name_str)
                        #(#debug_fields)*
                        .finish()
                }
            }
        }
    }

    fn named_type(&self, t: &NamedType) -> TokenStream {
        let name = ident(&t.ident);
        match &t.kind {
            TypeKind::Struct(fields) => {
                self.struct_def(&name, &t.description, fields, false, quote!())
            }
            TypeKind::Enum(values) => {
                let rt = &self.rt;
                let serde_crate = &self.serde_crate;
                let schemars_crate = &self.schemars_crate;
                let variants = values.iter().map(|v| {
                    let id = ident(&v.ident);
                    let wire = &v.value;
                    // No doc comments on variants: schemars would then describe the enum
                    // as a `oneOf` of constants instead of a plain `enum` list.
                    quote!(#[serde(rename = #wire)] #id,)
                });
                let all = values.iter().map(|v| {
                    let id = ident(&v.ident);
                    quote!(Self::#id)
                });
                let as_str = values.iter().map(|v| {
                    let id = ident(&v.ident);
                    let wire = &v.value;
                    quote!(Self::#id => #wire,)
                });
                let as_str_body = if values.is_empty() {
                    quote!(match *self {})
                } else {
                    quote!(match self { #(#as_str)* })
                };
                let doc = doc_text(&t.description);
                quote! {
                    #[doc = #doc]
                    #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug, ::core::cmp::PartialEq, ::core::cmp::Eq, ::core::hash::Hash, ::core::cmp::PartialOrd, ::core::cmp::Ord, #rt::__private::Serialize, #rt::__private::Deserialize, #rt::__private::JsonSchema)]
                    #[serde(crate = #serde_crate)]
                    #[schemars(crate = #schemars_crate)]
                    pub enum #name {
                        #(#variants)*
                    }

                    #[automatically_derived]
                    impl #name {
                        /// Every value, in catalog order.
                        pub const ALL: &'static [Self] = &[#(#all),*];

                        /// The value as written on the wire.
                        pub const fn as_str(&self) -> &'static str {
                            #as_str_body
                        }
                    }

                    #[automatically_derived]
                    impl ::core::fmt::Display for #name {
                        fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                            f.write_str(self.as_str())
                        }
                    }
                }
            }
        }
    }

    fn context_module(&self, ctx: &str, events: &[&EventDef]) -> TokenStream {
        let module = ident(&events[0].idents.module);
        let doc = format!(" Events of the `{ctx}` context.");
        let items = events.iter().map(|e| self.event_struct(e));
        quote! {
            #[doc = #doc]
            pub mod #module {
                #(#items)*
            }
        }
    }

    fn event_index(&self, e: &EventDef) -> usize {
        self.catalog
            .events
            .iter()
            .position(|x| x.name == e.name)
            .expect("event comes from this catalog")
    }

    fn event_struct(&self, e: &EventDef) -> TokenStream {
        let rt = &self.rt;
        let name = ident(&e.idents.type_name);
        let mut doc = e.description.clone();
        doc.push_str(&format!(
            "\n\nEvent `{}`, version {}; aggregate `{}` identified by `{}`.",
            e.name, e.version, e.aggregate, e.aggregate_id
        ));
        if !e.handlers.is_empty() {
            doc.push_str("\n\nDeclared handlers: ");
            doc.push_str(
                &e.handlers
                    .iter()
                    .map(|h| format!("`{h}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            doc.push('.');
        }
        let title = &e.name;
        let version = e.version;
        let attrs =
            quote!(#[schemars(title = #title, extend("x-event" = #title, "x-version" = #version))]);
        let def = self.struct_def(&name, &doc, &e.fields, true, attrs);
        let (ev_name, context, aggregate, action) = (&e.name, &e.context, &e.aggregate, &e.action);
        let idx = self.event_index(e);
        let aggregate_id = match e.fields.iter().find(|f| f.name == e.aggregate_id) {
            Some(f) => {
                let id = ident(&f.ident);
                quote!(::std::string::ToString::to_string(&self.#id))
            }
            None => quote!(::std::string::String::new()),
        };
        let aggregate_id_field = &e.aggregate_id;
        quote! {
            #def

            #[automatically_derived]
            impl #rt::Event for #name {
                const NAME: &'static str = #ev_name;
                const CONTEXT: &'static str = #context;
                const AGGREGATE: &'static str = #aggregate;
                const ACTION: &'static str = #action;
                const VERSION: u32 = #version;
                const AGGREGATE_ID_FIELD: &'static str = #aggregate_id_field;

                fn aggregate_id(&self) -> ::std::string::String {
                    #aggregate_id
                }

                fn info() -> &'static #rt::EventInfo {
                    &super::EVENTS[#idx]
                }
            }
        }
    }

    fn names_module(&self) -> TokenStream {
        let consts = self.catalog.events.iter().map(|e| {
            let id = ident(&e.idents.constant);
            let name = &e.name;
            let doc = format!(" `{name}`: {}", first_line(&e.description));
            quote!(#[doc = #doc] pub const #id: &str = #name;)
        });
        let all = self
            .catalog
            .events
            .iter()
            .map(|e| ident(&e.idents.constant));
        quote! {
            /// The name of every event in the catalog, as constants.
            pub mod names {
                #(#consts)*
                /// Every event name, sorted.
                pub const ALL: &[&str] = &[#(#all),*];
            }
        }
    }

    fn path_to(&self, e: &EventDef) -> TokenStream {
        let m = ident(&e.idents.module);
        let t = ident(&e.idents.type_name);
        quote!(#m::#t)
    }

    fn any_event(&self) -> TokenStream {
        let rt = &self.rt;
        let events = &self.catalog.events;
        let variants: Vec<Ident> = events.iter().map(|e| ident(&e.idents.variant)).collect();
        let consts: Vec<Ident> = events.iter().map(|e| ident(&e.idents.constant)).collect();
        let paths: Vec<TokenStream> = events.iter().map(|e| self.path_to(e)).collect();
        let docs = events.iter().map(|e| format!(" `{}`", e.name));
        let catalog_name = &self.catalog.name;
        let indices = 0..events.len();
        let self_match = |arms: TokenStream| {
            if events.is_empty() {
                quote!(match *self {})
            } else {
                quote!(match self { #arms })
            }
        };
        let name_body = self_match(quote!(#(Self::#variants(_) => names::#consts,)*));
        let info_body = self_match(quote!(#(Self::#variants(_) => &EVENTS[#indices],)*));
        let agg_body = self_match(quote!(#(Self::#variants(p) => #rt::Event::aggregate_id(p),)*));
        let ser_body = if events.is_empty() {
            quote!(match *self {})
        } else {
            quote!(match self { #(Self::#variants(p) => #rt::__private::Serialize::serialize(p, serializer),)* })
        };
        quote! {
            /// Any event of the catalog, tagged by its name.
            ///
            /// Serializes to the payload JSON alone; the name travels beside it (in the
            /// envelope), which is why decoding takes both.
            #[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::cmp::PartialEq)]
            pub enum AnyEvent {
                #(#[doc = #docs] #variants(#paths),)*
            }

            #[automatically_derived]
            impl AnyEvent {
                /// The name of the catalog these events come from.
                pub const CATALOG: &'static str = #catalog_name;

                /// Decodes the payload JSON of the event called `name`.
                ///
                /// An unknown name and a payload that does not match are distinct
                /// errors, and both name the event (and the field, for a bad payload).
                pub fn from_json(name: &str, json: &str) -> ::core::result::Result<Self, #rt::DecodeError> {
                    match name {
                        #(names::#consts => #rt::__private::decode_json::<#paths>(json).map(Self::#variants),)*
                        _ => ::core::result::Result::Err(#rt::DecodeError::unknown_event(name, names::ALL)),
                    }
                }

                /// Decodes an already parsed payload of the event called `name`.
                pub fn from_value(name: &str, value: #rt::__private::serde_json::Value) -> ::core::result::Result<Self, #rt::DecodeError> {
                    match name {
                        #(names::#consts => #rt::__private::decode_value::<#paths>(value).map(Self::#variants),)*
                        _ => ::core::result::Result::Err(#rt::DecodeError::unknown_event(name, names::ALL)),
                    }
                }

                /// The event's name, for example `gradebook.grade.posted`.
                pub fn name(&self) -> &'static str {
                    #name_body
                }

                /// The event's entry in [`EVENTS`].
                pub fn info(&self) -> &'static #rt::EventInfo {
                    #info_body
                }

                /// The id of the aggregate the event is about.
                pub fn aggregate_id(&self) -> ::std::string::String {
                    #agg_body
                }

                /// The payload as JSON text.
                pub fn to_json(&self) -> ::core::result::Result<::std::string::String, #rt::__private::serde_json::Error> {
                    #rt::__private::serde_json::to_string(self)
                }

                /// The payload as a JSON value.
                pub fn to_value(&self) -> ::core::result::Result<#rt::__private::serde_json::Value, #rt::__private::serde_json::Error> {
                    #rt::__private::serde_json::to_value(self)
                }
            }

            #[automatically_derived]
            impl #rt::__private::Serialize for AnyEvent {
                fn serialize<S>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error>
                where
                    S: #rt::__private::Serializer,
                {
                    #ser_body
                }
            }

            #(
                #[automatically_derived]
                impl ::core::convert::From<#paths> for AnyEvent {
                    fn from(payload: #paths) -> Self {
                        Self::#variants(payload)
                    }
                }
            )*

            #[automatically_derived]
            impl #rt::EventSet for AnyEvent {
                const CATALOG: &'static str = #catalog_name;

                fn events() -> &'static [#rt::EventInfo] {
                    EVENTS
                }

                fn from_json(name: &str, json: &str) -> ::core::result::Result<Self, #rt::DecodeError> {
                    AnyEvent::from_json(name, json)
                }

                fn from_value(name: &str, value: #rt::__private::serde_json::Value) -> ::core::result::Result<Self, #rt::DecodeError> {
                    AnyEvent::from_value(name, value)
                }

                fn name(&self) -> &'static str {
                    AnyEvent::name(self)
                }
            }
        }
    }

    fn event_infos(&self) -> TokenStream {
        let rt = &self.rt;
        let infos = self.catalog.events.iter().map(|e| {
            let fields = e.fields.iter().map(|f| {
                let (name, rust_name, ty) =
                    (&f.name, f.ident.trim_start_matches("r#"), f.ty.to_string());
                let (optional, pii) = (f.ty.optional, f.pii);
                let description = f.description.clone().unwrap_or_default();
                quote! {
                    #rt::FieldInfo {
                        name: #name,
                        rust_name: #rust_name,
                        ty: #ty,
                        optional: #optional,
                        pii: #pii,
                        description: #description,
                    }
                }
            });
            let handlers = &e.handlers;
            let (name, context, aggregate, action, aggregate_id, description) = (
                &e.name,
                &e.context,
                &e.aggregate,
                &e.action,
                &e.aggregate_id,
                &e.description,
            );
            let version = e.version;
            quote! {
                #rt::EventInfo {
                    name: #name,
                    context: #context,
                    aggregate: #aggregate,
                    action: #action,
                    version: #version,
                    aggregate_id: #aggregate_id,
                    description: #description,
                    fields: &[#(#fields),*],
                    handlers: &[#(#handlers),*],
                }
            }
        });
        quote! {
            /// The runtime catalog: every event with its fields and declared handlers,
            /// sorted by name.
            pub static EVENTS: &[#rt::EventInfo] = &[#(#infos),*];

            /// Looks an event up in [`EVENTS`] by name.
            pub fn event_info(name: &str) -> ::core::option::Option<&'static #rt::EventInfo> {
                EVENTS
                    .binary_search_by(|e| e.name.cmp(name))
                    .ok()
                    .map(|i| &EVENTS[i])
            }
        }
    }
}

/// Doc text with a leading space on every line, as `///` comments have.
fn doc_text(s: &str) -> String {
    s.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!(" {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}
