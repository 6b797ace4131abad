//! `skillcore-events check [PATH] [--format human|json|github]`: the macro's
//! rules without compiling.

use crate::args::CheckOutput as CheckFormat;
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
        // JSON consumers get I/O problems in the array too (and GitHub an
        // annotation), with exit code 2.
        CheckFormat::Json | CheckFormat::Github => {
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
        CheckFormat::Github => {
            let text: String = compiled
                .diagnostics
                .iter()
                .map(|d| github_annotation(Level::Error, d))
                .collect();
            print_stdout(&text)?;
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

/// The level of a GitHub Actions annotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    /// `::error`: fails the check (every catalog rule is an error today).
    Error,
    /// `::warning`.
    #[allow(dead_code)] // no catalog rule is a warning yet
    Warning,
}

/// One diagnostic as a GitHub Actions workflow command, so that pull requests
/// show it inline: `::error file=F,line=L,col=C,title=RULE::message`, the help
/// and the notes on further lines of the message; a line break ends it.
/// Escaped per the workflow command rules: `%`, CR and LF in the message;
/// also `:` and `,` in the properties.
pub(crate) fn github_annotation(level: Level, d: &Diagnostic) -> String {
    let mut props = Vec::new();
    if let Some(l) = &d.location {
        props.push(format!("file={}", escape_property(&l.file)));
        props.push(format!("line={}", l.line));
        props.push(format!("col={}", l.column));
    }
    props.push(format!("title={}", escape_property(d.rule.id())));
    let mut message = d.message.clone();
    if let Some(h) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(h);
    }
    for (at, note) in &d.notes {
        message.push_str(&format!(
            "\nnote: {}:{}:{}: {note}",
            at.file, at.line, at.column
        ));
    }
    let level = match level {
        Level::Error => "error",
        Level::Warning => "warning",
    };
    format!(
        "::{level} {}::{}\n",
        props.join(","),
        term::escape(&escape_data(&message))
    )
}

/// The message of a workflow command: `%`, CR and LF escaped (other control
/// characters are then shown as `\u{..}` escapes, as on a terminal).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property of a workflow command: as a message, and `:` and `,` too.
fn escape_property(s: &str) -> String {
    term::escape_line(&escape_data(s))
        .replace(':', "%3A")
        .replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use skillcore_events_codegen::diag::Location;

    fn at(file: &str, line: u32, column: u32) -> Location {
        Location {
            file: file.into(),
            line,
            column,
            len: 1,
            source_line: String::new(),
            source_skip: 0,
            source_more: false,
        }
    }

    #[test]
    fn an_annotation_names_file_line_column_and_rule() {
        let mut d = Diagnostic::global(Rule::PastTense, "action `post` is not in the past tense")
            .with_help("did you mean `gradebook.grade.posted`?");
        d.location = Some(at("catalog/gradebook.yaml", 3, 5));
        assert_eq!(
            github_annotation(Level::Error, &d),
            "::error file=catalog/gradebook.yaml,line=3,col=5,title=past-tense::action `post` is not in the past tense%0Ahelp: did you mean `gradebook.grade.posted`?\n"
        );
        assert!(github_annotation(Level::Warning, &d).starts_with("::warning file="));
    }

    #[test]
    fn annotations_escape_per_the_workflow_command_rules() {
        let mut d = Diagnostic::global(Rule::InvalidValue, "100% wrong\r\nsecond: line, really");
        d.location = Some(at("a,b:c%.yaml", 1, 2));
        d.notes.push((at("x.yaml", 4, 1), "first here".into()));
        assert_eq!(
            github_annotation(Level::Error, &d),
            "::error file=a%2Cb%3Ac%25.yaml,line=1,col=2,title=invalid-value::100%25 wrong%0D%0Asecond: line, really%0Anote: x.yaml:4:1: first here\n"
        );
        // A catalog-wide problem has no file.
        let g = Diagnostic::global(Rule::CatalogIo, "cannot read `c`");
        assert_eq!(
            github_annotation(Level::Error, &g),
            "::error title=catalog-io::cannot read `c`\n"
        );
    }
}
