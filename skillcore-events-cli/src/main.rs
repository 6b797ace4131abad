//! `skillcore-events`: the command line of SkillCore Events.
//!
//! Checks a catalog without compiling, exports JSON Schema and AsyncAPI, builds the
//! browsable HTML catalog, prints example payloads and adds new events. Every
//! command reads the catalog through the codegen crate, so the rules, messages and
//! model are exactly the macro's.
//!
//! Exit codes: 0 ok; 1 catalog violations or drift; 2 usage or I/O errors.

// The doc comments of the command types are clap's `--help` text, written for a
// terminal (`DIR/<event name>.schema.json`), not HTML.
#![allow(rustdoc::invalid_html_tags)]

mod new_event;
mod output;
mod queue;
mod term;

use clap::{Parser, Subcommand, ValueEnum};
use skillcore_events_codegen::diag::{self, Diagnostic, Rule, Style};
use skillcore_events_codegen::emit::json::Json;
use skillcore_events_codegen::emit::{asyncapi, docs, example, schema};
use skillcore_events_codegen::source::BaseDir;
use skillcore_events_codegen::{naming, Compiled, Settings};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Everything went well.
const OK: u8 = 0;
/// The catalog has violations, or exported files drifted.
const FINDINGS: u8 = 1;
/// Bad usage, or a file could not be read or written.
const USAGE_OR_IO: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "skillcore-events",
    version,
    about = "Check the SkillCore event catalog and export it as JSON Schema, AsyncAPI and HTML",
    long_about = "Check the SkillCore event catalog and export it as JSON Schema, AsyncAPI and HTML.\n\nThe YAML catalog (one file, or a directory of *.yaml files) is the single source of truth; every command applies the same rules as the `catalog!` macro.\n\nExit codes: 0 ok, 1 catalog violations or drift, 2 usage or I/O errors.",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a catalog with the macro's rules, without compiling.
    ///
    /// Prints every violation with its file, line and column, the offending YAML
    /// line with a caret under the problem, and a `help:` line with a fix.
    Check {
        /// The catalog: a .yaml file or a directory of them.
        #[arg(default_value = "catalog")]
        path: PathBuf,
        /// `human` (source line, caret and help; coloured on a terminal) or `json`
        /// (one array of {rule, message, file, line, column, help}).
        #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
        format: CheckFormat,
    },
    /// Export one JSON Schema (draft 2020-12) per event.
    ///
    /// Writes DIR/<event name>.v<version>.schema.json, only the files whose content
    /// changed. With --check, writes nothing and exits 1 naming the files that
    /// differ from what the catalog gives.
    Schema {
        /// The catalog: a .yaml file or a directory of them.
        #[arg(default_value = "catalog")]
        path: PathBuf,
        /// Directory to write the schemas to (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Compare with the files in DIR instead of writing; exit 1 on drift.
        #[arg(long)]
        check: bool,
        /// Prefix of every schema's `$id`.
        #[arg(long, value_name = "URL", default_value_t = Settings::default().schema_id_base)]
        id_base: String,
    },
    /// Export one AsyncAPI 3.0.0 document for the whole catalog.
    ///
    /// A channel and a message per event, a receive operation per declared
    /// handler, a tag per context. Printed to standard output unless --out is
    /// given.
    Asyncapi {
        /// The catalog: a .yaml file or a directory of them.
        #[arg(default_value = "catalog")]
        path: PathBuf,
        /// File to write (standard output when absent).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Output syntax; defaults to json for a FILE ending in .json, else yaml.
        #[arg(long, value_enum)]
        format: Option<AsyncFormat>,
        /// Compare with FILE instead of writing; exit 1 on drift. Needs --out.
        #[arg(long, requires = "out")]
        check: bool,
        /// The document's `info.version`.
        #[arg(long, value_name = "VERSION", default_value_t = Settings::default().api_version)]
        api_version: String,
    },
    /// Build a static HTML catalog that works offline.
    ///
    /// An index of every event grouped by context with a filter box, a page per
    /// event (payload table, handlers, example, JSON Schema) and a map of contexts,
    /// events and handlers.
    Docs {
        /// The catalog: a .yaml file or a directory of them.
        #[arg(default_value = "catalog")]
        path: PathBuf,
        /// Directory to write the site to (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Append a skeleton entry for a new event to a catalog file.
    ///
    /// Checks NAME with the catalog's naming rules first (the same messages and
    /// help as `check`), then appends the entry, leaving the file's existing text
    /// and comments untouched.
    New {
        /// The event name, `<context>.<aggregate>.<action>` (e.g. gradebook.grade.reopened).
        name: String,
        /// The catalog file to append to (created if missing). The other *.yaml
        /// files of its directory are read too, as one catalog.
        #[arg(long, value_name = "FILE")]
        catalog: PathBuf,
        /// The aggregate type, PascalCase (default: from the name's middle segment).
        #[arg(long, value_name = "A")]
        aggregate: Option<String>,
    },
    /// Queue statistics of a durable event store.
    Queue {
        #[command(subcommand)]
        command: QueueCommand,
    },
    /// List, retry or discard the dead letters of a durable event store.
    DeadLetters {
        #[command(subcommand)]
        command: DeadCommand,
    },
    /// Re-deliver stored events to one handler (to rebuild its projection).
    ///
    /// Queues the matching events as a replay batch for the handler, then shows
    /// a progress bar while the service's workers run them. The handler runs
    /// again even for events it already handled.
    Replay {
        #[command(flatten)]
        db: DbArgs,
        /// The handler id, e.g. analytics.update_gpa.
        #[arg(long, value_name = "ID")]
        handler: String,
        /// Only events of this type.
        #[arg(long = "type", value_name = "NAME")]
        event_type: Option<String>,
        /// Only events that occurred at or after this RFC 3339 time.
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Queue the replay and exit without following its progress.
        #[arg(long)]
        no_wait: bool,
        /// Stop following after this many seconds (the replay stays queued).
        #[arg(long, value_name = "SECS")]
        timeout: Option<u64>,
    },
    /// Print an example payload of one event, valid against its schema.
    ///
    /// The first of the event's `examples:` in the catalog, else a generated one.
    Example {
        /// The event name.
        name: String,
        /// The catalog: a .yaml file or a directory of them.
        #[arg(default_value = "catalog")]
        path: PathBuf,
    },
}

