//! Version history on the docs site, from the lock: per event, each version's
//! payload table and the classified changes between consecutive versions
//! (rule id, backward / forward, and whether the change is breaking under the
//! event's compatibility mode); and `changelog.html`, every version step of
//! every event, newest first.
//!
//! A catalog without a lock, or an event with one version, gets none of this.

use super::super::released::{self, Version};
use super::super::schema;
use super::{esc, inline};
use crate::evolution::{classify, Change, EventShape, Lock, TypeShape};
use crate::model::{Catalog, EventDef, TypeRef};
use std::fmt::Write as _;

/// One step between consecutive versions of an event.
pub(super) struct Step<'v> {
    /// The older version.
    pub from: &'v Version,
    /// The next one.
    pub to: &'v Version,
    /// Every change, classified.
    pub changes: Vec<Change>,
}

/// The steps between consecutive `versions`, oldest first.
pub(super) fn steps(versions: &[Version]) -> Vec<Step<'_>> {
    versions
        .windows(2)
        .map(|w| Step {
            from: &w[0],
            to: &w[1],
            changes: classify(&w[0].shape, &w[1].shape),
        })
        .collect()
}

fn plural(n: usize, one: &str) -> String {
    format!("{n} {one}{}", if n == 1 { "" } else { "s" })
}

/// The chips after a version's heading.
fn chips(e: &EventDef, v: &Version) -> String {
    let mut out = String::new();
    if v.current {
        out.push_str("<span class=\"chip ver\">current</span>");
    }
    if !v.released {
        out.push_str(
            "<span class=\"chip\" title=\"not in the lock file yet: run skillcore-events lock\">not released yet</span>",
        );
    }
    if let Some(n) = v.released_as(e) {
        let _ = write!(
            out,
            "<span class=\"chip\">published as <code>{}</code></span>",
            esc(n)
        );
    }
    if v.shape.deprecated {
        out.push_str("<span class=\"chip dep\">Deprecated</span>");
    }
    out
}

/// The "Version history" box of an event page (empty with one version).
pub(super) fn section(catalog: &Catalog, e: &EventDef, versions: &[Version]) -> String {
    if versions.len() < 2 {
        return String::new();
    }
    let mut m = String::with_capacity(8 * 1024);
    let _ = write!(
        m,
        "<section class=\"card-box history\" id=\"history\">\n<h2>Version history <small>{}, from the lock file</small></h2>\n",
        plural(versions.len(), "version")
    );
    let all = steps(versions);
    for (i, v) in versions.iter().enumerate().rev() {
        let file = schema::versioned_file_name(&e.name, v.number);
        let _ = write!(
            m,
            "<div class=\"version\" id=\"v{n}\">\n<h3>Version {n} {chips}<a class=\"file\" href=\"../schemas/{file}\">{file}</a></h3>\n",
            n = v.number,
            chips = chips(e, v),
            file = esc(&file),
        );
        payload_table(&mut m, versions, i);
        if !v.current {
            changed_types(&mut m, catalog, &v.shape);
        }
        if let Some(step) = i.checked_sub(1).and_then(|j| all.get(j)) {
            let _ = writeln!(m, "<h4>Changes from version {}</h4>", step.from.number);
            changes_table(&mut m, e, &step.changes);
        }
        m.push_str("</div>\n");
    }
    m.push_str("</section>\n");
    m
}

