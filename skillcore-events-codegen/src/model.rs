//! The validated catalog: what every emitter reads.
//!
//! A [`Catalog`] is built by [`crate::validate`], which guarantees its invariants
//! even when the source had errors (best effort: broken items are dropped or
//! patched, never half-present): names are unique, every Rust identifier is valid,
//! every named type referenced exists, and the lists are sorted, so emitters can be
//! total functions with deterministic output.

use crate::source::Span;
use std::fmt;

/// A whole catalog.
#[derive(Clone, Debug, PartialEq)]
pub struct Catalog {
    /// The catalog's name (`catalog:`), or the file/directory stem.
    pub name: String,
    /// Named types, sorted by name.
    pub types: Vec<NamedType>,
    /// Events, sorted by name.
    pub events: Vec<EventDef>,
    /// `evolution.compatibility`: the mode of events that set none.
    pub compatibility: Compatibility,
}

impl Catalog {
    /// An event by its full name.
    pub fn event(&self, name: &str) -> Option<&EventDef> {
        self.events
            .binary_search_by(|e| e.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.events[i])
    }

    /// A named type by name.
    pub fn named_type(&self, name: &str) -> Option<&NamedType> {
        self.types
            .binary_search_by(|t| t.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.types[i])
    }

    /// The contexts in order, each with its events (in name order).
    pub fn contexts(&self) -> Vec<(&str, Vec<&EventDef>)> {
        let mut out: Vec<(&str, Vec<&EventDef>)> = Vec::new();
        for e in &self.events {
            match out.last_mut() {
                Some((c, list)) if *c == e.context => list.push(e),
                _ => out.push((&e.context, vec![e])),
            }
        }
        out
    }
}

/// A shared type declared under `types:`.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedType {
    /// PascalCase name, also the Rust type name (unless a keyword: see `ident`).
    pub name: String,
    /// The Rust identifier.
    pub ident: String,
    /// Required description.
    pub description: String,
    /// Enum or struct.
    pub kind: TypeKind,
    /// Where it is declared.
    pub span: Span,
}

/// What a named type is.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeKind {
    /// A closed set of string values.
    Enum(Vec<EnumValue>),
    /// An object with fields.
    Struct(Vec<Field>),
}

/// One value of an enum type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnumValue {
    /// The value on the wire, exactly as written in YAML.
    pub value: String,
    /// The Rust variant identifier.
    pub ident: String,
}

/// One event.
#[derive(Clone, Debug, PartialEq)]
pub struct EventDef {
    /// Full name, `gradebook.grade.posted`.
    pub name: String,
    /// First segment, `gradebook`.
    pub context: String,
    /// Middle segment (the context itself for exempt two-segment names), `grade`.
    pub aggregate_segment: String,
    /// Last segment, `posted`.
    pub action: String,
    /// Aggregate type, PascalCase, `Result`.
    pub aggregate: String,
    /// Wire name of the payload field holding the aggregate id.
    pub aggregate_id: String,
    /// Schema version, 1 by default.
    pub version: u32,
    /// Required description.
    pub description: String,
    /// Payload fields, in catalog order.
    pub fields: Vec<Field>,
    /// Declared handler ids, in catalog order.
    pub handlers: Vec<String>,
    /// Example payloads (validated).
    pub examples: Vec<serde_json::Value>,
    /// Rust identifiers derived from the name.
    pub idents: EventIdents,
    /// Where the event's name is written.
    pub span: Span,
    /// The compatibility mode its changes are checked under (its own, else the
    /// catalog's).
    pub compatibility: Compatibility,
    /// `renamed_from`: the name it was released under before.
    pub renamed_from: Option<String>,
    /// `deprecated`: the reason (empty when none was given).
    pub deprecated: Option<String>,
    /// Where `version:` is written (the event's name when it is left out).
    pub version_span: Span,
    /// `upcast`: hand-written steps of the upcast chain, each the version it
    /// takes, the Rust path of the function, and where it is written.
    pub upcasts: Vec<Upcast>,
    /// `metadata`: the payload fields the envelope's tenant metadata is taken
    /// from (the event's own mapping over the catalog's), when it has one.
    pub metadata: Option<MetadataFields>,
}

