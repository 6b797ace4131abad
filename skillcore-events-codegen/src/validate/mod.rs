//! Stage 3: the catalog's syntax -> the validated [`Catalog`] model.
//!
//! Every rule lives in a `check_*` function that opens with the rule it enforces.
//! All findings are collected; the returned model is always well formed (items
//! that cannot be generated are dropped, unknown types become `json`), so the
//! emitters can still produce stub items next to the errors and user code does not
//! drown in secondary "cannot find type" errors.
//!
//! One module per rule family over one `Validator`: this one builds the
//! model and checks the catalog as a whole (name, duplicates); `types` the
//! named types, fields and type expressions (and recursive types); `events`
//! the events (names, aggregate ids, handlers, examples, collisions);
//! `example` the values of `example:` payloads.

use crate::ast::{RawEvent, RawField, RawFile, RawType, RawTypeDef, Spanned};
use crate::diag::{Diagnostic, Rule};
use crate::formats;
use crate::model::*;
use crate::naming::{self, did_you_mean};
use crate::source::{Sources, Span};
use crate::yaml::{core_scalar, CoreValue, Kind, Node};
use std::collections::{HashMap, HashSet};

mod events;
mod evolution;
mod example;
mod habits;
mod metadata;
mod types;

use example::{ExampleChecker, Path, WithNoteMut};

/// Type and module names the generated code reserves at the top level.
const RESERVED_TYPE_NAMES: &[&str] = &["AnyEvent"];
const RESERVED_CONTEXTS: &[&str] = &["names"];

struct Validator<'a> {
    sources: &'a Sources,
    diags: Vec<Diagnostic>,
    past_tense: Vec<String>,
    exempt: HashSet<String>,
    /// Every declared type name (valid or not), for lookups and suggestions.
    type_names: Vec<String>,
    /// The same names, for constant-time lookups.
    type_name_set: HashSet<String>,
    /// The catalog's compatibility mode (`evolution.compatibility`).
    compatibility: Compatibility,
    /// Follow-on suppression: later checks reason from an item's corrected
    /// form, never from the form already reported. Written type name -> the
    /// PascalCase name the model uses (a `type-name` error was reported).
    type_aliases: HashMap<String, String>,
    /// Field (by the span of its name) -> the name as written, for fields the
    /// model holds under their corrected lowerCamelCase name (a `field-name`
    /// error was reported); lookups accept either spelling.
    field_aliases: HashMap<Span, String>,
    /// Fields (by the span of their name) whose type was unknown (reported):
    /// no other rule judges their type.
    unknown_typed: HashSet<Span>,
    /// The same fields, for the emitter's stubs.
    unknown_types: Vec<UnknownType>,
    /// Every event name declared or taken by a corrected name, so that a
    /// correction never lands on another event.
    event_names: HashSet<String>,
}

/// A field whose type is unknown (an `unknown-type` error): `catalog!` gives
/// it a stub type that rustc accepts quietly wherever it is used, so the
/// build shows the catalog's error and no type errors of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownType {
    /// The field's name (as [`Field::span`]).
    pub field: Span,
    /// The type as written: where the `unknown-type` error points.
    pub ty: Span,
    /// The written name when it looks like a named type the author meant to
    /// declare (`AttendanceStatus`): stubbed too, so code naming it is quiet.
    pub name: Option<String>,
}

/// Builds the model from the files of one catalog. `fallback_name` names the
/// catalog when no file has a `catalog:` key.
pub fn build(
    sources: &Sources,
    files: &[RawFile],
    fallback_name: &str,
) -> (Catalog, Vec<Diagnostic>) {
    let (catalog, diags, _) = build_with_unknown_types(sources, files, fallback_name);
    (catalog, diags)
}

/// [`build`], and the fields whose type is unknown.
pub fn build_with_unknown_types(
    sources: &Sources,
    files: &[RawFile],
    fallback_name: &str,
) -> (Catalog, Vec<Diagnostic>, Vec<UnknownType>) {
    let mut v = Validator {
        sources,
        diags: Vec::new(),
        past_tense: Vec::new(),
        exempt: HashSet::new(),
        type_names: Vec::new(),
        type_name_set: HashSet::new(),
        compatibility: Compatibility::default(),
        type_aliases: HashMap::new(),
        field_aliases: HashMap::new(),
        unknown_typed: HashSet::new(),
        unknown_types: Vec::new(),
        event_names: HashSet::new(),
    };
    v.compatibility = v.check_catalog_compatibility(files);
    let name = v
        .check_catalog_name(files)
        .unwrap_or_else(|| fallback_name.to_string());
    for f in files {
        v.past_tense
            .extend(f.past_tense.iter().map(|s| s.value.clone()));
        v.exempt.extend(f.exempt.iter().map(|s| s.value.clone()));
    }
    let raw_types = v.check_duplicate_types(files);
    v.type_aliases = corrected_type_names(&raw_types);
    v.type_names = raw_types
        .iter()
        .map(|t| v.effective_type_name(&t.name.value).to_string())
        .collect();
    v.type_name_set = v.type_names.iter().cloned().collect();
    let mut types: Vec<NamedType> = raw_types.iter().filter_map(|t| v.named_type(t)).collect();
    v.check_type_defaults(&raw_types, &mut types);
    v.check_type_ident_collisions(&mut types);
    v.check_recursive_types(&mut types);
    let raw_events = v.check_duplicate_events(files);
    v.event_names = raw_events.iter().map(|e| e.name.value.clone()).collect();
    let mut events: Vec<EventDef> = raw_events
        .iter()
        .filter_map(|e| v.event(e, &types))
        .collect();
    v.check_event_collisions(&mut events);
    v.resolve_metadata(files, &raw_events, &mut events);
    types.sort_by(|a, b| a.name.cmp(&b.name));
    events.sort_by(|a, b| a.name.cmp(&b.name));
    let mut diags = v.diags;
    crate::diag::sort(&mut diags);
    (
        Catalog {
            name,
            types,
            events,
            compatibility: v.compatibility,
        },
        diags,
        v.unknown_types,
    )
}

