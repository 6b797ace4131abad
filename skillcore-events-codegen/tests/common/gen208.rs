//! A deterministic generator of a realistic 208-event catalog (the original
//! system had 208 event types): 8 contexts of 26 events, 8 to 14 payload fields
//! each, every built-in type, optional and list fields, enums (one with values
//! that are not Rust identifiers), struct types, pii fields, a keyword field
//! name, `districtID` (whose Rust name differs from a naive camel-case split),
//! handlers and one `examples:` payload per event.
//!
//! The output is checked in as `tests/fixtures/big208.yaml` (the `big208` test
//! of this crate regenerates it and fails on any difference), so the benchmark,
//! the compile-cost script and the consumer crate's round-trip test all read
//! the same catalog. No randomness: the same code always writes the same bytes.

#![allow(dead_code)]

use std::fmt::Write as _;

/// Number of events generated.
pub const EVENTS: usize = 208;

/// Contexts and their aggregates (snake_case segments).
const CONTEXTS: &[(&str, &[&str])] = &[
    (
        "gradebook",
        &["grade", "line_item", "report_card", "term_grade"],
    ),
    ("attendance", &["record", "absence", "tardy", "excuse_note"]),
    (
        "enrollment",
        &["application", "placement", "transfer", "schedule"],
    ),
    ("intervention", &["plan", "session", "goal", "referral"]),
    ("iep", &["goal", "meeting", "accommodation", "evaluation"]),
    ("assessment", &["test", "attempt", "benchmark", "rubric"]),
    (
        "notifications",
        &["message", "digest", "alert", "preference"],
    ),
    ("sis_sync", &["roster", "section", "batch", "mapping"]),
];

/// Past-tense actions; 4 aggregates x 7 actions gives 28 names per context.
const ACTIONS: &[&str] = &[
    "created", "updated", "deleted", "approved", "archived", "sent", "reviewed",
];

/// Named types shared by the events.
const TYPES: &str = "types:
  Severity:
    description: How urgent something is.
    enum: [low, medium, high, critical]
  Channel:
    description: Channel a message is delivered on.
    enum: [email, sms, push, in_app]
  Role:
    description: Role of the person who acted.
    enum: [teacher, counselor, admin, guardian, student]
  Ordinal:
    description: Position in a ranking; the values are not Rust identifiers.
    enum: [1st, 2nd, 3rd]
  Actor:
    description: Who performed an action.
    fields:
      id: string
      role: Role
      displayName: string?
  ContactPoint:
    description: How to reach a guardian.
    fields:
      email:
        type: string
        pii: true
      phone: string?
";

/// A payload field of the pool: wire name, catalog type, pii, description.
struct PoolField {
    name: &'static str,
    ty: &'static str,
    pii: bool,
    description: Option<&'static str>,
}

const fn f(name: &'static str, ty: &'static str) -> PoolField {
    PoolField {
        name,
        ty,
        pii: false,
        description: None,
    }
}

/// Every built-in type, named types, lists, optionals and pii fields.
const POOL: &[PoolField] = &[
    f("studentId", "string"),
    f("score", "number"),
    f("attempts", "int"),
    f("isLate", "bool"),
    f("correlationId", "uuid?"),
    f("dueOn", "date"),
    f("metadata", "json?"),
    f("priority", "Severity"),
    f("actor", "Actor"),
    f("tags", "string[]"),
    PoolField {
        name: "notes",
        ty: "string?",
        pii: true,
        description: Some("Free text written by staff; may name the student."),
    },
    f("channel", "Channel?"),
    f("sequenceNo", "int"),
    f("ratio", "number?"),
    f("flags", "bool[]"),
    f("weekDates", "date[]"),
    f("reviewers", "Actor[]?"),
    f("dueAt", "datetime?"),
    f("externalRef", "uuid"),
    f("type", "string"),
    f("place", "Ordinal?"),
    PoolField {
        name: "guardianContact",
        ty: "ContactPoint?",
        pii: true,
        description: Some("Guardian contact details (FERPA)."),
    },
    f("scores", "number[]"),
    f("payload", "json"),
    f("staffId", "string?"),
    f("minutes", "int?"),
];

/// `line_item` -> `lineItem`.
fn camel(s: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in s.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn pascal(s: &str) -> String {
    let c = camel(s);
    let mut chars = c.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => c,
    }
}

/// One field of one event.
struct Field {
    name: String,
    ty: String,
    pii: bool,
    description: Option<&'static str>,
}

