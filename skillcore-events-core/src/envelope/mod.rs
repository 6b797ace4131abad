//! The envelope every published event travels in: identity, aggregate, tenant
//! context and time around the typed payload; its JSON forms (the original
//! `EventStore` row and CloudEvents 1.0); and the type-erased [`RawEnvelope`].

mod dynamic;
mod tenant;

pub use dynamic::{DynEnvelope, EnvelopeHeader};
pub use tenant::{IntoEnvelope, Tenant, TenantFromPayload};

use crate::ids::new_event_id;
use crate::quote;
use crate::redact::RedactedPayload;
use crate::{DecodeError, Event, EventSet};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use uuid::Uuid;

/// Prefix of every event's JSON Schema `$id`; the same default as the catalog
/// compiler's `Settings::schema_id_base`, so `dataschema` names the schema the
/// exporter writes.
pub const SCHEMA_ID_BASE: &str = "https://schemas.skillcore.dev/events/";

/// The default CloudEvents `source` attribute.
pub const DEFAULT_SOURCE: &str = "/skillcore";

/// The `$id` of an event's payload schema: `<base><name>.v<version>.schema.json`.
///
/// ```
/// assert_eq!(
///     skillcore_events::schema_id("gradebook.grade.posted", 1),
///     "https://schemas.skillcore.dev/events/gradebook.grade.posted.v1.schema.json"
/// );
/// ```
pub fn schema_id(event: &str, version: u32) -> String {
    format!("{SCHEMA_ID_BASE}{event}.v{version}.schema.json")
}

/// The tenant and tracing context every SkillCore event carries.
///
/// Serialized with camelCase keys (`districtId`, `schoolId`, `userId`,
/// `correlationId`, `causationId`), as the original `EventStore.metadata` column.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// The district (tenant) the event belongs to.
    pub district_id: String,
    /// The school within the district.
    pub school_id: String,
    /// The person whose action raised the event; `None` for system events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Shared by every event of one chain (a request, a workflow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The id of the event that caused this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
}

impl Metadata {
    /// Metadata for a district and school, with no user and no chain.
    ///
    /// ```
    /// let m = skillcore_events::Metadata::new("dst-222", "sch-333").with_user("tch-111");
    /// assert_eq!(m.user_id.as_deref(), Some("tch-111"));
    /// ```
    pub fn new(district_id: impl Into<String>, school_id: impl Into<String>) -> Self {
        Metadata {
            district_id: district_id.into(),
            school_id: school_id.into(),
            ..Metadata::default()
        }
    }

    /// Sets the acting user.
    pub fn with_user(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Sets the correlation id.
    pub fn with_correlation(mut self, correlation_id: impl Into<String>) -> Self {
        self.correlation_id = Some(correlation_id.into());
        self
    }
}

/// A typed event with its envelope: what `EventBus::publish` takes and what
/// handlers receive.
///
/// `Envelope::new(payload, metadata)` fills the rest from the payload's
/// [`Event`] implementation: a fresh time-ordered UUID v7 id, the event name,
/// aggregate type and id, the schema version and the current UTC time.
///
/// ```
/// # mod events { skillcore_events::catalog!("tests/fixtures/mini.yaml"); }
/// use skillcore_events::{Envelope, Metadata};
/// let payload = events::gradebook::GradePosted { result_id: "r-1".into(), score: 9.5 };
/// let env = Envelope::new(payload, Metadata::new("dst-1", "sch-1"));
/// assert_eq!(env.event_type, "gradebook.grade.posted");
/// assert_eq!(env.aggregate_id, "r-1");
/// let row = env.to_json().unwrap();
/// assert!(row.contains(r#""eventType":"gradebook.grade.posted""#));
/// ```
#[derive(Clone, PartialEq)]
pub struct Envelope<E> {
    /// Unique, time-ordered id (UUID v7).
    pub id: Uuid,
    /// The event name, `gradebook.grade.posted`.
    pub event_type: &'static str,
    /// The id of the aggregate the event is about.
    pub aggregate_id: String,
    /// The aggregate type, `Result`.
    pub aggregate_type: &'static str,
    /// The payload schema version.
    pub version: u32,
    /// When it happened, in UTC.
    pub occurred_at: DateTime<Utc>,
    /// Tenant and tracing context.
    pub metadata: Metadata,
    /// The typed payload.
    pub payload: E,
}

impl<E: Event> Envelope<E> {
    /// Wraps a payload: a new UUID v7 id ([`new_event_id`]), the current time, and the name,
    /// aggregate and version from `E`.
    pub fn new(payload: E, metadata: Metadata) -> Self {
        Envelope {
            id: new_event_id(),
            event_type: E::NAME,
            aggregate_id: payload.aggregate_id(),
            aggregate_type: E::AGGREGATE,
            version: E::VERSION,
            occurred_at: Utc::now(),
            metadata,
            payload,
        }
    }

