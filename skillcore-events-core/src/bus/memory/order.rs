//! Per-aggregate ordering for handlers that ask for it
//! ([`HandlerOptions::ordered`](crate::HandlerOptions#structfield.ordered)):
//! each (handler, aggregate) is a line; a delivery takes a ticket when its
//! event is accepted (in publish order) and runs when the line reaches it,
//! after the delivery before it succeeded, was dead-lettered or abandoned.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// The lines of every ordered handler, by (subscriber index, aggregate id).
#[derive(Default)]
pub(super) struct Lines {
    lines: Mutex<HashMap<(u32, Box<str>), Line>>,
}

struct Line {
    /// Tickets handed out.
    issued: u64,
    /// The ticket whose turn it is.
    serving: u64,
    turn: Arc<Notify>,
}

/// A place in one line; dropping it (however the delivery ended, including
/// cancellation) lets the next one go.
pub(super) struct Ticket {
    lines: Arc<Lines>,
    key: (u32, Box<str>),
    number: u64,
    turn: Arc<Notify>,
}

impl Lines {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(u32, Box<str>), Line>> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A ticket at the end of the line of `subscriber` for `aggregate`.
    pub(super) fn enter(self: &Arc<Self>, subscriber: u32, aggregate: &str) -> Ticket {
        let key = (subscriber, Box::<str>::from(aggregate));
        let mut lines = self.lock();
        let line = lines.entry(key.clone()).or_insert_with(|| Line {
            issued: 0,
            serving: 0,
            turn: Arc::new(Notify::new()),
        });
        let number = line.issued;
        line.issued += 1;
        Ticket {
            lines: Arc::clone(self),
            key,
            number,
            turn: Arc::clone(&line.turn),
        }
    }

    fn is_turn(&self, t: &Ticket) -> bool {
        self.lock()
            .get(&t.key)
            .is_none_or(|l| l.serving == t.number)
    }
}

impl Ticket {
    /// Resolves when every delivery before this one in its line is over.
    pub(super) async fn turn(&self) {
        loop {
            let notified = self.turn.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.lines.is_turn(self) {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut lines = self.lines.lock();
        let Some(line) = lines.get_mut(&self.key) else {
            return;
        };
        // Tickets end in order (each waits for the one before), except when
        // the bus is cancelled at shutdown: then every waiting one ends, and
        // the line only moves forward.
        line.serving = line.serving.max(self.number + 1);
        if line.serving >= line.issued {
            lines.remove(&self.key);
        } else {
            line.turn.notify_waiters();
        }
    }
}
