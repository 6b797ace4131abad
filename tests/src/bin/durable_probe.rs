//! A real process for the reliability tests (`tests/reliability*.rs`): it
//! publishes events or runs workers against a durable store, so that tests can
//! kill it with SIGKILL at any moment.
//!
//! ```text
//! durable_probe publish TARGET COUNT      publish COUNT events, one per transaction,
//!                                         printing "published N" after each commit
//! durable_probe work TARGET SLEEP_MS      run the workers until killed (or, with
//!                                         a third argument `until-idle`, until idle)
//! durable_probe stall TARGET SLEEP_MS     as `work`, with renewed leases of
//!                                         PROBE_LEASE_MS (default: the bus's, 10 s),
//!                                         worker identity PROBE_WORKER_ID (default:
//!                                         a new one), and the worker's warnings on
//!                                         stderr; prints "running N" as each
//!                                         `probe.effect` starts (tests/stall.rs)
//! ```
//!
//! TARGET is `sqlite:PATH` or `postgres:SCHEMA` (server from `SKILLCORE_TEST_PG`).
//! Handlers: `probe.effect` records its effect idempotently (one row per event,
//! `ON CONFLICT DO NOTHING`) and every run in `probe_runs`; `probe.audit` only
//! records its runs.

use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::store::{Durable, Store};
use skillcore_events::{Envelope, EventBus, HandlerError, HandlerOptions, Metadata};
use skillcore_events_tests::skillcore::{gradebook, LetterGrade};
use std::io::Write;
use std::time::Duration;

fn pg_url() -> String {
    std::env::var("SKILLCORE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// One grade event per number, with a UUID derived from it.
pub fn grade(n: u64) -> Envelope<gradebook::GradePosted> {
    Envelope::new(
        gradebook::GradePosted {
            result_id: skillcore_events::uuid::Uuid::from_u64_pair(7, n),
            line_item_id: format!("li-{n}"),
            student_id: format!("stu-{}", n % 17),
            class_id: "cls-1".into(),
            points_earned: (n % 100) as f64,
            points_possible: 100.0,
            score_percent: (n % 100) as f64,
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

enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Db {
    async fn record(
        &self,
        table: &str,
        event: &str,
        handler: &str,
        pid: u32,
    ) -> Result<(), sqlx::Error> {
        let conflict = if table == "probe_effects" {
            " ON CONFLICT DO NOTHING"
        } else {
            ""
        };
        let sql =
            format!("INSERT INTO {table} (event_id, handler, pid) VALUES ($1, $2, $3){conflict}");
        match self {
            Db::Sqlite(p) => {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(event)
                    .bind(handler)
                    .bind(pid as i64)
                    .execute(p)
                    .await?;
            }
            Db::Postgres(p) => {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(event)
                    .bind(handler)
                    .bind(pid as i64)
                    .execute(p)
                    .await?;
            }
        }
        Ok(())
    }
}

async fn open(target: &str) -> (Store, Db) {
    if let Some(path) = target.strip_prefix("sqlite:") {
        let store = Store::sqlite(path).await.expect("sqlite store");
        let db = Db::Sqlite(store.sqlite_pool().expect("sqlite").clone());
        (store, db)
    } else if let Some(schema) = target.strip_prefix("postgres:") {
        let store = Store::postgres(&pg_url(), Some(schema))
            .await
            .expect("postgres store");
        let db = Db::Postgres(store.postgres_pool().expect("postgres").clone());
        (store, db)
    } else {
        eprintln!("TARGET must be sqlite:PATH or postgres:SCHEMA");
        std::process::exit(2);
    }
}

/// How the probe's worker holds its leases.
#[derive(Clone, Copy, PartialEq)]
enum Leases {
    /// The handlers' timeout plus 500 ms (`work`).
    PastTimeout,
    /// Renewed, from the environment (`stall`).
    Renewed,
}

fn bus(
    store: Store,
    db: std::sync::Arc<Db>,
    sleep: Duration,
    run_workers: bool,
    leases: Leases,
) -> EventBus {
    let opts = HandlerOptions::new()
        .retries(50)
        .backoff(Duration::from_millis(20))
        .timeout(Duration::from_secs(2));
    let (d1, d2) = (db.clone(), db);
    EventBus::builder()
        .subscribe_with::<gradebook::GradePosted, _, _>("probe.effect", opts, move |e, _cx| {
            let db = d1.clone();
            async move {
                if leases == Leases::Renewed {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "running {}", e.id);
                    let _ = out.flush();
                }
                tokio::time::sleep(sleep).await;
                let id = e.id.to_string();
                let pid = std::process::id();
                db.record("probe_runs", &id, "probe.effect", pid)
                    .await
                    .map_err(HandlerError::msg)?;
                db.record("probe_effects", &id, "probe.effect", pid)
                    .await
                    .map_err(HandlerError::msg)
            }
        })
        .subscribe_with::<gradebook::GradePosted, _, _>("probe.audit", opts, move |e, _cx| {
            let db = d2.clone();
            async move {
                db.record(
                    "probe_runs",
                    &e.id.to_string(),
                    "probe.audit",
                    std::process::id(),
                )
                .await
                .map_err(HandlerError::msg)
            }
        })
        .backend(durable(store, run_workers, leases))
        .build()
        .expect("bus builds")
}

fn durable(store: Store, run_workers: bool, leases: Leases) -> Durable {
    let d = Durable::store(store)
        .run_workers(run_workers)
        .concurrency(8)
        .idle_poll(Duration::from_millis(50));
    match leases {
        Leases::PastTimeout => d.lease_margin(Duration::from_millis(500)),
        Leases::Renewed => {
            let d = match std::env::var("PROBE_LEASE_MS")
                .ok()
                .and_then(|v| v.parse().ok())
            {
                Some(ms) => d.lease(Duration::from_millis(ms)),
                None => d,
            };
            match std::env::var("PROBE_WORKER_ID") {
                Ok(id) => d.worker_id(id),
                Err(_) => d,
            }
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: durable_probe publish|work|stall TARGET N [until-idle]");
        std::process::exit(2);
    }
    let (store, db) = open(&args[2]).await;
    let db = std::sync::Arc::new(db);
    let n: u64 = args[3].parse().expect("a number");
    match args[1].as_str() {
        "publish" => {
            let bus = bus(store, db, Duration::ZERO, false, Leases::PastTimeout);
            let mut out = std::io::stdout().lock();
            for i in 0..n {
                bus.publish(grade(i)).await.expect("publish");
                writeln!(out, "published {i}").unwrap();
                out.flush().unwrap();
            }
        }
        "work" | "stall" => {
            let leases = if args[1] == "stall" {
                tracing_subscriber::fmt()
                    .with_writer(std::io::stderr)
                    .with_ansi(false)
                    .with_max_level(tracing::Level::WARN)
                    .init();
                Leases::Renewed
            } else {
                Leases::PastTimeout
            };
            let bus = bus(store, db, Duration::from_millis(n), true, leases);
            if args.get(4).map(String::as_str) == Some("until-idle") {
                bus.idle().await;
                bus.shutdown(Duration::from_secs(10)).await;
            } else {
                loop {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
            }
        }
        other => {
            eprintln!("unknown mode `{other}`");
            std::process::exit(2);
        }
    }
}
