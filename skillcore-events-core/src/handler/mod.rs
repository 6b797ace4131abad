//! Handlers: the error and context types they see, their options, the
//! type-erased form the bus runs and the states they are given; the
//! link-time registration table that `#[handler]` fills is in `registry`.

mod follow_up;
mod registry;

pub(crate) use follow_up::{scoped, Cause};
pub use registry::{registered_handlers, HandlerRegistration, StateType, HANDLERS};

use crate::envelope::{DynEnvelope, Envelope};
use crate::Event;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// A boxed, sendable future: what type-erased handlers return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a handler failed. Any error type converts into it with `?`.
///
/// A *permanent* error (see [`HandlerError::permanent`]) is not retried: the
/// delivery goes straight to the dead letters.
///
/// ```
/// use skillcore_events::HandlerError;
/// fn parse(s: &str) -> Result<u32, HandlerError> {
///     Ok(s.parse::<u32>()?)
/// }
/// assert!(parse("x").unwrap_err().to_string().contains("invalid digit"));
/// assert!(HandlerError::permanent("no such student").is_permanent());
/// ```
pub struct HandlerError {
    source: Box<dyn std::error::Error + Send + Sync + 'static>,
    permanent: bool,
}

impl HandlerError {
    /// An error with a message, retried like any other.
    pub fn msg(message: impl fmt::Display) -> Self {
        HandlerError {
            source: message.to_string().into(),
            permanent: false,
        }
    }

    /// An error that retrying cannot fix: the delivery is dead-lettered at once.
    pub fn permanent(message: impl fmt::Display) -> Self {
        HandlerError {
            source: message.to_string().into(),
            permanent: true,
        }
    }

    /// Marks this error as permanent.
    pub fn into_permanent(mut self) -> Self {
        self.permanent = true;
        self
    }

    /// `true` when retrying is pointless.
    pub fn is_permanent(&self) -> bool {
        self.permanent
    }

    /// The underlying error.
    pub fn source(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.source
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for HandlerError {
    fn from(e: E) -> Self {
        HandlerError {
            source: Box::new(e),
            permanent: false,
        }
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.source, f)
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerError")
            .field("source", &self.source)
            .field("permanent", &self.permanent)
            .finish()
    }
}

/// What a handler knows about the delivery it is running: give a
/// `#[handler]` function a parameter of type `&HandlerContext` to receive it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandlerContext {
    /// The handler's stable id.
    pub handler_id: &'static str,
    /// The event's id.
    pub event_id: Uuid,
    /// 1 for the first attempt, 2 for the first retry, and so on.
    pub attempt: u32,
    /// How many attempts the handler gets in all.
    pub max_attempts: u32,
}

impl HandlerContext {
    /// `true` on every attempt after the first.
    pub fn is_retry(&self) -> bool {
        self.attempt > 1
    }

    /// `true` when a failure now goes to the dead letters.
    pub fn is_last_attempt(&self) -> bool {
        self.attempt >= self.max_attempts
    }
}

/// Per-handler settings; `None` takes the bus default.
///
/// Handlers must not block their thread; see [`HandlerOptions::timeout`].
///
/// ```
/// use skillcore_events::HandlerOptions;
/// use std::time::Duration;
/// const OPTS: HandlerOptions = HandlerOptions::new()
///     .retries(5)
///     .backoff(Duration::from_millis(500))
///     .timeout(Duration::from_secs(10));
/// assert_eq!(OPTS.retries, Some(5));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HandlerOptions {
    /// Retries after the first attempt (so `retries + 1` attempts in all).
    pub retries: Option<u32>,
    /// Delay before the first retry; doubled for each further retry.
    pub backoff: Option<Duration>,
    /// Longest one attempt may run; longer counts as a failed attempt
    /// (retried like any failure), however the attempt finished: an attempt
    /// that returns `Ok` after its timeout is recorded as timed out, not as a
    /// success.
    ///
    /// The timer can only cut off a handler that is waiting (`.await`ing). A
    /// handler must never block its thread (CPU-heavy work, `std::thread::sleep`,
    /// blocking I/O or locks held for long): that stalls every other handler on
    /// the thread and cannot be interrupted. Run such work with
    /// `tokio::task::spawn_blocking` and await its handle.
    pub timeout: Option<Duration>,
    /// The events of one aggregate (the same `aggregate_id`) are handled one
    /// at a time, in the order they were published, retries included: the
    /// next waits until the one before succeeded or was dead-lettered. Events
    /// of other aggregates still run side by side. Off by default
    /// (`#[handler(ordered)]` turns it on).
    pub ordered: bool,
}

