//! One settings type for every front end: the `catalog!` macro fills it from its
//! arguments and the environment, the CLI from its flags.

use proc_macro2::TokenStream;
use std::path::{Path, PathBuf};

/// Environment variable that overrides the base directory catalog paths are
/// resolved against. Meant for test harnesses such as trybuild, which build test
/// crates from a scratch directory; set it to the real crate's manifest directory.
pub const MANIFEST_DIR_OVERRIDE: &str = "SKILLCORE_EVENTS_MANIFEST_DIR";

/// Default catalog path, relative to the base directory.
pub const DEFAULT_CATALOG: &str = "catalog";

/// How to find and compile a catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The catalog: a `.yaml` file or a directory of them, relative to `base_dir`
    /// unless absolute.
    pub catalog: PathBuf,
    /// The directory relative paths start from and diagnostics are shown relative
    /// to: the invoking crate's manifest directory for the macro, the working
    /// directory for the CLI.
    pub base_dir: PathBuf,
    /// Path of the runtime crate in generated code (`::skillcore_events`); change it
    /// only when re-exporting the runtime under another name.
    pub runtime_path: String,
    /// Prefix of the `$id` of exported JSON Schemas.
    pub schema_id_base: String,
    /// `info.version` of the exported AsyncAPI document (the CLI's `--api-version`).
    pub api_version: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            catalog: PathBuf::from(DEFAULT_CATALOG),
            base_dir: PathBuf::from("."),
            runtime_path: "::skillcore_events".into(),
            schema_id_base: "https://schemas.skillcore.dev/events/".into(),
            api_version: "1.0.0".into(),
        }
    }
}

impl Settings {
    /// Settings for a macro invocation: the base directory is
    /// `$SKILLCORE_EVENTS_MANIFEST_DIR` if set, else `$CARGO_MANIFEST_DIR`, else the
    /// working directory.
    pub fn for_macro(catalog: impl Into<PathBuf>) -> Self {
        let base = std::env::var_os(MANIFEST_DIR_OVERRIDE)
            .or_else(|| std::env::var_os("CARGO_MANIFEST_DIR"))
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        Settings {
            catalog: catalog.into(),
            base_dir: base,
            ..Settings::default()
        }
    }

    /// Settings for the command line: `catalog` as given (relative to `cwd`, the
    /// working directory), diagnostics shown relative to `cwd`.
    pub fn for_cli(catalog: impl Into<PathBuf>, cwd: impl Into<PathBuf>) -> Self {
        Settings {
            catalog: catalog.into(),
            base_dir: cwd.into(),
            ..Settings::default()
        }
    }

    /// The catalog path with `$VAR` / `${VAR}` expanded and joined to the base.
    pub fn resolved_catalog(&self) -> Result<PathBuf, String> {
        let text = self.catalog.to_string_lossy();
        let expanded = expand_vars(&text)?;
        let p = Path::new(&expanded);
        Ok(if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        })
    }

    /// The runtime path as tokens.
    pub fn runtime_path_tokens(&self) -> TokenStream {
        self.runtime_path
            .parse()
            .unwrap_or_else(|_| quote::quote!(::skillcore_events))
    }
}

/// Expands `$VAR` and `${VAR}` from the environment.
fn expand_vars(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        let (name, after) = if let Some(r) = rest.strip_prefix('{') {
            match r.find('}') {
                Some(end) => (&r[..end], &r[end + 1..]),
                None => return Err(format!("unclosed `${{` in catalog path `{s}`")),
            }
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        if name.is_empty() {
            out.push('$');
        } else {
            match std::env::var(name) {
                Ok(v) => out.push_str(&v),
                Err(_) => {
                    return Err(format!(
                        "catalog path `{s}` uses `${name}`, which is not set"
                    ))
                }
            }
        }
        rest = after;
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vars_are_expanded() {
        std::env::set_var("SKC_TEST_DIR", "/x/y");
        assert_eq!(expand_vars("$SKC_TEST_DIR/c.yaml").unwrap(), "/x/y/c.yaml");
        assert_eq!(expand_vars("${SKC_TEST_DIR}/c").unwrap(), "/x/y/c");
        assert_eq!(expand_vars("plain/path").unwrap(), "plain/path");
        assert!(expand_vars("$SKC_SURELY_UNSET_VAR/c")
            .unwrap_err()
            .contains("not set"));
    }

    #[test]
    fn relative_paths_join_the_base() {
        let s = Settings {
            catalog: "catalog".into(),
            base_dir: "/crate".into(),
            ..Settings::default()
        };
        assert_eq!(
            s.resolved_catalog().unwrap(),
            PathBuf::from("/crate/catalog")
        );
    }
}
