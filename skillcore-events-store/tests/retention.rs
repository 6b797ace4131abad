//! Retention of finished deliveries (issue 16 §4), on both backends: what a
//! pass takes (finished deliveries older than the keep time, in batches) and
//! what it leaves (waiting, retrying, active, dead, a running replay's, the
//! events); idempotency after pruning (a re-publish runs nothing, a replay
//! runs again); the background task and the bus's policy; SQLite giving the
//! space back.

mod common;

use common::{both, event};
use serde_json::json;
use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::{Envelope, EventBus, Metadata};
use skillcore_events_store::*;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod events {
    skillcore_events::catalog!("../catalog");
}
use events::{gradebook, LetterGrade};

const HOUR: Duration = Duration::from_secs(3600);

fn subs(handlers: &'static [&'static str]) -> impl Fn(&str) -> Vec<Subscriber<'static>> {
    move |_| {
        handlers
            .iter()
            .map(|h| Subscriber {
                handler_id: h,
                ordered: false,
            })
            .collect()
    }
}

/// Runs `sql` (no parameters) on the store's own database.
async fn exec(store: &Store, sql: &str) {
    if let Some(pool) = store.sqlite_pool() {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(pool)
            .await
            .unwrap();
    } else {
        let pool = store.postgres_pool().unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(pool)
            .await
            .unwrap();
    }
}

/// One number from `sql`.
async fn count(store: &Store, sql: &str) -> i64 {
    if let Some(pool) = store.sqlite_pool() {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(pool)
            .await
            .unwrap()
    } else {
        let pool = store.postgres_pool().unwrap();
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(pool)
            .await
            .unwrap()
    }
}

/// The deliveries per status, as `status:n` sorted.
async fn statuses(store: &Store) -> Vec<String> {
    let sql = "SELECT status || ':' || CAST(COUNT(*) AS TEXT) FROM skc_deliveries
               GROUP BY status ORDER BY status";
    if let Some(pool) = store.sqlite_pool() {
        sqlx::query_scalar(sql).fetch_all(pool).await.unwrap()
    } else {
        sqlx::query_scalar(sql)
            .fetch_all(store.postgres_pool().unwrap())
            .await
            .unwrap()
    }
}

/// Makes every delivery row look finished (or changed) two hours earlier.
async fn age_all(store: &Store) {
    exec(
        store,
        "UPDATE skc_deliveries SET updated_at = updated_at - 7200000000",
    )
    .await;
}

/// Claims up to `n` deliveries of `handler` and completes them.
async fn complete(store: &Store, handler: &str, n: u32) -> usize {
    let claimed = store
        .claim_for("w", &[handler], n, Duration::from_secs(60))
        .await
        .unwrap();
    for c in &claimed {
        assert!(store.complete(c).await.unwrap());
    }
    claimed.len()
}

