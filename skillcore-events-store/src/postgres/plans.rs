//! The query plans of the store's statements on PostgreSQL, held to what each
//! must be, as `sqlite/plans.rs` holds SQLite's. Each statement is prepared
//! and explained as a generic plan (`plan_cache_mode = force_generic_plan`,
//! parameters NULL) with sequential scans disabled (`enable_seqscan = off`):
//! on a fresh store the planner would scan the small tables whatever the
//! indexes, so a `Seq Scan` left in the plan means no index can serve it.
//!
//! `cargo test -p skillcore-events-store --lib plans -- --nocapture` prints
//! every plan (`docs/performance.md`, "Query plans").

use super::{sql, PgDb};
use crate::plans::{verdict, Reach};
use crate::store::Dialect;
use crate::Store;

/// The highest `$N` of `statement`: how many parameters it takes.
fn parameters(statement: &str) -> usize {
    let b = statement.as_bytes();
    let mut max = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if let Ok(n) = statement[i + 1..i + 1 + digits].parse::<usize>() {
                max = max.max(n);
            }
            i += digits;
        }
        i += 1;
    }
    max
}

/// The partial indexes of the deliveries in one unfinished state (waiting,
/// active) or dead: reading one whole reads those rows only, which do not
/// grow with the finished deliveries.
/// Also the discarded and cancelled ones (`skc_deliveries_finished`): rare
/// states, pruned by retention, never on a delivery's way to done.
const STATE_INDEXES: [&str; 5] = [
    "skc_deliveries_waiting",
    "skc_deliveries_leased",
    "skc_deliveries_dead",
    "skc_deliveries_finished",
    "skc_deliveries_finished_handler",
];

/// The plan nodes that read a whole growing table: a `Seq Scan` of one, or an
/// index scan of one without an `Index Cond` (the whole index in its order),
/// but for the scans of [`STATE_INDEXES`].
fn whole_reads(steps: &[String]) -> Vec<&str> {
    let indent = |s: &str| s.len() - s.trim_start().len();
    let mut out = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let s = step.trim();
        let on_growing = s.contains(" on skc_events") || s.contains(" on skc_deliveries");
        // A bitmap heap scan reads what the bitmap index scan under it found.
        if !on_growing || !s.contains("Scan") || s.contains("Bitmap Heap Scan") {
            continue;
        }
        if s.contains("Seq Scan") {
            out.push(s);
            continue;
        }
        if STATE_INDEXES.iter().any(|x| s.contains(&format!(" {x} "))) {
            continue;
        }
        // The node's own details are the lines below it indented further.
        let conditioned = steps[i + 1..]
            .iter()
            .take_while(|d| indent(d) > indent(step))
            .any(|d| d.contains("Index Cond:"));
        if !conditioned {
            out.push(s);
        }
    }
    out
}

/// A store in a schema of its own for the plan tests, dropped by
/// [`PlanStore::remove`].
struct PlanStore {
    store: Store,
    schema: String,
}

impl PlanStore {
    async fn new() -> PlanStore {
        let url = std::env::var("SKILLCORE_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let schema = format!("skc_plans_{}", uuid::Uuid::now_v7().simple());
        let store = Store::postgres(&url, Some(&schema))
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {url} (start it: scripts/test does): {e}"));
        PlanStore { store, schema }
    }

    fn pool(&self) -> &sqlx::PgPool {
        let Dialect::Postgres(PgDb { pool, .. }) = &self.store.dialect else {
            unreachable!("a PostgreSQL store")
        };
        pool
    }

    /// A connection that plans as the tests read plans: sequential scans
    /// off (so an index that can serve a statement shows), generic plans.
    async fn planning_conn(&self) -> sqlx::pool::PoolConnection<sqlx::Postgres> {
        let mut conn = self.pool().acquire().await.unwrap();
        sqlx::raw_sql("SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan")
            .execute(&mut *conn)
            .await
            .unwrap();
        conn
    }

    async fn remove(self) {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
            self.schema
        )))
        .execute(self.pool())
        .await;
    }
}

