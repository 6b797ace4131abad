//! Reading the catalog for a command, through the codegen crate (the macro's
//! reader, rules and messages), with paths relative to the working directory.

use crate::outcome::{Failure, FINDINGS, USAGE_OR_IO};
use skillcore_events_codegen::diag::{self, Rule, Style};
use skillcore_events_codegen::source::BaseDir;
use skillcore_events_codegen::{Compiled, Settings};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The working directory.
pub(crate) fn cwd() -> Result<PathBuf, Failure> {
    std::env::current_dir().map_err(|e| Failure::usage(format!("no working directory: {e}")))
}

/// The settings for the catalog at `path`, relative to the working directory.
pub(crate) fn settings_for(path: &Path) -> Result<Settings, Failure> {
    Ok(Settings::for_cli(path, cwd()?))
}

/// Loads the catalog; `Err` when it cannot be read.
pub(crate) fn load(settings: &Settings) -> Result<Arc<Compiled>, Failure> {
    let path = settings.resolved_catalog().map_err(Failure::usage)?;
    let compiled = load_compiled(&path, settings);
    if let Some(d) = compiled
        .diagnostics
        .iter()
        .find(|d| d.rule == Rule::CatalogIo)
    {
        return Err(Failure {
            code: USAGE_OR_IO,
            message: d.render_with(&stderr_style()),
        });
    }
    Ok(compiled)
}

/// The codegen's (cached) load, with messages that speak of the working directory.
pub(crate) fn load_compiled(path: &Path, settings: &Settings) -> Arc<Compiled> {
    skillcore_events_codegen::load_from(path, &settings.base_dir, BaseDir::WorkingDir)
}

/// Loads the catalog and insists that it is valid (exports of a broken catalog
/// would be wrong).
pub(crate) fn load_valid(settings: &Settings) -> Result<Arc<Compiled>, Failure> {
    let compiled = load(settings)?;
    if !compiled.is_ok() {
        return Err(Failure {
            code: FINDINGS,
            message: diag::render_all(&compiled.diagnostics, &stderr_style()),
        });
    }
    Ok(compiled)
}

/// ANSI colours when stderr is a terminal and `NO_COLOR` is unset.
pub(crate) fn stderr_style() -> Style {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if !no_color && std::io::stderr().is_terminal() {
        Style::ansi()
    } else {
        Style::plain()
    }
}