impl HandlerOptions {
    /// Every option at the bus default.
    pub const fn new() -> Self {
        HandlerOptions {
            retries: None,
            backoff: None,
            timeout: None,
            ordered: false,
        }
    }

    /// Handles the events of one aggregate one at a time, in publish order
    /// (see [`HandlerOptions::ordered`](HandlerOptions#structfield.ordered)).
    ///
    /// ```
    /// use skillcore_events::HandlerOptions;
    /// let options = HandlerOptions::new().retries(2).ordered(true);
    /// assert!(options.ordered);
    /// ```
    pub const fn ordered(mut self, ordered: bool) -> Self {
        self.ordered = ordered;
        self
    }

    /// Sets the number of retries.
    pub const fn retries(mut self, retries: u32) -> Self {
        self.retries = Some(retries);
        self
    }

    /// Sets the first backoff delay.
    pub const fn backoff(mut self, backoff: Duration) -> Self {
        self.backoff = Some(backoff);
        self
    }

    /// Sets the per-attempt timeout.
    pub const fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// A handler with its event type erased: what the bus stores and runs.
///
/// Built by `#[handler]` and by `EventBusBuilder::subscribe`; implement it
/// directly only for handlers that must see envelopes of several events.
pub trait DynHandler: Send + Sync + 'static {
    /// Runs one attempt.
    fn call(
        &self,
        envelope: &DynEnvelope,
        cx: HandlerContext,
    ) -> BoxFuture<'static, Result<(), HandlerError>>;
}

/// A boxed [`DynHandler`].
pub type BoxHandler = Arc<dyn DynHandler>;

struct FnHandler<E, F> {
    f: F,
    _event: PhantomData<fn(E)>,
}

impl<E, F, Fut> DynHandler for FnHandler<E, F>
where
    E: Event,
    F: Fn(Arc<Envelope<E>>, HandlerContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    fn call(
        &self,
        envelope: &DynEnvelope,
        cx: HandlerContext,
    ) -> BoxFuture<'static, Result<(), HandlerError>> {
        match envelope.typed::<E>() {
            Ok(env) => Box::pin((self.f)(env, cx)),
            // A newer version than this build knows is early, not corrupt: it
            // is retried (a build that knows it may take over meanwhile).
            Err(e) if e.is_version_ahead() => {
                Box::pin(std::future::ready(Err(HandlerError::from(e))))
            }
            // Decoding again will not help: straight to the dead letters.
            Err(e) => Box::pin(std::future::ready(Err(
                HandlerError::from(e).into_permanent()
            ))),
        }
    }
}

/// Turns an async closure over a typed envelope into a [`BoxHandler`].
pub fn handler_fn<E, F, Fut>(f: F) -> BoxHandler
where
    E: Event,
    F: Fn(Arc<Envelope<E>>, HandlerContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    Arc::new(FnHandler {
        f,
        _event: PhantomData,
    })
}

/// The shared state objects given to the bus with `with_state`, by type.
#[derive(Clone, Default)]
pub struct States {
    map: HashMap<TypeId, (Arc<dyn Any + Send + Sync>, &'static str)>,
}

impl States {
    /// Adds (or replaces) the state of type `T`.
    pub fn insert<T: Send + Sync + 'static>(&mut self, state: Arc<T>) {
        self.map
            .insert(TypeId::of::<T>(), (state, std::any::type_name::<T>()));
    }

    /// The state of type `T`.
    pub fn get<T: Send + Sync + 'static>(&self) -> Result<Arc<T>, MissingState> {
        self.map
            .get(&TypeId::of::<T>())
            .and_then(|(s, _)| Arc::clone(s).downcast::<T>().ok())
            .ok_or(MissingState {
                type_name: std::any::type_name::<T>(),
            })
    }

    /// `true` when a state of this type was given.
    pub fn contains(&self, type_id: TypeId) -> bool {
        self.map.contains_key(&type_id)
    }

    /// The type names of the states given, sorted.
    pub fn type_names(&self) -> Vec<&'static str> {
        let mut v: Vec<_> = self.map.values().map(|(_, n)| *n).collect();
        v.sort_unstable();
        v
    }
}

impl fmt::Debug for States {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.type_names()).finish()
    }
}

/// A handler asked for a state type the bus was not given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MissingState {
    /// The state's type name.
    pub type_name: &'static str,
}

impl fmt::Display for MissingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no state of type `{}` was given", self.type_name)
    }
}

impl std::error::Error for MissingState {}
