//! Bounded storage (issue 16 §4), on SQLite and PostgreSQL: bytes on disk per
//! stored event with its 3 done deliveries and once they are pruned, and the
//! throughput of concurrent publishers with and without a retention pass
//! running over the store's done deliveries (A B A B).
//!
//! ```sh
//! cargo bench -p skillcore-events-store --bench retention            # both backends
//! cargo bench -p skillcore-events-store --bench retention -- sqlite  # one backend
//! ```
//!
//! `BENCH_EVENTS=N` events are filled by SQL (default 3,333,334: 10 million
//! done deliveries), each with the routing and payload a publish of
//! `gradebook.grade.posted` stores and 3 deliveries done a day ago (as a
//! worker leaves them: attempts 1, lease owner kept). Then
//! `BENCH_ROUNDS` (2) rounds of A (32 publishers appending one event of 3
//! handlers each, in a loop, for `BENCH_WINDOW` seconds, 20) and B (the same
//! with `Store::retain` running the default policy, keep 1 hour: batches of
//! 1,000, 50 ms apart). Then the rest of the pass at full speed (batches of
//! 10,000, no pause), the publishers' deliveries marked done and pruned too,
//! and the sizes again (SQLite: pages × page size, and the file; PostgreSQL:
//! `pg_total_relation_size` of the tables, after a plain `VACUUM` and after
//! `VACUUM FULL`). The store is deleted at the end. PostgreSQL comes from
//! `SKILLCORE_TEST_PG` (default `postgres://postgres@127.0.0.1:5432/test`),
//! in a fresh schema.

use serde_json::json;
use skillcore_events_store::{NewEvent, Retention, Store, Subscriber};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const HANDLERS: [&str; 3] = [
    "analytics.update_gpa",
    "interventions.check_failing_grade",
    "notifications.send_grade_notification",
];
const DAY_US: i64 = 86_400_000_000;
const CHUNK: i64 = 100_000;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn pg_url() -> String {
    std::env::var("SKILLCORE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// The SQLite fill of events `?1 ..= ?2`: the publish trigger queues their
/// deliveries from `handlers`, as a publish does; the bench then marks them
/// done as a worker leaves them.
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
       '[["analytics.update_gpa",false],["interventions.check_failing_grade",false],["notifications.send_grade_notification",false]]'
FROM n"#;

/// Marks the deliveries of events `?1 ..= ?2` done a day before `?3`, in id
/// order.
const SQLITE_DONE: &str = "UPDATE skc_deliveries
    SET status = 'done', attempts = 1, lease_owner = 'w-1:1f3a', updated_at = ?3 - 86400000000 + id
    WHERE event_seq BETWEEN ?1 AND ?2";

/// The PostgreSQL fill of events `$1 ..= $2`, with their deliveries done a
/// day before `$3`, as the publish statement and a worker leave them.
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
         '[["analytics.update_gpa",false],["interventions.check_failing_grade",false],["notifications.send_grade_notification",false]]'::jsonb
  FROM generate_series($1::bigint, $2::bigint) AS i
  RETURNING seq
)
INSERT INTO skc_deliveries (event_seq, handler_id, status, attempts, available_at, lease_owner, updated_at)
SELECT e.seq, h, 'done', 1, $3 - 86400000000, 'w-1:1f3a', $3 - 86400000000 + e.seq * 3
FROM e, unnest(ARRAY['analytics.update_gpa', 'interventions.check_failing_grade',
                     'notifications.send_grade_notification']) AS h"#;

/// An event as the publishers append it.
fn new_event(n: u64) -> NewEvent {
    let result = skillcore_events::uuid::Uuid::from_u64_pair(n, n).to_string();
    NewEvent {
        id: skillcore_events::uuid::Uuid::now_v7(),
        event_type: "gradebook.grade.posted".into(),
        aggregate_type: "Result".into(),
        aggregate_id: result.clone(),
        version: 1,
        occurred_at: chrono::Utc::now(),
        metadata: json!({"districtId": "dst-222", "schoolId": "sch-333", "userId": "tch-111"}),
        payload: json!({
            "resultId": result, "lineItemId": "li-456", "studentId": format!("stu-{}", n % 500),
            "classId": "cls-101", "pointsEarned": 42.5, "pointsPossible": 100.0,
            "scorePercent": 85.0, "letterGrade": "B", "previousScore": null,
            "gradedById": "tch-111", "postedAt": "2025-11-17T14:03:00Z",
            "districtId": "dst-222", "schoolId": "sch-333", "comment": null
        }),
    }
}

fn subscribers(_: &str) -> Vec<Subscriber<'static>> {
    HANDLERS
        .iter()
        .map(|h| Subscriber {
            handler_id: h,
            ordered: false,
        })
        .collect()
}

