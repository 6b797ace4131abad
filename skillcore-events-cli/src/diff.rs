//! `skillcore-events diff OLD NEW [--format human|json|markdown]`: every
//! change from one catalog (or lock file) to another, each with its rule id
//! and whether the build would refuse it.
//!
//! OLD is a lock file when its name ends in `.lock`, else a catalog (a `.yaml`
//! file or a directory of them); NEW is always a catalog. Catalogs are read
//! without the lock beside them: the diff is between the two sides given.

use crate::args::DiffFormat;
use crate::catalog::{cwd, settings_for, stderr_style};
use crate::outcome::{print_stdout, Failure, Outcome, FINDINGS, OK, USAGE_OR_IO};
use crate::term::escape_line;
use skillcore_events_codegen::diag::{self, Location};
use skillcore_events_codegen::emit::json::Json;
use skillcore_events_codegen::evolution::{
    diff, ChangeKind, Classified, EventShape, Lock, TypeShape,
};
use skillcore_events_codegen::model::BaseType;
use skillcore_events_codegen::source::{display_path, BaseDir};
use skillcore_events_codegen::{compile_sources, Compiled, Sources};
use std::path::Path;

/// Runs the command: exit 0 when no change is breaking, 1 when one is, 2 when
/// a side cannot be read or has errors.
pub(crate) fn run(old: &Path, new: &Path, format: DiffFormat) -> Outcome {
    let base = cwd()?;
    let old_shown = display_path(old, Path::new(""));
    // The two sides are read at once (two catalogs are twice the work of
    // one); when both have problems, OLD's are the ones reported.
    let (old_lock, new_c) = std::thread::scope(|s| {
        let old_side = s.spawn(|| {
            if is_lock(old) {
                read_lock(old, &base)
            } else {
                compile(old, &base, "OLD").map(|c| Lock::of(&c.catalog))
            }
        });
        let new_c = compile(new, &base, "NEW");
        let old_lock = old_side
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (old_lock, new_c)
    });
    let (old_lock, new_c) = (old_lock?, new_c?);
    if old_lock.catalog != new_c.catalog.name {
        eprintln!(
            "note: OLD is catalog `{}`, NEW is catalog `{}`",
            escape_line(&old_lock.catalog),
            escape_line(&new_c.catalog.name)
        );
    }
    let rows: Vec<Row> = diff(&old_lock, &new_c.catalog)
        .iter()
        .map(|c| Row::of(c, &new_c, &old_lock))
        .collect();
    let added: Vec<&str> = new_c
        .catalog
        .events
        .iter()
        .filter(|e| {
            old_lock.history(&e.name).is_none()
                && e.renamed_from
                    .as_deref()
                    .is_none_or(|r| old_lock.history(r).is_none())
        })
        .map(|e| e.name.as_str())
        .collect();
    let summary = summary(&rows, &added);
    let text = match format {
        DiffFormat::Json => Json::Arr(rows.iter().map(Row::json).collect()).to_json_pretty(),
        DiffFormat::Human => human(&rows, &summary),
        DiffFormat::Markdown => markdown(
            &rows,
            &summary,
            &old_shown,
            &display_path(new, Path::new("")),
        ),
    };
    print_stdout(&text)?;
    Ok(if rows.iter().any(|r| r.breaking) {
        FINDINGS
    } else {
        OK
    })
}

/// Whether OLD names a lock file: by its extension, `.lock`.
fn is_lock(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "lock")
}

/// Reads a lock file given as OLD; problems in it are exit 2.
fn read_lock(path: &Path, base: &Path) -> Result<Lock, Failure> {
    let settings = settings_for(path)?;
    let full = settings.resolved_catalog().map_err(Failure::usage)?;
    let shown = display_path(&full, base);
    match Lock::read(&full, &shown) {
        Ok(Some(lock)) => Ok(lock),
        Ok(None) => Err(Failure::usage(format!(
            "cannot read lock file `{shown}`: no such file"
        ))),
        Err(found) => Err(Failure {
            code: USAGE_OR_IO,
            message: diag::render_all(&found, &stderr_style()),
        }),
    }
}

