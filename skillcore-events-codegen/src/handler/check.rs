//! Stage 3 of `#[handler]`: the event name against the catalog (rule
//! `unknown-event`, with a did-you-mean) and against the payload type (a
//! `const` assertion that names both events when they differ).

use super::args::HandlerArgs;
use super::locate;
use crate::diag::{Diagnostic, Rule};
use crate::model::Catalog;
use crate::naming::did_you_mean;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use std::path::PathBuf;
use syn::spanned::Spanned;
use syn::{LitStr, Type};

/// Stage 3 of `#[handler]`: check the event name, when there is one, against
/// the catalog ([`locate::resolve`]) and the payload type. `Ok(tokens)` holds
/// the catalog tracking and the payload agreement assertion (nothing without
/// an event name: the payload type names the event).
pub(super) fn check(
    args: &HandlerArgs,
    fn_name: &syn::Ident,
    payload: &Type,
    base_dir: Option<&PathBuf>,
) -> Result<TokenStream, syn::Error> {
    match &args.event {
        Some(lit) => check_event(lit, args.catalog.as_ref(), fn_name, payload, base_dir),
        None => {
            if let Some(c) = &args.catalog {
                return Err(syn::Error::new(
                    c.span(),
                    "`catalog` is only used to check an explicit event name; without one the event comes from the payload type",
                ));
            }
            Ok(quote!())
        }
    }
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
    let error_at = |d: Diagnostic| syn::Error::new(lit.span(), d.render());
    let locate::Resolved {
        compiled,
        tracking: tracked,
    } = locate::resolve(lit, catalog_arg, base_dir)?;
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
