//! SQLite migrations: the version table, then every step of
//! [`crate::schema::SQLITE`] not yet applied, each recorded, in one
//! `BEGIN IMMEDIATE` transaction (so concurrent starters queue).

use crate::{schema, Result};
use sqlx::SqlitePool;

const VERSION_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS skc_schema_version (version INTEGER NOT NULL)";
const CURRENT: &str = "SELECT COALESCE(MAX(version), 0) FROM skc_schema_version";
const RECORD: &str = "INSERT INTO skc_schema_version (version) VALUES (?)";

/// Whether the database holds no table yet (a new store), and does not give
/// freed pages back.
const EMPTY_WITHOUT_AUTO_VACUUM: &str = "SELECT NOT EXISTS (SELECT 1 FROM sqlite_master)
                 AND (SELECT auto_vacuum FROM pragma_auto_vacuum) = 0";

/// A new database gives the pages of deleted rows back to the file
/// (`auto_vacuum = INCREMENTAL`, then `PRAGMA incremental_vacuum` after
/// retention's batches). SQLite fixes the mode when the first table is
/// created, and in WAL mode (set when the connection opened) only a `VACUUM`
/// changes it: on an empty file that costs nothing.
const INCREMENTAL_AUTO_VACUUM: &str = "PRAGMA auto_vacuum = INCREMENTAL; VACUUM;";

