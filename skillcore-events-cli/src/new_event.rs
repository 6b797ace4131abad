//! `skillcore-events new NAME --catalog FILE [--aggregate A]`.
//!
//! The name is not checked by rules of our own: the command builds the file as it
//! would be with the skeleton entry added, compiles the catalog both ways with the
//! codegen crate and refuses when the entry brings any new diagnostic. So `new`
//! applies exactly the rules and help of `check` and the macro (naming, past
//! tense, duplicates, collisions, PascalCase aggregate), and what it writes is
//! known to compile.

use crate::catalog::stderr_style;
use crate::outcome::{Failure, Outcome, FINDINGS, OK, USAGE_OR_IO};
use crate::term::escape_line;
use skillcore_events_codegen::diag::{Diagnostic, Rule};
use skillcore_events_codegen::source::{display_path, BaseDir, SourceFile, Sources};
use skillcore_events_codegen::{compile_sources, naming};
use std::path::Path;

/// Runs the command.
pub fn run(name: &str, file: &Path, aggregate: Option<&str>) -> Outcome {
    let cwd = crate::catalog::cwd()?;
    let file_abs = if file.is_absolute() {
        file.to_path_buf()
    } else {
        cwd.join(file)
    };
    let original = match std::fs::metadata(&file_abs) {
        // The codegen's reader: regular files only, within the size limit.
        Ok(_) => {
            Sources::read_from(&file_abs, &cwd, BaseDir::WorkingDir)
                .map_err(io_failure)?
                .files
                .remove(0)
                .text
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Failure::io("read", file, e)),
    };
    let skeleton = Skeleton::new(name, aggregate);
    let edit = insert_entry(&original, &skeleton)?;

    let (sources, index) = catalog_sources(&file_abs, &cwd, &original)?;
    let before = compile_sources(sources.clone(), "catalog").diagnostics;
    let mut after_sources = sources;
    let display = after_sources.files[index].display.clone();
    after_sources.files[index] = SourceFile::new(&file_abs, display.clone(), edit.text.clone());
    let after = compile_sources(after_sources, "catalog").diagnostics;

    // Diagnostics the entry brings: those of `after` that were not there before
    // (earlier findings below the insertion point moved down by the added lines).
    let shifted: Vec<Key> = before
        .iter()
        .map(|d| Key::of(d, &display, edit.at_line, edit.added_lines))
        .collect();
    let new: Vec<&Diagnostic> = after
        .iter()
        .filter(|d| !shifted.contains(&Key::of(d, &display, u32::MAX, 0)))
        .collect();
    if !new.is_empty() {
        let style = stderr_style();
        let mut msg = String::new();
        for d in &new {
            msg.push_str(&detach(d, &display, edit.at_line, edit.added_lines).render_with(&style));
            msg.push_str("\n\n");
        }
        msg.push_str(&format!(
            "error: `{}` was not added; nothing was written to `{}`",
            escape_line(name),
            escape_line(&file.display().to_string())
        ));
        return Err(Failure {
            code: FINDINGS,
            message: msg,
        });
    }
    if let Some(parent) = file_abs.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Failure::io("create directory", parent, e))?;
    }
    crate::output::write_atomic(&file_abs, edit.text.as_bytes())
        .map_err(|e| Failure::io("write", file, e))?;
    println!(
        "added `{}` to {} at line {}: fill in its description and payload, then run `skillcore-events check`",
        escape_line(name),
        escape_line(&file.display().to_string()),
        edit.entry_line
    );
    Ok(OK)
}

/// A catalog that cannot be read, shown as `check` shows it.
fn io_failure(d: Diagnostic) -> Failure {
    Failure {
        code: USAGE_OR_IO,
        message: d.render_with(&stderr_style()),
    }
}

/// The catalog FILE belongs to: the `*.yaml` files of its directory (when FILE is
/// one of them or would be), with FILE's text as given. Returns FILE's index.
fn catalog_sources(file_abs: &Path, cwd: &Path, text: &str) -> Result<(Sources, usize), Failure> {
    let dir = file_abs.parent().unwrap_or(Path::new("."));
    let mut sources = match Sources::read_from(dir, cwd, BaseDir::WorkingDir) {
        Ok(s) => s,
        // A new file in a new or empty directory; any other problem (an
        // unreadable entry, a catalog over the size limit) is reported.
        Err(d)
            if d.rule == Rule::CatalogIo
                && (!dir.exists() || d.message.ends_with("holds no `*.yaml` file")) =>
        {
            Sources::default()
        }
        Err(d) => return Err(io_failure(d)),
    };
    let same = |p: &Path| {
        std::fs::canonicalize(p).ok() == std::fs::canonicalize(file_abs).ok()
            && std::fs::canonicalize(p).is_ok()
    };
    let index = match sources.files.iter().position(|f| same(&f.path)) {
        Some(i) => i,
        None => {
            sources.files.push(SourceFile::new(
                file_abs,
                display_path(file_abs, cwd),
                text.to_string(),
            ));
            sources.files.len() - 1
        }
    };
    sources.files[index] = SourceFile::new(
        file_abs,
        sources.files[index].display.clone(),
        text.to_string(),
    );
    Ok((sources, index))
}