/// The payload fields (wire names) an event's envelope metadata comes from:
/// `metadata: { district: districtId, school: schoolId, user: gradedById }`.
/// Each is a required `string` field of the event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataFields {
    /// The field holding the district (tenant) id.
    pub district: String,
    /// The field holding the school id.
    pub school: String,
    /// The field holding the acting user's id, if any.
    pub user: Option<String>,
}

/// A hand-written step of an event's upcast chain.
#[derive(Clone, Debug, PartialEq)]
pub struct Upcast {
    /// The released version the function takes.
    pub from: u32,
    /// The function's Rust path, `crate::upcast::grade_posted_v1`.
    pub path: String,
    /// Where the path is written.
    pub span: Span,
    /// The same as text, `catalog/gradebook.yaml:31:10`, for the compiler's
    /// message when the function has the wrong signature.
    pub at: String,
}

/// How the payload of an event may change within one version (the meanings
/// of Confluent Schema Registry). *Backward*: a reader of the new shape reads
/// payloads of the old one. *Forward*: a reader of the old shape reads payloads
/// of the new one. The transitive forms check against every released version
/// of the same number, not only the latest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Compatibility {
    /// Anything goes.
    None,
    /// New readers read old payloads (the default).
    #[default]
    Backward,
    /// Old readers read new payloads.
    Forward,
    /// Both.
    Full,
    /// Backward, against every released shape.
    BackwardTransitive,
    /// Forward, against every released shape.
    ForwardTransitive,
    /// Full, against every released shape.
    FullTransitive,
}

impl Compatibility {
    /// Every mode, in documentation order.
    pub const ALL: &'static [Compatibility] = &[
        Compatibility::None,
        Compatibility::Backward,
        Compatibility::Forward,
        Compatibility::Full,
        Compatibility::BackwardTransitive,
        Compatibility::ForwardTransitive,
        Compatibility::FullTransitive,
    ];

    /// The name written in the catalog, `backward_transitive`.
    pub fn name(self) -> &'static str {
        match self {
            Compatibility::None => "none",
            Compatibility::Backward => "backward",
            Compatibility::Forward => "forward",
            Compatibility::Full => "full",
            Compatibility::BackwardTransitive => "backward_transitive",
            Compatibility::ForwardTransitive => "forward_transitive",
            Compatibility::FullTransitive => "full_transitive",
        }
    }

    /// A mode by its catalog name.
    pub fn from_name(name: &str) -> Option<Compatibility> {
        Compatibility::ALL
            .iter()
            .copied()
            .find(|m| m.name() == name)
    }

    /// Whether new readers must read old payloads.
    pub fn backward(self) -> bool {
        matches!(
            self,
            Compatibility::Backward
                | Compatibility::Full
                | Compatibility::BackwardTransitive
                | Compatibility::FullTransitive
        )
    }

    /// Whether old readers must read new payloads.
    pub fn forward(self) -> bool {
        matches!(
            self,
            Compatibility::Forward
                | Compatibility::Full
                | Compatibility::ForwardTransitive
                | Compatibility::FullTransitive
        )
    }

    /// Whether every released shape is checked, not only the latest.
    pub fn transitive(self) -> bool {
        matches!(
            self,
            Compatibility::BackwardTransitive
                | Compatibility::ForwardTransitive
                | Compatibility::FullTransitive
        )
    }
}

impl fmt::Display for Compatibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The Rust identifiers generated for one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventIdents {
    /// Context module, `gradebook` (`r#match` for a keyword).
    pub module: String,
    /// Payload struct, `GradePosted`.
    pub type_name: String,
    /// `AnyEvent` variant, `GradebookGradePosted`.
    pub variant: String,
    /// Constant in `names`, `GRADEBOOK_GRADE_POSTED`.
    pub constant: String,
}

