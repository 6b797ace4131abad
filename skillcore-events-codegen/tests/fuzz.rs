//! Bad input never panics the compiler: property tests of the parse + validate
//! entry point (`compile_str`) on arbitrary text, on mutations of a valid
//! catalog, and on generated valid catalogs.
//!
//! The default case counts keep the suite fast; raise them for a long run:
//!
//! ```sh
//! PROPTEST_CASES=20000 cargo test --release -p skillcore-events-codegen --test fuzz
//! ```

use proptest::prelude::*;
use skillcore_events_codegen::naming;
use skillcore_events_codegen::source::Sources;
use skillcore_events_codegen::yaml;
use skillcore_events_codegen::{compile_str, emit, Compiled, Settings};
use std::collections::HashSet;
use std::time::{Duration, Instant};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn config(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(default),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Compiles `text` and checks what must hold for any input: no panic, no hang,
/// every diagnostic inside the file (or global) and renderable, and the
/// best-effort model still expands to Rust that parses (the stubs).
fn check_any(text: &str) -> Compiled {
    let t = Instant::now();
    let c = compile_str("fuzz.yaml", text);
    let took = t.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "compile_str took {took:?} on {} bytes",
        text.len()
    );
    let lines = text.lines().count() as u32;
    for d in &c.diagnostics {
        let mut locs: Vec<_> = d.notes.iter().map(|(l, _)| l).collect();
        locs.extend(d.location.as_ref());
        for l in locs {
            assert_eq!(l.file, "fuzz.yaml", "{d}");
            assert!(
                l.line >= 1 && l.line <= lines + 1,
                "line {} outside 1..={} in {d:?}",
                l.line,
                lines + 1
            );
            assert!(l.column >= 1, "{d:?}");
        }
        let text = d.render();
        assert!(text.contains(&format!("error[{}]", d.rule.id())));
    }
    let tokens = emit::rust::emit(&c.catalog, &Settings::default(), &[]);
    if let Err(e) = syn::parse2::<syn::File>(tokens.clone()) {
        panic!("expansion does not parse: {e}\n{tokens}\n\ninput:\n{text}");
    }
    c
}

// ------------------------------------------------------------ arbitrary input

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        check_any(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn arbitrary_strings(s in any::<String>()) {
        check_any(&s);
    }

    /// Text made of the characters that mean something to YAML.
    #[test]
    fn yaml_shaped_noise(s in "([a-zA-Z_.]{1,8}|[ \\n\\t:\\-\\[\\]{},#&*!|>'\"?%@`~0-9]){0,120}") {
        check_any(&s);
    }
}

// ------------------------------------------------------- mutated valid catalog

const VALID: &str = r#"catalog: skillcore
naming:
  past_tense: [sent, withdrawn]
  exempt: [intervention.created]
types:
  LetterGrade:
    description: Letter grade derived from a percent score
    enum: [A, B, C, D, F]
  GuardianContact:
    description: How to reach a guardian
    fields:
      email: { type: string, pii: true }
      phone: string?
events:
  gradebook.grade.posted:
    description: Grade posted for student assignment
    version: 1
    aggregate: Result
    aggregate_id: resultId
    payload:
      resultId: uuid
      score: number
      letterGrade: LetterGrade
      previousScore: number?
      districtID: string
      tags: string[]
      contact: GuardianContact?
      comment:
        type: string?
        description: Teacher comment to the student
        pii: true
    handlers:
      - analytics.update_gpa
    examples:
      - resultId: 0b9c6f4e-3f1a-4c1e-9a55-6d2f1e7b8c90
        score: 42.5
        letterGrade: B
        districtID: d-1
        tags: [a, b]
        contact: { email: x@example.org }
  intervention.created:
    description: Intervention opened
    aggregate: Intervention
    aggregate_id: interventionId
    payload:
      interventionId: int
      type: string
      dueOn: date
      extra: json?
"#;

