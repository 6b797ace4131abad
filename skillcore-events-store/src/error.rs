//! The store's errors: each one that wraps an error keeps it as its
//! `source()`, so a caller can match the `sqlx::Error` under it.

use crate::connect;
use crate::Refused;
use std::fmt;
use std::sync::Arc;

/// Errors of the store.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// The database reported an error.
    Database(sqlx::Error),
    /// The PostgreSQL server could not be reached (refused, no answer within
    /// the connect timeout, the login refused).
    Connect {
        /// `host:port` (or the socket path) that was tried.
        address: String,
        /// What connecting failed with (an I/O error for a refused connection).
        source: sqlx::Error,
    },
    /// A payload field name that cannot be a catalog field (only letters and digits).
    InvalidField(String),
    /// A stored row could not be read back (for example JSON that no longer parses).
    Corrupt(String),
    /// An append written in a group was not stored: the database could not be
    /// reached when another append of its group found it out (the error it
    /// met, shared by the group: its `source()` leads to the `sqlx::Error`).
    Write(Arc<StoreError>),
    /// An append was abandoned before its group was written (the writer's task
    /// ended); nothing of it was stored.
    Abandoned,
    /// A value could not be encoded as JSON to be stored; nothing was stored.
    Encode(serde_json::Error),
    /// A stored event does not decode into the type asked for
    /// ([`crate::StoredEvent::decode`]) or into a bus envelope
    /// ([`crate::StoredEvent::to_raw`]). The error names the field and the
    /// catalog type, never a pii value.
    Decode(skillcore_events::DecodeError),
    /// A query named an event the catalog does not declare.
    UnknownEvent(String),
    /// [`Store::open_sqlite`](crate::Store::open_sqlite) / [`Store::open_postgres`](crate::Store::open_postgres): there is no event
    /// store where one was asked for. The text says where and what was found
    /// there instead (no such file, another application's database, a schema
    /// that does not exist, with the nearest names that do).
    NoStore(String),
    /// An existing event store of another schema version than this build
    /// uses; nothing was changed.
    SchemaVersion {
        /// Where: the file or the PostgreSQL schema.
        place: String,
        /// The store's schema version.
        found: i64,
        /// This build's.
        supported: i64,
    },
    /// A PostgreSQL schema name the store does not accept.
    InvalidSchemaName(String),
    /// [`crate::Store::from_pg_pool`] was asked for a schema that is not the
    /// one the pool's connections use (their `search_path`): the store's
    /// tables would be out of reach of the service's own transactions.
    PoolSchema {
        /// The schema asked for.
        asked: String,
        /// The pool's current schema (`current_schema()`), if any.
        current: Option<String>,
    },
    /// An event no backend can store as it is (a NUL character in a string):
    /// nothing of the append was stored.
    Refused(Refused),
    /// A search or an operations query the store refuses as asked (one that
    /// no index could answer, or that makes no sense): the text says which
    /// filter and how to fix it, never a value searched for.
    InvalidQuery(String),
    /// A query named a payload field the event does not have.
    UnknownField {
        /// The event.
        event: String,
        /// The field asked for.
        field: String,
        /// The event's fields.
        fields: Vec<String>,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Database(e) => write!(f, "database error: {e}"),
            StoreError::Connect { address, source } => write!(
                f,
                "cannot connect to PostgreSQL at {address}: {}",
                connect::reason(source)
            ),
            StoreError::InvalidField(name) => write!(
                f,
                "`{name}` is not a payload field name (lowerCamelCase letters and digits)"
            ),
            StoreError::Corrupt(what) => write!(f, "corrupt row in the event store: {what}"),
            StoreError::Write(e) => write!(f, "database error, nothing was stored: {e}"),
            StoreError::Abandoned => f.write_str(
                "database error, nothing was stored: the write was abandoned before it finished",
            ),
            StoreError::Encode(e) => {
                write!(f, "cannot encode a value to store, nothing was stored: {e}")
            }
            StoreError::Decode(e) => write!(f, "a stored event does not decode: {e}"),
            StoreError::UnknownEvent(e) => write!(f, "the catalog has no event `{e}`"),
            StoreError::NoStore(what) => f.write_str(what),
            StoreError::SchemaVersion {
                place,
                found,
                supported,
            } if found > supported => write!(
                f,
                "the event store at {place} is at schema version {found}, newer than this \
                 build of skillcore-events knows (version {supported}): use a newer build"
            ),
            StoreError::SchemaVersion {
                place,
                found,
                supported,
            } => write!(
                f,
                "the event store at {place} is at schema version {found}; this build uses \
                 version {supported}: start the service (or `Store::sqlite`/`Store::postgres`) \
                 once to migrate it, then run this again"
            ),
            StoreError::InvalidSchemaName(name) => write!(
                f,
                "`{name}` is not a PostgreSQL schema name the store accepts (1 to 63 ASCII \
                 letters, digits and `_`)"
            ),
            StoreError::Refused(r) => write!(f, "{r}"),
            StoreError::InvalidQuery(why) => f.write_str(why),
            StoreError::PoolSchema { asked, current } => write!(
                f,
                "the pool's connections use schema {}, not `{asked}`: set \
                 `search_path` to `{asked}` in the pool's connect options \
                 (`PgConnectOptions::options([(\"search_path\", \"{asked}\")])`)",
                match current {
                    Some(c) => format!("`{c}`"),
                    None => "none".to_string(),
                }
            ),
            StoreError::UnknownField {
                event,
                field,
                fields,
            } => write!(
                f,
                "event `{event}` has no payload field `{field}`; its fields are: {}",
                fields.join(", ")
            ),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Database(e) => Some(e),
            StoreError::Connect { source, .. } => Some(source),
            StoreError::Write(e) => Some(&**e),
            StoreError::Encode(e) => Some(e),
            StoreError::Decode(e) => Some(e),
            StoreError::Refused(_)
            | StoreError::InvalidField(_)
            | StoreError::Corrupt(_)
            | StoreError::Abandoned
            | StoreError::UnknownEvent(_)
            | StoreError::NoStore(_)
            | StoreError::SchemaVersion { .. }
            | StoreError::InvalidSchemaName(_)
            | StoreError::PoolSchema { .. }
            | StoreError::InvalidQuery(_)
            | StoreError::UnknownField { .. } => None,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e)
    }
}

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
