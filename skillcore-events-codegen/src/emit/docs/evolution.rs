//! The evolution keys on the docs pages: "Deprecated" badges and notices for
//! deprecated events and fields, and the `default` of a field in the payload
//! table. Every piece of catalog text is escaped with [`esc`] / [`inline`].
//!
//! A catalog without these keys gets none of this markup, so its pages are
//! unchanged.

use super::{esc, inline};
use crate::model::{EventDef, Field};
use std::fmt::Write as _;

/// The reason of a deprecation, trimmed; `None` when none was given.
fn reason(deprecated: &Option<String>) -> Option<&str> {
    deprecated
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
}

/// The badge of a deprecated event (empty otherwise), its reason as a tooltip.
pub(super) fn event_badge(e: &EventDef) -> String {
    if e.deprecated.is_none() {
        return String::new();
    }
    let title = match reason(&e.deprecated) {
        Some(r) => format!("deprecated: {r}"),
        None => "deprecated".to_string(),
    };
    format!(
        "<span class=\"chip dep\" title=\"{}\">Deprecated</span>",
        esc(&title)
    )
}

/// The visible reason under a deprecated event's card or heading (empty for
/// an event that is not deprecated); `tag` is the element to use.
pub(super) fn event_notice(e: &EventDef, tag: &str) -> String {
    if e.deprecated.is_none() {
        return String::new();
    }
    let mut out = format!("<{tag} class=\"dep-note\"><strong>Deprecated</strong>");
    match reason(&e.deprecated) {
        Some(r) => {
            let _ = write!(out, ": {}", inline(r));
        }
        None => out.push('.'),
    }
    let _ = write!(out, "</{tag}>");
    out
}

/// Extra words for the index filter: `deprecated` for a deprecated event.
pub(super) fn search_words(e: &EventDef) -> &'static str {
    if e.deprecated.is_some() {
        " deprecated"
    } else {
        ""
    }
}

/// The mark after a deprecated field's name in the payload table.
pub(super) fn field_badge(f: &Field) -> String {
    if f.deprecated.is_none() {
        return String::new();
    }
    let title = match reason(&f.deprecated) {
        Some(r) => format!("deprecated: {r}"),
        None => "deprecated".to_string(),
    };
    format!(
        " <span class=\"chip tiny dep\" title=\"{}\">deprecated</span>",
        esc(&title)
    )
}

/// The row class of a field: `is-pii` and/or `is-deprecated` (empty for none).
pub(super) fn row_class(f: &Field) -> String {
    let classes: Vec<&str> = [
        f.pii.then_some("is-pii"),
        f.deprecated.is_some().then_some("is-deprecated"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if classes.is_empty() {
        String::new()
    } else {
        format!(" class=\"{}\"", classes.join(" "))
    }
}

/// The "Optional" cell of a field with a `default` (`None` without one):
/// readers fill the default in when the field is missing, so writers may
/// leave it out; an optional field says so too.
pub(super) fn default_cell(f: &Field) -> Option<String> {
    let v = f.default.as_ref()?;
    let text = serde_json::to_string(v).unwrap_or_default();
    let optional = if f.ty.optional {
        "<span class=\"opt yes\">optional</span> "
    } else {
        ""
    };
    Some(format!(
        "{optional}<span class=\"opt def\">defaults to <code>{}</code></span>",
        esc(&text)
    ))
}

/// Appended to a deprecated field's description cell: the reason.
pub(super) fn field_note(f: &Field) -> String {
    if f.deprecated.is_none() {
        return String::new();
    }
    match reason(&f.deprecated) {
        Some(r) => format!(
            " <span class=\"dep-note\"><strong>Deprecated:</strong> {}</span>",
            inline(r)
        ),
        None => " <span class=\"dep-note\"><strong>Deprecated.</strong></span>".to_string(),
    }
}
