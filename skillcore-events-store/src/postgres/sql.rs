//! The PostgreSQL dialect's statements. Times are the database's clock in
//! microseconds, [`NOW`], written once here and put into the statements when
//! each is first used.
//!
//! The continuation lines of each statement keep the indentation they had
//! when the statements were written inline in `lib.rs`: the text sent to the
//! database is byte for byte what it was before the cut by dialect.

use crate::shared::ORDER_CLEAR;
use std::sync::LazyLock;

/// The database's clock, as the store keeps times (microseconds since the
/// epoch, `bigint`).
const NOW: &str = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint";

/// The columns of an event (`e`) as [`super::row::EventRow`] reads them,
/// with its writing transaction as `tx`.
const EVENT_COLS: &str =
    "e.seq, e.id, e.event_type, e.aggregate_type, e.aggregate_id, e.payload, e.metadata, e.version, e.occurred_at, e.tx_id::text::bigint AS tx";

/// The append statement: `input` (CTEs the rows come from, if any) and `rows`
/// (the `VALUES` or `SELECT` of the new event rows) wrapped in the CTE that
/// stores them and the one that queues their deliveries; returns `seq,
/// id::text` of each event stored now.
fn append(input: &str, rows: &str) -> String {
    format!(
        "WITH {input} stored AS (
               INSERT INTO skc_events (id, event_type, aggregate_type, aggregate_id, district_id,
                                       payload, metadata, version, occurred_at, handlers)
               {rows}
               ON CONFLICT (id) DO NOTHING
               RETURNING seq, id, aggregate_type, aggregate_id, handlers
             ), queued AS (
               INSERT INTO skc_deliveries (event_seq, handler_id, status, available_at, ordering_key, updated_at)
               SELECT s.seq, r.value->>0, 'waiting', c.now,
                      CASE WHEN (r.value->>1)::boolean THEN s.aggregate_type || ':' || s.aggregate_id END,
                      c.now
               FROM stored s
               CROSS JOIN LATERAL jsonb_array_elements(s.handlers) AS r(value)
               CROSS JOIN (SELECT {NOW} AS now) AS c
               WHERE s.handlers IS NOT NULL
             )
             SELECT seq, id::text FROM stored"
    )
}

/// The append of one event, its values bound as scalars.
pub(super) static APPEND_ONE: LazyLock<String> = LazyLock::new(|| {
    append(
        "",
        "VALUES ($1::text::uuid, $2, $3, $4, $5, $6::text::jsonb, $7::text::jsonb, $8::int,
                 $9::text::timestamptz, $10::text::jsonb)",
    )
});

/// The append of several events, their values bound as arrays to unnest.
pub(super) static APPEND_MANY: LazyLock<String> = LazyLock::new(|| {
    append(
        "input AS (
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                $6::text[], $7::text[], $8::bigint[], $9::text[], $10::text[])
             WITH ORDINALITY AS i(id, event_type, aggregate_type, aggregate_id, district_id,
                                  payload, metadata, version, occurred_at, handlers, n)
         ),",
        "SELECT id::uuid, event_type, aggregate_type, aggregate_id, district_id,
                payload::jsonb, metadata::jsonb, version::int, occurred_at::timestamptz,
                handlers::jsonb
         FROM input ORDER BY n",
    )
});

