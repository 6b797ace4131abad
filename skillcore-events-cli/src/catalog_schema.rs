//! `skillcore-events catalog-schema [--output FILE]`: the JSON Schema of the
//! catalog format itself, for editors that use the YAML language server
//! (`# yaml-language-server: $schema=…` at the top of a catalog file). The
//! repository commits a copy as `schemas/catalog.schema.json`.

use crate::outcome::{print_stdout, Outcome, OK};
use crate::output;
use skillcore_events_codegen::ast::catalog_schema_text;
use std::path::Path;

/// Prints the schema, or writes it to `output` (untouched when up to date).
pub(crate) fn run(output: Option<&Path>) -> Outcome {
    let text = catalog_schema_text();
    match output {
        None => {
            print_stdout(&text)?;
            Ok(OK)
        }
        Some(file) => output::write_or_check_file(file, &text, false),
    }
}