/// Reads and checks one side's catalog, without the lock beside it; a side
/// that cannot be read or has errors is exit 2 (there is nothing to compare).
fn compile(path: &Path, base: &Path, side: &str) -> Result<Compiled, Failure> {
    let settings = settings_for(path)?;
    let full = settings.resolved_catalog().map_err(Failure::usage)?;
    let sources = Sources::read_from(&full, base, BaseDir::WorkingDir).map_err(|d| Failure {
        code: USAGE_OR_IO,
        message: d.render_with(&stderr_style()),
    })?;
    let fallback = full
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "catalog".into());
    let compiled = compile_sources(sources, &fallback);
    if !compiled.is_ok() {
        return Err(Failure {
            code: USAGE_OR_IO,
            message: format!(
                "{}\nerror: the {side} catalog `{}` has errors; `diff` compares valid catalogs only",
                diag::render_all(&compiled.diagnostics, &stderr_style()),
                escape_line(&display_path(&full, base))
            ),
        });
    }
    Ok(compiled)
}

/// One change as every format prints it.
struct Row {
    /// The stable rule id (`struct-type-changed` for a change in a type).
    rule: &'static str,
    /// The inner kind of a `struct-type-changed`.
    inner: Option<&'static str>,
    event: String,
    field: Option<String>,
    breaking: bool,
    mode: &'static str,
    message: String,
    versions: (u32, u32),
    /// Where in NEW (none for a removed event).
    at: Option<Location>,
}

impl Row {
    fn of(c: &Classified, new: &Compiled, old: &Lock) -> Row {
        let ch = &c.change;
        let at = (ch.kind != ChangeKind::EventRemoved).then(|| new.sources.location(ch.span));
        let mut message = ch.message.clone();
        // A default is catalog text, but a pii field's is not shown either.
        if ch.inner.unwrap_or(ch.kind) == ChangeKind::FieldDefaultChanged {
            let path = ch.field.as_deref().unwrap_or("");
            let new_shape = new
                .catalog
                .event(&ch.event)
                .map(|e| EventShape::of(&new.catalog, e));
            let old_shape = new
                .catalog
                .event(&ch.event)
                .and_then(|e| {
                    old.history(&e.name)
                        .or_else(|| e.renamed_from.as_deref().and_then(|r| old.history(r)))
                })
                .and_then(|h| h.last().cloned());
            if [new_shape, old_shape]
                .iter()
                .flatten()
                .any(|s| is_pii(s, path))
            {
                message =
                    format!("the default of `{path}` changed (values of pii fields are not shown)");
            }
        }
        Row {
            rule: ch.kind.id(),
            inner: ch.inner.map(ChangeKind::id),
            event: ch.event.clone(),
            field: ch.field.clone(),
            breaking: c.breaking,
            mode: c.mode.name(),
            message,
            versions: c.versions,
            at,
        }
    }

    /// `struct-type-changed (field-removed)`, else the rule id.
    fn rule_shown(&self) -> String {
        match self.inner {
            Some(i) => format!("{} ({i})", self.rule),
            None => self.rule.to_string(),
        }
    }

    /// `v1`, or `v1 -> v2` when the version was raised.
    fn versions_shown(&self) -> String {
        let (a, b) = self.versions;
        if a == b {
            format!("v{a}")
        } else {
            format!("v{a} -> v{b}")
        }
    }

    fn where_shown(&self) -> Option<String> {
        self.at
            .as_ref()
            .map(|l| format!("{}:{}:{}", l.file, l.line, l.column))
    }

