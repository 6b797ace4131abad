//! Diagnostics stay printable and small whatever the catalog holds: a column
//! past 65,535, a 200 KB line or key, terminal escape sequences in names.

use proptest::prelude::*;
use skillcore_events_codegen::compile_str;
use skillcore_events_codegen::diag::{Diagnostic, Location, Rule, Style, SNIPPET_CHARS};

/// The probe's case: a flow-style file whose error sits past column 65,535.
#[test]
fn an_error_past_column_65535_renders_a_clipped_snippet() {
    let text = format!("{{events: {{}},{}bogus: 1}}\n", " ".repeat(70_000));
    let c = compile_str("c.yaml", &text);
    let d = c
        .diagnostics
        .iter()
        .find(|d| d.rule == Rule::UnknownKey)
        .unwrap_or_else(|| panic!("{:?}", c.diagnostics));
    let loc = d.location.as_ref().unwrap();
    assert_eq!((loc.line, loc.column), (1, 70_013), "{d:?}");
    // Held in memory as a window, not the whole line.
    assert!(
        loc.source_line.chars().count() <= 2 * SNIPPET_CHARS,
        "{}",
        loc.source_line.len()
    );
    for style in [Style::plain(), Style::ansi()] {
        let shown = d.render_with(&style);
        assert!(shown.len() < 1_000, "{} bytes", shown.len());
    }
    let shown = d.render();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(
        lines[0], "c.yaml:1:70013: error[unknown-key]: unknown key `bogus` in the catalog",
        "{shown}"
    );
    // The source line, cut on both sides, and the caret under `bogus`.
    let src = lines[2].strip_prefix("1 | ").unwrap();
    assert!(
        src.starts_with('…') && src.ends_with("bogus: 1}"),
        "{src:?}"
    );
    let caret = lines[3].strip_prefix("  | ").unwrap();
    let at = caret.find('^').unwrap();
    assert_eq!(
        &src.chars().skip(at).take(5).collect::<String>(),
        "bogus",
        "{shown}"
    );
    assert_eq!(caret.trim_start(), "^^^^^", "{shown}");
    // JSON consumers get the real column.
    assert_eq!(loc.column, 70_013);
}

#[test]
fn a_200_kb_line_is_not_echoed() {
    // 100k `[`: the nesting error on a 200 KB line.
    let text = format!("events: {}\n", "[".repeat(100_000));
    let c = compile_str("deep.yaml", &text);
    assert!(!c.diagnostics.is_empty());
    for d in &c.diagnostics {
        let shown = d.render();
        assert!(
            shown.len() < 1_500,
            "{} bytes: {}",
            shown.len(),
            &shown[..300]
        );
        if let Some(l) = &d.location {
            assert!(
                l.source_line.len() <= 4 * 2 * SNIPPET_CHARS,
                "{}",
                l.source_line.len()
            );
        }
    }
}

#[test]
fn a_huge_key_is_quoted_as_a_bounded_prefix() {
    let key = "k".repeat(200_000);
    let text = format!("events:\n  a.b.posted:\n    description: d\n    aggregate: B\n    aggregate_id: id\n    payload:\n      id: string\n    {key}: 1\n");
    let c = compile_str("k.yaml", &text);
    let d = c
        .diagnostics
        .iter()
        .find(|d| d.rule == Rule::UnknownKey)
        .unwrap_or_else(|| panic!("{:?}", c.diagnostics));
    assert!(d.message.len() < 300, "{} bytes", d.message.len());
    assert!(
        d.message.contains(&format!("`{}…`", "k".repeat(79))),
        "{}",
        d.message
    );
    assert!(d.render().len() < 1_500);
}

#[test]
fn terminal_escapes_in_the_catalog_are_rendered_escaped() {
    // A double-quoted YAML scalar can hold ESC and BEL: here as an unknown
    // key, whose message quotes it, and in the source line of the snippet.
    let text = "events: {}\n\"x\\e]0;PWNED\\a\\e[2J\": 1\n\"y\u{9b}2J\": 2\n";
    let c = compile_str("esc.yaml", text);
    assert!(!c.diagnostics.is_empty(), "an unknown key");
    let all = skillcore_events_codegen::diag::render_all(&c.diagnostics, &Style::plain());
    assert!(
        !all.contains('\u{1b}') && !all.contains('\u{7}') && !all.contains('\u{9b}'),
        "{all:?}"
    );
    assert!(all.contains(r"x\u{1b}]0;PWNED\u{7}\u{1b}[2J"), "{all}");
    // With colours on, the only ESC bytes are the style's own.
    let coloured = skillcore_events_codegen::diag::render_all(&c.diagnostics, &Style::ansi());
    assert!(!coloured.contains("\u{1b}]"), "{coloured:?}");
}

fn location(line: String, column: u32, len: u32, skip: u32) -> Location {
    Location {
        file: "f.yaml".into(),
        line: 7,
        column,
        len,
        source_line: line,
        source_skip: skip,
        source_more: false,
    }
}

fn diag(loc: Location, message: String) -> Diagnostic {
    Diagnostic {
        rule: Rule::YamlSyntax,
        location: Some(loc),
        message,
        help: Some("h".into()),
        notes: vec![],
    }
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Any line, column and length: no panic, bounded output, no raw control
    /// character, and the caret under the column's character.
    #[test]
    fn the_renderer_is_total_and_bounded(
        unit in prop::sample::select(vec!["a", " ", "\t", "é", "\u{1b}", "\u{9b}", "漢", "\r"]),
        repeat in 0usize..200_000,
        column in 0u32..=u32::MAX,
        len in 0u32..=u32::MAX,
        skip in 0u32..1000,
        message in ".{0,3000}",
    ) {
        let line = unit.repeat(repeat);
        let d = diag(location(line, column, len, skip), message);
        let shown = d.render();
        prop_assert!(shown.len() < 8_000, "{} bytes", shown.len());
        let bad: Vec<char> = shown.chars().filter(|&c| c != '\n' && skillcore_events_codegen::text::needs_escape(c)).collect();
        prop_assert!(bad.is_empty(), "{bad:?}");
        prop_assert!(!d.render_with(&Style::ansi()).is_empty());
        let _ = d.headline();
        let _ = d.clone().bounded();
    }

    /// On a long plain line, the caret points at the character of the column.
    #[test]
    fn the_caret_points_at_the_column(prefix in 0usize..100_000, suffix in 0usize..100_000) {
        let line = format!("{}X{}", "a".repeat(prefix), "b".repeat(suffix));
        let column = prefix as u32 + 1;
        let d = diag(location(line, column, 1, 0), "m".into());
        let shown = d.render();
        let lines: Vec<&str> = shown.lines().collect();
        let src: Vec<char> = lines[2].strip_prefix("7 | ").unwrap().chars().collect();
        let caret = lines[3].strip_prefix("  | ").unwrap();
        let at = caret.find('^').unwrap();
        prop_assert_eq!(src[at], 'X', "{}", shown);
        prop_assert!(src.len() <= SNIPPET_CHARS + 2);
    }
}
