//! Reading catalog files from disk (one file, or every `*.yaml` of a directory) and
//! turning positions inside them into [`Location`]s.

use crate::diag::{Diagnostic, Location, Rule};
pub use crate::yaml::MAX_FILE_BYTES;
use std::path::{Path, PathBuf};

/// Largest catalog accepted as a whole (every `*.yaml` file of a directory
/// together), in bytes: 32 MiB, two files of the largest size. Compiling costs
/// about 8-12 times the catalog's size in memory (444 MB of RSS for 30 MB), and
/// the SkillCore catalog is 59 KB.
pub const MAX_CATALOG_BYTES: usize = 32 * 1024 * 1024;

/// Index of a file in [`Sources`].
pub type FileId = u32;

/// A span in one source file. Columns and offsets count characters, as the YAML
/// parser does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// Which file.
    pub file: FileId,
    /// 1-based line of the start.
    pub line: u32,
    /// 1-based column of the start, in characters.
    pub col: u32,
    /// Length in characters (may run past the end of the line).
    pub len: u32,
}

/// One catalog file.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// How diagnostics name it: relative to the base directory when possible.
    pub display: String,
    /// The file's text.
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Creates a file from text already in memory.
    pub fn new(path: impl Into<PathBuf>, display: impl Into<String>, text: String) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            path: path.into(),
            display: display.into(),
            text,
            line_starts,
        }
    }

    /// [`SourceFile::new`] with the line index already made by a reader that
    /// walked the lines (the lock's): `line_starts` is 0 and the offset after
    /// every `\n`, as `new` would find them (a test in `evolution::lock_fast`
    /// holds the two to the same lines).
    pub(crate) fn with_line_starts(display: &str, text: String, line_starts: Vec<usize>) -> Self {
        SourceFile {
            path: display.into(),
            display: display.into(),
            text,
            line_starts,
        }
    }

    /// The text of a 1-based line, without its line break.
    pub fn line(&self, line: u32) -> &str {
        let Some(&start) = self.line_starts.get((line as usize).wrapping_sub(1)) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line as usize)
            .copied()
            .unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }
}

/// Every file of one catalog, in a stable order.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// The files, sorted by display name.
    pub files: Vec<SourceFile>,
}

impl Sources {
    /// Sources made of one in-memory file (tests, fuzzing, the CLI's stdin).
    pub fn single(display: &str, text: impl Into<String>) -> Self {
        Sources {
            files: vec![SourceFile::new(display, display, text.into())],
        }
    }

    /// Reads a catalog from `path`, a `.yaml` file or a directory whose `*.yaml` /
    /// `*.yml` files are merged. `base` is the directory paths are shown relative to
    /// (the crate's manifest directory: see [`Sources::read_from`]).
    pub fn read(path: &Path, base: &Path) -> Result<Sources, Diagnostic> {
        Sources::read_from(path, base, BaseDir::Manifest)
    }