    /// Records that this event was caused by `cause`: sets the causation id to
    /// its id and carries its correlation id over (or starts a chain at its id).
    pub fn caused_by<C>(mut self, cause: &Envelope<C>) -> Self {
        self.metadata.causation_id = Some(cause.id);
        self.metadata.correlation_id = Some(
            cause
                .metadata
                .correlation_id
                .clone()
                .unwrap_or_else(|| cause.id.to_string()),
        );
        self
    }

    /// The `$id` of this event's payload schema (the CloudEvents `dataschema`).
    pub fn schema_id(&self) -> String {
        schema_id(self.event_type, self.version)
    }

    /// The type-erased form, payload as JSON.
    pub fn to_raw(&self) -> Result<RawEnvelope, serde_json::Error> {
        Ok(RawEnvelope {
            id: self.id,
            event_type: self.event_type.to_string(),
            aggregate_id: self.aggregate_id.clone(),
            aggregate_type: self.aggregate_type.to_string(),
            version: self.version,
            occurred_at: self.occurred_at,
            metadata: self.metadata.clone(),
            payload: serde_json::value::to_raw_value(&self.payload)?,
        })
    }

    /// The `EventStore` row JSON (camelCase keys).
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// Decodes an `EventStore` row JSON, checking the event name and version.
    pub fn from_json(json: &str) -> Result<Self, DecodeError> {
        RawEnvelope::from_json(json)?.decode()
    }

    /// A CloudEvents 1.0 event in its JSON format, with the given `source`.
    pub fn to_cloudevent(&self, source: &str) -> Result<Value, serde_json::Error> {
        Ok(self.to_raw()?.to_cloudevent(source))
    }

    /// Reads a CloudEvents 1.0 JSON event written by [`Envelope::to_cloudevent`]
    /// (or any producer following the same attribute mapping).
    pub fn from_cloudevent(event: &Value) -> Result<Self, DecodeError> {
        RawEnvelope::from_cloudevent(event)?.decode()
    }
}

impl<E: EventSet> Envelope<E> {
    /// The event name of an `Envelope<AnyEvent>` (its payload's name).
    pub fn name(&self) -> &'static str {
        self.payload.name()
    }
}

impl<E: core::fmt::Debug> core::fmt::Debug for Envelope<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The payload's Debug is generated and prints pii fields as `[redacted]`.
        f.debug_struct("Envelope")
            .field("id", &self.id)
            .field("event_type", &self.event_type)
            .field("aggregate_id", &self.aggregate_id)
            .field("aggregate_type", &self.aggregate_type)
            .field("version", &self.version)
            .field("occurred_at", &self.occurred_at)
            .field("metadata", &self.metadata)
            .field("payload", &self.payload)
            .finish()
    }
}

/// The row shape, borrowed: the one serializer for both envelope kinds.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Row<'a, P: ?Sized> {
    id: &'a Uuid,
    event_type: &'a str,
    aggregate_id: &'a str,
    aggregate_type: &'a str,
    payload: &'a P,
    metadata: &'a Metadata,
    version: u32,
    occurred_at: &'a DateTime<Utc>,
}

