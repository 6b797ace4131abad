//! The payload shape of one version of one event: what the lock records and
//! what the classifier compares. Descriptions, handlers and examples are left
//! out (their edits are never breaking); named types are resolved into a table
//! of every type the payload reaches, so a change inside a shared type is seen
//! at every event that uses it.

use crate::model::{BaseType, Catalog, EventDef, Field, NamedType, TypeKind, TypeRef};
use crate::source::Span;
use std::collections::BTreeMap;

/// One released (or about to be released) shape of an event.
#[derive(Clone, Debug, PartialEq)]
pub struct EventShape {
    /// The name it is published under.
    pub name: String,
    /// Its `version`.
    pub version: u32,
    /// Aggregate type.
    pub aggregate: String,
    /// Wire name of the aggregate id field.
    pub aggregate_id: String,
    /// Whether it was deprecated when released.
    pub deprecated: bool,
    /// Payload fields, in catalog order.
    pub fields: Vec<FieldShape>,
    /// Every named type the payload reaches, by name.
    pub types: BTreeMap<String, TypeShape>,
    /// Where it is written (the event's name in the catalog, or its entry in
    /// the lock file).
    pub span: Span,
}

/// A field of a shape.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldShape {
    /// Wire name.
    pub name: String,
    /// Type (a named base refers to [`EventShape::types`]).
    pub ty: TypeRef,
    /// `default`, if any.
    pub default: Option<serde_json::Value>,
    /// `renamed_from`, if any.
    pub renamed_from: Option<String>,
    /// Sensitive (the generated type of an older version redacts it too).
    pub pii: bool,
    /// Where it is written.
    pub span: Span,
}

/// A named type as a shape sees it.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeShape {
    /// The values of an enum, in catalog order.
    Enum(Vec<String>),
    /// The fields of a struct.
    Struct(Vec<FieldShape>),
}

impl EventShape {
    /// The shape of `e` as the catalog declares it now.
    pub fn of(catalog: &Catalog, e: &EventDef) -> EventShape {
        let mut types = BTreeMap::new();
        let mut todo: Vec<&str> = Vec::new();
        for f in &e.fields {
            named(&f.ty, &mut todo);
        }
        while let Some(name) = todo.pop() {
            if types.contains_key(name) {
                continue;
            }
            let Some(t) = catalog.named_type(name) else {
                continue; // already reported by validation
            };
            if let TypeKind::Struct(fields) = &t.kind {
                for f in fields {
                    named(&f.ty, &mut todo);
                }
            }
            types.insert(name.to_string(), TypeShape::of(t));
        }
        EventShape {
            name: e.name.clone(),
            version: e.version,
            aggregate: e.aggregate.clone(),
            aggregate_id: e.aggregate_id.clone(),
            deprecated: e.deprecated.is_some(),
            fields: e.fields.iter().map(FieldShape::of).collect(),
            types,
            span: e.span,
        }
    }

    /// Whether `self` is what [`EventShape::of`] would build for `e`, spans
    /// aside, without building it: the build's check asks this of the last
    /// released shape first, since most events are unchanged, and builds
    /// today's shape only when the answer is no. `tests/evolution_fast.rs`
    /// holds the check with this shortcut to the check without it.
    pub(crate) fn is_of(&self, catalog: &Catalog, e: &EventDef) -> bool {
        if self.version != e.version
            || self.deprecated != e.deprecated.is_some()
            || self.name != e.name
            || self.aggregate != e.aggregate
            || self.aggregate_id != e.aggregate_id
            || !same_fields(&self.fields, &e.fields)
        {
            return false;
        }
        // The named types the payload reaches: the same walk as `of`, into
        // a list of names instead of a map of shapes.
        let mut seen: Vec<&str> = Vec::new();
        let mut todo: Vec<&str> = Vec::new();
        for f in &e.fields {
            named(&f.ty, &mut todo);
        }
        while let Some(name) = todo.pop() {
            if seen.contains(&name) {
                continue;
            }
            let Some(t) = catalog.named_type(name) else {
                return false; // `of` would leave it out; let it decide
            };
            let Some(released) = self.types.get(name) else {
                return false;
            };
            match (&t.kind, released) {
                (TypeKind::Enum(values), TypeShape::Enum(r)) => {
                    if values.len() != r.len() || values.iter().zip(r).any(|(v, r)| v.value != *r) {
                        return false;
                    }
                }
                (TypeKind::Struct(fields), TypeShape::Struct(r)) => {
                    if !same_fields(r, fields) {
                        return false;
                    }
                    for f in fields {
                        named(&f.ty, &mut todo);
                    }
                }
                _ => return false,
            }
            seen.push(name);
        }
        seen.len() == self.types.len()
    }

    /// A field by wire name.
    pub fn field(&self, name: &str) -> Option<&FieldShape> {
        self.fields.iter().find(|f| f.name == name)
    }
}

impl TypeShape {
    /// The shape of a named type of the catalog.
    pub fn of(t: &NamedType) -> TypeShape {
        match &t.kind {
            TypeKind::Enum(values) => {
                TypeShape::Enum(values.iter().map(|v| v.value.clone()).collect())
            }
            TypeKind::Struct(fields) => {
                TypeShape::Struct(fields.iter().map(FieldShape::of).collect())
            }
        }
    }
}

impl FieldShape {
    fn of(f: &Field) -> FieldShape {
        FieldShape {
            name: f.name.clone(),
            ty: f.ty.clone(),
            default: f.default.clone(),
            renamed_from: f.renamed_from.clone(),
            pii: f.pii,
            span: f.span,
        }
    }

    /// Whether a reader may find the field missing: optional, or filled in
    /// from its default.
    pub fn may_be_absent(&self) -> bool {
        self.ty.optional || self.default.is_some()
    }
}

/// Whether `shapes` are what [`FieldShape::of`] makes of `fields`, spans aside.
fn same_fields(shapes: &[FieldShape], fields: &[Field]) -> bool {
    shapes.len() == fields.len()
        && shapes.iter().zip(fields).all(|(s, f)| {
            s.name == f.name
                && s.ty == f.ty
                && s.pii == f.pii
                && s.renamed_from == f.renamed_from
                && s.default == f.default
        })
}

fn named<'a>(ty: &'a TypeRef, todo: &mut Vec<&'a str>) {
    if let BaseType::Named(n) = &ty.base {
        todo.push(n);
    }
}
