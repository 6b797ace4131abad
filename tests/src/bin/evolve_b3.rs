//! Build 3 of the replay catalog (`fixtures/replay/b3/`, its lock holding
//! the versions builds 1 and 2 released). Driven by `tests/replay_e2e.rs`.
//!
//! ```text
//! evolve_b3 publish --db sqlite:PATH|postgres://URL [--schema NAME]
//! evolve_b3 replay  --db … [--type NAME]
//! ```
//!
//! `publish` publishes the current version of its events. `replay` runs one
//! handler (`replay.current`, subscribed to every event of the catalog, with
//! today's types) over every stored event, through the store's replay and
//! the bus's workers: a JSON line per event it receives (the event, the
//! aggregate id and the decoded payload), then a summary line
//! `{"summary": {"queued", "decoded", "failed", "deadLetters"}}`. Dead
//! letters are listed on stderr. Exit 1 when the replay does not finish.
//! `--type NAME` replays the events of that type only (under its current
//! name, which takes in those stored under its old ones).

mod events {
    skillcore_events::catalog!("fixtures/replay/b3/replay.yaml");
}

/// The hand-written steps named in the catalog under `upcast:`.
mod upcast {
    use super::events::{lab, Letter, Points};

    /// Version 1 -> 2, as build 2 had it (into version 2, no longer the
    /// current one): `tags` was comma-separated text, `minutes` a whole number.
    pub fn visit_v1(old: lab::v1::VisitLogged) -> lab::v2::VisitLogged {
        lab::v2::VisitLogged {
            visit_id: old.visit_id,
            tags: old
                .tags
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
            minutes: old.minutes as f64,
        }
    }

    /// Version 2 -> 3: the points move into a struct.
    pub fn score_v2(old: lab::v2::ScoreRecorded) -> lab::ScoreRecorded {
        lab::ScoreRecorded {
            score_id: old.score_id,
            points: Points {
                earned: old.points_earned,
                possible: old.points_possible,
            },
            letter: Letter::from(old.letter),
            comment: None,
        }
    }
}

#[allow(dead_code)]
#[path = "../../fixtures/replay/values.rs"]
mod values;

#[path = "../../fixtures/replay/bin.rs"]
mod bin;

use events::lab;
use skillcore_events::serde_json::json;
use skillcore_events::store::{ReplayFilter, Store};
use skillcore_events::{
    Event, EventBus, EventBusBuilder, HandlerContext, HandlerError, HandlerOptions, Scope,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const HANDLER: &str = "replay.current";

fn main() {
    bin::run(&["publish", "replay"], |args| async move {
        if args.mode == "publish" {
            publish(&args.db).await
        } else {
            replay(&args.db, args.event_type).await
        }
    });
}

async fn publish(db: &bin::Db) -> Result<(), String> {
    let bus = bin::backend(EventBus::builder(), db, false)
        .build()
        .map_err(|e| e.to_string())?;
    let n = bin::publish::<lab::ScoreRecorded>(&bus, 3).await?
        + bin::publish::<lab::NoteWritten>(&bus, 3).await?
        + bin::publish::<lab::VisitLogged>(&bus, 3).await?
        + bin::publish::<lab::BadgeAwarded>(&bus, 3).await?;
    bus.shutdown(Duration::from_secs(5)).await;
    println!("published {n}");
    Ok(())
}

/// Subscribes [`HANDLER`] to `E`: it prints each envelope it gets as a JSON
/// line and counts it.
fn print<E: Event>(builder: EventBusBuilder, decoded: &Arc<AtomicU64>) -> EventBusBuilder {
    let decoded = Arc::clone(decoded);
    let options = HandlerOptions::new()
        .retries(1)
        .backoff(Duration::from_millis(10));
    builder.subscribe_with::<E, _, _>(HANDLER, options, move |env, _cx: HandlerContext| {
        let line = skillcore_events::serde_json::to_value(&env.payload).map(|payload| {
            json!({
                "handler": E::NAME,
                "event": env.event_type,
                "version": env.version,
                "aggregateId": env.aggregate_id,
                "payload": payload,
            })
        });
        let result = match line {
            Ok(line) => {
                println!("{line}");
                decoded.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
            Err(e) => Err(HandlerError::msg(e)),
        };
        std::future::ready(result)
    })
}

async fn replay(db: &bin::Db, event_type: Option<String>) -> Result<(), String> {
    let decoded = Arc::new(AtomicU64::new(0));
    let mut builder = bin::backend(EventBus::builder(), db, true);
    builder = print::<lab::ScoreRecorded>(builder, &decoded);
    builder = print::<lab::NoteWritten>(builder, &decoded);
    builder = print::<lab::VisitLogged>(builder, &decoded);
    builder = print::<lab::BadgeAwarded>(builder, &decoded);
    let bus = builder.build().map_err(|e| e.to_string())?;
    let store = Store::of(&bus).await.map_err(|e| e.to_string())?;
    let all = Scope::AllDistricts;
    // Every stored event (of the type asked for), whatever build wrote it
    // under whatever name.
    let filter = ReplayFilter {
        event_type,
        since: None,
    };
    let (batch, queued) = store
        .replay(&all, HANDLER, &filter)
        .await
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let finished = loop {
        let progress = store
            .replay_progress(&all, HANDLER, batch)
            .await
            .map_err(|e| e.to_string())?;
        if progress.finished() {
            break true;
        }
        if Instant::now() > deadline {
            eprintln!("the replay did not finish: {progress:?}");
            break false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    bus.shutdown(Duration::from_secs(5)).await;
    let stats = store.stats(&all).await.map_err(|e| e.to_string())?;
    let failed: i64 = stats.iter().map(|s| s.failed + s.dead).sum();
    let letters = store
        .dead_letters(&all, None, 10_000)
        .await
        .map_err(|e| e.to_string())?;
    for d in &letters {
        eprintln!(
            "dead letter: {} on {} v{} ({}): {}",
            d.handler_id,
            d.event.event.event_type,
            d.event.event.version,
            d.event.event.aggregate_id,
            d.last_error
        );
    }
    let summary = json!({"summary": {
        "queued": queued,
        "decoded": decoded.load(Ordering::SeqCst),
        "failed": failed,
        "deadLetters": letters.len(),
    }});
    println!("{summary}");
    if finished {
        Ok(())
    } else {
        Err("the replay did not finish in 60 s".into())
    }
}
