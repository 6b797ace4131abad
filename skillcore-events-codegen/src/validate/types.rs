//! Rules of named types: names, enum values, fields, type expressions, Rust
//! identifier collisions, recursive types.

use super::*;

impl Validator<'_> {
    /// Rule `type-name`: named types and aggregates are PascalCase.
    /// Bad: `letter_grade:` under `types:`, `aggregate: result`.
    pub(super) fn check_type_name(&mut self, name: &str, span: Span, what: &str) -> bool {
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

    pub(super) fn named_type(&mut self, t: &RawType) -> Option<NamedType> {
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
            name: self.effective_type_name(name).to_string(),
            ident,
            description: t.description.clone().unwrap_or_default(),
            kind,
            span: t.name.span,
        })
    }

    /// Rule `name-collision` (enum values): every value of an enum gives its own
    /// Rust variant. Bad: `enum: [in_app, InApp]` (both become `InApp`), or a value
    /// listed twice.
    pub(super) fn enum_values(
        &mut self,
        values: &[Spanned<String>],
        type_name: &str,
    ) -> Vec<EnumValue> {
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

    pub(super) fn fields(&mut self, raw: &[RawField], whose: &str) -> Vec<Field> {
        let mut out: Vec<Field> = Vec::new();
        // Wire name and Rust name -> index in `out`, so that checking for
        // duplicates is not quadratic in the number of fields.
        let mut by_name: HashMap<String, usize> = HashMap::new();
        let mut by_ident: HashMap<String, usize> = HashMap::new();
        for f in raw {
            let written = &f.name.value;
            let fixed = self.check_field_name(f, whose);
            let name = fixed.as_ref().unwrap_or(written);
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
                Some(t) => self.check_type_expr(t).unwrap_or_else(|ty| {
                    self.unknown_typed.insert(f.name.span);
                    self.unknown_types.push(UnknownType {
                        field: f.name.span,
                        ty: t.span,
                        name: habits::stub_name(&t.value),
                    });
                    ty
                }),
                None => {
                    self.unknown_typed.insert(f.name.span);
                    TypeRef::plain(BaseType::Json)
                }
            };
            if fixed.is_some() {
                self.field_aliases.insert(f.name.span, written.clone());
            }
            out.push(Field {
                name: name.clone(),
                ident,
                ty,
                description: f.description.clone(),
                pii: f.pii,
                span: f.name.span,
                renamed_from: f.renamed_from.as_ref().map(|r| r.value.clone()),
                default: None, // checked once every type is known: `check_field_evolution`
                deprecated: f.deprecated.as_ref().map(|d| d.value.clone()),
            });
        }
        out
    }

    /// Rule `field-name`: field names are lowerCamelCase, the JSON wire names.
    /// Bad: `student_id`, `StudentId`, `student-id`.
    ///
    /// Returns the corrected name the model holds the field under (so later
    /// checks, and the examples, use the spelling the help asks for), or
    /// `None` when the name is fine or has no obvious correction.
    pub(super) fn check_field_name(&mut self, f: &RawField, whose: &str) -> Option<String> {
        let name = &f.name.value;
        if naming::is_lower_camel(name) {
            return None;
        }
        let fixed = naming::to_lower_camel(name);
        let usable = naming::is_lower_camel(&fixed);
        let help = if usable {
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
        usable.then_some(fixed)
    }

    /// Rule `duplicate-field`: a payload declares each field once, and no two fields
    /// map to the same Rust name. Bad: `districtId` and `districtID` (both `district_id`).
    /// (`fields` finds the earlier field `prev` with the same wire or Rust name.)
    pub(super) fn report_duplicate_field(
        &mut self,
        prev: &Field,
        f: &RawField,
        ident: &str,
        whose: &str,
    ) {
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
    /// Spellings from TypeScript and other languages get the catalog's own
    /// (`Date` -> `datetime`, `Array<number>` -> `number[]`, `integer` -> `int`).
    ///
    /// `Err` holds the stand-in for an unknown type (`json`, with the written
    /// list depth and optionality), so the model stays well formed.
    pub(super) fn check_type_expr(&mut self, t: &Spanned<String>) -> Result<TypeRef, TypeRef> {
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
            // A type whose name had a `type-name` error, referred to as written.
            self.type_aliases
                .get(base)
                .map(|fixed| BaseType::Named(fixed.clone()))
        };
        if let Some(base) = resolved {
            return Ok(TypeRef {
                base,
                list_depth: depth,
                optional,
            });
        }
        let known = |n: &str| self.type_name_set.contains(n);
        let habit = habits::catalog_spelling(text, &known);
        let help = match habit {
            Some(fixed) => {
                let why = habits::why(text);
                format!("did you mean `{fixed}`?{why}")
            }
            None if !well_formed => "write a type as `T`, `T[]` (list), `T?` (optional) or `T[]?`, where T is a built-in (string, int, number, bool, uuid, datetime, date, json) or a name from `types`".to_string(),
            None => {
                let candidates = BaseType::BUILTINS
                    .iter()
                    .copied()
                    .chain(self.type_names.iter().map(String::as_str));
                match did_you_mean(base, candidates) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "use a built-in (string, int, number, bool, uuid, datetime, date, json) or declare `{base}` under `types:`"
                    ),
                }
            }
        };
        self.err(
            Rule::UnknownType,
            t.span,
            format!("unknown type `{}`", t.value),
        )
        .help = Some(help);
        Err(TypeRef {
            base: BaseType::Json,
            list_depth: depth.min(4),
            optional,
        })
    }

    /// Rule `name-collision` (types): two type names that give one Rust name.
    pub(super) fn check_type_ident_collisions(&mut self, types: &mut Vec<NamedType>) {
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
    pub(super) fn check_recursive_types(&mut self, types: &mut [NamedType]) {
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
}

/// The struct fields (type index, field index) whose removal makes the types
/// finite, each with the cycle it closes written as `A -> B -> A`: the back
/// edges of one depth-first search over the non-list fields of named types.
pub(super) fn back_edges(types: &[NamedType]) -> Vec<(usize, usize, String)> {
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
pub(super) fn cycle_text(types: &[NamedType], node: usize, cycle: &[(usize, usize)]) -> String {
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
