//! What a dashboard left open costs the service (benchmarks/dashboard): on an
//! existing store (the filled one of `benchmarks/dashboard/run`), publish or
//! drain a number of events with the durable bus, and print the rate as one
//! JSON line. `benchmarks/dashboard/presence` runs it with and without a
//! dashboard open (A B A B).
//!
//! ```text
//! presence --db PATH|postgres://… [--schema S] --publish N   # 8 publishers, one event per call
//! presence --db PATH|postgres://… [--schema S] --drain N     # N stored, then one worker (32 in flight) handles them
//!                                                            # (and what a publish run left: counted)
//! presence --db postgres://… --schema S --create            # a migrated, empty store (for the fill)
//! ```
//!
//! The events are `gradebook.grade.posted`, with three no-op handlers of
//! their own (`presence.*`), so a run never touches the filled store's
//! deliveries; each run adds its events to the store.

use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::{Envelope, EventBus, HandlerOptions, Metadata};
use skillcore_events_store::{Durable, Scope, Store};
use std::time::{Duration, Instant};

mod events {
    skillcore_events::catalog!("../catalog");
}
use events::{gradebook, LetterGrade};

const HANDLERS: [&str; 3] = ["presence.gpa", "presence.notify", "presence.check"];

fn grade(n: u64) -> Envelope<gradebook::GradePosted> {
    Envelope::new(
        gradebook::GradePosted {
            result_id: skillcore_events::uuid::Uuid::now_v7(),
            line_item_id: "li-456".into(),
            student_id: format!("stu-{}", n % 500),
            class_id: "cls-101".into(),
            points_earned: 42.5,
            points_possible: 100.0,
            score_percent: 85.0,
            letter_grade: LetterGrade::B,
            previous_score: None,
            graded_by_id: "tch-111".into(),
            posted_at: Utc.with_ymd_and_hms(2025, 11, 17, 14, 3, 0).unwrap(),
            district_id: "dst-1".into(),
            school_id: "sch-333".into(),
            comment: None,
        },
        Metadata::new("dst-1", "sch-333").with_user("tch-111"),
    )
}

fn bus(store: &Store, run_workers: bool) -> Result<EventBus, String> {
    let mut b = EventBus::builder();
    for h in HANDLERS {
        b = b.subscribe_with::<gradebook::GradePosted, _, _>(
            h,
            HandlerOptions::new(),
            |_e, _cx| async { Ok(()) },
        );
    }
    let durable = Durable::store(store.clone())
        .run_workers(run_workers)
        .concurrency(32)
        .idle_poll(Duration::from_millis(50));
    b.backend(durable).build().map_err(|e| e.to_string())
}

struct Args {
    db: String,
    schema: Option<String>,
    publish: Option<u64>,
    drain: Option<u64>,
    create: bool,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        db: String::new(),
        schema: None,
        publish: None,
        drain: None,
        create: false,
    };
    let mut it = std::env::args().skip(1);
    let number = |v: Option<String>, k: &str| -> Result<u64, String> {
        v.and_then(|v| v.parse().ok())
            .filter(|n| *n > 0)
            .ok_or(format!("{k} needs a positive number"))
    };
    while let Some(k) = it.next() {
        match k.as_str() {
            "--db" => a.db = it.next().ok_or("--db needs a value")?,
            "--schema" => a.schema = Some(it.next().ok_or("--schema needs a value")?),
            "--publish" => a.publish = Some(number(it.next(), "--publish")?),
            "--drain" => a.drain = Some(number(it.next(), "--drain")?),
            "--create" => a.create = true,
            _ => return Err(format!("unknown argument {k}")),
        }
    }
    if a.db.is_empty() {
        return Err("--db is required".into());
    }
    Ok(a)
}

async fn open(a: &Args) -> Result<Store, String> {
    let store = if a.db.starts_with("postgres://") || a.db.starts_with("postgresql://") {
        Store::postgres(&a.db, a.schema.as_deref()).await
    } else {
        Store::sqlite(&a.db).await
    };
    store.map_err(|e| e.to_string())
}

async fn run(a: Args) -> Result<(), String> {
    let store = open(&a).await?;
    if a.create {
        return Ok(());
    }
    let (mode, n, seconds) = if let Some(n) = a.publish {
        let bus = bus(&store, false)?;
        let start = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for t in 0..8 {
            let bus = bus.clone();
            set.spawn(async move {
                let mut i = t;
                while i < n {
                    bus.publish(grade(i)).await.map_err(|e| e.to_string())?;
                    i += 8;
                }
                Ok::<_, String>(())
            });
        }
        while let Some(r) = set.join_next().await {
            r.map_err(|e| e.to_string())??;
        }
        ("publish", n, start.elapsed().as_secs_f64())
    } else if let Some(n) = a.drain {
        let before = completed(&store).await?;
        let publisher = bus(&store, false)?;
        let mut i = 0;
        while i < n {
            let batch: Vec<_> = (i..(i + 500).min(n)).map(grade).collect();
            i += batch.len() as u64;
            publisher
                .publish_all(batch)
                .await
                .map_err(|e| e.to_string())?;
        }
        let start = Instant::now();
        let worker = bus(&store, true)?;
        worker.idle().await;
        let seconds = start.elapsed().as_secs_f64();
        worker.shutdown(Duration::from_secs(10)).await;
        // These events and any a publish run left.
        let done = completed(&store).await? - before;
        if done < n as i64 * HANDLERS.len() as i64 {
            return Err(format!("drained {done} deliveries, expected {}", n * 3));
        }
        ("drain", done as u64 / HANDLERS.len() as u64, seconds)
    } else {
        return Err("--publish N, --drain N or --create".into());
    };
    println!(
        "{{\"mode\": \"{mode}\", \"events\": {n}, \"seconds\": {seconds:.3}, \"events_per_s\": {:.1}}}",
        n as f64 / seconds
    );
    Ok(())
}

/// The bench's handlers' completed deliveries.
async fn completed(store: &Store) -> Result<i64, String> {
    Ok(store
        .stats(&Scope::AllDistricts)
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .filter(|s| HANDLERS.contains(&s.handler_id.as_str()))
        .map(|s| s.completed)
        .sum())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    let result = match args() {
        Ok(a) => run(a).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("presence: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
