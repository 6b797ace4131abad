//! The SQLite dialect's statements. Numbered parameters (`?1`) where a value
//! is used more than once. The text of each is what is sent, so that SQLite's
//! statement cache of a connection holds one entry per statement.
//!
//! The continuation lines of each statement keep the indentation they had
//! when the statements were written inline in `lib.rs`: the text sent to the
//! database is byte for byte what it was before the cut by dialect.

use crate::shared::ORDER_CLEAR;
use std::sync::LazyLock;

/// The columns of an event (`e`), as [`super::row::EventRow`] reads them.
const EVENT_COLS: &str =
    "e.seq, e.id, e.event_type, e.aggregate_type, e.aggregate_id, e.payload, e.metadata, e.version, e.occurred_at";

/// SQLite's clock in microseconds, as the store keeps times (what the
/// publish trigger uses too).
const NOW: &str = "CAST(unixepoch('subsec') * 1000000 AS INTEGER)";

/// Background checkpoint, from a reader connection.
pub(super) const CHECKPOINT: &str = "PRAGMA wal_checkpoint(PASSIVE)";

/// Completes and claims in one UPDATE: marks done the deliveries of `?6`
/// (a JSON array of `[id, owner]`) whose leases still hold, and claims for
/// owner `?1`, leased until `?2`, up to `?4` ready deliveries of the handlers
/// `?5` (a JSON array) at time `?3`: waiting and due, then active with an
/// expired lease. The owner stays on a done row.
pub(super) static COMPLETE_AND_CLAIM: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE skc_deliveries
             SET status = CASE WHEN u.owner IS NULL THEN 'active' ELSE 'done' END,
                 lease_owner = CASE WHEN u.owner IS NULL THEN ?1 ELSE skc_deliveries.lease_owner END,
                 lease_until = CASE WHEN u.owner IS NULL THEN ?2 END,
                 lease_renewed = CASE WHEN u.owner IS NULL THEN ?3 END,
                 attempts = skc_deliveries.attempts + (u.owner IS NULL),
                 expired_leases = skc_deliveries.expired_leases
                   + (u.owner IS NULL AND skc_deliveries.status = 'active'),
                 lone_deaths = skc_deliveries.lone_deaths
                   + (u.owner IS NULL AND skc_deliveries.status = 'active'
                      AND skc_deliveries.lease_owner LIKE '%!'),
                 updated_at = ?3
             FROM (
               SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS owner
               FROM json_each(?6)
               UNION ALL
               SELECT id, NULL FROM (
                 SELECT id FROM (
                   SELECT d.id FROM skc_deliveries d INDEXED BY skc_deliveries_waiting
                   WHERE d.status = 'waiting' AND d.available_at <= ?3
                     AND d.handler_id IN (SELECT value FROM json_each(?5))
                     AND {ORDER_CLEAR}
                   ORDER BY d.available_at, d.id
                   LIMIT ?4)
                 UNION ALL
                 SELECT id FROM (
                   SELECT d.id FROM skc_deliveries d INDEXED BY skc_deliveries_leased
                   WHERE d.status = 'active' AND d.lease_until < ?3
                     AND d.handler_id IN (SELECT value FROM json_each(?5))
                     AND d.id NOT IN (SELECT json_extract(value, '$[0]') FROM json_each(?6))
                   ORDER BY d.lease_until, d.id
                   LIMIT ?4)
                 LIMIT ?4)
             ) AS u
             WHERE skc_deliveries.id = u.id
               AND (u.owner IS NULL
                    OR (skc_deliveries.lease_owner = u.owner AND skc_deliveries.status = 'active'))"
    )
});

