//! Driving `durable_probe` processes against fresh databases.

#![allow(dead_code)]

use skillcore_events::store::Store;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn pg_url() -> String {
    std::env::var("SKILLCORE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

#[path = "../../../skillcore-events-store/tests/common/leftovers.rs"]
mod leftovers;
pub use leftovers::unique;

/// A fresh database for one test: the store plus the probe's tables.
pub struct Db {
    pub target: String,
    pub store: Store,
}

const TABLES: &str = "
CREATE TABLE probe_effects (event_id TEXT NOT NULL, handler TEXT NOT NULL, pid BIGINT NOT NULL,
                            PRIMARY KEY (event_id, handler));
CREATE TABLE probe_runs (event_id TEXT NOT NULL, handler TEXT NOT NULL, pid BIGINT NOT NULL);
";

impl Db {
    pub async fn sqlite() -> Db {
        let dir = std::env::temp_dir().join(unique("skc_rel"));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("events.db");
        let store = Store::sqlite(&path).await.unwrap();
        sqlx::raw_sql(TABLES)
            .execute(store.sqlite_pool().unwrap())
            .await
            .unwrap();
        Db {
            target: format!("sqlite:{}", path.display()),
            store,
        }
    }

    pub async fn postgres() -> Db {
        leftovers::sweep_schemas(&pg_url()).await;
        let schema = unique("skc_rel");
        let store = Store::postgres(&pg_url(), Some(&schema))
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {} must answer: {e}", pg_url()));
        sqlx::raw_sql(TABLES)
            .execute(store.postgres_pool().unwrap())
            .await
            .unwrap();
        Db {
            target: format!("postgres:{schema}"),
            store,
        }
    }

    pub async fn both() -> Vec<Db> {
        vec![Db::sqlite().await, Db::postgres().await]
    }

    pub async fn scalar(&self, sql: &'static str) -> i64 {
        if let Some(p) = self.store.sqlite_pool() {
            sqlx::query_scalar(sql).fetch_one(p).await.unwrap()
        } else {
            sqlx::query_scalar(sql)
                .fetch_one(self.store.postgres_pool().unwrap())
                .await
                .unwrap()
        }
    }

    /// `scalar`, retrying while the server is unreachable (a restart).
    pub async fn scalar_retrying(&self, sql: &'static str) -> i64 {
        for _ in 0..200 {
            let r: Result<i64, _> = if let Some(p) = self.store.sqlite_pool() {
                sqlx::query_scalar(sql).fetch_one(p).await
            } else {
                sqlx::query_scalar(sql)
                    .fetch_one(self.store.postgres_pool().unwrap())
                    .await
            };
            if let Ok(v) = r {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the database did not come back");
    }

    pub fn probe(&self, mode: &str, n: u64, extra: Option<&str>) -> Child {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_durable_probe"));
        cmd.args([mode, &self.target, &n.to_string()]);
        if let Some(e) = extra {
            cmd.arg(e);
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
        cmd.spawn().expect("the probe starts")
    }

    /// Publishes `n` events through a probe process and waits for it.
    pub fn publish(&self, n: u64) {
        let mut child = self.probe("publish", n, None);
        let status = wait(&mut child, Duration::from_secs(120));
        assert!(status.success(), "publishing probe failed");
    }
}

/// Waits for a child, killing it (and failing) at the deadline: no hangs.
pub fn wait(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("probe did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads "published N" lines until `at_least` commits were reported.
pub fn read_published(child: &mut Child, at_least: usize) -> usize {
    let out = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(out).lines();
    let mut n = 0;
    while n < at_least {
        match lines.next() {
            Some(Ok(l)) if l.starts_with("published ") => n += 1,
            Some(Ok(_)) => {}
            _ => break,
        }
    }
    n
}

/// Polls `cond` until it holds or `limit` passes.
pub async fn until<F, Fut>(limit: Duration, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}
