//! What the model test drives: the handlers and their scripted outcomes, the
//! store it opens and reopens, and the rows it reads back after every step.

use serde_json::json;
use skillcore_events::backend::{BoxFuture, DynEnvelope, DynHandler};
use skillcore_events::{EventBus, HandlerContext, HandlerError, HandlerOptions, RetryPolicy};
use skillcore_events_store::{Durability, NewEvent, PostgresCommit, Store, Subscriber, Worker};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

/// A handler of the model: its id, whether it is ordered, its attempts in all
/// and the delay before a retry.
pub struct HandlerSpec {
    pub id: &'static str,
    pub ordered: bool,
    pub max_attempts: u32,
    pub backoff: Duration,
}

pub const HANDLERS: [HandlerSpec; 3] = [
    HandlerSpec {
        id: "model.plain",
        ordered: false,
        max_attempts: 3,
        backoff: Duration::ZERO,
    },
    HandlerSpec {
        id: "model.ordered",
        ordered: true,
        max_attempts: 2,
        backoff: Duration::from_millis(15),
    },
    HandlerSpec {
        id: "model.once",
        ordered: false,
        max_attempts: 1,
        backoff: Duration::ZERO,
    },
];

pub fn spec(handler: &str) -> &'static HandlerSpec {
    HANDLERS
        .iter()
        .find(|h| h.id == handler)
        .unwrap_or_else(|| panic!("the model has no handler `{handler}`"))
}

/// Event types and the handlers each is delivered to.
pub const TYPES: [(&str, &[&str]); 3] = [
    ("model.a.happened", &["model.plain", "model.ordered"]),
    ("model.b.happened", &["model.ordered", "model.once"]),
    ("model.c.happened", &["model.plain"]),
];

pub fn handlers_of(event_type: &str) -> &'static [&'static str] {
    TYPES
        .iter()
        .find(|(t, _)| *t == event_type)
        .map_or(&[], |(_, h)| *h)
}

pub fn subscribers(event_type: &str) -> Vec<Subscriber<'static>> {
    handlers_of(event_type)
        .iter()
        .map(|h| Subscriber {
            handler_id: h,
            ordered: spec(h).ordered,
        })
        .collect()
}

/// The handlers' timeout. A worker's lease is the timeout (twice, for a `run`
/// loop claiming ahead) plus [`LEASE_MARGIN`]: long enough for a step on a
/// busy machine, short enough to wait out when a "process" died holding
/// deliveries.
pub const LEASE: Duration = Duration::from_millis(120);
pub const LEASE_MARGIN: Duration = Duration::from_millis(80);

/// splitmix64: small, seedable, and the same on every machine.
#[derive(Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// What a handler does on one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Ok,
    /// `Failure::Retry`.
    Retry,
    /// `Failure::Dead`.
    Dead,
    /// Takes its process down (abort, stack overflow, out of memory): the
    /// handler never returns and the test kills the worker with everything it
    /// had in flight.
    Crash,
}

impl Action {
    /// The error a failed attempt records.
    pub fn message(self, handler: &str, attempt: u32) -> String {
        match self {
            Action::Retry => format!("model retry: {handler} attempt {attempt}"),
            Action::Dead => format!("model dead: {handler} attempt {attempt}"),
            Action::Ok | Action::Crash => String::new(),
        }
    }
}

/// One call of a handler, in the order the calls happened.
#[derive(Clone, Debug)]
pub struct Invocation {
    pub event: Uuid,
    pub handler: &'static str,
    pub attempt: u32,
    pub action: Action,
}

/// What the handlers share with the test: the script, the log of calls and the
/// signal that a handler has "crashed" its process.
#[derive(Clone)]
pub struct Script {
    seed: u64,
    /// Percentages of Retry, Dead and Crash (the rest succeed).
    odds: Arc<Mutex<(u64, u64, u64)>>,
    pub log: Arc<Mutex<Vec<Invocation>>>,
    pub crashed: Arc<tokio::sync::Notify>,
}

