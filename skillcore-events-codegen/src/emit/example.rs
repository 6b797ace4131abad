//! Example payloads: the catalog's first `examples:` entry when there is one,
//! otherwise a generated payload that is valid against the event's schema.
//!
//! One generator feeds `skillcore-events example`, the docs pages and the tests.
//! Generated values are deterministic (a UUID is derived from the event and field
//! names) and read like data: `studentId: "stu-0001"`, `postedAt:
//! "2025-11-17T14:03:00Z"`, the first value of an enum, one element per list.
//! Optional fields are filled in too, so the example shows every field's shape.

use super::json::Json;
use crate::model::{BaseType, Catalog, EventDef, Field, TypeKind, TypeRef};

/// Lists nested deeper than this (through recursive types) are left empty.
const MAX_DEPTH: usize = 4;

/// The example payload of an event, fields in catalog order: its first catalog
/// example if it has one, else a generated one.
pub fn example(catalog: &Catalog, e: &EventDef) -> Json {
    match e.examples.first() {
        Some(v) => ordered(catalog, &e.fields, v),
        None => generated(catalog, e),
    }
}

/// `true` when [`example`] shows a payload written in the catalog.
pub fn is_from_catalog(e: &EventDef) -> bool {
    !e.examples.is_empty()
}

/// A generated payload for `e`, valid against its schema and its Rust type.
pub fn generated(catalog: &Catalog, e: &EventDef) -> Json {
    let g = Gen {
        catalog,
        event: &e.name,
    };
    g.object(&e.fields, 0, "")
}

/// `v` (a catalog example) with its keys in the order of `fields` (unknown keys
/// last), recursively through named struct types.
pub fn ordered(catalog: &Catalog, fields: &[Field], v: &serde_json::Value) -> Json {
    let serde_json::Value::Object(map) = v else {
        return Json::from(v);
    };
    let mut out = Json::obj();
    for f in fields {
        if let Some(x) = map.get(&f.name) {
            out.set(&f.name, ordered_value(catalog, &f.ty, x));
        }
    }
    for (k, x) in map {
        if !fields.iter().any(|f| &f.name == k) {
            out.set(k, Json::from(x));
        }
    }
    out
}

fn ordered_value(catalog: &Catalog, t: &TypeRef, v: &serde_json::Value) -> Json {
    match (v, t.list_depth) {
        (serde_json::Value::Array(items), d) if d > 0 => {
            let inner = TypeRef {
                base: t.base.clone(),
                list_depth: d - 1,
                optional: false,
            };
            Json::Arr(
                items
                    .iter()
                    .map(|x| ordered_value(catalog, &inner, x))
                    .collect(),
            )
        }
        (serde_json::Value::Object(_), 0) => match &t.base {
            BaseType::Named(n) => match catalog.named_type(n).map(|t| &t.kind) {
                Some(TypeKind::Struct(fields)) => ordered(catalog, fields, v),
                _ => Json::from(v),
            },
            _ => Json::from(v),
        },
        _ => Json::from(v),
    }
}

struct Gen<'a> {
    catalog: &'a Catalog,
    event: &'a str,
}

impl Gen<'_> {
    fn object(&self, fields: &[Field], depth: usize, path: &str) -> Json {
        let mut out = Json::obj();
        for f in fields {
            let p = format!("{path}/{}", f.name);
            out.set(&f.name, self.value(&f.ty, &f.name, depth, &p));
        }
        out
    }

    fn value(&self, t: &TypeRef, name: &str, depth: usize, path: &str) -> Json {
        if t.list_depth > 0 {
            if depth >= MAX_DEPTH {
                return Json::Arr(Vec::new());
            }
            let inner = TypeRef {
                base: t.base.clone(),
                list_depth: t.list_depth - 1,
                optional: false,
            };
            return Json::Arr(vec![self.value(&inner, name, depth + 1, path)]);
        }
        if t.optional && depth >= MAX_DEPTH {
            return Json::Null;
        }
        match &t.base {
            BaseType::String => Json::Str(string_for(name)),
            BaseType::Int => Json::from(int_for(name)),
            BaseType::Number => Json::Num(
                serde_json::Number::from_f64(number_for(name)).unwrap_or_else(|| 0.into()),
            ),
            BaseType::Bool => Json::Bool(true),
            BaseType::Uuid => Json::Str(uuid_for(&format!("{}{path}", self.event))),
            BaseType::DateTime => Json::str("2025-11-17T14:03:00Z"),
            BaseType::Date => Json::str("2025-11-17"),
            BaseType::Json => Json::obj(),
            BaseType::Named(n) => match self.catalog.named_type(n).map(|t| &t.kind) {
                Some(TypeKind::Enum(values)) => {
                    values.first().map_or(Json::Null, |v| Json::str(&v.value))
                }
                Some(TypeKind::Struct(fields)) => self.object(fields, depth + 1, path),
                None => Json::Null,
            },
        }
    }
}

