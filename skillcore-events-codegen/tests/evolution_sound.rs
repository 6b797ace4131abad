//! The classifier is sound: no change it calls compatible breaks a reader.
//!
//! Each case writes a random catalog (one event; fields of every built-in type,
//! an enum and a struct type, optional or not, with or without defaults),
//! applies one to four random edits of every kind the classifier knows, and
//! compiles both versions. Then, for every verdict:
//!
//! - *backward compatible*: payloads of the old shape, upcast as the generated
//!   code upcasts (declared renames applied, defaults filled in where a value
//!   is missing, or `null` for a required field), are valid against the new
//!   shape's JSON Schema (format assertions on: the schema is exactly what
//!   the generated type accepts);
//! - *forward compatible*: payloads of the new shape are valid against the old
//!   shape's JSON Schema (which, like the generated types, allows unknown
//!   fields).
//!
//! Payloads are random too: optional fields missing, `null` or set, defaulted
//! fields missing or set, every enum value, lists of zero to two elements.
//! A false "compatible" fails the test with the two catalogs and the payload.
//! `SKILLCORE_SOUND_CASES` sets the number of cases (default 10,000).

use serde_json::{json, Map, Value};
use skillcore_events_codegen::evolution::{classify, EventShape};
use skillcore_events_codegen::model::{BaseType, Catalog, Field, TypeKind};
use skillcore_events_codegen::{compile_str, emit::schema::event_schema, Settings};

/// splitmix64: small, fast, reproducible from the case number.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const BASES: &[&str] = &[
    "string", "int", "number", "bool", "uuid", "date", "datetime", "json", "Level", "Term",
];

/// A catalog as data, rendered to YAML for the compiler.
#[derive(Clone, Debug)]
struct Cat {
    aggregate: String,
    fields: Vec<F>,
    levels: Vec<String>,
    term: Vec<F>,
}

#[derive(Clone, Debug)]
struct F {
    name: String,
    base: String,
    list: bool,
    optional: bool,
    default: Option<Value>,
    renamed_from: Option<String>,
}

impl Cat {
    fn yaml(&self) -> String {
        let mut s =
            String::from("catalog: sound\ntypes:\n  Level:\n    description: l\n    enum: [");
        s.push_str(&self.levels.join(", "));
        s.push_str("]\n  Term:\n    description: t\n    fields:\n");
        for f in &self.term {
            field_yaml(&mut s, f, 6);
        }
        s.push_str(&format!(
            "events:\n  a.thing.posted:\n    description: d\n    aggregate: {}\n    aggregate_id: id\n    payload:\n      id: uuid\n",
            self.aggregate
        ));
        for f in &self.fields {
            field_yaml(&mut s, f, 6);
        }
        s
    }
}

fn field_yaml(s: &mut String, f: &F, indent: usize) {
    let pad = " ".repeat(indent);
    let ty = format!(
        "{}{}{}",
        f.base,
        if f.list { "[]" } else { "" },
        if f.optional { "?" } else { "" }
    );
    s.push_str(&format!("{pad}{}:\n{pad}  type: \"{ty}\"\n", f.name));
    if let Some(d) = &f.default {
        s.push_str(&format!("{pad}  default: {d}\n"));
    }
    if let Some(r) = &f.renamed_from {
        s.push_str(&format!("{pad}  renamed_from: {r}\n"));
    }
}

/// A value of `base` (`levels` are the enum's values; `depth` stops `Term`).
fn value(r: &mut Rng, base: &str, list: bool, levels: &[String], term: &[F], depth: u8) -> Value {
    if list {
        let n = r.below(3);
        return Value::Array(
            (0..n)
                .map(|_| value(r, base, false, levels, term, depth))
                .collect(),
        );
    }
    match base {
        "string" => json!(*r.pick(&[
            "x",
            "",
            "2025-01-01",
            "0b9c6f4e-3f1a-4c1e-9a55-6d2f1e7b8c90"
        ])),
        "int" => json!(r.below(100) as i64 - 50),
        "number" => r.pick(&[json!(1.5), json!(-3), json!(0)]).clone(),
        "bool" => json!(r.chance(50)),
        "uuid" => json!("0b9c6f4e-3f1a-4c1e-9a55-6d2f1e7b8c90"),
        "date" => json!("2025-11-17"),
        "datetime" => json!("2025-11-17T14:03:00Z"),
        "json" => r
            .pick(&[json!(true), json!({"k": 1}), json!([1]), json!("s")])
            .clone(),
        "Level" => json!(r.pick(levels)),
        "Term" if depth < 2 => object(r, term, levels, &[], depth + 1),
        _ => json!({}),
    }
}

