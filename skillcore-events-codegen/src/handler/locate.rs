//! Stage 2 of `#[handler]`: resolve the catalog a `#[handler("event.name")]`
//! checks its event against, and load it.
//!
//! The first of these that is given wins:
//!
//! 1. `catalog = "path"` on the attribute;
//! 2. the `SKILLCORE_EVENTS_CATALOG` environment variable at build time (set
//!    in `.cargo/config.toml` under `[env]`, or by a build script with
//!    `cargo:rustc-env=SKILLCORE_EVENTS_CATALOG=...`); an empty value counts
//!    as unset;
//! 3. `catalog` under `[package.metadata.skillcore-events]` in the crate's
//!    `Cargo.toml`;
//! 4. the default, `catalog`.
//!
//! Every relative path starts at the crate's manifest directory. A missing or
//! unreadable catalog is reported with where its path came from.
//!
//! ```
//! use skillcore_events_codegen::handler::locate::{locate, Origin};
//! let dir = std::env::temp_dir().join(format!("skc-locate-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! std::fs::write(
//!     dir.join("Cargo.toml"),
//!     "[package]\nname = \"app\"\n\n[package.metadata.skillcore-events]\ncatalog = \"../catalog\"\n",
//! )
//! .unwrap();
//! let found = locate(None, None, &dir).unwrap();
//! assert_eq!((found.path.as_str(), &found.origin), ("../catalog", &Origin::Metadata));
//! let found = locate(None, Some("events.yaml"), &dir).unwrap();
//! assert_eq!(found.origin, Origin::Env);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use crate::diag::{Diagnostic, Rule};
use crate::settings::{Settings, DEFAULT_CATALOG};
use crate::text::escape_line;
use crate::Compiled;
use proc_macro2::TokenStream;
use quote::quote;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::SystemTime;
use syn::LitStr;
use toml::de::{DeTable, DeValue};

/// The environment variable naming the catalog of every handler of a crate.
pub const CATALOG_ENV: &str = "SKILLCORE_EVENTS_CATALOG";

/// The `Cargo.toml` table holding the `catalog` key.
pub const METADATA_TABLE: &str = "package.metadata.skillcore-events";

/// The keys [`METADATA_TABLE`] may hold.
pub const METADATA_KEYS: &[&str] = &["catalog"];

/// Where a handler's catalog path came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `catalog = "path"` on the attribute.
    Attribute,
    /// The [`CATALOG_ENV`] environment variable.
    Env,
    /// `catalog` in [`METADATA_TABLE`] of the crate's `Cargo.toml`.
    Metadata,
    /// None of them: [`DEFAULT_CATALOG`].
    Default,
}

/// A catalog path (relative to the manifest directory unless absolute, with
/// `$VAR` not yet expanded) and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// The path as written.
    pub path: String,
    /// Its source.
    pub origin: Origin,
}

impl Located {
    /// Where the path came from, for an error message ("the path comes from
    /// ...").
    pub fn origin_text(&self) -> String {
        let path = escape_line(&self.path);
        match self.origin {
            Origin::Attribute => format!("`catalog = \"{path}\"` on the attribute"),
            Origin::Env => format!("the `{CATALOG_ENV}` environment variable (`{path}`)"),
            Origin::Metadata => format!("`catalog = \"{path}\"` under `[{METADATA_TABLE}]` in Cargo.toml"),
            Origin::Default => format!(
                "the default `{path}`: the attribute has no `catalog = \"path\"`, `{CATALOG_ENV}` is not set \
                 and Cargo.toml has no `[{METADATA_TABLE}]` `catalog`"
            ),
        }
    }

    /// How to fix a catalog that cannot be read, given the manifest directory.
    pub fn fix(&self, manifest_dir: &Path) -> String {
        let dir = escape_line(&manifest_dir.to_string_lossy()).into_owned();
        match self.origin {
            Origin::Attribute => format!(
                "fix the attribute's path; it is relative to the crate's manifest directory `{dir}`"
            ),
            Origin::Env => format!(
                "fix the variable where the build sets it (`.cargo/config.toml` `[env]`, a build script) \
                 or unset it; a relative path starts at the crate's manifest directory `{dir}`"
            ),
            Origin::Metadata => format!(
                "fix the path in Cargo.toml; it is relative to the crate's manifest directory `{dir}`"
            ),
            Origin::Default => format!(
                "the handler's event is checked against the crate's catalog: add \
                 `[{METADATA_TABLE}]` `catalog = \"path\"` to Cargo.toml (once for the crate), or pass \
                 `catalog = \"path\"` to the attribute; paths are relative to `{dir}`"
            ),
        }
    }
}

