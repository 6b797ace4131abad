//! Stage 3: the catalog's syntax -> the validated [`Catalog`] model.
//!
//! Every rule lives in a `check_*` function that opens with the rule it enforces.
//! All findings are collected; the returned model is always well formed (items
//! that cannot be generated are dropped, unknown types become `json`), so the
//! emitters can still produce stub items next to the errors and user code does not
//! drown in secondary "cannot find type" errors.
//!
//! Size: one file of `check_*` rules over one model, past 800 lines; splitting
//! it by rule family is planned with issue 12's clean-up of the build side.

use crate::ast::{RawEvent, RawField, RawFile, RawType, RawTypeDef, Spanned};
use crate::diag::{Diagnostic, Rule};
use crate::formats;
use crate::model::*;
use crate::naming::{self, did_you_mean};
use crate::source::{Sources, Span};
use crate::yaml::{core_scalar, CoreValue, Kind, Node};
use std::collections::{HashMap, HashSet};

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
}

/// Builds the model from the files of one catalog. `fallback_name` names the
/// catalog when no file has a `catalog:` key.
pub fn build(
    sources: &Sources,
    files: &[RawFile],
    fallback_name: &str,
) -> (Catalog, Vec<Diagnostic>) {
    let mut v = Validator {
        sources,
        diags: Vec::new(),
        past_tense: Vec::new(),
        exempt: HashSet::new(),
        type_names: Vec::new(),
        type_name_set: HashSet::new(),
    };
    let name = v
        .check_catalog_name(files)
        .unwrap_or_else(|| fallback_name.to_string());
    for f in files {
        v.past_tense
            .extend(f.past_tense.iter().map(|s| s.value.clone()));
        v.exempt.extend(f.exempt.iter().map(|s| s.value.clone()));
    }
    let raw_types = v.check_duplicate_types(files);
    v.type_names = raw_types.iter().map(|t| t.name.value.clone()).collect();
    v.type_name_set = v.type_names.iter().cloned().collect();
    let mut types: Vec<NamedType> = raw_types.iter().filter_map(|t| v.named_type(t)).collect();
    v.check_type_ident_collisions(&mut types);
    v.check_recursive_types(&mut types);
    let raw_events = v.check_duplicate_events(files);
    let mut events: Vec<EventDef> = raw_events
        .iter()
        .filter_map(|e| v.event(e, &types))
        .collect();
    v.check_event_collisions(&mut events);
    types.sort_by(|a, b| a.name.cmp(&b.name));
    events.sort_by(|a, b| a.name.cmp(&b.name));
    let mut diags = v.diags;
    crate::diag::sort(&mut diags);
    (
        Catalog {
            name,
            types,
            events,
        },
        diags,
    )
}

