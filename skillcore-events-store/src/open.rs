//! Opening an event store that must already exist, for operators' commands
//! (`queue stats`, `dead-letters`, `replay`).
//!
//! [`Store::sqlite`] and [`Store::postgres`] create what is missing and migrate:
//! right for the service, wrong for an inspection, where a mistyped path or
//! schema would silently become a new empty store, another application's
//! database would get the store's tables, and a read-only copy could not be
//! opened at all. [`Store::open_sqlite`] and [`Store::open_postgres`] instead
//! require an event store of this build's schema version, say what they found
//! otherwise, and never create, migrate or (with [`Access::ReadOnly`]) write
//! anything.
//!
//! SQLite read-only: a database without a `-wal` file holds everything in its
//! main file, and is opened `immutable` (no locks, no `-wal`/`-shm` created:
//! a plain read-only open would create both, and fails in a read-only
//! directory). One with a `-wal` file (a service running, or one that
//! crashed) is opened read-only through the log, as `immutable` would ignore
//! the log's transactions; SQLite then reads (and where it may, rebuilds) the
//! `-shm` index of the log, but never writes the database or the log.

#[cfg(feature = "postgres")]
use crate::connect;
use crate::{schema, Result, Store, StoreError};
#[cfg(feature = "postgres")]
use sqlx::postgres::PgPoolOptions;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::Connection;
#[cfg(feature = "postgres")]
use sqlx::PgConnection;
#[cfg(feature = "sqlite")]
use sqlx::SqliteConnection;
#[cfg(feature = "sqlite")]
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a command opening an existing store may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Inspection: reads only, and changes no byte of the database (SQLite
    /// opened read-only or immutable; PostgreSQL sessions in read-only
    /// transactions). Works on read-only files, directories and mounts.
    ReadOnly,
    /// Changes rows (retry or discard a dead letter, queue a replay); still
    /// never creates or migrates a store.
    ReadWrite,
}

impl Store {
    #[cfg(feature = "sqlite")]
    /// Opens the existing SQLite event store at `path`, of this build's schema
    /// version, without creating or migrating anything.
    ///
    /// Errors: [`StoreError::NoStore`] when there is no such file (naming the
    /// nearest `*.db` files beside it), when the file is not a SQLite database,
    /// or when it is one without the store's tables (naming some it has);
    /// [`StoreError::SchemaVersion`] for a store of another version.
    ///
    /// ```no_run
    /// # async fn f() -> skillcore_events_store::Result<()> {
    /// use skillcore_events_store::{Access, Scope, Store};
    /// let store = Store::open_sqlite("events.db", Access::ReadOnly).await?;
    /// let stats = store.stats(&Scope::district("dst-1")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn open_sqlite(path: impl AsRef<Path>, access: Access) -> Result<Store> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NoStore(format!(
                    "no event store at `{shown}`: there is no such file{}",
                    nearby_databases(path)
                )))
            }
            Err(e) => return Err(StoreError::NoStore(format!("cannot read `{shown}`: {e}"))),
            Ok(m) if !m.is_file() => {
                return Err(StoreError::NoStore(format!(
                    "no event store at `{shown}`: it is {}, not a database file",
                    if m.is_dir() {
                        "a directory"
                    } else {
                        "not a regular file"
                    }
                )))
            }
            Ok(_) => {}
        }
        let read_only = read_only_options(path);
        let mut check = SqliteConnection::connect_with(&read_only)
            .await
            .map_err(|e| not_sqlite(&shown, e))
            .map_err(|e| unreadable_log(path, e))?;
        let found = sqlite_version(&mut check, &shown)
            .await
            .map_err(|e| unreadable_log(path, e));
        let _ = check.close().await;
        expect_version(found?, schema::SQLITE.len(), &shown)?;
        let options = match access {
            Access::ReadOnly => read_only,
            Access::ReadWrite => SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(false)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true),
        };
        let store = Store::sqlite_on(options).await?;
        if access == Access::ReadWrite {
            store.checkpoint_in_background();
        }
        Ok(store)
    }

    #[cfg(feature = "postgres")]
    /// Opens the existing PostgreSQL event store at `url` (in `schema`, else
    /// the search path), of this build's schema version, without creating a
    /// schema, a table or a migration. With [`Access::ReadOnly`] every session
    /// runs read-only transactions (`default_transaction_read_only`).
    ///
    /// Errors: [`StoreError::InvalidSchemaName`]; [`StoreError::NoStore`] for
    /// a schema that does not exist or holds no store (naming the schemas of
    /// the database that hold one, the nearest first);
    /// [`StoreError::SchemaVersion`]; [`StoreError::Connect`] for a server that
    /// cannot be reached.
    pub async fn open_postgres(url: &str, schema: Option<&str>, access: Access) -> Result<Store> {
        if let Some(s) = schema {
            crate::shared::check_schema_name(s)?;
        }
        let server = connect::PgServer::from_url(url)?;
        let mut options = server.options.clone();
        if let Some(s) = schema {
            options = options.options([("search_path", s)]);
        }
        let read_only = options
            .clone()
            .options([("default_transaction_read_only", "on")]);
        let mut check = server.connect(&read_only).await?;
        let found = postgres_version(&mut check, schema).await;
        let _ = check.close().await;
        let (place, found) = found?;
        expect_version(found, schema::POSTGRES.len(), &place)?;
        let options = match access {
            Access::ReadOnly => read_only,
            Access::ReadWrite => options,
        };
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout((server.timeout * 2).max(Duration::from_secs(10)))
            .connect_lazy_with(options.clone());
        let server = connect::PgServer { options, ..server };
        Ok(Store::postgres_on(pool, server))
    }
}