impl<E: Serialize> Serialize for Envelope<E> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Row {
            id: &self.id,
            event_type: self.event_type,
            aggregate_id: &self.aggregate_id,
            aggregate_type: self.aggregate_type,
            payload: &self.payload,
            metadata: &self.metadata,
            version: self.version,
            occurred_at: &self.occurred_at,
        }
        .serialize(s)
    }
}

impl<'de, E: Event> Deserialize<'de> for Envelope<E> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawEnvelope::deserialize(d)?
            .decode()
            .map_err(serde::de::Error::custom)
    }
}

/// An envelope whose payload is still JSON: what a store or queue hands back
/// before the event's type is known. Decode it with [`RawEnvelope::decode`]
/// (one event type) or [`RawEnvelope::decode_any`] (the catalog's `AnyEvent`).
///
/// (De)serializes as the `EventStore` row: `id`, `eventType`, `aggregateId`,
/// `aggregateType`, `payload`, `metadata`, `version`, `occurredAt`.
///
/// `Debug` shows the payload redacted by the linked catalogs (see
/// [`crate::redact`]): no pii value, no field the catalog does not know.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawEnvelope {
    /// Unique id.
    pub id: Uuid,
    /// The event name.
    pub event_type: String,
    /// The aggregate id.
    pub aggregate_id: String,
    /// The aggregate type.
    pub aggregate_type: String,
    /// The payload JSON, kept as text until decoded.
    pub payload: Box<RawValue>,
    /// Tenant and tracing context.
    pub metadata: Metadata,
    /// The payload schema version.
    #[serde(default = "one")]
    pub version: u32,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
}

fn one() -> u32 {
    1
}

/// Payloads compare as JSON values, so key order and whitespace do not matter.
impl PartialEq for RawEnvelope {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.event_type == other.event_type
            && self.aggregate_id == other.aggregate_id
            && self.aggregate_type == other.aggregate_type
            && same_json(self.payload.get(), other.payload.get())
            && self.metadata == other.metadata
            && self.version == other.version
            && self.occurred_at == other.occurred_at
    }
}

/// Equal JSON texts, or texts of equal JSON values (key order and spacing
/// aside).
fn same_json(a: &str, b: &str) -> bool {
    a == b
        || matches!(
            (serde_json::from_str::<Value>(a), serde_json::from_str::<Value>(b)),
            (Ok(x), Ok(y)) if x == y
        )
}

impl core::fmt::Debug for RawEnvelope {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RawEnvelope")
            .field("id", &self.id)
            .field("event_type", &self.event_type)
            .field("aggregate_id", &self.aggregate_id)
            .field("aggregate_type", &self.aggregate_type)
            .field(
                "payload",
                &RedactedPayload::new(&self.event_type, self.payload.get()),
            )
            .field("metadata", &self.metadata)
            .field("version", &self.version)
            .field("occurred_at", &self.occurred_at)
            .finish()
    }
}

fn invalid_envelope(message: impl Into<String>) -> DecodeError {
    DecodeError::InvalidEnvelope {
        message: message.into(),
    }
}

impl RawEnvelope {
    /// Parses an `EventStore` row JSON.
    pub fn from_json(json: &str) -> Result<Self, DecodeError> {
        serde_json::from_str(json)
            .map_err(|e| invalid_envelope(quote::bounded(&e.to_string(), 200)))
    }

    /// The row JSON.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// Decodes into a typed envelope. Fails when the event name is not
    /// `E::NAME`, the version is one `E` cannot read ([`Event::decode_version`]:
    /// older released versions are upcast), or the payload does not match.
    pub fn decode<E: Event>(&self) -> Result<Envelope<E>, DecodeError> {
        // A renamed event's stored envelopes carry its old name.
        if !crate::renames::is_named(&self.event_type, E::NAME) {
            return Err(DecodeError::wrong_event(E::NAME, &self.event_type));
        }
        let payload = E::decode_version(self.version, self.payload.get())?;
        Ok(Envelope {
            id: self.id,
            event_type: E::NAME,
            aggregate_id: self.aggregate_id.clone(),
            aggregate_type: E::AGGREGATE,
            // The payload is of the current version now (upcast if it was older).
            version: E::VERSION,
            occurred_at: self.occurred_at,
            metadata: self.metadata.clone(),
            payload,
        })
    }

