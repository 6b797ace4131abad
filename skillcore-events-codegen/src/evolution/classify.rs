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
use std::collections::BTreeMap;
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
        allowed(mode, self.backward, self.forward)
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

/// Whether `mode` accepts a change that is `backward` and `forward` compatible
/// as given ([`Change::allowed_under`] without the change).
pub fn allowed(mode: Compatibility, backward: bool, forward: bool) -> bool {
    (!mode.backward() || backward) && (!mode.forward() || forward)
}

/// Compares `old` with `new` (the same event, maybe under an older name).
pub fn classify(old: &EventShape, new: &EventShape) -> Vec<Change> {
    let mut c = Classifier::new(old, new, None);
    c.run();
    c.out
}

/// Whether [`classify`] finds a change for which `keep(backward, forward)`
/// holds, answered without building any change (no message, no field path):
/// the test the build runs first, so that the full classification runs only
/// for the events that have such a change. The same code walks both, so
/// `has_change(old, new, keep)` is exactly
/// `classify(old, new).iter().any(|c| keep(c.backward, c.forward))`.
///
/// ```
/// use skillcore_events_codegen::{compile_str, evolution::{classify, has_change, EventShape}};
/// let a = compile_str("e.yaml", "catalog: d\nevents:\n  a.b.posted:\n    description: d\n    aggregate: B\n    aggregate_id: id\n    payload:\n      id: string\n");
/// let b = compile_str("e.yaml", "catalog: d\nevents:\n  a.b.posted:\n    description: d\n    aggregate: B\n    aggregate_id: id\n    payload:\n      id: string\n      note: string?\n");
/// let (old, new) = (EventShape::of(&a.catalog, &a.catalog.events[0]), EventShape::of(&b.catalog, &b.catalog.events[0]));
/// // One change (an optional field added): backward compatible, so no change that is not.
/// assert_eq!(classify(&old, &new).len(), 1);
/// assert!(has_change(&old, &new, &|_, _| true));
/// assert!(!has_change(&old, &new, &|backward, _| !backward));
/// ```
pub fn has_change(old: &EventShape, new: &EventShape, keep: &dyn Fn(bool, bool) -> bool) -> bool {
    let mut c = Classifier::new(old, new, Some(keep));
    c.run();
    c.hit
}

/// Whether `old` values read as `new` ones unchanged: `int` as `number`; a
/// `uuid`, `date`, `datetime` or enum value as `string`; anything as `json`.
/// The optional flags are not looked at.
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

/// A field's path from the payload: `name` under `parent` (`term.endDate`).
fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// A type without its optional flag, as messages show it.
struct Bare<'t>(&'t TypeRef);

impl fmt::Display for Bare<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        TypeRef {
            optional: false,
            ..self.0.clone()
        }
        .fmt(f)
    }
}

struct Classifier<'a> {
    old: &'a EventShape,
    new: &'a EventShape,
    out: Vec<Change>,
    /// Pairs of named types already compared (recursive types end here).
    seen: Vec<(&'a str, &'a str)>,
    /// Inside a struct type: its name (changes become `struct-type-changed`).
    prefix: Option<&'a str>,
    /// Set for [`has_change`]: no change is built, `hit` says whether one
    /// passed this filter.
    probe: Option<&'a dyn Fn(bool, bool) -> bool>,
    hit: bool,
}

impl<'a> Classifier<'a> {
    fn new(
        old: &'a EventShape,
        new: &'a EventShape,
        probe: Option<&'a dyn Fn(bool, bool) -> bool>,
    ) -> Self {
        Classifier {
            old,
            new,
            out: Vec::new(),
            seen: Vec::new(),
            prefix: None,
            probe,
            hit: false,
        }
    }