#[derive(Clone, Debug)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    InsertChar(usize, char),
    Indent(usize, i8),
    ReplaceKey(usize, String),
    InsertTab(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let yamlish = prop_oneof![
        Just(':'),
        Just('-'),
        Just('['),
        Just(']'),
        Just('{'),
        Just('}'),
        Just('&'),
        Just('*'),
        Just('?'),
        Just('#'),
        Just('\''),
        Just('"'),
        Just('\t'),
        Just('\n'),
        Just(' '),
        Just('.'),
        any::<char>(),
    ];
    let key = prop_oneof![
        Just("paylod".to_string()),
        Just("payload".to_string()),
        Just("type".to_string()),
        Just("events".to_string()),
        Just("types".to_string()),
        Just("enum".to_string()),
        Just("fields".to_string()),
        Just("aggregate_id".to_string()),
        Just("examples".to_string()),
        Just("AnyEvent".to_string()),
        Just("names.x.created".to_string()),
        Just("self".to_string()),
        Just("districtId".to_string()),
        "[a-zA-Z_.]{0,12}",
    ];
    prop_oneof![
        (0..80usize).prop_map(Mutation::DeleteLine),
        (0..80usize).prop_map(Mutation::DuplicateLine),
        (0..80usize, 0..80usize).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (0..3000usize, yamlish).prop_map(|(p, c)| Mutation::InsertChar(p, c)),
        (0..80usize, -6i8..6).prop_map(|(l, d)| Mutation::Indent(l, d)),
        (0..80usize, key).prop_map(|(l, k)| Mutation::ReplaceKey(l, k)),
        (0..80usize).prop_map(Mutation::InsertTab),
        (0..3000usize).prop_map(Mutation::Truncate),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let n = lines.len().max(1);
    match m {
        Mutation::DeleteLine(i) => {
            if !lines.is_empty() {
                lines.remove(i % n);
            }
        }
        Mutation::DuplicateLine(i) => {
            if !lines.is_empty() {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
        }
        Mutation::SwapLines(a, b) => {
            if !lines.is_empty() {
                lines.swap(a % n, b % n);
            }
        }
        Mutation::InsertChar(p, c) => {
            let chars: Vec<char> = text.chars().collect();
            let p = p % (chars.len() + 1);
            let mut s: String = chars[..p].iter().collect();
            s.push(*c);
            s.extend(&chars[p..]);
            return s;
        }
        Mutation::Indent(i, d) => {
            if !lines.is_empty() {
                let l = &mut lines[i % n];
                if *d > 0 {
                    l.insert_str(0, &" ".repeat(*d as usize));
                } else {
                    let strip = l
                        .chars()
                        .take_while(|c| *c == ' ')
                        .count()
                        .min(d.unsigned_abs() as usize);
                    l.drain(..strip);
                }
            }
        }
        Mutation::ReplaceKey(i, k) => {
            if !lines.is_empty() {
                let l = &mut lines[i % n];
                if let Some(colon) = l.find(':') {
                    let indent = l.len() - l.trim_start().len();
                    let indent = indent.min(colon);
                    l.replace_range(indent..colon, k);
                }
            }
        }
        Mutation::InsertTab(i) => {
            if !lines.is_empty() {
                lines[i % n].insert(0, '\t');
            }
        }
        Mutation::Truncate(p) => {
            let chars: Vec<char> = text.chars().collect();
            return chars[..p % (chars.len() + 1)].iter().collect();
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

#[test]
fn the_base_catalog_is_valid() {
    let c = check_any(VALID);
    assert!(c.is_ok(), "{}", c.render_diagnostics());
    assert_eq!(c.catalog.events.len(), 2);
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn mutated_catalogs(ms in proptest::collection::vec(mutation(), 1..6)) {
        let mut text = VALID.to_string();
        for m in &ms {
            text = apply(&text, m);
        }
        check_any(&text);
    }
}

// ------------------------------------------------------ generated valid catalogs

#[derive(Clone, Debug)]
struct GenField {
    name: String,
    ty: String,
    pii: bool,
}

#[derive(Clone, Debug)]
struct GenEvent {
    context: String,
    aggregate: String,
    action: String,
    version: u32,
    fields: Vec<GenField>,
    description: String,
}

#[derive(Clone, Debug)]
struct GenEnum {
    name: String,
    values: Vec<String>,
}

fn snake_segment() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,6}(_[a-z0-9]{1,4}){0,2}"
}

fn action() -> impl Strategy<Value = String> {
    prop_oneof![
        "([a-z]{1,6}_)?[a-z]{1,6}ed",
        Just("sent".to_string()),
        Just("withdrawn".to_string()),
        Just("read".to_string()),
    ]
}

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z][a-zA-Z0-9]{0,10}",
        1 => prop_oneof![
            Just("type".to_string()),
            Just("match".to_string()),
            Just("self".to_string()),
            Just("crate".to_string()),
            Just("super".to_string()),
            Just("async".to_string()),
            Just("districtID".to_string()),
            Just("fn".to_string()),
        ],
    ]
}

