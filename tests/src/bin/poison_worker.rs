//! A real process for `tests/reliability_poison.rs`: a worker whose handler
//! aborts the process on one event (a poison event), as a handler that
//! overflows its stack or runs out of memory would.
//!
//! ```text
//! poison_worker publish TARGET ordered|unordered [RETRIES]   publish the events (li-1, li-poison, li-2, li-3)
//! poison_worker work TARGET ordered|unordered [RETRIES]      run the workers until idle (or abort)
//! ```
//!
//! TARGET is `sqlite:PATH` or `postgres:SCHEMA` (server from `SKILLCORE_TEST_PG`).
//! With `ordered`, the four events are of one aggregate and the handler is
//! ordered; with `unordered`, each event is its own aggregate. The handler
//! `probe.poison` has `retries(RETRIES)`, 1 by default (two attempts in all).

use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::store::{Durable, Store};
use skillcore_events::{Envelope, EventBus, HandlerOptions, Metadata};
use skillcore_events_tests::skillcore::{gradebook, LetterGrade};
use std::time::Duration;

/// The events, in publishing order; the second one is the poison.
pub const EVENTS: [&str; 4] = ["li-1", "li-poison", "li-2", "li-3"];

fn grade(n: u64, line_item: &str, ordered: bool) -> Envelope<gradebook::GradePosted> {
    let aggregate = if ordered { 0 } else { n };
    Envelope::new(
        gradebook::GradePosted {
            result_id: skillcore_events::uuid::Uuid::from_u64_pair(9, aggregate),
            line_item_id: line_item.into(),
            student_id: "stu-1".into(),
            class_id: "cls-1".into(),
            points_earned: 1.0,
            points_possible: 100.0,
            score_percent: 1.0,
            letter_grade: LetterGrade::B,
            previous_score: None,
            graded_by_id: "tch-1".into(),
            posted_at: Utc.with_ymd_and_hms(2025, 11, 17, 14, 3, 0).unwrap(),
            district_id: "dst-1".into(),
            school_id: "sch-1".into(),
            comment: None,
        },
        Metadata::new("dst-1", "sch-1"),
    )
}

async fn open(target: &str) -> Store {
    if let Some(path) = target.strip_prefix("sqlite:") {
        Store::sqlite(path).await.expect("sqlite store")
    } else if let Some(schema) = target.strip_prefix("postgres:") {
        let url = std::env::var("SKILLCORE_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        Store::postgres(&url, Some(schema))
            .await
            .expect("postgres store")
    } else {
        eprintln!("TARGET must be sqlite:PATH or postgres:SCHEMA");
        std::process::exit(2);
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: poison_worker publish|work TARGET ordered|unordered");
        std::process::exit(2);
    }
    let store = open(&args[2]).await;
    let ordered = args[3] == "ordered";
    let retries: u32 = args
        .get(4)
        .map_or(1, |r| r.parse().expect("RETRIES is a number"));
    let publish = args[1] == "publish";
    let bus = EventBus::builder()
        .subscribe_with::<gradebook::GradePosted, _, _>(
            "probe.poison",
            HandlerOptions::new()
                .retries(retries)
                .backoff(Duration::from_millis(10))
                .timeout(Duration::from_millis(500))
                .ordered(ordered),
            |e, cx| async move {
                eprintln!(
                    "poison_worker {}: {} attempt {}/{}",
                    std::process::id(),
                    e.payload.line_item_id,
                    cx.attempt,
                    cx.max_attempts
                );
                if e.payload.line_item_id == "li-poison" {
                    std::process::abort();
                }
                Ok(())
            },
        )
        .backend(
            Durable::store(store)
                .run_workers(!publish)
                .concurrency(4)
                .lease_margin(Duration::from_millis(300))
                .idle_poll(Duration::from_millis(50)),
        )
        .build()
        .expect("bus builds");
    if publish {
        for (n, line_item) in EVENTS.iter().enumerate() {
            bus.publish(grade(n as u64, line_item, ordered))
                .await
                .expect("publish");
        }
        return;
    }
    if tokio::time::timeout(Duration::from_secs(60), bus.idle())
        .await
        .is_err()
    {
        eprintln!("poison_worker: not idle after 60 s");
        std::process::exit(3);
    }
    bus.shutdown(Duration::from_secs(5)).await;
}
