//! Our side of the side-by-side harness (`benchmarks/side-by-side`): the
//! durable bus on SQLite (WAL, `synchronous=NORMAL`, every event stored before
//! its publish returns), measured the way `benchmarks/bullmq/bench.js`
//! measures BullMQ. One scenario per run, one JSON line on stdout:
//!
//! ```sh
//! skillcore-events-benchmarks --scenario drain --concurrency 8   # 8 events in flight
//! skillcore-events-benchmarks --scenario single --events 3000
//! skillcore-events-benchmarks --scenario batch --events 20000 --dir /tmp/x
//! skillcore-events-benchmarks --scenario drain --concurrency 8 --prefetch 0
//! ```
//!
//! - `single`: one publisher awaiting each publish, one event per call.
//! - `batch`: `publish_all` of 100 events per call.
//!
//! Both time `--events` publishes after 100 untimed ones.
//! - `drain`: publishes `--events` (default 50,000) events of one catalog
//!   type with 3 no-op durable handlers (untimed, in batches of 500), then
//!   times one worker handling every delivery. `--concurrency C` counts
//!   events in flight, as BullMQ's does: our concurrency counts deliveries
//!   (one per handler per event), so the worker runs at 3 x C deliveries,
//!   prefetch at the worker's default unless `--prefetch` sets it.
//!
//! The line also gives `cpu_ms`, the CPU time the process used in the timed
//! part (all its threads, SQLite's included; 10 ms steps): a cost the
//! machine's other load moves far less than the wall-clock rate.
//!
//! Each run opens a fresh store in a folder of its own under `--dir` (default
//! the system's temporary folder) and removes it at the end.

use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::serde_json::json;
use skillcore_events::store::{Durable, Scope, Store};
use skillcore_events::uuid::Uuid;
use skillcore_events::{Envelope, EventBus, HandlerOptions, Metadata};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

mod events {
    skillcore_events::catalog!("../../catalog");
}
use events::{gradebook, LetterGrade};

/// Handlers per event: the original system's three.
const HANDLERS: usize = 3;

/// Publishes made untimed before the timed ones (single and batch), as on
/// BullMQ's side: the first calls prepare the store's statements.
const WARM_UP: u64 = 100;

const USAGE: &str = "usage: skillcore-events-benchmarks --scenario single|batch|drain \
[--concurrency C (drain: events in flight)] [--prefetch DELIVERIES] [--events N] [--dir FOLDER]";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Scenario {
    Single,
    Batch,
    Drain,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Single => "single",
            Scenario::Batch => "batch",
            Scenario::Drain => "drain",
        }
    }

    fn default_events(self) -> u64 {
        match self {
            Scenario::Single => 3_000,
            Scenario::Batch => 20_000,
            Scenario::Drain => 50_000,
        }
    }
}

#[derive(Debug)]
struct Args {
    scenario: Scenario,
    /// Events in flight (drain only).
    concurrency: Option<usize>,
    /// Deliveries claimed ahead of free handler slots (drain only; the
    /// worker's default when absent).
    prefetch: Option<usize>,
    events: u64,
    dir: PathBuf,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut scenario = None;
    let mut concurrency = None;
    let mut prefetch = None;
    let mut events = None;
    let mut dir = std::env::temp_dir();
    while let Some(key) = argv.next() {
        let value = argv.next().ok_or_else(|| format!("{key} needs a value"))?;
        match key.as_str() {
            "--scenario" => {
                scenario = Some(match value.as_str() {
                    "single" => Scenario::Single,
                    "batch" => Scenario::Batch,
                    "drain" => Scenario::Drain,
                    _ => {
                        return Err(format!(
                            "--scenario {value}: expected single, batch or drain"
                        ))
                    }
                })
            }
            "--concurrency" => concurrency = Some(positive(&key, &value)? as usize),
            "--prefetch" => {
                prefetch =
                    Some(value.parse::<usize>().map_err(|_| {
                        format!("{key} {value}: expected a whole number (deliveries)")
                    })?)
            }
            "--events" => events = Some(positive(&key, &value)?),
            "--dir" => dir = PathBuf::from(value),
            _ => return Err(format!("unknown option {key}")),
        }
    }
    let scenario = scenario.ok_or("--scenario is required")?;
    if scenario == Scenario::Drain && concurrency.is_none() {
        return Err("--scenario drain needs --concurrency (events in flight)".into());
    }
    Ok(Args {
        scenario,
        concurrency,
        prefetch,
        events: events.unwrap_or(scenario.default_events()),
        dir,
    })
}

fn positive(key: &str, value: &str) -> Result<u64, String> {
    match value.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{key} {value}: expected a whole number above 0")),
    }
}

/// The event both sides publish: gradebook.grade.posted.
fn grade(n: u64) -> Envelope<gradebook::GradePosted> {
    Envelope::new(
        gradebook::GradePosted {
            result_id: Uuid::from_u64_pair(n, n),
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
            district_id: "dst-222".into(),
            school_id: "sch-333".into(),
            comment: None,
        },
        Metadata::new("dst-222", "sch-333").with_user("tch-111"),
    )
}

/// A durable bus with the 3 no-op handlers; workers on at `deliveries` in
/// flight, or off (a publisher only).
fn bus(store: &Store, deliveries: Option<usize>, prefetch: Option<usize>) -> EventBus {
    let opts = HandlerOptions::new();
    let noop = |_e, _cx| async { Ok(()) };
    let mut durable = Durable::store(store.clone())
        .run_workers(deliveries.is_some())
        .concurrency(deliveries.unwrap_or(1))
        .idle_poll(Duration::from_millis(50));
    if let Some(p) = prefetch {
        durable = durable.prefetch(p);
    }
    EventBus::builder()
        .subscribe_with::<gradebook::GradePosted, _, _>("analytics.update_gpa", opts, noop)
        .subscribe_with::<gradebook::GradePosted, _, _>("notifications.send", opts, noop)
        .subscribe_with::<gradebook::GradePosted, _, _>("interventions.check", opts, noop)
        .backend(durable)
        .build()
        .expect("the bench's bus builds")
}

