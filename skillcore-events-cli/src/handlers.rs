//! What names a handler, and the commands that act on one handler's rows.
//!
//! A handler id is known when the catalog declares it (`--catalog`, else
//! `catalog` when it exists) or the store has deliveries of it; `replay`
//! refuses any other id (a typo would queue deliveries no worker ever takes),
//! with the nearest known id as a suggestion. `replay --cancel` cancels a
//! replay's deliveries that have not run; `queue drop` deletes the rows of a
//! handler that no longer exists.

use crate::args::DbArgs;
use crate::outcome::{print_stdout, Failure, Outcome, OK};
use crate::queue::{open, store_err};
use crate::term::escape_line;
use skillcore_events::store::{Access, Scope, Store};
use std::collections::BTreeSet;
use std::path::Path;

/// The handler ids the catalog declares: `Some` when a catalog was read
/// (`path`, else `catalog` when it exists and reads without errors).
fn catalog_handlers(path: Option<&Path>) -> Result<Option<BTreeSet<String>>, Failure> {
    let (path, given) = match path {
        Some(p) => (p.to_path_buf(), true),
        None if Path::new("catalog").exists() => ("catalog".into(), false),
        None => return Ok(None),
    };
    let settings = crate::catalog::settings_for(&path)?;
    let compiled = if given {
        crate::catalog::load_valid(&settings)?
    } else {
        match crate::catalog::load(&settings) {
            Ok(c) if c.is_ok() => c,
            // A default catalog that does not read is not what was asked
            // about: only the store then says which handlers exist.
            _ => return Ok(None),
        }
    };
    Ok(Some(
        compiled
            .catalog
            .events
            .iter()
            .flat_map(|e| e.handlers.iter().cloned())
            .collect(),
    ))
}

/// The handler ids the store has deliveries of (in any district: handler
/// ids are the service's, not a tenant's).
fn store_handlers(
    rt: &tokio::runtime::Runtime,
    store: &Store,
) -> Result<BTreeSet<String>, Failure> {
    Ok(rt
        .block_on(store.stats(&Scope::AllDistricts))
        .map_err(store_err)?
        .into_iter()
        .map(|s| s.handler_id)
        .collect())
}

/// `Ok` when `handler` is declared in the catalog or known to the store;
/// else a usage error with the nearest known id.
pub(crate) fn check_known(
    rt: &tokio::runtime::Runtime,
    store: &Store,
    handler: &str,
    catalog: Option<&Path>,
) -> Result<(), Failure> {
    let declared = catalog_handlers(catalog)?;
    if declared.as_ref().is_some_and(|d| d.contains(handler)) {
        return Ok(());
    }
    let stored = store_handlers(rt, store)?;
    if stored.contains(handler) {
        return Ok(());
    }
    let mut known: BTreeSet<&str> = stored.iter().map(String::as_str).collect();
    known.extend(declared.iter().flatten().map(String::as_str));
    let hint = match skillcore_events_codegen::naming::did_you_mean(handler, known.iter().copied())
    {
        Some(best) => format!(" (did you mean `{}`?)", escape_line(best)),
        None if known.is_empty() => String::new(),
        None => {
            let shown: Vec<String> = known
                .iter()
                .take(8)
                .map(|h| format!("`{}`", escape_line(h)))
                .collect();
            format!(
                "; known handlers: {}{}",
                shown.join(", "),
                if known.len() > 8 { ", …" } else { "" }
            )
        }
    };
    let where_ = if declared.is_some() {
        "declared in the catalog nor known to the store"
    } else {
        "known to the store (and no catalog was read: pass --catalog PATH)"
    };
    Err(Failure::usage(format!(
        "no handler `{}` is {where_}{hint}; nothing was queued",
        escape_line(handler)
    )))
}

/// `replay --cancel`: cancels the deliveries of the handler's replays (one
/// batch, or all) that have not run, in the scope.
pub fn cancel_replay(
    db: &DbArgs,
    handler: &str,
    batch: Option<i64>,
    catalog: Option<&Path>,
) -> Outcome {
    let (rt, store) = open(db, Access::ReadWrite)?;
    check_known(&rt, &store, handler, catalog)?;
    let n = rt
        .block_on(store.cancel_replay(&db.scope(), handler, batch))
        .map_err(store_err)?;
    let which = match batch {
        Some(b) => format!("replay batch {b}"),
        None => "every replay".into(),
    };
    print_stdout(&format!(
        "cancelled {n} deliver{} of {which} of `{}` in {} (deliveries running now finish)\n",
        if n == 1 { "y" } else { "ies" },
        escape_line(handler),
        db.scope_text()
    ))?;
    Ok(OK)
}

/// `queue drop --handler X`: deletes the rows of a handler that no longer
/// exists. Refused for a handler the catalog declares, one the store does not
/// know, and while a live worker holds one of its deliveries; without `--yes`
/// only says what would go.
pub fn drop(db: &DbArgs, handler: &str, yes: bool, catalog: Option<&Path>) -> Outcome {
    let (rt, store) = open(db, Access::ReadWrite)?;
    let shown = escape_line(handler);
    if catalog_handlers(catalog)?.is_some_and(|d| d.contains(handler)) {
        return Err(Failure::usage(format!(
            "the catalog still declares handler `{shown}`: remove it from the catalog (and \
             the service) before dropping its rows"
        )));
    }
    let stats = rt.block_on(store.stats(&db.scope())).map_err(store_err)?;
    let Some(s) = stats.iter().find(|s| s.handler_id == handler) else {
        let known = store_handlers(&rt, &store)?;
        let hint = skillcore_events_codegen::naming::did_you_mean(
            handler,
            known.iter().map(String::as_str),
        )
        .map(|b| format!(" (did you mean `{}`?)", escape_line(b)))
        .unwrap_or_default();
        return Err(Failure::usage(format!(
            "no rows of handler `{shown}` in {}{hint}",
            db.scope_text()
        )));
    };
    let held = rt
        .block_on(store.handler_held(handler))
        .map_err(store_err)?;
    if held > 0 {
        return Err(Failure::usage(format!(
            "a live worker holds {held} deliver{} of `{shown}` (its lease is renewed): the \
             handler still runs somewhere; stop it first",
            if held == 1 { "y" } else { "ies" }
        )));
    }
    let what = format!(
        "{} waiting, {} retrying, {} dead, {} stalled, {} completed",
        s.waiting, s.failed, s.dead, s.stalled, s.completed
    );
    if !yes {
        return Err(Failure::usage(format!(
            "would delete the rows of `{shown}` in {} ({what}) and its idempotency records; \
             run again with --yes to do it",
            db.scope_text()
        )));
    }
    let n = rt
        .block_on(store.drop_handler(&db.scope(), handler))
        .map_err(store_err)?;
    print_stdout(&format!(
        "dropped {n} deliver{} of `{shown}` in {} ({what})\n",
        if n == 1 { "y" } else { "ies" },
        db.scope_text()
    ))?;
    Ok(OK)
}
