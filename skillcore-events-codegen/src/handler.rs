//! The `#[handler]` attribute: parse its arguments and the function signature,
//! check the event name against the catalog, and emit the registration entry.
//!
//! ```text
//! #[skillcore_events::handler("gradebook.grade.posted", name = "analytics.update_gpa",
//!                             retries = 5, backoff = "500ms", timeout = "10s", ordered)]
//! async fn update_gpa(event: &Envelope<gradebook::GradePosted>, ctx: &AnalyticsCtx)
//!     -> Result<(), HandlerError> { ... }
//! ```
//!
//! The function is left as written (it can still be called directly, in unit
//! tests for example); beside it the macro emits
//!
//! - a compile-time assertion that the named event and the payload type agree;
//! - one entry of the link-time table `skillcore_events::__private::HANDLERS`
//!   (event, id, options (`ordered`, a bare flag, sets `HandlerOptions::ordered`),
//!   state type, a constructor of the type-erased handler);
//! - `include_bytes!` of the catalog files, so editing them re-checks handlers.
//!
//! The catalog is found by [`locate`]: the attribute's `catalog = "…"`, the
//! `SKILLCORE_EVENTS_CATALOG` variable, the crate's
//! `[package.metadata.skillcore-events]`, or `catalog`.
//!
//! Misuse (not `async`, no event parameter, a wrong return type, an unknown
//! event) is reported at the offending tokens; the function is still emitted,
//! so the only error is the one that matters.

use crate::diag::{Diagnostic, Rule};
use crate::model::Catalog;
use crate::naming::did_you_mean;
use crate::settings::{Settings, DEFAULT_CATALOG};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use std::path::PathBuf;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, ItemFn, LitInt, LitStr, PathArguments, ReturnType, Token, Type};

pub mod locate;

/// The option keys the attribute accepts.
pub const OPTIONS: &[&str] = &[
    "name", "retries", "backoff", "timeout", "ordered", "catalog",
];

/// The parsed attribute arguments.
#[derive(Default)]
pub struct HandlerArgs {
    /// The event name, when given (`#[handler]` alone takes it from the type).
    pub event: Option<LitStr>,
    /// `name = "…"`: the stable handler id.
    pub name: Option<LitStr>,
    /// `retries = N`: retries after the first attempt.
    pub retries: Option<LitInt>,
    /// `backoff = "500ms"`: the first retry delay.
    pub backoff: Option<LitStr>,
    /// `timeout = "10s"`: the per-attempt limit.
    pub timeout: Option<LitStr>,
    /// `ordered` (a bare flag): the events of one aggregate are handled one at
    /// a time, in publish order. Holds the flag's identifier when given.
    pub ordered: Option<syn::Ident>,
    /// `catalog = "path"`: the catalog to check the name against.
    pub catalog: Option<LitStr>,
}

