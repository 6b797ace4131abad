//! Stage 1 of `#[handler]`, the other half: read the function's signature
//! (the payload type, the state and context parameters, the return type), every
//! misuse reported at its tokens.

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, ItemFn, PathArguments, ReturnType, Type};

/// What the handler's parameters after the envelope are.
pub(super) enum Extra {
    /// `&HandlerContext`.
    Context,
    /// `&State`: the shared state.
    State,
}

/// The signature, understood.
pub(super) struct Signature<'a> {
    pub(super) payload: &'a Type,
    pub(super) extras: Vec<Extra>,
    pub(super) state: Option<&'a Type>,
    pub(super) return_span: Span,
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

/// The signature of `f`, or every misuse found in it.
pub(super) fn analyse(f: &ItemFn) -> Result<Signature<'_>, syn::Error> {
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
