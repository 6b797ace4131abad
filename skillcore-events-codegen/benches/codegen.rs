//! Criterion benchmarks of the catalog compiler on a generated 208-event catalog
//! (the original system had 208 event types):
//!
//! ```sh
//! cargo bench -p skillcore-events-codegen
//! ```

use criterion::{criterion_group, criterion_main, Criterion};
use skillcore_events_codegen::evolution::{check, EventShape, FieldShape, Lock};
use skillcore_events_codegen::model::{BaseType, TypeRef};
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

    // Issue 13: the same work with a lock of two released versions per event
    // (version 1 had one more optional field; the catalog is at version 2):
    // read the lock, check the catalog against it, expand with the older
    // versions' types and the upcast chains.
    let (v2, lock_text) = two_versions();
    let settings = Settings::default();
    c.bench_function(
        "parse+validate+expand 208 events, lock of 2 versions each",
        |b| {
            b.iter(|| {
                let compiled = compile_str("big208.yaml", black_box(&v2));
                let lock = Lock::parse("big208.lock", black_box(&lock_text)).expect("lock");
                let found = check(&compiled.catalog, &compiled.sources, &lock);
                assert!(found.is_empty());
                emit::rust::emit_source_locked(&compiled.catalog, Some(&lock), &settings, &[])
            })
        },
    );
    c.bench_function(
        "parse+validate+expand 208 events at version 2, no lock",
        |b| {
            b.iter(|| {
                let compiled = compile_str("big208.yaml", black_box(&v2));
                emit::rust::emit_source(&compiled.catalog, &settings, &[])
            })
        },
    );
}

/// The 208-event catalog with every event at version 2, and a lock in which
/// each also has a version 1 with one more optional field.
fn two_versions() -> (String, String) {
    let mut v2 = String::with_capacity(BIG.len() + 208 * 16);
    for line in BIG.lines() {
        if line.starts_with("    version:") {
            continue;
        }
        if line.starts_with("    aggregate:") {
            v2.push_str("    version: 2\n");
        }
        v2.push_str(line);
        v2.push('\n');
    }
    let compiled = compile_str("big208.yaml", &v2);
    assert!(compiled.is_ok(), "{}", compiled.render_diagnostics());
    let mut lock = Lock::of(&compiled.catalog);
    for shapes in lock.events.values_mut() {
        let mut v1: EventShape = shapes[0].clone();
        v1.version = 1;
        v1.fields.push(FieldShape {
            name: "legacyNote".into(),
            ty: TypeRef {
                optional: true,
                ..TypeRef::plain(BaseType::String)
            },
            default: None,
            renamed_from: None,
            pii: false,
            span: v1.span,
        });
        shapes.insert(0, v1);
    }
    let text = lock.render();
    (v2, text)
}

criterion_group!(codegen, benches);
criterion_main!(codegen);
