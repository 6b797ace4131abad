//! Every version of an event the exports describe: the released versions the
//! lock records (older than the catalog's), then the current one.
//!
//! The lock holds shapes, not descriptions. An older version is turned into a
//! small catalog of its own ([`Version::model`]: one event, the named types as
//! they were), so the JSON Schema, AsyncAPI and example emitters describe it
//! with the same code as the current version. Descriptions of fields and types
//! that did not change are borrowed from the current catalog; a changed one
//! gets none rather than a wrong one.

use super::json::Json;
use crate::evolution::{older_versions, EventShape, FieldShape, Lock, TypeShape};
use crate::model::{BaseType, Catalog, EnumValue, EventDef, Field, NamedType, TypeKind};
use std::collections::BTreeSet;

/// One version of an event.
#[derive(Clone, Debug)]
pub struct Version {
    /// Its number.
    pub number: u32,
    /// Its shape: the last one released of that version, or the catalog's
    /// for the current version.
    pub shape: EventShape,
    /// Whether it is the catalog's current version.
    pub current: bool,
    /// Whether the lock records it (a current version newer than the lock's
    /// latest is not released yet).
    pub released: bool,
    /// For an older version: a catalog holding only that version of the event
    /// (under its current name) and its named types as they were. `None` for
    /// the current version, which the catalog itself describes.
    pub model: Option<Catalog>,
}

impl Version {
    /// The name it was published under, when it differs from the event's
    /// current name (a release before a `renamed_from`).
    pub fn released_as<'a>(&'a self, e: &EventDef) -> Option<&'a str> {
        (self.shape.name != e.name).then_some(self.shape.name.as_str())
    }

    /// The catalog and event that describe this version: the version's own
    /// model for an older one, `catalog` and `e` for the current one.
    pub fn def<'a>(&'a self, catalog: &'a Catalog, e: &'a EventDef) -> (&'a Catalog, &'a EventDef) {
        match &self.model {
            Some(m) => (m, &m.events[0]),
            None => (catalog, e),
        }
    }
}

/// The lock's history of `e`: under its name, or the name it is renamed from.
pub fn history<'l>(lock: Option<&'l Lock>, e: &EventDef) -> &'l [EventShape] {
    let Some(lock) = lock else { return &[] };
    lock.history(&e.name)
        .or_else(|| e.renamed_from.as_deref().and_then(|r| lock.history(r)))
        .unwrap_or(&[])
}

/// Every version of `e`, oldest first, the current one last.
pub fn versions(catalog: &Catalog, lock: Option<&Lock>, e: &EventDef) -> Vec<Version> {
    let hist = history(lock, e);
    let mut out: Vec<Version> = older_versions(hist, e.version)
        .into_iter()
        .map(|s| Version {
            number: s.version,
            shape: s.clone(),
            current: false,
            released: true,
            model: Some(model_of(catalog, e, s)),
        })
        .collect();
    out.push(Version {
        number: e.version,
        shape: EventShape::of(catalog, e),
        current: true,
        released: hist.iter().any(|s| s.version == e.version),
        model: None,
    });
    out
}

/// The older names of field `field` of `versions[at]`, newest first, from the
/// `renamed_from` of each version back to the oldest.
pub fn old_names(versions: &[Version], at: usize, field: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut name = field.to_string();
    for v in versions[..=at.min(versions.len().saturating_sub(1))]
        .iter()
        .rev()
    {
        let Some(f) = v.shape.field(&name) else { break };
        if let Some(r) = f.renamed_from.as_deref().filter(|r| *r != name) {
            if out.iter().any(|o| o == r) {
                break;
            }
            out.push(r.to_string());
            name = r.to_string();
        }
    }
    out
}

/// Sets `x-renamedFrom` (the older names, newest first) on each renamed
/// property of a payload schema, from the whole history.
pub fn annotate_renames(schema: &mut Json, versions: &[Version], at: usize) {
    let Some(Json::Obj(props)) = schema_props(schema) else {
        return;
    };
    for (name, p) in props.iter_mut() {
        let names = old_names(versions, at, name);
        if !names.is_empty() {
            p.set(
                "x-renamedFrom",
                Json::Arr(names.iter().map(Json::str).collect()),
            );
        }
    }
}

fn schema_props(schema: &mut Json) -> Option<&mut Json> {
    let Json::Obj(entries) = schema else {
        return None;
    };
    entries
        .iter_mut()
        .find(|(k, _)| k == "properties")
        .map(|(_, v)| v)
}

/// Whether two shapes of a named type are the same, positions aside.
pub fn same_type(a: &TypeShape, b: &TypeShape) -> bool {
    match (a, b) {
        (TypeShape::Enum(x), TypeShape::Enum(y)) => x == y,
        (TypeShape::Struct(x), TypeShape::Struct(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(f, g)| same_field(f, g))
        }
        _ => false,
    }
}

fn same_field(f: &FieldShape, g: &FieldShape) -> bool {
    f.name == g.name
        && f.ty == g.ty
        && f.default == g.default
        && f.renamed_from == g.renamed_from
        && f.pii == g.pii
}

