//! Serving the dashboard standalone (what `skillcore-events dashboard`
//! runs): the token rule, the prefix, the listener.

use crate::{router, DashboardConfig};
use skillcore_events_store::Store;
use std::fmt;
use std::net::SocketAddr;

/// Why the standalone dashboard does not start.
#[derive(Debug)]
pub enum ServeError {
    /// A non-loopback address without an explicit token.
    NeedsToken(SocketAddr),
    /// The prefix is not a path (`/admin/events`).
    BadPrefix(String),
    /// The address cannot be listened on.
    Listen(SocketAddr, std::io::Error),
    /// The server stopped with an error.
    Serve(std::io::Error),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::NeedsToken(a) => write!(
                f,
                "refusing to listen on {a}, which is not a loopback address, without a token: \
                 give --token TOKEN or SKILLCORE_DASHBOARD_TOKEN (or listen on 127.0.0.1)"
            ),
            ServeError::BadPrefix(p) => write!(
                f,
                "--prefix `{p}` is not a path: write it as /admin/events (a leading `/`, no `?` or `#`)"
            ),
            ServeError::Listen(a, e) => write!(f, "cannot listen on {a}: {e}"),
            ServeError::Serve(e) => write!(f, "the dashboard server stopped: {e}"),
        }
    }
}

impl std::error::Error for ServeError {}

/// The token of a standalone dashboard: the one given, else a generated one
/// (`true`: print it), which only a loopback address may use.
///
/// ```
/// use skillcore_events_dashboard::standalone_token;
/// let local = "127.0.0.1:8080".parse().unwrap();
/// let (token, generated) = standalone_token(&local, None).unwrap();
/// assert!(generated && token.len() == 64);
/// assert!(standalone_token(&"0.0.0.0:8080".parse().unwrap(), None).is_err());
/// ```
pub fn standalone_token(
    listen: &SocketAddr,
    given: Option<String>,
) -> Result<(String, bool), ServeError> {
    match given.filter(|t| !t.trim().is_empty()) {
        Some(t) => Ok((t.trim().to_string(), false)),
        None if listen.ip().is_loopback() => Ok((crate::random_token(), true)),
        None => Err(ServeError::NeedsToken(*listen)),
    }
}

/// Checks a prefix: empty or `/` for the root, else `/a/b` (a trailing `/` is dropped).
pub fn normalize_prefix(prefix: &str) -> Result<String, ServeError> {
    let p = prefix.trim().trim_end_matches('/');
    if p.is_empty() {
        return Ok(String::new());
    }
    if !p.starts_with('/') || p.contains(['?', '#', ' ']) || p.contains("//") {
        return Err(ServeError::BadPrefix(prefix.to_string()));
    }
    Ok(p.to_string())
}

/// Serves the dashboard of `store` on `listen` under `prefix` until the
/// process ends. `on_ready` gets the bound address (the port of `:0`).
pub async fn serve(
    store: Store,
    config: DashboardConfig,
    listen: SocketAddr,
    prefix: &str,
    on_ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let prefix = normalize_prefix(prefix)?;
    let dashboard = router(store, config);
    let app = if prefix.is_empty() {
        dashboard
    } else {
        let to = prefix.clone();
        axum::Router::new()
            .route(
                "/",
                axum::routing::get(move || async move { axum::response::Redirect::to(&to) }),
            )
            .nest(&prefix, dashboard)
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| ServeError::Listen(listen, e))?;
    on_ready(listener.local_addr().unwrap_or(listen));
    axum::serve(listener, app).await.map_err(ServeError::Serve)
}
