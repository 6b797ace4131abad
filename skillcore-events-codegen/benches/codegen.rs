//! Criterion benchmarks of the catalog compiler on a generated 208-event catalog
//! (the original system had 208 event types):
//!
//! ```sh
//! cargo bench -p skillcore-events-codegen
//! ```

use criterion::{criterion_group, criterion_main, Criterion};
use skillcore_events_codegen::{compile_str, emit, load, Settings};
use std::hint::black_box;
use std::path::Path;

const BIG: &str = include_str!("../../tests/fixtures/big208.yaml");

fn benches(c: &mut Criterion) {
    let compiled = compile_str("big208.yaml", BIG);
    assert!(compiled.is_ok(), "{}", compiled.render_diagnostics());
    assert_eq!(compiled.catalog.events.len(), 208);
    let settings = Settings::default();

    c.bench_function("parse+validate 208 events", |b| {
        b.iter(|| compile_str("big208.yaml", black_box(BIG)))
    });
    // What the macro does: the expansion is source text that rustc lexes itself.
    c.bench_function("parse+validate+expand 208 events", |b| {
        b.iter(|| {
            let compiled = compile_str("big208.yaml", black_box(BIG));
            emit::rust::emit_source(&compiled.catalog, &settings, &[])
        })
    });

    // What a second macro invocation (or a handler attribute) pays: the cache
    // checks the file's size and mtime, then looks the event up.
    let dir = std::env::temp_dir().join(format!("skc-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("big208.yaml");
    std::fs::write(&file, BIG).expect("write fixture");
    let name = compiled.catalog.events[103].name.clone();
    assert!(load(&file, &dir).catalog.event(&name).is_some());
    c.bench_function("cached lookup of one event by name", |b| {
        b.iter(|| {
            let compiled = load(black_box(&file), Path::new(&dir));
            compiled.catalog.event(black_box(&name)).map(|e| e.version)
        })
    });
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(codegen, benches);
criterion_main!(codegen);
