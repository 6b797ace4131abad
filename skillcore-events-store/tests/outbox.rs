//! The transactional outbox and the gap-free global order.

mod common;

use common::event;
use serde_json::json;
use skillcore_events_store::*;

fn one_handler(_: &str) -> Vec<Subscriber<'static>> {
    vec![Subscriber {
        handler_id: "h",
        ordered: false,
    }]
}

#[tokio::test]
async fn a_rolled_back_sqlite_transaction_leaves_neither_domain_row_nor_event() {
    let (store, _) = common::sqlite().await;
    let pool = store.sqlite_pool().unwrap();
    sqlx::raw_sql("CREATE TABLE results (id TEXT PRIMARY KEY, score REAL)")
        .execute(pool)
        .await
        .unwrap();

    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
    sqlx::query("INSERT INTO results VALUES ('r-1', 9.5)")
        .execute(&mut *tx)
        .await
        .unwrap();
    append_sqlite(
        &mut tx,
        &[event("a.b.posted", "r-1", "d", json!({}))],
        &one_handler,
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();

    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM results")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    let (events, _) = store
        .read_after(&Scope::AllDistricts, Cursor::default(), 10)
        .await
        .unwrap();
    assert!(
        events.is_empty(),
        "the event rolled back with the domain write"
    );
    assert!(
        store.stats(&Scope::AllDistricts).await.unwrap().is_empty(),
        "and so did its deliveries"
    );

    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
    sqlx::query("INSERT INTO results VALUES ('r-1', 9.5)")
        .execute(&mut *tx)
        .await
        .unwrap();
    append_sqlite(
        &mut tx,
        &[event("a.b.posted", "r-1", "d", json!({}))],
        &one_handler,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let (events, _) = store
        .read_after(&Scope::AllDistricts, Cursor::default(), 10)
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "committed together");
    assert_eq!(
        store.stats(&Scope::AllDistricts).await.unwrap()[0].waiting,
        1
    );
}

#[tokio::test]
async fn a_rolled_back_postgres_transaction_leaves_neither_domain_row_nor_event() {
    let (store, _) = common::postgres().await;
    let pool = store.postgres_pool().unwrap();
    sqlx::raw_sql("CREATE TABLE results (id TEXT PRIMARY KEY, score DOUBLE PRECISION)")
        .execute(pool)
        .await
        .unwrap();
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("INSERT INTO results VALUES ('r-1', 9.5)")
        .execute(&mut *tx)
        .await
        .unwrap();
    append_postgres(
        &mut tx,
        &[event("a.b.posted", "r-1", "d", json!({}))],
        &one_handler,
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM results")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    assert!(store
        .read_after(&Scope::AllDistricts, Cursor::default(), 10)
        .await
        .unwrap()
        .0
        .is_empty());
    assert!(store.stats(&Scope::AllDistricts).await.unwrap().is_empty());
}

/// On PostgreSQL a sequence value is taken at insert, not at commit: transaction A
/// takes seq 1, B takes seq 2 and commits first. A reader that remembers "the last
/// seq I saw" would read 2 and then never read 1. Ours must not.
#[tokio::test]
async fn the_reader_never_skips_a_transaction_that_commits_late() {
    let (store, _) = common::postgres().await;
    let pool = store.postgres_pool().unwrap().clone();

    let mut slow = pool.begin().await.unwrap();
    let slow_seq = append_postgres(
        &mut slow,
        &[event("a.b.posted", "slow", "d", json!({}))],
        &one_handler,
    )
    .await
    .unwrap()[0];
    let fast_seq = store
        .append(&[event("a.b.posted", "fast", "d", json!({}))], one_handler)
        .await
        .unwrap()[0];
    assert!(
        slow_seq < fast_seq,
        "the slow transaction holds the lower sequence number"
    );

    // While the slow transaction is open, the fast event is committed but must not
    // be handed out yet: the reader would move its cursor past seq 1.
    let (events, cursor) = store
        .read_after(&Scope::AllDistricts, Cursor::default(), 10)
        .await
        .unwrap();
    assert!(
        events.is_empty(),
        "read {events:?} past an open transaction"
    );

    slow.commit().await.unwrap();
    // Other transactions in the database (other tests) can hold the reader back a
    // moment; what it hands out, over however many calls, is both events in order.
    let mut events = Vec::new();
    let mut cursor = cursor;
    for _ in 0..200 {
        let (batch, next) = store
            .read_after(&Scope::AllDistricts, cursor, 10)
            .await
            .unwrap();
        cursor = next;
        events.extend(batch);
        if events.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let ids: Vec<_> = events
        .iter()
        .map(|e| e.event.aggregate_id.as_str())
        .collect();
    assert_eq!(ids, vec!["slow", "fast"], "both are read, none skipped");
    let (rest, _) = store
        .read_after(&Scope::AllDistricts, cursor, 10)
        .await
        .unwrap();
    assert!(rest.is_empty());
}

#[tokio::test]
async fn the_sqlite_reader_follows_the_commit_order() {
    let (store, _) = common::sqlite().await;
    for i in 0..5 {
        store
            .append(
                &[event("a.b.posted", &i.to_string(), "d", json!({"i": i}))],
                |_| Vec::new(),
            )
            .await
            .unwrap();
    }
    let (first, c) = store
        .read_after(&Scope::AllDistricts, Cursor::default(), 3)
        .await
        .unwrap();
    let (second, _) = store.read_after(&Scope::AllDistricts, c, 3).await.unwrap();
    let seen: Vec<_> = first
        .iter()
        .chain(&second)
        .map(|e| e.event.payload["i"].clone())
        .collect();
    assert_eq!(seen, (0..5).map(|i| json!(i)).collect::<Vec<_>>());
}
