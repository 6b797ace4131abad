//! The retry and timing policy of one handler.

use std::time::Duration;

/// Retry and timing policy of one handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Attempts in all, the first included (default 3).
    pub max_attempts: u32,
    /// Delay before the second attempt; doubles each time (default 2 s).
    pub backoff: Duration,
    /// Longest delay between attempts (default 5 min).
    pub max_backoff: Duration,
    /// An attempt running longer fails (default 30 s).
    pub timeout: Duration,
    /// Events of one aggregate are handled one at a time, in order.
    pub ordered: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_attempts: 3,
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(300),
            timeout: Duration::from_secs(30),
            ordered: false,
        }
    }
}

impl Policy {
    /// The delay before attempt `attempt + 1`, with up to 20 % jitter so that
    /// failures of many deliveries do not retry in lockstep.
    pub fn delay_after(&self, attempt: u32, seed: u64) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        let base = self
            .backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        // xorshift64*: cheap, good enough to spread retries.
        let mut x = seed | 1;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11; // 53 bits
        let frac = r as f64 / (1u64 << 53) as f64; // [0, 1)
        base.mul_f64(1.0 - 0.2 * frac)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let p = Policy {
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(10),
            ..Policy::default()
        };
        for seed in [1u64, 42, 7_000_000_007, u64::MAX] {
            let d1 = p.delay_after(1, seed);
            let d2 = p.delay_after(2, seed);
            let d5 = p.delay_after(5, seed);
            assert!(
                d1 <= Duration::from_secs(2) && d1 >= Duration::from_millis(1600),
                "{d1:?}"
            );
            assert!(
                d2 <= Duration::from_secs(4) && d2 >= Duration::from_millis(3200),
                "{d2:?}"
            );
            assert!(
                d5 <= Duration::from_secs(10) && d5 >= Duration::from_secs(8),
                "{d5:?}"
            );
        }
        let spread: std::collections::HashSet<_> =
            (0..50u64).map(|s| p.delay_after(1, s * 7919)).collect();
        assert!(spread.len() > 10, "jitter must vary: {}", spread.len());
    }
}