impl Parse for HandlerArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut args = HandlerArgs::default();
        if input.is_empty() {
            return Ok(args);
        }
        if input.peek(LitStr) {
            args.event = Some(input.parse()?);
            if input.is_empty() {
                return Ok(args);
            }
            input.parse::<Token![,]>()?;
        }
        while !input.is_empty() {
            let key: syn::Ident = input.parse()?;
            let k = key.to_string();
            let dup = |present: bool| -> syn::Result<()> {
                if present {
                    Err(syn::Error::new(key.span(), format!("`{k}` is given twice")))
                } else {
                    Ok(())
                }
            };
            if k == "ordered" {
                dup(args.ordered.is_some())?;
                if !(input.is_empty() || input.peek(Token![,])) {
                    return Err(syn::Error::new(
                        key.span(),
                        "`ordered` is a flag and takes no value: write `ordered` to handle the \
                         events of one aggregate in publish order, or leave it out",
                    ));
                }
                args.ordered = Some(key);
                if input.is_empty() {
                    break;
                }
                input.parse::<Token![,]>()?;
                continue;
            }
            input.parse::<Token![=]>()?;
            match k.as_str() {
                "name" => {
                    dup(args.name.is_some())?;
                    args.name = Some(input.parse()?);
                }
                "retries" => {
                    dup(args.retries.is_some())?;
                    args.retries = Some(input.parse()?);
                }
                "backoff" => {
                    dup(args.backoff.is_some())?;
                    args.backoff = Some(input.parse()?);
                }
                "timeout" => {
                    dup(args.timeout.is_some())?;
                    args.timeout = Some(input.parse()?);
                }
                "catalog" => {
                    dup(args.catalog.is_some())?;
                    args.catalog = Some(input.parse()?);
                }
                other => {
                    let mut msg = format!(
                        "unknown handler option `{other}`; the options are: {}",
                        OPTIONS
                            .iter()
                            .map(|o| format!("`{o}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    if let Some(s) = did_you_mean(other, OPTIONS.iter().copied()) {
                        msg.push_str(&format!(" (did you mean `{s}`?)"));
                    }
                    return Err(syn::Error::new(key.span(), msg));
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(args)
    }
}

/// Parses a duration such as `500ms`, `2s`, `1m`, `1h` or `250us` into
/// nanoseconds.
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || {
        format!("invalid duration `{text}`: write a number and a unit, such as `500ms`, `2s`, `1m`")
    };
    let value: f64 = num.parse().map_err(|_| bad())?;
    let scale: f64 = match unit.trim() {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        _ => return Err(bad()),
    };
    let nanos = value * scale;
    if !nanos.is_finite() || nanos < 0.0 || nanos > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(nanos.round() as u64)
}

/// What the handler's parameters after the envelope are.
enum Extra {
    /// `&HandlerContext`.
    Context,
    /// `&State`: the shared state.
    State,
}

/// The signature, understood.
struct Signature<'a> {
    payload: &'a Type,
    extras: Vec<Extra>,
    state: Option<&'a Type>,
    return_span: Span,
}

fn last_segment_is(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == name),
        Type::Group(g) => last_segment_is(&g.elem, name),
        Type::Paren(p) => last_segment_is(&p.elem, name),
        _ => false,
    }
}

fn envelope_payload(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = ty else {
        return match ty {
            Type::Group(g) => envelope_payload(&g.elem),
            Type::Paren(p) => envelope_payload(&p.elem),
            _ => None,
        };
    };
    let seg = p.path.segments.last()?;
    if seg.ident != "Envelope" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &seg.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|a| match a {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    });
    let first = types.next()?;
    types.next().is_none().then_some(first)
}

const SHAPE: &str = "async fn handle(event: &Envelope<Payload>[, state: &State][, cx: &HandlerContext]) -> Result<(), HandlerError>";

