//! The `#[handler]` attribute: parse its arguments and the function signature,
//! check the event name against the catalog, and emit the registration entry.
//!
//! One module per stage, data flowing one way, as for `catalog!`:
//!
//! 1. [`args`] and `signature`: parse the attribute ([`HandlerArgs`], values
//!    checked into options) and read the function's signature;
//! 2. [`locate`]: resolve the catalog (the attribute, `SKILLCORE_EVENTS_CATALOG`,
//!    the crate's `[package.metadata.skillcore-events]`, or `catalog`) and load it;
//! 3. `check`: the event name against the catalog and the payload type;
//! 4. `emit`: the function, the checks and the link-time registration.
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
//! Misuse (not `async`, no event parameter, a wrong return type, an unknown
//! event) is reported at the offending tokens; the function is still emitted,
//! so the only error is the one that matters.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use std::path::PathBuf;
use syn::ItemFn;

pub mod args;
mod check;
mod emit;
pub mod locate;
mod signature;
#[cfg(test)]
mod tests;

pub use args::{parse_duration, HandlerArgs, OPTIONS};
pub use check::unknown_event;

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
    let sig = signature::analyse(func)?;
    let check = check::check(&args, &func.sig.ident, sig.payload, base_dir)?;
    // The option values after the event, so that of several mistakes the
    // same one is reported first as always.
    let options = args.options()?;
    Ok(emit::registration(func, &sig, &options, check))
}
