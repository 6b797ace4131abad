//! Checking `example:` payloads against their event's fields.

use super::*;

/// Where a value sits in an example, formatted only for messages: `scores[2].value`.
pub(super) enum Path<'a> {
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

pub(super) struct ExampleChecker<'v, 'a, 't> {
    pub(super) v: &'v mut Validator<'a>,
    pub(super) types: &'t [NamedType],
    pub(super) label: &'t str,
    /// The rule a mismatch is reported under (`bad-example`, `bad-default`).
    pub(super) rule: Rule,
}

impl ExampleChecker<'_, '_, '_> {
    fn bad(&mut self, span: Span, msg: String, help: Option<String>) {
        let label = self.label;
        let d = self.v.err(self.rule, span, format!("{label}: {msg}"));
        d.help = help;
    }

    pub(super) fn object(&mut self, node: &Node, fields: &[Field], path: &Path<'_>) {
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
        // A field the model holds under its corrected name (its `field-name`
        // error is reported) answers to the name as written too.
        let written: Vec<(String, &Field)> = if large {
            fields
                .iter()
                .filter_map(|f| self.v.written_name(f).map(|w| (w.to_string(), f)))
                .collect()
        } else {
            Vec::new()
        };
        let index: HashMap<&str, &Field> = if large {
            fields
                .iter()
                .map(|f| (f.name.as_str(), f))
                .chain(written.iter().map(|(w, f)| (w.as_str(), *f)))
                .collect()
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
                fields.iter().find(|f| self.v.names_field(f, key))
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
            .filter(|f| {
                !f.ty.optional
                    && !was_seen(&seen, &seen_set, &f.name)
                    && !self
                        .v
                        .written_name(f)
                        .is_some_and(|w| was_seen(&seen, &seen_set, w))
            })
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

    pub(super) fn value(&mut self, node: &Node, ty: &TypeRef, path: &Path<'_>) {
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

pub(super) trait WithNoteMut {
    fn with_note_mut(&mut self, at: crate::diag::Location, note: &str) -> &mut Self;
}

impl WithNoteMut for Diagnostic {
    fn with_note_mut(&mut self, at: crate::diag::Location, note: &str) -> &mut Self {
        self.notes.push((at, note.to_string()));
        self
    }
}
