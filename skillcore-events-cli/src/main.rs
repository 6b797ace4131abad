//! `skillcore-events`: the command line of SkillCore Events.
//!
//! Checks a catalog without compiling, locks its released versions and lists
//! the changes between two versions of it, exports JSON Schema and AsyncAPI, builds the
//! browsable HTML catalog, prints example payloads and adds new events; inspects a
//! durable event store (queue statistics, dead letters, replay). Every catalog
//! command reads the catalog through the codegen crate, so the rules, messages and
//! model are exactly the macro's.
//!
//! Exit codes: 0 ok; 1 catalog violations, drift or breaking changes; 2 usage or
//! I/O errors.
//!
//! Where things live: `args` defines the command line (clap), `outcome` the
//! exit codes and failures, `catalog` reads a catalog for a command; one module
//! per command group: `check`, `lock`, `diff`, `export` (`schema`, `asyncapi`, `docs`,
//! `example`), `new_event` (`new`) and `queue` (`queue`, `dead-letters`,
//! `replay`), with `handlers` for what names a handler (the catalog, the
//! store) and the commands that act on one (`replay --cancel`, `queue drop`),
//! `retention` for `queue prune` and `queue vacuum`;
//! `output` writes files, `term` escapes text for the terminal.

// The doc comments of the command types are clap's `--help` text, written for a
// terminal (`DIR/<event name>.schema.json`), not HTML.
#![allow(rustdoc::invalid_html_tags)]

mod args;
mod catalog;
mod catalog_schema;
mod check;
mod dashboard;
mod diff;
mod export;
mod field_index;
mod handlers;
mod lock;
mod new_event;
mod outcome;
mod output;
mod queue;
mod retention;
mod term;

use args::{Cli, Command, DeadCommand, QueueCommand};
use clap::Parser;
use outcome::Outcome;
use std::process::ExitCode;

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

/// Runs one command.
fn run(cli: Cli) -> Outcome {
    match cli.command {
        Command::Check { path, format } => check::run(&path, format),
        Command::Lock { path, check } => lock::run(&path, check),
        Command::Diff { old, new, format } => diff::run(&old, &new, format),
        Command::Schema {
            path,
            out,
            check,
            id_base,
        } => export::schema(&path, &out, check, id_base),
        Command::Asyncapi {
            path,
            out,
            format,
            check,
            api_version,
        } => export::asyncapi(&path, out, format, check, api_version),
        Command::Docs { path, out } => export::docs(&path, &out),
        Command::Example { name, path } => export::example(&name, &path),
        Command::Dashboard {
            db,
            schema,
            listen,
            prefix,
            token,
            catalog,
            read_only,
            pii,
        } => dashboard::run(dashboard::DashboardArgs {
            db,
            schema,
            listen,
            prefix,
            token,
            catalog,
            read_only,
            pii,
        }),
        Command::CatalogSchema { output } => catalog_schema::run(output.as_deref()),
        Command::New {
            name,
            catalog,
            aggregate,
        } => new_event::run(&name, &catalog, aggregate.as_deref()),
        Command::Queue { command } => match command {
            QueueCommand::Stats {
                db,
                format,
                recount,
            } => queue::stats(&db, format == args::CheckFormat::Json, recount),
            QueueCommand::RebuildCounters { db } => queue::rebuild_counters(&db),
            QueueCommand::Drop {
                db,
                handler,
                yes,
                catalog,
            } => handlers::drop(&db, &handler, yes, catalog.as_deref()),
            QueueCommand::Index {
                db,
                event_type,
                field,
                drop,
                catalog,
            } => field_index::index(&db, &event_type, &field, drop, catalog.as_deref()),
            QueueCommand::Indexes { db, format } => {
                field_index::list(&db, format == args::CheckFormat::Json)
            }
            QueueCommand::Storage(command) => retention::run(command),
        },
        Command::DeadLetters { command } => match command {
            DeadCommand::List {
                db,
                handler,
                format,
            } => queue::list_dead(&db, handler.as_deref(), format == args::CheckFormat::Json),
            DeadCommand::Retry { db, id } => queue::act_on_dead(&db, id, true),
            DeadCommand::Discard { db, id } => queue::act_on_dead(&db, id, false),
        },
        Command::Replay {
            db,
            handler,
            catalog,
            cancel: true,
            batch,
            ..
        } => handlers::cancel_replay(&db, &handler, batch, catalog.as_deref()),
        Command::Replay {
            db,
            handler,
            event_type,
            since,
            no_wait,
            timeout,
            catalog,
            ..
        } => queue::replay(queue::ReplayArgs {
            db: &db,
            handler: &handler,
            event_type,
            since,
            catalog,
            wait: !no_wait,
            timeout: timeout.map(std::time::Duration::from_secs),
        }),
    }
}