/// A plausible string for a field, from its name.
fn string_for(name: &str) -> String {
    let words = crate::naming::words(name);
    let last = words.last().map(String::as_str).unwrap_or("");
    let first = words.first().map(String::as_str).unwrap_or("x");
    match last {
        "id" | "ids" => {
            let stem: String = first.chars().take(3).collect();
            format!("{stem}-0001")
        }
        "email" => "jordan.lee@example.org".into(),
        "phone" => "+1-555-0100".into(),
        "url" | "uri" | "link" => "https://example.org/skillcore".into(),
        "name" => "Jordan Lee".into(),
        "code" => format!("{}-01", first.to_ascii_uppercase()),
        "year" => "2025-2026".into(),
        _ => format!("Example {}", words.join(" ")),
    }
}

fn int_for(name: &str) -> i64 {
    let lower = name.to_ascii_lowercase();
    if lower.contains("minute") {
        45
    } else if lower.contains("year") {
        2025
    } else if lower.contains("grade") || lower.contains("level") {
        7
    } else {
        3
    }
}

fn number_for(name: &str) -> f64 {
    let lower = name.to_ascii_lowercase();
    if lower.contains("percent") {
        85.0
    } else {
        42.5
    }
}

/// A deterministic, well-formed (version 4 layout) UUID derived from `seed`.
pub fn uuid_for(seed: &str) -> String {
    // FNV-1a, twice with different offsets, for 128 bits.
    let fnv = |offset: u64| {
        let mut h = offset;
        for b in seed.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h
    };
    let a = fnv(0xcbf2_9ce4_8422_2325);
    let b = fnv(0x8422_2325_cbf2_9ce4);
    let hex = format!("{a:016x}{b:016x}");
    let mut chars: Vec<char> = hex.chars().collect();
    chars[12] = '4';
    chars[16] = ['8', '9', 'a', 'b'][(b & 3) as usize];
    let s: String = chars.into_iter().collect();
    format!(
        "{}-{}-{}-{}-{}",
        &s[0..8],
        &s[8..12],
        &s[12..16],
        &s[16..20],
        &s[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_wellformed_and_stable() {
        let u = uuid_for("gradebook.grade.posted/resultId");
        assert!(crate::formats::is_uuid(&u), "{u}");
        assert_eq!(u, uuid_for("gradebook.grade.posted/resultId"));
        assert_ne!(u, uuid_for("gradebook.grade.posted/lineItemId"));
    }

    #[test]
    fn generated_examples_pass_the_catalog_check() {
        // Feed each generated example back through `bad-example`.
        let src = r#"
types:
  LetterGrade: { description: g, enum: [A, B] }
  Contact:
    description: c
    fields:
      email: string
      phone: string?
      reports: Contact[]
events:
  gradebook.grade.posted:
    description: d
    aggregate: Result
    aggregate_id: resultId
    payload:
      resultId: uuid
      studentId: string
      score: number
      attempts: int
      late: bool
      postedAt: datetime
      due: date?
      grade: LetterGrade
      contact: Contact?
      tags: string[][]
      extra: json
"#;
        let c = crate::compile_str("c.yaml", src);
        assert!(c.is_ok(), "{}", c.render_diagnostics());
        let e = c.catalog.event("gradebook.grade.posted").unwrap();
        let ex = generated(&c.catalog, e);
        let yaml = format!(
            "{}    examples:\n      - {}\n",
            src,
            ex.to_json_pretty().replace('\n', " ")
        );
        let again = crate::compile_str("c.yaml", &yaml);
        assert!(again.is_ok(), "{}\n{yaml}", again.render_diagnostics());
        let first = &again
            .catalog
            .event("gradebook.grade.posted")
            .unwrap()
            .examples[0];
        assert_eq!(first, &ex.to_value());
    }
}
