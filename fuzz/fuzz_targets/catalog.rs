//! The catalog compiler on arbitrary bytes: parse (fast path and full YAML
//! parser), syntax, validation, the diagnostic renderer (plain, ANSI, JSON) and,
//! for valid catalogs, the emitters. A byte 0xFF (never in UTF-8) splits the
//! input into several files of one catalog.
//!
//! Properties: no panic; every location inside the file; rendered text holds
//! no raw control character and no line longer than the bounds promise; the
//! JSON form of every diagnostic reads back equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use skillcore_events_codegen::diag::{render_all, Diagnostic, Style};
use skillcore_events_codegen::emit::{asyncapi, schema};
use skillcore_events_codegen::source::{SourceFile, Sources};
use skillcore_events_codegen::text::needs_escape;
use skillcore_events_codegen::{compile_sources, Settings};

/// Longest rendered line: a 1,000-character message whose every character is
/// escaped to at most 10 (`\u{10ffff}`), plus the headline's prefix.
const MAX_LINE_CHARS: usize = 10 * 1_000 + 200;

fn check_rendered(d: &Diagnostic, text: &str) {
    assert!(
        !text.chars().any(|c| c != '\n' && needs_escape(c)),
        "raw control character in {text:?}"
    );
    for line in text.lines() {
        assert!(
            line.chars().count() <= MAX_LINE_CHARS,
            "a {}-character line in {d:?}",
            line.chars().count()
        );
    }
}

fn diagnostic_json(d: &Diagnostic) -> serde_json::Value {
    let loc = d.location.as_ref();
    json!({
        "rule": d.rule.id(),
        "message": d.message,
        "file": loc.map(|l| l.file.clone()),
        "line": loc.map(|l| l.line),
        "column": loc.map(|l| l.column),
        "help": d.help,
        "notes": d.notes.iter().map(|(at, n)| json!({"message": n, "file": at.file, "line": at.line, "column": at.column})).collect::<Vec<_>>(),
    })
}

fuzz_target!(|data: &[u8]| {
    let parts: Vec<String> = data
        .split(|&b| b == 0xff)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    let files: Vec<SourceFile> = parts
        .iter()
        .enumerate()
        .map(|(i, t)| SourceFile::new(format!("f{i}.yaml"), format!("f{i}.yaml"), t.clone()))
        .collect();
    let compiled = compile_sources(Sources { files }, "fuzz");
    for d in &compiled.diagnostics {
        let mut locs: Vec<_> = d.notes.iter().map(|(l, _)| l).collect();
        locs.extend(d.location.as_ref());
        for l in locs {
            let i: usize = l
                .file
                .trim_start_matches('f')
                .trim_end_matches(".yaml")
                .parse()
                .expect("a file of the catalog");
            let lines = parts[i].split('\n').count() as u32;
            assert!(
                l.line >= 1 && l.line <= lines + 1,
                "line {} of {lines} in {d:?}",
                l.line
            );
            assert!(l.column >= 1, "{d:?}");
        }
        assert!(
            d.message.chars().count() <= 1_000,
            "unbounded message {d:?}"
        );
        let plain = d.render();
        check_rendered(d, &plain);
        check_rendered(d, &d.headline());
        let ansi = d.render_with(&Style::ansi());
        assert!(ansi.len() >= plain.len());
        let j = diagnostic_json(d);
        let back: serde_json::Value = serde_json::from_str(&j.to_string()).expect("valid JSON");
        assert_eq!(back, j);
    }
    let all = render_all(&compiled.diagnostics, &Style::plain());
    assert!(all.ends_with(&format!(
        "the catalog has {} error{}",
        compiled.diagnostics.len(),
        if compiled.diagnostics.len() == 1 {
            ""
        } else {
            "s"
        }
    )));
    if compiled.is_ok() {
        let settings = Settings::default();
        for (name, text) in schema::export(&compiled.catalog, &settings) {
            let v: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(v.is_object());
        }
        let api = asyncapi::render(&compiled.catalog, &settings, asyncapi::Format::Json);
        let _: serde_json::Value = serde_json::from_str(&api).expect("AsyncAPI JSON parses");
        let _ = asyncapi::render(&compiled.catalog, &settings, asyncapi::Format::Yaml);
    }
});
