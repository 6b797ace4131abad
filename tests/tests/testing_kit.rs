//! The seed's step 6 ("Add Integration Test", GradePostedHandler.test.ts)
//! written with the testing kit, as docs/guide.md shows it: the two
//! handlers of the seed's test (analytics updates the GPA, interventions
//! opens one for a failing grade) on SkillCore's own catalog, fixtures from
//! its `examples:`, a `TestBus` on paused time; then the same handlers on
//! the durable path with a `TempStore` (SQLite, PostgreSQL), removed on drop.

use skillcore_events::store::testing::TempStore;
use skillcore_events::store::{Scope, Store};
use skillcore_events::testing::TestBus;
use skillcore_events::{handler, Envelope, EventBus, HandlerError};
use skillcore_events_tests::skillcore::gradebook::GradePosted;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

// ------------------------------------------------ the code under test

/// The analytics context's state: the percent scores of each student.
#[derive(Default)]
struct Analytics {
    scores: Mutex<HashMap<String, Vec<f64>>>,
}

impl Analytics {
    /// The GPA on a 4-point scale (`None`: no grade yet).
    fn gpa(&self, student: &str) -> Option<f64> {
        let scores = self.scores.lock().unwrap();
        let s = scores.get(student)?;
        let points = |p: f64| ((p - 50.0) / 10.0).clamp(0.0, 4.0).floor();
        Some(s.iter().map(|p| points(*p)).sum::<f64>() / s.len() as f64)
    }
}

/// The interventions context's state: the interventions opened.
#[derive(Default)]
struct Interventions {
    opened: Mutex<Vec<(String, &'static str, f64)>>,
}

#[handler(
    "gradebook.grade.posted",
    name = "analytics.update_gpa",
    catalog = "../catalog"
)]
async fn update_gpa(
    event: &Envelope<GradePosted>,
    analytics: &Analytics,
) -> Result<(), HandlerError> {
    let p = &event.payload;
    analytics
        .scores
        .lock()
        .unwrap()
        .entry(p.student_id.clone())
        .or_default()
        .push(p.score_percent);
    Ok(())
}

#[handler(
    "gradebook.grade.posted",
    name = "interventions.check_failing_grade",
    catalog = "../catalog"
)]
async fn check_failing_grade(
    event: &Envelope<GradePosted>,
    interventions: &Interventions,
) -> Result<(), HandlerError> {
    let p = &event.payload;
    if p.score_percent < 60.0 {
        interventions.opened.lock().unwrap().push((
            p.student_id.clone(),
            "failing_grade",
            p.score_percent,
        ));
    }
    Ok(())
}

// ------------------------------------------------ the seed's test, with the kit

struct World {
    bus: TestBus,
    analytics: Arc<Analytics>,
    interventions: Arc<Interventions>,
}

fn world() -> World {
    let analytics = Arc::new(Analytics::default());
    let interventions = Arc::new(Interventions::default());
    let bus = TestBus::build(
        EventBus::builder()
            .register_all()
            .with_state(Arc::clone(&analytics))
            .with_state(Arc::clone(&interventions)),
    )
    .unwrap();
    World {
        bus,
        analytics,
        interventions,
    }
}

#[tokio::test(start_paused = true)]
async fn updates_student_gpa_when_grade_posted() {
    let World { bus, analytics, .. } = world();
    // The catalog's example: stu-789, 85 %, B. Its tenant comes from the
    // payload (`metadata:` in the catalog), so the payload is enough.
    bus.publish(GradePosted::example()).await.unwrap();
    bus.settle().await;

    bus.assert_handled("analytics.update_gpa");
    assert_eq!(analytics.gpa("stu-789"), Some(3.0));
}

#[tokio::test(start_paused = true)]
async fn triggers_intervention_for_failing_grade() {
    let World {
        bus, interventions, ..
    } = world();
    let failing = GradePosted {
        points_earned: 22.5,
        score_percent: 45.0,
        letter_grade: skillcore_events_tests::skillcore::LetterGrade::F,
        ..GradePosted::example()
    };
    bus.publish(failing).await.unwrap();
    bus.settle().await;

    bus.assert_handled("interventions.check_failing_grade");
    assert_eq!(
        *interventions.opened.lock().unwrap(),
        [("stu-789".to_string(), "failing_grade", 45.0)]
    );
    bus.assert_published::<GradePosted>(|g| g.payload.score_percent == 45.0);
}

#[tokio::test(start_paused = true)]
async fn a_passing_grade_opens_no_intervention() {
    let World {
        bus, interventions, ..
    } = world();
    bus.publish(GradePosted::example()).await.unwrap();
    bus.settle().await;
    bus.assert_handled("interventions.check_failing_grade");
    assert!(interventions.opened.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "none of the 1 published `gradebook.grade.posted` events matches")]
async fn the_assertion_fails_when_nothing_matches() {
    let World { bus, .. } = world();
    bus.publish(GradePosted::example()).await.unwrap();
    bus.settle().await;
    bus.assert_published::<GradePosted>(|g| g.payload.student_id == "stu-000");
}

// ------------------------------------------------ the durable path

async fn on_the_durable_path(durable: impl skillcore_events::backend::BackendConfig) {
    let analytics = Arc::new(Analytics::default());
    let bus = TestBus::build(
        EventBus::builder()
            .register_all()
            .with_state(Arc::clone(&analytics))
            .with_state(Arc::new(Interventions::default()))
            .backend(durable),
    )
    .unwrap();
    bus.publish(GradePosted::example()).await.unwrap();
    bus.settle().await;
    bus.assert_handled("analytics.update_gpa");
    bus.assert_handled("interventions.check_failing_grade");
    assert_eq!(analytics.gpa("stu-789"), Some(3.0));
    let store = Store::of(&bus).await.unwrap();
    let stored = store
        .events_by_type(
            &Scope::District("dst-222".into()),
            "gradebook.grade.posted",
            chrono_epoch(),
            skillcore_events::chrono::Utc::now() + skillcore_events::chrono::Duration::minutes(1),
        )
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    bus.shutdown(std::time::Duration::from_secs(5)).await;
}

fn chrono_epoch() -> skillcore_events::chrono::DateTime<skillcore_events::chrono::Utc> {
    skillcore_events::chrono::DateTime::UNIX_EPOCH
}

#[tokio::test]
async fn temp_sqlite_store_is_removed_on_drop() {
    let store = TempStore::sqlite();
    let dir = store.path().parent().unwrap().to_path_buf();
    on_the_durable_path(store.durable()).await;
    assert!(
        store.path().exists(),
        "the bus wrote {}",
        store.path().display()
    );
    drop(store);
    assert!(!dir.exists(), "{} is left behind", dir.display());
}

#[tokio::test]
async fn temp_postgres_schema_is_dropped_on_drop() {
    let store = TempStore::postgres().await;
    let (url, schema) = (store.url().to_string(), store.schema().to_string());
    on_the_durable_path(store.durable()).await;
    let count = || async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_namespace WHERE nspname = $1")
            .bind(&schema)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        n
    };
    assert_eq!(count().await, 1);
    drop(store);
    assert_eq!(count().await, 0, "schema {schema} is left behind");
}
