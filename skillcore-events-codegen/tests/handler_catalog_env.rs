//! `SKILLCORE_EVENTS_CATALOG` names the catalog of every `#[handler("event")]`
//! of a crate: over the Cargo.toml metadata key, under `catalog = "…"` on the
//! attribute, relative to the manifest directory; a missing file names the
//! variable. One test, alone in its binary: the variable is process-wide.

use skillcore_events_codegen::handler::expand;

const EVENTS: &str = "events:\n  gradebook.grade.posted:\n    description: Posted\n    aggregate: Result\n    aggregate_id: resultId\n    payload:\n      resultId: string\n";

const GOOD: &str = "async fn update_gpa(event: &Envelope<gradebook::GradePosted>) -> Result<(), HandlerError> { Ok(()) }";

#[test]
fn the_environment_variable_names_the_catalog() {
    let d = std::env::temp_dir().join(format!("skc-hcat-env-{}", std::process::id()));
    std::fs::create_dir_all(d.join("from_env")).unwrap();
    std::fs::write(
        d.join("Cargo.toml"),
        "[package]\nname = \"app\"\n\n[package.metadata.skillcore-events]\ncatalog = \"meta/nowhere.yaml\"\n",
    )
    .unwrap();
    std::fs::write(d.join("from_env/events.yaml"), EVENTS).unwrap();
    let run =
        |args: &str| expand(args.parse().unwrap(), GOOD.parse().unwrap(), Some(&d)).to_string();

    // Unset: the metadata key's (missing) file.
    std::env::remove_var("SKILLCORE_EVENTS_CATALOG");
    let out = run(r#""gradebook.grade.posted""#);
    assert!(out.contains("meta/nowhere.yaml"), "{out}");

    // Set, relative to the manifest directory: it wins over the key.
    std::env::set_var("SKILLCORE_EVENTS_CATALOG", "from_env");
    let out = run(r#""gradebook.grade.posted""#);
    assert!(!out.contains("compile_error"), "{out}");
    assert!(
        out.contains("option_env ! (\"SKILLCORE_EVENTS_CATALOG\")"),
        "the variable is a tracked build input: {out}"
    );

    // The attribute wins over the variable.
    let out = run(r#""gradebook.grade.posted", catalog = "from_env/events.yaml""#);
    assert!(!out.contains("compile_error"), "{out}");
    assert!(!out.contains("option_env"), "{out}");

    // A missing file names the variable and its value.
    std::env::set_var("SKILLCORE_EVENTS_CATALOG", "env/nowhere");
    let out = run(r#""gradebook.grade.posted""#);
    assert!(out.contains("cannot read catalog `env/nowhere`"), "{out}");
    assert!(
        out.contains("the path comes from the `SKILLCORE_EVENTS_CATALOG` environment variable (`env/nowhere`)"),
        "{out}"
    );
    assert!(out.contains(".cargo/config.toml"), "{out}");

    // An absolute path is used as it is.
    let abs = d.join("from_env/events.yaml");
    std::env::set_var("SKILLCORE_EVENTS_CATALOG", &abs);
    let out = run(r#""gradebook.grade.posted""#);
    assert!(!out.contains("compile_error"), "{out}");

    // Empty counts as unset.
    std::env::set_var("SKILLCORE_EVENTS_CATALOG", "");
    let out = run(r#""gradebook.grade.posted""#);
    assert!(out.contains("meta/nowhere.yaml"), "{out}");

    std::env::remove_var("SKILLCORE_EVENTS_CATALOG");
    let _ = std::fs::remove_dir_all(&d);
}