/// What identifies a diagnostic across the edit.
#[derive(PartialEq, Eq)]
struct Key(Rule, String, Option<(String, u32, u32)>);

impl Key {
    fn of(d: &Diagnostic, file: &str, at_line: u32, added: u32) -> Key {
        let loc = d.location.as_ref().map(|l| {
            let line = if l.file == file && l.line >= at_line {
                l.line + added
            } else {
                l.line
            };
            (l.file.clone(), line, l.column)
        });
        Key(d.rule, d.message.clone(), loc)
    }
}

/// A finding about the would-be entry, shown without a position in FILE (its line
/// is not on disk): the message, the entry's line and the help.
fn detach(d: &Diagnostic, file: &str, at_line: u32, added: u32) -> Diagnostic {
    let mut out = d.clone();
    if let Some(loc) = &mut out.location {
        if loc.file == file && loc.line >= at_line && loc.line < at_line + added {
            loc.file = format!("{file} (new entry)");
        }
    }
    out
}

/// The entry to add.
struct Skeleton {
    name: String,
    aggregate: String,
    id_field: String,
}

impl Skeleton {
    fn new(name: &str, aggregate: Option<&str>) -> Self {
        let segments: Vec<&str> = name.split('.').collect();
        let middle = match segments.as_slice() {
            [_, a, _] => *a,
            [c, _] => *c,
            _ => segments.first().copied().unwrap_or("entity"),
        };
        let aggregate = aggregate
            .map(str::to_string)
            .unwrap_or_else(|| naming::to_pascal(middle));
        let aggregate = if aggregate.is_empty() {
            "Entity".to_string()
        } else {
            aggregate
        };
        let id_field = format!("{}Id", naming::to_lower_camel(&aggregate));
        Skeleton {
            name: name.to_string(),
            aggregate,
            id_field,
        }
    }

    fn lines(&self, indent: usize) -> Vec<String> {
        let i1 = " ".repeat(indent);
        let i2 = " ".repeat(indent * 2);
        let i3 = " ".repeat(indent * 3);
        vec![
            format!("{i1}{}:", yaml_key(&self.name)),
            format!(
                "{i2}description: \"TODO: what happened, in one sentence (added by `skillcore-events new`).\""
            ),
            format!("{i2}aggregate: {}", yaml_key(&self.aggregate)),
            format!("{i2}aggregate_id: {}", yaml_key(&self.id_field)),
            format!("{i2}payload:"),
            format!("{i3}{}: uuid", yaml_key(&self.id_field)),
            format!("{i3}occurredAt: datetime"),
            format!("{i2}# handlers: [context.handler_name]"),
        ]
    }
}

/// A key or scalar as YAML: plain when safe, else double-quoted.
fn yaml_key(s: &str) -> String {
    if skillcore_events_codegen::emit::json::yaml_plain_ok(s) {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
    }
}

/// The file's new text and where the entry went.
struct Edit {
    text: String,
    /// 1-based line of the first added line (a blank separator or the entry).
    at_line: u32,
    added_lines: u32,
    /// 1-based line of the entry's name.
    entry_line: u32,
}

