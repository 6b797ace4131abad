//! One dependency, with features (issue 14 §2): what a service compiles is
//! what its features ask for. `cargo tree` of the `skillcore-events` crate,
//! as a service depending on it with each feature set would build it: the
//! SQLite feature brings no PostgreSQL driver, the PostgreSQL feature no
//! SQLite, and no feature no database driver at all.

use std::process::Command;

/// The packages `skillcore-events` builds with `features` (normal and build
/// dependencies: what a consumer compiles), one name per line.
fn packages(features: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "tree",
        "--offline",
        "-p",
        "skillcore-events",
        "-e",
        "normal,build",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ]);
    if !features.is_empty() {
        cmd.args(["--features", features]);
    }
    let out = cmd
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn has(packages: &[String], name: &str) -> bool {
    packages.iter().any(|p| p == name)
}

#[test]
fn sqlite_compiles_no_postgres_driver() {
    let p = packages("sqlite");
    assert!(
        has(&p, "skillcore-events-store"),
        "the store is missing: {p:?}"
    );
    assert!(has(&p, "sqlx-sqlite") && has(&p, "libsqlite3-sys"), "{p:?}");
    assert!(
        !has(&p, "sqlx-postgres"),
        "sqlite pulled in PostgreSQL: {p:?}"
    );
}

#[test]
fn postgres_compiles_no_sqlite() {
    let p = packages("postgres");
    assert!(
        has(&p, "skillcore-events-store") && has(&p, "sqlx-postgres"),
        "{p:?}"
    );
    assert!(
        !has(&p, "sqlx-sqlite") && !has(&p, "libsqlite3-sys"),
        "postgres pulled in SQLite: {p:?}"
    );
}

#[test]
fn no_feature_compiles_no_database_driver() {
    let p = packages("");
    assert!(has(&p, "skillcore-events-core"), "{p:?}");
    for driver in [
        "skillcore-events-store",
        "sqlx",
        "sqlx-core",
        "libsqlite3-sys",
    ] {
        assert!(
            !has(&p, driver),
            "{driver} is built without a feature: {p:?}"
        );
    }
}

#[test]
fn testing_alone_adds_no_store() {
    let p = packages("testing");
    assert!(!has(&p, "skillcore-events-store"), "{p:?}");
    let p = packages("sqlite,testing");
    assert!(
        has(&p, "skillcore-events-store") && !has(&p, "sqlx-postgres"),
        "{p:?}"
    );
}