    /// Decodes into the catalog's `AnyEvent` (any [`EventSet`]): the name picks
    /// the payload type. Fails on an unknown name, a version the catalog cannot
    /// read (older released versions are upcast), or a payload that does not match.
    pub fn decode_any<S: EventSet>(&self) -> Result<Envelope<S>, DecodeError> {
        let payload = S::from_json_version(&self.event_type, self.version, self.payload.get())?;
        let info = S::info(payload.name());
        let (event_type, aggregate_type, version) = match info {
            Some(i) => (i.name, i.aggregate, i.version),
            // `from_json` accepted the name, so the catalog has it.
            None => return Err(DecodeError::unknown_event(&self.event_type, &[])),
        };
        Ok(Envelope {
            id: self.id,
            event_type,
            aggregate_id: self.aggregate_id.clone(),
            aggregate_type,
            version,
            occurred_at: self.occurred_at,
            metadata: self.metadata.clone(),
            payload,
        })
    }

    /// The payload as a JSON value.
    pub fn payload_value(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_str(self.payload.get())
    }

    /// The `$id` of the payload schema.
    pub fn schema_id(&self) -> String {
        schema_id(&self.event_type, self.version)
    }

    /// A CloudEvents 1.0 event in its JSON format.
    ///
    /// `type` is the event name, `subject` the aggregate id, `dataschema` the
    /// payload schema `$id`, `data` the payload; the tenant context travels as
    /// the extension attributes `districtid`, `schoolid`, `userid`,
    /// `correlationid` and `causationid`, and the aggregate type as
    /// `aggregatetype`.
    pub fn to_cloudevent(&self, source: &str) -> Value {
        let mut o = Map::new();
        let s = |v: &str| Value::String(v.to_string());
        o.insert("specversion".into(), s("1.0"));
        o.insert("id".into(), Value::String(self.id.to_string()));
        o.insert("source".into(), s(source));
        o.insert("type".into(), s(&self.event_type));
        o.insert("subject".into(), s(&self.aggregate_id));
        o.insert(
            "time".into(),
            Value::String(
                self.occurred_at
                    .to_rfc3339_opts(SecondsFormat::AutoSi, true),
            ),
        );
        o.insert("datacontenttype".into(), s("application/json"));
        o.insert("dataschema".into(), Value::String(self.schema_id()));
        o.insert("aggregatetype".into(), s(&self.aggregate_type));
        o.insert("districtid".into(), s(&self.metadata.district_id));
        o.insert("schoolid".into(), s(&self.metadata.school_id));
        if let Some(u) = &self.metadata.user_id {
            o.insert("userid".into(), s(u));
        }
        if let Some(c) = &self.metadata.correlation_id {
            o.insert("correlationid".into(), s(c));
        }
        if let Some(c) = &self.metadata.causation_id {
            o.insert("causationid".into(), Value::String(c.to_string()));
        }
        // A payload that does not parse cannot come out of `to_raw`; keep the
        // text as a string rather than panic if one was built by hand.
        let data = serde_json::from_str(self.payload.get())
            .unwrap_or_else(|_| Value::String(self.payload.get().to_string()));
        o.insert("data".into(), data);
        Value::Object(o)
    }