impl Validator<'_> {
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

    /// Rule `type-name`: named types and aggregates are PascalCase.
    /// Bad: `letter_grade:` under `types:`, `aggregate: result`.
    fn check_type_name(&mut self, name: &str, span: Span, what: &str) -> bool {
        if naming::is_pascal(name) {
            return true;
        }
        let fixed = naming::to_pascal(name);
        let help = if naming::is_pascal(&fixed) {
            format!("rename it to `{fixed}`")
        } else {
            "use PascalCase: an uppercase letter, then letters and digits".into()
        };
        self.err(
            Rule::TypeName,
            span,
            format!("{what} `{name}` is not PascalCase"),
        )
        .help = Some(help);
        false
    }

    fn named_type(&mut self, t: &RawType) -> Option<NamedType> {
        let name = &t.name.value;
        let mut ok = self.check_type_name(name, t.name.span, "type name");
        if RESERVED_TYPE_NAMES.contains(&name.as_str()) {
            self.err(
                Rule::NameCollision,
                t.name.span,
                format!("type name `{name}` is taken by the generated code"),
            )
            .help = Some(format!("rename it, for example to `{name}Kind`"));
            ok = false;
        }
        let ident = naming::rust_ident(&naming::to_pascal(name));
        if !ok && !naming::is_pascal(ident.trim_end_matches('_'))
            || RESERVED_TYPE_NAMES.contains(&ident.as_str())
        {
            return None;
        }
        let whose = format!("type `{name}`");
        let kind = match &t.def {
            RawTypeDef::Enum(values) => TypeKind::Enum(self.enum_values(values, name)),
            RawTypeDef::Fields(fields) => TypeKind::Struct(self.fields(fields, &whose)),
            RawTypeDef::Missing => TypeKind::Struct(Vec::new()),
        };
        Some(NamedType {
            name: name.clone(),
            ident,
            description: t.description.clone().unwrap_or_default(),
            kind,
            span: t.name.span,
        })
    }

    /// Rule `name-collision` (enum values): every value of an enum gives its own
    /// Rust variant. Bad: `enum: [in_app, InApp]` (both become `InApp`), or a value
    /// listed twice.
    fn enum_values(&mut self, values: &[Spanned<String>], type_name: &str) -> Vec<EnumValue> {
        let mut out: Vec<EnumValue> = Vec::new();
        let mut spans: Vec<Span> = Vec::new();
        // Value and Rust variant -> index in `out` (a scan per value is
        // quadratic, and hostile catalogs have huge enums).
        let mut by_value: HashMap<String, usize> = HashMap::new();
        let mut by_ident: HashMap<String, usize> = HashMap::new();
        for v in values {
            let ident = naming::variant_ident(&v.value);
            if let Some(&i) = by_value.get(&v.value).or_else(|| by_ident.get(&ident)) {
                let note = self.note(spans[i]);
                let msg = if out[i].value == v.value {
                    format!("enum value `{}` of `{type_name}` is listed twice", v.value)
                } else {
                    format!(
                        "enum values `{}` and `{}` of `{type_name}` both become the Rust variant `{ident}`",
                        out[i].value, v.value
                    )
                };
                self.err(Rule::NameCollision, v.span, msg)
                    .with_note_mut(note, "the other value")
                    .help = Some("remove or rename one of the values".into());
                continue;
            }
            spans.push(v.span);
            by_value.insert(v.value.clone(), out.len());
            by_ident.insert(ident.clone(), out.len());
            out.push(EnumValue {
                value: v.value.clone(),
                ident,
            });
        }
        out
    }

    fn fields(&mut self, raw: &[RawField], whose: &str) -> Vec<Field> {
        let mut out: Vec<Field> = Vec::new();
        // Wire name and Rust name -> index in `out`, so that checking for
        // duplicates is not quadratic in the number of fields.
        let mut by_name: HashMap<String, usize> = HashMap::new();
        let mut by_ident: HashMap<String, usize> = HashMap::new();
        for f in raw {
            let name = &f.name.value;
            self.check_field_name(f, whose);
            let snake = naming::to_snake(name);
            if snake.is_empty() || !snake.starts_with(|c: char| c.is_ascii_alphabetic()) {
                continue; // no usable Rust name; already reported
            }
            let ident = naming::rust_ident(&snake);
            // Typical payloads are small: scan them (hashing costs more, above all
            // at opt-level 0); index large ones so the check stays linear.
            let prev = if out.len() < 32 {
                out.iter().position(|p| p.name == *name || p.ident == ident)
            } else {
                if by_name.is_empty() {
                    for (i, p) in out.iter().enumerate() {
                        by_name.insert(p.name.clone(), i);
                        by_ident.insert(p.ident.clone(), i);
                    }
                }
                by_name.get(name).or_else(|| by_ident.get(&ident)).copied()
            };
            if let Some(i) = prev {
                self.report_duplicate_field(&out[i], f, &ident, whose);
                continue;
            }
            if !by_name.is_empty() {
                by_name.insert(name.clone(), out.len());
                by_ident.insert(ident.clone(), out.len());
            }
            let ty = match &f.ty {
                Some(t) => self.check_type_expr(t),
                None => TypeRef::plain(BaseType::Json),
            };
            out.push(Field {
                name: name.clone(),
                ident,
                ty,
                description: f.description.clone(),
                pii: f.pii,
                span: f.name.span,
            });
        }
        out
    }

    /// Rule `field-name`: field names are lowerCamelCase, the JSON wire names.
    /// Bad: `student_id`, `StudentId`, `student-id`.
    fn check_field_name(&mut self, f: &RawField, whose: &str) {
        let name = &f.name.value;
        if naming::is_lower_camel(name) {
            return;
        }
        let fixed = naming::to_lower_camel(name);
        let help = if naming::is_lower_camel(&fixed) {
            format!("rename it to `{fixed}`")
        } else {
            "use lowerCamelCase: a lowercase letter, then letters and digits".into()
        };
        self.err(
            Rule::FieldName,
            f.name.span,
            format!("field name `{name}` of {whose} is not lowerCamelCase"),
        )
        .help = Some(help);
    }

    /// Rule `duplicate-field`: a payload declares each field once, and no two fields
    /// map to the same Rust name. Bad: `districtId` and `districtID` (both `district_id`).
    /// (`fields` finds the earlier field `prev` with the same wire or Rust name.)
    fn report_duplicate_field(&mut self, prev: &Field, f: &RawField, ident: &str, whose: &str) {
        let note = self.note(prev.span);
        let msg = if prev.name == f.name.value {
            format!("field `{}` of {whose} is declared twice", f.name.value)
        } else {
            format!(
                "fields `{}` and `{}` of {whose} both become the Rust field `{ident}`",
                prev.name, f.name.value
            )
        };
        self.err(Rule::DuplicateField, f.name.span, msg)
            .with_note_mut(note, "the other field")
            .help = Some("remove or rename one of the fields".into());
    }

    /// Rule `unknown-type`: a field type is a built-in or a declared type, with `[]`
    /// and `?` suffixes. Bad: `strng`, `Grade` (not declared), `list<string>`.
    fn check_type_expr(&mut self, t: &Spanned<String>) -> TypeRef {
        let text = t.value.trim();
        let (rest, optional) = match text.strip_suffix('?') {
            Some(r) => (r.trim_end(), true),
            None => (text, false),
        };
        let mut base = rest;
        let mut depth = 0u8;
        while let Some(b) = base.strip_suffix("[]") {
            base = b.trim_end();
            depth = depth.saturating_add(1);
        }
        let well_formed = !base.is_empty()
            && base.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && depth <= 4;
        let resolved = if !well_formed {
            None
        } else if let Some(b) = BaseType::builtin(base) {
            Some(b)
        } else if self.type_name_set.contains(base) {
            Some(BaseType::Named(base.to_string()))
        } else {
            None
        };
        match resolved {
            Some(base) => TypeRef {
                base,
                list_depth: depth,
                optional,
            },
            None => {
                let candidates: Vec<&str> = BaseType::BUILTINS
                    .iter()
                    .copied()
                    .chain(self.type_names.iter().map(String::as_str))
                    .collect();
                let help = if !well_formed {
                    "write a type as `T`, `T[]` (list), `T?` (optional) or `T[]?`, where T is a built-in (string, int, number, bool, uuid, datetime, date, json) or a name from `types`".to_string()
                } else {
                    match did_you_mean(base, candidates.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!(
                            "use a built-in (string, int, number, bool, uuid, datetime, date, json) or declare `{base}` under `types:`"
                        ),
                    }
                };
                self.err(
                    Rule::UnknownType,
                    t.span,
                    format!("unknown type `{}`", t.value),
                )
                .help = Some(help);
                TypeRef {
                    base: BaseType::Json,
                    list_depth: depth,
                    optional,
                }
            }
        }
    }

    /// Rule `name-collision` (types): two type names that give one Rust name.
    fn check_type_ident_collisions(&mut self, types: &mut Vec<NamedType>) {
        let mut seen: HashMap<String, Span> = HashMap::new();
        let mut keep = Vec::with_capacity(types.len());
        for t in types.drain(..) {
            if let Some(first) = seen.get(&t.ident) {
                let note = self.note(*first);
                self.err(
                    Rule::NameCollision,
                    t.span,
                    format!(
                        "type `{}` would generate the Rust type `{}` a second time",
                        t.name, t.ident
                    ),
                )
                .with_note_mut(note, "the other type")
                .help = Some("rename one of the types".into());
                continue;
            }
            seen.insert(t.ident.clone(), t.span);
            keep.push(t);
        }
        *types = keep;
    }

    /// Rule `recursive-type`: a struct type may not contain itself, directly or
    /// through other types, except inside a list. Bad: `Person` with `manager: Person?`.
    /// Events carry ids of other entities, not the entities.
    fn check_recursive_types(&mut self, types: &mut [NamedType]) {
        // One depth-first search over all types: each edge back to a type still
        // being visited closes a cycle. Cutting exactly those fields leaves the
        // types finite, and the search stays linear however hostile the catalog.
        let mut cuts = back_edges(types);
        for (t, field_index, chain) in &cuts {
            let TypeKind::Struct(fields) = &types[*t].kind else {
                continue;
            };
            let field = &fields[*field_index];
            let name = &types[*t].name;
            let help = format!(
                "refer to the other entity by its id (`{}Id: string`), or make it a list (`{}[]`)",
                field.name,
                field.ty.base.catalog_name()
            );
            let span = field.span;
            self.err(
                Rule::RecursiveType,
                span,
                format!("type `{name}` contains itself: {chain}"),
            )
            .help = Some(help);
        }
        // Remove from the back so that the remaining indices stay valid.
        cuts.sort_by_key(|c| std::cmp::Reverse((c.0, c.1)));
        for (t, field_index, _) in cuts {
            if let TypeKind::Struct(fields) = &mut types[t].kind {
                fields.remove(field_index);
            }
        }
    }

    fn event(&mut self, e: &RawEvent, types: &[NamedType]) -> Option<EventDef> {
        let name = &e.name.value;
        let whose = format!("event `{name}`");
        let parts = self.check_name_format(&e.name);
        if let Some((_, _, action)) = &parts {
            self.check_past_tense(&e.name, action);
        }
        let aggregate = match &e.aggregate {
            Some(a) => {
                self.check_type_name(&a.value, a.span, "aggregate");
                a.value.clone()
            }
            None => String::new(),
        };
        let fields = match &e.payload {
            Some(p) => self.fields(p, &whose),
            None => Vec::new(),
        };
        if let Some(id) = &e.aggregate_id {
            self.check_aggregate_id(id, &fields, &whose);
        }
        let handlers = self.check_handlers(&e.handlers, &whose);
        let examples = self.check_examples(&e.examples, &fields, types, name);
        let (context, aggregate_segment, action) = parts?;
        let module = naming::rust_ident(&context);
        let type_name = format!(
            "{}{}",
            naming::to_pascal(&aggregate_segment),
            naming::to_pascal(&action)
        );
        // `intervention.created` (exempt, aggregate = context) is already named
        // `InterventionCreated`; prefixing the context again would stutter.
        let variant = if aggregate_segment == context {
            type_name.clone()
        } else {
            format!("{}{}", naming::to_pascal(&context), type_name)
        };
        let constant = naming::to_screaming(name);
        Some(EventDef {
            name: name.clone(),
            context,
            aggregate_segment,
            action,
            aggregate,
            aggregate_id: e
                .aggregate_id
                .as_ref()
                .map(|s| s.value.clone())
                .unwrap_or_default(),
            version: e.version.unwrap_or(1),
            description: e.description.clone().unwrap_or_default(),
            fields,
            handlers,
            examples,
            idents: EventIdents {
                module,
                type_name,
                variant,
                constant,
            },
            span: e.name.span,
        })
    }

    /// Rule `name-format`: event names are `<context>.<aggregate>.<action>`, three
    /// lowercase snake_case segments, unless listed in `naming.exempt` (then two
    /// segments are allowed and the aggregate is the context).
    /// Bad: `grade`, `gradePosted`, `Gradebook.Grade.Posted`, `gradebook.gradeUpdate`.
    fn check_name_format(&mut self, name: &Spanned<String>) -> Option<(String, String, String)> {
        let n = &name.value;
        let parts: Vec<&str> = n.split('.').collect();
        let all_snake = parts.iter().all(|p| naming::is_snake_segment(p));
        let exempt = self.exempt.contains(n);
        match parts.as_slice() {
            [c, a, x] if all_snake => return Some((c.to_string(), a.to_string(), x.to_string())),
            [c, x] if all_snake && exempt => {
                return Some((c.to_string(), c.to_string(), x.to_string()))
            }
            _ => {}
        }
        let suggestion = suggest_event_name(n);
        let mut help = match &suggestion {
            Some(s) if s != n => format!("did you mean `{s}`?"),
            _ => {
                "name events `<context>.<aggregate>.<action>`, for example `gradebook.grade.posted`"
                    .into()
            }
        };
        if parts.len() == 2 && all_snake {
            help.push_str(
                " (a legacy two-segment name may instead be listed under `naming.exempt`)",
            );
        }
        self.err(
            Rule::NameFormat,
            name.span,
            format!(
                "event name `{n}` is not `<context>.<aggregate>.<action>` in lowercase snake_case"
            ),
        )
        .help = Some(help);
        None
    }

    /// Rule `past-tense`: an event reports something that happened, so its action
    /// (the last word of the last segment) is a past participle: it ends in `ed`, is
    /// an irregular participle (`sent`, `withdrawn`...) or is listed in
    /// `naming.past_tense`. Bad: `gradebook.grade.post`.
    fn check_past_tense(&mut self, name: &Spanned<String>, action: &str) {
        let last = action.rsplit('_').next().unwrap_or(action);
        if naming::is_past_tense(last, &self.past_tense) {
            return;
        }
        let fixed_action = naming::past_tense_action(action);
        let prefix = &name.value[..name.value.len() - action.len()];
        let fixed = format!("{prefix}{fixed_action}");
        let fixed_last = fixed_action.rsplit('_').next().unwrap_or(&fixed_action);
        self.err(
            Rule::PastTense,
            name.span,
            format!("action `{action}` of event `{}` is not in the past tense", name.value),
        )
        .help = Some(format!(
            "did you mean `{fixed}`? (`{fixed_last}`; if `{last}` is already past tense, add it to `naming.past_tense`)"
        ));
    }

    /// Rule `aggregate-id`: `aggregate_id` names a required payload field of type
    /// `string`, `uuid` or `int`. Bad: `aggregate_id: resultID` when the field is
    /// `resultId`; an `aggregate_id` pointing at a `number` or `string?` field.
    fn check_aggregate_id(&mut self, id: &Spanned<String>, fields: &[Field], whose: &str) {
        match fields.iter().find(|f| f.name == id.value) {
            None => {
                let help = match did_you_mean(&id.value, fields.iter().map(|f| f.name.as_str())) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "add `{}: uuid` to the payload, or name an existing field",
                        id.value
                    ),
                };
                self.err(
                    Rule::AggregateId,
                    id.span,
                    format!(
                        "aggregate_id `{}` of {whose} is not a payload field",
                        id.value
                    ),
                )
                .help = Some(help);
            }
            Some(f) if !f.ty.is_identifier() => {
                let why = if f.ty.optional {
                    "is optional".to_string()
                } else {
                    format!("has type `{}`", f.ty)
                };
                self.err(
                    Rule::AggregateId,
                    id.span,
                    format!("aggregate_id field `{}` of {whose} {why}", id.value),
                )
                .help = Some(
                    "the aggregate id must be a required `string`, `uuid` or `int` field".into(),
                );
            }
            Some(_) => {}
        }
    }

    /// Rule `handler-name`: declared handler ids are lowercase snake_case segments
    /// joined by dots (`analytics.update_gpa`), each listed once per event.
    /// Bad: `Analytics.UpdateGpa`, `update gpa`.
    fn check_handlers(&mut self, handlers: &[Spanned<String>], whose: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut seen: HashSet<&str> = HashSet::new();
        for h in handlers {
            let segs: Vec<&str> = h.value.split('.').collect();
            if segs.len() < 2 || !segs.iter().all(|s| naming::is_snake_segment(s)) {
                let fixed: Vec<String> = h.value.split('.').map(naming::to_snake).collect();
                let fixed = fixed.join(".");
                let help = if fixed.split('.').count() >= 2
                    && fixed.split('.').all(naming::is_snake_segment)
                {
                    format!("did you mean `{fixed}`?")
                } else {
                    "name handlers `<context>.<handler_name>`, for example `analytics.update_gpa`"
                        .into()
                };
                self.err(
                    Rule::HandlerName,
                    h.span,
                    format!("handler id `{}` of {whose} is not `<context>.<handler_name>` in lowercase snake_case", h.value),
                )
                .help = Some(help);
                continue;
            }
            if !seen.insert(&h.value) {
                self.err(
                    Rule::HandlerName,
                    h.span,
                    format!("handler `{}` is listed twice for {whose}", h.value),
                )
                .help = Some("remove the second entry".into());
                continue;
            }
            out.push(h.value.clone());
        }
        out
    }

    /// Rule `bad-example`: each entry of `examples:` is a payload the event accepts:
    /// every required field present, no unknown field, every value of its field's
    /// type (formats and enum values included).
    fn check_examples(
        &mut self,
        examples: &[Node],
        fields: &[Field],
        types: &[NamedType],
        event: &str,
    ) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        for (i, ex) in examples.iter().enumerate() {
            let before = self.diags.len();
            let label = format!("example {} of `{event}`", i + 1);
            let mut checker = ExampleChecker {
                v: self,
                types,
                label: &label,
            };
            checker.object(ex, fields, &Path::Root);
            if self.diags.len() == before {
                match ex.to_json() {
                    Ok(j) => out.push(j),
                    Err(bad) => {
                        self.err(
                            Rule::BadExample,
                            bad.span,
                            format!("{label}: value has no JSON form"),
                        );
                    }
                }
            }
        }
        out
    }

    /// Rule `name-collision` (events): two events must not generate the same Rust
    /// item. Bad: `gradebook.grade_item.posted` and `gradebook.grade.item_posted`
    /// (both `gradebook::GradeItemPosted`), or a context named `names`.
    fn check_event_collisions(&mut self, events: &mut Vec<EventDef>) {
        let mut by_type: HashMap<(String, String), (String, Span)> = HashMap::new();
        let mut by_variant: HashMap<String, (String, Span)> = HashMap::new();
        let mut by_const: HashMap<String, (String, Span)> = HashMap::new();
        let mut reserved_reported: HashSet<String> = HashSet::new();
        let mut keep = Vec::with_capacity(events.len());
        for e in events.drain(..) {
            if RESERVED_CONTEXTS.contains(&e.context.as_str()) {
                if reserved_reported.insert(e.context.clone()) {
                    self.err(
                        Rule::NameCollision,
                        e.span,
                        format!(
                            "context `{}` would clash with the generated module `{}`",
                            e.context, e.context
                        ),
                    )
                    .help = Some("choose another context name".into());
                }
                continue;
            }
            let clash = if let Some(o) =
                by_type.get(&(e.idents.module.clone(), e.idents.type_name.clone()))
            {
                Some((
                    o.clone(),
                    format!("`{}::{}`", e.idents.module, e.idents.type_name),
                ))
            } else if let Some(o) = by_variant.get(&e.idents.variant) {
                Some((
                    o.clone(),
                    format!("the `AnyEvent::{}` variant", e.idents.variant),
                ))
            } else {
                by_const.get(&e.idents.constant).map(|o| {
                    (
                        o.clone(),
                        format!("the constant `names::{}`", e.idents.constant),
                    )
                })
            };
            if let Some(((other, span), item)) = clash {
                let note = self.note(span);
                self.err(
                    Rule::NameCollision,
                    e.span,
                    format!(
                        "events `{other}` and `{}` would both generate {item}",
                        e.name
                    ),
                )
                .with_note_mut(note, "the other event")
                .help = Some("rename one of the events".into());
                continue;
            }
            by_type.insert(
                (e.idents.module.clone(), e.idents.type_name.clone()),
                (e.name.clone(), e.span),
            );
            by_variant.insert(e.idents.variant.clone(), (e.name.clone(), e.span));
            by_const.insert(e.idents.constant.clone(), (e.name.clone(), e.span));
            keep.push(e);
        }
        *events = keep;
    }
}