fn text() -> impl Strategy<Value = String> {
    "[ -~]{1,40}".prop_filter("non-blank", |s| !s.trim().is_empty())
}

fn gen_enum() -> impl Strategy<Value = GenEnum> {
    (
        "[A-Z][a-zA-Z0-9]{0,8}",
        proptest::collection::vec("[a-zA-Z0-9_]{1,8}", 1..6),
    )
        .prop_map(|(name, values)| GenEnum { name, values })
}

const BUILTINS: &[&str] = &[
    "string", "int", "number", "bool", "uuid", "datetime", "date", "json",
];

fn gen_event(type_names: Vec<String>) -> impl Strategy<Value = GenEvent> {
    let mut bases: Vec<String> = BUILTINS.iter().map(|s| s.to_string()).collect();
    bases.extend(type_names);
    let ty = (
        proptest::sample::select(bases),
        prop_oneof![Just(""), Just("[]"), Just("?"), Just("[]?"), Just("[][]")],
    )
        .prop_map(|(b, s)| format!("{b}{s}"));
    let field =
        (field_name(), ty, any::<bool>()).prop_map(|(name, ty, pii)| GenField { name, ty, pii });
    (
        snake_segment(),
        snake_segment(),
        action(),
        1u32..5,
        proptest::collection::vec(field, 0..10),
        text(),
    )
        .prop_map(
            |(context, aggregate, action, version, fields, description)| GenEvent {
                context,
                aggregate,
                action,
                version,
                fields,
                description,
            },
        )
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Drops whatever would collide, using the crate's own naming functions, and
/// writes the YAML. Returns the text and the number of events kept.
fn render(enums: &[GenEnum], events: &[GenEvent]) -> (String, usize) {
    let mut out = String::from("catalog: generated\ntypes:\n");
    let mut type_idents = HashSet::new();
    let mut type_names = HashSet::new();
    for e in enums {
        let ident = naming::rust_ident(&naming::to_pascal(&e.name));
        if e.name == "AnyEvent" || !type_idents.insert(ident) {
            continue;
        }
        type_names.insert(e.name.clone());
        let mut seen = HashSet::new();
        let values: Vec<String> = e
            .values
            .iter()
            .filter(|v| seen.insert(naming::variant_ident(v)))
            .map(|v| quote(v))
            .collect();
        out.push_str(&format!(
            "  {}:\n    description: generated enum\n    enum: [{}]\n",
            e.name,
            values.join(", ")
        ));
    }
    out.push_str("  Point:\n    description: a struct type\n    fields:\n      x: number\n      label: string?\n");
    out.push_str("events:\n");
    let mut items = HashSet::new();
    let mut kept = 0;
    for e in events {
        let name = format!("{}.{}.{}", e.context, e.aggregate, e.action);
        let ty = format!(
            "{}{}",
            naming::to_pascal(&e.aggregate),
            naming::to_pascal(&e.action)
        );
        let keys = [
            format!("type {}::{ty}", e.context),
            format!("variant {}{ty}", naming::to_pascal(&e.context)),
            format!("const {}", naming::to_screaming(&name)),
        ];
        if e.context == "names" || keys.iter().any(|k| items.contains(k)) {
            continue;
        }
        items.extend(keys);
        kept += 1;
        out.push_str(&format!("  {name}:\n"));
        out.push_str(&format!("    description: {}\n", quote(&e.description)));
        out.push_str(&format!("    version: {}\n", e.version));
        out.push_str(
            "    aggregate: Agg\n    aggregate_id: aggId\n    payload:\n      aggId: uuid\n",
        );
        let mut rust_names: HashSet<String> =
            HashSet::from(["agg_id".to_string(), "r#where".to_string()]);
        for f in &e.fields {
            let base = f.ty.trim_end_matches(['?', '[', ']']);
            let known = BUILTINS.contains(&base) || type_names.contains(base) || base == "Point";
            if !known || !rust_names.insert(naming::rust_ident(&naming::to_snake(&f.name))) {
                continue;
            }
            if f.pii {
                out.push_str(&format!(
                    "      {}:\n        type: {}\n        pii: true\n",
                    f.name, f.ty
                ));
            } else {
                out.push_str(&format!("      {}: {}\n", f.name, f.ty));
            }
        }
        out.push_str("      where: Point[]?\n");
    }
    (out, kept)
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn generated_valid_catalogs(
        (enums, events) in proptest::collection::vec(gen_enum(), 0..4).prop_flat_map(|enums| {
            let mut names: Vec<String> = enums.iter().map(|e| e.name.clone()).collect();
            names.push("Point".into());
            (Just(enums), proptest::collection::vec(gen_event(names), 1..8))
        })
    ) {
        let (text, kept) = render(&enums, &events);
        let c = check_any(&text);
        prop_assert!(c.is_ok(), "{}\n{}", c.render_diagnostics(), text);
        prop_assert_eq!(c.catalog.events.len(), kept);
    }
}

// -------------------------------------------------------------- hostile input

#[test]
fn alias_bomb_and_deep_nesting_fail_fast() {
    let mut bomb = String::from("a: &a [x,x,x,x,x,x,x,x,x]\n");
    for (prev, cur) in "abcdefghijklmnopqrs"
        .chars()
        .zip("bcdefghijklmnopqrst".chars())
    {
        bomb.push_str(&format!(
            "{cur}: &{cur} [{}]\n",
            vec![format!("*{prev}"); 9].join(",")
        ));
    }
    for text in [
        bomb,
        format!("k: {}1{}\n", "[".repeat(100_000), "]".repeat(100_000)),
        format!("k: {}\n", "{a: ".repeat(100_000)),
        format!("k: {}", "- ".repeat(100_000)),
        (0..2_000)
            .map(|i| format!("{}k:\n", " ".repeat(i % 200)))
            .collect(),
    ] {
        let t = Instant::now();
        let c = compile_str("fuzz.yaml", &text);
        let took = t.elapsed();
        // Debug build, other tests running beside: still far below a second.
        assert!(took < Duration::from_millis(500), "{took:?}");
        check_any(&text);
        assert_eq!(c.diagnostics.len(), 1, "{}", c.render_diagnostics());
        assert_eq!(c.diagnostics[0].rule.id(), "yaml-syntax");
    }
}

/// Catalogs that are large in one direction: validation must stay close to
/// linear (these took minutes when duplicate checks, cycle search and
/// did-you-mean were quadratic or worse). Timing each shape at two sizes and
/// comparing keeps the check meaningful on a loaded machine: 4x the input may
/// take about 4x the time, not 16x.
#[test]
fn large_hostile_catalogs_stay_linear() {
    const HEAD: &str = "events:\n  a.b.created:\n    description: d\n    aggregate: A\n    aggregate_id: f0\n    payload:\n      f0: string\n";
    type Shape = (&'static str, fn(usize) -> String);
    let shapes: Vec<Shape> = vec![
        ("enum values", |n| {
            let values: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
            format!(
                "types:\n  E:\n    description: d\n    enum: [{}]\n",
                values.join(",")
            )
        }),
        ("payload fields", |n| {
            let mut s = HEAD.to_string();
            for i in 1..n {
                s.push_str(&format!("      f{i}: string\n"));
            }
            s
        }),
        ("unknown types among many types", |n| {
            let mut s = String::from("types:\n");
            for i in 0..n / 2 {
                s.push_str(&format!("  Typ{i}:\n    description: d\n    enum: [a]\n"));
            }
            s.push_str(HEAD);
            for i in 0..n / 2 {
                s.push_str(&format!("      g{i}: Tpy{i}\n"));
            }
            s
        }),
        ("example with many unknown fields", |n| {
            let mut s = HEAD.to_string();
            for i in 1..n / 2 {
                s.push_str(&format!("      f{i}: string?\n"));
            }
            s.push_str("    examples:\n      - f0: x\n");
            for i in 0..n / 2 {
                s.push_str(&format!("        g{i}: x\n"));
            }
            s
        }),
        ("handlers", |n| {
            let mut s = HEAD.to_string();
            s.push_str("    handlers:\n");
            for i in 0..n {
                s.push_str(&format!("      - a.h{i}\n"));
            }
            s
        }),
        ("types with many long cycles", |n| {
            let mut s = String::from("types:\n");
            for i in 0..n / 2 {
                s.push_str(&format!(
                    "  T{i}:\n    description: d\n    fields:\n      next: T{}\n      back: T0\n",
                    (i + 1) % (n / 2)
                ));
            }
            s
        }),
        ("a chain of struct types", |n| {
            let mut s = String::from("types:\n");
            for i in 0..n {
                s.push_str(&format!(
                    "  T{i}:\n    description: d\n    fields:\n      next: T{}\n",
                    i + 1
                ));
            }
            s.push_str(&format!("  T{n}:\n    description: d\n    enum: [a]\n"));
            s
        }),
    ];
    // The fastest of three runs, to keep noise from other tests out (quadratic
    // growth is 16x for 4x the input; the bound allows 8x).
    let time = |text: &str| {
        (0..3)
            .map(|_| {
                let t = Instant::now();
                let c = compile_str("big.yaml", text);
                assert!(c.diagnostics.iter().all(|d| d.location.is_some()));
                t.elapsed()
            })
            .min()
            .unwrap()
    };
    for (what, make) in shapes {
        let small = time(&make(600));
        let large = time(&make(2400));
        assert!(
            large < small * 8 + Duration::from_millis(30),
            "{what}: {small:?} for 600, {large:?} for 2400 (quadratic?)"
        );
    }
}

/// A YAML double-quoted scalar holding exactly `s` (every character outside
/// printable ASCII escaped, so the YAML itself is always valid).
fn yaml_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

fn free_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,30}",
        Just("*/ /* \" \\ \r \n\r\n \u{0} \u{202e} \u{2028} {} #[doc] r#\"".to_string()),
        Just("line one\rline two".to_string()),
        Just("ends with a backslash \\".to_string()),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    /// Descriptions, the catalog name and enum values are free text that the
    /// emitter puts into doc comments and string literals: whatever they hold,
    /// the expansion stays valid Rust (as text, as the macro hands it to rustc).
    #[test]
    fn free_text_never_breaks_the_expansion(
        catalog in free_text(),
        event_doc in free_text(),
        type_doc in free_text(),
        field_doc in free_text(),
        value in free_text(),
    ) {
        let yaml = format!(
            "catalog: {}\ntypes:\n  Kind:\n    description: {}\n    enum: [{}, plain]\nevents:\n  a.b.created:\n    description: {}\n    aggregate: A\n    aggregate_id: id\n    payload:\n      id: string\n      kind: Kind\n      note:\n        type: string?\n        description: {}\n",
            yaml_quoted(&catalog),
            yaml_quoted(&type_doc),
            yaml_quoted(&value),
            yaml_quoted(&event_doc),
            yaml_quoted(&field_doc),
        );
        let c = check_any(&yaml);
        let source = emit::rust::emit_source(&c.catalog, &Settings::default(), &[]);
        if let Err(e) = syn::parse_file(&source) {
            panic!("emit_source does not parse: {e}\n{source}\n\ninput:\n{yaml}");
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// The fast path for catalog-shaped YAML gives exactly what the full parser
    /// gives, also on characters YAML forbids (controls, DEL, BOM) and odd
    /// line breaks.
    #[test]
    fn fast_path_agrees_with_the_full_parser(
        s in "([a-z_.]{1,6}|[ \\n\\r\\t:\\-\\[\\],#'\"0-9]|\u{0}|\u{1}|\u{7f}|\u{85}|\u{9f}|\u{feff}|\u{fffe}|\u{a0}|é){0,60}",
        line in 0usize..60,
        c in "[\u{0}\u{1}\u{8}\u{b}\u{7f}\u{85}\u{9f}\u{feff}\u{ffff}\r]",
    ) {
        let sources = Sources::single("d.yaml", s.as_str());
        prop_assert_eq!(yaml::parse(&sources, 0), yaml::parse_full(&sources, 0), "input {:?}", s);
        // The same character put into a catalog line.
        let mut lines: Vec<String> = VALID.lines().map(str::to_string).collect();
        let i = line % lines.len();
        let at = lines[i].len() / 2;
        let at = (0..=at).rev().find(|&k| lines[i].is_char_boundary(k)).unwrap_or(0);
        lines[i].insert_str(at, &c);
        let text = lines.join("\n");
        let sources = Sources::single("d.yaml", text.as_str());
        prop_assert_eq!(yaml::parse(&sources, 0), yaml::parse_full(&sources, 0), "input {:?}", text);
    }
}
