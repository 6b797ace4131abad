//! Prints what `catalog!` expands to for a catalog, formatted, like `cargo expand`:
//!
//! ```sh
//! cargo run -p skillcore-events-codegen --example expand -- catalog > expanded.rs
//! ```
//!
//! Diagnostics go to stderr; the exit code is 1 when the catalog has errors.

use skillcore_events_codegen::{emit, load, Settings};
use std::path::Path;

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| "catalog".into());
    let compiled = load(Path::new(&path), Path::new("."));
    if !compiled.is_ok() {
        eprintln!("{}", compiled.render_diagnostics());
    }
    let tokens = emit::rust::emit(&compiled.catalog, &Settings::default(), &[]);
    match syn::parse2::<syn::File>(tokens) {
        Ok(file) => print!("{}", prettyplease::unparse(&file)),
        Err(e) => {
            eprintln!("generated code does not parse: {e}");
            std::process::exit(2);
        }
    }
    if !compiled.is_ok() {
        std::process::exit(1);
    }
}
