//! The retry rule every backend applies: attempts, exponential backoff with
//! jitter, a per-attempt timeout; the bus default overridden per handler.

use crate::handler::HandlerOptions;
use crate::ids::splitmix64;
use std::time::Duration;

/// How failed attempts are retried; the bus default, overridden per handler
/// by [`HandlerOptions`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, at least 1 (default 3, as the original system).
    pub attempts: u32,
    /// Delay before the first retry (default 2 s); doubled for each further one.
    pub backoff: Duration,
    /// Upper bound of one nominal delay (default 5 min); jitter then spreads
    /// it like any other, so a delay may exceed it by the jitter fraction.
    pub max_backoff: Duration,
    /// Random spread of each delay, as a fraction: 0.2 draws each delay from
    /// ±20 % around its nominal value; 0 disables jitter (default 0.2).
    pub jitter: f64,
    /// Longest one attempt may run (default 30 s); `None` for no limit.
    pub timeout: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(300),
            jitter: 0.2,
            timeout: Some(Duration::from_secs(30)),
        }
    }
}

impl RetryPolicy {
    /// The nominal delay after failed attempt `attempt` (1-based), before jitter:
    /// `backoff * 2^(attempt-1)`, capped at `max_backoff`.
    pub fn nominal_delay(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(20);
        self.backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }

    /// The delay after failed attempt `attempt`, with jitter drawn from `seed`.
    pub fn delay(&self, attempt: u32, seed: u64) -> Duration {
        let nominal = self.nominal_delay(attempt);
        // A NaN or negative setting means no jitter, never a panic.
        if self.jitter.is_nan() || self.jitter <= 0.0 {
            return nominal;
        }
        let jitter = self.jitter.min(1.0);
        let unit = (splitmix64(seed) >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
        let factor = 1.0 - jitter + 2.0 * jitter * unit;
        Duration::try_from_secs_f64(nominal.as_secs_f64() * factor).unwrap_or(nominal)
    }

    pub(crate) fn with(mut self, o: &HandlerOptions) -> Self {
        if let Some(r) = o.retries {
            self.attempts = r.saturating_add(1);
        }
        if let Some(b) = o.backoff {
            self.backoff = b;
        }
        if let Some(t) = o.timeout {
            self.timeout = Some(t);
        }
        self.attempts = self.attempts.max(1);
        self
    }
}
