//! Dead letters a page at a time, newest first: which letters from the dead
//! letters' index (no payloads read, the group matched here by its masked
//! error), then those letters with their events, by id.

use super::dead::Keyed;
use super::CHUNK;
use crate::store::{Dialect, Store};
use crate::{DeadFilter, DeadLetter, Result, Scope, ScopeParts, StoreError};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// The most dead letters [`Store::dead_letter_page`] returns in one page.
pub const MAX_DEAD_PAGE: u32 = 100;

/// Where the next page of dead letters starts: after the letter that died at
/// `updated_at` (microseconds) with delivery id `id`, going back in time.
/// Written as text `"{updated_at}.{id}"`.
///
/// ```
/// use skillcore_events_store::DeadCursor;
/// let c: DeadCursor = "1764870000000000.42".parse().unwrap();
/// assert_eq!((c.updated_at, c.id), (1764870000000000, 42));
/// assert_eq!(c.to_string(), "1764870000000000.42");
/// assert!("42".parse::<DeadCursor>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DeadCursor {
    /// When the last letter of the previous page died (microseconds).
    pub updated_at: i64,
    /// Its delivery id.
    pub id: i64,
}

impl fmt::Display for DeadCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.updated_at, self.id)
    }
}

impl FromStr for DeadCursor {
    type Err = StoreError;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        s.split_once('.')
            .and_then(|(t, id)| Some((t.parse().ok()?, id.parse().ok()?)))
            .map(|(updated_at, id)| DeadCursor { updated_at, id })
            .ok_or_else(|| {
                StoreError::InvalidQuery(
                    "the cursor is not one a page of dead letters returned: start again \
                     without it"
                        .into(),
                )
            })
    }
}

/// One page of dead letters, newest first, and where the next (older) page
/// starts, `None` at the end.
#[derive(Clone, Debug)]
pub struct DeadPage {
    /// The letters with their events.
    pub letters: Vec<DeadLetter>,
    /// The cursor of the next page.
    pub next: Option<DeadCursor>,
}

impl Store {
    /// The dead letters in `scope` matching `filter`, newest first, `limit`
    /// at most (capped at [`MAX_DEAD_PAGE`]), after `cursor` (a
    /// [`DeadPage::next`] of an earlier page). The letters are picked from the
    /// dead letters' index a chunk at a time without their payloads (a group
    /// by its masked error, as [`Store::dead_letter_groups`] keys it), until
    /// the page is full; only the page's letters are then read with their
    /// events. So a page costs a page of events and, at worst (a small group
    /// among many dead letters), a read of the dead letters' index rows.
    ///
    /// ```no_run
    /// # async fn f(store: skillcore_events_store::Store) -> skillcore_events_store::Result<()> {
    /// use skillcore_events_store::{DeadFilter, Scope};
    /// let filter = DeadFilter::default().handler("analytics.update_gpa");
    /// let mut cursor = None;
    /// loop {
    ///     let page = store.dead_letter_page(&Scope::AllDistricts, &filter, cursor, 50).await?;
    ///     for d in &page.letters {
    ///         println!("{} {}", d.delivery_id, d.last_error);
    ///     }
    ///     match page.next {
    ///         Some(next) => cursor = Some(next),
    ///         None => break,
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn dead_letter_page(
        &self,
        scope: &Scope,
        filter: &DeadFilter,
        cursor: Option<DeadCursor>,
        limit: u32,
    ) -> Result<DeadPage> {
        let want = limit.clamp(1, MAX_DEAD_PAGE) as usize;
        let (all, district) = scope.parts();
        let mut after = cursor.map(|c| (c.updated_at, c.id));
        // One more than a page: whether there is a next one. Without a group
        // every row read is on the page; a group's letters may be rare among
        // the others, so its chunks grow (up to [`CHUNK`]).
        let mut picked: Vec<(i64, i64)> = Vec::new();
        let mut chunk = want as u32 + 1;
        if filter.group.is_some() {
            chunk *= 4;
        }
        'scan: loop {
            let rows = match &self.dialect {
                #[cfg(feature = "sqlite")]
                Dialect::Sqlite(db) => db.dead_chunk(all, district, filter, after, chunk).await?,
                #[cfg(feature = "postgres")]
                Dialect::Postgres(db) => db.dead_chunk(all, district, filter, after, chunk).await?,
            };
            let full = rows.len() >= chunk as usize;
            chunk = (chunk * 2).min(CHUNK);
            after = rows.last().map(|r| (r.updated_at, r.id));
            for row in rows {
                if let Some(k) = Keyed::of(row, filter) {
                    picked.push((k.row.updated_at, k.row.id));
                    if picked.len() > want {
                        break 'scan;
                    }
                }
            }
            if !full {
                break;
            }
        }
        let next = if picked.len() > want {
            picked.truncate(want);
            picked
                .last()
                .map(|&(updated_at, id)| DeadCursor { updated_at, id })
        } else {
            None
        };
        let ids: Vec<i64> = picked.iter().map(|p| p.1).collect();
        let mut letters = match &self.dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite(db) => db.dead_letters_by_id(&ids).await?,
            #[cfg(feature = "postgres")]
            Dialect::Postgres(db) => db.dead_letters_by_id(&ids).await?,
        };
        // Newest first, as picked (one retried meanwhile is left out).
        letters.sort_by_key(|d| std::cmp::Reverse((d.failed_at, d.delivery_id)));
        Ok(DeadPage { letters, next })
    }
}
