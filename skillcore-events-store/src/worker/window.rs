//! How many deliveries [`Worker::run`](super::Worker::run) holds at once and
//! how it claims them: a window that adapts to how fast the handlers are, as a
//! congestion window adapts to its path (`docs/design.md`, "The claim window
//! adapts").

/// The smallest claim worth a database step of its own: [`Worker::run`](super::Worker::run)
/// keeps two steps in flight only when each can claim at least this many.
const PIPELINE_MIN_BATCH: usize = 32;

/// The most deliveries a worker without a set prefetch claims ahead of its
/// handler slots: see [`Window`].
pub(super) const ADAPTIVE_MAX_AHEAD: usize = 2048;

/// How many deliveries [`Worker::run`](super::Worker::run) holds at most, and how it claims them.
///
/// With a prefetch set ([`WorkerBuilder::prefetch`](super::WorkerBuilder::prefetch))
/// the worker holds `concurrency + prefetch`. Without one it starts at
/// `2 x concurrency` and adapts to its handlers: when a claim came back full
/// and, while it was in flight, a handler slot stood free with nothing to
/// start (the handlers are faster than the database step), the window
/// doubles, up to `concurrency +` [`ADAPTIVE_MAX_AHEAD`]; when deliveries claimed ahead
/// waited for a slot the whole time a step was in flight (the handlers are
/// the bottleneck), it halves, never below where it started. Fast handlers
/// thus get big claims (fewer round trips per delivery), and slow ones do not
/// hoard deliveries that other workers could run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Window {
    /// Held now.
    pub(super) in_hand: usize,
    /// Never below this...
    floor: usize,
    /// ... nor above this (equal when the prefetch was set).
    cap: usize,
}

impl Window {
    /// The window of a worker of `concurrency` slots and, if set, `prefetch`.
    pub(super) fn new(concurrency: usize, prefetch: Option<usize>) -> Window {
        match prefetch {
            Some(p) => {
                let n = concurrency.saturating_add(p);
                Window {
                    in_hand: n,
                    floor: n,
                    cap: n,
                }
            }
            None => {
                let floor = concurrency.saturating_mul(2);
                Window {
                    in_hand: floor,
                    floor,
                    cap: floor.max(concurrency.saturating_add(ADAPTIVE_MAX_AHEAD)),
                }
            }
        }
    }

    /// Back to where it started: after a worker died, each delivery that
    /// runs alone hands back what was claimed with it, so big claims would
    /// only be claimed again and again.
    pub(super) fn reset(&mut self) {
        self.in_hand = self.floor;
    }

    /// The most it may hold: what leases must cover.
    pub(super) fn cap(self) -> usize {
        self.cap
    }

    /// How many database steps may be in flight at once, and the most each
    /// claims. When half of what the worker may hold is still a sizeable
    /// batch, two steps are in flight under a backlog, each claiming at most
    /// that half, so the database works on the next step while this side
    /// reads and starts the previous one's deliveries (on SQLite the two queue
    /// on the one writer; on PostgreSQL they run side by side on two
    /// connections). Below that, a step's fixed cost outweighs the overlap:
    /// one step, whole batches.
    pub(super) fn shape(self) -> (usize, usize) {
        if self.in_hand / 2 >= PIPELINE_MIN_BATCH {
            (2, self.in_hand.div_ceil(2))
        } else {
            (1, self.in_hand)
        }
    }

    /// After a step that claimed: `full` when it got all it asked for,
    /// `starved` when, since the last step came back, handlers finished and a
    /// slot then stood free with nothing to start while a step was in flight,
    /// `waited` when deliveries claimed earlier still wait for a slot (and
    /// none stood free for lack of work).
    pub(super) fn adapt(&mut self, full: bool, starved: bool, waited: bool) {
        if full && starved {
            self.in_hand = self.in_hand.saturating_mul(2).min(self.cap);
        } else if waited && !starved {
            self.in_hand = (self.in_hand / 2).max(self.floor);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Window, ADAPTIVE_MAX_AHEAD};

    #[test]
    fn a_set_prefetch_holds_the_window_where_it_is() {
        let mut w = Window::new(8, Some(4));
        assert_eq!(w.in_hand, 12);
        w.adapt(true, true, false);
        assert_eq!(w.in_hand, 12);
        w.adapt(true, false, true);
        assert_eq!(w.in_hand, 12);
        assert_eq!(w.cap(), 12);
        assert_eq!(w.shape(), (1, 12), "below two batches of 32: one step");
    }

    #[test]
    fn the_window_doubles_while_handlers_starve_up_to_the_cap() {
        let mut w = Window::new(12, None);
        assert_eq!((w.in_hand, w.shape()), (24, (1, 24)));
        let mut seen = vec![w.in_hand];
        for _ in 0..10 {
            w.adapt(true, true, false);
            seen.push(w.in_hand);
        }
        assert_eq!(
            seen,
            [24, 48, 96, 192, 384, 768, 1536, 2060, 2060, 2060, 2060]
        );
        assert_eq!(w.shape(), (2, 1030));
        assert_eq!(w.cap(), 12 + ADAPTIVE_MAX_AHEAD);
    }

    #[test]
    fn the_window_does_not_grow_on_a_short_claim_or_without_starving() {
        let mut w = Window::new(12, None);
        w.adapt(false, true, false);
        assert_eq!(w.in_hand, 24, "a claim that came back short: no backlog");
        w.adapt(true, false, false);
        assert_eq!(w.in_hand, 24, "the handlers never waited for work");
    }

    #[test]
    fn the_window_halves_while_claimed_deliveries_wait_never_below_its_floor() {
        let mut w = Window::new(12, None);
        for _ in 0..7 {
            w.adapt(true, true, false);
        }
        assert_eq!(w.in_hand, 2060);
        w.adapt(true, false, true);
        assert_eq!(w.in_hand, 1030);
        for _ in 0..10 {
            w.adapt(true, false, true);
        }
        assert_eq!(w.in_hand, 24);
        w.adapt(true, true, true);
        assert_eq!(w.in_hand, 48, "a free slot wins over leftovers");
    }

    #[test]
    fn a_reset_brings_the_window_back_to_its_floor() {
        let mut w = Window::new(4, None);
        w.adapt(true, true, false);
        w.adapt(true, true, false);
        assert_eq!(w.in_hand, 32);
        w.reset();
        assert_eq!((w.in_hand, w.shape()), (8, (1, 8)));
        let mut fixed = Window::new(4, Some(100));
        fixed.reset();
        assert_eq!(fixed.in_hand, 104);
    }

    #[test]
    fn a_concurrency_above_the_most_ahead_keeps_twice_its_slots() {
        let mut w = Window::new(4000, None);
        assert_eq!((w.in_hand, w.cap()), (8000, 8000));
        w.adapt(true, true, false);
        assert_eq!(w.in_hand, 8000);
        assert_eq!(w.shape(), (2, 4000));
        let mut w = Window::new(1000, None);
        w.adapt(true, true, false);
        assert_eq!((w.in_hand, w.cap()), (3048, 3048));
    }
}