/// Finished deliveries older than the keep time go, at most a batch per
/// call; everything else stays: a recent done one, waiting, retrying,
/// active, dead deliveries, and every event. Queries and stats answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_takes_old_finished_deliveries_only_in_batches() {
    for (name, store) in both().await {
        let events: Vec<NewEvent> = (0..10)
            .map(|i| event("a.b.posted", &format!("r-{i}"), "d", json!({ "i": i })))
            .collect();
        store.append(&events, subs(&["a", "b", "c"])).await.unwrap();
        // a: 10 done. b: 4 done, 3 retrying, 3 dead of which 1 discarded.
        // c: 5 active, 5 waiting.
        assert_eq!(complete(&store, "a", 10).await, 10);
        let b = store
            .claim_for("w", &["b"], 10, Duration::from_secs(60))
            .await
            .unwrap();
        for (i, c) in b.iter().enumerate() {
            match i {
                0..4 => assert!(store.complete(c).await.unwrap()),
                4..7 => assert!(store.fail(c, "again", Some(HOUR)).await.unwrap()),
                _ => assert!(store.fail(c, "boom", None).await.unwrap()),
            }
        }
        let dead = store
            .dead_letters(&Scope::AllDistricts, Some("b"), 10)
            .await
            .unwrap();
        assert_eq!(dead.len(), 3, "{name}");
        assert!(store
            .discard_dead(&Scope::AllDistricts, dead[0].delivery_id)
            .await
            .unwrap());
        let active = store
            .claim_for("w", &["c"], 5, Duration::from_secs(600))
            .await
            .unwrap();
        assert_eq!(active.len(), 5);
        age_all(&store).await;
        // Recent: two more events whose `a` deliveries are done now.
        let recent = [
            event("a.b.posted", "r-10", "d", json!({})),
            event("a.b.posted", "r-11", "d", json!({})),
        ];
        store.append(&recent, subs(&["a"])).await.unwrap();
        assert_eq!(complete(&store, "a", 10).await, 2);

        // 10 + 4 done and 1 discarded are old enough.
        assert_eq!(store.prune_batch(HOUR, 4).await.unwrap(), 4, "{name}");
        let policy = Retention::keep_done(HOUR).batch(5).pause(Duration::ZERO);
        assert_eq!(store.prune(&policy).await.unwrap(), 11, "{name}");
        assert_eq!(store.prune(&policy).await.unwrap(), 0, "{name}");
        assert_eq!(
            statuses(&store).await,
            ["active:5", "dead:2", "done:2", "waiting:8"],
            "{name}"
        );
        // Nothing newer than the keep time either, with the default batch.
        assert_eq!(store.prune_finished(HOUR).await.unwrap(), 0, "{name}");
        assert_eq!(count(&store, "SELECT COUNT(*) FROM skc_events").await, 12);

        let stats = store.stats(&Scope::AllDistricts).await.unwrap();
        let of = |h: &str| stats.iter().find(|s| s.handler_id == h).unwrap().clone();
        assert_eq!((of("a").completed, of("a").waiting), (2, 0), "{name}");
        assert_eq!((of("b").completed, of("b").failed, of("b").dead), (0, 3, 2));
        assert_eq!((of("c").active, of("c").waiting), (5, 5), "{name}");
        let aggregate = store
            .aggregate_events(&Scope::AllDistricts, "Result", "r-3")
            .await
            .unwrap();
        assert_eq!(aggregate.len(), 1, "{name}");
        assert_eq!(
            store
                .dead_letters(&Scope::AllDistricts, None, 10)
                .await
                .unwrap()
                .len(),
            2
        );
        // The held deliveries still complete.
        for c in &active {
            assert!(store.complete(c).await.unwrap(), "{name}");
        }
    }
}

/// A replay batch with work left keeps its done deliveries (its progress
/// counts them); once it has finished they go like any other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_replay_keeps_its_done_deliveries() {
    for (name, store) in both().await {
        let events: Vec<NewEvent> = (0..6)
            .map(|i| event("a.b.posted", &format!("r-{i}"), "d", json!({})))
            .collect();
        store.append(&events, subs(&["a"])).await.unwrap();
        assert_eq!(complete(&store, "a", 10).await, 6);
        let (batch, queued) = store
            .replay(&Scope::AllDistricts, "a", &ReplayFilter::default())
            .await
            .unwrap();
        assert_eq!(queued, 6);
        assert_eq!(complete(&store, "a", 3).await, 3);

        // The six first deliveries go; the replay's three done ones stay.
        assert_eq!(
            store.prune_finished(Duration::ZERO).await.unwrap(),
            6,
            "{name}"
        );
        let progress = store
            .replay_progress(&Scope::AllDistricts, "a", batch)
            .await
            .unwrap();
        assert_eq!((progress.total, progress.done), (6, 3), "{name}");

        assert_eq!(complete(&store, "a", 10).await, 3);
        // Finished: its done deliveries go, but on SQLite the newest row
        // (its id would be taken again by the next delivery).
        let kept_newest = i64::from(name == "sqlite");
        assert_eq!(
            store.prune_finished(Duration::ZERO).await.unwrap() as i64,
            6 - kept_newest,
            "{name}"
        );
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM skc_deliveries").await,
            kept_newest,
            "{name}"
        );
    }
}

/// Pruning is not forgetting: re-publishing an event whose deliveries were
/// pruned queues nothing (the event row refuses its id), and a replay runs
/// the handler again, as it does for any event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruned_deliveries_are_not_run_again_but_a_replay_runs() {
    for (name, store) in both().await {
        let e = event("a.b.posted", "r-1", "d", json!({ "n": 1 }));
        let filler = event("a.b.posted", "r-2", "d", json!({}));
        store
            .append(&[e.clone(), filler], subs(&["a"]))
            .await
            .unwrap();
        assert_eq!(complete(&store, "a", 10).await, 2);
        let removed = store.prune_finished(Duration::ZERO).await.unwrap();
        assert!(removed >= 1, "{name}: {removed}");
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM skc_deliveries d JOIN skc_events e ON e.seq = d.event_seq
                 WHERE e.aggregate_id = 'r-1'"
            )
            .await,
            0,
            "{name}"
        );

        let again = store
            .append(std::slice::from_ref(&e), subs(&["a"]))
            .await
            .unwrap();
        assert!(again.is_empty(), "{name}: re-published as new: {again:?}");
        assert_eq!(complete(&store, "a", 10).await, 0, "{name}");

        let (_, queued) = store
            .replay(&Scope::AllDistricts, "a", &ReplayFilter::default())
            .await
            .unwrap();
        assert_eq!(queued, 2, "{name}");
        let claimed = store
            .claim_for("w", &["a"], 10, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(claimed.len(), 2, "{name}");
        assert!(claimed.iter().all(|c| !c.already_handled), "{name}");
    }
}

