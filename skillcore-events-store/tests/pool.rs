//! Bring your own pool: a service's own `SqlitePool` / `PgPool` serves its
//! own table writes, the store (append and read back) and the bus through
//! `Durable::from_pool`; and a stored event decodes into its generated type.

mod common;

use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::{Envelope, EventBus, Metadata, Scope};
use skillcore_events_store::{Durable, NewEvent, Store, StoreError, StoredEvent};
use std::error::Error;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod events {
    skillcore_events::catalog!("../catalog");
}
use events::{gradebook, LetterGrade};

fn grade(result: u128, comment: Option<&str>) -> Envelope<gradebook::GradePosted> {
    let mut e = Envelope::new(
        gradebook::GradePosted {
            result_id: skillcore_events::uuid::Uuid::from_u128(result),
            line_item_id: "li-1".into(),
            student_id: "stu-1".into(),
            class_id: "cls-1".into(),
            points_earned: 91.0,
            points_possible: 100.0,
            score_percent: 91.0,
            letter_grade: LetterGrade::A,
            previous_score: None,
            graded_by_id: "tch-1".into(),
            posted_at: Utc.with_ymd_and_hms(2025, 11, 17, 14, 3, 0).unwrap(),
            district_id: "dst-1".into(),
            school_id: "sch-1".into(),
            comment: comment.map(str::to_string),
        },
        Metadata::new("dst-1", "sch-1"),
    );
    // Microseconds, as the store keeps them.
    e.occurred_at = Utc.with_ymd_and_hms(2025, 11, 17, 14, 3, 1).unwrap();
    e
}

fn no_subscribers(_: &str) -> Vec<skillcore_events_store::Subscriber<'static>> {
    Vec::new()
}

async fn sqlite_pool() -> sqlx::SqlitePool {
    let dir = std::env::temp_dir().join(common::unique("skc_pool"));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("school.db").display());
    sqlx::SqlitePool::connect(&url).await.expect("sqlite pool")
}

/// A pool whose connections use a fresh schema (created by the store).
async fn pg_pool() -> (sqlx::PgPool, String) {
    let schema = common::unique("skc_test");
    let options: sqlx::postgres::PgConnectOptions = common::pg_url().parse().unwrap();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect_lazy_with(options.options([("search_path", schema.as_str())]));
    (pool, schema)
}

/// The service's own table, next to the store's.
const SQLITE_TABLE: &str = "CREATE TABLE IF NOT EXISTS grades (id TEXT PRIMARY KEY, score REAL)";
const PG_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS grades (id TEXT PRIMARY KEY, score DOUBLE PRECISION)";