/// The catalog of a handler: `attribute` (its `catalog = "…"`), else `env`
/// (the value of [`CATALOG_ENV`]), else the metadata key of
/// `manifest_dir/Cargo.toml`, else [`DEFAULT_CATALOG`].
///
/// The manifest is read only when the first two are absent. A manifest that
/// does not exist counts as one without the key (rustc run without cargo); a
/// key of the wrong type, an unknown key in the table and an unreadable
/// manifest are errors.
pub fn locate(
    attribute: Option<&str>,
    env: Option<&str>,
    manifest_dir: &Path,
) -> Result<Located, Diagnostic> {
    let found = |path: &str, origin| Located {
        path: path.to_string(),
        origin,
    };
    if let Some(p) = attribute {
        return Ok(found(p, Origin::Attribute));
    }
    if let Some(p) = env.filter(|p| !p.is_empty()) {
        return Ok(found(p, Origin::Env));
    }
    let manifest = manifest_dir.join("Cargo.toml");
    Ok(match metadata_catalog(&manifest)? {
        Some(p) => found(&p, Origin::Metadata),
        None => found(DEFAULT_CATALOG, Origin::Default),
    })
}

/// [`locate`] with `env` read from the process environment.
pub fn locate_from_env(
    attribute: Option<&str>,
    manifest_dir: &Path,
) -> Result<Located, Diagnostic> {
    let env = std::env::var_os(CATALOG_ENV);
    let env = match &env {
        None => None,
        Some(v) => Some(v.to_str().ok_or_else(|| {
            Diagnostic::global(
                Rule::CatalogIo,
                format!("`{CATALOG_ENV}` is not valid UTF-8"),
            )
        })?),
    };
    locate(attribute, env, manifest_dir)
}

/// The catalog a handler's event is checked against, loaded (cached), and the
/// tokens that make the build track it.
pub(super) struct Resolved {
    /// The compiled catalog; it has at least one file.
    pub(super) compiled: Arc<Compiled>,
    /// `include_bytes!` of every catalog file, and `option_env!` of
    /// [`CATALOG_ENV`] unless the attribute named the catalog.
    pub(super) tracking: TokenStream,
}

