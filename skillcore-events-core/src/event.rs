//! The traits and runtime catalog types that generated code implements.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A domain event payload generated from the catalog.
///
/// Implemented by `catalog!` for every event struct; the constants come from the
/// event's name `<context>.<aggregate>.<action>` and its catalog entry.
pub trait Event:
    Serialize + DeserializeOwned + Clone + PartialEq + core::fmt::Debug + Send + Sync + 'static
{
    /// Full name, for example `gradebook.grade.posted`.
    const NAME: &'static str;
    /// Bounded context, the first segment: `gradebook`.
    const CONTEXT: &'static str;
    /// Aggregate type from the catalog's `aggregate:` key: `Result`.
    const AGGREGATE: &'static str;
    /// The action, the last segment: `posted`.
    const ACTION: &'static str;
    /// Payload schema version (`version:`, default 1).
    const VERSION: u32;
    /// Wire name of the payload field holding the aggregate id: `resultId`.
    const AGGREGATE_ID_FIELD: &'static str;

    /// The id of the aggregate this event is about (the `aggregate_id` field).
    fn aggregate_id(&self) -> String;

    /// This event's entry in the runtime catalog.
    fn info() -> &'static EventInfo;

    /// Whether a payload of a version newer than [`Self::VERSION`] may be read
    /// as this one: the event's compatibility mode is `forward` or `full`
    /// (or their transitive forms), so old readers read new payloads.
    const READS_NEWER: bool = false;

    /// Decodes a payload written as `version` of this event: a released older
    /// version through the upcast chain the catalog's lock gives (see
    /// `docs/evolution.md`), a newer one as this one when [`Self::READS_NEWER`].
    /// Any other version is a [`crate::DecodeError::VersionMismatch`]
    /// ([`crate::DecodeError::is_version_ahead`] tells a newer one apart).
    fn decode_version(version: u32, json: &str) -> Result<Self, crate::DecodeError> {
        crate::decode::upcast::decode_current::<Self>(version, json)
    }

    /// The tenant metadata this payload carries, when the catalog's
    /// `metadata:` says which fields hold it (see [`crate::TenantFromPayload`]);
    /// `None` otherwise.
    fn tenant(&self) -> Option<crate::Tenant<'_>> {
        None
    }
}

/// The set of all events of one catalog: implemented by the generated `AnyEvent`.
pub trait EventSet: Serialize + Clone + core::fmt::Debug + Send + Sync + Sized + 'static {
    /// The catalog's name.
    const CATALOG: &'static str;

    /// Every event of the catalog, sorted by name.
    fn events() -> &'static [EventInfo];

    /// Decodes the payload JSON of the event called `name`.
    fn from_json(name: &str, json: &str) -> Result<Self, crate::DecodeError>;

    /// Decodes an already parsed payload of the event called `name`.
    fn from_value(name: &str, value: serde_json::Value) -> Result<Self, crate::DecodeError>;

    /// The event's name.
    fn name(&self) -> &'static str;

    /// Decodes the payload JSON of the event called `name`, written as
    /// `version` of it (older released versions through their upcast chain:
    /// [`Event::decode_version`]).
    fn from_json_version(name: &str, version: u32, json: &str) -> Result<Self, crate::DecodeError> {
        let decoded = Self::from_json(name, json)?;
        match Self::info(decoded.name()) {
            Some(i) if i.version != version => Err(crate::DecodeError::VersionMismatch {
                event: i.name,
                expected: i.version,
                found: version,
            }),
            _ => Ok(decoded),
        }
    }

    /// Looks an event up by name.
    fn info(name: &str) -> Option<&'static EventInfo> {
        let events = Self::events();
        events
            .binary_search_by(|e| e.name.cmp(name))
            .ok()
            .map(|i| &events[i])
    }
}

/// One event of the runtime catalog (the generated `EVENTS`): what the original
/// system's hand-written `EVENT_CATALOG` held, now derived from the YAML.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventInfo {
    /// Full name.
    pub name: &'static str,
    /// Context (first segment).
    pub context: &'static str,
    /// Aggregate type.
    pub aggregate: &'static str,
    /// Action (last segment).
    pub action: &'static str,
    /// Payload schema version.
    pub version: u32,
    /// Wire name of the aggregate id field.
    pub aggregate_id: &'static str,
    /// The catalog's description.
    pub description: &'static str,
    /// Payload fields in catalog order.
    pub fields: &'static [FieldInfo],
    /// Declared handler ids.
    pub handlers: &'static [&'static str],
}

impl EventInfo {
    /// A payload field by wire name.
    pub fn field(&self, name: &str) -> Option<&'static FieldInfo> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Wire names of the fields marked pii.
    pub fn pii_fields(&self) -> impl Iterator<Item = &'static str> {
        self.fields.iter().filter(|f| f.pii).map(|f| f.name)
    }
}

/// One payload field of an [`EventInfo`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldInfo {
    /// Wire (JSON) name, lowerCamelCase.
    pub name: &'static str,
    /// Rust field name, snake_case.
    pub rust_name: &'static str,
    /// Catalog type as written, for example `number?` or `LetterGrade`.
    pub ty: &'static str,
    /// May be absent or null.
    pub optional: bool,
    /// Sensitive: never logged.
    pub pii: bool,
    /// The catalog's description, or empty.
    pub description: &'static str,
    /// The fields of the field's struct type (for `Guardian`, `Guardian[]?`),
    /// empty for every other type. The catalog forbids recursive types, so
    /// this tree is finite.
    pub fields: &'static [FieldInfo],
}

impl FieldInfo {
    /// A field entry (what generated code calls; positional to keep the expansion short).
    #[doc(hidden)]
    pub const fn new(
        name: &'static str,
        rust_name: &'static str,
        ty: &'static str,
        optional: bool,
        pii: bool,
        description: &'static str,
    ) -> Self {
        FieldInfo {
            name,
            rust_name,
            ty,
            optional,
            pii,
            description,
            fields: &[],
        }
    }

    /// The same entry with the fields of its struct type (generated code).
    #[doc(hidden)]
    pub const fn with_fields(mut self, fields: &'static [FieldInfo]) -> Self {
        self.fields = fields;
        self
    }

    /// The type without lists and `?`: `Guardian` for `Guardian[]?`.
    pub fn base_type(&self) -> &'static str {
        self.ty.trim_end_matches('?').trim_end_matches("[]")
    }

    /// How many `[]` the type has: 1 for `Guardian[]?`.
    pub fn list_depth(&self) -> usize {
        let t = self.ty.trim_end_matches('?');
        (t.len() - t.trim_end_matches("[]").len()) / 2
    }

    /// A field of this field's struct type by wire name.
    pub fn field(&self, name: &str) -> Option<&'static FieldInfo> {
        self.fields.iter().find(|f| f.name == name)
    }
}
