//! Throughput and latency of the durable bus, on SQLite and PostgreSQL.
//!
//! ```sh
//! cargo bench -p skillcore-events-store --bench durable            # both backends
//! cargo bench -p skillcore-events-store --bench durable -- sqlite  # one backend
//! ```
//!
//! Prints, per backend: publishes per second, one event per call (one publisher
//! awaiting each, and 32 publishers at once; on PostgreSQL the awaited ones also
//! with asynchronous commit) and in batches of 100; end-to-end
//! drain of 50,000 stored events with 3 no-op handlers each at several worker
//! concurrencies (and, on PostgreSQL, 4 workers of concurrency 32 and 128); publish-to-handled latency at a
//! steady 2,000 events/s offered for 10 s. Publish figures are the median of 3
//! runs; each drain runs once (150,000 deliveries). `BENCH_ONLY=publish|drain|latency`
//! runs one part (`single`: only the awaited single publishes, and on PostgreSQL
//! the floor under them: a plain one-row `INSERT` committed per call on the same
//! pool, alternated with them), `BENCH_DRAIN=N` drains N events instead of 50,000,
//! `BENCH_CONCURRENCY=8,32,128` chooses the drain concurrencies, `BENCH_PREFETCH=N` their prefetch, `BENCH_SINGLE=N` the number of awaited single publishes (3,000). PostgreSQL comes from `SKILLCORE_TEST_PG` (default
//! `postgres://postgres@127.0.0.1:5432/test`), in a fresh schema.

use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::{Envelope, EventBus, HandlerOptions, Metadata};
use skillcore_events_store::{Durable, PostgresCommit, Scope, Store};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod events {
    skillcore_events::catalog!("../catalog");
}
use events::{gradebook, LetterGrade};

fn grade(n: u64) -> Envelope<gradebook::GradePosted> {
    Envelope::new(
        gradebook::GradePosted {
            result_id: skillcore_events::uuid::Uuid::from_u64_pair(n, n),
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

#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
    /// PostgreSQL with [`PostgresCommit::Asynchronous`]: for the awaited single
    /// publish only.
    PostgresAsync,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::PostgresAsync => "postgres, asynchronous commit",
        }
    }

    async fn fresh(self) -> Store {
        match self {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!(
                    "skc-bench-{}-{}",
                    std::process::id(),
                    skillcore_events::uuid::Uuid::now_v7().simple()
                ));
                std::fs::create_dir_all(&dir).unwrap();
                DIRS.lock().unwrap().push(dir.clone());
                Store::sqlite(dir.join("events.db")).await.unwrap()
            }
            Backend::Postgres | Backend::PostgresAsync => {
                let url = pg_url();
                let schema = format!(
                    "skc_bench_{}",
                    skillcore_events::uuid::Uuid::now_v7().simple()
                );
                let commit = match self {
                    Backend::PostgresAsync => PostgresCommit::Asynchronous,
                    _ => PostgresCommit::Flushed,
                };
                let store = Store::postgres_with(&url, Some(&schema), commit)
                    .await
                    .unwrap();
                SCHEMAS.lock().unwrap().push(schema);
                store
            }
        }
    }
}

/// The PostgreSQL server: `SKILLCORE_TEST_PG`, or the local one.
fn pg_url() -> String {
    std::env::var("SKILLCORE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// PostgreSQL schemas and SQLite folders made by this run, removed at its end.
static SCHEMAS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static DIRS: Mutex<Vec<std::path::PathBuf>> = Mutex::new(Vec::new());

/// Removes the run's SQLite folders and PostgreSQL schemas.
async fn clean_up() {
    for dir in std::mem::take(&mut *DIRS.lock().unwrap()) {
        let _ = std::fs::remove_dir_all(dir);
    }
    let schemas = std::mem::take(&mut *SCHEMAS.lock().unwrap());
    if schemas.is_empty() {
        return;
    }
    let Ok(admin) = Store::postgres(&pg_url(), None).await else {
        return;
    };
    let pool = admin.postgres_pool().expect("a PostgreSQL store");
    for schema in schemas {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
        )))
        .execute(pool)
        .await;
    }
}

type Latencies = Arc<Mutex<Vec<Duration>>>;

/// A bus with three no-op handlers; `lat` collects publish-to-handled times of
/// the first one.
fn bus(store: &Store, run_workers: bool, concurrency: usize, lat: Option<Latencies>) -> EventBus {
    bus_with(store, run_workers, concurrency, None, lat)
}