#[cfg(feature = "sqlite")]
/// Read-only options for `path`: `immutable` when there is no log to read
/// (see the module docs), else read-only through the log.
fn read_only_options(path: &Path) -> SqliteConnectOptions {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .read_only(true)
        .busy_timeout(Duration::from_secs(10));
    if sidecar(path, "-wal").exists() {
        options
    } else {
        options.immutable(true)
    }
}

#[cfg(feature = "sqlite")]
fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(feature = "sqlite")]
/// A `-wal` without its `-shm` index in a directory SQLite may not write:
/// the log cannot be read (SQLite's "unable to open database file"), and an
/// `immutable` open would silently leave out the log's transactions.
fn unreadable_log(path: &Path, e: StoreError) -> StoreError {
    let cannot_open = matches!(&e, StoreError::Database(sqlx::Error::Database(d))
        if d.code().as_deref() == Some("14"));
    if cannot_open && sidecar(path, "-wal").exists() && !sidecar(path, "-shm").exists() {
        StoreError::Database(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "the write-ahead log `{}-wal` cannot be read without its `-shm` index, \
                 which cannot be created there: copy the database and its -wal to a \
                 writable directory, or run as a user who may write there",
                path.display()
            ),
        )))
    } else {
        e
    }
}

#[cfg(feature = "sqlite")]
fn not_sqlite(shown: &str, e: sqlx::Error) -> StoreError {
    let not_a_database =
        matches!(&e, sqlx::Error::Database(d) if d.code().as_deref() == Some("26"));
    if not_a_database {
        StoreError::NoStore(format!(
            "no event store at `{shown}`: the file is not a SQLite database"
        ))
    } else {
        StoreError::Database(e)
    }
}

#[cfg(feature = "sqlite")]
/// The store's schema version in the SQLite file, or what the file holds
/// instead.
async fn sqlite_version(conn: &mut SqliteConnection, shown: &str) -> Result<i64> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| not_sqlite(shown, e))?;
    if !tables.iter().any(|t| t == "skc_schema_version") {
        return Err(StoreError::NoStore(format!(
            "no event store at `{shown}`: it is a SQLite database without the store's \
             skc_ tables ({}); give --db the event store's own file",
            describe_tables(&tables)
        )));
    }
    let version: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM skc_schema_version")
        .fetch_one(&mut *conn)
        .await?;
    Ok(version.unwrap_or(0))
}

