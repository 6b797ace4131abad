//! Identifiers: event ids (UUID v7, made without a lock) and the small
//! mixing function behind them and behind the bus's backoff jitter.

use uuid::Uuid;

/// A new UUID v7 (RFC 9562): 48 bits of Unix milliseconds, then a 42-bit
/// counter that starts at a random value each millisecond and counts up
/// within it (so ids made on one thread are strictly increasing), then 32
/// random bits.
///
/// Unlike `Uuid::now_v7`, which takes a process-wide lock and asks the OS for
/// randomness on every call, the state is per thread and the random bits come
/// from a generator seeded once per thread from the OS (through std's
/// `RandomState`), so an id costs a clock read and a few multiplications.
///
/// ```
/// let a = skillcore_events::new_event_id();
/// let b = skillcore_events::new_event_id();
/// assert_eq!(a.get_version_num(), 7);
/// assert!(a < b);
/// ```
pub fn new_event_id() -> Uuid {
    use std::cell::Cell;
    use std::hash::BuildHasher;
    thread_local! {
        /// (last millisecond used, counter, generator state)
        static STATE: Cell<(u64, u64, u64)> = const { Cell::new((0, 0, 0)) };
    }
    const COUNTER_MAX: u64 = (1 << 42) - 1;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
        & ((1 << 48) - 1);
    STATE.with(|cell| {
        let (mut ms, mut counter, mut rng) = cell.get();
        if rng == 0 {
            rng = std::collections::hash_map::RandomState::new()
                .hash_one(std::thread::current().id())
                | 1;
        }
        rng = rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let r = splitmix64(rng);
        if now_ms > ms {
            ms = now_ms;
            // A random start in the lower half leaves room to count up.
            counter = (r >> 23) & (COUNTER_MAX >> 1);
        } else if counter < COUNTER_MAX {
            // Same millisecond (or the clock stepped back): keep increasing.
            counter += 1;
        } else {
            ms += 1;
            counter = 0;
        }
        cell.set((ms, counter, rng));
        let tail = splitmix64(rng ^ 0xD6E8_FEB8_6659_FD93) & 0xFFFF_FFFF;
        let hi = (ms << 16) | (0x7 << 12) | (counter >> 30);
        let lo = (0b10 << 62) | ((counter & 0x3FFF_FFFF) << 32) | tail;
        Uuid::from_u64_pair(hi, lo)
    })
}

/// SplitMix64: a small, good-enough generator for backoff jitter, seeded per
/// delivery so no shared state is touched on the hot path.
pub(crate) fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
