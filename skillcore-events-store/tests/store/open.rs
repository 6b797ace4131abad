//! Opening: migrations applied once, SQLite checkpoints, PostgreSQL commit mode.

use super::*;

#[tokio::test]
async fn reopening_applies_migrations_once() {
    let (store, path) = common::sqlite().await;
    store
        .append(&[event("a.b.posted", "x", "d", json!({}))], |_| Vec::new())
        .await
        .unwrap();
    drop(store);
    let again = Store::sqlite(&path).await.unwrap();
    let (events, _) = again
        .read_after(&Scope::AllDistricts, Cursor::default(), 10)
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "the state survives a restart");

    let (_pg, schema) = common::postgres().await;
    let url = common::pg_url();
    let (a, b) = tokio::join!(
        Store::postgres(&url, Some(&schema)),
        Store::postgres(&url, Some(&schema))
    );
    a.unwrap();
    b.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_checkpoints_run_in_the_background() {
    // The writer only checkpoints by itself past a far threshold; a background
    // task copies the WAL back into the database file. Without it the file
    // would stay at its initial size while the WAL grows.
    let (store, path) = common::sqlite().await;
    let before = std::fs::metadata(&path).unwrap().len();
    let evs: Vec<NewEvent> = (0..1000)
        .map(|i| {
            event(
                "a.b.posted",
                &format!("r{i}"),
                "d",
                json!({"i": i, "pad": "x".repeat(200)}),
            )
        })
        .collect();
    for chunk in evs.chunks(100) {
        store.append(chunk, subs).await.unwrap();
    }
    let mut after = before;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        after = std::fs::metadata(&path).unwrap().len();
        if after > before + 500_000 {
            break;
        }
    }
    assert!(
        after > before + 500_000,
        "the database file grew from {before} to {after} bytes only: no checkpoint ran"
    );
}

/// `PostgresCommit::Asynchronous` turns `synchronous_commit` off on the store's
/// connections, and only there; the store works the same in either mode.
#[tokio::test]
async fn postgres_commit_mode_is_set_on_the_stores_connections() {
    for (commit, expected) in [
        (PostgresCommit::Flushed, "on"),
        (PostgresCommit::Asynchronous, "off"),
    ] {
        let schema = common::unique("skc_commit");
        let store = Store::postgres_with(&common::pg_url(), Some(&schema), commit)
            .await
            .unwrap();
        let pool = store.postgres_pool().unwrap();
        let setting: String = sqlx::query_scalar("SHOW synchronous_commit")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(setting, expected, "{commit:?}");
        // And JIT off: it compiled lookups of a few rows for 5-80 ms.
        let jit: String = sqlx::query_scalar("SHOW jit")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(jit, "off", "{commit:?}");

        let e = event("gradebook.grade.posted", "r-1", "d-1", json!({"score": 1}));
        let seqs = store
            .append(std::slice::from_ref(&e), |_| unordered(&["h"]))
            .await
            .unwrap();
        assert_eq!(seqs.len(), 1, "{commit:?}");
        let claimed = store.claim_for("w", &["h"], 10, LEASE).await.unwrap();
        assert_eq!(claimed.len(), 1, "{commit:?}");
        assert_eq!(claimed[0].event.event, e, "{commit:?}");
        assert!(store.complete(&claimed[0]).await.unwrap(), "{commit:?}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA \"{schema}\" CASCADE"
        )))
        .execute(pool)
        .await
        .unwrap();
    }
}