/// The claim: up to `$3` ready deliveries of the handlers `$4` for owner `$1`
/// with a lease of `$2` microseconds. One row: `claimed`, the claimed events
/// as JSON text, each event once with its deliveries nested (the shape
/// `crate::row::claimed_from_json` reads, as on SQLite), and `completed`.
/// With `completing`, the same statement first marks done the deliveries `$5`
/// held by owners `$6` (what a worker finished) and appends them to the done
/// counters' deltas ([`count_done`]); `completed` lists those it marked.
/// Without it, the claim commits without waiting for its WAL flush.
fn claim(completing: bool) -> String {
    let (relaxed, done, not_done, completed) = if completing {
        (
            "",
            format!(
                "done AS (
               UPDATE skc_deliveries d
               SET status = 'done', lease_owner = NULL, lease_until = NULL, updated_at = clock.now
               FROM unnest($5::bigint[], $6::text[]) AS u(id, owner), clock
               WHERE d.id = u.id AND d.lease_owner = u.owner AND d.status = 'active'
               RETURNING d.id, d.handler_id, d.event_seq, d.status
             ), {},",
                count_done("done", "")
            ),
            "AND d.id <> ALL($5)",
            "(SELECT array_agg(id) FROM done)",
        )
    } else {
        (
            ", set_config('synchronous_commit', 'off', true) AS relaxed",
            String::new(),
            "",
            "NULL::bigint[]",
        )
    };
    format!(
        "WITH clock AS (
           SELECT {NOW} AS now{relaxed}
         ), {done} waiting AS (
           SELECT d.id FROM skc_deliveries d, clock
           WHERE d.status = 'waiting' AND d.available_at <= clock.now
             AND d.handler_id = ANY($4)
             AND {ORDER_CLEAR}
           ORDER BY d.available_at, d.id
           LIMIT $3
           FOR UPDATE OF d SKIP LOCKED
         ), expired AS (
           SELECT d.id FROM skc_deliveries d, clock
           WHERE d.status = 'active' AND d.lease_until < clock.now
             AND d.handler_id = ANY($4) {not_done}
           ORDER BY d.lease_until, d.id
           LIMIT $3
           FOR UPDATE OF d SKIP LOCKED
         ), next AS (
           SELECT id FROM waiting UNION ALL SELECT id FROM expired LIMIT $3
         ), claimed AS (
           UPDATE skc_deliveries d
           SET status = 'active', lease_owner = $1, lease_until = clock.now + $2,
               lease_renewed = clock.now, attempts = d.attempts + 1, updated_at = clock.now,
               expired_leases = d.expired_leases + CASE WHEN d.status = 'active' THEN 1 ELSE 0 END,
               lone_deaths = d.lone_deaths
                 + CASE WHEN d.status = 'active' AND d.lease_owner LIKE '%!' THEN 1 ELSE 0 END
           FROM next, clock
           WHERE d.id = next.id
           RETURNING d.id, d.handler_id, d.attempts, d.replay, d.event_seq, d.expired_leases,
                     d.lone_deaths
         ), grouped AS (
           SELECT c.event_seq AS seq, json_agg(json_build_array(
                    c.id, c.handler_id, c.attempts, c.replay,
                    EXISTS (SELECT 1 FROM skc_handled h JOIN skc_events he ON he.id = h.event_id
                            WHERE he.seq = c.event_seq AND h.handler_id = c.handler_id)::int,
                    c.expired_leases, c.lone_deaths)
                    ORDER BY c.id) AS deliveries
           FROM claimed c GROUP BY c.event_seq
         )
         SELECT coalesce((
                  SELECT json_agg(json_build_array(
                           e.seq, e.id, e.event_type, e.aggregate_type, e.aggregate_id,
                           e.payload::text, e.metadata::text, e.version,
                           to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
                           g.deliveries) ORDER BY e.seq)
                  FROM grouped g JOIN skc_events e ON e.seq = g.seq)::text, '[]') AS claimed,
                {completed} AS completed"
    )
}

/// [`claim`] alone (`$1` to `$4`).
pub(super) static CLAIM: LazyLock<String> = LazyLock::new(|| claim(false));

/// [`claim`] completing first (`$1` to `$6`).
pub(super) static COMPLETE_AND_CLAIM: LazyLock<String> = LazyLock::new(|| claim(true));

/// Marks done the deliveries `$1` held by owners `$2`; returns their ids.
pub(super) static COMPLETE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH done AS (
           UPDATE skc_deliveries d
             SET status = 'done', lease_owner = NULL, lease_until = NULL,
                 updated_at = {NOW}
             FROM unnest($1::bigint[], $2::text[]) AS u(id, owner)
             WHERE d.id = u.id AND d.lease_owner = u.owner AND d.status = 'active'
             RETURNING d.id, d.handler_id, d.event_seq, d.status
         ), {}
         SELECT id FROM done",
        count_done("done", "")
    )
});

/// The CTE `counted` that appends to `skc_done_deltas` (migration 10) how
/// many of the deliveries of the CTE `source` (returning `handler_id,
/// event_seq, status`, as they were made or as they were before a delete)
/// are done, per district and handler, with `sign` (`""` for made done, `"-"`
/// for deleted). One row per district and handler the statement changed;
/// none when it made or deleted no done delivery. PostgreSQL runs a
/// data-modifying CTE whether or not anything reads it.
pub(super) fn count_done(source: &str, sign: &str) -> String {
    format!(
        "counted AS (
           INSERT INTO skc_done_deltas (district_id, handler_id, n)
           SELECT COALESCE(e.district_id, ''), x.handler_id, {sign}COUNT(*)
           FROM {source} x LEFT JOIN skc_events e ON e.seq = x.event_seq
           WHERE x.status = 'done'
           GROUP BY 1, 2
         )"
    )
}

