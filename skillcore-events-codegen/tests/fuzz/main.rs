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

mod generated;
mod hostile;
mod mutated;
