//! The type-erased envelope the bus passes between handlers of one event:
//! a typed [`Envelope`] published in process, or a [`RawEnvelope`] read back
//! from a store and decoded by each handler on use.

use super::{Envelope, Metadata, RawEnvelope};
use crate::redact::RedactedValue;
use crate::{DecodeError, Event, EventInfo};
use chrono::{DateTime, Utc};
use std::any::Any;
use std::fmt;
use std::sync::Arc;
use uuid::Uuid;

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
