//! A caller can match the `sqlx::Error` under the bus's and the store's
//! errors: each keeps the error it wraps as its `source()`, down to sqlx's,
//! whether connecting failed, a statement failed, or the pool was closed.

mod common;

use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::{BusError, Envelope, EventBus, Metadata, PublishError, Scope};
use skillcore_events_store::{Durable, Store, StoreError};
use std::error::Error;
use std::time::Duration;

mod events {
    skillcore_events::catalog!("../catalog");
}
use events::{gradebook, LetterGrade};

fn grade() -> Envelope<gradebook::GradePosted> {
    Envelope::new(
        gradebook::GradePosted {
            result_id: skillcore_events::uuid::Uuid::now_v7(),
            line_item_id: "li-1".into(),
            student_id: "stu-1".into(),
            class_id: "cls-1".into(),
            points_earned: 1.0,
            points_possible: 100.0,
            score_percent: 1.0,
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

/// The first `sqlx::Error` on the chain of `e` (itself included).
fn sqlx_error<'a>(e: &'a (dyn Error + 'static)) -> Option<&'a sqlx::Error> {
    let mut at: Option<&(dyn Error + 'static)> = Some(e);
    while let Some(err) = at {
        if let Some(s) = err.downcast_ref::<sqlx::Error>() {
            return Some(s);
        }
        at = err.source();
    }
    None
}

/// A PostgreSQL URL on a closed loopback port.
const NOWHERE: &str = "postgres://postgres@127.0.0.1:1/test";

#[tokio::test]
async fn a_refused_connection_is_an_io_error_under_the_store_error() {
    let err = Store::postgres(NOWHERE, None).await.unwrap_err();
    assert!(matches!(err, StoreError::Connect { .. }), "{err:?}");
    let sqlx = sqlx_error(&err).expect("a sqlx::Error under the store's error");
    assert!(matches!(sqlx, sqlx::Error::Io(_)), "{sqlx:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_that_cannot_connect_leads_to_the_sqlx_error() {
    let bus = EventBus::builder()
        .backend(Durable::postgres(NOWHERE).run_workers(false))
        .build()
        .unwrap();
    let err = bus.publish(grade()).await.unwrap_err();
    let store = err
        .backend_error::<StoreError>()
        .expect("the store's error, as itself");
    assert!(matches!(store, StoreError::Connect { .. }), "{store:?}");
    assert!(
        matches!(sqlx_error(&err), Some(sqlx::Error::Io(_))),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_the_database_refuses_is_a_database_error_on_both_backends() {
    for (name, store) in common::both().await {
        // The database refuses every event: a trigger raises.
        if let Some(pool) = store.sqlite_pool() {
            sqlx::raw_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON skc_events \
                 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
            )
            .execute(pool)
            .await
            .unwrap();
        } else {
            sqlx::raw_sql(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$; \
                 CREATE TRIGGER refuse BEFORE INSERT ON skc_events \
                 FOR EACH ROW EXECUTE FUNCTION refuse();",
            )
            .execute(store.postgres_pool().unwrap())
            .await
            .unwrap();
        }
        let bus = EventBus::builder()
            .backend(Durable::store(store.clone()).run_workers(false))
            .build()
            .unwrap();
        let err: PublishError = bus.publish(grade()).await.unwrap_err();
        let sqlx =
            sqlx_error(&err).unwrap_or_else(|| panic!("{name}: no sqlx::Error under {err:?}"));
        let sqlx::Error::Database(db) = sqlx else {
            panic!("{name}: not a database error: {sqlx:?}");
        };
        assert!(
            db.message().contains("refused by the test"),
            "{name}: {}",
            db.message()
        );
        bus.shutdown(Duration::from_secs(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_query_on_a_closed_pool_is_pool_closed() {
    let (store, _) = common::postgres().await;
    let bus = EventBus::builder()
        .backend(Durable::store(store.clone()).run_workers(false))
        .build()
        .unwrap();
    store.postgres_pool().unwrap().close().await;
    let err: BusError = bus.dead_letters(&Scope::AllDistricts).await.unwrap_err();
    assert!(err.backend_error::<StoreError>().is_some(), "{err:?}");
    assert!(
        matches!(sqlx_error(&err), Some(sqlx::Error::PoolClosed)),
        "{err:?}"
    );
}