/// What owner `?1` holds with the lease until `?2`: one row, the events as a
/// JSON array (each once, its deliveries nested: see `crate::row`), and how
/// many deliveries.
pub(super) const CLAIMED: &str = "SELECT json_group_array(json_array(
                      e.seq, e.id, e.event_type, e.aggregate_type, e.aggregate_id,
                      e.payload, e.metadata, e.version, e.occurred_at, json(c.deliveries))),
                    coalesce(sum(c.n), 0)
             FROM (
               SELECT d.event_seq AS seq, count(*) AS n, json_group_array(json_array(
                        d.id, d.handler_id, d.attempts, d.replay,
                        EXISTS (SELECT 1 FROM skc_handled h JOIN skc_events he ON he.id = h.event_id
                                WHERE he.seq = d.event_seq AND h.handler_id = d.handler_id),
                        d.expired_leases, d.lone_deaths)) AS deliveries
               FROM skc_deliveries d INDEXED BY skc_deliveries_leased
               WHERE d.status = 'active' AND d.lease_until = ?2 AND d.lease_owner = ?1
               GROUP BY d.event_seq
             ) AS c JOIN skc_events e ON e.seq = c.seq";

/// Of the deliveries `?1` (a JSON array of `[id, owner]`), those done by
/// their owner.
pub(super) const COMPLETED: &str = "SELECT d.id FROM skc_deliveries d,
                   (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS owner
                    FROM json_each(?1)) AS u
                 WHERE d.id = u.id AND d.lease_owner = u.owner AND d.status = 'done'";

/// Records successes whose lease was lost: handlers `?1` and events `?2`
/// (JSON arrays, pairwise) at `?3`. `WHERE true` keeps SQLite from reading
/// ON CONFLICT as a join clause.
pub(super) const RECORD_HANDLED: &str = "INSERT INTO skc_handled (handler_id, event_id, handled_at)
                     SELECT h.value, e.value, ?3
                     FROM json_each(?1) AS h JOIN json_each(?2) AS e ON e.key = h.key
                     WHERE true
                     ON CONFLICT DO NOTHING";

/// Hands back the deliveries `?1` (a JSON array of `[id, owner]`) at `?2`.
pub(super) const RELEASE: &str = "UPDATE skc_deliveries
                     SET status = 'waiting', attempts = MAX(attempts - 1, 0), lease_owner = NULL,
                         lease_until = NULL, updated_at = ?2
                     FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS owner
                           FROM json_each(?1)) AS u
                     WHERE skc_deliveries.id = u.id AND skc_deliveries.lease_owner = u.owner
                       AND skc_deliveries.status = 'active'";

/// A failed attempt: dead (`?1`) or waiting until `?2`, error `?3`, at `?4`,
/// of delivery `?5` held by `?6`.
pub(super) const FAIL: &str = "UPDATE skc_deliveries
                     SET status = CASE WHEN ? THEN 'dead' ELSE 'waiting' END,
                         available_at = ?, last_error = ?, lease_owner = NULL,
                         lease_until = NULL, updated_at = ?
                     WHERE id = ? AND lease_owner = ? AND status = 'active'";

/// A dead letter without running: error `?1` at `?2`, delivery `?3` held by
/// `?4`.
pub(super) const DEAD_LETTER_UNRUN: &str = "UPDATE skc_deliveries
                 SET status = 'dead', attempts = MAX(attempts - 1, 0), last_error = ?1,
                     lease_owner = NULL, lease_until = NULL, updated_at = ?2
                 WHERE id = ?3 AND lease_owner = ?4 AND status = 'active'";

/// Marks the lease of delivery `?3` held by `?4` as `?1` (running alone),
/// attempts at most `?2`.
pub(super) const MARK_ALONE: &str =
    "UPDATE skc_deliveries SET lease_owner = ?1, attempts = MIN(attempts, ?2)
                 WHERE id = ?3 AND lease_owner = ?4 AND status = 'active'";

/// Dead letters, oldest first: of handler `?1` (or any), up to `?2`, in the
/// scope (`?3`, `?4`).
pub(super) static DEAD_LETTERS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT d.id AS delivery_id, d.handler_id, d.attempts, d.last_error, d.updated_at, {EVENT_COLS}
                     FROM skc_deliveries d JOIN skc_events e ON e.seq = d.event_seq
                     WHERE d.status = 'dead' AND (?1 IS NULL OR d.handler_id = ?1)
                       AND (?3 OR e.district_id = ?4)
                     ORDER BY d.updated_at, d.id LIMIT ?2"
    )
});

