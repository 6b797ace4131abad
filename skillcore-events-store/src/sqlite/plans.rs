//! The query plans of the store's statements on SQLite (`EXPLAIN QUERY
//! PLAN`), held to what each statement must be: reached from an index on the
//! two tables that grow (events and deliveries), or, for the few that read a
//! whole table or index by design, exactly that. A change to a statement or an
//! index that turns a lookup into a scan fails here.
//!
//! `cargo test -p skillcore-events-store --lib plans -- --nocapture` prints
//! every plan (`docs/performance.md`, "Query plans").

use super::{sql, SqliteDb};
use crate::plans::{verdict, Reach};
use crate::store::Dialect;
use crate::Store;

/// The plan of `statement`, a line per step (`SCAN`, `SEARCH`, ...).
async fn plan(db: &SqliteDb, statement: &str) -> Vec<String> {
    let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "EXPLAIN QUERY PLAN {statement}"
    )))
    .fetch_all(&db.read)
    .await
    .unwrap_or_else(|e| panic!("EXPLAIN of {statement}: {e}"));
    rows.into_iter().map(|r| r.3).collect()
}

/// The partial indexes of the deliveries in one unfinished state (waiting,
/// active) or dead: a scan of one reads those rows only, which do not grow
/// with the finished deliveries.
/// Also the discarded and cancelled ones (`skc_deliveries_finished`): rare
/// states, pruned by retention, never on a delivery's way to done.
const STATE_INDEXES: [&str; 5] = [
    "skc_deliveries_waiting",
    "skc_deliveries_leased",
    "skc_deliveries_dead",
    "skc_deliveries_finished",
    "skc_deliveries_finished_handler",
];

/// The steps that read a whole growing table or index: `SCAN t` and `SCAN t
/// USING [COVERING] INDEX i` on a table that grows, under any alias, but for
/// the scans of [`STATE_INDEXES`].
fn whole_reads(steps: &[String]) -> Vec<&str> {
    const GROWING: [&str; 6] = [
        "skc_events",
        "skc_deliveries",
        "skc_handled",
        "e",
        "d",
        "he",
    ];
    steps
        .iter()
        .map(String::as_str)
        .filter(|s| {
            let Some(rest) = s.strip_prefix("SCAN ") else {
                return false;
            };
            let words: Vec<&str> = rest.split_whitespace().collect();
            let table = words.first().copied().unwrap_or("");
            let index = words.last().copied().unwrap_or("");
            GROWING.contains(&table) && !STATE_INDEXES.contains(&index)
        })
        .collect()
}

/// A fresh SQLite store in a folder of its own, removed when dropped.
struct PlanStore {
    store: Store,
    dir: std::path::PathBuf,
}