/// The example value of a type, as YAML flow text. `seed` varies the values.
fn example_value(ty: &str, seed: usize) -> String {
    let base = ty.trim_end_matches('?');
    if let Some(inner) = base.strip_suffix("[]") {
        let items: Vec<String> = (0..(seed % 3 + 1))
            .map(|k| example_value(inner, seed * 3 + k))
            .collect();
        return format!("[{}]", items.join(", "));
    }
    match base {
        "string" => format!("'s-{seed}'"),
        "int" => format!("{}", (seed * 7919) % 100_000),
        "number" => format!("{}.5", seed % 1000),
        "bool" => seed.is_multiple_of(2).to_string(),
        "uuid" => format!("'{:08x}-0000-4000-8000-{:012x}'", seed, seed * 31),
        "datetime" => format!(
            "'2025-{:02}-{:02}T{:02}:{:02}:00Z'",
            seed % 12 + 1,
            seed % 28 + 1,
            seed % 24,
            seed % 60
        ),
        "date" => format!("'2025-{:02}-{:02}'", seed % 12 + 1, seed % 28 + 1),
        "json" => format!("{{source: sis, n: {}, ok: true, list: [1, x]}}", seed % 10),
        "Severity" => ["low", "medium", "high", "critical"][seed % 4].to_string(),
        "Channel" => ["email", "sms", "push", "in_app"][seed % 4].to_string(),
        "Role" => ["teacher", "counselor", "admin", "guardian", "student"][seed % 5].to_string(),
        "Ordinal" => ["1st", "2nd", "3rd"][seed % 3].to_string(),
        "Actor" => {
            if seed.is_multiple_of(2) {
                format!(
                    "{{id: 'staff-{seed}', role: {}, displayName: 'Staff {seed}'}}",
                    example_value("Role", seed)
                )
            } else {
                format!(
                    "{{id: 'staff-{seed}', role: {}}}",
                    example_value("Role", seed)
                )
            }
        }
        "ContactPoint" => format!(
            "{{email: 'guardian{seed}@example.org', phone: '+1-555-{:04}'}}",
            seed % 10_000
        ),
        other => panic!("no example for type {other}"),
    }
}

/// The catalog's YAML text.
pub fn big208_yaml() -> String {
    let mut out = String::new();
    out.push_str(
        "# Generated by skillcore-events-codegen/tests/common/gen208.rs; do not edit.\n\
         # A 208-event catalog for the benchmark, the compile-cost measurement and the\n\
         # round-trip tests. Regenerate with:\n\
         #   BIG208_WRITE=1 cargo test -p skillcore-events-codegen --test big208\n\
         catalog: big208\n\n",
    );
    out.push_str(TYPES);
    out.push_str("\nevents:\n");
    let mut n = 0usize;
    for (ci, (context, aggregates)) in CONTEXTS.iter().enumerate() {
        let mut in_context = 0;
        'names: for aggregate in aggregates.iter() {
            for action in ACTIONS {
                if in_context == EVENTS / CONTEXTS.len() {
                    break 'names;
                }
                write_event(&mut out, n, ci, context, aggregate, action);
                in_context += 1;
                n += 1;
            }
        }
    }
    assert_eq!(n, EVENTS);
    out
}

fn write_event(
    out: &mut String,
    i: usize,
    ci: usize,
    context: &str,
    aggregate: &str,
    action: &str,
) {
    let id_field = format!("{}Id", camel(aggregate));
    let mut fields = vec![
        Field {
            name: id_field.clone(),
            ty: if i.is_multiple_of(5) {
                "string"
            } else {
                "uuid"
            }
            .into(),
            pii: false,
            description: None,
        },
        Field {
            name: "districtID".into(),
            ty: "string".into(),
            pii: false,
            description: None,
        },
        Field {
            name: "schoolId".into(),
            ty: "string".into(),
            pii: false,
            description: None,
        },
        Field {
            name: "occurredAt".into(),
            ty: "datetime".into(),
            pii: false,
            description: None,
        },
    ];
    // 8 to 14 fields in all.
    let total = 8 + (i * 5 + ci) % 7;
    let mut k = (i * 5) % POOL.len();
    while fields.len() < total {
        let p = &POOL[k % POOL.len()];
        k += 1;
        if fields.iter().any(|f| f.name == p.name) {
            continue;
        }
        fields.push(Field {
            name: p.name.into(),
            ty: p.ty.into(),
            pii: p.pii,
            description: p.description,
        });
    }

    let name = format!("{context}.{aggregate}.{action}");
    let _ = writeln!(out, "  {name}:");
    let _ = writeln!(
        out,
        "    description: {} {action} in {context} (generated event {i}).",
        pascal(aggregate)
    );
    if i % 9 == 4 {
        let _ = writeln!(out, "    version: {}", i % 3 + 2);
    }
    let _ = writeln!(out, "    aggregate: {}", pascal(aggregate));
    let _ = writeln!(out, "    aggregate_id: {id_field}");
    out.push_str("    payload:\n");
    for f in &fields {
        if f.pii || f.description.is_some() {
            let _ = writeln!(out, "      {}:", f.name);
            let _ = writeln!(out, "        type: {}", f.ty);
            if let Some(d) = f.description {
                let _ = writeln!(out, "        description: {d}");
            }
            if f.pii {
                out.push_str("        pii: true\n");
            }
        } else {
            let _ = writeln!(out, "      {}: {}", f.name, f.ty);
        }
    }
    if !i.is_multiple_of(3) {
        out.push_str("    handlers:\n");
        let _ = writeln!(out, "      - analytics.record_{context}_{action}");
        if i % 3 == 2 {
            let _ = writeln!(out, "      - audit.log_{aggregate}_change");
        }
    }
    // One example; optional fields alternate between present, null and absent.
    out.push_str("    examples:\n");
    let mut first = true;
    for (j, f) in fields.iter().enumerate() {
        let seed = i * 16 + j;
        let value = if f.ty.ends_with('?') {
            match (i + j) % 3 {
                0 => Some(example_value(&f.ty, seed)),
                1 => Some("null".to_string()),
                _ => None,
            }
        } else {
            Some(example_value(&f.ty, seed))
        };
        let Some(value) = value else { continue };
        let lead = if first { "      - " } else { "        " };
        first = false;
        let _ = writeln!(out, "{lead}{}: {value}", f.name);
    }
}
