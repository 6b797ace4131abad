//! Schema evolution: the lock of released versions, the classifier of changes,
//! and the checks the build and `skillcore-events diff` run with them.
//!
//! - [`lock`]: the lock file, its one text layout and its reader;
//! - [`shape`]: the payload shape of one version, what the lock records;
//! - [`mod@classify`]: every difference between two shapes, with its rule id and
//!   whether it is backward and forward compatible;
//! - [`mod@check`]: a catalog against its lock (`breaking-change`, `bad-rename`,
//!   `lock-file`), and one catalog against another ([`diff`]).
//!
//! ```
//! use skillcore_events_codegen::{compile_str, evolution::{relock, Lock, check}};
//! let v1 = compile_str("events.yaml", "catalog: demo\nevents:\n  a.b.posted:\n    description: d\n    aggregate: B\n    aggregate_id: id\n    payload:\n      id: string\n      score: number\n");
//! let lock = relock(None, &v1.catalog);
//! // A required field added without a default, still at version 1:
//! let v1b = compile_str("events.yaml", "catalog: demo\nevents:\n  a.b.posted:\n    description: d\n    aggregate: B\n    aggregate_id: id\n    payload:\n      id: string\n      score: number\n      scale: number\n");
//! let found = check(&v1b.catalog, &v1b.sources, &lock);
//! assert_eq!(found[0].rule.id(), "breaking-change");
//! assert!(found[0].message.contains("field `scale` is added (required)"));
//! assert_eq!(found[0].help.as_deref(), Some("make `scale` optional or give it a `default`, or bump `version` to 2"));
//! ```

pub mod chain;
pub mod check;
pub mod classify;
pub mod lock;
mod lock_fast;
pub mod shape;

pub use chain::{chain, older_versions, Step};
#[doc(hidden)]
pub use check::check_unoptimized;
pub use check::{check, diff, Classified};
pub use classify::{allowed, classify, has_change, Change, ChangeKind};
pub use lock::{lock_path, Lock};
pub use shape::{EventShape, FieldShape, TypeShape};

use crate::model::Catalog;

impl Lock {
    /// Every event of `catalog` as if it were released now, one entry each:
    /// the old side of `diff` when it is a catalog.
    pub fn of(catalog: &Catalog) -> Lock {
        Lock {
            catalog: catalog.name.clone(),
            events: catalog
                .events
                .iter()
                .map(|e| (e.name.clone(), vec![EventShape::of(catalog, e)]))
                .collect(),
            ..Lock::default()
        }
    }
}

/// The lock after releasing `catalog`: `old`'s history with each event's
/// current shape appended where it differs from the last one released for its
/// version. An event renamed with `renamed_from` keeps its history under its
/// new name; an event gone from the catalog leaves the lock (the build only
/// lets a deprecated one go). Call it on a catalog that passes [`check()`].
pub fn relock(old: Option<&Lock>, catalog: &Catalog) -> Lock {
    let mut events = std::collections::BTreeMap::new();
    for e in &catalog.events {
        let mut hist: Vec<EventShape> = old
            .and_then(|l| {
                l.history(&e.name)
                    .or_else(|| e.renamed_from.as_deref().and_then(|r| l.history(r)))
            })
            .map(<[EventShape]>::to_vec)
            .unwrap_or_default();
        let now = EventShape::of(catalog, e);
        let same = hist
            .iter()
            .rev()
            .find(|s| s.version == now.version)
            .is_some_and(|s| entry_text(&e.name, s) == entry_text(&e.name, &now));
        if !same {
            hist.push(now);
        }
        events.insert(e.name.clone(), hist);
    }
    Lock {
        catalog: catalog.name.clone(),
        events,
        ..Lock::default()
    }
}

/// An entry as the lock writes it: two entries are the same release when
/// their texts are equal (spans and order of discovery do not count).
fn entry_text(key: &str, s: &EventShape) -> String {
    let mut out = String::new();
    lock::render_entry(&mut out, key, s);
    out
}
