//! Times each stage of the compiler separately on one catalog file:
//!
//! ```sh
//! cargo run --release -p skillcore-events-codegen --example stage_time -- tests/fixtures/big208.yaml
//! ```

use skillcore_events_codegen::{ast, emit, validate, yaml, Settings, Sources};
use std::time::Duration;

#[path = "support/cpu_time.rs"]
mod cpu_time;
use cpu_time::Instant;

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tests/fixtures/big208.yaml".into());
    let text = std::fs::read_to_string(&path).expect("readable catalog");
    let runs = 21;
    let mut t = [Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..runs {
        let sources = Sources::single(&path, text.clone());
        let a = Instant::now();
        let root = yaml::parse(&sources, 0)
            .expect("parses")
            .expect("not empty");
        let b = Instant::now();
        let mut diags = Vec::new();
        let raw = ast::read_file(&sources, &root, &mut diags);
        let c = Instant::now();
        let (catalog, d2) = validate::build(&sources, &[raw], "big");
        let d = Instant::now();
        let s = emit::rust::emit_source(&catalog, &Settings::default(), &[]);
        let e = Instant::now();
        // What the macro then does outside rustc: lex the text into tokens.
        let tokens: proc_macro2::TokenStream = s.parse().expect("valid tokens");
        let f = Instant::now();
        assert!(!tokens.is_empty());
        assert!(diags.is_empty() && d2.is_empty() && !s.is_empty());
        for (i, dt) in [b - a, c - b, d - c, e - d, f - e].into_iter().enumerate() {
            t[i].push(dt);
        }
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    for (name, v) in ["yaml", "ast", "validate", "emit_source", "lex (fallback)"]
        .iter()
        .zip(t.iter_mut())
    {
        println!("{name:>10}: {:.2?}", median(v));
    }
}