    fn run(&mut self) {
        let (old, new) = (self.old, self.new);
        if old.name != new.name {
            self.push(ChangeKind::EventRenamed, true, false, new.span, || {
                (
                    None,
                    format!("event `{}` is renamed to `{}`", old.name, new.name),
                )
            });
        }
        if old.aggregate != new.aggregate {
            self.push(ChangeKind::AggregateChanged, false, false, new.span, || {
                (
                    None,
                    format!(
                        "the aggregate changed from `{}` to `{}`",
                        old.aggregate, new.aggregate
                    ),
                )
            });
        }
        let renamed_id = new
            .field(&new.aggregate_id)
            .and_then(|f| f.renamed_from.as_deref())
            == Some(old.aggregate_id.as_str());
        if old.aggregate_id != new.aggregate_id && !renamed_id {
            self.push(
                ChangeKind::AggregateIdChanged,
                false,
                false,
                new.span,
                || {
                    (
                        None,
                        format!(
                            "the aggregate id changed from `{}` to `{}`",
                            old.aggregate_id, new.aggregate_id
                        ),
                    )
                },
            );
        }
        self.fields(&old.fields, &new.fields, new.span, "");
    }

    /// Records a change; `what` gives its field path and message, and is only
    /// called when the change is kept (never by [`has_change`]).
    fn push(
        &mut self,
        kind: ChangeKind,
        backward: bool,
        forward: bool,
        span: Span,
        what: impl FnOnce() -> (Option<String>, String),
    ) {
        if let Some(keep) = self.probe {
            self.hit |= keep(backward, forward);
            return;
        }
        let (field, message) = what();
        let (kind, inner, message) = match self.prefix {
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

    fn fields(&mut self, old: &'a [FieldShape], new: &'a [FieldShape], at: Span, path: &str) {
        // Which old fields are matched, by index (a name matched once counts
        // for every old field of that name: see the end).
        let (mut small, mut large) = ([false; 32], Vec::new());
        let matched: &mut [bool] = if old.len() <= small.len() {
            &mut small[..old.len()]
        } else {
            large.resize(old.len(), false);
            &mut large
        };
        for f in new {
            if self.hit {
                return; // a probe has its answer
            }
            let same = old.iter().position(|o| o.name == f.name);
            let renamed = || {
                f.renamed_from.as_deref().and_then(|r| {
                    old.iter()
                        .position(|o| o.name == r && !new.iter().any(|n| n.name == r))
                })
            };
            let Some(at) = same.or_else(renamed) else {
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
                self.push(kind, backward, true, f.span, || {
                    let p = join(path, &f.name);
                    let m = format!("field `{p}` is added ({what})");
                    (Some(p), m)
                });
                continue;
            };
            matched[at] = true;
            let o = &old[at];
            if o.name != f.name {
                self.push(
                    ChangeKind::FieldRenamed,
                    true,
                    o.may_be_absent(),
                    f.span,
                    || {
                        let m =
                            format!("field `{}` is renamed to `{}`", join(path, &o.name), f.name);
                        (Some(join(path, &f.name)), m)
                    },
                );
            }
            self.field(o, f, path);
        }
        for (i, o) in old.iter().enumerate() {
            let name_matched = || (0..old.len()).any(|k| matched[k] && old[k].name == o.name);
            if matched[i] || name_matched() {
                continue;
            }
            self.push(
                ChangeKind::FieldRemoved,
                true,
                o.may_be_absent(),
                at,
                || {
                    let p = join(path, &o.name);
                    let m = format!(
                        "field `{p}` is removed{}",
                        if o.may_be_absent() {
                            ""
                        } else {
                            " (it was required)"
                        }
                    );
                    (Some(p), m)
                },
            );
        }
    }

    /// Compares a matched pair of fields; `parent` is the path of the payload
    /// or struct they are in.
    fn field(&mut self, o: &'a FieldShape, f: &'a FieldShape, parent: &str) {
        let (ot, nt) = (&o.ty, &f.ty);
        let path = || join(parent, &f.name);
        // With the optional flag changed too, the default is part of that
        // change (`field-made-required` with a default), not one of its own.
        if o.default != f.default && ot.optional == nt.optional {
            self.push(
                ChangeKind::FieldDefaultChanged,
                // Old payloads may lack it only if it had a default (or was
                // optional: then the optional flag's change is judged too).
                o.default.is_none() || f.may_be_absent(),
                f.default.is_none() || o.may_be_absent(),
                f.span,
                || {
                    let p = path();
                    let m = if f.pii || o.pii {
                        format!("the default of `{p}` changed (values of pii fields are not shown)")
                    } else {
                        format!(
                            "the default of `{p}` changed from {} to {}",
                            shown(&o.default),
                            shown(&f.default)
                        )
                    };
                    (Some(p), m)
                },
            );
        }
        if ot.optional && !nt.optional {
            self.push(
                ChangeKind::FieldMadeRequired,
                f.default.is_some(),
                true,
                f.span,
                || {
                    let p = path();
                    let m = format!(
                        "field `{p}` is made required{}",
                        if f.default.is_some() {
                            ", with a default"
                        } else {
                            ""
                        }
                    );
                    (Some(p), m)
                },
            );
        } else if !ot.optional && nt.optional {
            self.push(
                ChangeKind::FieldMadeOptional,
                true,
                // New payloads may hold `null`, which no default stands in for.
                false,
                f.span,
                || {
                    let p = path();
                    let m = format!("field `{p}` is made optional");
                    (Some(p), m)
                },
            );
        }
        // The types without their optional flags (judged above).
        if self.same_type(ot, nt) {
            if let (BaseType::Named(a), BaseType::Named(b)) = (&ot.base, &nt.base) {
                self.named(a, b, f.span, parent, &f.name);
            }
            return;
        }
        self.push(
            ChangeKind::FieldTypeChanged,
            is_widening(ot, nt, &self.old.types),
            false,
            f.span,
            || {
                let p = path();
                let m = format!(
                    "the type of `{p}` changed from `{}` to `{}`",
                    Bare(ot),
                    Bare(nt)
                );
                (Some(p), m)
            },
        );
    }

    /// Whether two types are the same on the wire, optional flags aside: equal,
    /// or two named types of the same kind (their contents are then compared
    /// by [`Self::named`]).
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

    /// Compares the named types `a` (old) and `b` (new) of the field `name`
    /// under `parent`.
    fn named(&mut self, a: &'a str, b: &'a str, at: Span, parent: &str, name: &str) {
        if self.seen.contains(&(a, b)) {
            return;
        }
        self.seen.push((a, b));
        let (old, new) = (self.old, self.new);
        match (old.types.get(a), new.types.get(b)) {
            (Some(TypeShape::Enum(ov)), Some(TypeShape::Enum(nv))) => {
                if ov == nv {
                    return; // nothing gained or lost
                }
                if nv.iter().any(|v| !ov.contains(v)) {
                    self.push(ChangeKind::EnumValueAdded, true, false, at, || {
                        let p = join(parent, name);
                        let added: Vec<&String> = nv.iter().filter(|v| !ov.contains(v)).collect();
                        let m = format!("enum `{b}` (field `{p}`) gains {}", values(&added));
                        (Some(p), m)
                    });
                }
                if ov.iter().any(|v| !nv.contains(v)) {
                    self.push(ChangeKind::EnumValueRemoved, false, true, at, || {
                        let p = join(parent, name);
                        let removed: Vec<&String> = ov.iter().filter(|v| !nv.contains(v)).collect();
                        let m = format!("enum `{b}` (field `{p}`) loses {}", values(&removed));
                        (Some(p), m)
                    });
                }
            }
            (Some(TypeShape::Struct(of)), Some(TypeShape::Struct(nf))) => {
                let outer = self.prefix.replace(b);
                self.fields(of, nf, at, &join(parent, name));
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