/// The payload table of `versions[at]`, from its shape.
fn payload_table(m: &mut String, versions: &[Version], at: usize) {
    let s = &versions[at].shape;
    m.push_str("<div class=\"table-wrap\"><table class=\"fields\">\n<thead><tr><th>Field</th><th>Type</th><th>Optional</th><th>PII</th><th>Renamed from</th></tr></thead>\n<tbody>\n");
    for f in &s.fields {
        let opt = match (&f.default, f.ty.optional) {
            (Some(d), _) => format!(
                "<span class=\"opt def\">defaults to <code>{}</code></span>",
                esc(&serde_json::to_string(d).unwrap_or_default())
            ),
            (None, true) => "<span class=\"opt yes\">optional</span>".to_string(),
            (None, false) => "<span class=\"opt no\">required</span>".to_string(),
        };
        let old = released::old_names(versions, at, &f.name);
        let renamed = if old.is_empty() {
            "<span class=\"muted\">–</span>".to_string()
        } else {
            old.iter()
                .map(|o| format!("<code>{}</code>", esc(o)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            m,
            "<tr{cls}><td class=\"fname\"><code>{name}</code>{id}</td><td class=\"ftype\">{ty}</td><td>{opt}</td><td>{pii}</td><td>{renamed}</td></tr>",
            cls = if f.pii { " class=\"is-pii\"" } else { "" },
            name = esc(&f.name),
            id = if f.name == s.aggregate_id {
                " <span class=\"chip tiny\" title=\"aggregate id\">id</span>"
            } else {
                ""
            },
            ty = type_code(&f.ty),
            pii = if f.pii {
                "<span class=\"chip pii\">PII</span>"
            } else {
                "<span class=\"muted\">–</span>"
            },
        );
    }
    m.push_str("</tbody>\n</table></div>\n");
}

fn type_code(t: &TypeRef) -> String {
    let mut s = format!("<code>{}", esc(t.base.catalog_name()));
    for _ in 0..t.list_depth {
        s.push_str("[]");
    }
    if t.optional {
        s.push('?');
    }
    s.push_str("</code>");
    s
}

/// The named types an older version used as they were then (those that
/// changed since).
fn changed_types(m: &mut String, catalog: &Catalog, s: &EventShape) {
    let changed = released::changed_types(catalog, s);
    if changed.is_empty() {
        return;
    }
    let _ = write!(
        m,
        "<p class=\"muted\">Types as they were in version {}:</p>\n<ul class=\"old-types\">\n",
        s.version
    );
    for name in &changed {
        let Some(t) = s.types.get(name) else { continue };
        let body = match t {
            TypeShape::Enum(values) => format!(
                "enum {}",
                values
                    .iter()
                    .map(|v| format!("<code>{}</code>", esc(v)))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            TypeShape::Struct(fields) => format!(
                "object {{ {} }}",
                fields
                    .iter()
                    .map(|f| format!("<code>{}</code>: {}", esc(&f.name), type_code(&f.ty)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let _ = writeln!(m, "<li><code>{}</code>: {body}</li>", esc(name));
    }
    m.push_str("</ul>\n");
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "<span class=\"opt yes\">yes</span>"
    } else {
        "<span class=\"opt no\">no</span>"
    }
}

/// The classified changes of one step, judged under `e`'s mode.
fn changes_table(m: &mut String, e: &EventDef, changes: &[Change]) {
    if changes.is_empty() {
        m.push_str("<p class=\"muted\">No change to the payload.</p>\n");
        return;
    }
    let mode = e.compatibility;
    let _ = write!(
        m,
        "<div class=\"table-wrap\"><table class=\"fields changes\">\n<thead><tr><th>Rule</th><th>Change</th><th>Backward</th><th>Forward</th><th>Breaking under <code>{}</code></th></tr></thead>\n<tbody>\n",
        esc(&mode.to_string())
    );
    for c in changes {
        let rule = match c.inner {
            Some(inner) => format!("{} ({inner})", c.kind),
            None => c.kind.to_string(),
        };
        let breaking = !c.allowed_under(mode);
        let _ = writeln!(
            m,
            "<tr{cls}><td><code>{rule}</code></td><td>{msg}</td><td>{b}</td><td>{f}</td><td>{br}</td></tr>",
            cls = if breaking { " class=\"is-breaking\"" } else { "" },
            rule = esc(&rule),
            msg = inline(&c.message),
            b = yes_no(c.backward),
            f = yes_no(c.forward),
            br = if breaking {
                "<span class=\"chip dep\">breaking</span>"
            } else {
                "<span class=\"opt yes\">no</span>"
            },
        );
    }
    m.push_str("</tbody>\n</table></div>\n");
}

/// The main content of `changelog.html`: every step of every event, newest
/// first (an unreleased current version, then by version, then by name).
pub(super) fn changelog(catalog: &Catalog, lock: Option<&Lock>) -> String {
    let per_event: Vec<(&EventDef, Vec<Version>)> = catalog
        .events
        .iter()
        .map(|e| (e, released::versions(catalog, lock, e)))
        .collect();
    let mut rows: Vec<(&EventDef, Step<'_>)> = per_event
        .iter()
        .flat_map(|(e, vs)| steps(vs).into_iter().map(move |s| (*e, s)))
        .collect();
    rows.sort_by(|(a, x), (b, y)| {
        x.to.released
            .cmp(&y.to.released)
            .then(y.to.number.cmp(&x.to.number))
            .then_with(|| a.name.cmp(&b.name))
    });
    let one = per_event.iter().filter(|(_, vs)| vs.len() == 1).count();
    let mut m = String::with_capacity(16 * 1024);
    let _ = write!(
        m,
        "<section class=\"hero\">\n<h1>Changelog</h1>\n<p class=\"lead\"><strong>{}</strong> across the catalog's events, newest first, from the lock file of released versions; {} one version only. Each change has its rule id and whether it is breaking under the event's compatibility mode.</p>\n</section>\n",
        plural(rows.len(), "version step"),
        if one == 1 {
            "1 event has".to_string()
        } else {
            format!("{one} events have")
        }
    );
    if rows.is_empty() {
        m.push_str("<section class=\"card-box\"><p class=\"muted\">No event has more than one version yet.</p></section>\n");
    }
    for (e, step) in &rows {
        let breaking = step
            .changes
            .iter()
            .filter(|c| !c.allowed_under(e.compatibility))
            .count();
        let _ = write!(
            m,
            "<section class=\"card-box step\" id=\"{name}-v{to}\">\n<h2><a href=\"events/{name}.html#history\"><code>{name}</code></a> version {from} → {to} {chips}<small>{n}, {breaking} breaking under <code>{mode}</code></small></h2>\n",
            name = esc(&e.name),
            from = step.from.number,
            to = step.to.number,
            chips = chips(e, step.to),
            n = plural(step.changes.len(), "change"),
            mode = esc(&e.compatibility.to_string()),
        );
        changes_table(&mut m, e, &step.changes);
        m.push_str("</section>\n");
    }
    m
}