/// The struct fields (type index, field index) whose removal makes the types
/// finite, each with the cycle it closes written as `A -> B -> A`: the back
/// edges of one depth-first search over the non-list fields of named types.
fn back_edges(types: &[NamedType]) -> Vec<(usize, usize, String)> {
    let index: HashMap<&str, usize> = types
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.as_str(), i))
        .collect();
    let edges: Vec<Vec<(usize, usize)>> = types
        .iter()
        .map(|t| match &t.kind {
            TypeKind::Struct(fields) => fields
                .iter()
                .enumerate()
                .filter(|(_, f)| f.ty.list_depth == 0)
                .filter_map(|(fi, f)| match &f.ty.base {
                    BaseType::Named(n) => index.get(n.as_str()).map(|&ti| (fi, ti)),
                    _ => None,
                })
                .collect(),
            TypeKind::Enum(_) => Vec::new(),
        })
        .collect();
    const UNSEEN: usize = usize::MAX;
    const DONE: usize = usize::MAX - 1;
    // UNSEEN, DONE, or the node's position on the stack while it is visited.
    let mut state = vec![UNSEEN; types.len()];
    let mut out = Vec::new();
    for root in 0..types.len() {
        if state[root] != UNSEEN {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 0;
        while let Some(top) = stack.last_mut() {
            let (node, next) = *top;
            let Some(&(field, target)) = edges[node].get(next) else {
                state[node] = DONE;
                stack.pop();
                continue;
            };
            top.1 += 1;
            match state[target] {
                UNSEEN => {
                    state[target] = stack.len();
                    stack.push((target, 0));
                }
                DONE => {}
                from => {
                    // node -> target closes the cycle target ... node.
                    out.push((node, field, cycle_text(types, node, &stack[from..])));
                }
            }
        }
    }
    out
}

