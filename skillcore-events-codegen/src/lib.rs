//! The SkillCore Events catalog compiler.
//!
//! Data flows one way through one module per stage:
//!
//! 1. [`source`]: read the catalog files (one file or a directory of `*.yaml`);
//! 2. [`yaml`]: parse each into a tree where every node knows its line and column;
//! 3. [`ast`]: read the format's keys and shapes;
//! 4. [`validate`]: check names, types and references, and build the [`model`];
//! 5. [`emit`]: turn the model into Rust tokens (and, for the CLI, other formats).
//!
//! Every stage reports into a list of [`Diagnostic`]s instead of stopping at the
//! first problem, so one build shows every mistake in the catalog.
//!
//! The `#[handler]` attribute is cut the same way, one module per stage under
//! [`handler`]: parse the attribute and the signature, resolve the catalog,
//! check the event, emit the registration.
//!
//! ```
//! let compiled = skillcore_events_codegen::compile_str("events.yaml", r#"
//! events:
//!   gradebook.grade.post:
//!     description: Grade posted
//!     aggregate: Result
//!     aggregate_id: resultId
//!     payload:
//!       resultId: uuid
//! "#);
//! let d = &compiled.diagnostics[0];
//! assert_eq!(d.rule.id(), "past-tense");
//! assert_eq!(d.help.as_deref().unwrap().split('?').next(), Some("did you mean `gradebook.grade.posted`"));
//! ```

#![deny(missing_docs)]
// A `Diagnostic` is large, but it is the cold path: a build with errors stops anyway.
#![allow(clippy::result_large_err)]

pub mod ast;
pub mod diag;
pub mod emit;
pub mod evolution;
pub mod formats;
pub mod handler;
pub mod model;
pub mod naming;
pub mod settings;
pub mod source;
pub mod text;
pub mod validate;
pub mod yaml;
pub mod yaml_fast;

pub use diag::{Diagnostic, Location, Rule};
pub use model::Catalog;
pub use settings::Settings;
pub use source::Sources;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::SystemTime;

/// A compiled catalog: the model (always usable, best effort when there are
/// errors), the problems found, and the files it came from.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The files read.
    pub sources: Sources,
    /// The validated model.
    pub catalog: Catalog,
    /// Every problem found, sorted by file and position. Empty means valid.
    pub diagnostics: Vec<Diagnostic>,
    /// The lock of released versions beside the catalog, when there is one
    /// (and it could be read): see [`evolution`].
    pub lock: Option<Arc<evolution::Lock>>,
    /// Where the lock file is, when there is one (read or not).
    pub lock_path: Option<PathBuf>,
    /// The fields whose type is unknown: `catalog!` stubs them.
    pub unknown_types: Vec<validate::UnknownType>,
}

impl Compiled {
    /// `true` when the catalog has no errors.
    pub fn is_ok(&self) -> bool {
        self.diagnostics.is_empty()
    }

    /// Every diagnostic rendered as plain text.
    pub fn render_diagnostics(&self) -> String {
        diag::render_all(&self.diagnostics, &diag::Style::plain())
    }
}

/// Parses and validates catalog files already in memory.
pub fn compile_sources(sources: Sources, fallback_name: &str) -> Compiled {
    let mut diagnostics = Vec::new();
    // One file at a time: its tree is dropped as soon as its syntax is read, so
    // memory holds one tree at most (the tree costs several times the text).
    let mut files = Vec::with_capacity(sources.files.len());
    for id in 0..sources.files.len() {
        match yaml::parse(&sources, id as u32) {
            Ok(Some(root)) => files.push(ast::read_file(&sources, &root, &mut diagnostics)),
            Ok(None) => {}
            Err(d) => diagnostics.push(d),
        }
    }
    let (catalog, mut found, unknown_types) =
        validate::build_with_unknown_types(&sources, &files, fallback_name);
    diagnostics.append(&mut found);
    let mut diagnostics: Vec<Diagnostic> =
        diagnostics.into_iter().map(Diagnostic::bounded).collect();
    diag::sort(&mut diagnostics);
    diagnostics.dedup();
    Compiled {
        sources,
        catalog,
        diagnostics,
        lock: None,
        lock_path: None,
        unknown_types,
    }
}

