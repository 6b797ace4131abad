//! Who may see and do what: the [`Authorizer`] a host implements, the
//! [`Grant`] it returns per request, and the standalone [`TokenAuthorizer`]
//! (one bearer token, browser sessions signed in with it).

use axum::http::request::Parts;
use skillcore_events_store::Scope;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a browser session lasts after signing in.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// What a request may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Nothing: the request gets 401.
    None,
    /// Read every page and API (within the grant's scope); actions get 403.
    Read,
    /// Read, and act: retry, discard, replay.
    Act,
}

/// The decision of an [`Authorizer`] for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// What the request may do.
    pub level: Level,
    /// May see the values of the catalog's `pii: true` fields (else `[redacted]`).
    pub pii: bool,
    /// The districts the request sees: everything else is as if it did not exist.
    pub scope: Scope,
    /// Who it is, for the log of actions (`tracing`, target `skillcore_events_dashboard::audit`).
    pub who: String,
}

impl Grant {
    /// No access at all (401).
    pub fn denied() -> Grant {
        Grant {
            level: Level::None,
            pii: false,
            scope: Scope::District(String::new()),
            who: String::new(),
        }
    }

    /// Read-only over `scope`, without pii.
    pub fn read(who: impl Into<String>, scope: Scope) -> Grant {
        Grant {
            level: Level::Read,
            pii: false,
            scope,
            who: who.into(),
        }
    }

    /// Read and act over `scope`, without pii.
    pub fn act(who: impl Into<String>, scope: Scope) -> Grant {
        Grant {
            level: Level::Act,
            ..Grant::read(who, scope)
        }
    }

    /// The same grant with the `pii` grant.
    pub fn with_pii(mut self) -> Grant {
        self.pii = true;
        self
    }
}

/// Decides, per request, what it may do. The host implements it over its
/// own sessions or headers.
///
/// ```
/// use skillcore_events_dashboard::{Authorizer, Grant};
/// use skillcore_events_store::Scope;
///
/// /// Staff behind the company's proxy: the proxy sets `x-user` and
/// /// `x-district`; on-call engineers act, everyone else reads.
/// struct Staff;
/// impl Authorizer for Staff {
///     fn authorize(&self, req: &axum::http::request::Parts) -> Grant {
///         let header = |n: &str| req.headers.get(n).and_then(|v| v.to_str().ok());
///         let Some(user) = header("x-user") else { return Grant::denied() };
///         let scope = match header("x-district") {
///             Some(d) => Scope::district(d),
///             None => Scope::AllDistricts,
///         };
///         if user.starts_with("oncall-") {
///             Grant::act(user, scope)
///         } else {
///             Grant::read(user, scope)
///         }
///     }
/// }
/// ```
pub trait Authorizer: Send + Sync + 'static {
    /// The grant of this request (its method, URI and headers).
    fn authorize(&self, request: &Parts) -> Grant;

    /// Whether [`Authorizer::sign_in`] can sign a browser in (then a request
    /// without access gets the sign-in page).
    fn has_sign_in(&self) -> bool {
        false
    }

    /// Standalone sign-in: the session cookie value for a correct token, or
    /// `None`. Hosts with their own login keep the default (no sign-in page).
    fn sign_in(&self, _token: &str) -> Option<String> {
        None
    }

    /// Ends the session of this cookie value (sign-out).
    fn sign_out(&self, _session: &str) {}
}

/// The name of the standalone session cookie.
pub const SESSION_COOKIE: &str = "skc_session";

/// The standalone authorizer: `Authorization: Bearer TOKEN`, or a session
/// cookie a browser got by signing in with the token. Everyone holding it
/// sees every district and may act unless made read-only; pii only with
/// [`TokenAuthorizer::pii`].
///
/// ```
/// use skillcore_events_dashboard::TokenAuthorizer;
/// let auth = TokenAuthorizer::new("s3cret-token").read_only(true);
/// ```
pub struct TokenAuthorizer {
    token: String,
    pii: bool,
    read_only: bool,
    /// Session id -> when it was signed in.
    sessions: Mutex<HashMap<String, Instant>>,
}

impl TokenAuthorizer {
    /// Accepts `token` (an empty token accepts nothing).
    pub fn new(token: impl Into<String>) -> TokenAuthorizer {
        TokenAuthorizer {
            token: token.into(),
            pii: false,
            read_only: false,
            sessions: Mutex::default(),
        }
    }

    /// Token holders see pii values.
    pub fn pii(mut self, pii: bool) -> Self {
        self.pii = pii;
        self
    }

    /// Token holders only read (actions get 403).
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    fn grant(&self, who: &str) -> Grant {
        Grant {
            level: if self.read_only {
                Level::Read
            } else {
                Level::Act
            },
            pii: self.pii,
            scope: Scope::AllDistricts,
            who: who.to_string(),
        }
    }
}

impl Authorizer for TokenAuthorizer {
    fn authorize(&self, req: &Parts) -> Grant {
        if self.token.is_empty() {
            return Grant::denied();
        }
        if let Some(v) = req.headers.get(axum::http::header::AUTHORIZATION) {
            let given = v.to_str().ok().and_then(|v| v.strip_prefix("Bearer "));
            return match given {
                Some(t) if same(t.trim().as_bytes(), self.token.as_bytes()) => self.grant("token"),
                _ => Grant::denied(),
            };
        }
        match cookie(req, SESSION_COOKIE) {
            Some(s)
                if self
                    .sessions
                    .lock()
                    .is_ok_and(|m| m.get(s).is_some_and(|at| at.elapsed() < SESSION_LIFETIME)) =>
            {
                self.grant("session")
            }
            _ => Grant::denied(),
        }
    }

    fn has_sign_in(&self) -> bool {
        true
    }

    fn sign_in(&self, token: &str) -> Option<String> {
        if self.token.is_empty() || !same(token.trim().as_bytes(), self.token.as_bytes()) {
            return None;
        }
        let id = random_token();
        if id.is_empty() {
            return None;
        }
        let mut sessions = self.sessions.lock().ok()?;
        // Expired sessions go when a new one comes: the table stays small.
        sessions.retain(|_, at| at.elapsed() < SESSION_LIFETIME);
        sessions.insert(id.clone(), Instant::now());
        Some(id)
    }

    fn sign_out(&self, session: &str) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.remove(session);
        }
    }
}

/// Compares in time independent of where the bytes differ.
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 32 random bytes from the operating system, as 64 hex digits.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    if getrandom::fill(&mut bytes).is_err() {
        // No generator: a token nobody can guess cannot be made, so none is
        // (an empty token accepts nothing).
        return String::new();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(req: &'a Parts, name: &str) -> Option<&'a str> {
    req.headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}