/// Records successes whose lease was lost: handlers `$1`, events `$2`
/// (pairwise).
pub(super) static RECORD_HANDLED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO skc_handled (handler_id, event_id, handled_at)
                     SELECT h, e::uuid, {NOW}
                     FROM unnest($1::text[], $2::text[]) AS u(h, e)
                     ON CONFLICT DO NOTHING"
    )
});

/// Hands back the deliveries `$1` held by owners `$2`.
pub(super) static RELEASE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE skc_deliveries d
                     SET status = 'waiting', attempts = GREATEST(d.attempts - 1, 0), lease_owner = NULL,
                         lease_until = NULL,
                         updated_at = {NOW}
                     FROM unnest($1::bigint[], $2::text[]) AS u(id, owner)
                     WHERE d.id = u.id AND d.lease_owner = u.owner AND d.status = 'active'"
    )
});

/// A failed attempt: dead (`$1`) or waiting `$2` microseconds, error `$3`, of
/// delivery `$4` held by `$5`.
pub(super) static FAIL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH clock AS (
                       SELECT {NOW} AS now
                     )
                     UPDATE skc_deliveries
                     SET status = CASE WHEN $1 THEN 'dead' ELSE 'waiting' END,
                         available_at = clock.now + $2, last_error = $3, lease_owner = NULL,
                         lease_until = NULL, updated_at = clock.now
                     FROM clock
                     WHERE id = $4 AND lease_owner = $5 AND status = 'active'"
    )
});

/// A dead letter without running: error `$1`, delivery `$2` held by `$3`.
pub(super) static DEAD_LETTER_UNRUN: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE skc_deliveries
                 SET status = 'dead', attempts = GREATEST(attempts - 1, 0), last_error = $1,
                     lease_owner = NULL, lease_until = NULL,
                     updated_at = {NOW}
                 WHERE id = $2 AND lease_owner = $3 AND status = 'active'"
    )
});

/// Marks the lease of delivery `$3` held by `$4` as `$1` (running alone),
/// attempts at most `$2`.
pub(super) const MARK_ALONE: &str =
    "UPDATE skc_deliveries SET lease_owner = $1, attempts = LEAST(attempts, $2::int)
                 WHERE id = $3 AND lease_owner = $4 AND status = 'active'";

/// Dead letters, oldest first: of handler `$1` (or any), up to `$2`, in the
/// scope (`$3`, `$4`).
pub(super) static DEAD_LETTERS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT d.id AS delivery_id, d.handler_id, d.attempts, d.last_error, d.updated_at, {EVENT_COLS}
                     FROM skc_deliveries d JOIN skc_events e ON e.seq = d.event_seq
                     WHERE d.status = 'dead' AND ($1::text IS NULL OR d.handler_id = $1)
                       AND ($3 OR e.district_id = $4)
                     ORDER BY d.updated_at, d.id LIMIT $2"
    )
});

/// The scope condition of the updates of one dead letter (`$2`, `$3`), on
/// the letter's event.
const DEAD_IN_SCOPE: &str = "($2 OR EXISTS (SELECT 1 FROM skc_events e
                             WHERE e.seq = skc_deliveries.event_seq AND e.district_id = $3))";

/// Puts dead letter `$1` back in the queue, in the scope.
pub(super) static RETRY_DEAD: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE skc_deliveries SET status = 'waiting', attempts = 0,
                   available_at = {NOW},
                   updated_at = {NOW}
                 WHERE id = $1 AND status = 'dead' AND {DEAD_IN_SCOPE}"
    )
});

/// Discards dead letter `$1`, in the scope.
pub(super) static DISCARD_DEAD: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE skc_deliveries SET status = 'discarded',
                   updated_at = {NOW}
                 WHERE id = $1 AND status = 'dead' AND {DEAD_IN_SCOPE}"
    )
});

/// Whether any of the handlers `$1` has an unfinished delivery.
pub(super) const HAS_PENDING: &str = "SELECT EXISTS (SELECT 1 FROM skc_deliveries
                                    WHERE status = 'waiting' AND handler_id = ANY($1))
                         OR EXISTS (SELECT 1 FROM skc_deliveries
                                    WHERE status = 'active' AND handler_id = ANY($1))";