impl Compiled {
    /// Reads the lock file at `path` (if it exists) and checks the catalog
    /// against it, adding its diagnostics (`breaking-change`, `bad-rename`,
    /// `lock-file`). Without a lock file nothing changes.
    pub fn with_lock_file(mut self, path: &Path, display: &str) -> Compiled {
        if !path.exists() {
            return self;
        }
        self.lock_path = Some(path.to_path_buf());
        match evolution::Lock::read(path, display) {
            Ok(Some(lock)) => {
                let found = evolution::check(&self.catalog, &self.sources, &lock);
                self.add(found);
                self.lock = Some(Arc::new(lock));
            }
            Ok(None) => self.lock_path = None,
            Err(found) => self.add(found),
        }
        self
    }

    fn add(&mut self, found: Vec<Diagnostic>) {
        if found.is_empty() {
            return;
        }
        self.diagnostics
            .extend(found.into_iter().map(Diagnostic::bounded));
        diag::sort(&mut self.diagnostics);
        self.diagnostics.dedup();
    }
}

/// Parses and validates one catalog file given as text (tests, fuzzing, editors).
pub fn compile_str(display: &str, text: &str) -> Compiled {
    let stem = Path::new(display)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "catalog".into());
    compile_sources(Sources::single(display, text), &stem)
}

/// Reads, parses and validates the catalog at `path` (a file or a directory),
/// showing paths relative to `base`. Unchanged catalogs are served from a
/// process-wide cache, so many macro invocations in one compilation parse the
/// catalog once.
pub fn load(path: &Path, base: &Path) -> Arc<Compiled> {
    load_from(path, base, source::BaseDir::Manifest)
}

/// [`load`], saying in messages about unreadable paths what `base` is (the CLI
/// passes [`source::BaseDir::WorkingDir`]).
pub fn load_from(path: &Path, base: &Path, base_is: source::BaseDir) -> Arc<Compiled> {
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let stamp = Stamp::take(&key);
    if let Some(stamp) = &stamp {
        let cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((s, base_seen, c)) = cache.get(&key) {
            if s == stamp && base_seen.0 == base && base_seen.1 == base_is {
                return Arc::clone(c);
            }
        }
    }
    let compiled = Arc::new(load_uncached(path, base, base_is));
    if let Some(stamp) = stamp {
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        cache.insert(
            key,
            (stamp, (base.to_path_buf(), base_is), Arc::clone(&compiled)),
        );
    }
    compiled
}

fn load_uncached(path: &Path, base: &Path, base_is: source::BaseDir) -> Compiled {
    let fallback = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "catalog".into());
    match Sources::read_from(path, base, base_is) {
        Ok(sources) => {
            let lock = evolution::lock_path(path);
            let display = source::display_path(&lock, base);
            compile_sources(sources, &fallback).with_lock_file(&lock, &display)
        }
        Err(d) => Compiled {
            sources: Sources::default(),
            catalog: Catalog {
                name: fallback,
                types: Vec::new(),
                events: Vec::new(),
                compatibility: Default::default(),
            },
            diagnostics: vec![d.bounded()],
            lock: None,
            lock_path: None,
            unknown_types: Vec::new(),
        },
    }
}

type CacheEntry = (Stamp, (PathBuf, source::BaseDir), Arc<Compiled>);

// Keyed by canonical path; validated by the size and modification time of every
// file (and the directory listing). Never caches tokens, which are not `Send`.
static CACHE: LazyLock<Mutex<HashMap<PathBuf, CacheEntry>>> = LazyLock::new(Default::default);

#[derive(Clone, Debug, PartialEq, Eq)]
struct Stamp(Vec<(PathBuf, u64, SystemTime)>);