/// 32 publishers appending one event each in a loop for `window`; events/s.
async fn publish_for(store: &Store, window: Duration, next: &Arc<AtomicU64>) -> f64 {
    let deadline = Instant::now() + window;
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (store, done, next) = (store.clone(), done.clone(), next.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let e = new_event(next.fetch_add(1, Ordering::Relaxed));
                    store.append(&[e], subscribers).await.expect("append");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn range(v: &[f64]) -> String {
    let min = v.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = v.iter().cloned().fold(0.0, f64::max);
    format!("{:.0} [{min:.0}-{max:.0}]", median(v))
}

/// One number from `sql` on the store's database.
async fn scalar(store: &Store, sql: &str) -> i64 {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    match (store.sqlite_pool(), store.postgres_pool()) {
        (Some(pool), _) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        (_, Some(pool)) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        _ => unreachable!(),
    }
}

async fn exec(store: &Store, sql: &str) {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    match (store.sqlite_pool(), store.postgres_pool()) {
        (Some(pool), _) => drop(sqlx::raw_sql(sql).execute(pool).await.unwrap()),
        (_, Some(pool)) => drop(sqlx::raw_sql(sql).execute(pool).await.unwrap()),
        _ => unreachable!(),
    }
}

async fn fill(store: &Store, n: i64) {
    let now = now_us();
    let mut from = 1;
    while from <= n {
        let to = (from + CHUNK - 1).min(n);
        if let Some(pool) = store.sqlite_pool() {
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
            sqlx::query(SQLITE_FILL)
                .bind(from)
                .bind(to)
                .execute(&mut *tx)
                .await
                .unwrap();
            sqlx::query(SQLITE_DONE)
                .bind(from)
                .bind(to)
                .bind(now)
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        } else {
            sqlx::query(POSTGRES_FILL)
                .bind(from)
                .bind(to)
                .bind(now)
                .execute(store.postgres_pool().unwrap())
                .await
                .unwrap();
        }
        from = to + 1;
    }
}

fn kb(bytes: u64, events: i64) -> String {
    format!(
        "{:.0} MB, {:.0} bytes/event",
        bytes as f64 / 1e6,
        bytes as f64 / events as f64
    )
}

/// Bytes per table and index.
const SQLITE_SIZES: &str = "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC";
const POSTGRES_SIZES: &str = "SELECT c.relname::text, pg_relation_size(c.oid)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i', 't')
    UNION ALL
    SELECT 'toast of ' || c.relname, pg_total_relation_size(c.reltoastrelid)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.reltoastrelid <> 0
    ORDER BY 2 DESC";

/// Where the bytes are, per event.
async fn breakdown(store: &Store, sql: &str, events: i64) {
    let rows: Vec<(String, i64)> = match (store.sqlite_pool(), store.postgres_pool()) {
        (Some(pool), _) => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(pool)
            .await
            .unwrap(),
        (_, Some(pool)) => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(pool)
            .await
            .unwrap(),
        _ => unreachable!(),
    };
    let parts: Vec<String> = rows
        .iter()
        .filter(|(_, b)| *b as f64 / events as f64 >= 1.0)
        .map(|(name, b)| format!("{name} {:.0}", *b as f64 / events as f64))
        .collect();
    println!("bytes/event by table and index: {}", parts.join(", "));
}

async fn run(name: &str, store: &Store, cleanup: impl std::future::Future<Output = ()>) {
    let n = env("BENCH_EVENTS", 3_333_334) as i64;
    let window = Duration::from_secs(env("BENCH_WINDOW", 20));
    let rounds = env("BENCH_ROUNDS", 2);
    println!("== {name}: {n} events, {} done deliveries", 3 * n);
    let t = Instant::now();
    fill(store, n).await;
    exec(store, "ANALYZE").await;
    if name == "postgres" {
        exec(store, "VACUUM (ANALYZE) skc_deliveries, skc_events").await;
    }
    println!("filled in {:.0} s", t.elapsed().as_secs_f64());
    let size = store.size_on_disk().await.unwrap();
    println!("with 3 done deliveries each: {}", kb(size, n));

    let policy = Retention::keep_done(Duration::from_secs(3600));
    let next = Arc::new(AtomicU64::new(1 << 40));
    let (mut a, mut b, mut pruned) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let rate = publish_for(store, window, &next).await;
        println!("round {round} A (publishers alone):      {rate:.0} events/s");
        a.push(rate);
        let task = store.retain(policy.clone());
        let rate = publish_for(store, window, &next).await;
        let removed = task.removed();
        task.stop().await;
        println!(
            "round {round} B (with a retention pass): {rate:.0} events/s, {removed} deliveries pruned ({:.0}/s)",
            removed as f64 / window.as_secs_f64()
        );
        b.push(rate);
        pruned.push(removed as f64 / window.as_secs_f64());
    }
    println!(
        "publish A {} | B {} events/s: B/A {:.3}; pruned {} deliveries/s",
        range(&a),
        range(&b),
        median(&b) / median(&a),
        range(&pruned)
    );

    let t = Instant::now();
    let fast = Retention::keep_done(Duration::from_secs(3600))
        .batch(10_000)
        .pause(Duration::ZERO);
    let removed = store.prune(&fast).await.unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "rest of the pass at full speed: {removed} deliveries in {secs:.1} s ({:.0}/s)",
        removed as f64 / secs
    );
    // The publishers' deliveries, done as a worker would leave them, go too.
    let (low, high) = (
        scalar(store, "SELECT COALESCE(MIN(id), 0) FROM skc_deliveries").await,
        scalar(store, "SELECT COALESCE(MAX(id), 0) FROM skc_deliveries").await,
    );
    let mut removed = 0;
    for from in (low..=high).step_by(300_000) {
        exec(
            store,
            &format!(
                "UPDATE skc_deliveries SET status = 'done', updated_at = updated_at - {DAY_US}
                 WHERE status = 'waiting' AND id BETWEEN {from} AND {}",
                from + 299_999
            ),
        )
        .await;
        removed += store.prune(&fast).await.unwrap();
    }
    let events = scalar(store, "SELECT COUNT(*) FROM skc_events").await;
    let left = scalar(store, "SELECT COUNT(*) FROM skc_deliveries").await;
    println!("publishers' deliveries pruned: {removed}; {events} events, {left} deliveries left");
    if name == "sqlite" {
        // The log copied back, so the file holds what the pages say.
        exec(store, "PRAGMA wal_checkpoint(TRUNCATE)").await;
        let size = store.size_on_disk().await.unwrap();
        let free = scalar(store, "PRAGMA freelist_count").await;
        println!("pruned: {} ({free} free pages)", kb(size, events));
        breakdown(store, SQLITE_SIZES, events).await;
    } else {
        let size = store.size_on_disk().await.unwrap();
        println!("pruned, before vacuum: {}", kb(size, events));
        let (_, after) = store.vacuum().await.unwrap();
        println!(
            "pruned, after VACUUM (space kept for reuse): {}",
            kb(after, events)
        );
        exec(store, "VACUUM FULL skc_deliveries, skc_events, skc_handled").await;
        let size = store.size_on_disk().await.unwrap();
        println!("pruned, after VACUUM FULL: {}", kb(size, events));
        breakdown(store, POSTGRES_SIZES, events).await;
    }
    cleanup.await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wants = |b: &str| only.as_deref().is_none_or(|o| o == b);
    if wants("sqlite") {
        let dir = std::env::temp_dir().join(format!("skc_bench_retention_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::sqlite(dir.join("events.db")).await.unwrap();
        run("sqlite", &store.clone(), async move {
            drop(store);
            let file = dir.join("events.db");
            println!(
                "file on disk: {} MB",
                std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) / 1_000_000
            );
            let _ = std::fs::remove_dir_all(&dir);
        })
        .await;
    }
    if wants("postgres") {
        let schema = format!("skc_bench_retention_{}", std::process::id());
        let store = Store::postgres(&pg_url(), Some(&schema)).await.unwrap();
        run("postgres", &store.clone(), async move {
            drop(store);
            let admin = Store::postgres(&pg_url(), None).await.unwrap();
            exec(
                &admin,
                &format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"),
            )
            .await;
        })
        .await;
    }
}
