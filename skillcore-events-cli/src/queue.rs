//! Commands on a durable store: queue statistics, dead letters, replay.
//!
//! They open a store that must exist ([`Store::open_sqlite`] /
//! [`Store::open_postgres`]): `queue stats` and `dead-letters list` read only
//! and change no byte; `retry`, `discard` and `replay` change rows, and none of
//! them creates or migrates a store. Each acts on one district, or on every
//! district only when `--all-districts` says so. Every string that comes from
//! the store (handler ids, event types, errors) is escaped for the terminal.

use crate::args::DbArgs;
use crate::outcome::{print_stdout, Failure, Outcome, FINDINGS, OK};
use crate::term::{escape, escape_line};
use skillcore_events::store::{Access, ReplayFilter, ReplayProgress, Scope, Store};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

impl DbArgs {
    /// The scope the flags ask for (clap requires exactly one of them).
    pub(crate) fn scope(&self) -> Scope {
        match &self.scope.district {
            Some(d) if !self.scope.all_districts => Scope::District(d.clone()),
            _ => Scope::AllDistricts,
        }
    }

    /// `district `D`` / `all districts`, for messages.
    pub(crate) fn scope_text(&self) -> String {
        match self.scope() {
            Scope::District(d) => format!("district `{}`", escape_line(&d)),
            Scope::AllDistricts => "all districts".into(),
        }
    }
}

/// `--db`: `sqlite:PATH`, a path to a `.db` file, or `postgres://…`; the
/// store must exist (and be of this build's schema version).
pub fn open(db: &DbArgs, access: Access) -> Result<(tokio::runtime::Runtime, Store), Failure> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::usage(format!("cannot start the async runtime: {e}")))?;
    let url = db.db.as_str();
    let store = rt.block_on(async {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Store::open_postgres(url, db.schema.as_deref(), access)
                .await
                .map_err(Some)
        } else {
            if db.schema.is_some() {
                return Err(None);
            }
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            Store::open_sqlite(path, access).await.map_err(Some)
        }
    });
    match store {
        Ok(s) => Ok((rt, s)),
        Err(None) => Err(Failure::usage(
            "--schema is for PostgreSQL stores; a SQLite store is one file (--db sqlite:PATH)",
        )),
        // The store's own words say where it looked and what is near.
        Err(Some(e @ skillcore_events::store::StoreError::NoStore(_))) => {
            Err(Failure::usage(escape(&e.to_string())))
        }
        Err(Some(e)) => Err(Failure::usage(format!(
            "cannot open `{}`: {}",
            escape_line(&without_password(url)),
            escape(&e.to_string())
        ))),
    }
}

