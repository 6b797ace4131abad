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