fn analyse(f: &ItemFn) -> Result<Signature<'_>, syn::Error> {
    let sig = &f.sig;
    let mut errors: Vec<syn::Error> = Vec::new();
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new(
            sig.fn_token.span(),
            format!("a handler must be an `async fn`: the bus awaits it\n  expected: {SHAPE}"),
        ));
    }
    if !sig.generics.params.is_empty() {
        errors.push(syn::Error::new(
            sig.generics.span(),
            "a handler cannot be generic: the payload type names its event",
        ));
    }
    let return_span = match &sig.output {
        ReturnType::Default => {
            errors.push(syn::Error::new(
                sig.ident.span(),
                format!(
                    "a handler must return `Result<(), HandlerError>`, so that failures are retried\n  expected: {SHAPE}"
                ),
            ));
            sig.ident.span()
        }
        ReturnType::Type(_, ty) => {
            if !last_segment_is(ty, "Result") {
                errors.push(syn::Error::new(
                    ty.span(),
                    format!(
                        "a handler must return `Result<(), HandlerError>`, not `{}`",
                        ty.to_token_stream()
                            .to_string()
                            .replace(" < ", "<")
                            .replace(" >", ">")
                    ),
                ));
            }
            ty.span()
        }
    };
    let mut inputs = sig.inputs.iter();
    let payload = match inputs.next() {
        None => {
            errors.push(syn::Error::new(
                sig.paren_token.span.join(),
                format!(
                    "a handler takes the event as its first parameter, such as `event: &Envelope<gradebook::GradePosted>`\n  expected: {SHAPE}"
                ),
            ));
            None
        }
        Some(FnArg::Receiver(r)) => {
            errors.push(syn::Error::new(
                r.span(),
                "a handler is a free function, not a method",
            ));
            None
        }
        Some(FnArg::Typed(pt)) => {
            let payload = match &*pt.ty {
                Type::Reference(r) if r.mutability.is_none() => envelope_payload(&r.elem),
                _ => None,
            };
            if payload.is_none() {
                errors.push(syn::Error::new(
                    pt.ty.span(),
                    format!(
                        "the first parameter of a handler must be `&Envelope<Payload>`, found `{}`",
                        pt.ty.to_token_stream()
                    ),
                ));
            }
            payload
        }
    };
    let mut extras = Vec::new();
    let mut state: Option<&Type> = None;
    let mut context_seen = false;
    for arg in inputs {
        let FnArg::Typed(pt) = arg else {
            errors.push(syn::Error::new(arg.span(), "unexpected `self`"));
            continue;
        };
        let Type::Reference(r) = &*pt.ty else {
            errors.push(syn::Error::new(
                pt.ty.span(),
                "handler parameters after the event are shared references: `&State` or `&HandlerContext`",
            ));
            continue;
        };
        if r.mutability.is_some() {
            errors.push(syn::Error::new(
                pt.ty.span(),
                "state is shared between concurrent handler runs: take `&State`, not `&mut State`",
            ));
            continue;
        }
        if last_segment_is(&r.elem, "HandlerContext") {
            if context_seen {
                errors.push(syn::Error::new(
                    pt.ty.span(),
                    "`&HandlerContext` is taken twice",
                ));
            }
            context_seen = true;
            extras.push(Extra::Context);
        } else if state.is_some() {
            errors.push(syn::Error::new(
                pt.ty.span(),
                "a handler takes at most one state parameter: group what it needs in one type",
            ));
        } else {
            state = Some(&r.elem);
            extras.push(Extra::State);
        }
    }
    let mut errors = errors.into_iter();
    if let Some(mut all) = errors.next() {
        for e in errors {
            all.combine(e);
        }
        return Err(all);
    }
    let Some(payload) = payload else {
        return Err(syn::Error::new(
            sig.ident.span(),
            "a handler needs an event parameter",
        ));
    };
    Ok(Signature {
        payload,
        extras,
        state,
        return_span,
    })
}