/// Queue counters per handler, all districts: the done counters and the
/// partial indexes, not the history.
pub(super) static STATS_ALL: LazyLock<String> =
    LazyLock::new(|| crate::shared::counted_stats(NOW, super::counts::COUNTS, None));

/// Queue counters per handler of the events of district `$1`.
pub(super) static STATS_DISTRICT: LazyLock<String> =
    LazyLock::new(|| crate::shared::counted_stats(NOW, super::counts::COUNTS, Some("$1")));

/// The same counted from every delivery (what the counters must agree with).
pub(super) static RECOUNT_ALL: LazyLock<String> = LazyLock::new(|| crate::shared::recount(NOW, ""));

/// [`RECOUNT_ALL`] of district `$1`.
pub(super) static RECOUNT_DISTRICT: LazyLock<String> = LazyLock::new(|| {
    crate::shared::recount(
        NOW,
        " JOIN skc_events e ON e.seq = d.event_seq WHERE e.district_id = $1",
    )
});

/// The events in the scope (`$1`, `$2`) meeting `condition`, in order.
fn select_events(condition: &str) -> String {
    format!(
        "SELECT {EVENT_COLS} FROM skc_events e
                     WHERE ($1 OR e.district_id = $2) AND {condition} ORDER BY e.seq"
    )
}

/// The events of aggregate type `$3` and id `$4`.
pub(super) static AGGREGATE_EVENTS: LazyLock<String> =
    LazyLock::new(|| select_events("e.aggregate_type = $3 AND e.aggregate_id = $4"));

/// The events of type `$3` whose payload field `$4` reads as the text `$5`.
pub(super) static EVENTS_BY_FIELD: LazyLock<String> =
    LazyLock::new(|| select_events("e.event_type = $3 AND e.payload->>$4 = $5"));

/// The events of type `event_type` whose payload field `field` reads as the
/// text `$3`, both checked by the caller and written in, so the partial
/// index of the field (`field_index.rs`), if there is one, answers it.
pub(super) fn events_by_indexed_field(event_type: &str, field: &str) -> String {
    select_events(&format!(
        "e.event_type = '{event_type}' AND e.payload->>'{field}' = $3"
    ))
}

/// The events of type `$3` that occurred in `[$4, $5)`, in the scope (`$1`,
/// `$2`).
pub(super) static EVENTS_BY_TYPE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {EVENT_COLS} FROM skc_events e
                     WHERE ($1 OR e.district_id = $2) AND e.event_type = $3
                       AND e.occurred_at >= $4 AND e.occurred_at < $5
                     ORDER BY e.seq"
    )
});

/// Up to `$5` events after the cursor (`$1`, `$2`) in `(transaction, seq)`
/// order, of transactions older than every one still in flight, in the scope
/// (`$3`, `$4`).
pub(super) static READ_AFTER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {EVENT_COLS} FROM skc_events e
                     WHERE (e.tx_id, e.seq) > ($1::text::xid8, $2)
                       AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())
                       AND ($3 OR e.district_id = $4)
                     ORDER BY e.tx_id, e.seq LIMIT $5"
    )
});

