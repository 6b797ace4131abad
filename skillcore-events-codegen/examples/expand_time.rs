//! Times parse + validate + expand of a catalog in whatever profile it is built
//! with. `cargo run` builds examples at opt-level 0, which is how cargo builds proc
//! macros by default, so this is the cost the macro adds inside rustc:
//!
//! ```sh
//! cargo run -p skillcore-events-codegen --example expand_time -- tests/fixtures/big208.yaml
//! ```

use skillcore_events_codegen::{compile_str, emit, Settings};
use std::time::Duration;

#[path = "support/cpu_time.rs"]
mod cpu_time;
use cpu_time::Instant;

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tests/fixtures/big208.yaml".into());
    let runs: usize = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(31);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            std::process::exit(2);
        }
    };
    let settings = Settings::default();
    let mut parse_validate = Vec::with_capacity(runs);
    let mut total = Vec::with_capacity(runs);
    let mut wall = Vec::with_capacity(runs);
    let mut events = 0;
    for _ in 0..runs {
        let wall_start = std::time::Instant::now();
        let start = Instant::now();
        let compiled = compile_str(&path, &text);
        let mid = Instant::now();
        // The macro hands this text to rustc, whose (optimized) lexer reads it.
        let rendered = emit::rust::emit_source(&compiled.catalog, &settings, &[]);
        let end = Instant::now();
        wall.push(wall_start.elapsed());
        assert!(compiled.is_ok(), "{}", compiled.render_diagnostics());
        assert!(!rendered.is_empty());
        events = compiled.catalog.events.len();
        parse_validate.push(mid - start);
        total.push(end - start);
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    println!(
        "{events} events, {runs} runs, profile {}: parse+validate median {:.2?}, parse+validate+expand median {:.2?} (min {:.2?})",
        if cfg!(debug_assertions) { "dev (opt-level 0)" } else { "release" },
        median(&mut parse_validate),
        median(&mut total.clone()),
        total.iter().min().expect("at least one run"),
    );
    println!(
        "wall clock: parse+validate+expand median {:.2?} (CPU time above is counted in scheduler ticks; wall time is exact but grows with load)",
        median(&mut wall)
    );
}