/// The named types of `shape` that are not the catalog's type of that name
/// as it is now: changed, gone, or reaching a changed type.
pub fn changed_types(catalog: &Catalog, shape: &EventShape) -> BTreeSet<String> {
    let mut changed: BTreeSet<String> = shape
        .types
        .iter()
        .filter(|(name, t)| {
            catalog
                .named_type(name)
                .is_none_or(|now| !same_type(t, &TypeShape::of(now)))
        })
        .map(|(name, _)| name.clone())
        .collect();
    loop {
        let more: Vec<String> = shape
            .types
            .iter()
            .filter(|(name, _)| !changed.contains(*name))
            .filter(|(_, t)| match t {
                TypeShape::Struct(fields) => fields
                    .iter()
                    .any(|f| matches!(&f.ty.base, BaseType::Named(n) if changed.contains(n))),
                TypeShape::Enum(_) => false,
            })
            .map(|(name, _)| name.clone())
            .collect();
        if more.is_empty() {
            return changed;
        }
        changed.extend(more);
    }
}

/// A one-event catalog describing the older version `s` of `e`.
pub fn model_of(catalog: &Catalog, e: &EventDef, s: &EventShape) -> Catalog {
    let changed = changed_types(catalog, s);
    let types = s
        .types
        .iter()
        .map(|(name, t)| {
            let now = catalog.named_type(name);
            let description = match now {
                Some(now) if !changed.contains(name) => now.description.clone(),
                _ => format!("`{name}` as it was in version {}.", s.version),
            };
            let kind = match t {
                TypeShape::Enum(values) => TypeKind::Enum(
                    values
                        .iter()
                        .map(|v| EnumValue {
                            value: v.clone(),
                            ident: v.clone(),
                        })
                        .collect(),
                ),
                TypeShape::Struct(fields) => {
                    let now_fields = match now.map(|n| &n.kind) {
                        Some(TypeKind::Struct(f)) => f.as_slice(),
                        _ => &[],
                    };
                    TypeKind::Struct(fields.iter().map(|f| field_of(f, now_fields)).collect())
                }
            };
            NamedType {
                name: name.clone(),
                ident: name.clone(),
                description,
                kind,
                span: Default::default(),
            }
        })
        .collect();
    let description = format!(
        "Version {} of `{}`{}, as released (recorded in the lock file). The current version is {}.",
        s.version,
        e.name,
        if s.name != e.name {
            format!(" (published as `{}`)", s.name)
        } else {
            String::new()
        },
        e.version
    );
    let def = EventDef {
        name: e.name.clone(),
        version: s.version,
        aggregate: s.aggregate.clone(),
        aggregate_id: s.aggregate_id.clone(),
        description,
        fields: s.fields.iter().map(|f| field_of(f, &e.fields)).collect(),
        examples: Vec::new(),
        renamed_from: None,
        deprecated: s.deprecated.then(String::new),
        upcasts: Vec::new(),
        ..e.clone()
    };
    Catalog {
        name: catalog.name.clone(),
        types,
        events: vec![def],
        compatibility: catalog.compatibility,
    }
}

/// A model field from a released one; the description is the current
/// field's when that has the same name and type.
fn field_of(f: &FieldShape, now: &[Field]) -> Field {
    let description = now
        .iter()
        .find(|n| n.name == f.name && n.ty == f.ty)
        .and_then(|n| n.description.clone());
    Field {
        name: f.name.clone(),
        ident: f.name.clone(),
        ty: f.ty.clone(),
        description,
        pii: f.pii,
        span: f.span,
        renamed_from: f.renamed_from.clone(),
        default: f.default.clone(),
        deprecated: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evolution::relock;

    const V1: &str = "catalog: t\ntypes:\n  L: { description: letters, enum: [A, B] }\nevents:\n  a.b.posted:\n    description: d\n    aggregate: B\n    aggregate_id: id\n    payload:\n      id: string\n      score: { type: number, description: the score }\n      grade: L\n";
    const V2: &str = "catalog: t\ntypes:\n  L: { description: letters, enum: [A, B, C] }\nevents:\n  a.b.posted:\n    description: d\n    version: 2\n    aggregate: B\n    aggregate_id: id\n    payload:\n      id: string\n      points: { type: number, renamed_from: score }\n      grade: L\n";

    #[test]
    fn older_versions_become_one_event_models() {
        let v1 = crate::compile_str("t.yaml", V1);
        let lock = relock(None, &v1.catalog);
        let v2 = crate::compile_str("t.yaml", V2);
        assert!(v2.is_ok(), "{}", v2.render_diagnostics());
        let e = v2.catalog.event("a.b.posted").unwrap();
        let vs = versions(&v2.catalog, Some(&lock), e);
        assert_eq!(vs.iter().map(|v| v.number).collect::<Vec<_>>(), [1, 2]);
        assert!(vs[1].current && !vs[1].released && vs[0].released);
        let m = vs[0].model.as_ref().unwrap();
        let old = &m.events[0];
        assert_eq!(old.version, 1);
        assert_eq!(old.fields[1].name, "score");
        // Not the current field of another name: no borrowed description.
        assert_eq!(old.fields[1].description, None);
        // `L` changed since: its old values, and a description saying so.
        assert_eq!(
            changed_types(&v2.catalog, &vs[0].shape),
            BTreeSet::from(["L".to_string()])
        );
        match &m.types[0].kind {
            TypeKind::Enum(v) => assert_eq!(v.len(), 2),
            k => panic!("{k:?}"),
        }
        assert_eq!(old_names(&vs, 1, "points"), ["score"]);
        assert!(old_names(&vs, 0, "score").is_empty());
        // Without a lock: the current version only.
        assert_eq!(versions(&v2.catalog, None, e).len(), 1);
    }
}
