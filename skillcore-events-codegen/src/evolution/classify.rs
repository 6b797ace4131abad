//! The classifier: every difference between two shapes of an event, each with
//! its stable rule id and whether readers on either side still read the
//! other's payloads.
//!
//! *Backward* (a reader of the new shape reads old payloads, after the
//! generated upcast: renames applied, defaults filled in, removed fields
//! dropped) and *forward* (a reader of the old shape reads new payloads;
//! generated types ignore unknown fields) are judged per change; a mode then
//! accepts a change when every direction it asks for holds. The table is in
//! `docs/evolution.md`; a property test (`tests/evolution_sound.rs`) holds the
//! classifier to it with payloads.

use super::shape::{EventShape, FieldShape, TypeShape};
use crate::model::{BaseType, Compatibility, TypeRef};
use crate::source::Span;
use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// What kind of change, with its stable id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ChangeKind {
    /// A field of the old shape is gone.
    FieldRemoved,
    /// A new required field.
    FieldAddedRequired,
    /// A new optional field.
    FieldAddedOptional,
    /// An optional field became required.
    FieldMadeRequired,
    /// A required field became optional.
    FieldMadeOptional,
    /// A field's type changed (a safe widening such as `int` to `number` too).
    FieldTypeChanged,
    /// A field declared `renamed_from` its old name.
    FieldRenamed,
    /// A field's `default` changed, appeared or went.
    FieldDefaultChanged,
    /// An enum gained a value.
    EnumValueAdded,
    /// An enum lost a value.
    EnumValueRemoved,
    /// A change inside a named struct type the payload uses.
    StructTypeChanged,
    /// The aggregate type changed.
    AggregateChanged,
    /// The aggregate id field changed.
    AggregateIdChanged,
    /// A released event is gone from the catalog.
    EventRemoved,
    /// An event declared `renamed_from` its old name.
    EventRenamed,
}

impl ChangeKind {
    /// Every kind, in documentation order.
    pub const ALL: &'static [ChangeKind] = &[
        ChangeKind::FieldRemoved,
        ChangeKind::FieldAddedRequired,
        ChangeKind::FieldAddedOptional,
        ChangeKind::FieldMadeRequired,
        ChangeKind::FieldMadeOptional,
        ChangeKind::FieldTypeChanged,
        ChangeKind::FieldRenamed,
        ChangeKind::FieldDefaultChanged,
        ChangeKind::EnumValueAdded,
        ChangeKind::EnumValueRemoved,
        ChangeKind::StructTypeChanged,
        ChangeKind::AggregateChanged,
        ChangeKind::AggregateIdChanged,
        ChangeKind::EventRemoved,
        ChangeKind::EventRenamed,
    ];

    /// The stable id, `field-removed`.
    pub fn id(self) -> &'static str {
        match self {
            ChangeKind::FieldRemoved => "field-removed",
            ChangeKind::FieldAddedRequired => "field-added-required",
            ChangeKind::FieldAddedOptional => "field-added-optional",
            ChangeKind::FieldMadeRequired => "field-made-required",
            ChangeKind::FieldMadeOptional => "field-made-optional",
            ChangeKind::FieldTypeChanged => "field-type-changed",
            ChangeKind::FieldRenamed => "field-renamed",
            ChangeKind::FieldDefaultChanged => "field-default-changed",
            ChangeKind::EnumValueAdded => "enum-value-added",
            ChangeKind::EnumValueRemoved => "enum-value-removed",
            ChangeKind::StructTypeChanged => "struct-type-changed",
            ChangeKind::AggregateChanged => "aggregate-changed",
            ChangeKind::AggregateIdChanged => "aggregate-id-changed",
            ChangeKind::EventRemoved => "event-removed",
            ChangeKind::EventRenamed => "event-renamed",
        }
    }

    /// A kind by its id.
    pub fn from_id(id: &str) -> Option<ChangeKind> {
        ChangeKind::ALL.iter().copied().find(|k| k.id() == id)
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One difference between an old and a new shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// Its kind (for a change inside a struct type, [`ChangeKind::StructTypeChanged`]
    /// with the inner kind in `inner`).
    pub kind: ChangeKind,
    /// The inner kind of a [`ChangeKind::StructTypeChanged`].
    pub inner: Option<ChangeKind>,
    /// The event (its new name).
    pub event: String,
    /// The field, as a path from the payload (`term.endDate`), if any.
    pub field: Option<String>,
    /// What changed, in one sentence.
    pub message: String,
    /// Whether a reader of the new shape still reads old payloads.
    pub backward: bool,
    /// Whether a reader of the old shape still reads new payloads.
    pub forward: bool,
    /// Where the change is in the new shape (the event when the field is gone).
    pub span: Span,
}