/// The catalog check of an explicit event name: `Ok(tokens)` holds the
/// catalog file tracking and the payload agreement assertion.
fn check_event(
    lit: &LitStr,
    catalog_arg: Option<&LitStr>,
    fn_name: &syn::Ident,
    payload: &Type,
    base_dir: Option<&PathBuf>,
) -> Result<TokenStream, syn::Error> {
    let event = lit.value();
    let mut settings = Settings::for_macro(DEFAULT_CATALOG);
    if let Some(b) = base_dir {
        settings.base_dir = b.clone();
    }
    let error_at = |d: Diagnostic| syn::Error::new(lit.span(), d.render());
    let located = locate::locate_from_env(
        catalog_arg.map(LitStr::value).as_deref(),
        &settings.base_dir,
    )
    .map_err(error_at)?;
    // A path from the attribute is reported at the attribute's literal.
    let path_span = match (&located.origin, catalog_arg) {
        (locate::Origin::Attribute, Some(c)) => c.span(),
        _ => lit.span(),
    };
    let path_error = |mut d: Diagnostic| {
        d.message = format!(
            "{}; the path comes from {}",
            d.message,
            located.origin_text()
        );
        let d = d.with_help(located.fix(&settings.base_dir)).bounded();
        syn::Error::new(path_span, d.render())
    };
    settings.catalog = PathBuf::from(&located.path);
    let path = settings
        .resolved_catalog()
        .map_err(|m| path_error(Diagnostic::global(Rule::CatalogIo, m)))?;
    let compiled = crate::load(&path, &settings.base_dir);
    if compiled.sources.files.is_empty() {
        let d = compiled.diagnostics.first().cloned().unwrap_or_else(|| {
            Diagnostic::global(
                Rule::CatalogIo,
                format!("no catalog at `{}`", path.display()),
            )
        });
        return Err(path_error(d));
    }
    // Changing the variable rebuilds the crate (rustc records what
    // `option_env!` reads); the manifest and the catalog files are tracked
    // already.
    let env_name = locate::CATALOG_ENV;
    let env_tracking = (located.origin != locate::Origin::Attribute).then(|| {
        quote! { const _: ::core::option::Option<&str> = ::core::option_env!(#env_name); }
    });
    let tracked = compiled.sources.files.iter().map(|f| {
        let p = std::fs::canonicalize(&f.path).unwrap_or_else(|_| f.path.clone());
        let lit = proc_macro2::Literal::string(&p.to_string_lossy());
        quote! { const _: &[u8] = ::core::include_bytes!(#lit); }
    });
    let tracked = quote!(#env_tracking #(#tracked)*);
    let Some(def) = compiled.catalog.event(&event) else {
        return Err(error_at(unknown_event(&compiled.catalog, &event, fn_name)));
    };
    let expected_type = format!("{}::{}", def.idents.module, def.idents.type_name);
    let payload_text = payload.to_token_stream().to_string().replace(' ', "");
    let other = payload_event(&compiled.catalog, payload)
        .map(|e| format!(" (the payload of `{e}`)"))
        .unwrap_or_default();
    let msg = format!(
        "handler `{fn_name}` is declared for `{event}`, but its parameter takes `Envelope<{payload_text}>`{other}; \
         a handler for `{event}` takes `&Envelope<{expected_type}>`"
    );
    let msg = msg.replace('{', "{{").replace('}', "}}");
    let rt = quote!(::skillcore_events);
    let assertion = quote_spanned! {payload.span()=>
        const _: () = {
            if !#rt::__private::str_eq(<#payload as #rt::Event>::NAME, #lit) {
                ::core::panic!(#msg);
            }
        };
    };
    Ok(quote!(#tracked #assertion))
}

/// The `unknown-event` diagnostic, with a did-you-mean from the catalog.
pub fn unknown_event(
    catalog: &Catalog,
    event: &str,
    fn_name: &dyn std::fmt::Display,
) -> Diagnostic {
    let names = catalog.events.iter().map(|e| e.name.as_str());
    let help = did_you_mean(event, names).map(|s| format!("did you mean `{s}`?"));
    let help = help.or_else(|| {
        // A name far from every event: list the events of its context.
        let ctx = event.split('.').next().unwrap_or("");
        let same: Vec<_> = catalog
            .events
            .iter()
            .filter(|e| e.context == ctx)
            .map(|e| format!("`{}`", e.name))
            .take(8)
            .collect();
        (!same.is_empty()).then(|| format!("the `{ctx}` events are: {}", same.join(", ")))
    });
    Diagnostic::global(
        Rule::UnknownEvent,
        format!(
            "handler `{fn_name}` subscribes to `{event}`, which the catalog `{}` does not declare",
            catalog.name
        ),
    )
    .with_help_opt(help)
}

/// The event whose generated payload type the path names, guessed from its
/// last two segments (`attendance::RecordMarked`).
fn payload_event<'a>(catalog: &'a Catalog, ty: &Type) -> Option<&'a str> {
    let Type::Path(p) = ty else { return None };
    let segs: Vec<String> = p
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let last = segs.last()?;
    let module = segs.len().checked_sub(2).map(|i| segs[i].as_str());
    let matches: Vec<&str> = catalog
        .events
        .iter()
        .filter(|e| &e.idents.type_name == last && module.is_none_or(|m| e.idents.module == m))
        .map(|e| e.name.as_str())
        .collect();
    (matches.len() == 1).then(|| matches[0])
}

/// Expands `#[handler(args)] item`. `base_dir` overrides the directory the
/// catalog path is resolved against (tests); the macro passes `None`.
pub fn expand(args: TokenStream, item: TokenStream, base_dir: Option<&PathBuf>) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let e = syn::Error::new(
                Span::call_site(),
                "`#[handler]` goes on an `async fn` taking `&Envelope<Payload>`",
            )
            .to_compile_error();
            return quote!(#e #item);
        }
    };
    match expand_fn(args, &func, base_dir) {
        Ok(tokens) => tokens,
        Err(e) => {
            let e = e.to_compile_error();
            quote!(#e #func)
        }
    }
}

fn expand_fn(
    args: TokenStream,
    func: &ItemFn,
    base_dir: Option<&PathBuf>,
) -> Result<TokenStream, syn::Error> {
    let args: HandlerArgs = syn::parse2(args)?;
    let sig = analyse(func)?;
    let rt = quote!(::skillcore_events);
    let fn_name = &func.sig.ident;
    let payload = sig.payload;

    let check = match &args.event {
        Some(lit) => check_event(lit, args.catalog.as_ref(), fn_name, payload, base_dir)?,
        None => {
            if let Some(c) = &args.catalog {
                return Err(syn::Error::new(
                    c.span(),
                    "`catalog` is only used to check an explicit event name; without one the event comes from the payload type",
                ));
            }
            quote!()
        }
    };

    let id = match &args.name {
        Some(n) => {
            if n.value().trim().is_empty() {
                return Err(syn::Error::new(n.span(), "a handler id cannot be empty"));
            }
            quote!(#n)
        }
        None => {
            let f = fn_name.to_string();
            quote!(::core::concat!(::core::module_path!(), "::", #f))
        }
    };
    let retries = match &args.retries {
        Some(r) => {
            let n: u32 = r.base10_parse().map_err(|_| {
                syn::Error::new(r.span(), "`retries` is a whole number from 0 to 4294967295")
            })?;
            quote!(::core::option::Option::Some(#n))
        }
        None => quote!(::core::option::Option::None),
    };
    let duration = |lit: &Option<LitStr>| -> Result<TokenStream, syn::Error> {
        Ok(match lit {
            Some(l) => {
                let n = parse_duration(&l.value()).map_err(|m| syn::Error::new(l.span(), m))?;
                quote!(::core::option::Option::Some(::core::time::Duration::from_nanos(#n)))
            }
            None => quote!(::core::option::Option::None),
        })
    };
    let ordered = args.ordered.is_some();
    let backoff = duration(&args.backoff)?;
    let timeout = duration(&args.timeout)?;
    if let Some(t) = &args.timeout {
        if parse_duration(&t.value()) == Ok(0) {
            return Err(syn::Error::new(
                t.span(),
                "a zero timeout would fail every attempt",
            ));
        }
    }

    let state_entry = match &sig.state {
        Some(s) => quote! {
            ::core::option::Option::Some(#rt::StateType {
                type_id: ::core::any::TypeId::of::<#s>,
                type_name: ::core::any::type_name::<#s>,
            })
        },
        None => quote!(::core::option::Option::None),
    };
    let get_state = match &sig.state {
        Some(s) => quote!(let state: ::std::sync::Arc<#s> = states.get::<#s>()?;),
        None => quote!(let _ = states;),
    };
    let clone_state = match &sig.state {
        Some(_) => quote!(let state = ::std::sync::Arc::clone(&state);),
        None => quote!(),
    };
    let call_args = sig.extras.iter().map(|e| match e {
        Extra::Context => quote!(&cx),
        Extra::State => quote!(&*state),
    });
    // Spanned at the return type, so a wrong `Result<T, E>` is reported there.
    let call = quote_spanned! {sig.return_span=>
        let result: ::core::result::Result<(), #rt::HandlerError> =
            #fn_name(&*event, #(#call_args),*).await;
    };
    let static_name = format_ident!(
        "__SKILLCORE_HANDLER_{}",
        fn_name.to_string().trim_start_matches("r#").to_uppercase()
    );
    let location =
        quote_spanned!(fn_name.span()=> ::core::concat!(::core::file!(), ":", ::core::line!()));
    let linkme_path = quote!(#rt::__private::linkme);

    Ok(quote! {
        #func

        #check

        #[doc(hidden)]
        #[#linkme_path::distributed_slice(#rt::__private::HANDLERS)]
        #[linkme(crate = #linkme_path)]
        static #static_name: #rt::HandlerRegistration = #rt::HandlerRegistration {
            event: <#payload as #rt::Event>::NAME,
            id: #id,
            options: #rt::HandlerOptions {
                retries: #retries,
                backoff: #backoff,
                timeout: #timeout,
                ordered: #ordered,
            },
            state: #state_entry,
            info: <#payload as #rt::Event>::info,
            build: {
                fn build(
                    states: &#rt::States,
                ) -> ::core::result::Result<#rt::BoxHandler, #rt::MissingState> {
                    #get_state
                    ::core::result::Result::Ok(#rt::handler_fn::<#payload, _, _>(
                        move |event: ::std::sync::Arc<#rt::Envelope<#payload>>, cx: #rt::HandlerContext| {
                            let _ = &cx;
                            #clone_state
                            async move {
                                #call
                                result
                            }
                        },
                    ))
                }
                build
            },
            location: #location,
        };
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> (tempdir::Dir, PathBuf) {
        let d = tempdir::Dir::new();
        std::fs::write(
            d.0.join("events.yaml"),
            "events:\n  gradebook.grade.posted:\n    description: Posted\n    aggregate: Result\n    aggregate_id: resultId\n    payload:\n      resultId: string\n  attendance.record.marked:\n    description: Marked\n    aggregate: Record\n    aggregate_id: recordId\n    payload:\n      recordId: string\n",
        )
        .unwrap();
        let p = d.0.clone();
        (d, p)
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                use std::sync::atomic::{AtomicUsize, Ordering};
                static N: AtomicUsize = AtomicUsize::new(0);
                let p = std::env::temp_dir().join(format!(
                    "skc-handler-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    fn run(args: &str, item: &str, base: &PathBuf) -> String {
        expand(args.parse().unwrap(), item.parse().unwrap(), Some(base)).to_string()
    }

    const GOOD: &str = "async fn update_gpa(event: &Envelope<gradebook::GradePosted>, ctx: &Ctx) -> Result<(), HandlerError> { Ok(()) }";

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(500_000_000));
        assert_eq!(parse_duration("2s"), Ok(2_000_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("1m"), Ok(60_000_000_000));
        assert_eq!(parse_duration("250us"), Ok(250_000));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn args_parse_and_reject_unknown_keys() {
        let a: HandlerArgs = syn::parse_str(
            r#""gradebook.grade.posted", name = "analytics.update_gpa", retries = 5, backoff = "500ms", timeout = "10s""#,
        )
        .unwrap();
        assert_eq!(a.event.unwrap().value(), "gradebook.grade.posted");
        assert_eq!(a.name.unwrap().value(), "analytics.update_gpa");
        assert_eq!(a.retries.unwrap().base10_parse::<u32>().unwrap(), 5);
        let e = syn::parse_str::<HandlerArgs>(r#""x.y.z", retires = 3"#)
            .err()
            .expect("an unknown option is an error");
        assert!(e.to_string().contains("did you mean `retries`"), "{e}");
        let e = syn::parse_str::<HandlerArgs>(r#"name = "a", name = "b""#)
            .err()
            .expect("a repeated option is an error");
        assert!(e.to_string().contains("given twice"));
        assert!(syn::parse_str::<HandlerArgs>("").unwrap().event.is_none());
    }

    #[test]
    fn ordered_is_a_bare_flag() {
        let a: HandlerArgs = syn::parse_str(r#""x.y.posted", ordered, retries = 1"#).unwrap();
        assert!(a.ordered.is_some());
        assert!(syn::parse_str::<HandlerArgs>("ordered")
            .unwrap()
            .ordered
            .is_some());
        assert!(syn::parse_str::<HandlerArgs>(r#""x.y.posted""#)
            .unwrap()
            .ordered
            .is_none());
        for bad in [
            "ordered = true",
            "ordered = false",
            r#"ordered = "yes""#,
            "ordered(true)",
        ] {
            let e = syn::parse_str::<HandlerArgs>(bad)
                .err()
                .unwrap_or_else(|| panic!("`{bad}` must be an error"));
            assert!(
                e.to_string().contains("is a flag and takes no value"),
                "{bad}: {e}"
            );
        }
        let e = syn::parse_str::<HandlerArgs>("ordered, retries = 1, ordered")
            .err()
            .expect("a repeated flag is an error");
        assert!(e.to_string().contains("`ordered` is given twice"), "{e}");
    }

    #[test]
    fn ordered_reaches_the_registration() {
        let (_d, base) = fixture();
        let on = run("ordered", GOOD, &base);
        assert!(on.contains("ordered : true"), "{on}");
        let off = run("", GOOD, &base);
        assert!(off.contains("ordered : false"), "{off}");
    }

    #[test]
    fn a_good_handler_registers_and_asserts_the_payload() {
        let (_d, base) = fixture();
        let out = run(
            r#""gradebook.grade.posted", catalog = "events.yaml", retries = 2"#,
            GOOD,
            &base,
        );
        assert!(!out.contains("compile_error"), "{out}");
        assert!(out.contains("distributed_slice"));
        assert!(out.contains("str_eq"));
        assert!(out.contains("include_bytes"));
        assert!(out.contains("TypeId :: of :: < Ctx >"));
    }

    #[test]
    fn unknown_events_get_a_suggestion() {
        let (_d, base) = fixture();
        let out = run(
            r#""gradebook.grade.postd", catalog = "events.yaml""#,
            GOOD,
            &base,
        );
        assert!(out.contains("error[unknown-event]"), "{out}");
        assert!(
            out.contains("did you mean `gradebook.grade.posted`?"),
            "{out}"
        );
        // The function itself is still emitted.
        assert!(out.contains("async fn update_gpa"));
    }

    #[test]
    fn a_missing_catalog_says_how_to_point_at_one() {
        let (_d, base) = fixture();
        let out = run(r#""gradebook.grade.posted""#, GOOD, &base);
        assert!(out.contains("catalog-io"), "{out}");
        assert!(out.contains("catalog = "), "{out}");
    }

    #[test]
    fn signature_misuse_is_reported() {
        let (_d, base) = fixture();
        let cases = [
            ("fn h(e: &Envelope<gradebook::GradePosted>) -> Result<(), HandlerError> { Ok(()) }", "must be an `async fn`"),
            ("async fn h() -> Result<(), HandlerError> { Ok(()) }", "takes the event as its first parameter"),
            ("async fn h(e: &Envelope<gradebook::GradePosted>) { }", "must return `Result<(), HandlerError>`"),
            ("async fn h(e: &Envelope<gradebook::GradePosted>) -> u32 { 1 }", "not `u32`"),
            ("async fn h(e: gradebook::GradePosted) -> Result<(), HandlerError> { Ok(()) }", "must be `&Envelope<Payload>`"),
            ("async fn h(e: &Envelope<gradebook::GradePosted>, a: &A, b: &B) -> Result<(), HandlerError> { Ok(()) }", "at most one state"),
            ("async fn h(e: &Envelope<gradebook::GradePosted>, a: &mut A) -> Result<(), HandlerError> { Ok(()) }", "not `&mut State`"),
        ];
        for (item, want) in cases {
            let out = run(
                r#""gradebook.grade.posted", catalog = "events.yaml""#,
                item,
                &base,
            );
            assert!(out.contains(want), "{item}: {out}");
        }
    }

    #[test]
    fn the_payload_event_is_guessed_for_the_mismatch_message() {
        let (_d, base) = fixture();
        let item = "async fn h(e: &Envelope<attendance::RecordMarked>) -> Result<(), HandlerError> { Ok(()) }";
        let out = run(
            r#""gradebook.grade.posted", catalog = "events.yaml""#,
            item,
            &base,
        );
        assert!(
            out.contains("(the payload of `attendance.record.marked`)"),
            "{out}"
        );
    }

    #[test]
    fn without_a_name_the_type_decides() {
        let (_d, base) = fixture();
        let out = run("", GOOD, &base);
        assert!(!out.contains("compile_error"), "{out}");
        assert!(!out.contains("str_eq"));
        assert!(out.contains("module_path"));
    }
}
