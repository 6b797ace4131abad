//! Commands on a durable store: queue statistics, dead letters, replay.

use crate::{Failure, Outcome, FINDINGS, OK};
use skillcore_events_store::{ReplayFilter, ReplayProgress, Store};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// `--db`: `sqlite:PATH`, a path to a `.db` file, or `postgres://…`.
pub fn open(db: &str, schema: Option<&str>) -> Result<(tokio::runtime::Runtime, Store), Failure> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::usage(format!("cannot start the async runtime: {e}")))?;
    let store = rt.block_on(async {
        if db.starts_with("postgres://") || db.starts_with("postgresql://") {
            Store::postgres(db, schema).await
        } else {
            let path = db
                .strip_prefix("sqlite://")
                .or_else(|| db.strip_prefix("sqlite:"))
                .unwrap_or(db);
            if !std::path::Path::new(path).exists() {
                return Err(skillcore_events_store::StoreError::Corrupt(format!(
                    "no event store at `{path}` (give --db sqlite:PATH of an existing file, or postgres://…)"
                )));
            }
            Store::sqlite(path).await
        }
    });
    match store {
        Ok(s) => Ok((rt, s)),
        Err(e) => Err(Failure::usage(format!("cannot open `{db}`: {e}"))),
    }
}

fn store_err(e: skillcore_events_store::StoreError) -> Failure {
    Failure::usage(format!("event store: {e}"))
}

/// `queue stats`: the counters per handler, as a table or JSON.
pub fn stats(db: &str, schema: Option<&str>, json: bool) -> Outcome {
    let (rt, store) = open(db, schema)?;
    let stats = rt
        .block_on(store.stats(&skillcore_events_store::Scope::AllDistricts))
        .map_err(store_err)?;
    let mut out = String::new();
    if json {
        let rows: Vec<serde_json::Value> = stats
            .iter()
            .map(|s| {
                serde_json::json!({
                    "handler": s.handler_id, "waiting": s.waiting, "active": s.active,
                    "completed": s.completed, "failed": s.failed, "dead": s.dead,
                })
            })
            .collect();
        out.push_str(&serde_json::to_string_pretty(&rows).unwrap_or_default());
        out.push('\n');
    } else {
        let width = stats
            .iter()
            .map(|s| s.handler_id.len())
            .max()
            .unwrap_or(0)
            .max("handler".len());
        out.push_str(&format!(
            "{:<width$}  {:>9}  {:>7}  {:>10}  {:>7}  {:>5}\n",
            "handler", "waiting", "active", "completed", "failed", "dead"
        ));
        for s in &stats {
            out.push_str(&format!(
                "{:<width$}  {:>9}  {:>7}  {:>10}  {:>7}  {:>5}\n",
                s.handler_id, s.waiting, s.active, s.completed, s.failed, s.dead
            ));
        }
        if stats.is_empty() {
            out.push_str("(no deliveries yet)\n");
        }
    }
    crate::print_stdout(&out)?;
    Ok(OK)
}

/// `dead-letters list`.
pub fn list_dead(db: &str, schema: Option<&str>, handler: Option<&str>) -> Outcome {
    let (rt, store) = open(db, schema)?;
    let dead = rt
        .block_on(store.dead_letters(&skillcore_events_store::Scope::AllDistricts, handler, 1000))
        .map_err(store_err)?;
    let mut out = String::new();
    for d in &dead {
        out.push_str(&format!(
            "{}  {}  {}  event {} ({}) after {} attempt{}: {}\n",
            d.delivery_id,
            d.failed_at.format("%Y-%m-%dT%H:%M:%SZ"),
            d.handler_id,
            d.event.event.id,
            d.event.event.event_type,
            d.attempts,
            if d.attempts == 1 { "" } else { "s" },
            d.last_error
        ));
    }
    if dead.is_empty() {
        out.push_str("no dead letters\n");
    }
    crate::print_stdout(&out)?;
    Ok(OK)
}

/// `dead-letters retry|discard ID`.
pub fn act_on_dead(db: &str, schema: Option<&str>, id: i64, retry: bool) -> Outcome {
    let (rt, store) = open(db, schema)?;
    let done = rt
        .block_on(async {
            if retry {
                store
                    .retry_dead(&skillcore_events_store::Scope::AllDistricts, id)
                    .await
            } else {
                store
                    .discard_dead(&skillcore_events_store::Scope::AllDistricts, id)
                    .await
            }
        })
        .map_err(store_err)?;
    if !done {
        return Err(Failure::usage(format!(
            "no dead letter {id} (see `skillcore-events dead-letters list`)"
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
    pub db: &'a str,
    pub schema: Option<&'a str>,
    pub handler: &'a str,
    pub event_type: Option<String>,
    pub since: Option<String>,
    pub wait: bool,
    pub timeout: Option<Duration>,
}

/// `replay`: queues the matching events for one handler and follows the
/// progress the service's workers make, with a progress bar.
pub fn replay(a: ReplayArgs<'_>) -> Outcome {
    let since = match &a.since {
        None => None,
        Some(t) => Some(
            skillcore_events::chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|e| {
                    Failure::usage(format!(
                        "--since `{t}` is not an RFC 3339 time ({e}); for example 2025-11-17T00:00:00Z"
                    ))
                })?
                .with_timezone(&skillcore_events::chrono::Utc),
        ),
    };
    let (rt, store) = open(a.db, a.schema)?;
    let filter = ReplayFilter {
        event_type: a.event_type.clone(),
        since,
    };
    let (batch, total) = rt
        .block_on(store.replay(
            &skillcore_events_store::Scope::AllDistricts,
            a.handler,
            &filter,
        ))
        .map_err(store_err)?;
    eprintln!(
        "replaying {total} event{} to `{}` (batch {batch})",
        if total == 1 { "" } else { "s" },
        a.handler
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
            .block_on(store.replay_progress(
                &skillcore_events_store::Scope::AllDistricts,
                a.handler,
                batch,
            ))
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
                a.handler
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