/// Which event store, and which of its districts.
#[derive(clap::Args, Debug)]
struct DbArgs {
    /// The store: `sqlite:PATH` (or a path) or `postgres://user@host/db`. It
    /// must exist: these commands never create or migrate a store.
    #[arg(long, value_name = "URL")]
    db: String,
    /// PostgreSQL schema holding the tables (default: the search path).
    #[arg(long, value_name = "SCHEMA")]
    schema: Option<String>,
    #[command(flatten)]
    scope: ScopeArgs,
}

/// Which districts (tenants) a queue command sees: one of the two is required.
#[derive(clap::Args, Debug)]
#[group(required = true, multiple = false)]
struct ScopeArgs {
    /// Only the events and deliveries of this district (tenant).
    #[arg(long, value_name = "D")]
    district: Option<String>,
    /// Every district's: for administrators only.
    #[arg(long)]
    all_districts: bool,
}

#[derive(Subcommand, Debug)]
enum QueueCommand {
    /// Waiting, active, completed, failed (retrying) and dead deliveries per handler.
    Stats {
        #[command(flatten)]
        db: DbArgs,
        /// `human` (a table) or `json`.
        #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
        format: CheckFormat,
    },
}

#[derive(Subcommand, Debug)]
enum DeadCommand {
    /// List the dead letters, oldest first.
    List {
        #[command(flatten)]
        db: DbArgs,
        /// Only this handler's.
        #[arg(long, value_name = "ID")]
        handler: Option<String>,
    },
    /// Queue a dead letter again, with a fresh set of attempts.
    Retry {
        #[command(flatten)]
        db: DbArgs,
        /// The dead letter's number, from `list`.
        id: i64,
    },
    /// Drop a dead letter for good.
    Discard {
        #[command(flatten)]
        db: DbArgs,
        /// The dead letter's number, from `list`.
        id: i64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum CheckFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum AsyncFormat {
    Yaml,
    Json,
}

/// A failure that ends a command: its exit code and what to print on stderr.
#[derive(Debug)]
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    /// A usage or I/O error. The message is escaped for the terminal: it may
    /// quote paths and names from the catalog or the command line.
    fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: USAGE_OR_IO,
            message: format!("error: {}", term::escape(&message.into())),
        }
    }

    fn io(what: &str, path: &Path, e: std::io::Error) -> Self {
        Failure::usage(format!("cannot {what} `{}`: {e}", path.display()))
    }
}

type Outcome = Result<u8, Failure>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(code) => code,
        Err(f) => {
            eprintln!("{}", f.message);
            f.code
        }
    };
    ExitCode::from(code)
}

