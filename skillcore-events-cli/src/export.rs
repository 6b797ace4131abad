//! The commands that turn a valid catalog into files or text: `schema`,
//! `asyncapi`, `docs` and `example`. Each refuses a catalog with violations
//! (exit 1): exports of a broken catalog would be wrong.
//!
//! With a lock beside the catalog, the exports describe every released
//! version: a schema file per version, an AsyncAPI message per version, and
//! the docs site's version histories and changelog.

use crate::args::AsyncFormat;
use crate::catalog::{load_valid, settings_for};
use crate::outcome::{print_stdout, Failure, Outcome, OK};
use crate::{output, term};
use skillcore_events_codegen::emit::{asyncapi, docs, example, schema};
use skillcore_events_codegen::naming;
use std::path::{Path, PathBuf};

/// `schema [PATH] --out DIR [--check] [--id-base URL]`.
pub(crate) fn schema(path: &Path, out: &Path, check: bool, id_base: String) -> Outcome {
    let mut settings = settings_for(path)?;
    settings.schema_id_base = id_base;
    let compiled = load_valid(&settings)?;
    let lock = compiled.lock.as_deref();
    let files = schema::export_with_history(&compiled.catalog, lock, &settings);
    // With a lock, the export is every version there is: a versioned file of
    // one of the catalog's events that it does not produce is stale.
    let names: Vec<&str> = match lock {
        Some(lock) => compiled
            .catalog
            .events
            .iter()
            .map(|e| e.name.as_str())
            .chain(lock.events.keys().map(String::as_str))
            .collect(),
        None => Vec::new(),
    };
    let stale = |file: &str| is_versioned_schema_of(file, &names);
    output::write_or_check_stale(out, files, check, "schema", &stale)
}

/// Whether `file` is `<name>.v<N>.schema.json` for one of `names`.
fn is_versioned_schema_of(file: &str, names: &[&str]) -> bool {
    let Some(stem) = file.strip_suffix(".schema.json") else {
        return false;
    };
    let Some((name, version)) = stem.rsplit_once(".v") else {
        return false;
    };
    !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()) && names.contains(&name)
}

/// `asyncapi [PATH] [--out FILE] [--format yaml|json] [--check] [--api-version V]`.
pub(crate) fn asyncapi(
    path: &Path,
    out: Option<PathBuf>,
    format: Option<AsyncFormat>,
    check: bool,
    api_version: String,
) -> Outcome {
    let mut settings = settings_for(path)?;
    settings.api_version = api_version;
    let compiled = load_valid(&settings)?;
    let format = match format {
        Some(AsyncFormat::Json) => asyncapi::Format::Json,
        Some(AsyncFormat::Yaml) => asyncapi::Format::Yaml,
        None if out
            .as_ref()
            .and_then(|o| o.extension())
            .is_some_and(|e| e == "json") =>
        {
            asyncapi::Format::Json
        }
        None => asyncapi::Format::Yaml,
    };
    let lock = compiled.lock.as_deref();
    let text = asyncapi::render_with_history(&compiled.catalog, lock, &settings, format);
    match out {
        None => {
            print_stdout(&text)?;
            Ok(OK)
        }
        Some(file) => output::write_or_check_file(&file, &text, check),
    }
}

/// `docs [PATH] --out DIR`.
pub(crate) fn docs(path: &Path, out: &Path) -> Outcome {
    let settings = settings_for(path)?;
    let compiled = load_valid(&settings)?;
    let lock = compiled.lock.as_deref();
    let site = docs::site_with_history(&compiled.catalog, &compiled.sources, lock, &settings);
    let code = output::write_or_check(out, site, false, "docs")?;
    println!(
        "open {}",
        term::escape_line(&out.join("index.html").display().to_string())
    );
    Ok(code)
}

/// `example NAME [PATH]`.
pub(crate) fn example(name: &str, path: &Path) -> Outcome {
    let settings = settings_for(path)?;
    let compiled = load_valid(&settings)?;
    let Some(e) = compiled.catalog.event(name) else {
        let mut msg = format!("no event `{name}` in the catalog");
        let names = compiled.catalog.events.iter().map(|e| e.name.as_str());
        if let Some(s) = naming::did_you_mean(name, names) {
            msg.push_str(&format!("\n  = help: did you mean `{s}`?"));
        }
        return Err(Failure::usage(msg));
    };
    print_stdout(&example::example(&compiled.catalog, e).to_json_pretty())?;
    Ok(OK)
}

#[cfg(test)]
mod tests {
    use super::is_versioned_schema_of;

    #[test]
    fn versioned_schema_files_are_recognised() {
        let names = ["a.b.posted", "a.b.gone"];
        assert!(is_versioned_schema_of("a.b.posted.v1.schema.json", &names));
        assert!(is_versioned_schema_of("a.b.gone.v12.schema.json", &names));
        assert!(!is_versioned_schema_of("a.b.other.v1.schema.json", &names));
        assert!(!is_versioned_schema_of("a.b.posted.v.schema.json", &names));
        assert!(!is_versioned_schema_of("a.b.posted.vx.schema.json", &names));
        assert!(!is_versioned_schema_of("envelope.schema.json", &names));
        assert!(!is_versioned_schema_of("a.b.posted.v1.json", &names));
    }
}
