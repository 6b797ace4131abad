//! Rules of the evolution keys, as far as the catalog alone can judge them:
//! compatibility modes, `default` values, `renamed_from` names. Whether a
//! rename names something that was released is judged against the lock, in
//! [`crate::evolution`].

use super::*;

impl Validator<'_> {
    /// Rule `invalid-value`: `evolution.compatibility` names a mode, and the
    /// files of one catalog agree on it.
    /// Bad: `compatibility: sideways`; `backward` in one file, `full` in another.
    pub(super) fn check_catalog_compatibility(&mut self, files: &[RawFile]) -> Compatibility {
        let mut first: Option<(&Spanned<String>, Compatibility)> = None;
        for f in files {
            let Some(c) = &f.compatibility else { continue };
            let Some(mode) = self.mode(c, "`evolution.compatibility`") else {
                continue;
            };
            match first {
                None => first = Some((c, mode)),
                Some((p, m)) if m != mode => {
                    let note = self.note(p.span);
                    self.err(
                        Rule::InvalidValue,
                        c.span,
                        format!("compatibility `{mode}` differs from `{m}`"),
                    )
                    .with_note_mut(note, "set here")
                    .help = Some(format!(
                        "use `evolution: {{ compatibility: {m} }}` in every file, or in one only"
                    ));
                }
                Some(_) => {}
            }
        }
        first.map(|(_, m)| m).unwrap_or_default()
    }

    /// The event's own mode, else the catalog's.
    pub(super) fn event_compatibility(&mut self, e: &RawEvent) -> Compatibility {
        let whose = format!("the compatibility of event `{}`", e.name.value);
        e.compatibility
            .as_ref()
            .and_then(|c| self.mode(c, &whose))
            .unwrap_or(self.compatibility)
    }

    fn mode(&mut self, c: &Spanned<String>, what: &str) -> Option<Compatibility> {
        if let Some(m) = Compatibility::from_name(&c.value) {
            return Some(m);
        }
        let names = Compatibility::ALL.iter().map(|m| m.name());
        let help = match did_you_mean(&c.value, names.clone()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!(
                "the modes are: {}",
                names
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        self.err(
            Rule::InvalidValue,
            c.span,
            format!("{what} is `{}`, which is not a compatibility mode", c.value),
        )
        .help = Some(help);
        None
    }

    /// Rule `bad-rename`: an event's `renamed_from` is an event name other than
    /// its own. Bad: `renamed_from: gradebook.grade.posted` on
    /// `gradebook.grade.posted`; `renamed_from: GradePosted`.
    pub(super) fn check_event_rename(&mut self, e: &RawEvent) {
        let Some(r) = &e.renamed_from else { return };
        let segments: Vec<&str> = r.value.split('.').collect();
        let well_formed = (2..=3).contains(&segments.len())
            && segments.iter().all(|s| naming::is_snake_segment(s));
        if !well_formed {
            self.err(
                Rule::BadRename,
                r.span,
                format!(
                    "`renamed_from: {}` of event `{}` is not an event name",
                    r.value, e.name.value
                ),
            )
            .help = Some(
                "write the name it was released under, such as `gradebook.grade.posted`".into(),
            );
        } else if r.value == e.name.value {
            self.err(
                Rule::BadRename,
                r.span,
                format!("event `{}` is renamed from itself", e.name.value),
            )
            .help = Some("remove `renamed_from`, or write the name it was released under".into());
        }
    }

    /// Rule `bad-default` (a `default` matches its field's type) and rule
    /// `bad-rename` (a field's `renamed_from` is a field name other than any
    /// current one). Fills in [`Field::default`].
    /// Bad: `pointsPossible: { type: number, default: many }`;
    /// `renamed_from: score` beside a field still called `score`.
    pub(super) fn check_field_evolution(
        &mut self,
        raw: &[RawField],
        fields: &mut [Field],
        types: &[NamedType],
        whose: &str,
    ) {
        // `fields` are the raw fields in their order, less the dropped ones:
        // each search starts where the last one ended, so the whole walk is
        // linear in the fields (a catalog of thousands stays fast).
        let mut from = 0;
        for f in raw {
            if f.default.is_none() && f.renamed_from.is_none() {
                continue; // most fields: nothing to check
            }
            let at = |x: &Field| x.span == f.name.span;
            let Some(i) = fields[from..]
                .iter()
                .position(at)
                .map(|i| from + i)
                .or_else(|| fields[..from].iter().position(at))
            else {
                continue; // dropped (already reported)
            };
            from = i + 1;
            if let Some(node) = &f.default {
                let label = format!("the default of {whose}");
                let before = self.diags.len();
                let ty = fields[i].ty.clone();
                ExampleChecker {
                    v: self,
                    types,
                    label: &label,
                    rule: Rule::BadDefault,
                }
                .value(node, &ty, &Path::Field(&Path::Root, &f.name.value));
                if self.diags.len() == before {
                    match node.to_json() {
                        Ok(j) => fields[i].default = Some(j),
                        Err(bad) => {
                            self.err(
                                Rule::BadDefault,
                                bad.span,
                                format!("{label}: value has no JSON form"),
                            );
                        }
                    }
                }
            }
            if let Some(r) = &f.renamed_from {
                if !naming::is_lower_camel(&r.value) {
                    self.err(
                        Rule::BadRename,
                        r.span,
                        format!(
                            "`renamed_from: {}` of field `{}` of {whose} is not a field name",
                            r.value, f.name.value
                        ),
                    )
                    .help = Some("write the lowerCamelCase name it was released under".into());
                } else if let Some(other) = fields.iter().find(|x| x.name == r.value) {
                    let note = self.note(other.span);
                    let what = if other.name == f.name.value {
                        format!("field `{}` of {whose} is renamed from itself", r.value)
                    } else {
                        format!(
                            "field `{}` of {whose} is renamed from `{}`, which is still a field",
                            f.name.value, r.value
                        )
                    };
                    self.err(Rule::BadRename, r.span, what)
                        .with_note_mut(note, "declared here")
                        .help = Some(
                        "a rename replaces the old field: remove one of them, or drop `renamed_from`"
                            .into(),
                    );
                }
            }
        }
    }

    /// [`Self::check_field_evolution`] for the fields of named struct types,
    /// once every type is known (a default may be a value of another type).
    pub(super) fn check_type_defaults(&mut self, raw: &[&RawType], types: &mut [NamedType]) {
        let declares = |t: &&&RawType| match &t.def {
            RawTypeDef::Fields(fs) => fs
                .iter()
                .any(|f| f.default.is_some() || f.renamed_from.is_some()),
            _ => false,
        };
        if !raw.iter().any(|t| declares(&t)) {
            return; // the common case: nothing to check, no copy of the types
        }
        let known: Vec<NamedType> = types.to_vec();
        for t in raw {
            let RawTypeDef::Fields(rf) = &t.def else {
                continue;
            };
            let Some(nt) = types.iter_mut().find(|x| x.span == t.name.span) else {
                continue;
            };
            if let TypeKind::Struct(fields) = &mut nt.kind {
                let whose = format!("type `{}`", t.name.value);
                self.check_field_evolution(rf, fields, &known, &whose);
            }
        }
    }
}
