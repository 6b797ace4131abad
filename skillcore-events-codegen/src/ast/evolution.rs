//! The evolution keys' shapes: `upcast:` (version -> Rust path) and
//! `deprecated:` (a reason or `true`).

use super::{Args, Reader, Spanned};
use crate::diag::Rule;
use crate::yaml::{core_scalar, CoreValue, Node};

impl Reader<'_> {
    /// `upcast: { 1: crate::upcast::grade_posted_v1 }`: version -> Rust path.
    pub(super) fn upcasts(
        &mut self,
        v: &Node,
        whose: Args<'_>,
    ) -> Vec<(Spanned<u32>, Spanned<String>)> {
        let mut out = Vec::new();
        let Some(pairs) = self.mapping(v, format_args!("the `upcast` of {whose}")) else {
            return out;
        };
        for (k, p) in pairs {
            let Some(version) = self.version(k, whose) else {
                continue;
            };
            let Some(path) = self.text(
                p,
                format_args!("the upcaster of version {version} of {whose}"),
            ) else {
                continue;
            };
            let ok = path.value.split("::").all(|seg| {
                let seg = seg.strip_prefix("r#").unwrap_or(seg);
                seg.chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
                    && seg.chars().all(|c| c.is_alphanumeric() || c == '_')
            });
            if !ok {
                self.err(
                    Rule::InvalidValue,
                    p.span,
                    format!("the upcaster of version {version} of {whose} must be a Rust path, found `{}`", path.value),
                )
                .help = Some("write the path of a function, such as `crate::upcast::grade_posted_v1`".into());
                continue;
            }
            out.push((
                Spanned {
                    value: version,
                    span: k.span,
                },
                path,
            ));
        }
        out
    }

    /// `deprecated: "reason"` or `deprecated: true` (an empty reason); `false`
    /// is no deprecation.
    pub(super) fn deprecated(&mut self, v: &Node, whose: Args<'_>) -> Option<Spanned<String>> {
        if let Some(s) = v.as_scalar() {
            match core_scalar(s) {
                CoreValue::Bool(true) => {
                    return Some(Spanned {
                        value: String::new(),
                        span: v.span,
                    })
                }
                CoreValue::Bool(false) => return None,
                _ if !v.is_null() => {
                    return self.text(v, format_args!("`deprecated` of {whose}"));
                }
                _ => {}
            }
        }
        self.err(
            Rule::InvalidValue,
            v.span,
            format!(
                "`deprecated` of {whose} must be a reason or `true`, found {}",
                v.kind_name()
            ),
        )
        .help = Some("write `deprecated: \"<why>; use <what instead>\"`".into());
        None
    }
}
