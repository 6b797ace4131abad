//! Flat as the store grows (issue 16 §3), on SQLite and PostgreSQL: one store
//! filled step by step to each size of `BENCH_SIZES` events (default
//! `0,1000000,10000000`; each event with 3 deliveries, done as a worker
//! leaves them), and at each size the same measurements:
//!
//! - publish: 1,000 awaited single publishes, then 20,000 in batches of 100;
//! - drain: those 21,000 events (63,000 deliveries) by one worker of
//!   concurrency 32, three no-op handlers; publish and drain three times,
//!   the median of each kept;
//! - the scoped queries, each the median of 15 runs: the events of one
//!   aggregate, of one type in the time range of the 1,000 single publishes,
//!   of one type with a payload field equal to a value (one event's
//!   `resultId`: one match; median of 5); `queue stats`; the first 50 dead
//!   letters (100 are kept); the start of a replay of one type since this
//!   size's first publish (63,000 events) to one handler (median of 5, each
//!   cancelled).
//!
//! ```sh
//! cargo bench -p skillcore-events-store --bench scale -- sqlite
//! BENCH_SIZES=0,1000000 cargo bench -p skillcore-events-store --bench scale
//! BENCH_RSS=1000000 cargo bench -p skillcore-events-store --bench scale -- sqlite
//! ```
//!
//! Events are filled by SQL, as `benches/retention.rs` does (the routing and
//! payload a publish of `gradebook.grade.posted` stores, 10 districts, 500
//! students, a correlation id per 4 events), two days old, so that the time
//! ranges hold only what the bench publishes. On PostgreSQL the filled
//! deliveries are inserted done, past the store's statements, so the counters
//! are rebuilt after each fill (`Store::rebuild_counters`, not timed).
//!
//! The payload field searched, `resultId`, has an index of its own
//! (`Store::create_field_index`, made on the empty store before the first
//! fill, so every publish and fill pays for it); `BENCH_FIELD_INDEX=0` leaves
//! it out, and the search then reads every event of the type.
//!
//! `BENCH_RSS=N` instead publishes N events to a fresh store and reports the
//! resident memory (`VmRSS`) of this process, the worker, before the drain
//! and as it passes each half of them.
//!
//! The store and schema are deleted at the end (kept, and named, with
//! `BENCH_KEEP=1`). PostgreSQL comes from
//! `SKILLCORE_TEST_PG` (default `postgres://postgres@127.0.0.1:5432/test`).

use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::{Envelope, EventBus, HandlerOptions, Metadata};
use skillcore_events_store::{Durable, ReplayFilter, Scope, Store};
use std::future::Future;
use std::time::{Duration, Instant};

mod events {
    skillcore_events::catalog!("../catalog");
}
use events::{gradebook, LetterGrade};

const CHUNK: i64 = 100_000;
const TYPE: &str = "gradebook.grade.posted";

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
            district_id: "dst-1".into(),
            school_id: "sch-333".into(),
            comment: None,
        },
        Metadata::new("dst-1", "sch-333").with_user("tch-111"),
    )
}

fn env_list(name: &str, default: &[i64]) -> Vec<i64> {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.split(',')
                .filter_map(|x| x.trim().replace('_', "").parse().ok())
                .collect()
        })
        .unwrap_or_else(|| default.to_vec())
}

