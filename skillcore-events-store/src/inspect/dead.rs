//! Dead letters by group: the rows a filter selects, read a chunk at a time
//! newest first from the dead letters' index, each error masked and keyed
//! here (SQLite has no regular expressions, and one masking for both
//! backends keeps the groups and keys the same on both).

use super::mask::{group_key, mask_error};
use crate::shared::micros;
use crate::{DeadFilter, DeadGroup};
use std::collections::HashMap;

/// Dead letters read per statement.
pub(crate) const CHUNK: u32 = 2_000;

/// Ids changed per statement of a bulk action.
pub(crate) const BATCH: usize = 1_000;

/// A dead letter as grouping reads it: no payload.
#[derive(sqlx::FromRow)]
pub(crate) struct DeadRow {
    pub id: i64,
    pub handler_id: String,
    pub last_error: Option<String>,
    pub updated_at: i64,
}

/// A row that passed the filter, with its masked error and group key.
pub(crate) struct Keyed {
    pub row: DeadRow,
    pub masked: String,
    pub key: String,
}

impl Keyed {
    /// `row` keyed, if it is in the filter's group (or the filter names none).
    pub fn of(row: DeadRow, filter: &DeadFilter) -> Option<Keyed> {
        let masked = mask_error(row.last_error.as_deref().unwrap_or(""));
        let key = group_key(&row.handler_id, &masked);
        match &filter.group {
            Some(g) if *g != key => None,
            _ => Some(Keyed { row, masked, key }),
        }
    }
}

/// Groups being counted, in the order first seen (newest first).
#[derive(Default)]
pub(crate) struct Groups {
    order: Vec<DeadGroup>,
    index: HashMap<String, usize>,
}

impl Groups {
    pub fn add(&mut self, k: Keyed) {
        let at = micros(k.row.updated_at);
        match self.index.get(&k.key) {
            Some(&i) => {
                let g = &mut self.order[i];
                g.count += 1;
                // Rows come newest first: each later one is older.
                g.first_seen = g.first_seen.min(at);
                g.last_seen = g.last_seen.max(at);
            }
            None => {
                self.index.insert(k.key.clone(), self.order.len());
                self.order.push(DeadGroup {
                    key: k.key,
                    handler_id: k.row.handler_id,
                    error: k.masked,
                    count: 1,
                    first_seen: at,
                    last_seen: at,
                    sample_delivery_id: k.row.id,
                    sample_error: k.row.last_error.unwrap_or_default(),
                });
            }
        }
    }

    /// The groups, biggest first (then the most recent first).
    pub fn finish(mut self) -> Vec<DeadGroup> {
        self.order.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then(b.last_seen.cmp(&a.last_seen))
                .then(a.key.cmp(&b.key))
        });
        self.order
    }
}
