//! The catalog check: registered handlers compared with the catalog's
//! `handlers:` lists.

use super::dispatch::Dispatcher;
use crate::EventInfo;
use std::fmt;

/// One (event, handler) pair in a [`CatalogReport`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HandlerRef {
    /// Event name.
    pub event: String,
    /// Handler id.
    pub handler: String,
}

impl fmt::Display for HandlerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` for `{}`", self.handler, self.event)
    }
}

/// Registered handlers compared with the catalog's `handlers:` lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CatalogReport {
    /// Declared in the catalog, not registered in this bus.
    pub missing: Vec<HandlerRef>,
    /// Registered, not declared in the catalog.
    pub undeclared: Vec<HandlerRef>,
    /// Registered for an event the catalog does not have.
    pub unknown_events: Vec<HandlerRef>,
}

impl CatalogReport {
    /// `true` when registrations and catalog agree.
    pub fn is_ok(&self) -> bool {
        self.missing.is_empty() && self.undeclared.is_empty() && self.unknown_events.is_empty()
    }
}

impl fmt::Display for CatalogReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ok() {
            return f.write_str("registered handlers match the catalog");
        }
        let mut first = true;
        let mut section = |f: &mut fmt::Formatter<'_>, title: &str, list: &[HandlerRef]| {
            if list.is_empty() {
                return Ok(());
            }
            if !first {
                f.write_str("\n")?;
            }
            first = false;
            write!(f, "{title} ({}):", list.len())?;
            for h in list {
                write!(f, "\n  {h}")?;
            }
            Ok(())
        };
        section(
            f,
            "declared in the catalog but not registered",
            &self.missing,
        )?;
        section(
            f,
            "registered but not declared in the catalog",
            &self.undeclared,
        )?;
        section(
            f,
            "registered for events the catalog does not have",
            &self.unknown_events,
        )
    }
}

pub(crate) fn verify(d: &Dispatcher) -> CatalogReport {
    let mut report = CatalogReport::default();
    // Without an explicit catalog, compare with the entries of the events
    // that have handlers.
    let mut infos: Vec<&'static EventInfo> = match d.catalog {
        Some(c) => c.iter().collect(),
        None => d.subscribers.iter().filter_map(|s| s.info).collect(),
    };
    infos.sort_by_key(|i| i.name);
    infos.dedup_by_key(|i| i.name);
    for info in &infos {
        for declared in info.handlers {
            if d.subscriber(info.name, declared).is_none() {
                report.missing.push(HandlerRef {
                    event: info.name.into(),
                    handler: (*declared).into(),
                });
            }
        }
    }
    for s in &d.subscribers {
        let r = HandlerRef {
            event: s.event.into(),
            handler: s.id.into(),
        };
        match infos.iter().find(|i| i.name == s.event) {
            Some(info) if info.handlers.contains(&s.id) => {}
            Some(_) => report.undeclared.push(r),
            None => report.unknown_events.push(r),
        }
    }
    report.missing.sort();
    report.undeclared.sort();
    report.unknown_events.sort();
    report
}