/// A store folder of its own, removed when dropped (on errors too).
struct Folder(PathBuf);

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Publishes the events numbered `from..to` in batches of `size`.
async fn publish_batches(bus: &EventBus, from: u64, to: u64, size: u64) -> Result<(), String> {
    let mut i = from;
    while i < to {
        let batch: Vec<_> = (i..(i + size).min(to)).map(grade).collect();
        i += batch.len() as u64;
        bus.publish_all(batch)
            .await
            .map_err(|e| format!("publish_all: {e}"))?;
    }
    Ok(())
}

/// The CPU time this process (every thread, finished ones included) has used,
/// in ms, from `/proc/self/stat` (10 ms steps); `None` where there is none.
fn cpu_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces): state is the
    // first, utime and stime the 12th and 13th, in clock ticks of 1/100 s
    // (USER_HZ, 100 on every Linux the bench runs on).
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 * 10.0)
}

/// What the timed part of a scenario took.
struct Timed {
    seconds: f64,
    cpu_ms: Option<f64>,
}

/// Measures from here until [`Timer::stop`].
struct Timer {
    start: Instant,
    cpu: Option<f64>,
}

impl Timer {
    fn start() -> Timer {
        Timer {
            cpu: cpu_ms(),
            start: Instant::now(),
        }
    }

    fn stop(self) -> Timed {
        let seconds = self.start.elapsed().as_secs_f64();
        Timed {
            seconds,
            cpu_ms: cpu_ms().zip(self.cpu).map(|(to, from)| to - from),
        }
    }
}

/// Runs one scenario and measures its timed part.
async fn run(args: &Args, store: &Store) -> Result<Timed, String> {
    let n = args.events;
    match args.scenario {
        Scenario::Single => {
            let bus = bus(store, None, None);
            for i in n..n + WARM_UP {
                bus.publish(grade(i))
                    .await
                    .map_err(|e| format!("publish: {e}"))?;
            }
            let timer = Timer::start();
            for i in 0..n {
                bus.publish(grade(i))
                    .await
                    .map_err(|e| format!("publish: {e}"))?;
            }
            Ok(timer.stop())
        }
        Scenario::Batch => {
            let bus = bus(store, None, None);
            publish_batches(&bus, n, n + WARM_UP, 100).await?;
            let timer = Timer::start();
            publish_batches(&bus, 0, n, 100).await?;
            Ok(timer.stop())
        }
        Scenario::Drain => {
            publish_batches(&bus(store, None, None), 0, n, 500).await?;
            let events_in_flight = args.concurrency.unwrap_or(1);
            let timer = Timer::start();
            let worker = bus(store, Some(HANDLERS * events_in_flight), args.prefetch);
            worker.idle().await;
            let timed = timer.stop();
            worker.shutdown(Duration::from_secs(10)).await;
            let stats = store
                .stats(&Scope::AllDistricts)
                .await
                .map_err(|e| format!("stats: {e}"))?;
            if stats.len() != HANDLERS || stats.iter().any(|s| s.completed != n as i64) {
                return Err(format!("not every delivery handled: {stats:?}"));
            }
            Ok(timed)
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("skillcore-events-benchmarks: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let folder = Folder(args.dir.join(format!(
        "skc-side-by-side-{}-{}",
        std::process::id(),
        Uuid::now_v7().simple()
    )));
    let result = async {
        std::fs::create_dir_all(&folder.0)
            .map_err(|e| format!("cannot create {}: {e}", folder.0.display()))?;
        let store = Store::sqlite(folder.0.join("events.db"))
            .await
            .map_err(|e| format!("opening the SQLite store: {e}"))?;
        run(&args, &store).await
    }
    .await;
    match result {
        Ok(Timed { seconds, cpu_ms }) => {
            let drain = args.scenario == Scenario::Drain;
            let row = json!({
                "system": "ours",
                "label": "sqlite",
                "scenario": args.scenario.name(),
                "concurrency": if drain { args.concurrency } else { None },
                "deliveries_concurrency": if drain { args.concurrency.map(|c| c * HANDLERS) } else { None },
                "prefetch": if drain { args.prefetch } else { None },
                "events": args.events,
                "seconds": seconds,
                "events_per_s": args.events as f64 / seconds,
                "cpu_ms": cpu_ms,
            });
            println!("{row}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("skillcore-events-benchmarks: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn drain_needs_events_in_flight() {
        let e = parse(&["--scenario", "drain"]).unwrap_err();
        assert!(e.contains("--concurrency"), "{e}");
        let a = parse(&["--scenario", "drain", "--concurrency", "8"]).unwrap();
        assert_eq!((a.concurrency, a.events), (Some(8), 50_000));
    }

    #[test]
    fn bad_values_say_which_option() {
        let e = parse(&["--scenario", "single", "--events", "0"]).unwrap_err();
        assert!(e.starts_with("--events 0"), "{e}");
        let e = parse(&["--scenario", "twice"]).unwrap_err();
        assert!(e.contains("single, batch or drain"), "{e}");
        let e = parse(&["--scenario"]).unwrap_err();
        assert!(e.contains("needs a value"), "{e}");
    }
}
