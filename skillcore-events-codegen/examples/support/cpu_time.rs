//! Thread CPU time for the timing examples.

use std::time::Duration;

/// CPU time of this thread: unlike wall time it does not grow when other
/// processes compete for the cores (Linux `schedstat`; wall time elsewhere).
#[derive(Clone, Copy)]
pub struct Instant(Duration);

impl Instant {
    pub fn now() -> Self {
        let cpu = std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok());
        Instant(match cpu {
            Some(ns) => Duration::from_nanos(ns),
            None => START.elapsed(),
        })
    }
}

impl std::ops::Sub for Instant {
    type Output = Duration;
    fn sub(self, other: Instant) -> Duration {
        self.0.saturating_sub(other.0)
    }
}

static START: std::sync::LazyLock<std::time::Instant> =
    std::sync::LazyLock::new(std::time::Instant::now);
