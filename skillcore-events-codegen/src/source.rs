//! Reading catalog files from disk (one file, or every `*.yaml` of a directory) and
//! turning positions inside them into [`Location`]s.

use crate::diag::{Diagnostic, Location, Rule};
use std::path::{Path, PathBuf};

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
    /// `*.yml` files are merged. `base` is the directory paths are shown relative to.
    pub fn read(path: &Path, base: &Path) -> Result<Sources, Diagnostic> {
        let shown = display_path(path, base);
        let meta = std::fs::metadata(path).map_err(|e| {
            Diagnostic::global(
                Rule::CatalogIo,
                format!("cannot read catalog `{shown}`: {}", io_reason(&e)),
            )
            .with_help(format!(
                "paths are relative to the crate's manifest directory `{}`; point at a `.yaml` file or a directory of them",
                base.display()
            ))
        })?;
        let mut paths = Vec::new();
        if meta.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| {
                Diagnostic::global(
                    Rule::CatalogIo,
                    format!("cannot list catalog directory `{shown}`: {}", io_reason(&e)),
                )
            })?;
            for entry in entries.flatten() {
                let p = entry.path();
                let is_yaml = matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("yaml") | Some("yml")
                );
                if is_yaml && p.is_file() {
                    paths.push(p);
                }
            }
            if paths.is_empty() {
                return Err(Diagnostic::global(
                    Rule::CatalogIo,
                    format!("catalog directory `{shown}` holds no `*.yaml` file"),
                )
                .with_help("add a file such as `events.yaml` with an `events:` mapping"));
            }
            paths.sort();
        } else {
            paths.push(path.to_path_buf());
        }
        let mut files = Vec::with_capacity(paths.len());
        for p in paths {
            let display = display_path(&p, base);
            let bytes = std::fs::read(&p).map_err(|e| {
                Diagnostic::global(
                    Rule::CatalogIo,
                    format!("cannot read `{display}`: {}", io_reason(&e)),
                )
            })?;
            let text = String::from_utf8(bytes).map_err(|e| {
                Diagnostic::global(
                    Rule::CatalogIo,
                    format!(
                        "`{display}` is not UTF-8 text (invalid byte at offset {})",
                        e.utf8_error().valid_up_to()
                    ),
                )
                .with_help("save the catalog as UTF-8")
            })?;
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
    fn missing_path_is_a_catalog_io_error() {
        let base = std::env::temp_dir();
        let err = Sources::read(&base.join("surely-not-here.yaml"), &base).unwrap_err();
        assert_eq!(err.rule, Rule::CatalogIo);
        assert!(err.message.contains("surely-not-here.yaml"), "{err}");
        assert!(err.message.contains("no such file"), "{err}");
    }
}
