//! The catalog against its lock (the build's check), and one catalog against
//! another (`skillcore-events diff`).

use super::classify::{allowed, classify, has_change, Change, ChangeKind};
use super::lock::Lock;
use super::shape::EventShape;
use crate::diag::{Diagnostic, Rule};
use crate::model::{Catalog, Compatibility, EventDef};
use crate::source::Sources;

/// One change found by [`diff`], judged under its event's mode.
#[derive(Clone, Debug, PartialEq)]
pub struct Classified {
    /// The change.
    pub change: Change,
    /// The event's compatibility mode.
    pub mode: Compatibility,
    /// Whether the build refuses it: not allowed under the mode, and the
    /// version was not raised.
    pub breaking: bool,
    /// The version the change was compared from, and the version now.
    pub versions: (u32, u32),
}

/// The history of `e` in `lock`: its own, or that of the event it is renamed from.
fn history<'l>(lock: &'l Lock, e: &EventDef) -> Option<&'l [EventShape]> {
    lock.history(&e.name)
        .or_else(|| e.renamed_from.as_deref().and_then(|r| lock.history(r)))
}

/// Checks `catalog` (read from `sources`) against the released shapes in
/// `lock`: rules `breaking-change`, `bad-rename` and `lock-file`.
pub fn check(catalog: &Catalog, sources: &Sources, lock: &Lock) -> Vec<Diagnostic> {
    check_with(catalog, sources, lock, true)
}

/// [`check()`] without its shortcut: every shape is classified in full, even
/// where [`has_change`] finds nothing the build would refuse. The diagnostics
/// are the same; this is for the test that holds the two to that.
#[doc(hidden)]
pub fn check_unoptimized(catalog: &Catalog, sources: &Sources, lock: &Lock) -> Vec<Diagnostic> {
    check_with(catalog, sources, lock, false)
}

fn check_with(catalog: &Catalog, sources: &Sources, lock: &Lock, probe: bool) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if lock.catalog != catalog.name {
        let mut d = Diagnostic::global(
            Rule::LockFile,
            format!(
                "the lock file is of catalog `{}`, not `{}`",
                lock.catalog, catalog.name
            ),
        )
        .with_help("write the lock of this catalog with `skillcore-events lock`, or point the build at the catalog the lock belongs to");
        d.location = lock.location(lock.catalog_span);
        out.push(d);
        return out;
    }
    for e in &catalog.events {
        check_rename(catalog, sources, lock, e, &mut out);
        let Some(hist) = history(lock, e) else {
            continue; // not released yet
        };
        let Some(latest) = hist.iter().map(|s| s.version).max() else {
            continue;
        };
        let released = |at| lock.location(at);
        if e.version < latest {
            let mut d = sources
                .error(
                    Rule::LockFile,
                    e.span,
                    format!(
                        "event `{}` is at version {}, but version {latest} is released",
                        e.name, e.version
                    ),
                )
                .with_help(format!(
                    "a released version is never taken back: set `version: {latest}` (or higher)"
                ));
            if let Some(at) = hist.last().and_then(|s| released(s.span)) {
                d = d.with_note(at, "released here");
            }
            out.push(d);
            continue;
        }
        for f in &e.fields {
            let Some(r) = &f.renamed_from else { continue };
            if !hist.iter().any(|s| s.field(r).is_some()) {
                out.push(
                    sources
                        .error(
                            Rule::BadRename,
                            f.span,
                            format!(
                                "field `{}` of `{}` is renamed from `{r}`, but no released version has a field `{r}`",
                                f.name, e.name
                            ),
                        )
                        .with_help("write the name the field was released under, or remove `renamed_from`"),
                );
            }
        }
        let mode = e.compatibility;
        // Today's shape. Most events are unchanged since their last release:
        // then the released shape stands in for it, unbuilt. Not under a
        // transitive mode, whose check also compares with earlier entries
        // and would point its findings at the lock's lines.
        let built;
        let new = match hist.last() {
            Some(last) if probe && !mode.transitive() && last.is_of(catalog, e) => last,
            _ => {
                built = EventShape::of(catalog, e);
                &built
            }
        };
        check_upcasts(sources, e, hist, new, probe, &mut out);
        if e.version > latest {
            continue; // a new version: its changes are what the version is for
        }
        let against: Vec<&EventShape> = if mode.transitive() {
            hist.iter().filter(|s| s.version == latest).collect()
        } else {
            hist.iter()
                .rev()
                .find(|s| s.version == latest)
                .into_iter()
                .collect()
        };
        let mut seen: Vec<String> = Vec::new();
        for old in against {
            if probe && !has_change(old, new, &|b, f| !allowed(mode, b, f)) {
                continue; // every change (most often none) is allowed
            }
            for c in classify(old, new) {
                if c.allowed_under(mode) || seen.contains(&c.message) {
                    continue;
                }
                seen.push(c.message.clone());
                let mut help = c.fix(mode).map(|f| format!("{f}, or ")).unwrap_or_default();
                help.push_str(&format!("bump `version` to {}", latest + 1));
                let mut d = sources
                    .error(
                        Rule::BreakingChange,
                        c.span,
                        format!(
                            "breaking change to released version {latest} of `{}` under compatibility `{mode}`: {} [{}]",
                            e.name,
                            c.message,
                            c.inner.unwrap_or(c.kind)
                        ),
                    )
                    .with_help(help);
                if let Some(at) = released(old.span) {
                    d = d.with_note(at, "released here");
                }
                out.push(d);
            }
        }
    }
    // The names the catalog keeps a history under, sorted for lookups.
    let mut kept: Vec<&str> = catalog
        .events
        .iter()
        .flat_map(|e| std::iter::once(e.name.as_str()).chain(e.renamed_from.as_deref()))
        .collect();
    kept.sort_unstable();
    for (name, hist) in &lock.events {
        let kept = kept.binary_search(&name.as_str()).is_ok();
        let Some(last) = hist.last() else { continue };
        if kept || last.deprecated || catalog.compatibility == Compatibility::None {
            continue;
        }
        let mut d = Diagnostic::global(
            Rule::BreakingChange,
            format!(
                "breaking change: released event `{name}` is removed from the catalog, but it was never deprecated [{}]",
                ChangeKind::EventRemoved
            ),
        )
        .with_help(format!(
            "put it back with `deprecated: \"<why>; use <what instead>\"` and release that first; or, if it was renamed, add `renamed_from: {name}` to the new event"
        ));
        if let Some(at) = lock.location(last.span) {
            d = d.with_note(at, "released here");
        }
        out.push(d);
    }
    out
}

