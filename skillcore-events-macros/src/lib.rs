//! Procedural macros of SkillCore Events. Depend on `skillcore-events`, which
//! re-exports them; this crate only parses the macro input, calls the compiler in
//! `skillcore-events-codegen` and turns its diagnostics into compile errors.

use proc_macro::TokenStream;
use skillcore_events_codegen::{expand, Settings};
use syn::parse::{Parse, ParseStream};
use syn::{LitStr, Token};

/// Generates typed events from a YAML catalog.
///
/// ```ignore
/// skillcore_events::catalog!("catalog");
/// skillcore_events::catalog!("catalog/events.yaml", runtime = "::my_reexport::events");
/// ```
///
/// The path is relative to the invoking crate's `Cargo.toml` (`$VAR` and `${VAR}`
/// are expanded). See the `skillcore-events` crate documentation for what is
/// generated.
#[proc_macro]
pub fn catalog(input: TokenStream) -> TokenStream {
    let args = syn::parse_macro_input!(input as CatalogArgs);
    let mut settings = Settings::for_macro(args.path.value());
    if let Some(rt) = &args.runtime {
        settings.runtime_path = rt.value();
    }
    let expansion = expand(&settings);
    let mut errors: Option<syn::Error> = None;
    for d in &expansion.diagnostics {
        let e = syn::Error::new(args.path.span(), d.render());
        match &mut errors {
            Some(all) => all.combine(e),
            None => errors = Some(e),
        }
    }
    // The items come as source text: rustc's lexer reads it far faster than an
    // opt-level-0 proc macro can build the same tokens one by one.
    let items: TokenStream = match expansion.source.parse() {
        Ok(items) => items,
        Err(e) => {
            let msg =
                format!("skillcore-events generated invalid code (a bug, please report it): {e}");
            return syn::Error::new(args.path.span(), msg)
                .to_compile_error()
                .into();
        }
    };
    let mut out: TokenStream = errors
        .map(|e| e.to_compile_error())
        .unwrap_or_default()
        .into();
    out.extend(items);
    out
}

struct CatalogArgs {
    path: LitStr,
    runtime: Option<LitStr>,
}

impl Parse for CatalogArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(input.error(
                "expected a catalog path: `catalog!(\"catalog\")` (relative to Cargo.toml)",
            ));
        }
        let path: LitStr = input.parse()?;
        let mut runtime = None;
        while input.parse::<Option<Token![,]>>()?.is_some() {
            if input.is_empty() {
                break;
            }
            let key: syn::Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            match key.to_string().as_str() {
                "runtime" => runtime = Some(input.parse()?),
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!("unknown option `{other}`; the options are: `runtime`"),
                    ))
                }
            }
        }
        Ok(CatalogArgs { path, runtime })
    }
}

/// Registers an async function as the handler of a catalog event.
///
/// ```ignore
/// #[skillcore_events::handler("gradebook.grade.posted", name = "analytics.update_gpa",
///                             retries = 5, backoff = "500ms", timeout = "10s", ordered)]
/// async fn update_gpa(event: &Envelope<gradebook::GradePosted>, ctx: &AnalyticsCtx)
///     -> Result<(), HandlerError> { ... }
/// ```
///
/// The options, all optional, in any order after the event name:
///
/// | option | meaning |
/// |---|---|
/// | `"event.name"` (first) | the event; checked against the catalog and the payload type. Without it the payload type decides the event |
/// | `name = "context.handler"` | the stable handler id (default: module path and function name) |
/// | `retries = N` | retries after the first attempt (default: the bus's policy) |
/// | `backoff = "500ms"` | the first retry delay, doubled for each further retry (`ns`, `us`, `ms`, `s`, `m`, `h`) |
/// | `timeout = "10s"` | the longest one attempt may run |
/// | `ordered` | a bare flag: the events of one aggregate are handled one at a time, in publish order (`HandlerOptions::ordered`); off without it |
/// | `catalog = "path"` | the catalog to check the event name against, relative to Cargo.toml (see below for the crate-wide settings) |
///
/// The event name is checked against the crate's catalog and against the
/// payload type, at compile time. The catalog is the first of: `catalog =
/// "path"` on the attribute; the `SKILLCORE_EVENTS_CATALOG` environment
/// variable as the build sets it (`.cargo/config.toml` `[env]`, or a build
/// script's `cargo:rustc-env=`); `catalog` under
/// `[package.metadata.skillcore-events]` in the crate's Cargo.toml; else
/// `catalog`. Relative paths start at the directory of the crate's Cargo.toml,
/// and an unreadable catalog is reported with where its path came from. So
/// one line in Cargo.toml serves every handler of the crate:
///
/// ```toml
/// [package.metadata.skillcore-events]
/// catalog = "../../catalog"
/// ```
///
/// See docs/catalog.md ("Handlers") and the `skillcore-events` crate
/// documentation.
///
/// A handler must not block its thread: `timeout` can only cut off an attempt
/// that is waiting, and one that blocked past it is recorded as timed out
/// (failed) even when it returned `Ok`. Run blocking or CPU-heavy work with
/// `tokio::task::spawn_blocking` and await it.
#[proc_macro_attribute]
pub fn handler(args: TokenStream, item: TokenStream) -> TokenStream {
    skillcore_events_codegen::handler::expand(args.into(), item.into(), None).into()
}