/// Applies the migrations not yet applied.
pub(crate) async fn migrate(write: &SqlitePool) -> Result<()> {
    if sqlx::query_scalar::<_, bool>(EMPTY_WITHOUT_AUTO_VACUUM)
        .fetch_one(write)
        .await?
    {
        sqlx::raw_sql(INCREMENTAL_AUTO_VACUUM)
            .execute(write)
            .await?;
    }
    let mut tx = write.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::raw_sql(VERSION_TABLE).execute(&mut *tx).await?;
    let current: i64 = sqlx::query_scalar(CURRENT).fetch_one(&mut *tx).await?;
    for (i, sql) in schema::SQLITE.iter().enumerate().skip(current as usize) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
            .execute(&mut *tx)
            .await?;
        sqlx::query(RECORD)
            .bind(i as i64 + 1)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{schema, NewEvent, Store, Subscriber};
    use chrono::Utc;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
    use sqlx::{Connection, SqliteConnection};
    use uuid::Uuid;

    /// The columns of a table, as a list for a SELECT.
    async fn columns(conn: &mut SqliteConnection, table: &str) -> String {
        sqlx::query_scalar("SELECT group_concat(name, ', ') FROM pragma_table_info(?)")
            .bind(table)
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    }

    /// Every row of a table as text (the given columns), in id order: what a
    /// migration must keep.
    async fn dump(
        conn: &mut SqliteConnection,
        table: &str,
        columns: &str,
        key: &str,
    ) -> Vec<String> {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT json_array({columns}) FROM {table} ORDER BY {key}"
        )))
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("dump {table}: {e}"))
    }

    /// A database written by the schema as it was at version 3 (tables with
    /// AUTOINCREMENT) keeps every event, delivery and id across migration 4,
    /// and the migrated tables work as before.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_migration_4_keeps_rows_and_ids() {
        // Named like the integration tests' folders (`skc_…_{pid}_{n}_{micros}`),
        // so their sweep removes it if this test fails before cleaning up.
        let dir = std::env::temp_dir().join(format!(
            "skc_mig4_{}_0_{}",
            std::process::id(),
            Utc::now().timestamp_subsec_micros()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("events.db");
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true);

        // The version-3 database, with rows in several states.
        let mut old = SqliteConnection::connect_with(&options).await.unwrap();
        sqlx::raw_sql("CREATE TABLE skc_schema_version (version INTEGER NOT NULL)")
            .execute(&mut old)
            .await
            .unwrap();
        for (i, sql) in schema::SQLITE[..3].iter().enumerate() {
            sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
                .execute(&mut old)
                .await
                .unwrap();
            sqlx::query("INSERT INTO skc_schema_version (version) VALUES (?)")
                .bind(i as i64 + 1)
                .execute(&mut old)
                .await
                .unwrap();
        }
        for n in 0..5 {
            sqlx::query(
                "INSERT INTO skc_events (id, event_type, aggregate_type, aggregate_id, district_id,
                   payload, metadata, version, occurred_at, handlers)
                 VALUES (?, 'gradebook.grade.posted', 'Result', ?, 'dst-1', '{\"n\":1}', '{}', 1,
                   '2026-11-28T00:00:00.000000Z', '[[\"a\",false],[\"b\",true]]')",
            )
            .bind(Uuid::now_v7().to_string())
            .bind(format!("r-{n}"))
            .execute(&mut old)
            .await
            .unwrap();
        }
        sqlx::raw_sql(
            "UPDATE skc_deliveries SET status = 'dead', attempts = 3, last_error = 'boom' WHERE id = 2;
             UPDATE skc_deliveries SET status = 'active', lease_owner = 'w-1', lease_until = 99 WHERE id = 5;
             UPDATE skc_deliveries SET status = 'done' WHERE id = 7;",
        )
        .execute(&mut old)
        .await
        .unwrap();
        // Later migrations may add columns: the ones there were are compared.
        let event_columns = columns(&mut old, "skc_events").await;
        let delivery_columns = columns(&mut old, "skc_deliveries").await;
        let events = dump(&mut old, "skc_events", &event_columns, "seq").await;
        let deliveries = dump(&mut old, "skc_deliveries", &delivery_columns, "id").await;
        assert_eq!((events.len(), deliveries.len()), (5, 10));
        old.close().await.unwrap();

        let store = Store::sqlite(&path).await.expect("the migration applies");
        let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
        assert_eq!(
            dump(&mut conn, "skc_events", &event_columns, "seq").await,
            events
        );
        assert_eq!(
            dump(&mut conn, "skc_deliveries", &delivery_columns, "id").await,
            deliveries
        );
        let version: i64 = sqlx::query_scalar("SELECT MAX(version) FROM skc_schema_version")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(version, schema::SQLITE.len() as i64);
        let autoincrement: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE sql LIKE '%AUTOINCREMENT%'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(autoincrement, 0);
        let objects: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger')
               AND name LIKE 'skc_%' ORDER BY name",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        assert_eq!(
            objects,
            [
                "skc_deliveries_dead",
                "skc_deliveries_done",
                "skc_deliveries_event",
                "skc_deliveries_finished",
                "skc_deliveries_finished_handler",
                "skc_deliveries_leased",
                "skc_deliveries_ordered",
                "skc_deliveries_replayed",
                "skc_deliveries_waiting",
                "skc_done_counted",
                "skc_done_uncounted",
                "skc_done_undone",
                "skc_events_aggregate",
                "skc_events_correlation",
                "skc_events_occurred",
                "skc_events_route",
                "skc_events_type",
            ]
        );

        // Migration 10 counted the done deliveries there were.
        let all = crate::Scope::AllDistricts;
        let counted = store.stats(&all).await.unwrap();
        assert_eq!(counted, store.recount_stats(&all).await.unwrap());
        let sum = |f: fn(&crate::HandlerStats) -> i64| counted.iter().map(f).sum::<i64>();
        assert_eq!(
            (sum(|h| h.waiting), sum(|h| h.dead), sum(|h| h.completed)),
            (7, 1, 1)
        );

        // New rows follow the old ids, and the trigger queues their deliveries.
        let event = NewEvent {
            id: Uuid::now_v7(),
            event_type: "gradebook.grade.posted".into(),
            aggregate_type: "Result".into(),
            aggregate_id: "r-9".into(),
            version: 1,
            occurred_at: Utc::now(),
            metadata: serde_json::json!({ "districtId": "dst-1" }),
            payload: serde_json::json!({ "n": 2 }),
        };
        let seqs = store
            .append(std::slice::from_ref(&event), |_| {
                vec![Subscriber {
                    handler_id: "a",
                    ordered: false,
                }]
            })
            .await
            .unwrap();
        assert_eq!(seqs, [6]);
        let newest: (i64, i64) =
            sqlx::query_as("SELECT MAX(id), MAX(event_seq) FROM skc_deliveries")
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!(newest, (11, 6));

        // The foreign key points at the new events table.
        let orphan = sqlx::query(
            "INSERT INTO skc_deliveries (event_seq, handler_id, status, available_at, updated_at)
             VALUES (999, 'a', 'waiting', 0, 0)",
        )
        .execute(&mut conn)
        .await;
        assert!(orphan.is_err(), "a delivery of no event was accepted");
        let broken: Vec<(String,)> = sqlx::query_as("PRAGMA foreign_key_check")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        assert!(broken.is_empty(), "{broken:?}");
        conn.close().await.unwrap();
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }
}
