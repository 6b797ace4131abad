//! The bus's errors: publishing, dead-letter operations, building. A
//! backend's own error is kept whole as the `source`, so a caller can match
//! it (for example a durable store's `sqlx::Error`) with
//! [`PublishError::backend_error`] or by walking `source()`.

use super::dead_letter::DeadLetterId;
use super::report::CatalogReport;
use std::error::Error as StdError;
use std::fmt;

/// A backend's error, kept as the source of the bus's errors.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Publishing failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum PublishError {
    /// The bus is shutting down.
    ShuttingDown,
    /// Not called inside a Tokio runtime.
    NoRuntime,
    /// The payload could not be encoded as JSON (a hand-written `Serialize`
    /// failed).
    Encode(serde_json::Error),
    /// The backend failed with this error, kept as the [`source`] (a durable
    /// store's error, which leads to the `sqlx::Error` and down to the I/O
    /// error of a refused connection).
    ///
    /// [`source`]: std::error::Error::source
    Backend(BoxError),
    /// The operation is not available on this bus's backend (for example the
    /// transactional outbox on the in-process backend); the text says why.
    Unsupported(String),
    /// An explicit envelope's metadata differs from the payload field the
    /// catalog's `metadata:` maps it to; nothing was stored.
    MetadataMismatch {
        /// The event's name.
        event: &'static str,
        /// The metadata key (`district_id`, `school_id`, `user_id`).
        key: &'static str,
        /// The payload field it comes from (`districtId`).
        field: &'static str,
    },
}

impl PublishError {
    /// The backend's error as its own type, if that is what failed.
    ///
    /// ```
    /// use skillcore_events::PublishError;
    /// let e = PublishError::Backend(Box::new(std::io::Error::other("disk full")));
    /// assert_eq!(e.backend_error::<std::io::Error>().unwrap().to_string(), "disk full");
    /// assert!(PublishError::ShuttingDown.backend_error::<std::io::Error>().is_none());
    /// ```
    pub fn backend_error<E: StdError + 'static>(&self) -> Option<&E> {
        match self {
            PublishError::Backend(e) => e.downcast_ref::<E>(),
            _ => None,
        }
    }
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::ShuttingDown => f.write_str("the event bus is shutting down"),
            PublishError::NoRuntime => {
                f.write_str("the event bus must be used inside a Tokio runtime")
            }
            PublishError::Encode(e) => write!(f, "cannot encode the payload as JSON: {e}"),
            PublishError::Backend(e) => write!(f, "event backend failed: {e}"),
            PublishError::Unsupported(why) => f.write_str(why),
            PublishError::MetadataMismatch { event, key, field } => write!(
                f,
                "the envelope's `{key}` differs from the payload's `{field}` of `{event}` (the catalog's `metadata:` maps one to the other); publish the payload alone, or make them agree"
            ),
        }
    }
}

impl StdError for PublishError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            PublishError::Encode(e) => Some(e),
            PublishError::Backend(e) => Some(&**e),
            _ => None,
        }
    }
}

/// A dead-letter operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum BusError {
    /// No dead letter has this id (or not one the caller's scope may see).
    NotFound(DeadLetterId),
    /// The dead letter's handler is no longer registered.
    UnknownHandler(String),
    /// The bus is shutting down.
    ShuttingDown,
    /// Not called inside a Tokio runtime.
    NoRuntime,
    /// The backend failed with this error, kept as the source.
    Backend(BoxError),
}

impl BusError {
    /// The backend's error as its own type, if that is what failed.
    pub fn backend_error<E: StdError + 'static>(&self) -> Option<&E> {
        match self {
            BusError::Backend(e) => e.downcast_ref::<E>(),
            _ => None,
        }
    }
}

impl fmt::Display for BusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BusError::NotFound(id) => write!(f, "no dead letter with id {id}"),
            BusError::UnknownHandler(h) => write!(f, "handler `{h}` is not registered"),
            BusError::ShuttingDown => f.write_str("the event bus is shutting down"),
            BusError::NoRuntime => f.write_str("the event bus must be used inside a Tokio runtime"),
            BusError::Backend(e) => write!(f, "event backend failed: {e}"),
        }
    }
}

impl StdError for BusError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            BusError::Backend(e) => Some(&**e),
            _ => None,
        }
    }
}

/// Building the bus failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// A handler needs a state object that was not given with `with_state`.
    MissingState {
        /// Handler id.
        handler: String,
        /// Its event.
        event: String,
        /// The state's type.
        type_name: &'static str,
        /// Where the handler is defined.
        location: &'static str,
    },
    /// Two handlers with one id subscribe to the same event.
    DuplicateHandler {
        /// Handler id.
        handler: String,
        /// The event.
        event: String,
    },
    /// `require_catalog_match` is on and the registrations disagree with the catalog.
    CatalogMismatch(CatalogReport),
    /// An option was set that the chosen backend would ignore.
    UnsupportedOption {
        /// The builder method (`idempotency_window`, ...).
        option: &'static str,
        /// The backend ([`BackendConfig::describe`](crate::backend::BackendConfig::describe)).
        backend: String,
        /// Why that backend has no use for it.
        reason: &'static str,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::MissingState {
                handler,
                event,
                type_name,
                location,
            } => write!(
                f,
                "handler `{handler}` for `{event}` ({location}) needs state of type `{type_name}`, \
                 which was not given: add `.with_state(Arc::new(...))` of that type to the builder"
            ),
            BuildError::DuplicateHandler { handler, event } => write!(
                f,
                "handler id `{handler}` is registered twice for `{event}`: handler ids must be \
                 unique per event (use `name = \"...\"` on the attribute)"
            ),
            BuildError::CatalogMismatch(report) => {
                write!(f, "the handlers do not match the catalog\n{report}")
            }
            BuildError::UnsupportedOption {
                option,
                backend,
                reason,
            } => write!(
                f,
                "`.{option}(..)` has no effect on {backend}: {reason}; remove it from the builder"
            ),
        }
    }
}

impl std::error::Error for BuildError {}