#[cfg(feature = "postgres")]
/// Where the store's tables are (`schema `x``) and their schema version, or
/// what there is instead.
async fn postgres_version(conn: &mut PgConnection, schema: Option<&str>) -> Result<(String, i64)> {
    let database: String = sqlx::query_scalar("SELECT current_database()::text")
        .fetch_one(&mut *conn)
        .await?;
    let stores: Vec<String> = sqlx::query_scalar(
        "SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relname = 'skc_schema_version' AND c.relkind IN ('r', 'p') ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    let schema = match schema {
        Some(s) => s.to_string(),
        None => {
            let found: Option<String> = sqlx::query_scalar(
                "SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.oid = to_regclass('skc_schema_version')",
            )
            .fetch_optional(&mut *conn)
            .await?
            .flatten();
            match found {
                Some(s) => s,
                None => {
                    return Err(StoreError::NoStore(format!(
                        "no event store on the search path of database `{database}`{}",
                        elsewhere(&stores, None)
                    )))
                }
            }
        }
    };
    let place = format!("schema `{schema}` of database `{database}`");
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)")
            .bind(&schema)
            .fetch_one(&mut *conn)
            .await?;
    if !exists {
        return Err(StoreError::NoStore(format!(
            "no event store in database `{database}`: there is no schema `{schema}`{}",
            elsewhere(&stores, Some(&schema))
        )));
    }
    if !stores.contains(&schema) {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY 1",
        )
        .bind(&schema)
        .fetch_all(&mut *conn)
        .await?;
        return Err(StoreError::NoStore(format!(
            "no event store in {place}: it has no skc_ tables ({}){}",
            describe_tables(&tables),
            elsewhere(&stores, Some(&schema))
        )));
    }
    // The name is checked (letters, digits, `_`), so quoting it is enough.
    let version: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COALESCE(MAX(version), 0)::bigint FROM \"{schema}\".skc_schema_version"
    )))
    .fetch_one(&mut *conn)
    .await?;
    Ok((place, version))
}

fn expect_version(found: i64, supported: usize, place: &str) -> Result<()> {
    let supported = supported as i64;
    if found == supported {
        Ok(())
    } else {
        Err(StoreError::SchemaVersion {
            place: place.to_string(),
            found,
            supported,
        })
    }
}

/// `its tables: a, b, c and 4 more` / `it has no tables`.
fn describe_tables(tables: &[String]) -> String {
    const SHOWN: usize = 5;
    if tables.is_empty() {
        return "it has no tables".into();
    }
    let mut text = format!(
        "its tables: {}",
        tables
            .iter()
            .take(SHOWN)
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if tables.len() > SHOWN {
        text.push_str(&format!(" and {} more", tables.len() - SHOWN));
    }
    text
}

#[cfg(feature = "postgres")]
/// `; did you mean `x`?` or `; schemas with an event store: …` (nothing when
/// the database holds no store).
fn elsewhere(stores: &[String], asked: Option<&str>) -> String {
    if stores.is_empty() {
        return String::new();
    }
    if let Some(best) = asked.and_then(|a| nearest(a, stores.iter().map(String::as_str))) {
        return format!("; did you mean `--schema {best}`?");
    }
    let mut names: Vec<String> = stores.iter().take(5).map(|s| format!("`{s}`")).collect();
    if stores.len() > 5 {
        names.push(format!("and {} more", stores.len() - 5));
    }
    format!("; schemas with an event store: {}", names.join(", "))
}

#[cfg(feature = "sqlite")]
/// `; did you mean `x.db`?` among the database files beside a missing `path`.
fn nearby_databases(path: &Path) -> String {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return String::new();
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return format!(" (and no directory `{}`)", dir.display());
    };
    let files: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| {
            [".db", ".sqlite", ".sqlite3"]
                .iter()
                .any(|ext| n.ends_with(ext))
        })
        .collect();
    match nearest(name, files.iter().map(String::as_str)) {
        Some(best) => match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => {
                format!("; did you mean `{}`?", d.join(best).display())
            }
            _ => format!("; did you mean `{best}`?"),
        },
        None if files.is_empty() => String::new(),
        None => {
            let mut files = files;
            files.sort();
            let shown: Vec<String> = files.iter().take(5).map(|f| format!("`{f}`")).collect();
            format!(
                "; database files in `{}`: {}{}",
                dir.display(),
                shown.join(", "),
                if files.len() > 5 { ", …" } else { "" }
            )
        }
    }
}

/// The candidate nearest to `asked` by edit distance, if near enough to be a
/// typo (at most a third of its length, and at least 2).
fn nearest<'a>(asked: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (asked.chars().count() / 3).max(2);
    candidates
        .map(|c| (edit_distance(asked, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_are_near_and_other_names_are_not() {
        let names = ["skc_events_prod", "analytics", "events"];
        assert_eq!(
            nearest("skc_events_prd", names.iter().copied()),
            Some("skc_events_prod")
        );
        assert_eq!(nearest("evnts", names.iter().copied()), Some("events"));
        assert_eq!(nearest("billing", names.iter().copied()), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn tables_are_named_up_to_five() {
        let t: Vec<String> = (1..=7).map(|i| format!("t{i}")).collect();
        assert_eq!(
            describe_tables(&t),
            "its tables: `t1`, `t2`, `t3`, `t4`, `t5` and 2 more"
        );
        assert_eq!(describe_tables(&[]), "it has no tables");
    }
}
