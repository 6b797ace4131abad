//! Handlers: the error and context types they see, their options, the
//! type-erased form the bus runs, and the link-time registration table that
//! `#[handler]` fills.

use crate::envelope::{Envelope, Metadata, RawEnvelope};
use crate::redact::RedactedValue;
use crate::{DecodeError, Event, EventInfo};
use chrono::{DateTime, Utc};
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

/// An envelope of any event type, shared between the handlers of one event:
/// either a typed [`Envelope`] published in process, or a [`RawEnvelope`] read
/// back from a store or queue and decoded by each handler on use.
#[derive(Clone)]
pub struct DynEnvelope(Arc<dyn ErasedEnvelope>);

/// The envelope fields every envelope kind has, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct EnvelopeHeader<'a> {
    /// Event id.
    pub id: Uuid,
    /// Event name.
    pub event_type: &'a str,
    /// Aggregate id.
    pub aggregate_id: &'a str,
    /// Aggregate type.
    pub aggregate_type: &'a str,
    /// Payload version.
    pub version: u32,
    /// Occurrence time.
    pub occurred_at: DateTime<Utc>,
    /// Tenant and tracing context.
    pub metadata: &'a Metadata,
}

trait ErasedEnvelope: Send + Sync + 'static {
    fn header(&self) -> EnvelopeHeader<'_>;
    fn to_raw(&self) -> Result<RawEnvelope, serde_json::Error>;
    fn payload_value(&self) -> Result<serde_json::Value, serde_json::Error>;
    fn info(&self) -> Option<&'static EventInfo>;
    fn as_any(&self) -> &dyn Any;
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

impl<E: Event> ErasedEnvelope for Envelope<E> {
    fn header(&self) -> EnvelopeHeader<'_> {
        EnvelopeHeader {
            id: self.id,
            event_type: self.event_type,
            aggregate_id: &self.aggregate_id,
            aggregate_type: self.aggregate_type,
            version: self.version,
            occurred_at: self.occurred_at,
            metadata: &self.metadata,
        }
    }
    fn to_raw(&self) -> Result<RawEnvelope, serde_json::Error> {
        Envelope::to_raw(self)
    }
    fn payload_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(&self.payload)
    }
    fn info(&self) -> Option<&'static EventInfo> {
        Some(E::info())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

impl ErasedEnvelope for RawEnvelope {
    fn header(&self) -> EnvelopeHeader<'_> {
        EnvelopeHeader {
            id: self.id,
            event_type: &self.event_type,
            aggregate_id: &self.aggregate_id,
            aggregate_type: &self.aggregate_type,
            version: self.version,
            occurred_at: self.occurred_at,
            metadata: &self.metadata,
        }
    }
    fn to_raw(&self) -> Result<RawEnvelope, serde_json::Error> {
        Ok(self.clone())
    }
    fn payload_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        RawEnvelope::payload_value(self)
    }
    fn info(&self) -> Option<&'static EventInfo> {
        None
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

impl DynEnvelope {
    /// Erases a typed envelope (one allocation, no serialization).
    pub fn new<E: Event>(envelope: Envelope<E>) -> Self {
        DynEnvelope(Arc::new(envelope))
    }

    /// Wraps a raw envelope; handlers decode it when they run.
    pub fn raw(envelope: RawEnvelope) -> Self {
        DynEnvelope(Arc::new(envelope))
    }

    /// The common fields.
    pub fn header(&self) -> EnvelopeHeader<'_> {
        self.0.header()
    }

    /// The event id.
    pub fn id(&self) -> Uuid {
        self.0.header().id
    }

    /// The event name.
    pub fn event_type(&self) -> &str {
        self.0.header().event_type
    }

    /// The catalog entry, when the envelope is typed.
    pub fn info(&self) -> Option<&'static EventInfo> {
        self.0.info()
    }

    /// The type-erased JSON form (serializes a typed payload).
    pub fn to_raw(&self) -> Result<RawEnvelope, serde_json::Error> {
        self.0.to_raw()
    }

    /// The payload as a JSON value (may contain pii: never log it as is).
    pub fn payload_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        self.0.payload_value()
    }

    /// The typed envelope: shared when it was published typed, decoded when raw.
    pub fn typed<E: Event>(&self) -> Result<Arc<Envelope<E>>, DecodeError> {
        if self.0.as_any().is::<Envelope<E>>() {
            if let Ok(env) = Arc::clone(&self.0).into_any().downcast::<Envelope<E>>() {
                return Ok(env);
            }
        }
        if let Some(raw) = self.0.as_any().downcast_ref::<RawEnvelope>() {
            return raw.decode::<E>().map(Arc::new);
        }
        Err(DecodeError::wrong_event(E::NAME, self.event_type()))
    }
}

impl fmt::Debug for DynEnvelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = self.header();
        f.debug_struct("DynEnvelope")
            .field("id", &h.id)
            .field("event_type", &h.event_type)
            .field("aggregate_id", &h.aggregate_id)
            .field("metadata", h.metadata)
            .field("payload", &RedactedDynPayload(self))
            .finish()
    }
}

/// The payload of a [`DynEnvelope`], redacted by the linked catalogs.
struct RedactedDynPayload<'a>(&'a DynEnvelope);

impl fmt::Debug for RedactedDynPayload<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.payload_value() {
            Ok(v) => fmt::Debug::fmt(&RedactedValue::new(self.0.event_type(), &v), f),
            Err(_) => f.write_str("\"[redacted: a payload that does not serialize]\""),
        }
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

/// The state type a registered handler needs.
#[derive(Clone, Copy, Debug)]
pub struct StateType {
    /// `TypeId::of::<T>` (a function: `TypeId::of` is not usable in statics).
    pub type_id: fn() -> TypeId,
    /// `std::any::type_name::<T>`, for error messages.
    pub type_name: fn() -> &'static str,
}

/// One entry of the link-time handler table, written by `#[handler]`.
///
/// `EventBusBuilder::register_all` reads every entry linked into the binary.
#[derive(Clone, Copy, Debug)]
pub struct HandlerRegistration {
    /// The event name.
    pub event: &'static str,
    /// The stable handler id (`name = "…"`, else module path and function name).
    pub id: &'static str,
    /// The options from the attribute.
    pub options: HandlerOptions,
    /// The state the handler needs, if any.
    pub state: Option<StateType>,
    /// The catalog entry of the event.
    pub info: fn() -> &'static EventInfo,
    /// Builds the handler from the bus's states.
    pub build: fn(&States) -> Result<BoxHandler, MissingState>,
    /// `file:line` of the handler function.
    pub location: &'static str,
}

/// Every handler registered with `#[handler]` in this binary, in link order.
pub fn registered_handlers() -> &'static [HandlerRegistration] {
    &HANDLERS
}

/// The link-time table itself.
#[linkme::distributed_slice]
pub static HANDLERS: [HandlerRegistration];
