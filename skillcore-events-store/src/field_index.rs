//! Indexes of one payload field of one event type, so
//! [`Store::events_by_field`](crate::Store::events_by_field) reads the
//! matching events instead of every event of the type (on a store of
//! 10 million events that is milliseconds instead of seconds).
//!
//! Each index is partial (`WHERE event_type = '…'`): it holds the events of
//! its type only, so an index costs publishes of that type and no other. The
//! searches write the event type and the field into the statement as
//! literals, which is what lets the planner match the partial index (a bound
//! parameter cannot prove `event_type = '…'`); both are checked to be plain
//! names first, and a type that is not one is searched with bound parameters
//! as before (no index can serve it). The indexes made are recorded in
//! `skc_field_indexes` (migration 11) so they can be listed and dropped.

use crate::{Result, StoreError};
use serde::Serialize;

/// An index of one payload field of one event type (see
/// [`Store::create_field_index`](crate::Store::create_field_index)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct FieldIndex {
    /// The event type, e.g. `gradebook.grade.posted`.
    pub event_type: String,
    /// The top-level payload field, e.g. `studentId`.
    pub field: String,
    /// The database index's name (`skc_field_` and a hash of the two).
    #[sqlx(rename = "index_name")]
    pub index: String,
}

impl FieldIndex {
    pub(crate) fn new(event_type: &str, field: &str) -> Self {
        FieldIndex {
            event_type: event_type.to_string(),
            field: field.to_string(),
            index: index_name(event_type, field),
        }
    }
}

/// Whether `event_type` can be written into a statement as a literal:
/// letters, digits, `.`, `_` and `-`, at most 200 of them (every catalog
/// event name is one).
/// The indexes made, as both dialects list them.
pub(crate) const LIST: &str = "SELECT event_type, field, index_name FROM skc_field_indexes
     ORDER BY event_type, field";

pub(crate) fn plain_type(event_type: &str) -> bool {
    !event_type.is_empty()
        && event_type.len() <= 200
        && event_type
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// [`plain_type`], or the error that says why an index cannot be made.
pub(crate) fn check_type(event_type: &str) -> Result<()> {
    if plain_type(event_type) {
        Ok(())
    } else {
        Err(StoreError::InvalidQuery(format!(
            "`{}` is not an event type name an index can be made for: use letters, digits, \
             `.`, `_` and `-` (as catalog names are)",
            event_type.escape_debug()
        )))
    }
}

/// `skc_field_` and 16 hex digits of a stable hash (FNV-1a, 64 bits) of the
/// type and the field: the same name on every machine and every version,
/// within PostgreSQL's 63-byte limit however long the names are.
pub(crate) fn index_name(event_type: &str, field: &str) -> String {
    // The dead letters' group key is the same hash of two strings.
    format!(
        "skc_field_{}",
        crate::inspect::mask::group_key(event_type, field)
    )
}

/// SQLite: the text of payload field `field` (checked by the caller) as
/// searches compare it, a boolean as `true`/`false`. Written the same in the
/// index and the search, so SQLite matches them.
#[cfg(feature = "sqlite")]
pub(crate) fn sqlite_expr(column: &str, field: &str) -> String {
    format!(
        "CASE json_type({column}, '$.{field}') WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
         ELSE CAST(json_extract({column}, '$.{field}') AS TEXT) END"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_distinct_and_short() {
        let a = index_name("gradebook.grade.posted", "studentId");
        assert_eq!(a, index_name("gradebook.grade.posted", "studentId"));
        assert_ne!(a, index_name("gradebook.grade.posted", "courseId"));
        // The separator keeps `ab`+`c` apart from `a`+`bc`.
        assert_ne!(index_name("ab", "c"), index_name("a", "bc"));
        let long = index_name(&"x".repeat(200), &"y".repeat(200));
        assert_eq!(long.len(), "skc_field_".len() + 16);
    }

    #[test]
    fn only_plain_types_become_literals() {
        assert!(plain_type("gradebook.grade.posted"));
        assert!(plain_type("sis_sync.roster-imported"));
        for bad in ["", "a'b", "a b", "a;drop", "é", &"a".repeat(201)] {
            assert!(!plain_type(bad), "{bad:?}");
            let err = check_type(bad).unwrap_err().to_string();
            assert!(err.contains("letters, digits"), "{err}");
        }
    }
}