/// Rule `missing-upcaster`: every step of the upcast chain that no generated
/// step can make has a function under `upcast:`, and every function there
/// takes a released version older than the current one.
fn check_upcasts(
    sources: &Sources,
    e: &EventDef,
    hist: &[EventShape],
    current: &EventShape,
    probe: bool,
    out: &mut Vec<Diagnostic>,
) {
    let steps = super::chain::chain_with(hist, current, probe);
    for s in &steps {
        if s.incompatible.is_empty() || e.upcasts.iter().any(|u| u.from == s.from.version) {
            continue;
        }
        let what: Vec<String> = s
            .incompatible
            .iter()
            .map(|c| format!("{} [{}]", c.message, c.inner.unwrap_or(c.kind)))
            .collect();
        let (from, to) = (s.from.version, s.to.version);
        let module = &e.idents.module;
        let ty = &e.idents.type_name;
        let to_ty = if s.to_current {
            format!("{module}::{ty}")
        } else {
            format!("{module}::v{to}::{ty}")
        };
        out.push(
            sources
                .error(
                    Rule::MissingUpcaster,
                    e.version_span,
                    format!(
                        "`{}` has no upcaster from version {from} to {to}, and none can be generated: {}",
                        e.name,
                        what.join("; ")
                    ),
                )
                .with_help(format!(
                    "write `fn(old: {module}::v{from}::{ty}) -> {to_ty}` and name it under the event: `upcast: {{ {from}: crate::path::to_the_fn }}`"
                )),
        );
    }
    for u in &e.upcasts {
        if !steps.iter().any(|s| s.from.version == u.from) {
            let released: Vec<String> = steps.iter().map(|s| s.from.version.to_string()).collect();
            out.push(
                sources
                    .error(
                        Rule::MissingUpcaster,
                        u.span,
                        format!(
                            "`{}` names an upcaster from version {}, which is not a released version older than {}",
                            e.name, u.from, e.version
                        ),
                    )
                    .with_help(if released.is_empty() {
                        "no older version is released: remove the entry".to_string()
                    } else {
                        format!("the versions with a step are: {}", released.join(", "))
                    }),
            );
        }
    }
}

/// Rule `bad-rename`: an event's `renamed_from` names an event that was
/// released and is no longer in the catalog.
fn check_rename(
    catalog: &Catalog,
    sources: &Sources,
    lock: &Lock,
    e: &EventDef,
    out: &mut Vec<Diagnostic>,
) {
    let Some(r) = &e.renamed_from else { return };
    if let Some(other) = catalog.event(r) {
        out.push(
            sources
                .error(
                    Rule::BadRename,
                    e.span,
                    format!(
                        "event `{}` is renamed from `{r}`, which is still in the catalog",
                        e.name
                    ),
                )
                .with_note(sources.location(other.span), "declared here")
                .with_help(
                    "a rename replaces the old event: remove one of them, or drop `renamed_from`",
                ),
        );
    } else if lock.history(&e.name).is_none() && lock.history(r).is_none() {
        out.push(
            sources
                .error(
                    Rule::BadRename,
                    e.span,
                    format!("event `{}` is renamed from `{r}`, but no event `{r}` was ever released", e.name),
                )
                .with_help("write the name the event was released under (see the lock file), or remove `renamed_from`"),
        );
    }
}

/// Every change from `old` (a lock, or a catalog's [`Lock::of`]) to `new`,
/// each judged under its event's mode in `new`.
pub fn diff(old: &Lock, new: &Catalog) -> Vec<Classified> {
    let mut out = Vec::new();
    for e in &new.events {
        let Some(hist) = history(old, e) else {
            continue;
        };
        let Some(prev) = hist.last() else { continue };
        let shape = EventShape::of(new, e);
        let bumped = e.version > prev.version;
        for c in classify(prev, &shape) {
            out.push(Classified {
                breaking: !bumped && !c.allowed_under(e.compatibility),
                mode: e.compatibility,
                versions: (prev.version, e.version),
                change: c,
            });
        }
    }
    for (name, hist) in &old.events {
        let kept = new
            .events
            .iter()
            .any(|e| e.name == *name || e.renamed_from.as_deref() == Some(name));
        let Some(last) = hist.last() else { continue };
        if kept {
            continue;
        }
        let mode = new.compatibility;
        out.push(Classified {
            breaking: !last.deprecated && mode != Compatibility::None,
            mode,
            versions: (last.version, last.version),
            change: Change {
                kind: ChangeKind::EventRemoved,
                inner: None,
                event: name.clone(),
                field: None,
                message: format!(
                    "event `{name}` is removed{}",
                    if last.deprecated {
                        " (it was deprecated)"
                    } else {
                        ""
                    }
                ),
                backward: false,
                forward: false,
                span: crate::source::Span::default(),
            },
        });
    }
    out
}
