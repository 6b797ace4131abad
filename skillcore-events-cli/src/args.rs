//! The command line's definition: every command, flag and its `--help` text
//! (clap derive). The doc comments are the help, written for a terminal.

use clap::{Parser, Subcommand, ValueEnum};
use skillcore_events_codegen::Settings;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "skillcore-events",
    version,
    about = "Check the SkillCore event catalog, lock and diff its released versions, and export it as JSON Schema, AsyncAPI and HTML",
    long_about = "Check the SkillCore event catalog, lock and diff its released versions, and export it as JSON Schema, AsyncAPI and HTML.\n\nThe YAML catalog (one file, or a directory of *.yaml files) is the single source of truth; every command applies the same rules as the `catalog!` macro. The lock file beside it (catalog.lock, written by `lock`) records every released version, and `check` refuses breaking changes to them.\n\nExit codes: 0 ok, 1 catalog violations, drift or breaking changes, 2 usage or I/O errors.",
    propagate_version = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Check a catalog with the macro's rules, without compiling.
    ///
    /// Prints every violation with its file, line and column, the offending YAML
    /// line with a caret under the problem, and a `help:` line with a fix.
    Check {
        /// The catalog: a .yaml file or a directory of them.
        #[arg(default_value = "catalog")]
        path: PathBuf,
        /// `human` (source line, caret and help; coloured on a terminal), `json`
        /// (one array of {rule, message, file, line, column, help}) or `github`
        /// (GitHub Actions annotations, `::error file=..,line=..,col=..,title=RULE::..`,
        /// shown inline on pull requests).
        #[arg(long, value_enum, default_value_t = CheckOutput::Human)]
        format: CheckOutput,
    },
    /// Record the catalog's event shapes as released, in its lock file.
    ///
    /// Writes catalog.lock beside a catalog/ directory (events.lock beside
    /// events.yaml): every released shape of every event, which `check` and the
    /// `catalog!` macro then hold the catalog to (rule breaking-change). Only a
    /// catalog that passes `check` is locked, so a breaking change needs a new
    /// `version` first. The file is written only when its content changes.
    /// With --check, writes nothing and exits 1 naming what would change.
    Lock {
        /// The catalog: a .yaml file or a directory of them.
        #[arg(default_value = "catalog")]
        path: PathBuf,
        /// Compare with the lock file instead of writing; exit 1 if it would change.
        #[arg(long)]
        check: bool,
    },
    /// List every change from one catalog (or lock) to another.
    ///
    /// Each change has its rule id (field-removed, enum-value-added, ...), the
    /// event and field, the event's compatibility mode, whether the build would
    /// refuse it (breaking: not allowed under the mode and the version was not
    /// raised) and where it is in NEW. Both catalogs are read without the lock
    /// files beside them. Exit 0 when nothing is breaking, 1 when something is,
    /// 2 when a side cannot be read or has errors.
    Diff {
        /// The old side: a lock file when the name ends in .lock, else a catalog
        /// (a .yaml file or a directory of them).
        old: PathBuf,
        /// The new side: a catalog (a .yaml file or a directory of them).
        new: PathBuf,
        /// `human` (one line per change and a summary), `json` (one array of
        /// {rule, event, field, breaking, mode, message, file, line, column}) or
        /// `markdown` (a summary and a table, for a pull-request comment).
        #[arg(long, value_enum, default_value_t = DiffFormat::Human)]
        format: DiffFormat,
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
    /// again even for events it already handled, on the state it has: reset
    /// the projection first (see docs/cli.md). The handler must be declared in
    /// the catalog or known to the store. With --cancel, the replay's
    /// deliveries that have not run are cancelled instead.
    Replay {
        #[command(flatten)]
        db: DbArgs,
        /// The handler id, e.g. analytics.update_gpa.
        #[arg(long, value_name = "ID")]
        handler: String,
        /// Only events of this type.
        #[arg(long = "type", value_name = "NAME", conflicts_with = "cancel")]
        event_type: Option<String>,
        /// Only events that occurred at or after this RFC 3339 time.
        #[arg(long, value_name = "TIME", conflicts_with = "cancel")]
        since: Option<String>,
        /// The catalog declaring the handlers (default: `catalog` when it
        /// exists); a handler neither declared there nor known to the store
        /// is refused.
        #[arg(long, value_name = "PATH")]
        catalog: Option<PathBuf>,
        /// Cancel the handler's replays instead: their deliveries not running
        /// now are marked cancelled and never run.
        #[arg(long)]
        cancel: bool,
        /// With --cancel: only this replay batch (printed by `replay`).
        #[arg(long, value_name = "N", requires = "cancel")]
        batch: Option<i64>,
        /// Queue the replay and exit without following its progress.
        #[arg(long)]
        no_wait: bool,
        /// Stop following after this many seconds (the replay stays queued).
        #[arg(long, value_name = "SECS")]
        timeout: Option<u64>,
    },
    /// Serve the operations dashboard of a store (pages and JSON API).
    ///
    /// Deny by default: the token comes from --token or the environment
    /// variable SKILLCORE_DASHBOARD_TOKEN, else one is generated and printed.
    /// A non-loopback --listen address needs a given token. API requests send
    /// `Authorization: Bearer TOKEN`; a browser signs in once with it. See
    /// docs/dashboard.md.
    Dashboard {
        /// The store: `sqlite:PATH` (or a path) or `postgres://user@host/db`.
        #[arg(long, value_name = "URL")]
        db: String,
        /// PostgreSQL schema holding the tables (default: the search path).
        #[arg(long, value_name = "SCHEMA")]
        schema: Option<String>,
        /// The address to listen on.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Serve under this path, e.g. /admin/events (default: the root).
        #[arg(long, value_name = "PATH", default_value = "")]
        prefix: String,
        /// The token that gives access (else SKILLCORE_DASHBOARD_TOKEN, else a generated one).
        #[arg(long, value_name = "TOKEN")]
        token: Option<String>,
        /// The catalog, for payload tables, field search, pii and health
        /// (default: `catalog` when it exists).
        #[arg(long, value_name = "PATH")]
        catalog: Option<PathBuf>,
        /// Token holders only read: retry, discard and replay are refused.
        #[arg(long)]
        read_only: bool,
        /// Token holders see the values of pii fields (else `[redacted]`).
        #[arg(long)]
        pii: bool,
    },
    /// Print the JSON Schema of the catalog format itself, for editors.
    ///
    /// Put `# yaml-language-server: $schema=<path or URL of it>` at the top of
    /// a catalog file and the YAML language server completes keys and closed
    /// values and flags unknown keys while typing. The repository's copy is
    /// schemas/catalog.schema.json.
    CatalogSchema {
        /// Write it to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
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
pub(crate) struct DbArgs {
    /// The store: `sqlite:PATH` (or a path) or `postgres://user@host/db`. It
    /// must exist: these commands never create or migrate a store.
    #[arg(long, value_name = "URL")]
    pub(crate) db: String,
    /// PostgreSQL schema holding the tables (default: the search path).
    #[arg(long, value_name = "SCHEMA")]
    pub(crate) schema: Option<String>,
    #[command(flatten)]
    pub(crate) scope: ScopeArgs,
}

/// Which districts (tenants) a queue command sees: one of the two is required.
#[derive(clap::Args, Debug)]
#[group(required = true, multiple = false)]
pub(crate) struct ScopeArgs {
    /// Only the events and deliveries of this district (tenant).
    #[arg(long, value_name = "D")]
    pub(crate) district: Option<String>,
    /// Every district's: for administrators only.
    #[arg(long)]
    pub(crate) all_districts: bool,
}

#[derive(Subcommand, Debug)]
pub(crate) enum QueueCommand {
    /// Waiting, active, completed, failed (retrying) and dead deliveries per handler.
    Stats {
        #[command(flatten)]
        db: DbArgs,
        /// `human` (a table) or `json`.
        #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
        format: CheckFormat,
        /// Count every delivery instead of reading the counters (seconds on
        /// a store of millions): what the counters must agree with.
        #[arg(long)]
        recount: bool,
    },
    /// Count the done deliveries again into the counters `stats` reads.
    ///
    /// The store keeps them as deliveries change; on PostgreSQL only its own
    /// statements do, so run this after done deliveries were changed or
    /// deleted by hand (`stats --recount` shows whether they agree), or
    /// inserted by hand on either backend. Every district's: needs
    /// --all-districts. Publishers and workers of a PostgreSQL store wait
    /// for it.
    RebuildCounters {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Delete the rows of a handler that no longer exists (its deliveries and
    /// idempotency records), so `stats` stops listing it.
    ///
    /// Refused while a live worker holds one of its deliveries, and for a
    /// handler the catalog still declares. Without --yes, says what would go.
    Drop {
        #[command(flatten)]
        db: DbArgs,
        /// The handler id.
        #[arg(long, value_name = "ID")]
        handler: String,
        /// Really delete.
        #[arg(long)]
        yes: bool,
        /// The catalog declaring the handlers (default: `catalog` when it
        /// exists).
        #[arg(long, value_name = "PATH")]
        catalog: Option<PathBuf>,
    },
    /// Index a payload field of one event type, so searches of it (the
    /// dashboard's) read the matching events instead of every event of the
    /// type.
    ///
    /// The index holds the events of that type only. Making it reads every
    /// stored event of the type once: on PostgreSQL without blocking the
    /// service; on SQLite the service's writes wait for it (seconds per
    /// million events of the type). Checked against the catalog when there
    /// is one. With --drop, drops it instead.
    Index {
        #[command(flatten)]
        db: DbArgs,
        /// The event type, e.g. gradebook.grade.posted.
        #[arg(long = "type", value_name = "NAME")]
        event_type: String,
        /// The top-level payload field, e.g. studentId.
        #[arg(long, value_name = "FIELD")]
        field: String,
        /// Drop the index instead.
        #[arg(long)]
        drop: bool,
        /// The catalog declaring the event (default: `catalog` when it
        /// exists).
        #[arg(long, value_name = "PATH")]
        catalog: Option<PathBuf>,
    },
    /// List the indexed payload fields (`queue index`).
    Indexes {
        #[command(flatten)]
        db: DbArgs,
        /// `human` (one line each) or `json`.
        #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
        format: CheckFormat,
    },
    #[command(flatten)]
    Storage(StorageCommand),
}

/// `queue prune` and `queue vacuum`: the whole store, so `--all-districts`
/// is required (`--district` is refused).
#[derive(Subcommand, Debug)]
pub(crate) enum StorageCommand {
    /// Delete finished deliveries (done, discarded, cancelled) older than
    /// --older-than, in small batches; the events stay.
    ///
    /// Waiting, retrying, active and dead deliveries, and those of a replay
    /// still running, stay. Safe while the service runs (each batch is its
    /// own short transaction). Without --yes, says how many would go. On
    /// SQLite the freed pages go back to the file (see `queue vacuum` for a
    /// store created before).
    Prune {
        #[command(flatten)]
        db: DbArgs,
        /// Keep what finished more recently than this: `7d`, `12h`, `30m`,
        /// `90s` (or seconds).
        #[arg(long, value_name = "AGE", value_parser = parse_age)]
        older_than: std::time::Duration,
        /// Deliveries per batch (each one transaction).
        #[arg(long, value_name = "N", default_value_t = 1000)]
        batch: usize,
        /// Really delete.
        #[arg(long)]
        yes: bool,
    },
    /// SQLite: give free pages back to the file, turning on incremental
    /// auto-vacuum for a store created before it (a full VACUUM: rewrites
    /// the file, needs as much free disk again, and holds the write lock
    /// while it runs: stop the service first). PostgreSQL: a plain VACUUM of
    /// the store's tables (space reused, not returned).
    Vacuum {
        #[command(flatten)]
        db: DbArgs,
    },
}

/// `7d`, `12h`, `30m`, `90s`, or a number of seconds.
fn parse_age(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not an age: write e.g. 7d, 12h, 30m or 90s"))?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "unknown unit in `{text}`: use d, h, m or s (e.g. 7d)"
            ))
        }
    };
    n.checked_mul(unit_secs)
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is too long an age"))
}

#[derive(Subcommand, Debug)]
pub(crate) enum DeadCommand {
    /// List the dead letters, oldest first.
    List {
        #[command(flatten)]
        db: DbArgs,
        /// Only this handler's.
        #[arg(long, value_name = "ID")]
        handler: Option<String>,
        /// `human` (one line each) or `json`.
        #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
        format: CheckFormat,
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

/// `check --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum CheckOutput {
    Human,
    Json,
    Github,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum CheckFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum DiffFormat {
    Human,
    Json,
    Markdown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum AsyncFormat {
    Yaml,
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn ages_read_with_their_units() {
        let secs = |t: &str| parse_age(t).map(|d| d.as_secs());
        assert_eq!(secs("7d"), Ok(7 * 86_400));
        assert_eq!(secs("12h"), Ok(43_200));
        assert_eq!(secs("30m"), Ok(1_800));
        assert_eq!(secs("90s"), Ok(90));
        assert_eq!(secs("0"), Ok(0));
        assert!(secs("7w").unwrap_err().contains("use d, h, m or s"));
        assert!(secs("d").unwrap_err().contains("not an age"));
        assert!(secs("99999999999999999999d").is_err());
    }
}