fn run(cli: Cli) -> Outcome {
    match cli.command {
        Command::Check { path, format } => check(&path, format),
        Command::Schema {
            path,
            out,
            check,
            id_base,
        } => {
            let mut settings = settings_for(&path)?;
            settings.schema_id_base = id_base;
            let compiled = load_valid(&settings)?;
            let files = schema::export(&compiled.catalog, &settings);
            output::write_or_check(&out, files, check, "schema")
        }
        Command::Asyncapi {
            path,
            out,
            format,
            check,
            api_version,
        } => {
            let mut settings = settings_for(&path)?;
            settings.api_version = api_version;
            let compiled = load_valid(&settings)?;
            let format = match format {
                Some(AsyncFormat::Json) => asyncapi::Format::Json,
                Some(AsyncFormat::Yaml) => asyncapi::Format::Yaml,
                None if out
                    .as_ref()
                    .and_then(|o| o.extension())
                    .is_some_and(|e| e == "json") =>
                {
                    asyncapi::Format::Json
                }
                None => asyncapi::Format::Yaml,
            };
            let text = asyncapi::render(&compiled.catalog, &settings, format);
            match out {
                None => {
                    print_stdout(&text)?;
                    Ok(OK)
                }
                Some(file) => output::write_or_check_file(&file, &text, check),
            }
        }
        Command::Docs { path, out } => {
            let settings = settings_for(&path)?;
            let compiled = load_valid(&settings)?;
            let site = docs::site(&compiled.catalog, &compiled.sources, &settings);
            let code = output::write_or_check(&out, site, false, "docs")?;
            println!(
                "open {}",
                term::escape_line(&out.join("index.html").display().to_string())
            );
            Ok(code)
        }
        Command::New {
            name,
            catalog,
            aggregate,
        } => new_event::run(&name, &catalog, aggregate.as_deref()),
        Command::Queue {
            command: QueueCommand::Stats { db, format },
        } => queue::stats(&db, format == CheckFormat::Json),
        Command::DeadLetters { command } => match command {
            DeadCommand::List { db, handler } => queue::list_dead(&db, handler.as_deref()),
            DeadCommand::Retry { db, id } => queue::act_on_dead(&db, id, true),
            DeadCommand::Discard { db, id } => queue::act_on_dead(&db, id, false),
        },
        Command::Replay {
            db,
            handler,
            event_type,
            since,
            no_wait,
            timeout,
        } => queue::replay(queue::ReplayArgs {
            db: &db,
            handler: &handler,
            event_type,
            since,
            wait: !no_wait,
            timeout: timeout.map(std::time::Duration::from_secs),
        }),
        Command::Example { name, path } => {
            let settings = settings_for(&path)?;
            let compiled = load_valid(&settings)?;
            let Some(e) = compiled.catalog.event(&name) else {
                let mut msg = format!("no event `{name}` in the catalog");
                let names = compiled.catalog.events.iter().map(|e| e.name.as_str());
                if let Some(s) = naming::did_you_mean(&name, names) {
                    msg.push_str(&format!("\n  = help: did you mean `{s}`?"));
                }
                return Err(Failure::usage(msg));
            };
            print_stdout(&example::example(&compiled.catalog, e).to_json_pretty())?;
            Ok(OK)
        }
    }
}

fn cwd() -> Result<PathBuf, Failure> {
    std::env::current_dir().map_err(|e| Failure::usage(format!("no working directory: {e}")))
}

fn settings_for(path: &Path) -> Result<Settings, Failure> {
    Ok(Settings::for_cli(path, cwd()?))
}

/// Loads the catalog; `Err` when it cannot be read.
fn load(settings: &Settings) -> Result<Arc<Compiled>, Failure> {
    let path = settings.resolved_catalog().map_err(Failure::usage)?;
    let compiled = load_compiled(&path, settings);
    if let Some(d) = compiled
        .diagnostics
        .iter()
        .find(|d| d.rule == Rule::CatalogIo)
    {
        return Err(Failure {
            code: USAGE_OR_IO,
            message: d.render_with(&stderr_style()),
        });
    }
    Ok(compiled)
}

/// The codegen's (cached) load, with messages that speak of the working directory.
fn load_compiled(path: &Path, settings: &Settings) -> Arc<Compiled> {
    skillcore_events_codegen::load_from(path, &settings.base_dir, BaseDir::WorkingDir)
}

/// Loads the catalog and insists that it is valid (exports of a broken catalog
/// would be wrong).
fn load_valid(settings: &Settings) -> Result<Arc<Compiled>, Failure> {
    let compiled = load(settings)?;
    if !compiled.is_ok() {
        return Err(Failure {
            code: FINDINGS,
            message: diag::render_all(&compiled.diagnostics, &stderr_style()),
        });
    }
    Ok(compiled)
}

/// ANSI colours when stderr is a terminal and `NO_COLOR` is unset.
pub(crate) fn stderr_style() -> Style {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if !no_color && std::io::stderr().is_terminal() {
        Style::ansi()
    } else {
        Style::plain()
    }
}

fn print_stdout(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::usage(format!(
            "cannot write to standard output: {e}"
        ))),
    }
}

fn check(path: &Path, format: CheckFormat) -> Outcome {
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