/// The scope condition of the updates of one dead letter (`?3`, `?4`), on
/// the letter's event.
const DEAD_IN_SCOPE: &str = "(?3 OR EXISTS (SELECT 1 FROM skc_events e
                                 WHERE e.seq = skc_deliveries.event_seq AND e.district_id = ?4))";

/// Puts dead letter `?2` back in the queue at `?1`, in the scope.
pub(super) static RETRY_DEAD: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE skc_deliveries SET status = 'waiting', attempts = 0, available_at = ?1, updated_at = ?1
                 WHERE id = ?2 AND status = 'dead' AND {DEAD_IN_SCOPE}"
    )
});

/// Discards dead letter `?2` at `?1`, in the scope.
pub(super) static DISCARD_DEAD: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE skc_deliveries SET status = 'discarded', updated_at = ?1
                 WHERE id = ?2 AND status = 'dead' AND {DEAD_IN_SCOPE}"
    )
});

/// Whether any of the handlers `?1` (a JSON array) has an unfinished
/// delivery.
pub(super) const HAS_PENDING: &str =
    "SELECT EXISTS (SELECT 1 FROM skc_deliveries INDEXED BY skc_deliveries_waiting
                                    WHERE status = 'waiting'
                                      AND handler_id IN (SELECT value FROM json_each(?1)))
                         OR EXISTS (SELECT 1 FROM skc_deliveries INDEXED BY skc_deliveries_leased
                                    WHERE status = 'active'
                                      AND handler_id IN (SELECT value FROM json_each(?1)))";

/// Queue counters per handler, all districts: the done counters and the
/// partial indexes, not the history.
pub(super) static STATS_ALL: LazyLock<String> =
    LazyLock::new(|| crate::shared::counted_stats(NOW, "skc_done_counts", None));

/// Queue counters per handler of the events of district `?1`.
pub(super) static STATS_DISTRICT: LazyLock<String> =
    LazyLock::new(|| crate::shared::counted_stats(NOW, "skc_done_counts", Some("?1")));

/// The same counted from every delivery (what the counters must agree with).
pub(super) static RECOUNT_ALL: LazyLock<String> = LazyLock::new(|| crate::shared::recount(NOW, ""));

/// [`RECOUNT_ALL`] of district `?1`.
pub(super) static RECOUNT_DISTRICT: LazyLock<String> = LazyLock::new(|| {
    crate::shared::recount(
        NOW,
        " JOIN skc_events e ON e.seq = d.event_seq WHERE e.district_id = ?1",
    )
});

/// The events in the scope (`?1`, `?2`) meeting `condition`, in order.
fn select_events(condition: &str) -> String {
    format!(
        "SELECT {EVENT_COLS} FROM skc_events e
                     WHERE (?1 OR e.district_id = ?2) AND {condition} ORDER BY e.seq"
    )
}

/// The events of aggregate type `?3` and id `?4`.
pub(super) static AGGREGATE_EVENTS: LazyLock<String> =
    LazyLock::new(|| select_events("e.aggregate_type = ?3 AND e.aggregate_id = ?4"));

/// The events of type `?3` that occurred in `[?4, ?5)`: the events of the
/// time range read from `skc_events_occurred`, so the cost is the range's,
/// however many events of the type the store holds (without the hint SQLite,
/// which keeps no statistics here, reads every event of the type).
pub(super) static EVENTS_BY_TYPE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {EVENT_COLS} FROM skc_events e INDEXED BY skc_events_occurred
                     WHERE (?1 OR e.district_id = ?2) AND e.event_type = ?3
                       AND e.occurred_at >= ?4 AND e.occurred_at < ?5 ORDER BY e.seq"
    )
});

/// The events of type `?3` whose payload at path `?4` reads as the text `?5`.
pub(super) static EVENTS_BY_FIELD: LazyLock<String> = LazyLock::new(|| {
    select_events(
        "e.event_type = ?3
             AND CASE json_type(e.payload, ?4)
                   WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
                   ELSE CAST(json_extract(e.payload, ?4) AS TEXT) END = ?5",
    )
});

