//! Stage 1 of `#[handler]`: parse the attribute's arguments
//! ([`HandlerArgs`]) and check their values (`Options`).
//!
//! ```
//! use skillcore_events_codegen::handler::HandlerArgs;
//! let args: HandlerArgs = syn::parse_str(r#""gradebook.grade.posted", retries = 2, ordered"#).unwrap();
//! assert_eq!(args.event.unwrap().value(), "gradebook.grade.posted");
//! assert!(args.ordered.is_some());
//! ```

use crate::naming::did_you_mean;
use syn::parse::{Parse, ParseStream};
use syn::{LitInt, LitStr, Token};

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

/// The attribute's option values, checked: what the registration holds.
pub(super) struct Options<'a> {
    /// `name = "…"`, not blank.
    pub(super) id: Option<&'a LitStr>,
    /// `retries = N`.
    pub(super) retries: Option<u32>,
    /// `backoff = "…"`, in nanoseconds.
    pub(super) backoff: Option<u64>,
    /// `timeout = "…"`, in nanoseconds, not zero.
    pub(super) timeout: Option<u64>,
    /// `ordered`.
    pub(super) ordered: bool,
}

impl HandlerArgs {
    /// The option values, each checked at its literal: the first problem, in
    /// the order `name`, `retries`, `backoff`, `timeout`.
    pub(super) fn options(&self) -> Result<Options<'_>, syn::Error> {
        if let Some(n) = &self.name {
            if n.value().trim().is_empty() {
                return Err(syn::Error::new(n.span(), "a handler id cannot be empty"));
            }
        }
        let retries = match &self.retries {
            Some(r) => Some(r.base10_parse::<u32>().map_err(|_| {
                syn::Error::new(r.span(), "`retries` is a whole number from 0 to 4294967295")
            })?),
            None => None,
        };
        let duration = |lit: &Option<LitStr>| -> Result<Option<u64>, syn::Error> {
            lit.as_ref()
                .map(|l| parse_duration(&l.value()).map_err(|m| syn::Error::new(l.span(), m)))
                .transpose()
        };
        let backoff = duration(&self.backoff)?;
        let timeout = duration(&self.timeout)?;
        if let (Some(t), Some(0)) = (&self.timeout, timeout) {
            return Err(syn::Error::new(
                t.span(),
                "a zero timeout would fail every attempt",
            ));
        }
        Ok(Options {
            id: self.name.as_ref(),
            retries,
            backoff,
            timeout,
            ordered: self.ordered.is_some(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
