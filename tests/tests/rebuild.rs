//! Editing the catalog YAML must make cargo rebuild the crate that invokes
//! `catalog!`: this builds a small crate, edits its catalog twice and checks that
//! each edit is picked up (a new event appears; a broken catalog fails the build
//! with the catalog's own error).

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests crate sits in the workspace")
        .to_path_buf()
}

const ONE_EVENT: &str = "events:
  gradebook.grade.posted:
    description: Grade posted
    aggregate: Result
    aggregate_id: resultId
    payload:
      resultId: string
";

fn cargo_run(dir: &Path, target: &Path) -> std::process::Output {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["run", "--quiet", "--offline"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("SKILLCORE_EVENTS_MANIFEST_DIR")
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs")
}

#[test]
fn editing_the_catalog_triggers_a_rebuild() {
    let root = workspace_root();
    let target = root.join("target").join("rebuild-probe");
    let dir = target.join("probe-crate");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let runtime = root.join("skillcore-events");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"rebuild-probe\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dependencies]\nskillcore-events = {{ path = {:?} }}\n\n[workspace]\n",
            runtime.to_string_lossy()
        ),
    )
    .unwrap();
    // The workspace lock file pins the same dependency versions, so the probe
    // builds offline from what the workspace already fetched.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        "mod ev { skillcore_events::catalog!(\"events.yaml\"); }\n\
         fn main() { println!(\"{}\", ev::names::ALL.join(\",\")); }\n",
    )
    .unwrap();
    let catalog = dir.join("events.yaml");

    std::fs::write(&catalog, ONE_EVENT).unwrap();
    let out = cargo_run(&dir, &target);
    assert!(
        out.status.success(),
        "first build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "gradebook.grade.posted"
    );

    // Add an event: only the YAML changes, yet the binary must see it.
    let two = format!(
        "{ONE_EVENT}  attendance.record.marked:\n    description: Marked\n    aggregate: Record\n    aggregate_id: recordId\n    payload:\n      recordId: string\n"
    );
    std::fs::write(&catalog, two).unwrap();
    let out = cargo_run(&dir, &target);
    assert!(
        out.status.success(),
        "second build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "attendance.record.marked,gradebook.grade.posted"
    );

    // Break it: the build must now fail with the catalog's error.
    std::fs::write(&catalog, ONE_EVENT.replace("posted:", "post:")).unwrap();
    let out = cargo_run(&dir, &target);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a broken catalog must fail the build"
    );
    assert!(
        stderr.contains("events.yaml:2:3: error[past-tense]"),
        "unexpected error output:\n{stderr}"
    );
}