/// Stage 2 of `#[handler]`: [`locate`] the catalog of the handler whose event
/// literal is `lit` (errors are reported there, or at `catalog_arg` for a path
/// from the attribute), and load it. `base_dir` overrides the manifest
/// directory (tests).
pub(super) fn resolve(
    lit: &LitStr,
    catalog_arg: Option<&LitStr>,
    base_dir: Option<&PathBuf>,
) -> Result<Resolved, syn::Error> {
    let mut settings = Settings::for_macro(DEFAULT_CATALOG);
    if let Some(b) = base_dir {
        settings.base_dir = b.clone();
    }
    let error_at = |d: Diagnostic| syn::Error::new(lit.span(), d.render());
    let located = locate_from_env(
        catalog_arg.map(LitStr::value).as_deref(),
        &settings.base_dir,
    )
    .map_err(error_at)?;
    // A path from the attribute is reported at the attribute's literal.
    let path_span = match (&located.origin, catalog_arg) {
        (Origin::Attribute, Some(c)) => c.span(),
        _ => lit.span(),
    };
    let path_error = |mut d: Diagnostic| {
        d.message = format!(
            "{}; the path comes from {}",
            d.message,
            located.origin_text()
        );
        let d = d.with_help(located.fix(&settings.base_dir)).bounded();
        syn::Error::new(path_span, d.render())
    };
    settings.catalog = PathBuf::from(&located.path);
    let path = settings
        .resolved_catalog()
        .map_err(|m| path_error(Diagnostic::global(Rule::CatalogIo, m)))?;
    let compiled = crate::load(&path, &settings.base_dir);
    if compiled.sources.files.is_empty() {
        let d = compiled.diagnostics.first().cloned().unwrap_or_else(|| {
            Diagnostic::global(
                Rule::CatalogIo,
                format!("no catalog at `{}`", path.display()),
            )
        });
        return Err(path_error(d));
    }
    // Changing the variable rebuilds the crate (rustc records what
    // `option_env!` reads); the manifest and the catalog files are tracked
    // already.
    let env_name = CATALOG_ENV;
    let env_tracking = (located.origin != Origin::Attribute).then(|| {
        quote! { const _: ::core::option::Option<&str> = ::core::option_env!(#env_name); }
    });
    let tracked = compiled.sources.files.iter().map(|f| {
        let p = std::fs::canonicalize(&f.path).unwrap_or_else(|_| f.path.clone());
        let lit = proc_macro2::Literal::string(&p.to_string_lossy());
        quote! { const _: &[u8] = ::core::include_bytes!(#lit); }
    });
    let tracking = quote!(#env_tracking #(#tracked)*);
    Ok(Resolved { compiled, tracking })
}

type Cached = (u64, SystemTime, Result<Option<String>, Diagnostic>);

// A crate with many handlers parses its manifest once per compilation.
static MANIFESTS: LazyLock<Mutex<HashMap<PathBuf, Cached>>> = LazyLock::new(Default::default);

/// The `catalog` key of [`METADATA_TABLE`] in the manifest at `path`, if any.
fn metadata_catalog(path: &Path) -> Result<Option<String>, Diagnostic> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(manifest_error(path, &format!("cannot be read: {e}"))),
    };
    let stamp = (
        meta.len(),
        meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
    );
    let mut cache = MANIFESTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((len, time, found)) = cache.get(path) {
        if (*len, *time) == stamp {
            return found.clone();
        }
    }
    let found = std::fs::read_to_string(path)
        .map_err(|e| manifest_error(path, &format!("cannot be read: {e}")))
        .and_then(|text| catalog_key(&text).map_err(|m| manifest_error(path, &m)));
    cache.insert(path.to_path_buf(), (stamp.0, stamp.1, found.clone()));
    found
}

fn manifest_error(path: &Path, what: &str) -> Diagnostic {
    Diagnostic::global(
        Rule::CatalogIo,
        format!(
            "the manifest `{}`, read for `[{METADATA_TABLE}]`, {what}",
            escape_line(&path.to_string_lossy())
        ),
    )
}

/// The `catalog` key of [`METADATA_TABLE`] in a manifest's text.
///
/// Any TOML spelling of the table works (`[package.metadata.skillcore-events]`,
/// dotted keys, an inline table).
pub fn catalog_key(manifest: &str) -> Result<Option<String>, String> {
    let doc = DeTable::parse(manifest).map_err(|e| format!("is not valid TOML: {e}"))?;
    let mut table: &DeTable<'_> = doc.get_ref();
    for part in ["package", "metadata", "skillcore-events"] {
        match table.get(part).map(|v| v.get_ref()) {
            None => return Ok(None),
            Some(DeValue::Table(t)) => table = t,
            Some(other) => {
                return Err(format!(
                    "has a `{part}` that is {}, not a table",
                    a(other.type_str())
                ))
            }
        }
    }
    for key in table.keys() {
        let key: &str = key.get_ref();
        if !METADATA_KEYS.contains(&key) {
            let mut msg = format!(
                "has an unknown key `{}` under `[{METADATA_TABLE}]`; the keys are: `catalog`",
                escape_line(key)
            );
            if let Some(s) = crate::naming::did_you_mean(key, METADATA_KEYS.iter().copied()) {
                msg.push_str(&format!(" (did you mean `{s}`?)"));
            }
            return Err(msg);
        }
    }
    match table.get("catalog").map(|v| v.get_ref()) {
        None => Ok(None),
        Some(DeValue::String(s)) if s.trim().is_empty() => Err(format!(
            "has an empty `catalog` under `[{METADATA_TABLE}]`; write the catalog's path, such as \
             `catalog = \"catalog\"`"
        )),
        Some(DeValue::String(s)) => Ok(Some(s.to_string())),
        Some(other) => Err(format!(
            "has a `catalog` under `[{METADATA_TABLE}]` that is {}, not a path string",
            a(other.type_str())
        )),
    }
}

/// `an integer`, `a string`.
fn a(what: &str) -> String {
    let article = if what.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {what}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(manifest: Option<&str>) -> PathBuf {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let d = std::env::temp_dir().join(format!(
            "skc-locate-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&d).unwrap();
        if let Some(m) = manifest {
            std::fs::write(d.join("Cargo.toml"), m).unwrap();
        }
        d
    }

    const WITH_KEY: &str =
        "[package]\nname = \"a\"\n\n[package.metadata.skillcore-events]\ncatalog = \"meta/events.yaml\"\n";

    #[test]
    fn the_first_source_given_wins() {
        let d = dir_with(Some(WITH_KEY));
        let l = |a, e| locate(a, e, &d).unwrap();
        assert_eq!(l(Some("attr"), Some("env")).origin, Origin::Attribute);
        assert_eq!(l(Some("attr"), Some("env")).path, "attr");
        assert_eq!(l(None, Some("env")).origin, Origin::Env);
        assert_eq!(l(None, Some("env")).path, "env");
        assert_eq!(l(None, Some("")).origin, Origin::Metadata, "empty is unset");
        assert_eq!(l(None, None).path, "meta/events.yaml");
        let bare = dir_with(Some("[package]\nname = \"a\"\n"));
        let found = locate(None, None, &bare).unwrap();
        assert_eq!(
            (found.path.as_str(), found.origin),
            ("catalog", Origin::Default)
        );
        let none = dir_with(None);
        assert_eq!(locate(None, None, &none).unwrap().origin, Origin::Default);
        for d in [d, bare, none] {
            let _ = std::fs::remove_dir_all(d);
        }
    }

    #[test]
    fn every_spelling_of_the_table_is_read() {
        for m in [
            WITH_KEY,
            "[package]\nname = \"a\"\nmetadata.skillcore-events.catalog = \"meta/events.yaml\"\n",
            "[package.metadata]\nskillcore-events = { catalog = 'meta/events.yaml' }\n",
            "[package.metadata.\"skillcore-events\"] # comment\ncatalog = \"meta/events.yaml\" # c\n",
        ] {
            assert_eq!(
                catalog_key(m).unwrap().as_deref(),
                Some("meta/events.yaml"),
                "{m}"
            );
        }
        assert_eq!(catalog_key("[package]\nname = \"a\"\n").unwrap(), None);
        assert_eq!(
            catalog_key("[package.metadata.other]\ncatalog = \"x\"\n").unwrap(),
            None
        );
        // A multi-line string holding what looks like the table is not the table.
        assert_eq!(
            catalog_key("[package]\ndescription = \"\"\"\n[package.metadata.skillcore-events]\ncatalog = \"x\"\n\"\"\"\n")
                .unwrap(),
            None
        );
    }

    #[test]
    fn bad_metadata_is_an_error_naming_the_key() {
        let cases = [
            (
                "[package.metadata.skillcore-events]\ncatalog = 3\n",
                "is an integer, not a path string",
            ),
            (
                "[package.metadata.skillcore-events]\ncatalog = \"\"\n",
                "empty `catalog`",
            ),
            (
                "[package.metadata.skillcore-events]\ncatalogue = \"c\"\n",
                "did you mean `catalog`?",
            ),
            ("[package]\nmetadata = 1\n", "`metadata` that is an integer"),
            ("[package\n", "is not valid TOML"),
        ];
        for (m, want) in cases {
            let e = catalog_key(m).unwrap_err();
            assert!(e.contains(want), "{m}: {e}");
        }
        let d = dir_with(Some(cases[0].0));
        let e = locate(None, None, &d).unwrap_err();
        assert!(e.message.contains("Cargo.toml"), "{}", e.message);
        assert!(
            e.message.contains("[package.metadata.skillcore-events]"),
            "{}",
            e.message
        );
        // The attribute and the variable do not read the manifest at all.
        assert!(locate(Some("c"), None, &d).is_ok());
        assert!(locate(None, Some("c"), &d).is_ok());
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn an_edited_manifest_is_read_again() {
        let d = dir_with(Some(WITH_KEY));
        assert_eq!(locate(None, None, &d).unwrap().path, "meta/events.yaml");
        std::fs::write(
            d.join("Cargo.toml"),
            WITH_KEY.replace("meta/events.yaml", "other"),
        )
        .unwrap();
        assert_eq!(locate(None, None, &d).unwrap().path, "other");
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn the_origin_is_named() {
        let at = |path: &str, origin| Located {
            path: path.into(),
            origin,
        };
        assert!(at("x", Origin::Attribute)
            .origin_text()
            .contains("on the attribute"));
        assert!(at("x", Origin::Env).origin_text().contains(CATALOG_ENV));
        assert!(at("x", Origin::Metadata)
            .origin_text()
            .contains("Cargo.toml"));
        assert!(at("catalog", Origin::Default)
            .origin_text()
            .contains("the default `catalog`"));
        assert!(at("catalog", Origin::Default)
            .fix(Path::new("/c"))
            .contains("catalog = \"path\""));
    }
}
