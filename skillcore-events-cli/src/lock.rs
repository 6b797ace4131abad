//! `skillcore-events lock [PATH] [--check]`: record the catalog's current
//! shapes as released, in the lock file beside it.
//!
//! A lock only ever records a catalog that passes every rule (the lock's own
//! check included), so a breaking change cannot be locked: it needs a new
//! `version` first. The file is rewritten only when its bytes change.

use crate::catalog::{load, settings_for, stderr_style};
use crate::outcome::{print_stdout, Failure, Outcome, FINDINGS, OK};
use crate::output::write_atomic;
use crate::term::escape_line;
use skillcore_events_codegen::diag;
use skillcore_events_codegen::evolution::{lock_path, relock, Lock};
use skillcore_events_codegen::model::Catalog;
use skillcore_events_codegen::source::display_path;
use std::path::Path;

/// Runs the command: exit 0 when the lock was written or is up to date, 1 when
/// the catalog has violations (or, with `check`, the lock would change), 2 on
/// I/O errors.
pub(crate) fn run(path: &Path, check: bool) -> Outcome {
    let settings = settings_for(path)?;
    let catalog_path = settings.resolved_catalog().map_err(Failure::usage)?;
    let file = lock_path(&catalog_path);
    let shown = display_path(&file, &settings.base_dir);
    // Read the bytes first: an unreadable lock is an I/O error (exit 2), not a
    // finding in the catalog.
    let on_disk = match std::fs::read(&file) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Failure::io("read lock file", Path::new(&shown), e)),
    };
    let compiled = load(&settings)?;
    if !compiled.is_ok() {
        eprintln!(
            "{}",
            diag::render_all(&compiled.diagnostics, &stderr_style())
        );
        let shown = escape_line(&shown);
        if compiled.lock.is_none() && compiled.lock_path.is_some() {
            // Writing a fresh lock over an unreadable one would forget every
            // release, and with it the check against breaking changes.
            eprintln!(
                "note: {shown} cannot be read, so it is not replaced: restore it from version control; only if its history is lost for good, delete it and run `skillcore-events lock` to start a new one"
            );
        }
        eprintln!(
            "error: {shown} is not written: a lock records only a catalog that passes `skillcore-events check`"
        );
        return Ok(FINDINGS);
    }
    let old = compiled.lock.as_deref();
    let new = relock(old, &compiled.catalog);
    let text = new.render();
    let shown = escape_line(&shown);
    if on_disk.as_deref() == Some(text.as_bytes()) {
        print_stdout(&format!("{shown} is up to date\n"))?;
        return Ok(OK);
    }
    let changes = changes(old, &new, &compiled.catalog);
    if check {
        if on_disk.is_none() {
            eprintln!("error: {shown} is missing; run `skillcore-events lock` to write it");
            return Ok(FINDINGS);
        }
        for c in &changes.lines {
            eprintln!("would change: {}", escape_line(c));
        }
        eprintln!(
            "error: {shown} is out of date; run `skillcore-events lock` to update it, and commit it"
        );
        return Ok(FINDINGS);
    }
    write_atomic(&file, text.as_bytes())
        .map_err(|e| Failure::io("write lock file", Path::new(&*shown), e))?;
    let what = if on_disk.is_none() {
        " (a new lock)".to_string()
    } else {
        changes.summary()
    };
    print_stdout(&format!(
        "wrote {shown}: {}{what}\n",
        plural(new.events.len(), "event", "events")
    ))?;
    Ok(OK)
}

/// What relocking changes, counted and named.
#[derive(Default)]
struct Changes {
    new_events: usize,
    new_versions: usize,
    compatible: usize,
    renamed: usize,
    removed: usize,
    /// One line per change, for `--check`.
    lines: Vec<String>,
}

impl Changes {
    /// `, 1 new version, 2 new events`, or a note that only the text changes.
    fn summary(&self) -> String {
        let mut parts = Vec::new();
        let mut add = |n: usize, one: &str, many: &str| {
            if n > 0 {
                parts.push(plural(n, one, many));
            }
        };
        add(self.new_versions, "new version", "new versions");
        add(self.compatible, "compatible change", "compatible changes");
        add(self.new_events, "new event", "new events");
        add(self.renamed, "renamed event", "renamed events");
        add(self.removed, "removed event", "removed events");
        if parts.is_empty() {
            ", rewritten in its one layout (it was edited by hand or by another version)".into()
        } else {
            format!(", {}", parts.join(", "))
        }
    }
}

/// Compares the lock before (`old`) and after (`new`) relocking `catalog`.
fn changes(old: Option<&Lock>, new: &Lock, catalog: &Catalog) -> Changes {
    let mut c = Changes::default();
    for (name, hist) in &new.events {
        let renamed_from = catalog.event(name).and_then(|e| e.renamed_from.as_deref());
        let own = old.and_then(|l| l.history(name));
        let before = own.or_else(|| renamed_from.and_then(|r| old.and_then(|l| l.history(r))));
        let Some(before) = before else {
            c.new_events += 1;
            let v = hist.last().map_or(1, |s| s.version);
            c.lines.push(format!("{name}: first release (version {v})"));
            continue;
        };
        if own.is_none() {
            c.renamed += 1;
            c.lines.push(format!(
                "{name}: renamed from {}",
                renamed_from.unwrap_or("?")
            ));
        }
        for s in hist.iter().skip(before.len()) {
            if own.is_none() && before.iter().any(|b| b.version == s.version) {
                // The entry under the new name, which the rename line covers.
                continue;
            }
            if before.iter().any(|b| b.version == s.version) {
                c.compatible += 1;
                c.lines.push(format!(
                    "{name}: a compatible change to version {} (a new entry)",
                    s.version
                ));
            } else {
                c.new_versions += 1;
                c.lines.push(format!("{name}: new version {}", s.version));
            }
        }
    }
    if let Some(old) = old {
        for name in old.events.keys() {
            let kept = new.events.contains_key(name)
                || catalog
                    .events
                    .iter()
                    .any(|e| e.renamed_from.as_deref() == Some(name.as_str()));
            if !kept {
                c.removed += 1;
                c.lines.push(format!("{name}: removed from the catalog"));
            }
        }
    }
    if c.lines.is_empty() {
        c.lines.push(
            "the text, rewritten in its one layout (it was edited by hand or by another version)"
                .into(),
        );
    }
    c
}

/// `1 event`, `3 events`.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
