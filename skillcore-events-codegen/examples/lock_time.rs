//! Where the lock's cost goes on the 208-event fixture with two released
//! versions per event (the codegen bench's case), per stage, median of 21:
//! `cargo run --release -p skillcore-events-codegen --example lock_time`
//! (add `--profile dev` for opt-level 0).
//!
//! `lock_time loop N` runs only the lock's two stages (read the lock, check
//! the catalog against it) `N` times and prints nothing else: for instruction
//! counts (`valgrind --tool=callgrind`, `loop 0` against `loop 20`) and
//! `perf record`, which a shared machine's load does not skew.

use skillcore_events_codegen::evolution::{check, relock, EventShape, FieldShape, Lock};
use skillcore_events_codegen::model::{BaseType, TypeRef};
use skillcore_events_codegen::{compile_str, emit, Settings};
use std::time::Instant;

const BIG: &str = include_str!("../../tests/fixtures/big208.yaml");

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let mut v2 = String::new();
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
    let mut lock = relock(None, &compiled.catalog);
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
    println!(
        "lock: {} bytes, catalog: {} bytes; fast YAML path: lock {}, catalog {}",
        text.len(),
        v2.len(),
        fast_path_takes(&text),
        fast_path_takes(&v2)
    );
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("loop") {
        let n: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(20);
        for _ in 0..n {
            let lock = Lock::parse("big208.lock", std::hint::black_box(&text)).unwrap();
            let found = check(&compiled.catalog, &compiled.sources, &lock);
            assert!(std::hint::black_box(found).is_empty());
        }
        return;
    }
    let settings = Settings::default();
    let (mut c, mut p, mut k, mut e0, mut e1) = (vec![], vec![], vec![], vec![], vec![]);
    let mut y = vec![];
    for _ in 0..21 {
        let t = Instant::now();
        let compiled = compile_str("big208.yaml", &v2);
        c.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let lock = Lock::parse("big208.lock", &text).unwrap();
        p.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let by_yaml = Lock::parse_yaml("big208.lock", &text).unwrap();
        y.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(by_yaml.events, lock.events);
        let t = Instant::now();
        assert!(check(&compiled.catalog, &compiled.sources, &lock).is_empty());
        k.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let a = emit::rust::emit_source(&compiled.catalog, &settings, &[]);
        e0.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let b = emit::rust::emit_source_locked(&compiled.catalog, Some(&lock), &settings, &[]);
        e1.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(b.len() > a.len());
    }
    println!(
        "parse+validate {:.2} ms; lock parse {:.2} ms (YAML reader {:.2} ms); check {:.2} ms; expand {:.2} ms without the lock, {:.2} ms with it",
        median(c), median(p), median(y), median(k), median(e0), median(e1)
    );
}

#[allow(dead_code)]
fn fast_path_takes(text: &str) -> bool {
    skillcore_events_codegen::yaml_fast::parse(text, 0).is_some()
}
