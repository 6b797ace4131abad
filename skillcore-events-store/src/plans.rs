//! What the query-plan tests of both dialects share (`sqlite/plans.rs`,
//! `postgres/plans.rs`): how a statement may reach the tables that grow, and
//! the verdict on one statement's plan. Each dialect reads its own plans and
//! finds its own whole reads.

/// How a statement may reach the growing tables.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Reach {
    /// No step reads a whole growing table: index searches and lookups by
    /// key only.
    Index,
    /// It reads a whole table or index, by design (named in the reason).
    Whole(&'static str),
}

/// Prints the plan of statement `name` (`steps`, of which `whole` read a whole
/// growing table) and says what is wrong with it under `reach`, if anything.
pub(crate) fn verdict(
    name: &str,
    reach: Reach,
    steps: &[String],
    whole: &[&str],
) -> Option<String> {
    println!("{name} ({reach:?}):");
    for s in steps {
        println!("    {s}");
    }
    match reach {
        Reach::Index if !whole.is_empty() => Some(format!("{name} reads a whole table: {whole:?}")),
        Reach::Whole(_) if whole.is_empty() => Some(format!(
            "{name} is listed as reading a whole table but no longer does: {steps:?} (list it as Reach::Index)"
        )),
        _ => None,
    }
}