impl PlanStore {
    async fn new(tag: &str) -> PlanStore {
        let dir = std::env::temp_dir().join(format!(
            "skc-plans-{tag}-{}-{}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::sqlite(dir.join("plans.db")).await.unwrap();
        PlanStore { store, dir }
    }

    fn db(&self) -> &SqliteDb {
        let Dialect::Sqlite(db) = &self.store.dialect else {
            unreachable!("a SQLite store")
        };
        db
    }
}

impl Drop for PlanStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn every_statement_reaches_the_growing_tables_as_it_must() {
    let plans = PlanStore::new("all").await;
    let db = plans.db();
    let statements: Vec<(&str, &str, Reach)> = vec![
        ("complete and claim", &sql::COMPLETE_AND_CLAIM, Reach::Index),
        ("claimed", sql::CLAIMED, Reach::Index),
        ("completed", sql::COMPLETED, Reach::Index),
        ("release", sql::RELEASE, Reach::Index),
        ("fail", sql::FAIL, Reach::Index),
        ("dead letter unrun", sql::DEAD_LETTER_UNRUN, Reach::Index),
        ("mark alone", sql::MARK_ALONE, Reach::Index),
        ("dead letters", &sql::DEAD_LETTERS, Reach::Index),
        ("retry dead", &sql::RETRY_DEAD, Reach::Index),
        ("discard dead", &sql::DISCARD_DEAD, Reach::Index),
        ("has pending", sql::HAS_PENDING, Reach::Index),
        // The done counters (a few rows per district and handler) and the
        // waiting, active and dead deliveries by their partial indexes.
        ("queue stats, all districts", &sql::STATS_ALL, Reach::Index),
        ("queue stats, one district", &sql::STATS_DISTRICT, Reach::Index),
        (
            "queue recount, all districts",
            &sql::RECOUNT_ALL,
            Reach::Whole("counts every delivery, to check the counters"),
        ),
        (
            "queue recount, one district",
            &sql::RECOUNT_DISTRICT,
            Reach::Whole("counts every delivery of the district's events"),
        ),
        ("aggregate events", &sql::AGGREGATE_EVENTS, Reach::Index),
        // The type's index: the time range is compared per event of the type.
        (
            "events by type and time",
            &sql::EVENTS_BY_TYPE,
            Reach::Index,
        ),
        (
            "events by payload field",
            &sql::EVENTS_BY_FIELD,
            Reach::Index, // the type's index; the field is compared per event of the type
        ),
        ("read after", &sql::READ_AFTER, Reach::Index),
        (
            "replay",
            &sql::REPLAY,
            Reach::Whole("of every type: reads the events in order, filtered by time and district as it goes"),
        ),
        ("replay of one type", &sql::REPLAY_OF_TYPE, Reach::Index),
        // The time index: the events since the time, of every type.
        ("replay since a time", &sql::REPLAY_SINCE, Reach::Index),
        (
            "replay of one type since a time",
            &sql::REPLAY_OF_TYPE_SINCE,
            Reach::Index,
        ),
        ("replay progress", sql::REPLAY_PROGRESS, Reach::Index),
        ("renew leases", sql::RENEW_LEASES, Reach::Index),
        ("expire own leases", sql::EXPIRE_OWN_LEASES, Reach::Index),
        ("stalled leases", &sql::STALLED_LEASES, Reach::Index),
        ("cancel replay", &sql::CANCEL_REPLAY, Reach::Index),
        ("handler held", &sql::HANDLER_HELD, Reach::Index),
        // One stretch of ids at a time (see `manage.rs`).
        ("drop handler", &sql::DROP_HANDLER, Reach::Index),
        ("max delivery id", sql::MAX_DELIVERY_ID, Reach::Index),
        ("drop handled", sql::DROP_HANDLED, Reach::Index),
    ];
    let mut wrong = Vec::new();
    for (name, statement, reach) in statements {
        let steps = plan(db, statement).await;
        let whole = whole_reads(&steps);
        wrong.extend(verdict(name, reach, &steps, &whole));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A search of a payload field reads the field's index once there is one
/// (`Store::create_field_index`), and the type's index before; dropping it
/// goes back to the type's.
#[tokio::test]
async fn a_field_search_reads_the_field_index_once_made() {
    let plans = PlanStore::new("field").await;
    let (store, db) = (&plans.store, plans.db());
    let (event, field) = ("gradebook.grade.posted", "studentId");
    let name = crate::field_index::index_name(event, field);
    let search = sql::events_by_indexed_field(event, field, None);
    let before = plan(db, &search).await.join(" | ");
    assert!(before.contains("skc_events_type"), "{before}");
    let exists = || async {
        sqlx::query_scalar::<_, bool>(sql::INDEX_EXISTS)
            .bind(&name)
            .fetch_one(&db.read)
            .await
            .unwrap()
    };
    assert!(!exists().await);

    let index = store.create_field_index(event, field).await.unwrap();
    assert_eq!(index.index, name);
    assert!(exists().await);
    // The search as the store makes it once the index is there.
    let hinted = sql::events_by_indexed_field(event, field, Some(&name));
    let after = plan(db, &hinted).await.join(" | ");
    assert!(
        after.contains(&format!("USING INDEX {} (<expr>=?)", index.index)),
        "{after}"
    );
    // Another field of the type is not served by it.
    let other = plan(db, &sql::events_by_indexed_field(event, "courseId", None))
        .await
        .join(" | ");
    assert!(!other.contains(&index.index), "{other}");

    assert!(store.drop_field_index(event, field).await.unwrap());
    assert!(!exists().await);
}

/// `queue stats` across districts finds the handlers with discarded or
/// cancelled deliveries one index entry each (a skip from one handler to the
/// next), not by reading every such delivery: a replay of millions cancelled
/// must not make it slow.
#[tokio::test]
async fn stats_skip_from_handler_to_handler_over_the_finished_deliveries() {
    let plans = PlanStore::new("stats").await;
    let db = plans.db();
    let steps = plan(db, &sql::STATS_ALL).await;
    let finished: Vec<&String> = steps
        .iter()
        .filter(|s| s.contains("skc_deliveries_finished"))
        .collect();
    // The first handler is the index's first entry (a scan stopped by
    // `LIMIT 1`), each next one a search past the last.
    assert!(
        finished
            .iter()
            .all(|s| s.contains("USING INDEX skc_deliveries_finished_handler")),
        "{steps:?}"
    );
    assert!(
        finished
            .iter()
            .any(|s| s.starts_with("SEARCH") && s.contains("(handler_id>?)")),
        "{steps:?}"
    );
}