/// The URL with the password of its user info, if any, replaced by `***`.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// JSON text with the characters JSON leaves raw but a terminal may obey
/// (DEL, the C1 controls such as U+009B CSI, U+2028/U+2029) written as
/// `\uXXXX` escapes: the same JSON value, harmless on a terminal. (JSON
/// escapes C0 controls itself; these only occur inside strings.)
fn json_for_terminal(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if matches!(c, '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}') {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) fn store_err(e: skillcore_events::store::StoreError) -> Failure {
    Failure::usage(format!("event store: {}", escape(&e.to_string())))
}

/// `queue stats`: the counters per handler, as a table or JSON; with
/// `recount`, counted from every delivery.
pub fn stats(db: &DbArgs, json: bool, recount: bool) -> Outcome {
    let (rt, store) = open(db, Access::ReadOnly)?;
    let scope = db.scope();
    let stats = rt
        .block_on(async {
            if recount {
                store.recount_stats(&scope).await
            } else {
                store.stats(&scope).await
            }
        })
        .map_err(store_err)?;
    let mut out = String::new();
    if json {
        let rows: Vec<serde_json::Value> = stats
            .iter()
            .map(|s| {
                serde_json::json!({
                    "handler": s.handler_id, "waiting": s.waiting, "active": s.active,
                    "stalled": s.stalled, "completed": s.completed, "failed": s.failed,
                    "dead": s.dead,
                })
            })
            .collect();
        out.push_str(&json_for_terminal(
            &serde_json::to_string_pretty(&rows).unwrap_or_default(),
        ));
        out.push('\n');
    } else {
        let names: Vec<_> = stats.iter().map(|s| escape_line(&s.handler_id)).collect();
        let width = names
            .iter()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(0)
            .max("handler".len());
        out.push_str(&format!(
            "{:<width$}  {:>9}  {:>7}  {:>7}  {:>10}  {:>7}  {:>5}\n",
            "handler", "waiting", "active", "stalled", "completed", "failed", "dead"
        ));
        for (s, name) in stats.iter().zip(&names) {
            out.push_str(&format!(
                "{:<width$}  {:>9}  {:>7}  {:>7}  {:>10}  {:>7}  {:>5}\n",
                name, s.waiting, s.active, s.stalled, s.completed, s.failed, s.dead
            ));
        }
        let stalled: i64 = stats.iter().map(|s| s.stalled).sum();
        if stalled > 0 {
            out.push_str(&format!(
                "(stalled: held by a worker that stopped renewing its lease, died or stuck; \
                 another worker takes {} once the lease runs out)\n",
                if stalled == 1 { "it" } else { "them" }
            ));
        }
        if stats.is_empty() {
            out.push_str(&format!("(no deliveries yet in {})\n", db.scope_text()));
        }
    }
    print_stdout(&out)?;
    Ok(OK)
}

/// `queue rebuild-counters`: the done counters counted again.
pub fn rebuild_counters(db: &DbArgs) -> Outcome {
    if db.scope.district.is_some() {
        return Err(Failure::usage(
            "queue rebuild-counters counts every district's deliveries: pass --all-districts \
             instead of --district",
        ));
    }
    let (rt, store) = open(db, Access::ReadWrite)?;
    rt.block_on(store.rebuild_counters()).map_err(store_err)?;
    print_stdout("counted the done deliveries again; `queue stats` reads them\n")?;
    Ok(OK)
}

/// `dead-letters list`: one line per letter, or JSON (an array of objects
/// with the letter's number, handler, event id and type, attempts, error and
/// time; never the payload).
pub fn list_dead(db: &DbArgs, handler: Option<&str>, json: bool) -> Outcome {
    let (rt, store) = open(db, Access::ReadOnly)?;
    let dead = rt
        .block_on(store.dead_letters(&db.scope(), handler, 1000))
        .map_err(store_err)?;
    let mut out = String::new();
    if json {
        let rows: Vec<serde_json::Value> = dead
            .iter()
            .map(|d| {
                serde_json::json!({
                    "id": d.delivery_id,
                    "handler": d.handler_id,
                    "eventId": d.event.event.id.to_string(),
                    "eventType": d.event.event.event_type,
                    "attempts": d.attempts,
                    "lastError": d.last_error,
                    "failedAt": d.failed_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
                })
            })
            .collect();
        out.push_str(&json_for_terminal(
            &serde_json::to_string_pretty(&rows).unwrap_or_default(),
        ));
        out.push('\n');
        print_stdout(&out)?;
        return Ok(OK);
    }
    for d in &dead {
        out.push_str(&format!(
            "{}  {}  {}  event {} ({}) after {} attempt{}: {}\n",
            d.delivery_id,
            d.failed_at.format("%Y-%m-%dT%H:%M:%SZ"),
            escape_line(&d.handler_id),
            d.event.event.id,
            escape_line(&d.event.event.event_type),
            d.attempts,
            if d.attempts == 1 { "" } else { "s" },
            escape_line(&d.last_error)
        ));
    }
    if dead.is_empty() {
        out.push_str(&format!("no dead letters in {}\n", db.scope_text()));
    }
    print_stdout(&out)?;
    Ok(OK)
}

/// `dead-letters retry|discard ID`: only a letter of the scope's district.
pub fn act_on_dead(db: &DbArgs, id: i64, retry: bool) -> Outcome {
    let (rt, store) = open(db, Access::ReadWrite)?;
    let scope = db.scope();
    let done = rt
        .block_on(async {
            if retry {
                store.retry_dead(&scope, id).await
            } else {
                store.discard_dead(&scope, id).await
            }
        })
        .map_err(store_err)?;
    if !done {
        return Err(Failure::usage(format!(
            "no dead letter {id} in {} (see `skillcore-events dead-letters list`)",
            db.scope_text()
        )));
    }
    println!(
        "{} dead letter {id}",
        if retry { "queued again:" } else { "discarded:" }
    );
    Ok(OK)
}

/// What `replay` was asked.
pub struct ReplayArgs<'a> {
    pub db: &'a DbArgs,
    pub handler: &'a str,
    pub event_type: Option<String>,
    pub since: Option<String>,
    pub catalog: Option<std::path::PathBuf>,
    pub wait: bool,
    pub timeout: Option<Duration>,
}