/// A payload of `fields`: optional fields missing, null or set; defaulted
/// fields missing or set.
fn object(r: &mut Rng, fields: &[F], levels: &[String], term: &[F], depth: u8) -> Value {
    let mut m = Map::new();
    for f in fields {
        if (f.optional || f.default.is_some()) && r.chance(30) {
            continue;
        }
        let v = if f.optional && r.chance(30) {
            Value::Null
        } else {
            value(r, &f.base, f.list, levels, term, depth)
        };
        m.insert(f.name.clone(), v);
    }
    Value::Object(m)
}

fn payload(r: &mut Rng, c: &Cat) -> Value {
    let mut p = object(r, &c.fields, &c.levels, &c.term, 0);
    p["id"] = json!("0b9c6f4e-3f1a-4c1e-9a55-6d2f1e7b8c90");
    p
}

fn default_for(r: &mut Rng, f: &F, levels: &[String], term: &[F]) -> Value {
    // The compiler takes `null` for no type's default (not even `json`'s).
    loop {
        let v = value(r, &f.base, f.list, levels, term, 1);
        if !v.is_null() {
            return v;
        }
    }
}

/// One random edit of `c`; returns a short label for failure messages.
fn mutate(r: &mut Rng, c: &mut Cat, fresh: &mut u32) -> &'static str {
    let mut name = || {
        *fresh += 1;
        format!("f{fresh}")
    };
    let target_term = r.chance(25) && !c.term.is_empty();
    let levels = c.levels.clone();
    let term = c.term.clone();
    let fields = if target_term {
        &mut c.term
    } else {
        &mut c.fields
    };
    match r.below(11) {
        0 if !fields.is_empty() => {
            let i = r.below(fields.len());
            fields.remove(i);
            "remove field"
        }
        1 => {
            let base = r
                .pick(if target_term { &BASES[..8] } else { BASES })
                .to_string();
            let mut f = F {
                name: name(),
                base,
                list: r.chance(20),
                optional: r.chance(50),
                default: None,
                renamed_from: None,
            };
            if r.chance(40) {
                f.default = Some(default_for(r, &f, &levels, &term));
            }
            fields.push(f);
            "add field"
        }
        2 if !fields.is_empty() => {
            let i = r.below(fields.len());
            fields[i].optional = !fields[i].optional;
            "toggle optional"
        }
        3 if !fields.is_empty() => {
            let i = r.below(fields.len());
            let pool = if target_term { &BASES[..8] } else { BASES };
            fields[i].base = r.pick(pool).to_string();
            if r.chance(20) {
                fields[i].list = !fields[i].list;
            }
            fields[i].default = None;
            "change type"
        }
        4 if !fields.is_empty() => {
            let i = r.below(fields.len());
            let old = std::mem::replace(&mut fields[i].name, name());
            fields[i].renamed_from = Some(old);
            "rename field"
        }
        5 if !fields.is_empty() => {
            let i = r.below(fields.len());
            let f = fields[i].clone();
            fields[i].default = if f.default.is_some() && r.chance(50) {
                None
            } else {
                Some(default_for(r, &f, &levels, &term))
            };
            "change default"
        }
        6 => {
            let v = format!("v{}", r.below(6));
            if !c.levels.contains(&v) {
                c.levels.push(v);
            }
            "add enum value"
        }
        7 if c.levels.len() > 1 => {
            let i = r.below(c.levels.len());
            c.levels.remove(i);
            // A default naming the removed value would not compile: drop it.
            for f in c.fields.iter_mut().chain(c.term.iter_mut()) {
                if f.base == "Level" {
                    f.default = None;
                }
            }
            "remove enum value"
        }
        8 if r.chance(20) => {
            c.aggregate = "Other".into();
            "change aggregate"
        }
        9 if !fields.is_empty() => {
            // Widening edits, the likeliest to be judged wrongly.
            let i = r.below(fields.len());
            let to = match fields[i].base.as_str() {
                "int" => "number",
                "uuid" | "date" | "datetime" | "Level" => "string",
                _ => "json",
            };
            fields[i].base = to.to_string();
            fields[i].default = None;
            "widen type"
        }
        _ => "no-op",
    }
}

