//! Rules of events: name format and past tense, aggregate ids, handlers,
//! examples, collisions of generated names.

use super::*;

impl Validator<'_> {
    pub(super) fn event(&mut self, e: &RawEvent, types: &[NamedType]) -> Option<EventDef> {
        let name = &e.name.value;
        let whose = format!("event `{name}`");
        // A name with an error is held under the corrected name its help
        // suggests (when no other event has it), so that the generated items,
        // handlers and the lock see the name the author is told to write.
        let named = match self.check_name_format(&e.name) {
            Ok(parts) => match self.check_past_tense(&e.name, &parts.2) {
                None => Some((parts, name.clone())),
                Some(action) => {
                    let fixed = format!("{}.{action}", &name[..name.len() - parts.2.len() - 1]);
                    self.event_names
                        .insert(fixed.clone())
                        .then_some(((parts.0, parts.1, action), fixed))
                }
            },
            Err(Some(fixed)) if self.event_names.insert(fixed.clone()) => {
                let segs: Vec<&str> = fixed.split('.').collect();
                match segs.as_slice() {
                    [c, a, x] => Some(((c.to_string(), a.to_string(), x.to_string()), fixed)),
                    _ => None,
                }
            }
            Err(_) => None,
        };
        let (parts, model_name) = match named {
            Some((p, n)) => (Some(p), n),
            None => (None, name.clone()),
        };
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
        // Without a payload (missing or malformed: reported) there is no field
        // to judge the aggregate id against.
        if let (Some(id), Some(_)) = (&e.aggregate_id, &e.payload) {
            self.check_aggregate_id(id, &fields, &whose);
        }
        // The aggregate id field under the name the model holds it by.
        let aggregate_id = e.aggregate_id.as_ref().map(|id| {
            fields
                .iter()
                .find(|f| self.names_field(f, &id.value))
                .map_or_else(|| id.value.clone(), |f| f.name.clone())
        });
        let mut fields = fields;
        if let Some(p) = &e.payload {
            self.check_field_evolution(p, &mut fields, types, &whose);
        }
        let compatibility = self.event_compatibility(e);
        self.check_event_rename(e);
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
        let constant = naming::to_screaming(&model_name);
        Some(EventDef {
            name: model_name,
            context,
            aggregate_segment,
            action,
            aggregate,
            aggregate_id: aggregate_id.unwrap_or_default(),
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
            compatibility,
            renamed_from: e.renamed_from.as_ref().map(|r| r.value.clone()),
            deprecated: e.deprecated.as_ref().map(|d| d.value.clone()),
            version_span: e.version_span.unwrap_or(e.name.span),
            metadata: None,
            upcasts: e
                .upcast
                .iter()
                .map(|(v, p)| {
                    let at = self.sources.location(p.span);
                    Upcast {
                        from: v.value,
                        path: p.value.clone(),
                        span: p.span,
                        at: format!("{}:{}:{}", at.file, at.line, at.column),
                    }
                })
                .collect(),
        })
    }

    /// Rule `name-format`: event names are `<context>.<aggregate>.<action>`, three
    /// lowercase snake_case segments, unless listed in `naming.exempt` (then two
    /// segments are allowed and the aggregate is the context).
    /// Bad: `grade`, `gradePosted`, `Gradebook.Grade.Posted`, `gradebook.gradeUpdate`.
    ///
    /// `Err` holds the suggested name, when there is one.
    pub(super) fn check_name_format(
        &mut self,
        name: &Spanned<String>,
    ) -> Result<(String, String, String), Option<String>> {
        let n = &name.value;
        let parts: Vec<&str> = n.split('.').collect();
        let all_snake = parts.iter().all(|p| naming::is_snake_segment(p));
        let exempt = self.exempt.contains(n);
        match parts.as_slice() {
            [c, a, x] if all_snake => return Ok((c.to_string(), a.to_string(), x.to_string())),
            [c, x] if all_snake && exempt => {
                return Ok((c.to_string(), c.to_string(), x.to_string()))
            }
            _ => {}
        }
        let suggestion = suggest_event_name(n, &self.past_tense);
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
        Err(suggestion.filter(|s| s != n))
    }

    /// Rule `past-tense`: an event reports something that happened, so its action
    /// (the last word of the last segment) is a past participle: it ends in `ed`, is
    /// an irregular participle (`sent`, `withdrawn`...) or is listed in
    /// `naming.past_tense`. Bad: `gradebook.grade.post`.
    ///
    /// Returns the corrected action after an error.
    pub(super) fn check_past_tense(
        &mut self,
        name: &Spanned<String>,
        action: &str,
    ) -> Option<String> {
        let last = action.rsplit('_').next().unwrap_or(action);
        if naming::is_past_tense(last, &self.past_tense) {
            return None;
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
        Some(fixed_action)
    }

    /// Rule `aggregate-id`: `aggregate_id` names a required payload field of type
    /// `string`, `uuid` or `int`. Bad: `aggregate_id: resultID` when the field is
    /// `resultId`; an `aggregate_id` pointing at a `number` or `string?` field.
    pub(super) fn check_aggregate_id(
        &mut self,
        id: &Spanned<String>,
        fields: &[Field],
        whose: &str,
    ) {
        match fields.iter().find(|f| self.names_field(f, &id.value)) {
            // Its type is unknown (reported): nothing to judge.
            Some(f) if self.unknown_typed.contains(&f.span) => {}
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
    pub(super) fn check_handlers(
        &mut self,
        handlers: &[Spanned<String>],
        whose: &str,
    ) -> Vec<String> {
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
    pub(super) fn check_examples(
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
                rule: Rule::BadExample,
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
    pub(super) fn check_event_collisions(&mut self, events: &mut Vec<EventDef>) {
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

/// A best guess at the name the author meant, for `name-format` help.
fn suggest_event_name(n: &str, past_tense: &[String]) -> Option<String> {
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
    if !naming::is_past_tense(&last, past_tense) {
        segs[2] = naming::past_tense_action(&segs[2]);
    }
    Some(segs.join("."))
}