/// `replay`: queues the matching events of the scope for one handler and
/// follows the progress the service's workers make, with a progress bar.
pub fn replay(a: ReplayArgs<'_>) -> Outcome {
    let since = match &a.since {
        None => None,
        Some(t) => Some(
            skillcore_events::chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|e| {
                    Failure::usage(format!(
                        "--since `{}` is not an RFC 3339 time ({e}); for example 2025-11-17T00:00:00Z",
                        escape_line(t)
                    ))
                })?
                .with_timezone(&skillcore_events::chrono::Utc),
        ),
    };
    let (rt, store) = open(a.db, Access::ReadWrite)?;
    crate::handlers::check_known(&rt, &store, a.handler, a.catalog.as_deref())?;
    let scope = a.db.scope();
    let filter = ReplayFilter {
        event_type: a.event_type.clone(),
        since,
    };
    let (batch, total) = rt
        .block_on(store.replay(&scope, a.handler, &filter))
        .map_err(store_err)?;
    eprintln!(
        "replaying {total} event{} of {} to `{}` (batch {batch}; cancel with `replay --cancel \
         --handler {} --batch {batch}`)",
        if total == 1 { "" } else { "s" },
        a.db.scope_text(),
        escape_line(a.handler),
        escape_line(a.handler)
    );
    if !a.wait || total == 0 {
        return Ok(OK);
    }
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut last = ReplayProgress::default();
    let mut last_change = Instant::now();
    let mut hinted = false;
    loop {
        let p = rt
            .block_on(store.replay_progress(&scope, a.handler, batch))
            .map_err(store_err)?;
        if p != last {
            last = p;
            last_change = Instant::now();
            draw(&p, tty);
        }
        if p.finished() {
            if tty {
                eprintln!();
            }
            eprintln!(
                "replay finished in {:.1?}: {} done, {} dead",
                started.elapsed(),
                p.done,
                p.dead
            );
            return Ok(if p.dead > 0 { FINDINGS } else { OK });
        }
        if !hinted && last_change.elapsed() > Duration::from_secs(10) {
            hinted = true;
            eprintln!(
                "\nno progress for 10 s: is a worker with handler `{}` running against this database?",
                escape_line(a.handler)
            );
        }
        if a.timeout.is_some_and(|t| started.elapsed() > t) {
            eprintln!(
                "\ngave up waiting after {:?}; the replay stays queued and runs when a worker takes it",
                a.timeout.unwrap_or_default()
            );
            return Ok(FINDINGS);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn draw(p: &ReplayProgress, tty: bool) {
    let total = p.total.max(1);
    let finished = p.done + p.dead;
    let width = 30;
    let filled = (finished * width / total) as usize;
    let bar = format!(
        "[{}{}] {finished}/{} ({} dead)",
        "#".repeat(filled),
        "-".repeat(width as usize - filled.min(width as usize)),
        p.total,
        p.dead
    );
    let mut err = std::io::stderr().lock();
    if tty {
        let _ = write!(err, "\r{bar}");
    } else {
        let _ = writeln!(err, "{bar}");
    }
    let _ = err.flush();
}