fn grade(result: u128) -> Envelope<gradebook::GradePosted> {
    Envelope::new(
        gradebook::GradePosted {
            result_id: skillcore_events::uuid::Uuid::from_u128(result),
            line_item_id: "li-1".into(),
            student_id: "stu-1".into(),
            class_id: "cls-1".into(),
            points_earned: 42.0,
            points_possible: 100.0,
            score_percent: 42.0,
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

/// The bus's policy (`Durable::retention`) prunes in the background while
/// its workers run; an event published again after its delivery was pruned
/// does not run its handler a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bus_prunes_in_the_background_and_runs_nothing_twice() {
    for (name, store) in both().await {
        let runs = Arc::new(AtomicU32::new(0));
        let r = runs.clone();
        let bus = EventBus::builder()
            .log_events(false)
            .log_handlers(false)
            .subscribe::<gradebook::GradePosted, _, _>("analytics.update_gpa", move |_e, _cx| {
                let r = r.clone();
                async move {
                    r.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            })
            .backend(
                Durable::store(store.clone()).retention(
                    Retention::keep_done(Duration::ZERO)
                        .every(Duration::from_millis(20))
                        .pause(Duration::ZERO),
                ),
            )
            .build()
            .unwrap();
        let first = grade(1);
        bus.publish(first.clone()).await.unwrap();
        bus.publish(grade(2)).await.unwrap();
        tokio::time::timeout(Duration::from_secs(20), bus.idle())
            .await
            .expect("bus goes idle");
        assert_eq!(runs.load(Ordering::SeqCst), 2, "{name}");
        // The first event's delivery goes (on SQLite the newest row stays).
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let first_left = "SELECT COUNT(*) FROM skc_deliveries d JOIN skc_events e
                          ON e.seq = d.event_seq WHERE e.seq = (SELECT MIN(seq) FROM skc_events)";
        while count(&store, first_left).await > 0 {
            assert!(std::time::Instant::now() < deadline, "{name}: not pruned");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bus.publish(first).await.unwrap();
        tokio::time::timeout(Duration::from_secs(20), bus.idle())
            .await
            .expect("bus goes idle");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 2, "{name}: ran again");
        assert_eq!(count(&store, "SELECT COUNT(*) FROM skc_events").await, 2);
        bus.shutdown(Duration::from_secs(5)).await;
    }
}

/// `Store::retain` runs passes until its task is stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retention_task_runs_until_stopped() {
    for (name, store) in both().await {
        let events: Vec<NewEvent> = (0..5)
            .map(|i| event("a.b.posted", &format!("r-{i}"), "d", json!({})))
            .collect();
        store.append(&events, subs(&["a"])).await.unwrap();
        assert_eq!(complete(&store, "a", 10).await, 5);
        age_all(&store).await;
        let task = store.retain(
            Retention::keep_done(HOUR)
                .batch(2)
                .every(Duration::from_millis(20)),
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let kept_newest = i64::from(name == "sqlite");
        while count(&store, "SELECT COUNT(*) FROM skc_deliveries").await > kept_newest {
            assert!(std::time::Instant::now() < deadline, "{name}: not pruned");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        task.stop().await;
        // Stopped: what finishes now stays.
        store
            .append(&[event("a.b.posted", "r-9", "d", json!({}))], subs(&["a"]))
            .await
            .unwrap();
        assert_eq!(complete(&store, "a", 10).await, 1);
        age_all(&store).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM skc_deliveries").await,
            1 + kept_newest,
            "{name}"
        );
    }
}

/// The database's pages: count, free list, auto-vacuum mode.
async fn pages(store: &Store) -> (i64, i64, i64) {
    (
        count(store, "PRAGMA page_count").await,
        count(store, "PRAGMA freelist_count").await,
        count(store, "PRAGMA auto_vacuum").await,
    )
}

/// Fills a SQLite store with `n` events of 3 done deliveries, about 600
/// bytes of payload each.
async fn fill_done(store: &Store, n: usize) {
    let padding = "x".repeat(500);
    for chunk in 0..n / 500 {
        let events: Vec<NewEvent> = (0..500)
            .map(|i| {
                event(
                    "a.b.posted",
                    &format!("r-{chunk}-{i}"),
                    "d",
                    json!({ "note": padding }),
                )
            })
            .collect();
        store.append(&events, subs(&["a", "b", "c"])).await.unwrap();
    }
    exec(store, "UPDATE skc_deliveries SET status = 'done'").await;
}

/// A new SQLite store gives the pages of pruned deliveries back to the
/// file (`auto_vacuum = INCREMENTAL`, an incremental vacuum per batch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_gives_the_space_back() {
    let (store, _path) = common::sqlite().await;
    let (_, _, mode) = pages(&store).await;
    assert_eq!(mode, 2, "a new store is in incremental auto-vacuum");
    fill_done(&store, 3000).await;
    let (before, _, _) = pages(&store).await;
    let size = store.size_on_disk().await.unwrap();
    assert_eq!(size, before as u64 * 4096);
    let deliveries_pages = count(
        &store,
        "SELECT SUM(pgsize) / 4096 FROM dbstat WHERE name LIKE 'skc_deliveries%'",
    )
    .await;
    let removed = store.prune_finished(Duration::ZERO).await.unwrap();
    assert_eq!(removed, 3 * 3000 - 1, "all but the newest delivery row");
    let (after, free, _) = pages(&store).await;
    assert!(
        after <= before - deliveries_pages * 9 / 10,
        "{before} -> {after} pages; the deliveries took {deliveries_pages}"
    );
    assert!(free < 64, "{free} pages left on the free list");
    assert!(store.size_on_disk().await.unwrap() < size);
}

/// A store created before (no auto-vacuum: here a file that had a table
/// when the store first opened it) reuses the freed pages but keeps its
/// size, until `Store::vacuum` converts it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_sqlite_store_is_converted_by_vacuum() {
    let dir = std::env::temp_dir().join(common::unique("skc_store"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("events.db");
    {
        use sqlx::Connection;
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap();
        sqlx::raw_sql("CREATE TABLE service_rows (x)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
    let store = Store::sqlite(&path).await.unwrap();
    assert_eq!(
        pages(&store).await.2,
        0,
        "not converted behind the caller's back"
    );
    fill_done(&store, 2000).await;
    let (before, _, _) = pages(&store).await;
    store.prune_finished(Duration::ZERO).await.unwrap();
    let (kept, free, _) = pages(&store).await;
    assert_eq!(kept, before, "without auto-vacuum the file keeps its pages");
    assert!(free > 50, "the freed pages are on the free list: {free}");

    let (bytes_before, bytes_after) = store.vacuum().await.unwrap();
    assert_eq!(bytes_before, before as u64 * 4096);
    let (after, free, mode) = pages(&store).await;
    assert_eq!(mode, 2, "incremental auto-vacuum from now on");
    assert_eq!(bytes_after, after as u64 * 4096);
    assert!(
        after < before - 50 && free == 0,
        "{before} -> {after}, {free} free"
    );
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}

/// On PostgreSQL the size answers and `vacuum` runs. (Whether VACUUM can
/// free the pruned rows' space at once depends on the oldest transaction
/// open anywhere in the database, so the reuse is measured in the bench,
/// not asserted here.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_size_and_vacuum_answer() {
    let (store, _) = common::postgres().await;
    let events: Vec<NewEvent> = (0..300)
        .map(|i| event("a.b.posted", &format!("r-{i}"), "d", json!({})))
        .collect();
    store.append(&events, subs(&["a", "b", "c"])).await.unwrap();
    let size = store.size_on_disk().await.unwrap();
    assert!(size > 3 * 8192, "{size}");
    exec(&store, "UPDATE skc_deliveries SET status = 'done'").await;
    assert_eq!(store.prune_finished(Duration::ZERO).await.unwrap(), 900);
    assert_eq!(
        count(&store, "SELECT COUNT(*) FROM skc_deliveries").await,
        0
    );
    let (before, after) = store.vacuum().await.unwrap();
    assert!(before >= size && after > 0, "{size}: {before} -> {after}");
}
