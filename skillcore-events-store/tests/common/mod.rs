//! Runs each test against both backends: a fresh SQLite file and a fresh
//! PostgreSQL schema (so runs never see each other's rows).

#![allow(dead_code)]

use chrono::{TimeZone, Utc};
use serde_json::json;
use skillcore_events_store::{NewEvent, Store};
use uuid::Uuid;

/// The PostgreSQL server the tests use; `.ci/run` makes sure it answers.
pub fn pg_url() -> String {
    std::env::var("SKILLCORE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

mod leftovers;
pub use leftovers::unique;

pub async fn sqlite() -> (Store, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(unique("skc_store"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("events.db");
    (Store::sqlite(&path).await.expect("sqlite store"), path)
}

pub async fn postgres() -> (Store, String) {
    leftovers::sweep_schemas(&pg_url()).await;
    let schema = unique("skc_test");
    let store = Store::postgres(&pg_url(), Some(&schema))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL at {} must answer for these tests: {e}",
                pg_url()
            )
        });
    (store, schema)
}

/// Both backends, labelled.
pub async fn both() -> Vec<(&'static str, Store)> {
    vec![
        ("sqlite", sqlite().await.0),
        ("postgres", postgres().await.0),
    ]
}

pub fn event(
    event_type: &str,
    aggregate_id: &str,
    district: &str,
    payload: serde_json::Value,
) -> NewEvent {
    NewEvent {
        id: Uuid::now_v7(),
        event_type: event_type.into(),
        aggregate_type: "Result".into(),
        aggregate_id: aggregate_id.into(),
        version: 1,
        occurred_at: Utc.with_ymd_and_hms(2025, 11, 17, 14, 3, 0).unwrap(),
        metadata: json!({"districtId": district, "schoolId": "sch-1", "userId": "u-1"}),
        payload,
    }
}

/// Every event of the store in the global order, once `expected` are readable.
/// On PostgreSQL the reader holds back events of transactions newer than the
/// oldest one still open anywhere in the database (other tests' too), so it is
/// polled for up to 10 s; what it hands out over the calls is returned.
pub async fn read_all_eventually(
    store: &Store,
    expected: usize,
) -> Vec<skillcore_events_store::StoredEvent> {
    use skillcore_events_store::{Cursor, Scope};
    let mut events = Vec::new();
    let mut cursor = Cursor::default();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (batch, next) = store
            .read_after(&Scope::AllDistricts, cursor, 1000)
            .await
            .expect("read_after");
        cursor = next;
        events.extend(batch);
        if events.len() >= expected || std::time::Instant::now() > deadline {
            return events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
}

/// Handlers for a [`Worker`](skillcore_events_store::Worker) of the tests:
/// the bus's own handler shape, subscribed by event name (the store tests
/// append events of names no catalog declares).
pub struct Handlers {
    bus: skillcore_events::EventBusBuilder,
}

impl Handlers {
    /// No handlers yet; the bus's default retry policy (3 attempts, 2 s
    /// backoff, 30 s timeout).
    pub fn new() -> Self {
        Handlers {
            bus: skillcore_events::EventBus::builder()
                .log_events(false)
                .log_handlers(false),
        }
    }

    /// Subscribes `f` as handler `id` to each of `events`; it sees the event
    /// as the bus's type-erased envelope and the attempt.
    pub fn on<F, Fut>(
        mut self,
        events: &[&'static str],
        id: &'static str,
        options: skillcore_events::HandlerOptions,
        f: F,
    ) -> Self
    where
        F: Fn(skillcore_events::backend::DynEnvelope, u32) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), skillcore_events::HandlerError>>
            + Send
            + 'static,
    {
        let f = std::sync::Arc::new(f);
        for event in events {
            let handler = std::sync::Arc::new(Closure(std::sync::Arc::clone(&f)));
            self.bus = self.bus.subscribe_dyn(*event, id, options, handler);
        }
        self
    }

    /// A worker on `store` for these handlers.
    pub fn worker(self, store: &Store, id: &str) -> skillcore_events_store::WorkerBuilder {
        let bus = self.bus.build().expect("the test handlers build");
        skillcore_events_store::Worker::builder(store.clone(), bus.dispatcher().clone(), id)
    }
}

impl Default for Handlers {
    fn default() -> Self {
        Handlers::new()
    }
}

struct Closure<F>(std::sync::Arc<F>);

impl<F, Fut> skillcore_events::backend::DynHandler for Closure<F>
where
    F: Fn(skillcore_events::backend::DynEnvelope, u32) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), skillcore_events::HandlerError>> + Send + 'static,
{
    fn call(
        &self,
        envelope: &skillcore_events::backend::DynEnvelope,
        cx: skillcore_events::HandlerContext,
    ) -> skillcore_events::backend::BoxFuture<'static, Result<(), skillcore_events::HandlerError>>
    {
        Box::pin((self.0)(envelope.clone(), cx.attempt))
    }
}
