//! The upcast chain of an event: one step per released version, from each to
//! the next, the last into the current version. A step whose changes are all
//! backward compatible is generated (renames, defaults, dropped fields: the
//! same upcast the classifier's soundness test applies); any other step needs
//! a function the catalog names under `upcast:`.

use super::classify::{classify, has_change, Change};
use super::shape::EventShape;

/// One step of a chain.
#[derive(Clone, Debug)]
pub struct Step<'a> {
    /// The released shape the step takes (the last one released of its version).
    pub from: &'a EventShape,
    /// The shape it makes: the next released version's, or the current one.
    pub to: &'a EventShape,
    /// Whether `to` is the catalog's current version.
    pub to_current: bool,
    /// The changes no generated step can make (not backward compatible):
    /// empty for a generated step.
    pub incompatible: Vec<Change>,
}

/// The last released shape of every version older than `current`'s, oldest first.
pub fn older_versions(history: &[EventShape], current: u32) -> Vec<&EventShape> {
    let mut out: Vec<&EventShape> = Vec::new();
    for s in history.iter().filter(|s| s.version < current) {
        match out.iter_mut().find(|o| o.version == s.version) {
            Some(o) => *o = s, // entries are in release order: the later wins
            None => out.push(s),
        }
    }
    out.sort_by_key(|s| s.version);
    out
}

/// The steps from the oldest released version to `current`.
pub fn chain<'a>(history: &'a [EventShape], current: &'a EventShape) -> Vec<Step<'a>> {
    chain_with(history, current, true)
}

/// [`chain`]; with `probe`, a step is classified in full only when
/// [`has_change`] finds an incompatible change in it (the same steps either
/// way: `false` is for the test that holds the two to that).
pub(super) fn chain_with<'a>(
    history: &'a [EventShape],
    current: &'a EventShape,
    probe: bool,
) -> Vec<Step<'a>> {
    let older = older_versions(history, current.version);
    let mut steps = Vec::with_capacity(older.len());
    for (i, from) in older.iter().enumerate() {
        let (to, to_current) = match older.get(i + 1) {
            Some(next) => (*next, false),
            None => (current, true),
        };
        let incompatible = if !probe || has_change(from, to, &|backward, _| !backward) {
            classify(from, to)
                .into_iter()
                .filter(|c| !c.backward)
                .collect()
        } else {
            Vec::new()
        };
        steps.push(Step {
            from,
            to,
            to_current,
            incompatible,
        });
    }
    steps
}