    /// `{rule, event, field, breaking, mode, message, file, line, column}`.
    fn json(&self) -> Json {
        let opt = |v: Option<Json>| v.unwrap_or(Json::Null);
        let at = self.at.as_ref();
        Json::obj()
            .with("rule", self.rule)
            .with("event", self.event.as_str())
            .with("field", opt(self.field.as_deref().map(Json::str)))
            .with("breaking", self.breaking)
            .with("mode", self.mode)
            .with("message", self.message.as_str())
            .with("file", opt(at.map(|l| Json::str(&l.file))))
            .with("line", opt(at.map(|l| Json::from(l.line))))
            .with("column", opt(at.map(|l| Json::from(l.column))))
    }
}

/// Whether the field at `path` (`term.endDate`) of `shape`, or a field it
/// sits in, is pii.
fn is_pii(shape: &EventShape, path: &str) -> bool {
    let mut fields = &shape.fields;
    for seg in path.split('.') {
        let Some(f) = fields.iter().find(|f| f.name == seg) else {
            return false;
        };
        if f.pii {
            return true;
        }
        match &f.ty.base {
            BaseType::Named(n) => match shape.types.get(n) {
                Some(TypeShape::Struct(inner)) => fields = inner,
                _ => return false,
            },
            _ => return false,
        }
    }
    false
}

/// `3 changes to 2 events, 1 breaking; 1 new event`, or `no changes`.
fn summary(rows: &[Row], added: &[&str]) -> String {
    let mut events: Vec<&str> = rows.iter().map(|r| r.event.as_str()).collect();
    events.sort_unstable();
    events.dedup();
    let breaking = rows.iter().filter(|r| r.breaking).count();
    let mut out = if rows.is_empty() {
        if added.is_empty() {
            "no changes".to_string()
        } else {
            "no changes to released events".to_string()
        }
    } else {
        format!(
            "{} to {}, {}",
            plural(rows.len(), "change", "changes"),
            plural(events.len(), "event", "events"),
            if breaking == 0 {
                "none breaking".to_string()
            } else {
                format!("{breaking} breaking")
            }
        )
    };
    if !added.is_empty() {
        out.push_str(&format!(
            "; {}: {}",
            plural(added.len(), "new event", "new events"),
            added.join(", ")
        ));
    }
    out
}

/// One line per change, breaking ones first in the line, then the summary.
fn human(rows: &[Row], summary: &str) -> String {
    let mut out = String::new();
    for r in rows {
        let line = format!(
            "{:<8} {}: {} [{}, {}, {}]{}",
            if r.breaking { "breaking" } else { "ok" },
            r.event,
            r.message,
            r.rule_shown(),
            r.mode,
            r.versions_shown(),
            r.where_shown()
                .map(|w| format!(" at {w}"))
                .unwrap_or_default()
        );
        out.push_str(&escape_line(&line));
        out.push('\n');
    }
    out.push_str(&escape_line(summary));
    out.push('\n');
    out
}

/// A summary line and a table, for a pull-request comment.
fn markdown(rows: &[Row], summary: &str, old: &str, new: &str) -> String {
    let mut out = format!(
        "**Event catalog changes** (`{}` → `{}`): {}\n",
        cell(old),
        cell(new),
        cell(summary)
    );
    if rows.is_empty() {
        return out;
    }
    out.push_str("\n| Breaking | Rule | Event | Field | Change | Where |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            if r.breaking { "**yes**" } else { "no" },
            code(&r.rule_shown()),
            code(&r.event),
            r.field.as_deref().map(code).unwrap_or_default(),
            cell(&format!(
                "{} ({}, {})",
                r.message,
                r.mode,
                r.versions_shown()
            )),
            r.where_shown().as_deref().map(code).unwrap_or_default(),
        ));
    }
    out
}

/// Text for a table cell: on one line, terminal escapes shown, `|` escaped.
fn cell(s: &str) -> String {
    escape_line(s).replace('|', "\\|")
}

/// A cell in backticks, unless the text holds one.
fn code(s: &str) -> String {
    if s.contains('`') {
        cell(s)
    } else {
        format!("`{}`", cell(s))
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
