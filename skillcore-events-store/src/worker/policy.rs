//! What the worker needs of a handler's resolved policy: the bus's
//! [`RetryPolicy`] (one retry rule for every backend), the lease bound and
//! the ordering flag, taken from the bus's [`Subscriber`].

use skillcore_events::backend::Subscriber;
use skillcore_events::RetryPolicy;
use std::time::Duration;

/// Retry and timing policy of one handler, as the worker uses it.
///
/// Its delays are the bus's ([`RetryPolicy::delay`]): `backoff` doubled after
/// each failed attempt, capped at `max_backoff`, spread by `jitter` around
/// that nominal value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Policy {
    /// Attempts in all, the first included (default 3).
    pub(crate) max_attempts: u32,
    /// Delay before the second attempt; doubles each time (default 2 s).
    pub(crate) backoff: Duration,
    /// Longest delay between attempts (default 5 min).
    pub(crate) max_backoff: Duration,
    /// Random spread of each delay, as a fraction: 0.2 draws each delay from
    /// ±20 % around its nominal value; 0 disables jitter (default 0.2, as
    /// [`RetryPolicy`]).
    pub(crate) jitter: f64,
    /// An attempt running longer fails (default 30 s).
    pub(crate) timeout: Duration,
    /// Events of one aggregate are handled one at a time, in order.
    pub(crate) ordered: bool,
}

impl Default for Policy {
    fn default() -> Self {
        let retry = RetryPolicy::default();
        Policy {
            max_attempts: retry.attempts,
            backoff: retry.backoff,
            max_backoff: retry.max_backoff,
            jitter: retry.jitter,
            timeout: retry.timeout.unwrap_or(Duration::from_secs(30)),
            ordered: false,
        }
    }
}

impl Policy {
    /// The policy of a bus subscriber. The dispatcher enforces the handler's
    /// own timeout on each attempt; the worker's bounds the lease and cuts
    /// off an attempt only a little after that (an hour for a handler
    /// without a timeout): see [`lease_bound`].
    pub(crate) fn of(sub: &Subscriber) -> Policy {
        let p = &sub.policy;
        Policy {
            max_attempts: p.attempts.max(1),
            backoff: p.backoff,
            max_backoff: p.max_backoff,
            jitter: p.jitter,
            timeout: lease_bound(p.timeout.unwrap_or(Duration::from_secs(3600))),
            ordered: sub.ordered,
        }
    }

    /// The bus's retry policy with this one's attempts, delays and timeout.
    pub(crate) fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            attempts: self.max_attempts,
            backoff: self.backoff,
            max_backoff: self.max_backoff,
            jitter: self.jitter,
            timeout: Some(self.timeout),
        }
    }

    /// The delay before attempt `attempt + 1`, jittered from `seed` so that
    /// failures of many deliveries do not retry in lockstep
    /// ([`RetryPolicy::delay`]).
    #[inline]
    pub(crate) fn delay_after(&self, attempt: u32, seed: u64) -> Duration {
        self.retry_policy().delay(attempt, seed)
    }
}

/// The worker's own limit of an attempt whose handler times out after
/// `timeout`: later than the dispatcher's, so the handler's timeout is what
/// is reported, by a tenth of it (at least 10 ms, at most a second: 31 s for
/// the default 30 s).
fn lease_bound(timeout: Duration) -> Duration {
    timeout + (timeout / 10).clamp(Duration::from_millis(10), Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_bound_is_a_little_past_the_handlers_timeout() {
        assert_eq!(
            lease_bound(Duration::from_secs(30)),
            Duration::from_secs(31)
        );
        assert_eq!(
            lease_bound(Duration::from_millis(120)),
            Duration::from_millis(132)
        );
        assert_eq!(
            lease_bound(Duration::from_millis(20)),
            Duration::from_millis(30)
        );
    }

    #[test]
    fn defaults_are_the_bus_defaults() {
        let p = Policy::default();
        assert_eq!(p.retry_policy(), RetryPolicy::default());
        assert!(!p.ordered);
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let p = Policy {
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(10),
            ..Policy::default()
        };
        assert_eq!(p.jitter, 0.2);
        for seed in [1u64, 42, 7_000_000_007, u64::MAX] {
            let d1 = p.delay_after(1, seed);
            let d2 = p.delay_after(2, seed);
            let d5 = p.delay_after(5, seed);
            assert!(
                d1 <= Duration::from_millis(2400) && d1 >= Duration::from_millis(1600),
                "{d1:?}"
            );
            assert!(
                d2 <= Duration::from_millis(4800) && d2 >= Duration::from_millis(3200),
                "{d2:?}"
            );
            assert!(
                d5 <= Duration::from_secs(12) && d5 >= Duration::from_secs(8),
                "{d5:?}"
            );
        }
        let spread: std::collections::HashSet<_> =
            (0..50u64).map(|s| p.delay_after(1, s * 7919)).collect();
        assert!(spread.len() > 10, "jitter must vary: {}", spread.len());
        // Both sides of the nominal delay are drawn.
        let delays: Vec<_> = (0..200u64).map(|s| p.delay_after(1, s * 7919)).collect();
        assert!(delays.iter().any(|d| *d < Duration::from_secs(2)));
        assert!(delays.iter().any(|d| *d > Duration::from_secs(2)));
        // No jitter: the nominal delays, capped.
        let exact = Policy { jitter: 0.0, ..p };
        assert_eq!(exact.delay_after(1, 7), Duration::from_secs(2));
        assert_eq!(exact.delay_after(2, 7), Duration::from_secs(4));
        assert_eq!(exact.delay_after(5, 7), Duration::from_secs(10));
    }
}
