//! Writing generated files: only those whose content changed, or, with `--check`,
//! comparing with what is on disk and naming the files that drifted.

use crate::outcome::{Failure, Outcome, FINDINGS, OK};
use crate::term::escape_line;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

/// A path as printed: control characters in file names escaped.
fn shown(path: &Path) -> String {
    escape_line(&path.display().to_string()).into_owned()
}

/// Writes `content` to `path` all or nothing: into a temporary file beside it
/// (same directory, so same file system), then renamed over `path`. A failed
/// write (a full disk, a file size limit) removes the temporary file and leaves
/// `path` as it was, never a truncated page. Not synced to disk: this guards
/// against failed writes, not power loss, and exported files can be made again.
pub fn write_atomic(path: &Path, content: &[u8]) -> std::io::Result<()> {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| f.write_all(content).and_then(|_| f.flush()))
        .and_then(|_| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// What happened to one file.
#[derive(Debug, PartialEq, Eq)]
enum State {
    Unchanged,
    Changed,
    Missing,
    /// On disk, not produced, and one of ours: an old export.
    Stale,
}

fn state(path: &Path, content: &str) -> Result<State, Failure> {
    match std::fs::read(path) {
        Ok(bytes) if bytes == content.as_bytes() => Ok(State::Unchanged),
        Ok(_) => Ok(State::Changed),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::Missing),
        Err(e) => Err(Failure::io("read", path, e)),
    }
}

/// Writes `files` (paths relative to `dir`, `/`-separated) under `dir`, skipping
/// files whose content is already right; with `check`, writes nothing and
/// reports drift with exit code 1.
pub fn write_or_check(
    dir: &Path,
    files: Vec<(String, String)>,
    check: bool,
    what: &str,
) -> Outcome {
    write_or_check_stale(dir, files, check, what, &|_| false)
}

/// [`write_or_check`], where a file directly in `dir` that is not produced
/// and for which `stale` is true is an old export: with `check` it is drift,
/// otherwise it is removed.
pub fn write_or_check_stale(
    dir: &Path,
    files: Vec<(String, String)>,
    check: bool,
    what: &str,
    stale: &dyn Fn(&str) -> bool,
) -> Outcome {
    if !check {
        std::fs::create_dir_all(dir).map_err(|e| Failure::io("create directory", dir, e))?;
    }
    let mut written = 0usize;
    let mut drifted = Vec::new();
    let total = files.len();
    for (rel, content) in &files {
        let path = dir.join(rel);
        let st = state(&path, content)?;
        if st == State::Unchanged {
            continue;
        }
        if check {
            drifted.push((path, st));
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Failure::io("create directory", parent, e))?;
        }
        write_atomic(&path, content.as_bytes()).map_err(|e| Failure::io("write", &path, e))?;
        written += 1;
    }
    let strangers = strangers(dir, &files, what);
    let mut removed = 0usize;
    for n in &strangers {
        let path = dir.join(n);
        if !stale(n) {
            eprintln!(
                "note: {} is not produced by this catalog (an old version or a removed event?); delete it if no consumer needs it",
                shown(&path)
            );
        } else if check {
            drifted.push((path, State::Stale));
        } else {
            std::fs::remove_file(&path).map_err(|e| Failure::io("remove", &path, e))?;
            println!("removed {} (stale)", shown(&path));
            removed += 1;
        }
    }
    if check {
        return Ok(report_drift(&drifted, total, what));
    }
    println!(
        "{what}: {total} files in {}, {written} written, {} unchanged{}",
        shown(dir),
        total - written,
        if removed > 0 {
            format!(", {removed} stale removed")
        } else {
            String::new()
        }
    );
    Ok(OK)
}

/// Exported schema files in `dir` that this catalog does not produce: a
/// removed event, an older version kept on purpose, or a stale export.
fn strangers(dir: &Path, files: &[(String, String)], what: &str) -> Vec<String> {
    if what != "schema" {
        return Vec::new();
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            eprintln!("note: cannot list {}: {e}", shown(dir));
            return Vec::new();
        }
    };
    let mut strangers: Vec<String> = entries
        .filter_map(|e| match e {
            Ok(e) => Some(e),
            Err(err) => {
                eprintln!("note: cannot list {}: {err}", shown(dir));
                None
            }
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".schema.json") && !files.iter().any(|(f, _)| f == n))
        .collect();
    strangers.sort();
    strangers
}

/// One file: write it when its content changed, or check it.
pub fn write_or_check_file(path: &Path, content: &str, check: bool) -> Outcome {
    let st = state(path, content)?;
    if check {
        return Ok(report_drift(&[(path.to_path_buf(), st)], 1, "asyncapi"));
    }
    if st != State::Unchanged {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| Failure::io("create directory", parent, e))?;
        }
        write_atomic(path, content.as_bytes()).map_err(|e| Failure::io("write", path, e))?;
        println!("wrote {}", shown(path));
    } else {
        println!("{} is up to date", shown(path));
    }
    Ok(OK)
}

fn report_drift(drifted: &[(std::path::PathBuf, State)], total: usize, what: &str) -> u8 {
    let drifted: Vec<_> = drifted
        .iter()
        .filter(|(_, s)| *s != State::Unchanged)
        .collect();
    if drifted.is_empty() {
        println!("{what}: {total} files up to date");
        return OK;
    }
    for (path, st) in &drifted {
        let why = match st {
            State::Missing => "missing",
            State::Stale => {
                "stale: not produced by this catalog; the same command without --check removes it"
            }
            _ => "differs from the catalog",
        };
        eprintln!("drift: {} ({why})", shown(path));
    }
    eprintln!(
        "error: {} of {total} exported files drifted from the catalog; run the same command without --check to update them",
        drifted.len()
    );
    FINDINGS
}