/// The events of type `event_type` whose payload field `field` reads as the
/// text `?3`, both checked by the caller and written in, so the partial
/// index of the field (`field_index.rs`) can answer it. `index`: that
/// index, named as a hint (SQLite, which keeps no statistics here, would
/// otherwise take the type's index and compare the field per event of the
/// type); the statement fails if it is gone.
pub(super) fn events_by_indexed_field(
    event_type: &str,
    field: &str,
    index: Option<&str>,
) -> String {
    let expr = crate::field_index::sqlite_expr("e.payload", field);
    let hint = index
        .map(|i| format!(" INDEXED BY {i}"))
        .unwrap_or_default();
    format!(
        "SELECT {EVENT_COLS} FROM skc_events e{hint}
                     WHERE (?1 OR e.district_id = ?2) AND e.event_type = '{event_type}'
                       AND {expr} = ?3 ORDER BY e.seq"
    )
}

/// Whether the index `?1` exists.
pub(super) const INDEX_EXISTS: &str =
    "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?1)";

/// Up to `?4` events after sequence number `?1` in the scope (`?2`, `?3`).
pub(super) static READ_AFTER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {EVENT_COLS} FROM skc_events e
                     WHERE e.seq > ?1 AND (?2 OR e.district_id = ?3) ORDER BY e.seq LIMIT ?4"
    )
});

/// Queues the events of type `?3` (or any) that occurred at or after `?4`
/// (or ever), in the scope (`?5`, `?6`), again for handler `?1` as batch `?2`.
/// `of_type`: `?3` is given, and the events are read from the type's index
/// (in sequence order, as the index keeps them) instead of all of them.
/// `since`: `?4` is given, and the events are read from the time index, so
/// a replay of the last hour reads the last hour, not the history.
fn replay(of_type: bool, since: bool) -> String {
    let by_type = if of_type {
        "e.event_type = ?3"
    } else {
        "?3 IS NULL"
    };
    let (index, from) = if since {
        (" INDEXED BY skc_events_occurred", "e.occurred_at >= ?4")
    } else {
        ("", "?4 IS NULL")
    };
    format!(
        "INSERT INTO skc_deliveries
                       (event_seq, handler_id, status, available_at, replay, ordering_key, updated_at)
                     SELECT e.seq, ?1, 'waiting', ?2, ?2, e.aggregate_type || ':' || e.aggregate_id, ?2
                     FROM skc_events e{index}
                     WHERE {by_type} AND {from}
                       AND (?5 OR e.district_id = ?6)
                     ORDER BY e.seq"
    )
}

/// [`replay`] of every event.
pub(super) static REPLAY: LazyLock<String> = LazyLock::new(|| replay(false, false));

/// [`replay`] of the events of one type.
pub(super) static REPLAY_OF_TYPE: LazyLock<String> = LazyLock::new(|| replay(true, false));

/// [`replay`] of the events since a time.
pub(super) static REPLAY_SINCE: LazyLock<String> = LazyLock::new(|| replay(false, true));

/// [`replay`] of the events of one type since a time.
pub(super) static REPLAY_OF_TYPE_SINCE: LazyLock<String> = LazyLock::new(|| replay(true, true));

/// Progress of batch `?2` of handler `?1` in the scope (`?3`, `?4`);
/// cancelled deliveries (`replay cancel`) are not counted.
pub(super) const REPLAY_PROGRESS: &str =
    "SELECT COALESCE(SUM(d.status <> 'cancelled'), 0), COALESCE(SUM(d.status = 'done'), 0),
                            COALESCE(SUM(d.status = 'dead'), 0)
                     FROM skc_deliveries d JOIN skc_events e ON e.seq = d.event_seq
                     WHERE d.handler_id = ?1 AND d.replay = ?2 AND d.replay <> 0
                       AND (?3 OR e.district_id = ?4)";

