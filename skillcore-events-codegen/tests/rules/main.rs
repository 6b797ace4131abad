//! Validation rules, checked without rustc: every rule id with a minimal bad
//! catalog (rule, line, column, message and help asserted exactly), and good
//! catalogs with the model they produce. One module per group of rules;
//! the helpers below are shared.

use skillcore_events_codegen::model::{BaseType, TypeKind};
use skillcore_events_codegen::{compile_str, Compiled, Diagnostic, Rule};
use std::path::PathBuf;

fn compile(yaml: &str) -> Compiled {
    compile_str("t.yaml", yaml)
}

/// `(rule id, line, column)` of every diagnostic, in order.
fn positions(c: &Compiled) -> Vec<(&'static str, u32, u32)> {
    c.diagnostics
        .iter()
        .map(|d| {
            let l = d.location.as_ref().expect("located diagnostic");
            (d.rule.id(), l.line, l.column)
        })
        .collect()
}

/// The only diagnostic of `yaml`, checked to be `rule` at `line:col`.
#[track_caller]
fn only(yaml: &str, rule: &str, line: u32, col: u32) -> Diagnostic {
    let c = compile(yaml);
    assert_eq!(
        positions(&c),
        vec![(Rule::from_id(rule).expect("rule id").id(), line, col)],
        "\n{}",
        c.render_diagnostics()
    );
    c.diagnostics.into_iter().next().unwrap()
}

fn help(d: &Diagnostic) -> &str {
    d.help.as_deref().unwrap_or("<no help>")
}

/// A valid event, to append things to. Lines 1-7.
const GOOD: &str = "events:
  gradebook.grade.posted:
    description: Grade posted
    aggregate: Result
    aggregate_id: resultId
    payload:
      resultId: uuid
";

/// The same event with `name` instead of `gradebook.grade.posted`.
fn event_named(name: &str) -> String {
    GOOD.replace("gradebook.grade.posted", name)
}

mod document;
mod examples;
mod files;
mod good;
mod names;
mod types;