/// A field of an event payload or a struct type.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// Wire name, lowerCamelCase, exactly as in YAML.
    pub name: String,
    /// Rust field identifier, snake_case (`r#type` for keywords).
    pub ident: String,
    /// Its type.
    pub ty: TypeRef,
    /// Optional description.
    pub description: Option<String>,
    /// Sensitive data (FERPA): redacted in `Debug` output and logs.
    pub pii: bool,
    /// Where the field is declared.
    pub span: Span,
    /// `renamed_from`: the wire name it was released under before.
    pub renamed_from: Option<String>,
    /// `default`: what a reader fills in when a payload lacks the field
    /// (checked against the type).
    pub default: Option<serde_json::Value>,
    /// `deprecated`: the reason (empty when none was given).
    pub deprecated: Option<String>,
}

/// A field type: a base type, wrapped in lists, maybe optional.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TypeRef {
    /// The element type.
    pub base: BaseType,
    /// How many `[]` follow the base.
    pub list_depth: u8,
    /// A trailing `?`.
    pub optional: bool,
}

/// The built-in types, plus references to named types.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum BaseType {
    /// UTF-8 text.
    String,
    /// A signed 64-bit integer.
    Int,
    /// A 64-bit float.
    Number,
    /// `true` / `false`.
    Bool,
    /// A UUID in its hyphenated text form.
    Uuid,
    /// An RFC 3339 timestamp, held in UTC.
    DateTime,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// Any JSON value.
    Json,
    /// A type from `types:`.
    Named(String),
}

impl BaseType {
    /// The built-in type names, as written in the catalog.
    pub const BUILTINS: &'static [&'static str] = &[
        "string", "int", "number", "bool", "uuid", "datetime", "date", "json",
    ];

    /// A built-in by its catalog name.
    pub fn builtin(name: &str) -> Option<BaseType> {
        Some(match name {
            "string" => BaseType::String,
            "int" => BaseType::Int,
            "number" => BaseType::Number,
            "bool" => BaseType::Bool,
            "uuid" => BaseType::Uuid,
            "datetime" => BaseType::DateTime,
            "date" => BaseType::Date,
            "json" => BaseType::Json,
            _ => return None,
        })
    }

    /// The name as written in the catalog.
    pub fn catalog_name(&self) -> &str {
        match self {
            BaseType::String => "string",
            BaseType::Int => "int",
            BaseType::Number => "number",
            BaseType::Bool => "bool",
            BaseType::Uuid => "uuid",
            BaseType::DateTime => "datetime",
            BaseType::Date => "date",
            BaseType::Json => "json",
            BaseType::Named(n) => n,
        }
    }
}

impl TypeRef {
    /// A plain, required, non-list type.
    pub fn plain(base: BaseType) -> Self {
        TypeRef {
            base,
            list_depth: 0,
            optional: false,
        }
    }

    /// Reads a type expression (`LetterGrade[]?`); `is_named` says which
    /// names are declared types. `None` when malformed or unknown.
    pub fn parse(text: &str, is_named: impl Fn(&str) -> bool) -> Option<TypeRef> {
        let text = text.trim();
        let (mut base, optional) = match text.strip_suffix('?') {
            Some(r) => (r.trim_end(), true),
            None => (text, false),
        };
        let mut list_depth = 0u8;
        while let Some(b) = base.strip_suffix("[]") {
            base = b.trim_end();
            list_depth = list_depth.checked_add(1)?;
        }
        let base = match BaseType::builtin(base) {
            Some(b) => b,
            None if !base.is_empty() && is_named(base) => BaseType::Named(base.to_string()),
            None => return None,
        };
        Some(TypeRef {
            base,
            list_depth,
            optional,
        })
    }

    /// `true` for the types an aggregate id may have: `string`, `uuid`, `int`.
    pub fn is_identifier(&self) -> bool {
        !self.optional
            && self.list_depth == 0
            && matches!(self.base, BaseType::String | BaseType::Uuid | BaseType::Int)
    }
}

impl fmt::Display for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.base.catalog_name())?;
        for _ in 0..self.list_depth {
            f.write_str("[]")?;
        }
        if self.optional {
            f.write_str("?")?;
        }
        Ok(())
    }
}
