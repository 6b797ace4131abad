//! Stage 4 of `#[handler]`: the function as written, the checks from stage
//! 3, and its entry of the link-time table `skillcore_events::__private::HANDLERS`
//! (event, id, options, state type, a constructor of the type-erased handler,
//! location).

use super::args::Options;
use super::signature::{Extra, Signature};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ItemFn;

/// The expansion of a handler whose arguments, signature and event checked
/// out; `check` is stage 3's tokens.
pub(super) fn registration(
    func: &ItemFn,
    sig: &Signature<'_>,
    options: &Options<'_>,
    check: TokenStream,
) -> TokenStream {
    let rt = quote!(::skillcore_events);
    let fn_name = &func.sig.ident;
    let payload = sig.payload;
    let id = match &options.id {
        Some(n) => quote!(#n),
        None => {
            let f = fn_name.to_string();
            quote!(::core::concat!(::core::module_path!(), "::", #f))
        }
    };
    let retries = match options.retries {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };
    let duration = |nanos: Option<u64>| match nanos {
        Some(n) => {
            quote!(::core::option::Option::Some(::core::time::Duration::from_nanos(#n)))
        }
        None => quote!(::core::option::Option::None),
    };
    let backoff = duration(options.backoff);
    let timeout = duration(options.timeout);
    let ordered = options.ordered;

    let state_entry = match &sig.state {
        Some(s) => quote! {
            ::core::option::Option::Some(#rt::__private::StateType {
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

    quote! {
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
                    states: &#rt::__private::States,
                ) -> ::core::result::Result<#rt::backend::BoxHandler, #rt::__private::MissingState> {
                    #get_state
                    ::core::result::Result::Ok(#rt::backend::handler_fn::<#payload, _, _>(
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
    }
}