/// Written type name -> corrected PascalCase name, for the named types whose
/// name is not PascalCase but has an obvious PascalCase form that no other
/// type takes.
fn corrected_type_names(raw: &[&RawType]) -> HashMap<String, String> {
    let declared: HashSet<&str> = raw.iter().map(|t| t.name.value.as_str()).collect();
    let mut out = HashMap::new();
    let mut taken: HashSet<String> = HashSet::new();
    for t in raw {
        let name = &t.name.value;
        if naming::is_pascal(name) {
            continue;
        }
        let fixed = naming::to_pascal(name);
        if naming::is_pascal(&fixed)
            && !declared.contains(fixed.as_str())
            && taken.insert(fixed.clone())
        {
            out.insert(name.clone(), fixed);
        }
    }
    out
}

impl Validator<'_> {
    /// The name the model uses for a declared type: its corrected form when
    /// its written name had a `type-name` error.
    fn effective_type_name<'n>(&'n self, written: &'n str) -> &'n str {
        self.type_aliases
            .get(written)
            .map_or(written, String::as_str)
    }

    /// The name a field was written with, when the model holds it under its
    /// corrected name.
    fn written_name(&self, f: &Field) -> Option<&str> {
        if self.field_aliases.is_empty() {
            return None; // the common case: no hashing per field
        }
        self.field_aliases.get(&f.span).map(String::as_str)
    }

    /// `true` when `key` names field `f`: its name, or its name as written.
    fn names_field(&self, f: &Field, key: &str) -> bool {
        f.name == key || self.written_name(f) == Some(key)
    }

    fn err(&mut self, rule: Rule, span: Span, msg: impl Into<String>) -> &mut Diagnostic {
        let d = self.sources.error(rule, span, msg);
        self.diags.push(d);
        self.diags.last_mut().expect("just pushed")
    }

    fn note(&self, span: Span) -> crate::diag::Location {
        self.sources.location(span)
    }

    /// Rule `invalid-value`: the files of one catalog agree on its name.
    /// Bad: `catalog: skillcore` in one file, `catalog: school` in another.
    fn check_catalog_name(&mut self, files: &[RawFile]) -> Option<String> {
        let mut first: Option<&Spanned<String>> = None;
        for f in files {
            let Some(c) = &f.catalog else { continue };
            match first {
                None => first = Some(c),
                Some(p) if p.value != c.value => {
                    let note = self.note(p.span);
                    self.err(
                        Rule::InvalidValue,
                        c.span,
                        format!("catalog name `{}` differs from `{}`", c.value, p.value),
                    )
                    .with_note_mut(note, "named here")
                    .help = Some(format!(
                        "use `catalog: {}` in every file, or leave the key out",
                        p.value
                    ));
                }
                Some(_) => {}
            }
        }
        first.map(|c| c.value.clone())
    }

    /// Rule `duplicate-type`: a type name is declared once across all files.
    /// Bad: `LetterGrade` under `types:` in both `gradebook.yaml` and `shared.yaml`.
    fn check_duplicate_types<'f>(&mut self, files: &'f [RawFile]) -> Vec<&'f RawType> {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut out = Vec::new();
        for t in files.iter().flat_map(|f| &f.types) {
            if let Some(first) = seen.get(t.name.value.as_str()) {
                let note = self.note(*first);
                self.err(
                    Rule::DuplicateType,
                    t.name.span,
                    format!("type `{}` is declared twice", t.name.value),
                )
                .with_note_mut(note, "first declared here")
                .help = Some("keep one declaration, or rename one of them".into());
                continue;
            }
            seen.insert(&t.name.value, t.name.span);
            out.push(t);
        }
        out
    }

    /// Rule `duplicate-event`: an event name is declared once across all files.
    /// Bad: `gradebook.grade.posted` twice under `events:`, or in two files.
    fn check_duplicate_events<'f>(&mut self, files: &'f [RawFile]) -> Vec<&'f RawEvent> {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut out = Vec::new();
        for e in files.iter().flat_map(|f| &f.events) {
            if let Some(first) = seen.get(e.name.value.as_str()) {
                let note = self.note(*first);
                self.err(
                    Rule::DuplicateEvent,
                    e.name.span,
                    format!("event `{}` is declared twice", e.name.value),
                )
                .with_note_mut(note, "first declared here")
                .help = Some(
                    "remove one declaration; to change a payload incompatibly, raise `version`"
                        .into(),
                );
                continue;
            }
            seen.insert(&e.name.value, e.name.span);
            out.push(e);
        }
        out
    }
}
