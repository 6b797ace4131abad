//! An event search as the dialects run it: the query checked (refusing what
//! no index serves), the index it reads, what is checked on each candidate
//! row, and the statement text with its bound values built together.

use crate::field_index::{index_name, plain_type};
use crate::shared::check_field;
use crate::{EventQuery, Result, ScopeParts, StoreError};
use chrono::{DateTime, Utc};

/// The most events one page of [`crate::Store::search_events`] returns.
pub const MAX_PAGE: u32 = 200;

/// The most candidate rows one page of [`crate::Store::search_events`] reads
/// from its index: the bound that keeps every search index-backed and its
/// cost fixed, however rarely its filters match.
pub const MAX_SCAN: u32 = 5_000;

/// The index a search walks, newest first.
pub(crate) enum Access<'q> {
    /// The aggregate index: one aggregate's events.
    Aggregate(&'q str, &'q str),
    /// The event type index.
    Type(&'q str),
    /// The primary key (on PostgreSQL, for one district, the district index).
    Recent,
}

/// How a payload field is compared with the value asked for (SQLite; on
/// PostgreSQL `jsonb` equality with the value's JSON text does it all).
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) enum Compare {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
}

/// A checked search.
pub(crate) struct Plan<'q> {
    pub all: bool,
    pub district: &'q str,
    pub access: Access<'q>,
    /// The type, checked on each candidate when the aggregate is the access.
    pub event_type: Option<&'q str>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// The field's path (checked parts), the comparison, and the value as
    /// JSON text (what PostgreSQL compares as `jsonb`).
    pub field: Option<(Vec<&'q str>, Compare, String)>,
    /// The index of the payload field (`Store::create_field_index`) whose
    /// matching events are the candidates, when the store has it ready
    /// ([`Plan::field_index_wanted`]).
    pub field_index: Option<String>,
    /// Only sequence numbers below this.
    pub before: i64,
    /// Events per page.
    pub page: u32,
}

fn refuse(why: &str) -> StoreError {
    StoreError::InvalidQuery(why.to_string())
}

/// Checks `q` and chooses its index. Refused: a payload field without an
/// event type (fields are declared per type, and no index serves a field
/// across types), a field name that is not one, an array or object value,
/// half an aggregate, an empty time range, a limit of 0.
pub(crate) fn plan(q: &EventQuery) -> Result<Plan<'_>> {
    let (all, district) = q.scope.parts();
    if q.limit == 0 {
        return Err(refuse("the limit of a search must be at least 1"));
    }
    if let (Some(from), Some(to)) = (q.from, q.to) {
        if from >= to {
            return Err(refuse(
                "the time range of the search is empty: `from` must be before `to`",
            ));
        }
    }
    let field = match &q.field {
        None => None,
        Some(f) => {
            if q.event_type.is_none() {
                return Err(refuse(
                    "a payload field filter needs an event type: fields are declared per \
                     event type; choose the type first",
                ));
            }
            let parts: Vec<&str> = f.path.split('.').collect();
            for p in &parts {
                check_field(p).map_err(|_| StoreError::InvalidField(f.path.clone()))?;
            }
            let compare = match &f.value {
                serde_json::Value::String(s) => Compare::Text(s.clone()),
                serde_json::Value::Bool(b) => Compare::Bool(*b),
                serde_json::Value::Null => Compare::Null,
                serde_json::Value::Number(n) => match n.as_i64() {
                    Some(i) => Compare::Int(i),
                    None => Compare::Float(n.as_f64().unwrap_or(f64::NAN)),
                },
                _ => {
                    return Err(refuse(&format!(
                        "payload field `{}` can only be compared with one value (a string, \
                         number, true, false or null), not an array or object",
                        f.path
                    )))
                }
            };
            Some((parts, compare, f.value.to_string()))
        }
    };
    let access = match (&q.aggregate, &q.event_type) {
        (Some((t, id)), _) => {
            if t.is_empty() || id.is_empty() {
                return Err(refuse(
                    "an aggregate filter needs both the aggregate type and its id",
                ));
            }
            Access::Aggregate(t, id)
        }
        (None, Some(t)) => Access::Type(t),
        (None, None) => Access::Recent,
    };
    let event_type = match access {
        Access::Aggregate(..) => q.event_type.as_deref(),
        _ => None,
    };
    Ok(Plan {
        all,
        district,
        access,
        event_type,
        from: q.from,
        to: q.to,
        field,
        field_index: None,
        before: q.cursor.map_or(i64::MAX, |c| c.before_seq),
        page: q.limit.min(MAX_PAGE),
    })
}

impl<'q> Plan<'q> {
    /// The name of the field index that could serve this search: a search of
    /// one plain event type by a top-level payload field equal to a string
    /// (an index holds each event's field as text, so a number or `true`
    /// could match another type's text; those read the type's index as
    /// before). Whether the store has it is the dialect's to check.
    pub fn field_index_wanted(&self) -> Option<String> {
        let Access::Type(t) = self.access else {
            return None;
        };
        match &self.field {
            Some((parts, Compare::Text(_), _)) if parts.len() == 1 && plain_type(t) => {
                Some(index_name(t, parts[0]))
            }
            _ => None,
        }
    }

    /// The field index's type, field and value, when it is the access:
    /// written into the candidates' statement (type and field as the
    /// literals the partial index is matched by, both checked names).
    pub fn field_access(&self) -> Option<(&'q str, &'q str, &str)> {
        self.field_index.as_ref()?;
        match (&self.access, &self.field) {
            (Access::Type(t), Some((parts, Compare::Text(v), _))) if parts.len() == 1 => {
                Some((t, parts[0], v.as_str()))
            }
            _ => None,
        }
    }
}

/// A value bound to a statement.
pub(crate) enum Bind {
    Bool(bool),
    I64(i64),
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    F64(f64),
    Text(String),
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Texts(Vec<String>),
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Time(DateTime<Utc>),
}

/// A statement's text and its bound values, built together: every value is a
/// parameter, numbered in the dialect's style.
pub(crate) struct Sql {
    pub text: String,
    pub binds: Vec<Bind>,
    dollar: bool,
}

impl Sql {
    /// `?1`-style parameters (SQLite).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub fn question() -> Sql {
        Sql {
            text: String::new(),
            binds: Vec::new(),
            dollar: false,
        }
    }

    /// `$1`-style parameters (PostgreSQL).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub fn dollar() -> Sql {
        Sql {
            text: String::new(),
            binds: Vec::new(),
            dollar: true,
        }
    }

    /// The placeholder of a new parameter `b`.
    pub fn p(&mut self, b: Bind) -> String {
        self.binds.push(b);
        let n = self.binds.len();
        if self.dollar {
            format!("${n}")
        } else {
            format!("?{n}")
        }
    }

    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }
}
