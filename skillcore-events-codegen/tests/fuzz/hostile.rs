//! Arbitrary and hostile input: bytes, strings, YAML-shaped noise, alias bombs, deep nesting, large catalogs, free text in every place, the fast YAML path against the full parser.

use super::mutated::VALID;
use super::*;

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
        ("payload fields with defaults", |n| {
            let mut s = HEAD.to_string();
            for i in 1..n {
                s.push_str(&format!(
                    "      f{i}:\n        type: int\n        default: {i}\n"
                ));
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
    // The fastest of five runs of each size, the two sizes alternated, so
    // that a stretch of load from other tests or builds slows both alike
    // (quadratic growth is 16x for 4x the input; the bound allows 8x).
    let time = |text: &str| {
        let t = Instant::now();
        let c = compile_str("big.yaml", text);
        assert!(c.diagnostics.iter().all(|d| d.location.is_some()));
        t.elapsed()
    };
    for (what, make) in shapes {
        let (small_text, large_text) = (make(600), make(2400));
        let (mut small, mut large) = (Duration::MAX, Duration::MAX);
        for _ in 0..5 {
            small = small.min(time(&small_text));
            large = large.min(time(&large_text));
        }
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
