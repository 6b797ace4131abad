//! The generated 208-event catalog: it compiles without a diagnostic, has the
//! promised shape, and the checked-in fixture `tests/fixtures/big208.yaml` is
//! exactly what the generator writes (set `BIG208_WRITE=1` to rewrite it).

#[path = "common/gen208.rs"]
mod gen208;

use skillcore_events_codegen::model::{BaseType, TypeKind};
use skillcore_events_codegen::{compile_str, emit, Settings};
use std::collections::BTreeSet;
use std::path::Path;

fn fixture_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/big208.yaml")
}

#[test]
fn fixture_is_up_to_date() {
    let generated = gen208::big208_yaml();
    let path = fixture_path();
    if std::env::var_os("BIG208_WRITE").is_some() {
        std::fs::write(&path, &generated).expect("write the fixture");
    }
    let on_disk = std::fs::read_to_string(&path).expect("tests/fixtures/big208.yaml exists");
    assert!(
        on_disk == generated,
        "tests/fixtures/big208.yaml differs from the generator's output; \
         run `BIG208_WRITE=1 cargo test -p skillcore-events-codegen --test big208`"
    );
}

#[test]
fn generator_is_deterministic() {
    assert_eq!(gen208::big208_yaml(), gen208::big208_yaml());
}

#[test]
fn big_catalog_compiles_cleanly_with_the_promised_shape() {
    let c = compile_str("big208.yaml", &gen208::big208_yaml());
    assert!(c.is_ok(), "{}", c.render_diagnostics());
    let cat = &c.catalog;
    assert_eq!(cat.events.len(), 208);
    assert_eq!(cat.contexts().len(), 8);
    let mut builtins = BTreeSet::new();
    let mut named = BTreeSet::new();
    let (mut optional, mut lists, mut pii) = (0, 0, 0);
    for e in &cat.events {
        assert!(
            (8..=14).contains(&e.fields.len()),
            "{} has {} fields",
            e.name,
            e.fields.len()
        );
        assert_eq!(e.examples.len(), 1, "{} has one valid example", e.name);
        assert!(e
            .fields
            .iter()
            .any(|f| f.name == "districtID" && f.ident == "district_id"));
        for f in &e.fields {
            match &f.ty.base {
                BaseType::Named(n) => {
                    named.insert(n.clone());
                }
                b => {
                    builtins.insert(b.catalog_name().to_string());
                }
            }
            optional += usize::from(f.ty.optional);
            lists += usize::from(f.ty.list_depth > 0);
            pii += usize::from(f.pii);
        }
    }
    assert_eq!(
        builtins.into_iter().collect::<Vec<_>>(),
        ["bool", "date", "datetime", "int", "json", "number", "string", "uuid"]
    );
    assert_eq!(
        named.into_iter().collect::<Vec<_>>(),
        ["Actor", "Channel", "ContactPoint", "Ordinal", "Severity"]
    );
    assert!(
        optional > 200 && lists > 100 && pii > 50,
        "{optional} {lists} {pii}"
    );
    assert!(cat
        .types
        .iter()
        .any(|t| matches!(t.kind, TypeKind::Struct(_))));
    // Field counts span the whole range.
    let sizes: BTreeSet<usize> = cat.events.iter().map(|e| e.fields.len()).collect();
    assert_eq!(
        sizes.into_iter().collect::<Vec<_>>(),
        (8..=14).collect::<Vec<_>>()
    );
}

#[test]
fn big_catalog_expansion_parses() {
    let c = compile_str("big208.yaml", &gen208::big208_yaml());
    let tokens = emit::rust::emit(&c.catalog, &Settings::default(), &[]);
    let file: syn::File = syn::parse2(tokens).expect("valid Rust");
    // 5 types (+ impls), 8 modules, names, AnyEvent (+ impls), EVENTS, event_info,
    // and the hidden `__skc_fields` module of the struct types' field lists.
    let modules = file
        .items
        .iter()
        .filter(|i| matches!(i, syn::Item::Mod(_)))
        .count();
    assert_eq!(modules, 8 + 2);
}
