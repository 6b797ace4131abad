//! Reading a catalog from disk: only regular files, never more than the
//! limits, and every entry that looks like a catalog file either read or
//! reported.

// A `Diagnostic` is large; the error path of a test helper does not matter.
#![allow(clippy::result_large_err)]

use skillcore_events_codegen::diag::Rule;
use skillcore_events_codegen::source::{BaseDir, Sources, MAX_CATALOG_BYTES, MAX_FILE_BYTES};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

const ONE: &str = "events:\n  a.b.posted:\n    description: d\n    aggregate: B\n    aggregate_id: id\n    payload:\n      id: string\n";

fn temp_dir(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "skillcore-reading-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `Sources::read` on another thread, failing the test instead of hanging
/// (today's code blocked forever on a FIFO).
fn read_within(path: &Path, base: &Path) -> Result<Sources, skillcore_events_codegen::Diagnostic> {
    let (tx, rx) = mpsc::channel();
    let (p, b) = (path.to_path_buf(), base.to_path_buf());
    std::thread::spawn(move || {
        let _ = tx.send(Sources::read(&p, &b));
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("reading the catalog must not block")
}

fn mkfifo(p: &Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(p)
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let base = temp_dir("fifo");
    let fifo = base.join("fifo.yaml");
    mkfifo(&fifo);
    let err = read_within(&fifo, &base).unwrap_err();
    assert_eq!(err.rule, Rule::CatalogIo);
    assert_eq!(
        err.message,
        "`fifo.yaml` is not a regular file (a FIFO, socket or device?); catalogs are read from files only"
    );
    // Inside a directory too, beside a good file.
    std::fs::write(base.join("good.yaml"), ONE).unwrap();
    let err = read_within(&base, &base).unwrap_err();
    assert!(
        err.message.starts_with("`fifo.yaml` is not a regular file"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn a_device_is_refused() {
    let err = read_within(Path::new("/dev/zero"), Path::new("/")).unwrap_err();
    assert_eq!(err.rule, Rule::CatalogIo);
    assert!(
        err.message.starts_with("`dev/zero` is not a regular file"),
        "{err}"
    );
}

#[test]
fn an_over_limit_file_is_refused_before_it_is_read() {
    let base = temp_dir("big");
    let f = std::fs::File::create(base.join("big.yaml")).unwrap();
    // Sparse: no disk space used.
    f.set_len(MAX_FILE_BYTES as u64 + 1).unwrap();
    let err = read_within(&base.join("big.yaml"), &base).unwrap_err();
    assert_eq!(err.rule, Rule::CatalogIo);
    assert_eq!(
        err.message,
        format!(
            "`big.yaml` holds {} bytes; one catalog file is limited to 16 MiB ({MAX_FILE_BYTES} bytes)",
            MAX_FILE_BYTES + 1
        )
    );
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn a_directory_over_the_catalog_limit_is_refused_naming_total_and_limit() {
    let base = temp_dir("total");
    let each = 15 * 1024 * 1024u64;
    for i in 0..3 {
        let f = std::fs::File::create(base.join(format!("part{i}.yaml"))).unwrap();
        f.set_len(each).unwrap();
    }
    let err = read_within(&base, &base).unwrap_err();
    assert_eq!(err.rule, Rule::CatalogIo);
    assert_eq!(
        err.message,
        format!(
            "catalog `.` holds {} bytes of `*.yaml` files; a whole catalog is limited to 32 MiB ({MAX_CATALOG_BYTES} bytes)",
            3 * each
        )
    );
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn dangling_and_looping_symlinks_are_reported_not_skipped() {
    let base = temp_dir("links");
    std::fs::write(base.join("good.yaml"), ONE).unwrap();
    std::os::unix::fs::symlink("loop.yaml", base.join("loop.yaml")).unwrap();
    let err = read_within(&base, &base).unwrap_err();
    assert_eq!(err.rule, Rule::CatalogIo);
    assert!(
        err.message.starts_with("cannot read `loop.yaml`: "),
        "{err}"
    );
    assert_eq!(
        err.help.as_deref(),
        Some("`loop.yaml` is a symbolic link to `loop.yaml`, which cannot be followed (missing, or a loop); fix or remove the link")
    );
    std::fs::remove_file(base.join("loop.yaml")).unwrap();
    std::os::unix::fs::symlink("gone.yaml", base.join("dangling.yaml")).unwrap();
    let err = read_within(&base, &base).unwrap_err();
    assert_eq!(
        err.message,
        "cannot read `dangling.yaml`: no such file or directory"
    );
    assert!(err.help.unwrap().contains("symbolic link to `gone.yaml`"));
    // A link that resolves is read like a file.
    std::fs::remove_file(base.join("dangling.yaml")).unwrap();
    std::fs::write(
        base.join("other.txt"),
        ONE.replace("a.b.posted", "c.d.marked"),
    )
    .unwrap();
    std::os::unix::fs::symlink("other.txt", base.join("linked.yaml")).unwrap();
    let s = read_within(&base, &base).unwrap();
    assert_eq!(s.files.len(), 2);
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn the_missing_path_help_names_what_the_base_is() {
    let base = temp_dir("base");
    let macro_side = Sources::read(&base.join("nope.yaml"), &base).unwrap_err();
    assert!(macro_side
        .help
        .unwrap()
        .starts_with("paths are relative to the crate's manifest directory"));
    let cli_side =
        Sources::read_from(&base.join("nope.yaml"), &base, BaseDir::WorkingDir).unwrap_err();
    assert_eq!(
        cli_side.help.unwrap(),
        format!(
            "paths are relative to the working directory `{}`; point at a `.yaml` file or a directory of them",
            base.display()
        )
    );
    let _ = std::fs::remove_dir_all(&base);
}
