//! Opening an existing store for operators' commands: nothing is created,
//! migrated or (read-only) written, and a missing or foreign store is named.

mod common;

use common::{event, pg_url, unique};
use serde_json::json;
use skillcore_events_store::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(unique("skc_open"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every file of `dir` (the database and its -wal/-shm) with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn subs(_: &str) -> Vec<Subscriber<'static>> {
    vec![Subscriber {
        handler_id: "h.one",
        ordered: false,
    }]
}

/// A store with an event of district A (delivery dead) and one of B (waiting).
async fn fill(store: &Store) {
    store
        .append(
            &[
                event("a.b.posted", "r-1", "dst-A", json!({"n": 1})),
                event("a.b.posted", "r-2", "dst-B", json!({"n": 2})),
            ],
            subs,
        )
        .await
        .unwrap();
    let c = store
        .claim_for("t", &["h.one"], 1, Duration::from_secs(30))
        .await
        .unwrap();
    store.fail(&c[0], "boom", None).await.unwrap();
}

/// What an inspection reads, to compare between opens.
async fn inspect(store: &Store) -> (Vec<HandlerStats>, usize) {
    let stats = store.stats(&Scope::AllDistricts).await.unwrap();
    let dead = store
        .dead_letters(&Scope::AllDistricts, None, 10)
        .await
        .unwrap();
    (stats, dead.len())
}

fn no_store(e: StoreError) -> String {
    match e {
        StoreError::NoStore(text) => text,
        other => panic!("expected NoStore, got {other:?}: {other}"),
    }
}

#[tokio::test]
async fn a_missing_sqlite_file_is_no_store_and_is_not_created() {
    let dir = scratch();
    std::fs::write(dir.join("events.db"), b"").unwrap();
    let missing = dir.join("evets.db");
    for access in [Access::ReadOnly, Access::ReadWrite] {
        let text = no_store(Store::open_sqlite(&missing, access).await.unwrap_err());
        assert!(text.contains("there is no such file"), "{text}");
        assert!(text.contains("did you mean"), "{text}");
        assert!(text.contains("events.db"), "{text}");
        assert!(!missing.exists(), "nothing is created");
    }
    let text = no_store(
        Store::open_sqlite(&dir, Access::ReadOnly)
            .await
            .unwrap_err(),
    );
    assert!(text.contains("a directory"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn another_applications_sqlite_file_is_named_and_left_untouched() {
    let dir = scratch();
    let path = dir.join("app.db");
    {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect_with(
            &sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true),
        )
        .await
        .unwrap();
        sqlx::raw_sql("CREATE TABLE users (id INTEGER); CREATE TABLE orders (id INTEGER);")
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
    }
    let before = snapshot(&dir);
    for access in [Access::ReadOnly, Access::ReadWrite] {
        let text = no_store(Store::open_sqlite(&path, access).await.unwrap_err());
        assert!(text.contains("without the store's skc_ tables"), "{text}");
        assert!(text.contains("`orders`, `users`"), "{text}");
    }
    assert_eq!(snapshot(&dir), before, "no byte changed, no file added");

    std::fs::write(dir.join("notes.db"), b"not a database at all, just text").unwrap();
    let text = no_store(
        Store::open_sqlite(dir.join("notes.db"), Access::ReadOnly)
            .await
            .unwrap_err(),
    );
    assert!(text.contains("not a SQLite database"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn read_only_open_of_a_quiet_store_changes_no_byte() {
    // A store whose log was checkpointed into the main file: a copy of that
    // file alone is the whole store, as a backup or a stopped service leaves it.
    let dir = scratch();
    let live = dir.join("live.db");
    let store = Store::sqlite(&live).await.unwrap();
    fill(&store).await;
    let expected = inspect(&store).await;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(store.sqlite_pool().unwrap())
        .await
        .unwrap();
    let copy = dir.join("backup");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(&live, copy.join("events.db")).unwrap();
    let mut perms = std::fs::metadata(copy.join("events.db"))
        .unwrap()
        .permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(copy.join("events.db"), perms).unwrap();

    let before = snapshot(&copy);
    assert_eq!(before.len(), 1, "{:?}", before.keys());
    let ro = Store::open_sqlite(copy.join("events.db"), Access::ReadOnly)
        .await
        .unwrap();
    assert_eq!(inspect(&ro).await, expected);
    assert!(
        ro.retry_dead(&Scope::AllDistricts, 1).await.is_err(),
        "a read-only store cannot write"
    );
    drop(ro);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        snapshot(&copy),
        before,
        "no byte changed, no -wal/-shm made"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn read_only_open_of_a_store_with_its_log_reads_the_log_and_changes_neither_file() {
    // A copy of a running store's three files: the newest rows are only in
    // the log, which an `immutable` open would miss.
    let dir = scratch();
    let live = dir.join("live.db");
    let store = Store::sqlite(&live).await.unwrap();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(store.sqlite_pool().unwrap())
        .await
        .unwrap();
    fill(&store).await;
    let expected = inspect(&store).await;
    let copy = dir.join("hot");
    std::fs::create_dir_all(&copy).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let from = format!("{}{suffix}", live.display());
        std::fs::copy(&from, copy.join(format!("events.db{suffix}"))).unwrap();
    }
    assert!(
        std::fs::metadata(copy.join("events.db-wal")).unwrap().len() > 0,
        "the rows are in the log"
    );
    let before = snapshot(&copy);
    let ro = Store::open_sqlite(copy.join("events.db"), Access::ReadOnly)
        .await
        .unwrap();
    assert_eq!(inspect(&ro).await, expected, "the log's rows are read");
    drop(ro);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after = snapshot(&copy);
    for name in ["events.db", "events.db-wal"] {
        assert!(after[name] == before[name], "{name} changed");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_store_of_another_schema_version_is_refused_unchanged() {
    let dir = scratch();
    let path = dir.join("events.db");
    let store = Store::sqlite(&path).await.unwrap();
    let pool = store.sqlite_pool().unwrap().clone();
    let current: i64 = sqlx::query_scalar("SELECT MAX(version) FROM skc_schema_version")
        .fetch_one(&pool)
        .await
        .unwrap();

    sqlx::query("INSERT INTO skc_schema_version (version) VALUES (99)")
        .execute(&pool)
        .await
        .unwrap();
    for access in [Access::ReadOnly, Access::ReadWrite] {
        let e = Store::open_sqlite(&path, access).await.unwrap_err();
        assert!(
            matches!(e, StoreError::SchemaVersion { found: 99, supported, .. } if supported == current),
            "{e:?}"
        );
        assert!(e.to_string().contains("newer than this build"), "{e}");
    }

    sqlx::query("DELETE FROM skc_schema_version WHERE version >= ?")
        .bind(current)
        .execute(&pool)
        .await
        .unwrap();
    for access in [Access::ReadOnly, Access::ReadWrite] {
        let e = Store::open_sqlite(&path, access).await.unwrap_err();
        assert!(
            matches!(e, StoreError::SchemaVersion { found, .. } if found == current - 1),
            "{e:?}"
        );
        assert!(e.to_string().contains("once to migrate it"), "{e}");
    }
    let left: i64 = sqlx::query_scalar("SELECT MAX(version) FROM skc_schema_version")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, current - 1, "an older store is not migrated");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn read_write_open_changes_rows_of_an_existing_store_only() {
    let dir = scratch();
    let path = dir.join("events.db");
    let store = Store::sqlite(&path).await.unwrap();
    fill(&store).await;
    let rw = Store::open_sqlite(&path, Access::ReadWrite).await.unwrap();
    let dead = rw
        .dead_letters(&Scope::AllDistricts, None, 10)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert!(rw
        .discard_dead(&Scope::AllDistricts, dead[0].delivery_id)
        .await
        .unwrap());
    assert!(store
        .dead_letters(&Scope::AllDistricts, None, 10)
        .await
        .unwrap()
        .is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

async fn schema_exists(schema: &str) -> bool {
    let pool = sqlx::PgPool::connect(&pg_url()).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_namespace WHERE nspname = $1")
        .bind(schema)
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    n == 1
}

async fn drop_schema(schema: &str) {
    let pool = sqlx::PgPool::connect(&pg_url()).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
    )))
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
}

#[tokio::test]
async fn postgres_a_mistyped_schema_is_not_created_and_the_store_is_suggested() {
    let (store, schema) = common::postgres().await;
    fill(&store).await;
    let typo = format!("{}x", &schema);
    for access in [Access::ReadOnly, Access::ReadWrite] {
        let text = no_store(
            Store::open_postgres(&pg_url(), Some(&typo), access)
                .await
                .unwrap_err(),
        );
        assert!(
            text.contains(&format!("there is no schema `{typo}`")),
            "{text}"
        );
        assert!(
            text.contains(&format!("did you mean `--schema {schema}`?")),
            "{text}"
        );
        assert!(!schema_exists(&typo).await, "the schema is not created");
    }

    // A schema of someone else's tables.
    let other = unique("skc_other");
    let pool = sqlx::PgPool::connect(&pg_url()).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE SCHEMA \"{other}\"; CREATE TABLE \"{other}\".invoices (id int);"
    )))
    .execute(&pool)
    .await
    .unwrap();
    let text = no_store(
        Store::open_postgres(&pg_url(), Some(&other), Access::ReadOnly)
            .await
            .unwrap_err(),
    );
    assert!(
        text.contains("no skc_ tables (its tables: `invoices`)"),
        "{text}"
    );
    let skc: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'skc%'",
    )
    .bind(&other)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(skc, 0, "no tables added");
    pool.close().await;
    drop_schema(&other).await;

    let e = Store::open_postgres(&pg_url(), Some("x; drop table"), Access::ReadOnly)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::InvalidSchemaName(_)), "{e:?}");
    assert!(
        e.to_string().contains("not a PostgreSQL schema name"),
        "{e}"
    );
    drop_schema(&schema).await;
}

#[tokio::test]
async fn postgres_without_a_schema_the_search_path_must_hold_a_store() {
    let (store, schema) = common::postgres().await;
    let url = format!(
        "{}?options=-c%20search_path%3D{}",
        pg_url(),
        unique("skc_nowhere")
    );
    let text = no_store(
        Store::open_postgres(&url, None, Access::ReadOnly)
            .await
            .unwrap_err(),
    );
    assert!(
        text.contains("no event store on the search path of database"),
        "{text}"
    );
    assert!(text.contains("schemas with an event store"), "{text}");
    let url = format!("{}?options=-c%20search_path%3D{schema}", pg_url());
    let found = Store::open_postgres(&url, None, Access::ReadOnly)
        .await
        .unwrap();
    assert_eq!(inspect(&found).await, inspect(&store).await);
    drop_schema(&schema).await;
}

#[tokio::test]
async fn postgres_read_only_open_reads_and_cannot_write() {
    let (store, schema) = common::postgres().await;
    fill(&store).await;
    let ro = Store::open_postgres(&pg_url(), Some(&schema), Access::ReadOnly)
        .await
        .unwrap();
    assert_eq!(inspect(&ro).await, inspect(&store).await);
    let dead = ro
        .dead_letters(&Scope::AllDistricts, None, 10)
        .await
        .unwrap();
    let e = ro
        .retry_dead(&Scope::AllDistricts, dead[0].delivery_id)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("read-only transaction"), "{e}");

    let rw = Store::open_postgres(&pg_url(), Some(&schema), Access::ReadWrite)
        .await
        .unwrap();
    assert!(rw
        .retry_dead(&Scope::AllDistricts, dead[0].delivery_id)
        .await
        .unwrap());

    sqlx::query("INSERT INTO skc_schema_version (version) VALUES (99)")
        .execute(store.postgres_pool().unwrap())
        .await
        .unwrap();
    let e = Store::open_postgres(&pg_url(), Some(&schema), Access::ReadOnly)
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::SchemaVersion { found: 99, .. }),
        "{e:?}"
    );
    drop_schema(&schema).await;
}