impl Script {
    /// Odds of 25 % retry, 5 % give up, 12 % crash, or what `SKC_MODEL_ODDS`
    /// says (`retry,dead,crash` percentages).
    pub fn new(seed: u64) -> Script {
        let odds = std::env::var("SKC_MODEL_ODDS")
            .ok()
            .and_then(|s| {
                let v: Vec<u64> = s.split(',').filter_map(|n| n.trim().parse().ok()).collect();
                (v.len() == 3).then(|| (v[0], v[1], v[2]))
            })
            .unwrap_or((25, 5, 12));
        Script {
            seed,
            odds: Arc::new(Mutex::new(odds)),
            log: Arc::default(),
            crashed: Arc::default(),
        }
    }

    /// Every attempt from now on succeeds (to let the queue settle).
    pub fn all_succeed(&self) {
        self.set_odds(0, 0, 0);
    }

    /// Percentages of calls from now on that retry, give up and crash.
    pub fn set_odds(&self, retry: u64, dead: u64, crash: u64) {
        *self.odds.lock().unwrap() = (retry, dead, crash);
    }

    /// The script for one worker step: its own crash signal, so that a crash
    /// of an earlier step is never taken for one of this step.
    pub fn for_step(&self) -> Script {
        Script {
            crashed: Arc::default(),
            ..self.clone()
        }
    }

    /// The outcome of `attempt` of `handler` on `event`: a function of the
    /// case's seed, so a failing case replays the same way.
    pub fn action(&self, event: Uuid, handler: &str, attempt: u32) -> Action {
        let (id_hi, id_lo) = event.as_u64_pair();
        let h = handler
            .bytes()
            .fold(0u64, |a, b| a.wrapping_mul(31) ^ b as u64);
        let r = mix(self.seed ^ mix(id_hi ^ mix(id_lo ^ mix(h ^ attempt as u64)))) % 100;
        let (retry, dead, crash) = *self.odds.lock().unwrap();
        if r < retry {
            Action::Retry
        } else if r < retry + dead {
            Action::Dead
        } else if r < retry + dead + crash {
            Action::Crash
        } else {
            Action::Ok
        }
    }

    pub fn take_log(&self) -> Vec<Invocation> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

struct Scripted {
    handler: &'static str,
    script: Script,
}

impl DynHandler for Scripted {
    fn call(
        &self,
        envelope: &DynEnvelope,
        cx: HandlerContext,
    ) -> BoxFuture<'static, Result<(), HandlerError>> {
        let (id, attempt) = (envelope.id(), cx.attempt);
        let action = self.script.action(id, self.handler, attempt);
        self.script.log.lock().unwrap().push(Invocation {
            event: id,
            handler: self.handler,
            attempt,
            action,
        });
        let message = action.message(self.handler, attempt);
        match action {
            Action::Ok => Box::pin(async { Ok(()) }),
            Action::Retry => Box::pin(async move { Err(HandlerError::msg(message)) }),
            Action::Dead => Box::pin(async move { Err(HandlerError::permanent(message)) }),
            Action::Crash => {
                self.script.crashed.notify_one();
                Box::pin(std::future::pending())
            }
        }
    }
}

/// A worker ("a process") with every handler of the model, subscribed to
/// the event types of [`TYPES`] through the bus's builder.
pub fn worker(store: &Store, id: &str, script: &Script, concurrency: usize) -> Worker {
    let mut bus = EventBus::builder()
        .log_events(false)
        .log_handlers(false)
        .retry_policy(RetryPolicy {
            max_backoff: Duration::from_millis(50),
            ..RetryPolicy::default()
        });
    for (event, handlers) in TYPES {
        for h in handlers {
            let h = spec(h);
            let options = HandlerOptions::new()
                .retries(h.max_attempts - 1)
                .backoff(h.backoff)
                .timeout(LEASE)
                .ordered(h.ordered);
            let handler = Arc::new(Scripted {
                handler: h.id,
                script: script.clone(),
            });
            bus = bus.subscribe_dyn(event, h.id, options, handler);
        }
    }
    let bus = bus.build().expect("the model's handlers build");
    Worker::builder(store.clone(), bus.dispatcher().clone(), id)
        .concurrency(concurrency)
        .prefetch(concurrency)
        .lease_margin(LEASE_MARGIN)
        .idle_poll(Duration::from_millis(10))
        .build()
}

