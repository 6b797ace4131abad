//! A temporary durable store for tests (cargo feature `testing`, off by
//! default): SQLite in a fresh temporary folder, or PostgreSQL in a
//! throwaway schema, removed when the value is dropped.
//!
//! ```no_run
//! use skillcore_events::EventBus;
//! use skillcore_events_store::testing::TempStore;
//! # async fn f() -> Result<(), skillcore_events::BuildError> {
//! let store = TempStore::sqlite(); // or TempStore::postgres().await
//! let bus = EventBus::builder().register_all().backend(store.durable()).build()?;
//! // ... publish, bus.idle().await, assert ...
//! # Ok(()) }
//! ```
//!
//! Declare the store before the bus: locals drop in reverse order, so the
//! bus (and its workers) is gone before its tables are. With a durable
//! store, leave Tokio's clock running (no `start_paused`): the store waits
//! on real I/O, and a paused clock would skip its timeouts and leases ahead.
//!
//! The names (`skc_tmp_{pid}_{n}_{micros}`) follow the store's own tests, so
//! a test process that was killed before it could clean up leaves folders
//! and schemas that those tests' sweep removes.

use crate::Durable;
#[cfg(feature = "postgres")]
use crate::Postgres;
#[cfg(feature = "sqlite")]
use crate::Sqlite;
use std::marker::PhantomData;
#[cfg(feature = "sqlite")]
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

#[cfg(feature = "postgres")]
/// The PostgreSQL server [`TempStore::postgres`] uses: `SKILLCORE_TEST_PG`,
/// else this.
pub const DEFAULT_TEST_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A durable store that exists for one test and is removed on drop: a
/// SQLite file in its own temporary folder ([`TempStore::sqlite`]) or a
/// PostgreSQL schema of its own ([`TempStore::postgres`]). Give
/// [`TempStore::durable`] to `EventBusBuilder::backend`.
#[derive(Debug)]
pub struct TempStore<D> {
    place: Place,
    _dialect: PhantomData<fn() -> D>,
}

#[derive(Debug)]
enum Place {
    #[cfg(feature = "sqlite")]
    Sqlite { dir: PathBuf, file: PathBuf },
    #[cfg(feature = "postgres")]
    Postgres { url: String, schema: String },
}

fn unique() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "skc_tmp_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_micros())
            .unwrap_or_default()
    )
}

#[cfg(feature = "sqlite")]
impl TempStore<Sqlite> {
    /// A fresh folder in the system's temporary directory, holding the
    /// store's SQLite file (created on first use). Panics, saying why, when
    /// the folder cannot be made.
    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(unique());
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!(
                "TempStore::sqlite: cannot create the folder {}: {e}",
                dir.display()
            );
        }
        let file = dir.join("events.db");
        TempStore {
            place: Place::Sqlite { dir, file },
            _dialect: PhantomData,
        }
    }

    /// The SQLite file.
    pub fn path(&self) -> &Path {
        match &self.place {
            Place::Sqlite { file, .. } => file,
            #[cfg(feature = "postgres")]
            Place::Postgres { .. } => unreachable!("a TempStore<Sqlite> is a SQLite file"),
        }
    }

    /// The durable backend on this store, to configure further or give to
    /// `EventBusBuilder::backend`.
    pub fn durable(&self) -> Durable<Sqlite> {
        Durable::sqlite(self.path())
    }
}

#[cfg(feature = "postgres")]
impl TempStore<Postgres> {
    /// A schema of its own in the PostgreSQL database `SKILLCORE_TEST_PG`
    /// names (default [`DEFAULT_TEST_PG`]). Panics, saying which server and
    /// why, when it cannot be reached; [`TempStore::try_postgres`] returns
    /// the error instead (to skip a test where there is no server).
    pub async fn postgres() -> Self {
        match Self::try_postgres().await {
            Ok(store) => store,
            Err(e) => panic!("{e}"),
        }
    }

    /// [`TempStore::postgres`], returning why it could not connect.
    pub async fn try_postgres() -> Result<Self, String> {
        let url = std::env::var("SKILLCORE_TEST_PG").unwrap_or_else(|_| DEFAULT_TEST_PG.into());
        let schema = unique();
        run_sql(&url, &format!("CREATE SCHEMA \"{schema}\""))
            .await
            .map_err(|e| {
                format!(
                    "TempStore::postgres: cannot create a schema at {}: {e} (set \
                     SKILLCORE_TEST_PG to another server)",
                    redact_url(&url)
                )
            })?;
        Ok(TempStore {
            place: Place::Postgres { url, schema },
            _dialect: PhantomData,
        })
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        match &self.place {
            Place::Postgres { url, .. } => url,
            #[cfg(feature = "sqlite")]
            Place::Sqlite { .. } => unreachable!("a TempStore<Postgres> is a schema"),
        }
    }

    /// The schema the tables are in.
    pub fn schema(&self) -> &str {
        match &self.place {
            Place::Postgres { schema, .. } => schema,
            #[cfg(feature = "sqlite")]
            Place::Sqlite { .. } => unreachable!("a TempStore<Postgres> is a schema"),
        }
    }

    /// The durable backend on this schema, to configure further or give to
    /// `EventBusBuilder::backend`.
    pub fn durable(&self) -> Durable<Postgres> {
        Durable::postgres(self.url()).schema(self.schema())
    }
}

#[cfg(feature = "postgres")]
/// The URL without its password, for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let user = &url[s + 3..at];
            match user.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &user[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(feature = "postgres")]
async fn run_sql(url: &str, sql: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let result = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    result.map(|_| ())
}

impl<D> Drop for TempStore<D> {
    fn drop(&mut self) {
        match &self.place {
            #[cfg(feature = "sqlite")]
            Place::Sqlite { dir, .. } => {
                // Best effort: a file still open elsewhere is the test's own
                // leftover, and the store's tests sweep it later.
                let _ = std::fs::remove_dir_all(dir);
            }
            #[cfg(feature = "postgres")]
            Place::Postgres { url, schema } => {
                // Drop may run inside a runtime, which cannot block on
                // another future: its own thread and runtime do the DROP.
                let (url, sql) = (
                    url.clone(),
                    format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"),
                );
                let done = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build();
                    if let Ok(rt) = rt {
                        let _ = rt.block_on(run_sql(&url, &sql));
                    }
                });
                let _ = done.join();
            }
        }
    }
}