impl Change {
    /// Whether `mode` accepts the change.
    pub fn allowed_under(&self, mode: Compatibility) -> bool {
        (!mode.backward() || self.backward) && (!mode.forward() || self.forward)
    }

    /// How to make the change acceptable without a new version, if there is a way.
    pub fn fix(&self, mode: Compatibility) -> Option<String> {
        let field = self.field.as_deref().unwrap_or("the field");
        let leaf = field.rsplit('.').next().unwrap_or(field);
        let kind = self.inner.unwrap_or(self.kind);
        Some(match kind {
            ChangeKind::FieldAddedRequired | ChangeKind::FieldMadeRequired if !self.backward => {
                format!("make `{leaf}` optional or give it a `default`")
            }
            ChangeKind::FieldRemoved if mode.backward() && !self.backward => return None,
            ChangeKind::FieldRemoved => {
                format!("if `{leaf}` was renamed, add `renamed_from: {leaf}` to the new field")
            }
            _ => return None,
        })
    }
}

/// Compares `old` with `new` (the same event, maybe under an older name).
pub fn classify(old: &EventShape, new: &EventShape) -> Vec<Change> {
    let mut c = Classifier {
        old,
        new,
        out: Vec::new(),
        seen: HashSet::new(),
        prefix: None,
    };
    if old.name != new.name {
        c.push(
            ChangeKind::EventRenamed,
            None,
            format!("event `{}` is renamed to `{}`", old.name, new.name),
            true,
            false,
            new.span,
        );
    }
    if old.aggregate != new.aggregate {
        c.push(
            ChangeKind::AggregateChanged,
            None,
            format!(
                "the aggregate changed from `{}` to `{}`",
                old.aggregate, new.aggregate
            ),
            false,
            false,
            new.span,
        );
    }
    let renamed_id = new
        .field(&new.aggregate_id)
        .and_then(|f| f.renamed_from.as_deref())
        == Some(old.aggregate_id.as_str());
    if old.aggregate_id != new.aggregate_id && !renamed_id {
        c.push(
            ChangeKind::AggregateIdChanged,
            None,
            format!(
                "the aggregate id changed from `{}` to `{}`",
                old.aggregate_id, new.aggregate_id
            ),
            false,
            false,
            new.span,
        );
    }
    c.fields(&old.fields, &new.fields, new.span, "");
    c.out
}

/// Whether `old` values read as `new` ones unchanged: `int` as `number`; a
/// `uuid`, `date`, `datetime` or enum value as `string`; anything as `json`.
pub fn is_widening(old: &TypeRef, new: &TypeRef, old_types: &BTreeMap<String, TypeShape>) -> bool {
    // Any value, lists included, is a `json` value; `json[]` is not.
    if new.base == BaseType::Json && new.list_depth == 0 {
        return true;
    }
    if old.list_depth != new.list_depth {
        return false;
    }
    match (&old.base, &new.base) {
        (_, BaseType::Json) => true,
        (BaseType::Int, BaseType::Number) => true,
        (BaseType::Uuid | BaseType::Date | BaseType::DateTime, BaseType::String) => true,
        (BaseType::Named(n), BaseType::String) => {
            matches!(old_types.get(n), Some(TypeShape::Enum(_)))
        }
        _ => false,
    }
}

