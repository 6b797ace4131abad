//! The in-process idempotency record: per event id, the route slots of the
//! handlers that succeeded on it, sharded (one lock per shard) and bounded
//! (the oldest events forgotten first).

use super::lock;
use crate::bus::exec::IdHasher;
use crate::bus::Route;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::BuildHasherDefault;
use std::sync::Mutex;

const SHARDS: usize = 16;

type IdMap<V> = HashMap<u128, V, BuildHasherDefault<IdHasher>>;

/// One shard of the idempotency record: per event id, the route slots of the
/// handlers that succeeded (bits for slots below 64, a set beyond).
#[derive(Default)]
struct Shard {
    marks: IdMap<u64>,
    wide: HashSet<(u128, u32), BuildHasherDefault<IdHasher>>,
    order: VecDeque<u128>,
}

/// Which handlers of a delivery succeeded, by route slot.
#[derive(Default)]
pub(super) struct Succeeded {
    mask: u64,
    wide: Vec<u32>,
}

impl Succeeded {
    /// Whether the handler in `slot` is among them.
    #[inline]
    pub(super) fn contains(&self, slot: u32) -> bool {
        if slot < 64 {
            self.mask & (1 << slot) != 0
        } else {
            self.wide.contains(&slot)
        }
    }

    pub(super) fn add(&mut self, slot: u32) {
        if slot < 64 {
            self.mask |= 1 << slot;
        } else {
            self.wide.push(slot);
        }
    }
    fn is_empty(&self) -> bool {
        self.mask == 0 && self.wide.is_empty()
    }
}

/// The record of one backend.
pub(super) struct Record {
    done: Box<[Mutex<Shard>]>,
    shard_cap: usize,
}

impl Record {
    /// A record of about `window` events (0: no record).
    pub(super) fn new(window: usize) -> Self {
        Record {
            done: (0..SHARDS).map(|_| Mutex::default()).collect(),
            shard_cap: window.div_ceil(SHARDS),
        }
    }

    fn shard(&self, id: u128) -> &Mutex<Shard> {
        let mixed = (id as u64) ^ ((id >> 64) as u64);
        &self.done[(mixed as usize) % SHARDS]
    }

    /// Whether the handler in `slot` already succeeded for event `id`.
    fn done_in(shard: &Shard, id: u128, slot: u32) -> bool {
        if slot < 64 {
            shard.marks.get(&id).is_some_and(|m| m & (1 << slot) != 0)
        } else {
            shard.wide.contains(&(id, slot))
        }
    }

    /// The slots of `route` already handled for `id` (one lock).
    pub(super) fn done_slots(&self, id: u128, route: &Route) -> Succeeded {
        let mut out = Succeeded::default();
        if self.shard_cap == 0 {
            return out;
        }
        let shard = lock(self.shard(id));
        if shard.marks.is_empty() {
            return out;
        }
        for s in route.iter() {
            if Self::done_in(&shard, id, s.slot) {
                out.add(s.slot);
            }
        }
        out
    }

    /// Records the handlers that succeeded on `id` (one lock per event).
    pub(super) fn record_done(&self, id: u128, done: &Succeeded) {
        if self.shard_cap == 0 || done.is_empty() {
            return;
        }
        let mut shard = lock(self.shard(id));
        let shard = &mut *shard;
        // `marks` holds an entry for every remembered event, wide or not.
        let known = shard.marks.contains_key(&id);
        *shard.marks.entry(id).or_insert(0) |= done.mask;
        for slot in &done.wide {
            shard.wide.insert((id, *slot));
        }
        if !known {
            shard.order.push_back(id);
            while shard.order.len() > self.shard_cap {
                if let Some(old) = shard.order.pop_front() {
                    shard.marks.remove(&old);
                    if !shard.wide.is_empty() {
                        shard.wide.retain(|(e, _)| *e != old);
                    }
                }
            }
        }
    }
}
