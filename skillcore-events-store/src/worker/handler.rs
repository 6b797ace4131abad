//! What a delivery's attempt came to, as the worker records it. The handler
//! itself is the bus's: a [`Subscriber`](skillcore_events::backend::Subscriber)
//! of the dispatcher, run through `Dispatcher::run_attempt` (see `exec`).

/// Why a delivery's attempt failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Worth another attempt (a timeout, a dependency down).
    Retry(String),
    /// Will never succeed (a permanent `HandlerError`, a stored payload that
    /// no longer decodes): straight to the dead letters, whatever attempts
    /// are left.
    Dead(String),
}

impl Failure {
    pub(super) fn message(&self) -> &str {
        match self {
            Failure::Retry(m) | Failure::Dead(m) => m,
        }
    }
}