/// `node -> cycle[0] -> ... -> node`, where `cycle` is the part of the search
/// stack that ends with `node`, eliding the middle of very long cycles (without
/// walking them: hostile catalogs make many long cycles).
fn cycle_text(types: &[NamedType], node: usize, cycle: &[(usize, usize)]) -> String {
    let len = cycle.len() + 1;
    let name = |i: usize| {
        types[if i == 0 { node } else { cycle[i - 1].0 }]
            .name
            .as_str()
    };
    let part = |r: std::ops::Range<usize>| r.map(name).collect::<Vec<_>>().join(" -> ");
    // `cycle` ends with `node`, which closes the chain.
    if len <= 10 {
        part(0..len)
    } else {
        format!("{} -> ... -> {}", part(0..4), part(len - 4..len))
    }
}

/// A best guess at the name the author meant, for `name-format` help.
fn suggest_event_name(n: &str) -> Option<String> {
    let mut segs: Vec<String> = n
        .split('.')
        .filter(|s| !s.is_empty())
        .map(naming::to_snake)
        .filter(|s| !s.is_empty())
        .collect();
    // `gradebook.gradeUpdate` -> `gradebook.grade.update`: split the last segment.
    if segs.len() == 2 && segs[1].contains('_') {
        let (a, rest) = segs[1].split_once('_').expect("checked");
        let (a, rest) = (a.to_string(), rest.to_string());
        segs[1] = a;
        segs.push(rest);
    }
    // `gradePosted` -> `grade.posted`: not enough to guess a context.
    if segs.len() != 3 || !segs.iter().all(|s| naming::is_snake_segment(s)) {
        return None;
    }
    let last = segs[2].rsplit('_').next().unwrap_or("").to_string();
    if !naming::is_past_tense(&last, &[]) {
        segs[2] = naming::past_tense_action(&segs[2]);
    }
    Some(segs.join("."))
}