/// [`bus`] with a chosen prefetch (deliveries claimed ahead of free slots).
fn bus_with(
    store: &Store,
    run_workers: bool,
    concurrency: usize,
    prefetch: Option<usize>,
    lat: Option<Latencies>,
) -> EventBus {
    let opts = HandlerOptions::new();
    let b = EventBus::builder()
        .subscribe_with::<gradebook::GradePosted, _, _>(
            "analytics.update_gpa",
            opts,
            move |e, _cx| {
                let lat = lat.clone();
                async move {
                    if let Some(l) = lat {
                        let waited = (Utc::now() - e.occurred_at).to_std().unwrap_or_default();
                        l.lock().unwrap().push(waited);
                    }
                    Ok(())
                }
            },
        )
        .subscribe_with::<gradebook::GradePosted, _, _>(
            "notifications.send",
            opts,
            |_e, _cx| async { Ok(()) },
        )
        .subscribe_with::<gradebook::GradePosted, _, _>(
            "interventions.check",
            opts,
            |_e, _cx| async { Ok(()) },
        );
    let mut durable = Durable::store(store.clone())
        .run_workers(run_workers)
        .concurrency(concurrency)
        .idle_poll(Duration::from_millis(50));
    if let Some(n) = prefetch {
        durable = durable.prefetch(n);
    }
    b.backend(durable).build().unwrap()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

async fn publish_single(backend: Backend, n: u64) -> f64 {
    let store = backend.fresh().await;
    let bus = bus(&store, false, 1, None);
    let start = Instant::now();
    for i in 0..n {
        bus.publish(grade(i)).await.unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// The floor under an awaited flushed publish on PostgreSQL: a plain one-row
/// `INSERT` (the payload's JSON as text, a primary key and nothing else)
/// committed per call, on a store's own pool, so with the same connection
/// settings (`synchronous_commit` as the store sets it).
async fn insert_floor(backend: Backend, n: u64) -> f64 {
    let store = backend.fresh().await;
    let pool = store.postgres_pool().expect("a PostgreSQL store");
    sqlx::raw_sql("CREATE TABLE floor_probe (id bigint PRIMARY KEY, body text NOT NULL)")
        .execute(pool)
        .await
        .unwrap();
    let body = serde_json::to_string(&grade(0).payload).unwrap();
    let start = Instant::now();
    for i in 0..n {
        sqlx::query("INSERT INTO floor_probe (id, body) VALUES ($1, $2)")
            .bind(i as i64)
            .bind(&body)
            .execute(pool)
            .await
            .unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Single publishes (one event per call, each call all-or-nothing) from
/// `tasks` publishers at once: what a service handling many requests does.
async fn publish_concurrent(backend: Backend, n: u64, tasks: u64) -> f64 {
    let store = backend.fresh().await;
    let bus = bus(&store, false, 1, None);
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for t in 0..tasks {
        let bus = bus.clone();
        set.spawn(async move {
            let mut i = t;
            while i < n {
                bus.publish(grade(i)).await.unwrap();
                i += tasks;
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    let stored = store
        .read_after(
            &skillcore_events_store::Scope::AllDistricts,
            Default::default(),
            n as u32 + 1,
        )
        .await
        .unwrap()
        .0
        .len();
    assert_eq!(stored, n as usize, "every publish stored");
    rate
}

async fn publish_batched(backend: Backend, n: u64) -> f64 {
    let store = backend.fresh().await;
    let bus = bus(&store, false, 1, None);
    let start = Instant::now();
    let mut i = 0;
    while i < n {
        let batch: Vec<_> = (i..(i + 100).min(n)).map(grade).collect();
        i += batch.len() as u64;
        bus.publish_all(batch).await.unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Publishes `n` events, then times `workers` worker loops (each its own bus,
/// as separate worker processes would be) handling every delivery.
async fn drain(
    backend: Backend,
    n: u64,
    workers: usize,
    concurrency: usize,
    prefetch: Option<usize>,
) -> f64 {
    let store = backend.fresh().await;
    {
        let publisher = bus(&store, false, 1, None);
        let mut i = 0;
        while i < n {
            let batch: Vec<_> = (i..(i + 500).min(n)).map(grade).collect();
            i += batch.len() as u64;
            publisher.publish_all(batch).await.unwrap();
        }
    }
    let start = Instant::now();
    let buses: Vec<EventBus> = (0..workers)
        .map(|_| bus_with(&store, true, concurrency, prefetch, None))
        .collect();
    buses[0].idle().await;
    let rate = n as f64 / start.elapsed().as_secs_f64();
    for b in &buses {
        b.shutdown(Duration::from_secs(10)).await;
    }
    let stats = store.stats(&Scope::AllDistricts).await.unwrap();
    assert!(
        stats.iter().all(|s| s.completed == n as i64),
        "not all handled: {stats:?}"
    );
    rate
}

async fn latency(backend: Backend, rate: u64, seconds: u64) -> (Duration, Duration, usize) {
    let store = backend.fresh().await;
    let lat: Latencies = Arc::default();
    let bus = bus(&store, true, 32, Some(lat.clone()));
    let total = rate * seconds;
    let start = Instant::now();
    let mut sent = 0;
    while sent < total {
        // Keep to the offered rate: publish what is due by now.
        let due = ((start.elapsed().as_secs_f64() * rate as f64) as u64).min(total);
        while sent < due {
            bus.publish(grade(sent)).await.unwrap();
            sent += 1;
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    bus.idle().await;
    bus.shutdown(Duration::from_secs(10)).await;
    let mut v = lat.lock().unwrap().clone();
    v.sort();
    let p = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
    (p(0.5), p(0.99), v.len())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let only: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let backends = [Backend::Sqlite, Backend::Postgres]
        .into_iter()
        .filter(|b| only.as_deref().is_none_or(|o| o == b.name()));
    // BENCH_ONLY=publish|drain|latency runs one part; BENCH_DRAIN=N changes the
    // number of events drained (default 50,000).
    let part = std::env::var("BENCH_ONLY").unwrap_or_default();
    let wants = |p: &str| part.is_empty() || part == p;
    let drain_n: u64 = std::env::var("BENCH_DRAIN")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(50_000);
    let single_n: u64 = std::env::var("BENCH_SINGLE")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3000);
    for b in backends {
        let name = b.name();
        if wants("publish") || part == "single" {
            // On PostgreSQL, also with asynchronous commit.
            let modes: &[Backend] = match b {
                Backend::Postgres => &[Backend::Postgres, Backend::PostgresAsync],
                _ => &[b],
            };
            for &m in modes {
                if matches!(m, Backend::Postgres) {
                    // The floor and the publish alternated, A B A B A B.
                    let (mut floor, mut publish) = (Vec::new(), Vec::new());
                    for _ in 0..3 {
                        floor.push(insert_floor(m, single_n).await);
                        publish.push(publish_single(m, single_n).await);
                    }
                    let (f, p) = (median(floor), median(publish));
                    println!(
                        "{}: publish, 1 event per call, one publisher awaiting each: {p:.0} events/s (median of 3); a plain one-row INSERT committed per call on the same pool: {f:.0}/s; publish / INSERT = {:.2}",
                        m.name(),
                        p / f
                    );
                    continue;
                }
                let single = median(vec![
                    publish_single(m, single_n).await,
                    publish_single(m, single_n).await,
                    publish_single(m, single_n).await,
                ]);
                println!(
                    "{}: publish, 1 event per call, one publisher awaiting each: {single:.0} events/s (median of 3)",
                    m.name()
                );
            }
        }
        if wants("publish") {
            let concurrent = median(vec![
                publish_concurrent(b, 10_000, 32).await,
                publish_concurrent(b, 10_000, 32).await,
                publish_concurrent(b, 10_000, 32).await,
            ]);
            println!(
                "{name}: publish, 1 event per call, 32 publishers at once: {concurrent:.0} events/s (median of 3)"
            );
            let batched = median(vec![
                publish_batched(b, 20_000).await,
                publish_batched(b, 20_000).await,
                publish_batched(b, 20_000).await,
            ]);
            println!("{name}: publish, batches of 100: {batched:.0} events/s (median of 3)");
        }
        if wants("drain") {
            let concurrencies: Vec<usize> = std::env::var("BENCH_CONCURRENCY")
                .ok()
                .map(|v| v.split(',').filter_map(|c| c.trim().parse().ok()).collect())
                .unwrap_or_else(|| vec![8, 32, 128]);
            let prefetch: Option<usize> = std::env::var("BENCH_PREFETCH")
                .ok()
                .and_then(|p| p.parse().ok());
            let with = prefetch
                .map(|p| format!(", prefetch {p}"))
                .unwrap_or_default();
            for c in concurrencies {
                let rate = drain(b, drain_n, 1, c, prefetch).await;
                println!(
                    "{name}: drain {drain_n} events x 3 handlers, concurrency {c}{with}: {rate:.0} events/s"
                );
            }
            let rate = drain(b, drain_n, 1, 128, Some(256)).await;
            println!(
                "{name}: drain {drain_n} events x 3 handlers, concurrency 128, prefetch 256: {rate:.0} events/s"
            );
        }
        if wants("drain") && matches!(b, Backend::Postgres) {
            for c in [32, 128] {
                let rate = drain(b, drain_n, 4, c, None).await;
                println!(
                    "{name}: drain {drain_n} events x 3 handlers, 4 workers of concurrency {c}: {rate:.0} events/s"
                );
            }
        }
        if wants("latency") {
            let (p50, p99, n) = latency(b, 2000, 10).await;
            println!(
                "{name}: publish-to-handled at 2,000 events/s for 10 s ({n} events): p50 {p50:.2?}, p99 {p99:.2?}"
            );
        }
    }
    clean_up().await;
}