    /// [`Sources::read`], saying in messages what `base` is.
    ///
    /// Only regular files are read (a FIFO would block, a device never ends),
    /// each up to [`MAX_FILE_BYTES`] and all together up to
    /// [`MAX_CATALOG_BYTES`], checked while reading, not after. An entry of a
    /// directory that looks like a catalog file but cannot be read (a dangling
    /// or looping symlink, a FIFO) is an error, not skipped.
    pub fn read_from(path: &Path, base: &Path, base_is: BaseDir) -> Result<Sources, Diagnostic> {
        let shown = display_path(path, base);
        let io = |msg: String| Diagnostic::global(Rule::CatalogIo, msg);
        let meta = std::fs::metadata(path).map_err(|e| {
            io(format!("cannot read catalog `{shown}`: {}", io_reason(&e))).with_help(format!(
                "paths are relative to {} `{}`; point at a `.yaml` file or a directory of them",
                base_is.describe(),
                base.display()
            ))
        })?;
        let mut paths = Vec::new();
        if meta.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| {
                io(format!(
                    "cannot list catalog directory `{shown}`: {}",
                    io_reason(&e)
                ))
            })?;
            for entry in entries {
                let entry = entry.map_err(|e| {
                    io(format!(
                        "cannot list catalog directory `{shown}`: {}",
                        io_reason(&e)
                    ))
                })?;
                let p = entry.path();
                let is_yaml = matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("yaml") | Some("yml")
                );
                if !is_yaml {
                    continue;
                }
                let display = display_path(&p, base);
                match std::fs::metadata(&p) {
                    Ok(m) if m.is_file() => paths.push((p, m.len())),
                    Ok(m) if m.is_dir() => {
                        return Err(io(format!(
                        "`{display}` is a directory; catalog directories are not read recursively"
                    ))
                        .with_help(
                            "rename it so it does not end in `.yaml`, or move its files up",
                        ))
                    }
                    Ok(_) => return Err(not_regular(&display)),
                    Err(e) => return Err(unreadable_entry(&p, &display, &e)),
                }
            }
            if paths.is_empty() {
                return Err(io(format!(
                    "catalog directory `{shown}` holds no `*.yaml` file"
                ))
                .with_help("add a file such as `events.yaml` with an `events:` mapping"));
            }
            paths.sort();
            let total: u64 = paths.iter().map(|(_, n)| n).sum();
            if total > MAX_CATALOG_BYTES as u64 {
                return Err(too_large_catalog(&shown, total));
            }
        } else if meta.is_file() {
            paths.push((path.to_path_buf(), meta.len()));
        } else {
            return Err(not_regular(&shown));
        }
        let mut files = Vec::with_capacity(paths.len());
        let mut total = 0u64;
        for (p, size) in paths {
            let display = display_path(&p, base);
            let text = read_bounded(&p, &display, size)?;
            total += text.len() as u64;
            // The sizes were checked up front; this catches files that grew since
            // (or whose size the file system does not know).
            if total > MAX_CATALOG_BYTES as u64 {
                return Err(too_large_catalog(&shown, total));
            }
            files.push(SourceFile::new(p, display, text));
        }
        Ok(Sources { files })
    }

    /// Resolves a span to a location with its source line.
    pub fn location(&self, span: Span) -> Location {
        let Some(file) = self.files.get(span.file as usize) else {
            return Location {
                file: String::from("<unknown>"),
                line: span.line,
                column: span.col,
                len: span.len,
                source_line: String::new(),
                source_skip: 0,
                source_more: false,
            };
        };
        let (source_line, source_skip, source_more) =
            crate::diag::source_window(file.line(span.line), span.col);
        Location {
            file: file.display.clone(),
            line: span.line,
            column: span.col,
            len: span.len,
            source_line,
            source_skip,
            source_more,
        }
    }

    /// Starts a diagnostic at `span`.
    pub fn error(&self, rule: Rule, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            rule,
            location: Some(self.location(span)),
            message: message.into(),
            help: None,
            notes: Vec::new(),
        }
    }
}

/// What the base directory of relative catalog paths is, for messages about
/// a path that cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum BaseDir {
    /// The invoking crate's manifest directory (`catalog!`).
    #[default]
    Manifest,
    /// The working directory (the command line).
    WorkingDir,
}

impl BaseDir {
    fn describe(self) -> &'static str {
        match self {
            BaseDir::Manifest => "the crate's manifest directory",
            BaseDir::WorkingDir => "the working directory",
        }
    }
}

/// Reads one catalog file, never more than [`MAX_FILE_BYTES`] + 1 bytes of it.
fn read_bounded(p: &Path, display: &str, size_hint: u64) -> Result<String, Diagnostic> {
    let io = |msg: String| Diagnostic::global(Rule::CatalogIo, msg);
    let cannot = |e: std::io::Error| io(format!("cannot read `{display}`: {}", io_reason(&e)));
    if size_hint > MAX_FILE_BYTES as u64 {
        return Err(too_large_file(display, Some(size_hint)));
    }
    let file = std::fs::File::open(p).map_err(cannot)?;
    // Checked again on the open file: the path may have changed since `stat`.
    if !file.metadata().map_err(cannot)?.is_file() {
        return Err(not_regular(display));
    }
    let Some(bytes) = read_at_most(file, MAX_FILE_BYTES, size_hint).map_err(cannot)? else {
        return Err(too_large_file(display, None));
    };
    String::from_utf8(bytes).map_err(|e| {
        io(format!(
            "`{display}` is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
        .with_help("save the catalog as UTF-8")
    })
}

/// All of `r` when it holds at most `limit` bytes, else `None`, having read no
/// more than `limit + 1` bytes.
fn read_at_most(
    r: impl std::io::Read,
    limit: usize,
    size_hint: u64,
) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut bytes = Vec::with_capacity((size_hint as usize).min(limit + 1));
    r.take(limit as u64 + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() <= limit).then_some(bytes))
}