/// Where a value sits in an example, formatted only for messages: `scores[2].value`.
enum Path<'a> {
    Root,
    Field(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn is_root(&self) -> bool {
        matches!(self, Path::Root)
    }
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Field(Path::Root, name) => f.write_str(name),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

struct ExampleChecker<'v, 'a, 't> {
    v: &'v mut Validator<'a>,
    types: &'t [NamedType],
    label: &'t str,
}

impl ExampleChecker<'_, '_, '_> {
    fn bad(&mut self, span: Span, msg: String, help: Option<String>) {
        let label = self.label;
        let d = self
            .v
            .err(Rule::BadExample, span, format!("{label}: {msg}"));
        d.help = help;
    }

    fn object(&mut self, node: &Node, fields: &[Field], path: &Path<'_>) {
        let Kind::Map(pairs) = &node.kind else {
            let what = if path.is_root() {
                "the payload".to_string()
            } else {
                format!("`{path}`")
            };
            self.bad(
                node.span,
                format!(
                    "{what} must be a mapping of fields, found {}",
                    node.kind_name()
                ),
                None,
            );
            return;
        };
        // Payloads are small: linear scans beat hashing, above all at opt-level 0.
        // Hostile examples with thousands of keys get hash lookups instead, or
        // the scans turn quadratic.
        let large = pairs.len() > 16;
        let index: HashMap<&str, &Field> = if large {
            fields.iter().map(|f| (f.name.as_str(), f)).collect()
        } else {
            HashMap::new()
        };
        let mut seen_set: HashSet<&str> = HashSet::new();
        let mut seen: Vec<&str> = Vec::with_capacity(if large { 0 } else { pairs.len() });
        let was_seen = |seen: &Vec<&str>, seen_set: &HashSet<&str>, key: &str| {
            if large {
                seen_set.contains(key)
            } else {
                seen.contains(&key)
            }
        };
        for (k, v) in pairs {
            let Some(key) = k.as_scalar().map(|s| s.text.as_str()) else {
                self.bad(k.span, "keys must be field names".into(), None);
                continue;
            };
            let full = Path::Field(path, key);
            if was_seen(&seen, &seen_set, key) {
                self.bad(k.span, format!("field `{full}` is given twice"), None);
                continue;
            }
            let field = if large {
                seen_set.insert(key);
                index.get(key).copied()
            } else {
                seen.push(key);
                fields.iter().find(|f| f.name == key)
            };
            match field {
                Some(f) => self.value(v, &f.ty, &full),
                None => {
                    let help = did_you_mean(key, fields.iter().map(|f| f.name.as_str()))
                        .map(|s| format!("did you mean `{s}`?"));
                    self.bad(k.span, format!("unknown field `{full}`"), help);
                }
            }
        }
        let missing: Vec<&str> = fields
            .iter()
            .filter(|f| !f.ty.optional && !was_seen(&seen, &seen_set, &f.name))
            .map(|f| f.name.as_str())
            .collect();
        if !missing.is_empty() {
            let list = missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let what = if path.is_root() {
                String::new()
            } else {
                format!(" in `{path}`")
            };
            self.bad(
                node.span,
                format!(
                    "missing required field{}{what}: {list}",
                    if missing.len() == 1 { "" } else { "s" }
                ),
                Some("add the field, or make it optional in the payload with `?`".into()),
            );
        }
    }

    fn value(&mut self, node: &Node, ty: &TypeRef, path: &Path<'_>) {
        if node.is_null() {
            if !ty.optional {
                self.bad(
                    node.span,
                    format!("`{path}` is null but has the non-optional type `{ty}`"),
                    None,
                );
            }
            return;
        }
        if ty.list_depth > 0 {
            let Kind::Seq(items) = &node.kind else {
                self.bad(
                    node.span,
                    format!(
                        "`{path}` must be a list (`{ty}`), found {}",
                        node.kind_name()
                    ),
                    None,
                );
                return;
            };
            let inner = TypeRef {
                base: ty.base.clone(),
                list_depth: ty.list_depth - 1,
                optional: false,
            };
            for (i, item) in items.iter().enumerate() {
                self.value(item, &inner, &Path::Index(path, i));
            }
            return;
        }
        let scalar = node.as_scalar();
        let core = scalar.map(core_scalar);
        let found = || -> String {
            match (node.as_scalar(), node.as_scalar().map(core_scalar)) {
                (Some(s), Some(CoreValue::Str(_))) => format!("the text `{}`", s.text),
                (Some(s), Some(CoreValue::Int(_) | CoreValue::Float(_))) => {
                    format!("the number `{}`", s.text)
                }
                (Some(s), Some(CoreValue::Bool(_))) => format!("the boolean `{}`", s.text),
                _ => node.kind_name().to_string(),
            }
        };
        let expect = |what: &str| format!("`{path}` must be {what}, found {}", found());
        match &ty.base {
            BaseType::Json => {
                if node.to_json().is_err() {
                    self.bad(node.span, format!("`{path}` has no JSON form"), None);
                }
            }
            BaseType::String => {
                if !matches!(core, Some(CoreValue::Str(_))) {
                    let help = scalar.map(|s| format!("quote it: `'{}'`", s.text));
                    self.bad(node.span, expect("text"), help);
                }
            }
            BaseType::Int => {
                if !matches!(core, Some(CoreValue::Int(_))) {
                    self.bad(node.span, expect("a whole number"), None);
                }
            }
            BaseType::Number => {
                if !matches!(core, Some(CoreValue::Int(_)))
                    && !matches!(core, Some(CoreValue::Float(f)) if f.is_finite())
                {
                    self.bad(node.span, expect("a number"), None);
                }
            }
            BaseType::Bool => {
                if !matches!(core, Some(CoreValue::Bool(_))) {
                    self.bad(node.span, expect("`true` or `false`"), None);
                }
            }
            BaseType::Uuid | BaseType::DateTime | BaseType::Date => {
                let (ok, what, eg): (fn(&str) -> bool, &str, &str) = match ty.base {
                    BaseType::Uuid => (
                        formats::is_uuid,
                        "a UUID",
                        "0b9c6f4e-3f1a-4c1e-9a55-6d2f1e7b8c90",
                    ),
                    BaseType::DateTime => (
                        formats::is_datetime,
                        "an RFC 3339 date-time",
                        "2025-11-17T14:03:00Z",
                    ),
                    _ => (formats::is_date, "a date (YYYY-MM-DD)", "2025-11-17"),
                };
                match core {
                    Some(CoreValue::Str(s)) if ok(s) => {}
                    _ => self.bad(node.span, expect(what), Some(format!("for example `{eg}`"))),
                }
            }
            BaseType::Named(n) => {
                let Some(t) = self.types.iter().find(|t| &t.name == n) else {
                    return;
                };
                match &t.kind {
                    TypeKind::Enum(values) => {
                        let ok = matches!(core, Some(CoreValue::Str(s)) if values.iter().any(|v| v.value == s))
                            || scalar.is_some_and(|s| {
                                s.plain && values.iter().any(|v| v.value == s.text)
                            });
                        if !ok {
                            let list = values
                                .iter()
                                .map(|v| v.value.as_str())
                                .collect::<Vec<_>>()
                                .join(", ");
                            let help = scalar
                                .and_then(|s| {
                                    did_you_mean(&s.text, values.iter().map(|v| v.value.as_str()))
                                })
                                .map(|s| format!("did you mean `{s}`?"));
                            self.bad(node.span, expect(&format!("one of {list}")), help);
                        }
                    }
                    TypeKind::Struct(fields) => {
                        let fields = fields.clone();
                        self.object(node, &fields, path);
                    }
                }
            }
        }
    }
}

trait WithNoteMut {
    fn with_note_mut(&mut self, at: crate::diag::Location, note: &str) -> &mut Self;
}

impl WithNoteMut for Diagnostic {
    fn with_note_mut(&mut self, at: crate::diag::Location, note: &str) -> &mut Self {
        self.notes.push((at, note.to_string()));
        self
    }
}
