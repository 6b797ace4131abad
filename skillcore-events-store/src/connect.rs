//! Reaching the PostgreSQL server, failing fast and in plain words when it
//! cannot be reached.
//!
//! sqlx's pool retries a refused connection until its acquire timeout and then
//! reports `pool timed out`, without the refusal. The store therefore opens by
//! connecting once itself (an error names the address and keeps the I/O error
//! as its source), and a publish waiting on the pool longer than a moment
//! connects once itself too, to tell a busy pool (keep waiting) from a server
//! that does not answer (fail now).
//!
//! The connect timeout is the URL's `connect_timeout` parameter, in seconds, as
//! libpq reads it (`postgres://host/db?connect_timeout=2`); by default
//! [`DEFAULT_CONNECT_TIMEOUT`].

#[cfg(feature = "postgres")]
use crate::Result;
use crate::StoreError;
#[cfg(feature = "postgres")]
use sqlx::pool::PoolConnection;
#[cfg(feature = "postgres")]
use sqlx::postgres::{PgConnectOptions, PgPool};
#[cfg(feature = "postgres")]
use sqlx::{ConnectOptions, Connection, PgConnection, Postgres};
#[cfg(feature = "postgres")]
use std::str::FromStr;
#[cfg(feature = "postgres")]
use std::time::Duration;

#[cfg(feature = "postgres")]
/// How long connecting to PostgreSQL may take before the store gives up, unless
/// the URL says otherwise (`connect_timeout`, seconds).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[cfg(feature = "postgres")]
/// A wait on the pool longer than this makes the writer check the server.
const CHECK_SERVER_AFTER: Duration = Duration::from_millis(250);

#[cfg(feature = "postgres")]
/// The server a store connects to.
#[derive(Clone, Debug)]
pub(crate) struct PgServer {
    pub options: PgConnectOptions,
    pub timeout: Duration,
    /// `host:port` or the socket path, for messages.
    pub address: String,
}

#[cfg(feature = "postgres")]
impl PgServer {
    pub fn from_url(url: &str) -> Result<PgServer> {
        // No JIT: the store's statements each read a few rows by index, but a
        // planner estimate above `jit_above_cost` (100,000 by default: an
        // expression index without statistics on 10 M events) compiles the
        // statement first, 5-80 ms for a lookup that takes 0.04 ms
        // (docs/performance.md). This wins over a `jit` in the URL's `options`.
        let options = PgConnectOptions::from_str(url)?.options([("jit", "off")]);
        let timeout = match url_parameter(url, "connect_timeout") {
            None => DEFAULT_CONNECT_TIMEOUT,
            Some(v) => match v.parse::<f64>() {
                Ok(s) if s.is_finite() && s > 0.0 => Duration::from_secs_f64(s),
                // libpq: zero (or less) waits for ever; a bound is kept anyway.
                Ok(s) if s.is_finite() => Duration::from_secs(3600),
                _ => {
                    return Err(StoreError::Database(sqlx::Error::Configuration(
                        format!(
                            "connect_timeout `{v}` in the PostgreSQL URL is not a number of seconds"
                        )
                        .into(),
                    )))
                }
            },
        };
        Ok(PgServer::of_options(options, timeout))
    }

    /// The server `options` connect to (a pool's, for instance).
    pub fn of_options(options: PgConnectOptions, timeout: Duration) -> PgServer {
        let address = match options.get_socket() {
            Some(path) => path.display().to_string(),
            None => format!("{}:{}", options.get_host(), options.get_port()),
        };
        PgServer {
            options,
            timeout,
            address,
        }
    }

    /// One connection of its own, within the connect timeout.
    pub async fn connect(&self, options: &PgConnectOptions) -> Result<PgConnection> {
        match tokio::time::timeout(self.timeout, options.connect()).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(self.error(e)),
            Err(_) => Err(self.error(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "no answer within {:?} (the URL's connect_timeout)",
                    self.timeout
                ),
            )))),
        }
    }

    /// A connection of the pool. A wait longer than a moment connects once
    /// outside the pool to find out whether the server answers at all: if it
    /// does not, the caller gets that error now instead of the pool's timeout.
    pub async fn acquire(&self, pool: &PgPool) -> Result<PoolConnection<Postgres>> {
        let acquire = pool.acquire();
        tokio::pin!(acquire);
        tokio::select! {
            r = &mut acquire => return r.map_err(StoreError::from),
            _ = tokio::time::sleep(CHECK_SERVER_AFTER) => {}
        }
        tokio::select! {
            r = &mut acquire => r.map_err(StoreError::from),
            check = self.connect(&self.options) => match check {
                Err(e) => Err(e),
                Ok(conn) => {
                    // The server answers: the pool is only busy.
                    let _ = conn.close().await;
                    acquire.await.map_err(StoreError::from)
                }
            },
        }
    }

    /// A connection error naming the server, with `e` as its source.
    pub fn error(&self, e: sqlx::Error) -> StoreError {
        match e {
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Database(_) => {
                StoreError::Connect {
                    address: self.address.clone(),
                    source: e,
                }
            }
            other => StoreError::Database(other),
        }
    }
}

#[cfg(feature = "postgres")]
/// The value of `key` in the URL's query string, if given.
fn url_parameter<'u>(url: &'u str, key: &str) -> Option<&'u str> {
    let (_, query) = url.split_once('?')?;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// The reason of a connection error in lowercase words, without the address.
pub(crate) fn reason(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Io(io) => {
            let text = io.to_string();
            let mut chars = text.chars();
            match chars.next() {
                Some(c) => c.to_lowercase().chain(chars).collect(),
                None => format!("{:?}", io.kind()),
            }
        }
        other => other.to_string(),
    }
}

impl StoreError {
    /// The database could not be reached (refused, timed out, connection
    /// lost): every write would meet the same error, whoever made it.
    pub(crate) fn is_unreachable(&self) -> bool {
        match self {
            StoreError::Connect { source, .. } => {
                matches!(source, sqlx::Error::Io(_) | sqlx::Error::Tls(_))
            }
            StoreError::Write(e) => e.is_unreachable(),
            StoreError::Database(e) => matches!(
                e,
                sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::WorkerCrashed
            ),
            _ => false,
        }
    }
}

#[cfg(all(test, feature = "postgres"))]
mod tests {
    use super::*;

    #[test]
    fn the_connect_timeout_comes_from_the_url() {
        let s = PgServer::from_url("postgres://postgres@127.0.0.1:5999/test").unwrap();
        assert_eq!(
            (s.timeout, s.address.as_str()),
            (DEFAULT_CONNECT_TIMEOUT, "127.0.0.1:5999")
        );
        let s = PgServer::from_url("postgres://u@localhost/db?sslmode=disable&connect_timeout=2")
            .unwrap();
        assert_eq!(
            (s.timeout, s.address.as_str()),
            (Duration::from_secs(2), "localhost:5432")
        );
        let e = PgServer::from_url("postgres://u@localhost/db?connect_timeout=soon").unwrap_err();
        assert!(e.to_string().contains("connect_timeout `soon`"), "{e}");
    }
}
