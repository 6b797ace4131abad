//! Publishes N grade-posted events to three no-op handlers and prints the wall
//! time and the process CPU time per event (from `/proc/self/stat`, Linux).
//! CPU time is the figure to trust on a shared machine, where wall time
//! depends on what else runs.
//!
//! ```text
//! cargo run --release -p skillcore-events --example bus_cpu_cost [N]        # 2-worker runtime
//! ONE=1 cargo run --release -p skillcore-events --example bus_cpu_cost [N]  # current-thread runtime
//! ```

use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::uuid::Uuid;
use skillcore_events::{Envelope, EventBus, Metadata};
use std::time::Instant;

mod events {
    skillcore_events::catalog!("../catalog");
}
use events::{gradebook, LetterGrade};

/// User + system CPU seconds of this process (0 where /proc is missing).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (tick(11) + tick(12)) / 100.0
}

fn envelope(i: u64) -> Envelope<gradebook::GradePosted> {
    Envelope::new(
        gradebook::GradePosted {
            result_id: Uuid::from_u128(i as u128 + 1),
            line_item_id: "li-456".into(),
            student_id: "stu-789".into(),
            class_id: "cls-101".into(),
            points_earned: 42.5,
            points_possible: 100.0,
            score_percent: 85.0,
            letter_grade: LetterGrade::B,
            previous_score: None,
            graded_by_id: "tch-111".into(),
            posted_at: Utc.with_ymd_and_hms(2025, 11, 17, 14, 3, 0).unwrap(),
            district_id: "dst-222".into(),
            school_id: "sch-333".into(),
            comment: Some("Strong thesis".into()),
        },
        Metadata::new("dst-222", "sch-333").with_user("tch-111"),
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rt = if std::env::var_os("ONE").is_some() {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()?
    };
    let mut builder = EventBus::builder().log_events(false).log_handlers(false);
    for id in ["analytics.noop", "notifications.noop", "interventions.noop"] {
        builder = builder.subscribe::<gradebook::GradePosted, _, _>(id, |_, _| async { Ok(()) });
    }
    let bus = builder.build()?;
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    for round in 0..3 {
        let bus = bus.clone();
        let (cpu0, t0) = (cpu_seconds(), Instant::now());
        rt.block_on(async move {
            tokio::spawn(async move {
                for i in 0..n {
                    bus.publish(envelope(i)).await?;
                }
                bus.idle().await;
                Ok::<(), skillcore_events::PublishError>(())
            })
            .await
        })??;
        let (cpu, wall) = (cpu_seconds() - cpu0, t0.elapsed().as_secs_f64());
        println!(
            "round {round}: {n} events in {wall:.2} s wall = {:.0} events/s; CPU {cpu:.2} s = {:.2} µs/event",
            n as f64 / wall,
            cpu * 1e6 / n as f64
        );
    }
    Ok(())
}
