//! What a worker runs: the handler shape and what a handler returns when it
//! fails.

use crate::StoredEvent;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What a handler returns when it fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Worth another attempt (a timeout, a dependency down).
    Retry(String),
    /// Will never succeed (the stored payload no longer decodes, say): straight to
    /// the dead letters, whatever attempts are left.
    Dead(String),
}

impl Failure {
    pub(super) fn message(&self) -> &str {
        match self {
            Failure::Retry(m) | Failure::Dead(m) => m,
        }
    }
}

/// The future a [`DeliveryHandler`] returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), Failure>> + Send>>;

/// A handler the worker can run. Implemented for closures
/// `Fn(Arc<StoredEvent>, u32) -> impl Future<Output = Result<(), Failure>>`.
/// The event is shared with the other handlers it was claimed for.
///
/// ```
/// use skillcore_events_store::{DeliveryHandler, Failure, StoredEvent};
/// use std::sync::Arc;
///
/// fn takes(_: impl DeliveryHandler) {}
/// takes(|event: Arc<StoredEvent>, attempt: u32| async move {
///     if attempt < 2 {
///         return Err(Failure::Retry(format!("not yet: {}", event.event.id)));
///     }
///     Ok(())
/// });
/// ```
pub trait DeliveryHandler: Send + Sync + 'static {
    /// Handles one delivery; `attempt` is 1 for the first try.
    fn handle(&self, event: Arc<StoredEvent>, attempt: u32) -> HandlerFuture;
}

impl<F, Fut> DeliveryHandler for F
where
    F: Fn(Arc<StoredEvent>, u32) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Failure>> + Send + 'static,
{
    fn handle(&self, event: Arc<StoredEvent>, attempt: u32) -> HandlerFuture {
        Box::pin(self(event, attempt))
    }
}