fn not_regular(display: &str) -> Diagnostic {
    Diagnostic::global(
        Rule::CatalogIo,
        format!("`{display}` is not a regular file (a FIFO, socket or device?); catalogs are read from files only"),
    )
    .with_help("point at a `.yaml` file or a directory of them")
}

fn unreadable_entry(p: &Path, display: &str, e: &std::io::Error) -> Diagnostic {
    let link = std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
    let d = Diagnostic::global(
        Rule::CatalogIo,
        format!("cannot read `{display}`: {}", io_reason(e)),
    );
    if link {
        let to = std::fs::read_link(p)
            .map(|t| t.to_string_lossy().into_owned())
            .unwrap_or_default();
        d.with_help(format!(
            "`{display}` is a symbolic link to `{to}`, which cannot be followed (missing, or a loop); fix or remove the link"
        ))
    } else {
        d
    }
}

/// `bytes`: the file's size when known, `None` when reading stopped at the limit.
fn too_large_file(display: &str, bytes: Option<u64>) -> Diagnostic {
    let holds = match bytes {
        Some(n) => format!("{n} bytes"),
        None => format!("more than {MAX_FILE_BYTES} bytes"),
    };
    Diagnostic::global(
        Rule::CatalogIo,
        format!(
            "`{display}` holds {holds}; one catalog file is limited to {} MiB ({MAX_FILE_BYTES} bytes)",
            MAX_FILE_BYTES / 1024 / 1024
        ),
    )
    .with_help("split the catalog into one file per context in a directory")
}

fn too_large_catalog(shown: &str, bytes: u64) -> Diagnostic {
    Diagnostic::global(
        Rule::CatalogIo,
        format!(
            "catalog `{shown}` holds {bytes} bytes of `*.yaml` files; a whole catalog is limited to {} MiB ({} bytes)",
            MAX_CATALOG_BYTES / 1024 / 1024,
            MAX_CATALOG_BYTES
        ),
    )
    .with_help("a catalog this large is likely not a catalog: check that the directory holds only catalog files")
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// `path` shown relative to `base` when it lies below it, with `/` separators.
pub fn display_path(path: &Path, base: &Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path);
    let s = rel.to_string_lossy().replace('\\', "/");
    if s.is_empty() {
        ".".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn lines_are_one_based_and_trimmed() {
        let f = SourceFile::new("a", "a", "one\r\ntwo\nthree".into());
        assert_eq!(f.line(1), "one");
        assert_eq!(f.line(2), "two");
        assert_eq!(f.line(3), "three");
        assert_eq!(f.line(4), "");
        assert_eq!(f.line(0), "");
    }

    #[test]
    fn reading_stops_one_byte_past_the_limit() {
        // An endless reader, as `/dev/zero` is.
        let endless = std::io::repeat(b'a');
        assert_eq!(read_at_most(endless, 1000, 0).unwrap(), None);
        let mut counted = std::io::repeat(b'a').take(5000);
        assert_eq!(read_at_most(&mut counted, 1000, 0).unwrap(), None);
        assert_eq!(counted.limit(), 5000 - 1001, "read exactly limit + 1 bytes");
        assert_eq!(
            read_at_most(&b"abc"[..], 3, 3).unwrap(),
            Some(b"abc".to_vec())
        );
    }

    #[test]
    fn missing_path_is_a_catalog_io_error() {
        let base = std::env::temp_dir();
        let err = Sources::read(&base.join("surely-not-here.yaml"), &base).unwrap_err();
        assert_eq!(err.rule, Rule::CatalogIo);
        assert!(err.message.contains("surely-not-here.yaml"), "{err}");
        assert!(err.message.contains("no such file"), "{err}");
    }
}