/// Queues the events of type `$3` (or any) that occurred at or after `$4`
/// (or ever), in the scope (`$5`, `$6`), again for handler `$1` as batch `$2`.
/// `of_type`: `$3` is given, and the events are read from the type's index
/// instead of all of them. `since`: `$4` is given (a condition the planner
/// can match to the time index; `$4 IS NULL OR ...` in a generic plan it
/// cannot).
fn replay(of_type: bool, since: bool) -> String {
    let by_type = if of_type {
        "e.event_type = $3"
    } else {
        "$3::text IS NULL"
    };
    let from = if since {
        "e.occurred_at >= $4::timestamptz"
    } else {
        "$4::timestamptz IS NULL"
    };
    format!(
        "INSERT INTO skc_deliveries
                       (event_seq, handler_id, status, available_at, replay, ordering_key, updated_at)
                     SELECT e.seq, $1, 'waiting', {NOW},
                            $2, e.aggregate_type || ':' || e.aggregate_id,
                            {NOW}
                     FROM skc_events e
                     WHERE {by_type}
                       AND {from}
                       AND ($5 OR e.district_id = $6)
                     ORDER BY e.tx_id, e.seq"
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

/// Progress of batch `$2` of handler `$1` in the scope (`$3`, `$4`).
/// Cancelled deliveries (`replay cancel`) are not counted.
pub(super) const REPLAY_PROGRESS: &str = "SELECT COUNT(*) FILTER (WHERE d.status <> 'cancelled'),
                            COALESCE(SUM(CASE WHEN d.status = 'done' THEN 1 ELSE 0 END), 0)::bigint,
                            COALESCE(SUM(CASE WHEN d.status = 'dead' THEN 1 ELSE 0 END), 0)::bigint
                     FROM skc_deliveries d JOIN skc_events e ON e.seq = d.event_seq
                     WHERE d.handler_id = $1 AND d.replay = $2 AND d.replay <> 0
                       AND ($3 OR e.district_id = $4)";

/// Refreshes the planner's statistics of the queue.
pub(super) const ANALYZE: &str = "ANALYZE skc_deliveries, skc_events";

/// The channel appends notify when their deliveries are committed.
pub(super) const CHANNEL: &str = "skc_deliveries";

/// Renews the leases worker `$1` holds (each claim's owner is the worker's
/// id, `:` and a number; `!` follows when marked to run alone) for `$2`
/// microseconds from now. One statement per worker per renewal
/// period.
pub(super) static RENEW_LEASES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE skc_deliveries SET lease_until = c.now + $2, lease_renewed = c.now
                 FROM (SELECT {NOW} AS now) AS c
                 WHERE status = 'active' AND left(lease_owner, length($1) + 1) = $1 || ':'"
    )
});

/// Lets the leases worker `$1` holds run out now: a worker that restarts
/// under the same identity takes them back with its next claim, which counts
/// them as leases that ran out.
pub(super) static EXPIRE_OWN_LEASES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE skc_deliveries SET lease_until = c.now - 1
                 FROM (SELECT {NOW} AS now) AS c
                 WHERE status = 'active' AND left(lease_owner, length($1) + 1) = $1 || ':'
                   AND lease_until >= c.now"
    )
});

/// Of the active deliveries of the handlers `$1`, those whose worker stopped
/// renewing their leases, per lease owner: how many, how many are still
/// held, the latest expiry, and the database's clock.
pub(super) static STALLED_LEASES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT d.lease_owner, COUNT(*),
                COALESCE(SUM(CASE WHEN d.lease_until >= {NOW} THEN 1 ELSE 0 END), 0)::bigint,
                MAX(d.lease_until), {NOW}
         FROM skc_deliveries d
         WHERE d.status = 'active' AND d.handler_id = ANY($1) AND {}
         GROUP BY d.lease_owner",
        crate::shared::stalled(NOW)
    )
});

/// Cancels the waiting deliveries of the replays of handler `$1` (batch `$2`,
/// or every batch), in the scope (`$3`, `$4`).
pub(super) static CANCEL_REPLAY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE skc_deliveries SET status = 'cancelled', updated_at = {NOW}
                 WHERE handler_id = $1 AND replay <> 0 AND ($2::bigint IS NULL OR replay = $2)
                   AND status = 'waiting'
                   AND ($3 OR EXISTS (SELECT 1 FROM skc_events e
                                      WHERE e.seq = skc_deliveries.event_seq AND e.district_id = $4))"
    )
});

/// How many deliveries of handler `$1` a live worker holds.
pub(super) static HANDLER_HELD: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT COUNT(*) FROM skc_deliveries d
         WHERE d.handler_id = $1 AND d.status = 'active' AND NOT {}",
        crate::shared::stalled(NOW)
    )
});

/// Deletes the deliveries of handler `$1` in the scope (`$2`, `$3`), but
/// those a live worker holds; how many.
pub(super) static DROP_HANDLER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH gone AS (
           DELETE FROM skc_deliveries d
                 WHERE d.handler_id = $1
                   AND NOT (d.status = 'active' AND NOT {})
                   AND ($2 OR EXISTS (SELECT 1 FROM skc_events e
                                      WHERE e.seq = d.event_seq AND e.district_id = $3))
                 RETURNING d.handler_id, d.event_seq, d.status
         ), {}
         SELECT COUNT(*) FROM gone",
        crate::shared::stalled(NOW),
        count_done("gone", "-")
    )
});

/// Deletes the idempotency records of handler `$1` in the scope (`$2`, `$3`).
pub(super) const DROP_HANDLED: &str = "DELETE FROM skc_handled
                 WHERE handler_id = $1
                   AND ($2 OR EXISTS (SELECT 1 FROM skc_events e
                                      WHERE e.id = skc_handled.event_id AND e.district_id = $3))";
