//! `skillcore-events check [PATH] [--format human|json]`: the macro's rules
//! without compiling.

use crate::args::CheckFormat;
use crate::catalog::{load, load_compiled, settings_for, stderr_style};
use crate::outcome::{print_stdout, Failure, Outcome, FINDINGS, OK, USAGE_OR_IO};
use crate::term;
use skillcore_events_codegen::diag::{self, Diagnostic, Rule};
use skillcore_events_codegen::emit::json::Json;
use std::path::Path;

/// Runs the command: exit 0 for a valid catalog, 1 with violations, 2 when it
/// cannot be read.
pub(crate) fn run(path: &Path, format: CheckFormat) -> Outcome {
    let settings = settings_for(path)?;
    let compiled = match format {
        CheckFormat::Human => load(&settings)?,
        // JSON consumers get I/O problems in the array too, with exit code 2.
        CheckFormat::Json => {
            let p = settings.resolved_catalog().map_err(Failure::usage)?;
            load_compiled(&p, &settings)
        }
    };
    let io = compiled
        .diagnostics
        .iter()
        .any(|d| d.rule == Rule::CatalogIo);
    match format {
        CheckFormat::Json => {
            let list = Json::Arr(compiled.diagnostics.iter().map(diagnostic_json).collect());
            print_stdout(&list.to_json_pretty())?;
        }
        CheckFormat::Human if compiled.is_ok() => {
            let c = &compiled.catalog;
            print_stdout(&format!(
                "ok: catalog `{}`: {} events in {} contexts, {} types, {} files\n",
                term::escape_line(&c.name),
                c.events.len(),
                c.contexts().len(),
                c.types.len(),
                compiled.sources.files.len()
            ))?;
        }
        CheckFormat::Human => {
            eprintln!(
                "{}",
                diag::render_all(&compiled.diagnostics, &stderr_style())
            );
        }
    }
    Ok(if io {
        USAGE_OR_IO
    } else if compiled.is_ok() {
        OK
    } else {
        FINDINGS
    })
}

/// `{rule, message, file, line, column, help, notes}`, in that order, for CI and
/// editors; `file`, `line` and `column` are `null` for catalog-wide problems.
fn diagnostic_json(d: &Diagnostic) -> Json {
    let loc = d.location.as_ref();
    let opt = |v: Option<Json>| v.unwrap_or(Json::Null);
    Json::obj()
        .with("rule", d.rule.id())
        .with("message", d.message.as_str())
        .with("file", opt(loc.map(|l| Json::str(&l.file))))
        .with("line", opt(loc.map(|l| Json::from(l.line))))
        .with("column", opt(loc.map(|l| Json::from(l.column))))
        .with("help", opt(d.help.as_deref().map(Json::str)))
        .with(
            "notes",
            Json::Arr(
                d.notes
                    .iter()
                    .map(|(at, note)| {
                        Json::obj()
                            .with("message", note.as_str())
                            .with("file", at.file.as_str())
                            .with("line", at.line)
                            .with("column", at.column)
                    })
                    .collect(),
            ),
        )
}