/// An event of the model.
pub fn event(ty: &str, aggregate: &str, n: u64, nul: bool) -> NewEvent {
    let note = if nul {
        "nul \u{0} here".to_string()
    } else {
        format!("note {n}")
    };
    NewEvent {
        id: Uuid::now_v7(),
        event_type: ty.into(),
        aggregate_type: "Model".into(),
        aggregate_id: aggregate.into(),
        version: 1,
        occurred_at: chrono::Utc::now(),
        metadata: json!({"districtId": "dst-model", "schoolId": "sch-1"}),
        payload: json!({"n": n, "note": note}),
    }
}

/// Where the store lives, to reopen it after a "restart".
pub enum Backend {
    Sqlite(std::path::PathBuf),
    Postgres { url: String, schema: String },
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres { .. } => "postgres",
        }
    }

    /// Opens the store; `strict` picks the stricter durability mode (SQLite
    /// `synchronous=FULL`; on PostgreSQL the default flushed commits, else
    /// asynchronous commit), so both modes are driven.
    pub async fn open(&self, strict: bool) -> Store {
        match self {
            Backend::Sqlite(path) => {
                let d = if strict {
                    Durability::Full
                } else {
                    Durability::Normal
                };
                Store::sqlite_with(path, d)
                    .await
                    .expect("open sqlite store")
            }
            Backend::Postgres { url, schema } => {
                let c = if strict {
                    PostgresCommit::Flushed
                } else {
                    PostgresCommit::Asynchronous
                };
                Store::postgres_with(url, Some(schema), c)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL at {url} must answer: {e}"))
            }
        }
    }

    /// Removes the database (the test's own folder or schema).
    pub async fn remove(&self) {
        match self {
            Backend::Sqlite(path) => {
                if let Some(dir) = path.parent() {
                    let _ = std::fs::remove_dir_all(dir);
                }
            }
            Backend::Postgres { url, schema } => {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
                )))
                .execute(&mut conn)
                .await
                .expect("drop the test's schema");
                let _ = conn.close().await;
            }
        }
    }
}

/// A delivery row as the test reads it from the table.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub id: i64,
    pub event: Uuid,
    pub handler: String,
    pub status: String,
    pub attempts: i64,
    pub available_at: i64,
    pub lease_until: Option<i64>,
    pub lease_owner: Option<String>,
    pub last_error: Option<String>,
    pub replay: i64,
    pub seq: i64,
    pub aggregate: String,
}

/// The tables, read directly (not through the store's API, whose answers are
/// what is being checked).
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Keyed by (event, handler); `duplicates` has any second row of a key.
    pub rows: HashMap<(Uuid, String), Row>,
    pub duplicates: Vec<Row>,
    pub events: Vec<Uuid>,
    /// Deliveries whose event row does not exist.
    pub orphans: i64,
    /// Rows of the caller's own table written in the outbox transactions.
    pub domain_rows: i64,
}

const ROWS: &str = "SELECT CAST(d.id AS BIGINT), CAST(e.id AS TEXT), d.handler_id, d.status,
       CAST(d.attempts AS BIGINT), CAST(d.available_at AS BIGINT), CAST(d.lease_until AS BIGINT),
       d.lease_owner, d.last_error, CAST(d.replay AS BIGINT), CAST(e.seq AS BIGINT), e.aggregate_id
     FROM skc_deliveries d JOIN skc_events e ON e.seq = d.event_seq ORDER BY d.id";
const EVENTS: &str = "SELECT CAST(id AS TEXT) FROM skc_events ORDER BY seq";
const ORPHANS: &str = "SELECT CAST(COUNT(*) AS BIGINT) FROM skc_deliveries d
     WHERE NOT EXISTS (SELECT 1 FROM skc_events e WHERE e.seq = d.event_seq)";
pub const DOMAIN_TABLE: &str = "CREATE TABLE IF NOT EXISTS model_domain (id TEXT PRIMARY KEY)";
const DOMAIN: &str = "SELECT CAST(COUNT(*) AS BIGINT) FROM model_domain";

type RowTuple = (
    i64,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    i64,
    i64,
    String,
);