fn pg_url() -> String {
    std::env::var("SKILLCORE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The SQLite fill of events `?1 ..= ?2` (the publish trigger queues their
/// deliveries), then their deliveries marked done as a worker leaves them.
const SQLITE_FILL: &str = r#"
WITH RECURSIVE n(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
INSERT INTO skc_events (id, event_type, aggregate_type, aggregate_id, district_id,
                        payload, metadata, version, occurred_at, handlers)
SELECT printf('%08x-0000-7000-8000-%012x', i, i),
       'gradebook.grade.posted', 'Result', printf('0000%04x-0000-0000-0000-%012x', i % 65536, i),
       printf('dst-%d', i % 10),
       json_object('resultId', printf('0000%04x-0000-0000-0000-%012x', i % 65536, i),
                   'lineItemId', 'li-456', 'studentId', printf('stu-%d', i % 500),
                   'classId', 'cls-101', 'pointsEarned', 42.5, 'pointsPossible', 100.0,
                   'scorePercent', 85.0, 'letterGrade', 'B', 'previousScore', NULL,
                   'gradedById', 'tch-111', 'postedAt', '2025-11-17T14:03:00Z',
                   'districtId', printf('dst-%d', i % 10), 'schoolId', 'sch-333', 'comment', NULL),
       json_object('districtId', printf('dst-%d', i % 10), 'schoolId', 'sch-333',
                   'userId', 'tch-111', 'correlationId', printf('corr-%d', i / 4)),
       1, strftime('%Y-%m-%dT%H:%M:%f', 'now', '-2 days') || '000Z',
       '[["analytics.update_gpa",false],["notifications.send",false],["interventions.check",false]]'
FROM n"#;

const SQLITE_DONE: &str = "UPDATE skc_deliveries
    SET status = 'done', attempts = 1, lease_owner = 'w-1:1f3a', updated_at = ?3 - 86400000000 + id
    WHERE event_seq BETWEEN ?1 AND ?2";

/// The PostgreSQL fill of events `$1 ..= $2`, with their deliveries done a
/// day before `$3`.
const POSTGRES_FILL: &str = r#"
WITH e AS (
  INSERT INTO skc_events (id, event_type, aggregate_type, aggregate_id, district_id,
                          payload, metadata, version, occurred_at, handlers)
  SELECT (lpad(to_hex(i), 8, '0') || '-0000-7000-8000-' || lpad(to_hex(i), 12, '0'))::uuid,
         'gradebook.grade.posted', 'Result',
         '0000' || lpad(to_hex(i % 65536), 4, '0') || '-0000-0000-0000-' || lpad(to_hex(i), 12, '0'),
         'dst-' || (i % 10),
         jsonb_build_object('resultId', '0000' || lpad(to_hex(i % 65536), 4, '0') || '-0000-0000-0000-' || lpad(to_hex(i), 12, '0'),
                   'lineItemId', 'li-456', 'studentId', 'stu-' || (i % 500),
                   'classId', 'cls-101', 'pointsEarned', 42.5, 'pointsPossible', 100.0,
                   'scorePercent', 85.0, 'letterGrade', 'B', 'previousScore', NULL,
                   'gradedById', 'tch-111', 'postedAt', '2025-11-17T14:03:00Z',
                   'districtId', 'dst-' || (i % 10), 'schoolId', 'sch-333', 'comment', NULL),
         jsonb_build_object('districtId', 'dst-' || (i % 10), 'schoolId', 'sch-333',
                   'userId', 'tch-111', 'correlationId', 'corr-' || (i / 4)),
         1, now() - interval '2 days',
         '[["analytics.update_gpa",false],["notifications.send",false],["interventions.check",false]]'::jsonb
  FROM generate_series($1::bigint, $2::bigint) AS i
  RETURNING seq
)
INSERT INTO skc_deliveries (event_seq, handler_id, status, attempts, available_at, lease_owner, updated_at)
SELECT e.seq, h, 'done', 1, $3 - 86400000000, 'w-1:1f3a', $3 - 86400000000 + e.seq * 3
FROM e, unnest(ARRAY['analytics.update_gpa', 'notifications.send', 'interventions.check']) AS h"#;

/// 100 dead letters among the newest done deliveries, once.
const MAKE_DEAD: &str =
    "UPDATE skc_deliveries SET status = 'dead', last_error = 'grade 42 failed: timeout'
    WHERE id IN (SELECT id FROM skc_deliveries WHERE status = 'done' ORDER BY id DESC LIMIT 100)";

async fn exec(store: &Store, sql: &'static str, binds: &[i64]) {
    if let Some(pool) = store.sqlite_pool() {
        let mut q = sqlx::query(sql);
        for b in binds {
            q = q.bind(*b);
        }
        q.execute(pool).await.unwrap();
    } else {
        let mut q = sqlx::query(sql);
        for b in binds {
            q = q.bind(*b);
        }
        q.execute(store.postgres_pool().unwrap()).await.unwrap();
    }
}

/// Events `from ..= to` filled by SQL, in chunks.
async fn fill(store: &Store, from: i64, to: i64) {
    let now = Utc::now().timestamp_micros();
    let mut a = from;
    while a <= to {
        let b = (a + CHUNK - 1).min(to);
        if store.sqlite_pool().is_some() {
            exec(store, SQLITE_FILL, &[a, b]).await;
            exec(store, SQLITE_DONE, &[a, b, now]).await;
        } else {
            exec(store, POSTGRES_FILL, &[a, b, now]).await;
        }
        a = b + 1;
    }
}

fn bus(store: &Store, run_workers: bool) -> EventBus {
    let opts = HandlerOptions::new();
    let durable = Durable::store(store.clone())
        .run_workers(run_workers)
        .concurrency(32)
        .idle_poll(Duration::from_millis(50));
    EventBus::builder()
        .subscribe_with::<gradebook::GradePosted, _, _>(
            "analytics.update_gpa",
            opts,
            |_e, _cx| async { Ok(()) },
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
        )
        .backend(durable)
        .build()
        .unwrap()
}

/// The median of `runs` timings of `f`, in milliseconds.
async fn time_ms<F, Fut>(runs: usize, mut f: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut v = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f().await;
        v.push(t.elapsed().as_secs_f64() * 1e3);
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One size's figures, by row name.
type Figures = Vec<(&'static str, f64)>;

async fn measure(store: &Store, next: &mut u64) -> Figures {
    let mut out = Figures::new();
    // Three rounds of publish and drain, the median of each kept: the host
    // swings more between runs than the store does between sizes. The time
    // range of the queries below is that of the first round's single
    // publishes, the replay's that round on.
    let (mut single, mut batched, mut drained) = (Vec::new(), Vec::new(), Vec::new());
    let mut range = None;
    for _ in 0..3 {
        let publisher = bus(store, false);
        let from = Utc::now();
        let t = Instant::now();
        for _ in 0..1_000 {
            publisher.publish(grade(*next)).await.unwrap();
            *next += 1;
        }
        single.push(1_000.0 / t.elapsed().as_secs_f64());
        range.get_or_insert((from, Utc::now()));
        let t = Instant::now();
        for _ in 0..200 {
            let batch: Vec<_> = (*next..*next + 100).map(grade).collect();
            *next += 100;
            publisher.publish_all(batch).await.unwrap();
        }
        batched.push(20_000.0 / t.elapsed().as_secs_f64());
        drop(publisher);
        let t = Instant::now();
        let worker = bus(store, true);
        worker.idle().await;
        drained.push(21_000.0 / t.elapsed().as_secs_f64());
        worker.shutdown(Duration::from_secs(10)).await;
    }
    let (from, to) = range.unwrap();
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    out.push(("publish, awaited single (events/s)", median(single)));
    out.push(("publish, batches of 100 (events/s)", median(batched)));
    out.push((
        "drain 21,000 events, concurrency 32 (events/s)",
        median(drained),
    ));

    let all = Scope::AllDistricts;
    let dead = store.dead_letters(&all, None, 1).await.unwrap();
    if dead.is_empty() {
        exec(store, MAKE_DEAD, &[]).await;
        if store.postgres_pool().is_some() {
            store.rebuild_counters().await.unwrap();
        }
    }
    let stats = store.stats(&all).await.unwrap();
    assert_eq!(
        stats,
        store.recount_stats(&all).await.unwrap(),
        "the counters agree"
    );

    // A filled aggregate (or, at size 0, one the bench published).
    let (agg_type, agg_id) = {
        let e = store
            .read_after(&all, Default::default(), 1)
            .await
            .unwrap()
            .0;
        (
            e[0].event.aggregate_type.clone(),
            e[0].event.aggregate_id.clone(),
        )
    };
    let n = time_ms(15, || async {
        assert!(!store
            .aggregate_events(&all, &agg_type, &agg_id)
            .await
            .unwrap()
            .is_empty());
    })
    .await;
    out.push(("events of one aggregate (ms)", n));
    let n = time_ms(15, || async {
        let e = store.events_by_type(&all, TYPE, from, to).await.unwrap();
        assert_eq!(e.len(), 1_000);
    })
    .await;
    out.push(("events of one type in a time range: 1,000 (ms)", n));
    // One event's result id: one match, however big the store.
    let result = grade(*next - 1).payload.result_id.to_string();
    let n = time_ms(5, || async {
        let e = store
            .events_by_field(&all, TYPE, "resultId", &result)
            .await
            .unwrap();
        assert_eq!(e.len(), 1);
    })
    .await;
    out.push(("events of one type by payload field (ms)", n));
    let n = time_ms(15, || async {
        assert_eq!(store.stats(&all).await.unwrap().len(), 3);
    })
    .await;
    out.push(("queue stats (ms)", n));
    let n = time_ms(15, || async {
        assert_eq!(store.dead_letters(&all, None, 50).await.unwrap().len(), 50);
    })
    .await;
    out.push(("dead letters, first 50 (ms)", n));
    let filter = ReplayFilter {
        event_type: Some(TYPE.into()),
        since: Some(from),
    };
    let n = time_ms(5, || async {
        let (_, queued) = store
            .replay(&all, "analytics.update_gpa", &filter)
            .await
            .unwrap();
        assert_eq!(queued, 63_000);
        store
            .cancel_replay(&all, "analytics.update_gpa", None)
            .await
            .unwrap();
    })
    .await;
    out.push(("replay start, one type since a time: 63,000 (ms)", n));
    out
}

async fn fresh(backend: &str) -> (Store, Option<std::path::PathBuf>, Option<String>) {
    if backend == "sqlite" {
        let dir = std::env::temp_dir().join(format!(
            "skc-scale-{}",
            skillcore_events::uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::sqlite(dir.join("events.db")).await.unwrap();
        (store, Some(dir), None)
    } else {
        let schema = format!(
            "skc_scale_{}",
            skillcore_events::uuid::Uuid::now_v7().simple()
        );
        let store = Store::postgres(&pg_url(), Some(&schema)).await.unwrap();
        (store, None, Some(schema))
    }
}

async fn clean_up(dir: Option<std::path::PathBuf>, schema: Option<String>) {
    if let Some(dir) = dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    if let Some(schema) = schema {
        if let Ok(admin) = Store::postgres(&pg_url(), None).await {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
            )))
            .execute(admin.postgres_pool().unwrap())
            .await;
        }
    }
}

async fn grow(backend: &str, sizes: &[i64]) {
    let (store, dir, schema) = fresh(backend).await;
    if std::env::var("BENCH_FIELD_INDEX").map_or(true, |v| v != "0") {
        let index = store
            .create_field_index(TYPE, "resultId")
            .await
            .expect("the field index is made");
        eprintln!("{backend}: field index {} on {TYPE}.resultId", index.index);
    } else {
        eprintln!("{backend}: no field index (BENCH_FIELD_INDEX=0)");
    }
    let mut filled = 0;
    let mut next = 1u64 << 40;
    let mut table: Vec<(i64, Figures)> = Vec::new();
    for &size in sizes {
        if size > filled {
            let t = Instant::now();
            fill(&store, filled + 1, size).await;
            if let Some(pool) = store.sqlite_pool() {
                // The fill's log copied back, so that the measurements do
                // not pay for it.
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(pool)
                    .await
                    .unwrap();
            }
            if let Some(pool) = store.postgres_pool() {
                store.rebuild_counters().await.unwrap();
                sqlx::raw_sql("VACUUM ANALYZE skc_events, skc_deliveries")
                    .execute(pool)
                    .await
                    .unwrap();
            }
            eprintln!(
                "{backend}: filled {} events in {:.0} s",
                size - filled,
                t.elapsed().as_secs_f64()
            );
            filled = size;
        }
        let figures = measure(&store, &mut next).await;
        for (row, v) in &figures {
            println!("{backend} at {size} events: {row}: {v:.2}");
        }
        table.push((size, figures));
    }
    println!("\n{backend}: row | {} | last / first", {
        let s: Vec<String> = table.iter().map(|(n, _)| n.to_string()).collect();
        s.join(" | ")
    });
    for (i, (row, _)) in table[0].1.iter().enumerate() {
        let v: Vec<f64> = table.iter().map(|(_, f)| f[i].1).collect();
        let cells: Vec<String> = v.iter().map(|x| format!("{x:.2}")).collect();
        println!(
            "{backend}: {row} | {} | {:.2}",
            cells.join(" | "),
            v[v.len() - 1] / v[0]
        );
    }
    drop(store);
    if std::env::var("BENCH_KEEP").is_ok_and(|v| v == "1") {
        eprintln!("{backend}: kept (BENCH_KEEP=1): {dir:?} {schema:?}");
        return;
    }
    clean_up(dir, schema).await;
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

async fn rss(backend: &str, n: u64) {
    let (store, dir, schema) = fresh(backend).await;
    {
        let publisher = bus(&store, false);
        let mut i = 0;
        while i < n {
            let batch: Vec<_> = (i..(i + 500).min(n)).map(grade).collect();
            i += batch.len() as u64;
            publisher.publish_all(batch).await.unwrap();
        }
    }
    println!(
        "{backend}: RSS with {n} events stored, before the drain: {} kB",
        rss_kb()
    );
    let t = Instant::now();
    let worker = bus(&store, true);
    let all = Scope::AllDistricts;
    let mut marks = vec![n / 2, n];
    let mut peak = 0;
    while !marks.is_empty() {
        tokio::time::sleep(Duration::from_millis(250)).await;
        peak = peak.max(rss_kb());
        let done = store
            .stats(&all)
            .await
            .unwrap()
            .iter()
            .map(|s| s.completed as u64)
            .min()
            .unwrap_or(0);
        while marks.first().is_some_and(|m| done >= *m) {
            println!(
                "{backend}: RSS at {} events handled: {} kB (peak so far {peak} kB, {:.0} s)",
                marks[0],
                rss_kb(),
                t.elapsed().as_secs_f64()
            );
            marks.remove(0);
        }
    }
    worker.shutdown(Duration::from_secs(10)).await;
    drop(store);
    clean_up(dir, schema).await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let backends: Vec<&str> = ["sqlite", "postgres"]
        .into_iter()
        .filter(|b| !args.iter().any(|a| !a.starts_with('-')) || args.iter().any(|a| a == b))
        .collect();
    let rss_n = env_list("BENCH_RSS", &[]);
    for backend in backends {
        if let Some(n) = rss_n.first() {
            rss(backend, *n as u64).await;
        } else {
            grow(
                backend,
                &env_list("BENCH_SIZES", &[0, 1_000_000, 10_000_000]),
            )
            .await;
        }
    }
}
