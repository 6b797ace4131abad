//! Peak heap of each compiler stage on one catalog file, measured with a
//! counting allocator (see docs/performance.md, "Catalog size and memory").
//!
//! ```sh
//! cargo run --release -p skillcore-events-codegen --example parse_memory -- big.yaml
//! ```

use skillcore_events_codegen::{ast, source::Sources, validate, yaml};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = LIVE.fetch_add(l.size(), Relaxed) + l.size();
        PEAK.fetch_max(now, Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Relaxed);
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn mib(n: usize) -> String {
    format!("{:.1} MiB", n as f64 / 1048576.0)
}

fn main() {
    let path = std::env::args().nth(1).expect("a catalog file");
    let p = std::path::Path::new(&path);
    let sources = Sources::read(p, p.parent().unwrap()).expect("readable");
    let bytes = sources.files[0].text.len();
    println!("file: {}", mib(bytes));
    println!("read: live {}", mib(LIVE.load(Relaxed)));
    let root = yaml::parse(&sources, 0)
        .expect("parses")
        .expect("not empty");
    println!(
        "tree: live {} (peak {})",
        mib(LIVE.load(Relaxed)),
        mib(PEAK.load(Relaxed))
    );
    let mut diags = Vec::new();
    let raw = ast::read_file(&sources, &root, &mut diags);
    println!(
        "ast: live {} (peak {})",
        mib(LIVE.load(Relaxed)),
        mib(PEAK.load(Relaxed))
    );
    // What `compile_sources` does: the tree goes once its syntax is read.
    drop(root);
    println!("tree dropped: live {}", mib(LIVE.load(Relaxed)));
    let (catalog, found) = validate::build(&sources, std::slice::from_ref(&raw), "big");
    println!(
        "model: live {} (peak {}), {} events, {} diagnostics",
        mib(LIVE.load(Relaxed)),
        mib(PEAK.load(Relaxed)),
        catalog.events.len(),
        found.len() + diags.len()
    );
    let peak = PEAK.load(Relaxed);
    println!("peak heap / file size: {:.1}x", peak as f64 / bytes as f64);
}
