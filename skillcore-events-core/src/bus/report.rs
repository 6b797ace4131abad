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

    /// For a registered handler the catalog does not declare (one of
    /// [`CatalogReport::undeclared`] or [`CatalogReport::unknown_events`]),
    /// the declared-but-not-registered handler whose id is closest to its
    /// id: what a typo in `name = "…"` meant. One of the same event first.
    ///
    /// ```
    /// use skillcore_events::{CatalogReport, HandlerRef};
    /// let r = |event: &str, handler: &str| HandlerRef { event: event.into(), handler: handler.into() };
    /// let report = CatalogReport {
    ///     missing: vec![r("gradebook.grade.posted", "analytics.update_gpa")],
    ///     undeclared: vec![r("gradebook.grade.posted", "analytics.update_gap")],
    ///     unknown_events: vec![],
    /// };
    /// let hint = report.suggestion(&report.undeclared[0]).unwrap();
    /// assert_eq!(hint.handler, "analytics.update_gpa");
    /// ```
    pub fn suggestion(&self, registered: &HandlerRef) -> Option<&HandlerRef> {
        let close = |h: &&HandlerRef| {
            let d = strsim::damerau_levenshtein(&h.handler, &registered.handler);
            (d <= (registered.handler.len() / 3).max(2)).then_some(d)
        };
        let best = |same_event: bool| {
            self.missing
                .iter()
                .filter(|h| (h.event == registered.event) == same_event)
                .filter_map(|h| close(&h).map(|d| (d, h)))
                .min_by_key(|(d, _)| *d)
                .map(|(_, h)| h)
        };
        best(true).or_else(|| best(false))
    }
}

impl fmt::Display for CatalogReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ok() {
            return f.write_str("registered handlers match the catalog");
        }
        let mut first = true;
        let mut section =
            |f: &mut fmt::Formatter<'_>, title: &str, list: &[HandlerRef], hints: bool| {
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
                    if let Some(s) = hints.then(|| self.suggestion(h)).flatten() {
                        if s.event == h.event {
                            write!(f, " (did you mean `{}`?)", s.handler)?;
                        } else {
                            write!(f, " (did you mean {s}?)")?;
                        }
                    }
                }
                Ok(())
            };
        section(
            f,
            "declared in the catalog but not registered",
            &self.missing,
            false,
        )?;
        section(
            f,
            "registered but not declared in the catalog",
            &self.undeclared,
            true,
        )?;
        section(
            f,
            "registered for events the catalog does not have",
            &self.unknown_events,
            true,
        )
    }
}

pub(crate) fn verify(d: &Dispatcher) -> CatalogReport {
    // Without an explicit catalog, compare with the entries of the events
    // that have handlers.
    let infos: Vec<&'static EventInfo> = match d.catalog {
        Some(c) => c.iter().collect(),
        None => d.subscribers.iter().filter_map(|s| s.info).collect(),
    };
    compare(infos, d.subscribers.iter().map(|s| (s.event, s.id)))
}

/// `registered` (event, handler id) pairs compared with the `handlers:`
/// lists of `infos`.
pub(crate) fn compare<'a>(
    mut infos: Vec<&'static EventInfo>,
    registered: impl Iterator<Item = (&'a str, &'a str)> + Clone,
) -> CatalogReport {
    let mut report = CatalogReport::default();
    infos.sort_by_key(|i| i.name);
    infos.dedup_by_key(|i| i.name);
    for info in &infos {
        for declared in info.handlers {
            if !registered
                .clone()
                .any(|(e, h)| e == info.name && h == *declared)
            {
                report.missing.push(HandlerRef {
                    event: info.name.into(),
                    handler: (*declared).into(),
                });
            }
        }
    }
    for (event, handler) in registered {
        let r = HandlerRef {
            event: event.into(),
            handler: handler.into(),
        };
        match infos.iter().find(|i| i.name == event) {
            Some(info) if info.handlers.contains(&handler) => {}
            Some(_) => report.undeclared.push(r),
            None => report.unknown_events.push(r),
        }
    }
    report.missing.sort();
    report.undeclared.sort();
    report.unknown_events.sort();
    report
}

/// Start-up warnings: one per declared handler the bus does not run and one
/// per registered handler the catalog does not declare (with the declared
/// name it is closest to). Declared handlers of events this bus handles none
/// of (another service's, when a catalog is shared) are one summary line, so
/// a bus given the whole catalog does not print a line per foreign handler.
pub(crate) fn warn_mismatches(dispatcher: &Dispatcher, report: &CatalogReport) {
    if report.is_ok() {
        return;
    }
    let mut foreign = Vec::new();
    for h in &report.missing {
        if dispatcher.route(&h.event).is_none() {
            foreign.push(h);
            continue;
        }
        tracing::warn!(
            target: "skillcore_events::bus::catalog",
            event_name = h.event.as_str(),
            handler_id = h.handler.as_str(),
            "handler `{}` of `{}` is declared in the catalog but this bus does not run it",
            h.handler,
            h.event
        );
    }
    for h in &report.undeclared {
        let hint = report
            .suggestion(h)
            .map(|s| format!(" (did you mean `{}`?)", s.handler))
            .unwrap_or_default();
        tracing::warn!(
            target: "skillcore_events::bus::catalog",
            event_name = h.event.as_str(),
            handler_id = h.handler.as_str(),
            "handler `{}` of `{}` runs on this bus but the catalog does not declare it{hint}",
            h.handler,
            h.event
        );
    }
    for h in &report.unknown_events {
        tracing::warn!(
            target: "skillcore_events::bus::catalog",
            event_name = h.event.as_str(),
            handler_id = h.handler.as_str(),
            "handler `{}` runs on this bus for `{}`, an event the catalog does not have",
            h.handler,
            h.event
        );
    }
    if !foreign.is_empty() {
        let mut events: Vec<&str> = foreign.iter().map(|h| h.event.as_str()).collect();
        events.dedup();
        // A few by name; the whole list is `EventBus::verify_catalog`'s.
        const SHOWN: usize = 3;
        let mut named: Vec<String> = foreign.iter().take(SHOWN).map(|h| h.to_string()).collect();
        if foreign.len() > SHOWN {
            named.push(format!("and {} more", foreign.len() - SHOWN));
        }
        tracing::warn!(
            target: "skillcore_events::bus::catalog",
            handlers = foreign.len(),
            events = events.len(),
            "{} handler(s) declared in the catalog for {} event(s) this bus handles none of \
             are not run here (another service's?): {} (all of them: EventBus::verify_catalog)",
            foreign.len(),
            events.len(),
            named.join(", ")
        );
    }
}