pub async fn snapshot(store: &Store) -> Snapshot {
    macro_rules! read {
        ($pool:expr) => {{
            let rows: Vec<RowTuple> = sqlx::query_as(ROWS)
                .fetch_all($pool)
                .await
                .expect("read skc_deliveries through the store's own pool");
            let events: Vec<String> = sqlx::query_scalar(EVENTS)
                .fetch_all($pool)
                .await
                .expect("events");
            let orphans: i64 = sqlx::query_scalar(ORPHANS)
                .fetch_one($pool)
                .await
                .expect("orphans");
            let domain: i64 = sqlx::query_scalar(DOMAIN)
                .fetch_one($pool)
                .await
                .expect("domain rows");
            (rows, events, orphans, domain)
        }};
    }
    let (rows, events, orphans, domain_rows) = match (store.sqlite_pool(), store.postgres_pool()) {
        (Some(p), _) => read!(p),
        (_, Some(p)) => read!(p),
        _ => unreachable!("a store is on one of the two backends"),
    };
    let mut snap = Snapshot {
        events: events.iter().map(|e| Uuid::parse_str(e).unwrap()).collect(),
        orphans,
        domain_rows,
        ..Snapshot::default()
    };
    for (
        id,
        event,
        handler,
        status,
        attempts,
        available_at,
        lease_until,
        lease_owner,
        last_error,
        replay,
        seq,
        aggregate,
    ) in rows
    {
        let row = Row {
            id,
            event: Uuid::parse_str(&event).unwrap(),
            handler,
            status,
            attempts,
            available_at,
            lease_until,
            lease_owner,
            last_error,
            replay,
            seq,
            aggregate,
        };
        let key = (row.event, row.handler.clone());
        match snap.rows.entry(key) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(row);
            }
            std::collections::hash_map::Entry::Occupied(_) => snap.duplicates.push(row),
        }
    }
    snap
}

/// Microseconds since the epoch: the clock both backends' leases use on this
/// machine (SQLite: the process's; PostgreSQL: the server's, on loopback).
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// Whether a worker could claim a delivery now: one waiting and due whose
/// earlier events of the aggregate are finished for an ordered handler, or one
/// whose lease ran out.
pub fn claimable(s: &Snapshot, now: i64) -> bool {
    s.rows.values().any(|r| match r.status.as_str() {
        "active" => r.lease_until.is_some_and(|l| l < now),
        "waiting" if r.available_at <= now => {
            !spec(&r.handler).ordered
                || !s.rows.values().any(|p| {
                    p.handler == r.handler
                        && p.aggregate == r.aggregate
                        && p.seq < r.seq
                        && matches!(p.status.as_str(), "waiting" | "active")
                })
        }
        _ => false,
    })
}

/// Deliveries leased to owners whose names start with `prefix` (one worker's).
pub async fn lease_owners(store: &Store, prefix: &str) -> i64 {
    const SQL: &str = "SELECT CAST(COUNT(*) AS BIGINT) FROM skc_deliveries
         WHERE status = 'active' AND substr(lease_owner, 1, length($1)) = $1";
    match (store.sqlite_pool(), store.postgres_pool()) {
        (Some(p), _) => sqlx::query_scalar(SQL).bind(prefix).fetch_one(p).await,
        (_, Some(p)) => sqlx::query_scalar(SQL).bind(prefix).fetch_one(p).await,
        _ => unreachable!(),
    }
    .expect("count leases")
}

/// Waits until the statements a killed worker had sent have finished. Killing
/// the worker's task drops its futures, but a statement already handed to
/// SQLite's connection thread, or sent to the PostgreSQL server, still runs
/// and may commit (as the last statement of a process that dies can): the
/// step's outcome is read once they have.
pub async fn settle_killed(store: &Store, killed_at: chrono::DateTime<chrono::Utc>) {
    if store.sqlite_pool().is_some() {
        // The store's writes go through one connection, whose thread runs
        // them in order: a write sent now runs after the killed worker's.
        let _ = store
            .discard_dead(&skillcore_events_store::Scope::AllDistricts, -1)
            .await;
    } else if let Some(pool) = store.postgres_pool() {
        // A statement still in the socket is not in pg_stat_activity yet.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            let busy: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()
                   AND state <> 'idle' AND query LIKE '%skc_deliveries%' AND query_start <= $1",
            )
            .bind(killed_at)
            .fetch_one(pool)
            .await
            .unwrap_or(0);
            if busy == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}
