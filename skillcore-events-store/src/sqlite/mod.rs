//! The SQLite dialect of the store: its connections (one writer held for
//! good, a pool for the callers' transactions and migrations, a pool of
//! readers), the group commit of appends on the writer, and its statements
//! (`sql.rs`), cut by role: appends, the queue, dead letters, queries.

mod append;
mod dead;
mod fields;
pub(crate) mod inspect;
mod manage;
pub(crate) mod migrate;
#[cfg(test)]
mod plans;
mod query;
mod queue;
mod retention;
mod row;
mod sql;

pub use append::{append_sqlite, SQLITE_ROWS_PER_INSERT};

use crate::group_commit::GroupCommit;
use crate::shared::Wake;
use crate::Result;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{Connection, SqliteConnection};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// WAL pages after which the SQLite writer checkpoints by itself (normally a
/// background task checkpoints long before: see
/// [`SqliteDb::checkpoint_in_background`]).
pub(crate) const WRITER_CHECKPOINT_PAGES: u32 = 20_000;

/// A store's connections to one SQLite database.
#[derive(Clone)]
pub(crate) struct SqliteDb {
    /// The store's own writes: one connection held for good, so a write is
    /// one hop to SQLite's thread, without a pool checkout.
    writer: Arc<GroupCommit<SqliteConnection>>,
    /// For the callers' own transactions ([`crate::append_sqlite`]) and
    /// migrations.
    write: SqlitePool,
    read: SqlitePool,
    /// Held (shared) by a claim from its UPDATE until its SELECT has read
    /// what it took (found by the lease time it set), and exclusively by a
    /// lease renewal, which changes lease times.
    claim_gate: Arc<tokio::sync::RwLock<()>>,
}

/// The page cache of the store's writer connection, in KiB.
pub(crate) const WRITER_CACHE_KB: u32 = 64 * 1024;

/// The page cache of each other connection of the store, in KiB.
pub(crate) const READER_CACHE_KB: u32 = 16 * 1024;

impl SqliteDb {
    /// The connections to one SQLite file, as `options` open it; nothing is
    /// created or migrated here.
    pub async fn connect(options: SqliteConnectOptions) -> Result<SqliteDb> {
        // SQLite has one writer at a time. The store writes through one
        // connection it holds; callers' transactions use a pool of one more
        // (transactions start with BEGIN IMMEDIATE, so writers queue on the busy
        // timeout instead of deadlocking); a few connections read. A pool
        // checkout costs about as much as a statement, hence the held connection.
        //
        // Each connection keeps a page cache of its own: SQLite's default of
        // 2 MB holds the upper levels of a small store's trees only, and on a
        // store of millions of rows every claim, completion and lookup then
        // reads its pages from the file again (a system call each, the
        // operating system's cache behind it): draining at 10 M events was
        // a third of the rate on an empty store. The writer gets
        // [`WRITER_CACHE_KB`], the others [`READER_CACHE_KB`]; memory only
        // grows to that as the store does.
        let options = options.pragma("cache_size", format!("-{READER_CACHE_KB}"));
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        // Checkpoints (copying WAL pages back into the database file, with an
        // fsync) would otherwise run inside whichever commit crosses the WAL
        // threshold, on the writer's thread. A task checkpoints from a reader
        // connection instead; the writer keeps a far threshold of its own, for
        // when that task cannot run.
        let writer = SqliteConnection::connect_with(
            &options
                .clone()
                .pragma("wal_autocheckpoint", WRITER_CHECKPOINT_PAGES.to_string())
                .pragma("cache_size", format!("-{WRITER_CACHE_KB}")),
        )
        .await?;
        Ok(SqliteDb::on(writer, write, read))
    }

    /// The store on a writer connection and the pools for the rest.
    pub fn on(writer: SqliteConnection, write: SqlitePool, read: SqlitePool) -> SqliteDb {
        SqliteDb {
            writer: Arc::new(GroupCommit::new(writer, append::write_rows)),
            write,
            read,
            claim_gate: Arc::default(),
        }
    }

    /// The pool for the callers' own transactions.
    pub fn write_pool(&self) -> &SqlitePool {
        &self.write
    }

    pub async fn migrate(&self) -> Result<()> {
        migrate::migrate(&self.write).await
    }

    /// While the store lives (`alive`), a task runs a passive checkpoint
    /// every 50 ms (cheap when the WAL has nothing new), off the writer's
    /// thread.
    pub fn checkpoint_in_background(&self, alive: Weak<Wake>) {
        let read = self.read.clone();
        tokio::spawn(async move {
            while alive.strong_count() > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                // Best effort: the writer's own threshold is the fallback.
                let _ = sqlx::query(sql::CHECKPOINT).execute(&read).await;
            }
        });
    }
}
