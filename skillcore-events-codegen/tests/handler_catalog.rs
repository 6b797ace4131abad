//! Where `#[handler("event")]` finds its catalog when the attribute names
//! none: `[package.metadata.skillcore-events] catalog` in the crate's
//! Cargo.toml, else `catalog`; `catalog = "…"` on the attribute wins over the
//! key. (The environment variable has its own test binary,
//! `handler_catalog_env.rs`, because it is process-wide.) Each case is a
//! scratch crate directory: a Cargo.toml and a catalog.

use skillcore_events_codegen::handler::expand;
use std::path::{Path, PathBuf};

const EVENTS: &str = "events:\n  gradebook.grade.posted:\n    description: Posted\n    aggregate: Result\n    aggregate_id: resultId\n    payload:\n      resultId: string\n";

const GOOD: &str = "async fn update_gpa(event: &Envelope<gradebook::GradePosted>) -> Result<(), HandlerError> { Ok(()) }";

struct Crate(PathBuf);

impl Crate {
    /// A crate directory with `manifest` as its Cargo.toml and the catalog
    /// at `events/school.yaml`.
    fn new(tag: &str, manifest: &str) -> Crate {
        let d = std::env::temp_dir().join(format!("skc-hcat-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(d.join("events")).unwrap();
        std::fs::write(d.join("Cargo.toml"), manifest).unwrap();
        std::fs::write(d.join("events/school.yaml"), EVENTS).unwrap();
        Crate(d)
    }

    fn expand(&self, args: &str) -> String {
        expand(args.parse().unwrap(), GOOD.parse().unwrap(), Some(&self.0)).to_string()
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Crate {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn manifest(metadata: &str) -> String {
    format!("[package]\nname = \"app\"\nversion = \"0.1.0\"\n\n{metadata}")
}

#[test]
fn the_metadata_key_points_every_handler_at_the_catalog() {
    let c = Crate::new(
        "meta",
        &manifest("[package.metadata.skillcore-events]\ncatalog = \"events/school.yaml\"\n"),
    );
    let out = c.expand(r#""gradebook.grade.posted""#);
    assert!(!out.contains("compile_error"), "{out}");
    assert!(
        out.contains("school.yaml"),
        "the catalog file is tracked: {out}"
    );
    // An unknown event is checked against that catalog.
    let out = c.expand(r#""gradebook.grade.postd""#);
    assert!(
        out.contains("did you mean `gradebook.grade.posted`?"),
        "{out}"
    );
}

#[test]
fn a_missing_catalog_from_the_metadata_key_says_so() {
    let c = Crate::new(
        "meta-missing",
        &manifest("[package.metadata.skillcore-events]\ncatalog = \"events/nowhere.yaml\"\n"),
    );
    let out = c.expand(r#""gradebook.grade.posted""#);
    assert!(out.contains("error[catalog-io]"), "{out}");
    assert!(
        out.contains("cannot read catalog `events/nowhere.yaml`"),
        "{out}"
    );
    assert!(
        out.contains("the path comes from `catalog = \\\"events/nowhere.yaml\\\"` under `[package.metadata.skillcore-events]` in Cargo.toml"),
        "{out}"
    );
    assert!(out.contains("fix the path in Cargo.toml"), "{out}");
    assert!(out.contains(&c.path().display().to_string()), "{out}");
}

#[test]
fn a_bad_metadata_key_is_a_compile_error() {
    let c = Crate::new(
        "meta-bad",
        &manifest("[package.metadata.skillcore-events]\ncatalog = [\"a\"]\n"),
    );
    let out = c.expand(r#""gradebook.grade.posted""#);
    assert!(out.contains("error[catalog-io]"), "{out}");
    assert!(out.contains("that is an array, not a path string"), "{out}");
    // Without an event name no catalog is read, so the key does not matter.
    let out = c.expand("");
    assert!(!out.contains("compile_error"), "{out}");
}

#[test]
fn the_attribute_wins_over_the_metadata_key() {
    let c = Crate::new(
        "attr",
        &manifest("[package.metadata.skillcore-events]\ncatalog = \"events/nowhere.yaml\"\n"),
    );
    let out = c.expand(r#""gradebook.grade.posted", catalog = "events/school.yaml""#);
    assert!(!out.contains("compile_error"), "{out}");
    let out = c.expand(r#""gradebook.grade.posted", catalog = "events/gone.yaml""#);
    assert!(
        out.contains("cannot read catalog `events/gone.yaml`"),
        "{out}"
    );
    assert!(
        out.contains("the path comes from `catalog = \\\"events/gone.yaml\\\"` on the attribute"),
        "{out}"
    );
}

#[test]
fn without_a_source_the_default_is_named_with_every_way_to_set_one() {
    let c = Crate::new("default", &manifest(""));
    let out = c.expand(r#""gradebook.grade.posted""#);
    assert!(out.contains("cannot read catalog `catalog`"), "{out}");
    assert!(
        out.contains("the path comes from the default `catalog`"),
        "{out}"
    );
    assert!(out.contains("SKILLCORE_EVENTS_CATALOG"), "{out}");
    assert!(out.contains("[package.metadata.skillcore-events]"), "{out}");
    // A `catalog` directory next to Cargo.toml is found with no setting at all.
    std::fs::create_dir_all(c.path().join("catalog")).unwrap();
    std::fs::write(c.path().join("catalog/events.yaml"), EVENTS).unwrap();
    let out = c.expand(r#""gradebook.grade.posted""#);
    assert!(!out.contains("compile_error"), "{out}");
}