    /// Reads a CloudEvents 1.0 JSON event (see [`RawEnvelope::to_cloudevent`]).
    ///
    /// Requires `specversion` `1.0`, `id` (a UUID), `type`, `subject`, `time`,
    /// `districtid`, `schoolid` and JSON `data`; `data_base64` and non-JSON
    /// content types are refused. The version is read from `dataschema`
    /// (`….v<N>.schema.json`), 1 when absent.
    pub fn from_cloudevent(event: &Value) -> Result<Self, DecodeError> {
        let o = event
            .as_object()
            .ok_or_else(|| invalid_envelope("a CloudEvent must be a JSON object"))?;
        let text = |key: &str| -> Result<&str, DecodeError> {
            match o.get(key) {
                Some(Value::String(s)) => Ok(s),
                Some(_) => Err(invalid_envelope(format!(
                    "CloudEvent attribute `{key}` must be a string"
                ))),
                None => Err(invalid_envelope(format!(
                    "CloudEvent attribute `{key}` is missing"
                ))),
            }
        };
        let opt_text = |key: &str| -> Result<Option<String>, DecodeError> {
            match o.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(invalid_envelope(format!(
                    "CloudEvent attribute `{key}` must be a string"
                ))),
            }
        };
        let spec = text("specversion")?;
        if spec != "1.0" {
            return Err(invalid_envelope(format!(
                "unsupported CloudEvents specversion `{}` (expected `1.0`)",
                quote::short(spec)
            )));
        }
        text("source")?;
        let id = Uuid::parse_str(text("id")?).map_err(|e| {
            invalid_envelope(format!(
                "CloudEvent `id` is not a UUID: {}",
                quote::short(&e.to_string())
            ))
        })?;
        let event_type = text("type")?.to_string();
        let aggregate_id = text("subject")?.to_string();
        let time = text("time")?;
        let occurred_at = DateTime::parse_from_rfc3339(time)
            .map_err(|e| {
                invalid_envelope(format!(
                    "CloudEvent `time` is not RFC 3339 (`{}`): {e}",
                    quote::short(time)
                ))
            })?
            .with_timezone(&Utc);
        if let Some(ct) = opt_text("datacontenttype")? {
            let base = ct.split(';').next().unwrap_or("").trim();
            if base != "application/json" && !base.ends_with("+json") {
                return Err(invalid_envelope(format!(
                    "CloudEvent `datacontenttype` `{}` is not JSON",
                    quote::short(&ct)
                )));
            }
        }
        if o.contains_key("data_base64") {
            return Err(invalid_envelope(
                "CloudEvent carries `data_base64`; only JSON `data` is supported",
            ));
        }
        let data = o
            .get("data")
            .ok_or_else(|| invalid_envelope("CloudEvent attribute `data` is missing"))?;
        let version = match opt_text("dataschema")? {
            Some(schema) => version_from_schema(&schema).ok_or_else(|| {
                invalid_envelope(format!(
                    "CloudEvent `dataschema` `{}` does not end in `.v<N>.schema.json`",
                    quote::short(&schema)
                ))
            })?,
            None => 1,
        };
        let causation_id = match opt_text("causationid")? {
            Some(c) => Some(Uuid::parse_str(&c).map_err(|e| {
                invalid_envelope(format!(
                    "CloudEvent `causationid` is not a UUID: {}",
                    quote::short(&e.to_string())
                ))
            })?),
            None => None,
        };
        let metadata = Metadata {
            district_id: text("districtid")?.to_string(),
            school_id: text("schoolid")?.to_string(),
            user_id: opt_text("userid")?,
            correlation_id: opt_text("correlationid")?,
            causation_id,
        };
        Ok(RawEnvelope {
            id,
            event_type,
            aggregate_id,
            aggregate_type: opt_text("aggregatetype")?.unwrap_or_default(),
            payload: serde_json::value::to_raw_value(data)
                .map_err(|e| invalid_envelope(e.to_string()))?,
            metadata,
            version,
            occurred_at,
        })
    }
}

fn version_from_schema(schema: &str) -> Option<u32> {
    let stem = schema.strip_suffix(".schema.json")?;
    let at = stem.rfind(".v")?;
    stem[at + 2..].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_read_from_the_schema_id() {
        assert_eq!(version_from_schema(&schema_id("a.b.c", 3)), Some(3));
        assert_eq!(version_from_schema("x.schema.json"), None);
        assert_eq!(version_from_schema("a.b.vx.schema.json"), None);
    }
}