struct Classifier<'a> {
    old: &'a EventShape,
    new: &'a EventShape,
    out: Vec<Change>,
    /// Pairs of named types already compared (recursive types end here).
    seen: HashSet<(String, String)>,
    /// Inside a struct type: its name (changes become `struct-type-changed`).
    prefix: Option<String>,
}

impl Classifier<'_> {
    fn push(
        &mut self,
        kind: ChangeKind,
        field: Option<String>,
        message: String,
        backward: bool,
        forward: bool,
        span: Span,
    ) {
        let (kind, inner, message) = match &self.prefix {
            Some(t) => (
                ChangeKind::StructTypeChanged,
                Some(kind),
                format!("in type `{t}`: {message}"),
            ),
            None => (kind, None, message),
        };
        self.out.push(Change {
            kind,
            inner,
            event: self.new.name.clone(),
            field,
            message,
            backward,
            forward,
            span,
        });
    }

    fn fields(&mut self, old: &[FieldShape], new: &[FieldShape], at: Span, path: &str) {
        let join = |name: &str| {
            if path.is_empty() {
                name.to_string()
            } else {
                format!("{path}.{name}")
            }
        };
        let mut matched: HashSet<&str> = HashSet::new();
        for f in new {
            let same = old.iter().find(|o| o.name == f.name);
            let renamed = || {
                f.renamed_from.as_deref().and_then(|r| {
                    old.iter()
                        .find(|o| o.name == r && !new.iter().any(|n| n.name == r))
                })
            };
            let Some(o) = same.or_else(renamed) else {
                let (kind, backward, what) = if f.ty.optional {
                    (ChangeKind::FieldAddedOptional, true, "optional")
                } else {
                    (
                        ChangeKind::FieldAddedRequired,
                        f.default.is_some(),
                        if f.default.is_some() {
                            "required, with a default"
                        } else {
                            "required"
                        },
                    )
                };
                self.push(
                    kind,
                    Some(join(&f.name)),
                    format!("field `{}` is added ({what})", join(&f.name)),
                    backward,
                    true,
                    f.span,
                );
                continue;
            };
            matched.insert(&o.name);
            if o.name != f.name {
                self.push(
                    ChangeKind::FieldRenamed,
                    Some(join(&f.name)),
                    format!("field `{}` is renamed to `{}`", join(&o.name), f.name),
                    true,
                    o.may_be_absent(),
                    f.span,
                );
            }
            self.field(o, f, &join(&f.name));
        }
        for o in old {
            if matched.contains(o.name.as_str()) {
                continue;
            }
            self.push(
                ChangeKind::FieldRemoved,
                Some(join(&o.name)),
                format!(
                    "field `{}` is removed{}",
                    join(&o.name),
                    if o.may_be_absent() {
                        ""
                    } else {
                        " (it was required)"
                    }
                ),
                true,
                o.may_be_absent(),
                at,
            );
        }
    }

    fn field(&mut self, o: &FieldShape, f: &FieldShape, path: &str) {
        let (ot, nt) = (&o.ty, &f.ty);
        // With the optional flag changed too, the default is part of that
        // change (`field-made-required` with a default), not one of its own.
        if o.default != f.default && ot.optional == nt.optional {
            self.push(
                ChangeKind::FieldDefaultChanged,
                Some(path.to_string()),
                if f.pii || o.pii {
                    format!("the default of `{path}` changed (values of pii fields are not shown)")
                } else {
                    format!(
                        "the default of `{path}` changed from {} to {}",
                        shown(&o.default),
                        shown(&f.default)
                    )
                },
                // Old payloads may lack it only if it had a default (or was
                // optional: then the optional flag's change is judged too).
                o.default.is_none() || f.may_be_absent(),
                f.default.is_none() || o.may_be_absent(),
                f.span,
            );
        }
        if ot.optional && !nt.optional {
            self.push(
                ChangeKind::FieldMadeRequired,
                Some(path.to_string()),
                format!(
                    "field `{path}` is made required{}",
                    if f.default.is_some() {
                        ", with a default"
                    } else {
                        ""
                    }
                ),
                f.default.is_some(),
                true,
                f.span,
            );
        } else if !ot.optional && nt.optional {
            self.push(
                ChangeKind::FieldMadeOptional,
                Some(path.to_string()),
                format!("field `{path}` is made optional"),
                true,
                // New payloads may hold `null`, which no default stands in for.
                false,
                f.span,
            );
        }
        let (ob, nb) = (
            TypeRef {
                optional: false,
                ..ot.clone()
            },
            TypeRef {
                optional: false,
                ..nt.clone()
            },
        );
        if self.same_type(&ob, &nb) {
            if let (BaseType::Named(a), BaseType::Named(b)) = (&ob.base, &nb.base) {
                self.named(a, b, f.span, path);
            }
            return;
        }
        self.push(
            ChangeKind::FieldTypeChanged,
            Some(path.to_string()),
            format!("the type of `{path}` changed from `{ob}` to `{nb}`"),
            is_widening(&ob, &nb, &self.old.types),
            false,
            f.span,
        );
    }

    /// Whether two types are the same on the wire: equal, or two named types of
    /// the same kind (their contents are then compared by [`Self::named`]).
    fn same_type(&self, a: &TypeRef, b: &TypeRef) -> bool {
        if a.list_depth != b.list_depth {
            return false;
        }
        match (&a.base, &b.base) {
            (BaseType::Named(x), BaseType::Named(y)) => matches!(
                (self.old.types.get(x), self.new.types.get(y)),
                (Some(TypeShape::Enum(_)), Some(TypeShape::Enum(_)))
                    | (Some(TypeShape::Struct(_)), Some(TypeShape::Struct(_)))
            ),
            (x, y) => x == y,
        }
    }

    fn named(&mut self, a: &str, b: &str, at: Span, path: &str) {
        if !self.seen.insert((a.to_string(), b.to_string())) {
            return;
        }
        let (old, new) = (self.old, self.new);
        match (old.types.get(a), new.types.get(b)) {
            (Some(TypeShape::Enum(ov)), Some(TypeShape::Enum(nv))) => {
                let added: Vec<&String> = nv.iter().filter(|v| !ov.contains(v)).collect();
                let removed: Vec<&String> = ov.iter().filter(|v| !nv.contains(v)).collect();
                if !added.is_empty() {
                    self.push(
                        ChangeKind::EnumValueAdded,
                        Some(path.to_string()),
                        format!("enum `{b}` (field `{path}`) gains {}", values(&added)),
                        true,
                        false,
                        at,
                    );
                }
                if !removed.is_empty() {
                    self.push(
                        ChangeKind::EnumValueRemoved,
                        Some(path.to_string()),
                        format!("enum `{b}` (field `{path}`) loses {}", values(&removed)),
                        false,
                        true,
                        at,
                    );
                }
            }
            (Some(TypeShape::Struct(of)), Some(TypeShape::Struct(nf))) => {
                let outer = self.prefix.replace(b.to_string());
                self.fields(of, nf, at, path);
                self.prefix = outer;
            }
            _ => {}
        }
    }
}

fn values(v: &[&String]) -> String {
    let list: Vec<String> = v.iter().map(|s| format!("`{s}`")).collect();
    format!(
        "{} {}",
        if v.len() == 1 { "value" } else { "values" },
        list.join(", ")
    )
}

fn shown(v: &Option<serde_json::Value>) -> String {
    match v {
        Some(v) => format!("`{v}`"),
        None => "none".into(),
    }
}