/// Inserts the entry at the end of the top-level `events:` mapping (at the end of
/// the file when `events:` is the last section, which is the usual layout), or
/// appends an `events:` section. Existing text is kept byte for byte.
fn insert_entry(original: &str, sk: &Skeleton) -> Result<Edit, Failure> {
    let nl = if original.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let lines: Vec<&str> = original.split_inclusive('\n').collect();
    let is_top_level_key = |l: &str| {
        let t = l.trim_end_matches(['\r', '\n']);
        !t.is_empty() && !t.starts_with([' ', '\t', '#'])
    };
    let events_line = lines.iter().position(|l| {
        let t = l.trim_end_matches(['\r', '\n']);
        t == "events:" || t.starts_with("events: #") || t.starts_with("events:\t#") || {
            t.starts_with("events:") && t[7..].trim().is_empty()
        }
    });
    if events_line.is_none()
        && lines
            .iter()
            .any(|l| l.starts_with("events:") || l.starts_with("\"events\":"))
    {
        return Err(Failure::usage(
            "this file's `events:` is written in flow style (`events: {...}`); `new` appends block-style entries only: add the entry by hand",
        ));
    }
    let mut block = Vec::new();
    let (insert_after, indent, header) = match events_line {
        None => (lines.len(), 2, true),
        Some(ev) => {
            let mut last_content = ev;
            let mut indent = None;
            let mut end_is_eof = true;
            for (i, l) in lines.iter().enumerate().skip(ev + 1) {
                if is_top_level_key(l) {
                    end_is_eof = false;
                    break;
                }
                let t = l.trim_end_matches(['\r', '\n']);
                let trimmed = t.trim_start_matches(' ');
                if trimmed.is_empty() || trimmed.starts_with('#') {
                    continue;
                }
                if indent.is_none() {
                    indent = Some(t.len() - trimmed.len());
                }
                last_content = i + 1;
            }
            let at = if end_is_eof {
                lines.len()
            } else {
                last_content
            };
            (at, indent.unwrap_or(2).max(1), false)
        }
    };
    let prefix: String = lines[..insert_after].concat();
    let suffix: String = lines[insert_after..].concat();
    let mut text = prefix.clone();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push_str(nl);
    }
    let prev_blank = text.is_empty()
        || text
            .trim_end_matches(['\r', '\n'])
            .rsplit('\n')
            .next()
            .is_some_and(|l| l.trim().is_empty())
        || text.ends_with("\n\n")
        || text.ends_with("\r\n\r\n");
    let blank_before = !prev_blank;
    if blank_before {
        block.push(String::new());
    }
    if header {
        block.push("events:".into());
    }
    block.extend(sk.lines(indent));
    let prefix_lines = text.matches('\n').count() as u32;
    for l in &block {
        text.push_str(l);
        text.push_str(nl);
    }
    if !suffix.is_empty() {
        if !suffix.starts_with(['\r', '\n']) {
            text.push_str(nl);
        }
        text.push_str(&suffix);
    }
    let added_lines = text.matches('\n').count() as u32 - original.matches('\n').count() as u32;
    Ok(Edit {
        text,
        at_line: prefix_lines + 1,
        added_lines,
        entry_line: prefix_lines + 1 + u32::from(blank_before) + u32::from(header),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sk(name: &str) -> Skeleton {
        Skeleton::new(name, None)
    }

    #[test]
    fn appends_at_the_end_keeping_text() {
        let src =
            "# head\nevents:\n    a.b.posted: # keep\n        description: x\n# tail comment\n";
        let e = insert_entry(src, &sk("a.c.posted")).unwrap();
        assert!(e.text.starts_with(src), "{}", e.text);
        assert!(
            e.text.contains("\n\n    a.c.posted:\n        description:"),
            "{}",
            e.text
        );
        assert!(
            e.text.contains("        payload:\n            cId: uuid\n"),
            "{}",
            e.text
        );
    }

    #[test]
    fn inserts_before_a_later_section() {
        let src = "events:\n  a.b.posted:\n    description: x\n\n# types follow\ntypes:\n  T: {}\n";
        let e = insert_entry(src, &sk("a.c.posted")).unwrap();
        let prefix = "events:\n  a.b.posted:\n    description: x\n";
        let suffix = "\n# types follow\ntypes:\n  T: {}\n";
        assert_eq!(src, format!("{prefix}{suffix}"));
        assert!(e.text.starts_with(prefix), "{}", e.text);
        assert!(
            e.text.ends_with(&format!(
                "occurredAt: datetime\n    # handlers: [context.handler_name]\n{suffix}"
            )),
            "{}",
            e.text
        );
        assert_eq!(e.at_line, 4);
        assert_eq!(e.entry_line, 5);
        assert_eq!(e.text.lines().nth(4), Some("  a.c.posted:"));
    }

    #[test]
    fn adds_an_events_section_and_keeps_crlf() {
        let e = insert_entry("catalog: x\r\n", &sk("a.c.posted")).unwrap();
        assert!(
            e.text
                .starts_with("catalog: x\r\n\r\nevents:\r\n  a.c.posted:\r\n"),
            "{:?}",
            e.text
        );
        let e = insert_entry("", &sk("a.c.posted")).unwrap();
        assert!(
            e.text.starts_with("events:\n  a.c.posted:\n"),
            "{:?}",
            e.text
        );
    }
}