#[tokio::test]
async fn every_statement_reaches_the_growing_tables_as_it_must() {
    let plans = PlanStore::new().await;
    let statements: Vec<(&str, &str, Reach)> = vec![
        ("append one", &sql::APPEND_ONE, Reach::Index),
        ("append many", &sql::APPEND_MANY, Reach::Index),
        ("claim", &sql::CLAIM, Reach::Index),
        ("complete and claim", &sql::COMPLETE_AND_CLAIM, Reach::Index),
        ("complete", &sql::COMPLETE, Reach::Index),
        ("record handled", &sql::RECORD_HANDLED, Reach::Index),
        ("release", &sql::RELEASE, Reach::Index),
        ("fail", &sql::FAIL, Reach::Index),
        ("dead letter unrun", &sql::DEAD_LETTER_UNRUN, Reach::Index),
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
            Reach::Index,
        ),
        ("aggregate events", &sql::AGGREGATE_EVENTS, Reach::Index),
        (
            "events by payload field",
            &sql::EVENTS_BY_FIELD,
            Reach::Index,
        ),
        (
            "events by type and time",
            &sql::EVENTS_BY_TYPE,
            Reach::Index,
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
        ("renew leases", &sql::RENEW_LEASES, Reach::Index),
        ("expire own leases", &sql::EXPIRE_OWN_LEASES, Reach::Index),
        ("stalled leases", &sql::STALLED_LEASES, Reach::Index),
        ("cancel replay", &sql::CANCEL_REPLAY, Reach::Index),
        ("handler held", &sql::HANDLER_HELD, Reach::Index),
        (
            "drop handler",
            &sql::DROP_HANDLER,
            Reach::Whole("`queue drop`: reads every delivery for the gone handler's"),
        ),
        ("drop handled", sql::DROP_HANDLED, Reach::Index),
    ];
    let mut conn = plans.planning_conn().await;
    let mut wrong = Vec::new();
    for (name, statement, reach) in statements {
        let steps = generic_plan(&mut conn, statement).await;
        let whole = whole_reads(&steps);
        wrong.extend(verdict(name, reach, &steps, &whole));
    }
    drop(conn);
    plans.remove().await;
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The generic plan of `statement` on `conn`, its parameters NULL, one
/// line per plan line.
async fn generic_plan(conn: &mut sqlx::PgConnection, statement: &str) -> Vec<String> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "PREPARE skc_field_plan AS {statement}"
    )))
    .execute(&mut *conn)
    .await
    .unwrap_or_else(|e| panic!("PREPARE of {statement}: {e}"));
    let nulls = vec!["NULL"; parameters(statement)].join(", ");
    let args = if nulls.is_empty() {
        String::new()
    } else {
        format!("({nulls})")
    };
    let steps: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "EXPLAIN EXECUTE skc_field_plan{args}"
    )))
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    sqlx::raw_sql("DEALLOCATE skc_field_plan")
        .execute(&mut *conn)
        .await
        .unwrap();
    steps
}

/// A search of a payload field reads the field's index once there is one
/// (`Store::create_field_index`, built concurrently), and the type's index
/// before; dropping it goes back to the type's.
#[tokio::test]
async fn a_field_search_reads_the_field_index_once_made() {
    let plans = PlanStore::new().await;
    let store = &plans.store;
    let (event, field) = ("gradebook.grade.posted", "studentId");
    let search = sql::events_by_indexed_field(event, field);
    let mut conn = plans.planning_conn().await;
    let before = generic_plan(&mut conn, &search).await.join(" | ");
    assert!(before.contains("skc_events_type_seq"), "{before}");

    let index = store.create_field_index(event, field).await.unwrap();
    let after = generic_plan(&mut conn, &search).await.join(" | ");
    assert!(after.contains(&format!(" {} ", index.index)), "{after}");
    let other = generic_plan(&mut conn, &sql::events_by_indexed_field(event, "courseId"))
        .await
        .join(" | ");
    assert!(!other.contains(&index.index), "{other}");

    assert!(store.drop_field_index(event, field).await.unwrap());
    let dropped = generic_plan(&mut conn, &search).await.join(" | ");
    assert!(!dropped.contains(&index.index), "{dropped}");
    drop(conn);
    plans.remove().await;
}

/// `queue stats` across districts finds the handlers with discarded or
/// cancelled deliveries one index entry each, a skip from one handler to the
/// next (`skc_deliveries_finished_handler`), never by reading every such
/// delivery from the retention index.
#[tokio::test]
async fn stats_skip_from_handler_to_handler_over_the_finished_deliveries() {
    let plans = PlanStore::new().await;
    let mut conn = plans.planning_conn().await;
    let steps = generic_plan(&mut conn, &sql::STATS_ALL).await;
    let finished: Vec<&String> = steps
        .iter()
        .filter(|s| s.contains("skc_deliveries_finished"))
        .collect();
    assert!(!finished.is_empty(), "{steps:#?}");
    assert!(
        finished
            .iter()
            .all(|s| s.contains("skc_deliveries_finished_handler")),
        "{steps:#?}"
    );
    // The skip: a recursive step from handler to handler (the index read
    // whole would also serve a plain scan of every such delivery).
    let plan = steps.join("\n");
    assert!(plan.contains("Recursive Union"), "{plan}");
    drop(conn);
    plans.remove().await;
}

#[test]
fn parameters_are_counted_by_their_highest_number() {
    assert_eq!(parameters("SELECT $1, $2, $10 FROM t WHERE a = $3"), 10);
    assert_eq!(parameters("SELECT 1"), 0);
    assert_eq!(parameters("SELECT '$' || $2"), 2);
}