async fn append_and_read(store: &Store) -> StoredEvent {
    let raw = grade(1, None).to_raw().unwrap();
    let event = NewEvent::from_raw(&raw).unwrap();
    let seqs = store
        .append(std::slice::from_ref(&event), no_subscribers)
        .await
        .unwrap();
    assert_eq!(seqs.len(), 1);
    let read = common::read_all_eventually(store, 1).await;
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].event, event);
    read[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_services_sqlite_pool_serves_its_writes_and_the_store() {
    let pool = sqlite_pool().await;
    sqlx::query(SQLITE_TABLE).execute(&pool).await.unwrap();
    let store = Store::from_sqlite_pool(pool.clone()).await.unwrap();
    sqlx::query("INSERT INTO grades (id, score) VALUES ('g-1', 91.0)")
        .execute(&pool)
        .await
        .unwrap();
    append_and_read(&store).await;
    // The store's tables are in the service's database, seen by its pool.
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM skc_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    let grades: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM grades")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!((events, grades), (1, 1));
    // Opening again on the same pool migrates nothing twice.
    Store::from_sqlite_pool(pool.clone()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_services_pg_pool_serves_its_writes_and_the_store() {
    let (pool, schema) = pg_pool().await;
    let store = Store::from_pg_pool(pool.clone(), Some(&schema))
        .await
        .unwrap();
    assert!(std::ptr::eq(
        store.postgres_pool().unwrap().connect_options().as_ref(),
        pool.connect_options().as_ref()
    ));
    sqlx::query(PG_TABLE).execute(&pool).await.unwrap();
    sqlx::query("INSERT INTO grades (id, score) VALUES ('g-1', 91.0)")
        .execute(&pool)
        .await
        .unwrap();
    append_and_read(&store).await;
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM skc_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    let grades: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM grades")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!((events, grades), (1, 1));
    // Without a schema: the pool's own.
    Store::from_pg_pool(pool.clone(), None).await.unwrap();
}

#[tokio::test]
async fn a_pg_pool_with_a_bad_or_other_schema_is_refused() {
    let (pool, schema) = pg_pool().await;
    let err = Store::from_pg_pool(pool.clone(), Some("no-dashes"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::InvalidSchemaName(ref s) if s == "no-dashes"),
        "{err:?}"
    );
    let err = Store::from_pg_pool(pool.clone(), Some(&format!("{schema}_other")))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::PoolSchema { .. }), "{err:?}");
    assert!(err.to_string().contains("search_path"), "{err}");
    // A bad name through the bus's value too.
    let err = Store::postgres(&common::pg_url(), Some("bad;name"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidSchemaName(_)), "{err:?}");
}

/// The bus on the service's pool: a publish runs the handler, and the
/// service's own table on the same pool is written in the same test.
async fn bus_on(backend: Durable<impl Send + 'static>, domain_write: impl std::future::Future) {
    let runs = Arc::new(AtomicU32::new(0));
    let counted = runs.clone();
    let bus = EventBus::builder()
        .log_events(false)
        .log_handlers(false)
        .subscribe::<gradebook::GradePosted, _, _>("analytics.update_gpa", move |e, _cx| {
            let counted = counted.clone();
            async move {
                assert_eq!(e.payload.score_percent, 91.0);
                counted.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .backend(backend)
        .build()
        .unwrap();
    bus.publish(grade(7, None)).await.unwrap();
    tokio::time::timeout(Duration::from_secs(20), bus.idle())
        .await
        .expect("bus goes idle");
    domain_write.await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let store = Store::of(&bus).await.unwrap();
    let stored = common::read_all_eventually(&store, 1).await;
    let decoded = stored[0].decode::<gradebook::GradePosted>().unwrap();
    assert_eq!(decoded.payload, grade(7, None).payload);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bus_runs_on_a_services_sqlite_pool() {
    let pool = sqlite_pool().await;
    sqlx::query(SQLITE_TABLE).execute(&pool).await.unwrap();
    let p = pool.clone();
    bus_on(Durable::from_pool(pool.clone()), async move {
        sqlx::query("INSERT INTO grades (id, score) VALUES ('g-7', 91.0)")
            .execute(&p)
            .await
            .unwrap();
    })
    .await;
    let (grades, events): (i64, i64) =
        sqlx::query_as("SELECT (SELECT COUNT(*) FROM grades), (SELECT COUNT(*) FROM skc_events)")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((grades, events), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bus_runs_on_a_services_pg_pool() {
    let (pool, schema) = pg_pool().await;
    let p = pool.clone();
    bus_on(
        Durable::from_pool(pool.clone()).schema(schema),
        async move {
            sqlx::query(PG_TABLE).execute(&p).await.unwrap();
            sqlx::query("INSERT INTO grades (id, score) VALUES ('g-7', 91.0)")
                .execute(&p)
                .await
                .unwrap();
        },
    )
    .await;
    let (grades, events): (i64, i64) =
        sqlx::query_as("SELECT (SELECT COUNT(*) FROM grades), (SELECT COUNT(*) FROM skc_events)")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((grades, events), (1, 1));
}

#[tokio::test]
async fn a_stored_event_decodes_into_its_type_and_back_to_raw() {
    let (store, _) = common::sqlite().await;
    let envelope = grade(3, Some("well argued"));
    let event = NewEvent::from_raw(&envelope.to_raw().unwrap()).unwrap();
    store
        .append(std::slice::from_ref(&event), no_subscribers)
        .await
        .unwrap();
    let stored = common::read_all_eventually(&store, 1).await;
    let decoded = stored[0].decode::<gradebook::GradePosted>().unwrap();
    assert_eq!(decoded.id, envelope.id);
    assert_eq!(decoded.payload, envelope.payload);
    assert_eq!(decoded.metadata, envelope.metadata);
    assert_eq!(stored[0].to_raw().unwrap(), envelope.to_raw().unwrap());
}

#[tokio::test]
async fn a_payload_of_the_wrong_shape_names_the_field_never_the_pii_value() {
    let (store, _) = common::sqlite().await;
    let mut event = NewEvent::from_raw(&grade(4, None).to_raw().unwrap()).unwrap();
    // `comment` is pii on gradebook.grade.posted (catalog/gradebook.yaml).
    event.payload["comment"] = serde_json::json!(["Jane Roe failed her retake"]);
    store
        .append(std::slice::from_ref(&event), no_subscribers)
        .await
        .unwrap();
    let stored = common::read_all_eventually(&store, 1).await;
    let err = stored[0].decode::<gradebook::GradePosted>().unwrap_err();
    let text = err.to_string();
    assert!(text.contains("comment"), "{text}");
    assert!(!text.contains("Jane Roe"), "{text}");
    assert!(!format!("{err:?}").contains("Jane Roe"), "{err:?}");
    let source = err.source().expect("the DecodeError as source");
    let decode = source
        .downcast_ref::<skillcore_events::DecodeError>()
        .expect("a DecodeError");
    assert!(
        matches!(decode, skillcore_events::DecodeError::InvalidPayload { field, .. } if field == "comment"),
        "{decode:?}"
    );
    // Another event's type: the error says which.
    let err = stored[0]
        .decode::<events::gradebook::GradeDeleted>()
        .err()
        .map(|e| e.to_string());
    assert!(err.is_some_and(|e| e.contains("gradebook.grade.posted")));
    let _ = Scope::AllDistricts;
}
