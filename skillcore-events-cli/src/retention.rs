//! `queue prune` and `queue vacuum`: bounded storage of a durable store
//! ([`Store::prune`](skillcore_events::store::Store::prune),
//! [`Store::vacuum`](skillcore_events::store::Store::vacuum)). Both act on
//! the whole store, so they take `--all-districts` and refuse `--district`:
//! retention is not per tenant.

use crate::args::{DbArgs, StorageCommand};
use crate::outcome::{print_stdout, Failure, Outcome, OK};
use crate::queue::{open, store_err};
use skillcore_events::store::{Access, Retention};
use std::time::{Duration, Instant};

pub fn run(command: StorageCommand) -> Outcome {
    match command {
        StorageCommand::Prune {
            db,
            older_than,
            batch,
            yes,
        } => prune(&db, older_than, batch, yes),
        StorageCommand::Vacuum { db } => vacuum(&db),
    }
}

/// Refuses `--district`: these commands change the whole store.
pub(crate) fn whole_store(db: &DbArgs, command: &str) -> Result<(), Failure> {
    if db.scope.district.is_some() {
        return Err(Failure::usage(format!(
            "`queue {command}` acts on the whole store, every district's deliveries: \
             say so with --all-districts instead of --district"
        )));
    }
    Ok(())
}

fn age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        _ if s >= 86_400 && s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        _ if s >= 3600 && s.is_multiple_of(3600) => format!("{}h", s / 3600),
        _ if s >= 60 && s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// `queue prune --older-than AGE`: one retention pass, batches of `batch`.
fn prune(db: &DbArgs, older_than: Duration, batch: usize, yes: bool) -> Outcome {
    whole_store(db, "prune")?;
    if batch == 0 {
        return Err(Failure::usage("--batch must be at least 1"));
    }
    let (rt, store) = open(db, Access::ReadWrite)?;
    let completed: i64 = rt
        .block_on(store.stats(&db.scope()))
        .map_err(store_err)?
        .iter()
        .map(|s| s.completed)
        .sum();
    if !yes {
        return Err(Failure::usage(format!(
            "would delete the finished deliveries (done, discarded, cancelled) that finished \
             more than {} ago, of {completed} completed ones kept now, in batches of {batch}; \
             the events stay; run again with --yes to do it",
            age(older_than)
        )));
    }
    let before = rt.block_on(store.size_on_disk()).map_err(store_err)?;
    let start = Instant::now();
    let policy = Retention::keep_done(older_than).batch(batch);
    let n = rt.block_on(store.prune(&policy)).map_err(store_err)?;
    let after = rt.block_on(store.size_on_disk()).map_err(store_err)?;
    print_stdout(&format!(
        "pruned {n} finished deliver{} older than {} in {:.1}s; the store takes {} (was {})\n",
        if n == 1 { "y" } else { "ies" },
        age(older_than),
        start.elapsed().as_secs_f64(),
        megabytes(after),
        megabytes(before)
    ))?;
    Ok(OK)
}

/// `queue vacuum`: SQLite's free pages back to the file (converting an
/// older store), PostgreSQL's plain VACUUM.
fn vacuum(db: &DbArgs) -> Outcome {
    whole_store(db, "vacuum")?;
    let (rt, store) = open(db, Access::ReadWrite)?;
    let start = Instant::now();
    let (before, after) = rt.block_on(store.vacuum()).map_err(store_err)?;
    print_stdout(&format!(
        "vacuumed in {:.1}s: {} -> {}\n",
        start.elapsed().as_secs_f64(),
        megabytes(before),
        megabytes(after)
    ))?;
    Ok(OK)
}