impl Stamp {
    fn take(path: &Path) -> Option<Stamp> {
        let meta = std::fs::metadata(path).ok()?;
        let mut files = Vec::new();
        if meta.is_dir() {
            for entry in std::fs::read_dir(path).ok()?.flatten() {
                files.push(entry.path());
            }
            files.sort();
        } else {
            files.push(path.to_path_buf());
        }
        // The lock beside the catalog counts too (absent is a state as well:
        // a missing file is left out, so creating it changes the stamp).
        let lock = evolution::lock_path(path);
        if lock.exists() {
            files.push(lock);
        }
        let mut out = Vec::with_capacity(files.len());
        for f in files {
            let m = std::fs::metadata(&f).ok()?;
            out.push((f, m.len(), m.modified().ok()?));
        }
        Some(Stamp(out))
    }
}

/// What a `catalog!` invocation expands to: the generated items (stubs included
/// when the catalog has errors) and the diagnostics to report beside them.
#[derive(Debug)]
pub struct Expansion {
    /// Generated items, as Rust source text (hand it to rustc with
    /// `TokenStream::from_str`; see [`emit::rust`] for why text).
    pub source: String,
    /// Problems to report as compile errors.
    pub diagnostics: Vec<Diagnostic>,
}

/// The whole job of `catalog!`: resolve the path, load (cached), validate, emit.
pub fn expand(settings: &Settings) -> Expansion {
    let path = match settings.resolved_catalog() {
        Ok(p) => p,
        Err(msg) => {
            return Expansion {
                source: String::new(),
                diagnostics: vec![Diagnostic::global(Rule::CatalogIo, msg)],
            }
        }
    };
    let compiled = load(&path, &settings.base_dir);
    let tracked: Vec<PathBuf> = compiled
        .sources
        .files
        .iter()
        .map(|f| &f.path)
        .chain(compiled.lock_path.as_ref())
        .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()))
        .collect();
    // Each unknown type's error is raised by the stub type of its field (an
    // array whose length is that `compile_error!`), not beside it: rustc then
    // takes the field's type as an error and adds no type errors of its own
    // where the field (or the stubbed type name) is used.
    let mut diagnostics = compiled.diagnostics.clone();
    let mut stubs = Vec::new();
    for u in &compiled.unknown_types {
        let at = compiled.sources.location(u.ty);
        let found = diagnostics.iter().position(|d| {
            d.rule == Rule::UnknownType
                && d.location.as_ref().is_some_and(|l| {
                    (l.file.as_str(), l.line, l.column) == (at.file.as_str(), at.line, at.column)
                })
        });
        if let Some(i) = found {
            let d = diagnostics.remove(i);
            stubs.push(emit::rust::Stub {
                field: u.field,
                name: u.name.clone(),
                message: d.render(),
            });
        }
    }
    Expansion {
        source: emit::rust::emit_source_stubbed(
            &compiled.catalog,
            compiled.lock.as_deref(),
            settings,
            &tracked,
            &stubs,
        ),
        diagnostics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = "events:\n  a.b.posted:\n    description: d\n    aggregate: B\n    aggregate_id: id\n    payload:\n      id: string\n";

    #[test]
    fn unchanged_catalogs_are_served_from_the_cache() {
        let dir = std::env::temp_dir().join(format!("skc-cache-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("events.yaml");
        std::fs::write(&file, ONE).unwrap();
        let first = load(&file, &dir);
        let second = load(&file, &dir);
        assert!(
            Arc::ptr_eq(&first, &second),
            "second load must hit the cache"
        );
        assert!(first.is_ok(), "{}", first.render_diagnostics());

        // A change of content (and so of size) is picked up at once.
        std::fs::write(&file, ONE.replace("posted", "post")).unwrap();
        let third = load(&file, &dir);
        assert!(
            !Arc::ptr_eq(&first, &third),
            "an edited file must be re-read"
        );
        assert_eq!(third.diagnostics[0].rule, Rule::PastTense);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn directory_listing_changes_invalidate_the_cache() {
        let dir = std::env::temp_dir().join(format!("skc-cache-dir-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.yaml"), ONE).unwrap();
        let first = load(&dir, &dir);
        assert_eq!(first.catalog.events.len(), 1);
        std::fs::write(dir.join("b.yaml"), ONE.replace("a.b.posted", "c.d.marked")).unwrap();
        let second = load(&dir, &dir);
        assert_eq!(second.catalog.events.len(), 2);
        assert_eq!(second.sources.files[1].display, "b.yaml");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