fn random_catalog(r: &mut Rng, fresh: &mut u32) -> Cat {
    let levels: Vec<String> = (0..1 + r.below(3)).map(|i| format!("v{i}")).collect();
    let mut c = Cat {
        aggregate: "Thing".into(),
        fields: Vec::new(),
        levels,
        term: Vec::new(),
    };
    for _ in 0..1 + r.below(2) {
        *fresh += 1;
        let base = r.pick(&BASES[..8]).to_string();
        c.term.push(F {
            name: format!("f{fresh}"),
            base,
            list: false,
            optional: r.chance(40),
            default: None,
            renamed_from: None,
        });
    }
    for _ in 0..1 + r.below(5) {
        *fresh += 1;
        let base = r.pick(BASES).to_string();
        let mut f = F {
            name: format!("f{fresh}"),
            base,
            list: r.chance(15),
            optional: r.chance(40),
            default: None,
            renamed_from: None,
        };
        if r.chance(25) {
            f.default = Some(default_for(r, &f, &c.levels, &c.term));
        }
        c.fields.push(f);
    }
    c
}

/// Old payload -> new shape, as the generated upcast does: declared renames
/// move values, defaults fill in missing values (and `null` for a required
/// field), recursively through struct values.
fn upcast(v: &mut Value, fields: &[Field], catalog: &Catalog) {
    let Value::Object(m) = v else { return };
    for f in fields {
        if let Some(r) = &f.renamed_from {
            if !m.contains_key(&f.name) {
                if let Some(x) = m.remove(r) {
                    m.insert(f.name.clone(), x);
                }
            }
        }
        if let Some(d) = &f.default {
            let missing = match m.get(&f.name) {
                None => true,
                Some(Value::Null) => !f.ty.optional,
                Some(_) => false,
            };
            if missing {
                m.insert(f.name.clone(), d.clone());
            }
        }
        if let (BaseType::Named(n), Some(x)) = (&f.ty.base, m.get_mut(&f.name)) {
            if let Some(TypeKind::Struct(inner)) = catalog.named_type(n).map(|t| &t.kind) {
                upcast_nested(x, f.ty.list_depth, inner, catalog);
            }
        }
    }
}

fn upcast_nested(v: &mut Value, depth: u8, fields: &[Field], catalog: &Catalog) {
    if depth == 0 {
        upcast(v, fields, catalog);
    } else if let Value::Array(items) = v {
        for i in items {
            upcast_nested(i, depth - 1, fields, catalog);
        }
    }
}

fn validator(c: &Catalog) -> jsonschema::Validator {
    let schema = event_schema(c, &c.events[0], &Settings::default()).to_value();
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("a valid schema")
}

fn first_error(judge: &jsonschema::Validator, p: &Value) -> Option<String> {
    let e = judge.iter_errors(p).next()?;
    Some(format!("{e} at `{}`", e.instance_path()))
}