/// Renews the leases worker `?3` holds (each claim's owner is the worker's
/// id, `:` and a number; `!` follows when marked to run alone): until `?1`,
/// renewed at `?2`. One statement per worker per renewal period.
pub(super) const RENEW_LEASES: &str = "UPDATE skc_deliveries INDEXED BY skc_deliveries_leased
                 SET lease_until = ?1, lease_renewed = ?2
                 WHERE status = 'active' AND substr(lease_owner, 1, length(?3) + 1) = ?3 || ':'";

/// Lets the leases worker `?2` holds run out now (at `?1`): a worker that
/// restarts under the same identity takes them back with its next claim, which
/// counts them as leases that ran out.
pub(super) const EXPIRE_OWN_LEASES: &str = "UPDATE skc_deliveries INDEXED BY skc_deliveries_leased
                 SET lease_until = ?1 - 1
                 WHERE status = 'active' AND substr(lease_owner, 1, length(?2) + 1) = ?2 || ':'
                   AND lease_until >= ?1";

/// Of the active deliveries of the handlers `?1` (a JSON array), those whose
/// worker stopped renewing their leases, per lease owner: how many, how many
/// are still held (lease not yet run out), the latest expiry.
pub(super) static STALLED_LEASES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT d.lease_owner, COUNT(*), COALESCE(SUM(d.lease_until >= {NOW}), 0), MAX(d.lease_until)
         FROM skc_deliveries d INDEXED BY skc_deliveries_leased
         WHERE d.status = 'active' AND d.handler_id IN (SELECT value FROM json_each(?1))
           AND {}
         GROUP BY d.lease_owner",
        crate::shared::stalled(NOW)
    )
});

/// The scope condition (`?4`, `?5`) of an update of the deliveries table.
const DELIVERY_IN_SCOPE: &str = "(?4 OR EXISTS (SELECT 1 FROM skc_events e
                                 WHERE e.seq = skc_deliveries.event_seq AND e.district_id = ?5))";

/// Cancels the waiting deliveries of the replays of handler `?2` (batch `?3`,
/// or every batch), at `?1`, in the scope.
pub(super) static CANCEL_REPLAY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE skc_deliveries SET status = 'cancelled', updated_at = ?1
                 WHERE handler_id = ?2 AND replay <> 0 AND (?3 IS NULL OR replay = ?3)
                   AND status = 'waiting' AND {DELIVERY_IN_SCOPE}"
    )
});

/// How many deliveries of handler `?1` a live worker holds (its lease renewed).
pub(super) static HANDLER_HELD: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT COUNT(*) FROM skc_deliveries d
         WHERE d.handler_id = ?1 AND d.status = 'active' AND NOT {}",
        crate::shared::stalled(NOW)
    )
});

/// Deletes the deliveries of handler `?1` in the scope (`?2`, `?3`) with an
/// id in `(?4, ?5]`, but those a live worker holds. One stretch of ids at a
/// time, so that the writer is never held for a scan of the whole queue.
pub(super) static DROP_HANDLER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "DELETE FROM skc_deliveries AS d
                 WHERE d.id > ?4 AND d.id <= ?5 AND d.handler_id = ?1
                   AND NOT (d.status = 'active' AND NOT {})
                   AND (?2 OR EXISTS (SELECT 1 FROM skc_events e
                                      WHERE e.seq = d.event_seq AND e.district_id = ?3))",
        crate::shared::stalled(NOW)
    )
});

/// The highest delivery id (the end of [`DROP_HANDLER`]'s stretches).
pub(super) const MAX_DELIVERY_ID: &str = "SELECT COALESCE(MAX(id), 0) FROM skc_deliveries";

/// Deletes the idempotency records of handler `?1` in the scope (`?2`, `?3`).
pub(super) const DROP_HANDLED: &str = "DELETE FROM skc_handled
                 WHERE handler_id = ?1
                   AND (?2 OR EXISTS (SELECT 1 FROM skc_events e
                                      WHERE e.id = skc_handled.event_id AND e.district_id = ?3))";