#[test]
fn no_false_compatible_verdict() {
    let cases: u64 = std::env::var("SKILLCORE_SOUND_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let (mut judged, mut backward_ok, mut forward_ok, mut skipped, mut changes) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut kinds = std::collections::BTreeSet::new();
    for case in 0..cases {
        let mut r = Rng(case);
        let mut fresh = 0;
        let old = random_catalog(&mut r, &mut fresh);
        let mut new = old.clone();
        let mut edits = Vec::new();
        for _ in 0..1 + r.below(4) {
            edits.push(mutate(&mut r, &mut new, &mut fresh));
        }
        let (a, b) = (
            compile_str("old.yaml", &old.yaml()),
            compile_str("new.yaml", &new.yaml()),
        );
        assert!(
            a.is_ok(),
            "case {case}: the generated old catalog must compile:\n{}\n{}",
            a.render_diagnostics(),
            old.yaml()
        );
        if !b.is_ok() {
            skipped += 1; // an edit the compiler refuses (a rename clash, a bad default): no verdict to judge
            continue;
        }
        judged += 1;
        let (oc, nc) = (&a.catalog, &b.catalog);
        let found = classify(
            &EventShape::of(oc, &oc.events[0]),
            &EventShape::of(nc, &nc.events[0]),
        );
        changes += found.len() as u64;
        kinds.extend(found.iter().map(|c| c.inner.unwrap_or(c.kind).id()));
        let backward = found.iter().all(|c| c.backward);
        let forward = found.iter().all(|c| c.forward);
        let context = || {
            format!(
                "case {case}, edits {edits:?}\nchanges: {:#?}\n--- old\n{}--- new\n{}",
                found
                    .iter()
                    .map(|c| (&c.message, c.backward, c.forward))
                    .collect::<Vec<_>>(),
                old.yaml(),
                new.yaml()
            )
        };
        if backward {
            backward_ok += 1;
            let judge = validator(nc);
            for _ in 0..6 {
                let mut p = payload(&mut r, &old);
                upcast(&mut p, &nc.events[0].fields, nc);
                if let Some(e) = first_error(&judge, &p) {
                    panic!(
                        "false backward-compatible verdict: {e}\npayload (upcast) {p}\n{}",
                        context()
                    );
                }
            }
        }
        if forward {
            forward_ok += 1;
            let judge = validator(oc);
            for _ in 0..6 {
                let p = payload(&mut r, &new);
                if let Some(e) = first_error(&judge, &p) {
                    panic!(
                        "false forward-compatible verdict: {e}\npayload {p}\n{}",
                        context()
                    );
                }
            }
        }
    }
    eprintln!(
        "{cases} cases: {judged} judged ({skipped} edits refused by the compiler), {changes} changes, {backward_ok} backward-compatible and {forward_ok} forward-compatible verdicts checked with payloads, 0 false; kinds seen: {kinds:?}"
    );
    // The generator must reach every kind of field change, or the test proves little.
    for k in [
        "field-removed",
        "field-added-required",
        "field-added-optional",
        "field-made-required",
        "field-made-optional",
        "field-type-changed",
        "field-renamed",
        "field-default-changed",
        "enum-value-added",
        "enum-value-removed",
        "aggregate-changed",
    ] {
        assert!(kinds.contains(k), "no case produced `{k}`: {kinds:?}");
    }
    assert!(
        judged * 10 > cases * 8,
        "too many refused edits: {skipped} of {cases}"
    );
    assert!(
        backward_ok > cases / 10 && forward_ok > cases / 10,
        "too few compatible verdicts to judge"
    );
}

// Struct-inner kinds are reported as `struct-type-changed`; keep the generator
// honest about reaching them too.
#[test]
fn edits_inside_the_struct_type_are_seen() {
    let mut seen = false;
    for case in 0..500u64 {
        let mut r = Rng(case);
        let mut fresh = 0;
        let old = random_catalog(&mut r, &mut fresh);
        let mut new = old.clone();
        new.term.push(F {
            name: "added".into(),
            base: "int".into(),
            list: false,
            optional: false,
            default: None,
            renamed_from: None,
        });
        let (a, b) = (
            compile_str("o.yaml", &old.yaml()),
            compile_str("n.yaml", &new.yaml()),
        );
        if !a.is_ok() || !b.is_ok() || !old.fields.iter().any(|f| f.base == "Term") {
            continue;
        }
        let found = classify(
            &EventShape::of(&a.catalog, &a.catalog.events[0]),
            &EventShape::of(&b.catalog, &b.catalog.events[0]),
        );
        assert!(
            found.iter().all(|c| c.kind.id() == "struct-type-changed"),
            "{found:?}"
        );
        assert!(found.iter().any(|c| !c.backward), "{found:?}");
        seen = true;
    }
    assert!(seen);
}
