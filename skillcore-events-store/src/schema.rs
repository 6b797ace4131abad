//! Table definitions, one migration list per backend.
//!
//! Migrations are embedded, numbered and applied on start inside a transaction
//! that holds a lock (`BEGIN IMMEDIATE` on SQLite, an advisory transaction lock on
//! PostgreSQL), so two processes starting against one database apply each exactly
//! once and neither fails.

/// The count of done deliveries per district and handler, as migration 10
/// fills `skc_done_counts` and `Store::rebuild_counters` fills it again
/// (the same statement in both dialects).
macro_rules! count_done_deliveries {
    () => {
        "INSERT INTO skc_done_counts (district_id, handler_id, n)
SELECT COALESCE(e.district_id, ''), d.handler_id, COUNT(*)
FROM skc_deliveries d LEFT JOIN skc_events e ON e.seq = d.event_seq
WHERE d.status = 'done'
GROUP BY 1, 2"
    };
}
pub(crate) use count_done_deliveries;

/// Migration 12 of both dialects: the handlers that have discarded or
/// cancelled deliveries, one entry each to skip between.
const FINISHED_HANDLER_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS skc_deliveries_finished_handler ON skc_deliveries (handler_id)
    WHERE status IN ('discarded', 'cancelled');";

#[cfg(feature = "sqlite")]
/// SQLite: one file, WAL. Timestamps used by the queue are integer microseconds
/// since the epoch (cheap to compare and index); `occurred_at` is fixed-width
/// RFC 3339 text, so it sorts and compares like time.
pub const SQLITE: &[&str] = &[
    // 1: the event store, the outbox of deliveries, the idempotency record.
    r#"
CREATE TABLE IF NOT EXISTS skc_events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT    NOT NULL UNIQUE,
    event_type     TEXT    NOT NULL,
    aggregate_type TEXT    NOT NULL,
    aggregate_id   TEXT    NOT NULL,
    district_id    TEXT,
    payload        TEXT    NOT NULL,
    metadata       TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    occurred_at    TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS skc_events_type ON skc_events (event_type);
CREATE INDEX IF NOT EXISTS skc_events_aggregate ON skc_events (aggregate_type, aggregate_id);
CREATE INDEX IF NOT EXISTS skc_events_occurred ON skc_events (occurred_at);
CREATE INDEX IF NOT EXISTS skc_events_district ON skc_events (district_id, seq);

CREATE TABLE IF NOT EXISTS skc_deliveries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_seq    INTEGER NOT NULL REFERENCES skc_events (seq),
    handler_id   TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    available_at INTEGER NOT NULL,
    lease_owner  TEXT,
    lease_until  INTEGER,
    last_error   TEXT,
    ordering_key TEXT,
    replay       INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS skc_deliveries_ready ON skc_deliveries (status, available_at, id);
CREATE INDEX IF NOT EXISTS skc_deliveries_handler ON skc_deliveries (handler_id, status);
CREATE INDEX IF NOT EXISTS skc_deliveries_order ON skc_deliveries (handler_id, ordering_key, event_seq);

CREATE TABLE IF NOT EXISTS skc_handled (
    handler_id TEXT    NOT NULL,
    event_id   TEXT    NOT NULL,
    handled_at INTEGER NOT NULL,
    PRIMARY KEY (handler_id, event_id)
);
"#,
    // 2: leases that ran out are found by index, not by scanning the queue.
    "CREATE INDEX IF NOT EXISTS skc_deliveries_lease ON skc_deliveries (status, lease_until, id);",
    // 3: publishing is one statement. The event row names its handlers (JSON
    // `[[handler_id, ordered], ...]`, kept as a record of where it was routed) and
    // a trigger queues their deliveries, so a single-row INSERT stores the event
    // and its deliveries atomically, in autocommit or in the caller's
    // transaction. Queue indexes become partial: a delivery is in the index of
    // its state only, finished deliveries in none of them (every index a row is
    // in costs pages in each commit that touches it). Per-handler counters
    // (`queue stats`) count the table instead of keeping an index up to date on
    // every state change.
    r#"
ALTER TABLE skc_events ADD COLUMN handlers TEXT;
CREATE TRIGGER skc_events_route AFTER INSERT ON skc_events
WHEN NEW.handlers IS NOT NULL
BEGIN
    INSERT INTO skc_deliveries (event_seq, handler_id, status, available_at, ordering_key, updated_at)
    SELECT NEW.seq, json_extract(r.value, '$[0]'), 'waiting', t.now,
           CASE WHEN json_extract(r.value, '$[1]') THEN NEW.aggregate_type || ':' || NEW.aggregate_id END,
           t.now
    FROM json_each(NEW.handlers) AS r,
         (SELECT CAST(unixepoch('subsec') * 1000000 AS INTEGER) AS now) AS t;
END;
DROP INDEX IF EXISTS skc_deliveries_ready;
DROP INDEX IF EXISTS skc_deliveries_lease;
DROP INDEX IF EXISTS skc_deliveries_order;
DROP INDEX IF EXISTS skc_deliveries_handler;
CREATE INDEX skc_deliveries_waiting ON skc_deliveries (available_at, id) WHERE status = 'waiting';
CREATE INDEX skc_deliveries_leased ON skc_deliveries (lease_until, id) WHERE status = 'active';
CREATE INDEX skc_deliveries_dead ON skc_deliveries (updated_at, id) WHERE status = 'dead';
CREATE INDEX skc_deliveries_ordered ON skc_deliveries (handler_id, ordering_key, event_seq)
    WHERE ordering_key IS NOT NULL;
CREATE INDEX skc_deliveries_replayed ON skc_deliveries (handler_id, replay) WHERE replay <> 0;
"#,
    // 4: no AUTOINCREMENT. With it, every row inserted (an event and each of
    // its deliveries) also looks up and rewrites its table's row in
    // `sqlite_sequence`: a publish with 3 handlers spent about 40% of its SQLite
    // time there (docs/performance.md). Without it a
    // new row's id is the largest id + 1, so ids still only grow as long as the
    // newest row is never deleted, and the store deletes no rows. The tables are
    // rebuilt with their rows, ids and indexes unchanged (SQLite cannot drop
    // AUTOINCREMENT in place): children first, then the parent, so the foreign
    // key always has a table to point at; `RENAME` repoints it. The index on
    // `(district_id, seq)` is not rebuilt: every query names its scope as
    // `(? OR district_id = ?)`, which SQLite's planner cannot match to it
    // (`EXPLAIN QUERY PLAN` shows the type, time, aggregate or `seq` index),
    // while every publish paid a page for it.
    r#"
CREATE TABLE skc_events_v4 (
    seq            INTEGER PRIMARY KEY,
    id             TEXT    NOT NULL UNIQUE,
    event_type     TEXT    NOT NULL,
    aggregate_type TEXT    NOT NULL,
    aggregate_id   TEXT    NOT NULL,
    district_id    TEXT,
    payload        TEXT    NOT NULL,
    metadata       TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    occurred_at    TEXT    NOT NULL,
    handlers       TEXT
);
INSERT INTO skc_events_v4 (seq, id, event_type, aggregate_type, aggregate_id, district_id,
                           payload, metadata, version, occurred_at, handlers)
SELECT seq, id, event_type, aggregate_type, aggregate_id, district_id,
       payload, metadata, version, occurred_at, handlers
FROM skc_events ORDER BY seq;

CREATE TABLE skc_deliveries_v4 (
    id           INTEGER PRIMARY KEY,
    event_seq    INTEGER NOT NULL REFERENCES skc_events_v4 (seq),
    handler_id   TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    available_at INTEGER NOT NULL,
    lease_owner  TEXT,
    lease_until  INTEGER,
    last_error   TEXT,
    ordering_key TEXT,
    replay       INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL
);
INSERT INTO skc_deliveries_v4 (id, event_seq, handler_id, status, attempts, available_at,
                               lease_owner, lease_until, last_error, ordering_key, replay, updated_at)
SELECT id, event_seq, handler_id, status, attempts, available_at,
       lease_owner, lease_until, last_error, ordering_key, replay, updated_at
FROM skc_deliveries ORDER BY id;

DROP TABLE skc_deliveries;
DROP TABLE skc_events;
ALTER TABLE skc_events_v4 RENAME TO skc_events;
ALTER TABLE skc_deliveries_v4 RENAME TO skc_deliveries;

CREATE INDEX skc_events_type ON skc_events (event_type);
CREATE INDEX skc_events_aggregate ON skc_events (aggregate_type, aggregate_id);
CREATE INDEX skc_events_occurred ON skc_events (occurred_at);
CREATE INDEX skc_deliveries_waiting ON skc_deliveries (available_at, id) WHERE status = 'waiting';
CREATE INDEX skc_deliveries_leased ON skc_deliveries (lease_until, id) WHERE status = 'active';
CREATE INDEX skc_deliveries_dead ON skc_deliveries (updated_at, id) WHERE status = 'dead';
CREATE INDEX skc_deliveries_ordered ON skc_deliveries (handler_id, ordering_key, event_seq)
    WHERE ordering_key IS NOT NULL;
CREATE INDEX skc_deliveries_replayed ON skc_deliveries (handler_id, replay) WHERE replay <> 0;
CREATE TRIGGER skc_events_route AFTER INSERT ON skc_events
WHEN NEW.handlers IS NOT NULL
BEGIN
    INSERT INTO skc_deliveries (event_seq, handler_id, status, available_at, ordering_key, updated_at)
    SELECT NEW.seq, json_extract(r.value, '$[0]'), 'waiting', t.now,
           CASE WHEN json_extract(r.value, '$[1]') THEN NEW.aggregate_type || ':' || NEW.aggregate_id END,
           t.now
    FROM json_each(NEW.handlers) AS r,
         (SELECT CAST(unixepoch('subsec') * 1000000 AS INTEGER) AS now) AS t;
END;
"#,
    // 5: how many times a delivery's lease ran out before its outcome was
    // recorded (its worker died or stalled): a claim that takes over an
    // expired lease counts it, so a worker can tell a delivery that keeps
    // killing its process and send it to the dead letters.
    "ALTER TABLE skc_deliveries ADD COLUMN expired_leases INTEGER NOT NULL DEFAULT 0;",
    // 6: how many of those leases ran out while the delivery ran alone (a
    // worker runs a delivery that was in flight when a worker died with nothing
    // else in flight, its lease owner marked with a final `!`): each is a death
    // it caused for certain, where one among other deliveries may have been a
    // neighbour's.
    "ALTER TABLE skc_deliveries ADD COLUMN lone_deaths INTEGER NOT NULL DEFAULT 0;",
    // 7: when the lease of an active delivery was last taken or renewed (its
    // worker renews it while the handler runs): a lease not renewed for two
    // renewal periods (two thirds of its length) is held by a worker that
    // stopped, `queue stats`' stalled. NULL for leases taken before.
    "ALTER TABLE skc_deliveries ADD COLUMN lease_renewed INTEGER;",
    // 8: the operations queries (`Store::deliveries_of`, `Store::correlated`,
    // `Store::throughput`: src/inspect.rs) read by index: an event's
    // deliveries, the events of one correlation id (only events that carry
    // one are in it), done deliveries by the time they finished (the dead
    // ones have `skc_deliveries_dead`).
    r#"
CREATE INDEX IF NOT EXISTS skc_deliveries_event ON skc_deliveries (event_seq);
CREATE INDEX IF NOT EXISTS skc_events_correlation ON skc_events (json_extract(metadata, '$.correlationId'))
    WHERE json_extract(metadata, '$.correlationId') IS NOT NULL;
CREATE INDEX IF NOT EXISTS skc_deliveries_done ON skc_deliveries (updated_at) WHERE status = 'done';
"#,
    // 9: retention (src/retention.rs) deletes finished deliveries by the time
    // they finished, in small batches by index: done ones through
    // `skc_deliveries_done`, discarded dead letters and cancelled replay
    // deliveries through this one (rare states, so it stays small and a
    // delivery on its way to done never enters it).
    "CREATE INDEX IF NOT EXISTS skc_deliveries_finished ON skc_deliveries (updated_at)
    WHERE status IN ('discarded', 'cancelled');",
    // 10: the count of done deliveries per district and handler, kept as
    // deliveries become done and as done ones are deleted (retention, `queue
    // drop`), so that `queue stats` never counts the history: the done rows
    // are nearly all of the table, and every other state is counted from its
    // partial index (waiting, active, dead: the unfinished work and the dead
    // letters, not the history). Only the transitions into and out of done
    // fire the triggers' bodies: a publish writes nothing more, a claim only
    // tests the trigger's WHEN. The district is the event's (`''` for none).
    // Filled from the done deliveries already there, in the migration's
    // transaction.
    concat!(
        r#"
CREATE TABLE skc_done_counts (
    district_id TEXT    NOT NULL,
    handler_id  TEXT    NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (district_id, handler_id)
) WITHOUT ROWID;
"#,
        count_done_deliveries!(),
        r#";
CREATE TRIGGER skc_done_counted AFTER UPDATE OF status ON skc_deliveries
WHEN NEW.status = 'done' AND OLD.status IS NOT 'done'
BEGIN
    INSERT INTO skc_done_counts (district_id, handler_id, n)
    SELECT COALESCE((SELECT district_id FROM skc_events WHERE seq = NEW.event_seq), ''), NEW.handler_id, 1
    WHERE true
    ON CONFLICT (district_id, handler_id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER skc_done_undone AFTER UPDATE OF status ON skc_deliveries
WHEN OLD.status = 'done' AND NEW.status IS NOT 'done'
BEGIN
    INSERT INTO skc_done_counts (district_id, handler_id, n)
    SELECT COALESCE((SELECT district_id FROM skc_events WHERE seq = OLD.event_seq), ''), OLD.handler_id, -1
    WHERE true
    ON CONFLICT (district_id, handler_id) DO UPDATE SET n = n - 1;
END;
CREATE TRIGGER skc_done_uncounted AFTER DELETE ON skc_deliveries
WHEN OLD.status = 'done'
BEGIN
    INSERT INTO skc_done_counts (district_id, handler_id, n)
    SELECT COALESCE((SELECT district_id FROM skc_events WHERE seq = OLD.event_seq), ''), OLD.handler_id, -1
    WHERE true
    ON CONFLICT (district_id, handler_id) DO UPDATE SET n = n - 1;
END;
"#
    ),
    // 11: the indexes of payload fields made by `Store::create_field_index`
    // (each a partial index `skc_field_…` on `skc_events`), recorded so they
    // can be listed and dropped.
    r#"
CREATE TABLE IF NOT EXISTS skc_field_indexes (
    event_type TEXT NOT NULL,
    field      TEXT NOT NULL,
    index_name TEXT NOT NULL UNIQUE,
    PRIMARY KEY (event_type, field)
) WITHOUT ROWID;
"#,
    // 12: the handlers that have discarded or cancelled deliveries, read one
    // entry per handler (a skip from each to the next) so `queue stats` keeps
    // listing them without reading every such delivery.
    FINISHED_HANDLER_INDEX,
];

#[cfg(feature = "postgres")]
/// PostgreSQL. `tx_id` records the writing transaction (`pg_current_xact_id()`):
/// readers that follow the global order read by `(tx_id, seq)` and only below the
/// oldest transaction still in flight, so a transaction that commits late with a
/// low `seq` can never be skipped. Queue timestamps are the database's clock in
/// microseconds, so workers on machines with skewed clocks agree on leases.
pub const POSTGRES: &[&str] = &[
    // 1: the event store, the outbox of deliveries, the idempotency record.
    r#"
CREATE TABLE IF NOT EXISTS skc_events (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tx_id          XID8        NOT NULL DEFAULT pg_current_xact_id(),
    id             UUID        NOT NULL UNIQUE,
    event_type     TEXT        NOT NULL,
    aggregate_type TEXT        NOT NULL,
    aggregate_id   TEXT        NOT NULL,
    district_id    TEXT,
    payload        JSONB       NOT NULL,
    metadata       JSONB       NOT NULL,
    version        INTEGER     NOT NULL,
    occurred_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS skc_events_type ON skc_events (event_type);
CREATE INDEX IF NOT EXISTS skc_events_aggregate ON skc_events (aggregate_type, aggregate_id);
CREATE INDEX IF NOT EXISTS skc_events_occurred ON skc_events (occurred_at);
CREATE INDEX IF NOT EXISTS skc_events_district ON skc_events (district_id, seq);
CREATE INDEX IF NOT EXISTS skc_events_order ON skc_events (tx_id, seq);

CREATE TABLE IF NOT EXISTS skc_deliveries (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_seq    BIGINT  NOT NULL REFERENCES skc_events (seq),
    handler_id   TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    available_at BIGINT  NOT NULL,
    lease_owner  TEXT,
    lease_until  BIGINT,
    last_error   TEXT,
    ordering_key TEXT,
    replay       BIGINT  NOT NULL DEFAULT 0,
    updated_at   BIGINT  NOT NULL
);
CREATE INDEX IF NOT EXISTS skc_deliveries_ready ON skc_deliveries (status, available_at, id);
CREATE INDEX IF NOT EXISTS skc_deliveries_handler ON skc_deliveries (handler_id, status);
CREATE INDEX IF NOT EXISTS skc_deliveries_order ON skc_deliveries (handler_id, ordering_key, event_seq);

CREATE TABLE IF NOT EXISTS skc_handled (
    handler_id TEXT   NOT NULL,
    event_id   UUID   NOT NULL,
    handled_at BIGINT NOT NULL,
    PRIMARY KEY (handler_id, event_id)
);
"#,
    // 2: leases that ran out are found by index, not by scanning the queue.
    "CREATE INDEX IF NOT EXISTS skc_deliveries_lease ON skc_deliveries (status, lease_until, id);",
    // 3: publishing is one statement (a data-modifying CTE writes the event and
    // its deliveries); a statement trigger sends the wake-up `NOTIFY` at commit,
    // so it costs no round trip of its own. Queue indexes become partial, as on
    // SQLite. `handlers` records where the event was routed, as on SQLite.
    r#"
ALTER TABLE skc_events ADD COLUMN IF NOT EXISTS handlers JSONB;
CREATE OR REPLACE FUNCTION skc_notify_deliveries() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM pg_notify('skc_deliveries', '');
    RETURN NULL;
END
$fn$;
CREATE OR REPLACE TRIGGER skc_deliveries_notify AFTER INSERT ON skc_deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION skc_notify_deliveries();
DROP INDEX IF EXISTS skc_deliveries_ready;
DROP INDEX IF EXISTS skc_deliveries_lease;
DROP INDEX IF EXISTS skc_deliveries_order;
DROP INDEX IF EXISTS skc_deliveries_handler;
CREATE INDEX IF NOT EXISTS skc_deliveries_waiting ON skc_deliveries (available_at, id) WHERE status = 'waiting';
CREATE INDEX IF NOT EXISTS skc_deliveries_leased ON skc_deliveries (lease_until, id) WHERE status = 'active';
CREATE INDEX IF NOT EXISTS skc_deliveries_dead ON skc_deliveries (updated_at, id) WHERE status = 'dead';
CREATE INDEX IF NOT EXISTS skc_deliveries_ordered ON skc_deliveries (handler_id, ordering_key, event_seq)
    WHERE ordering_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS skc_deliveries_replayed ON skc_deliveries (handler_id, replay) WHERE replay <> 0;
-- Every delivery row is updated twice: vacuum and analyze the queue early.
ALTER TABLE skc_deliveries SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);
"#,
    // 4: no foreign key from deliveries to events. PostgreSQL checks one with a
    // trigger that runs a query per inserted row, three per publish with three
    // handlers: dropping it made awaited single publishes 13% faster with
    // asynchronous commit (docs/performance.md). Deliveries are only ever
    // written from their event in the same statement (publish, replay), and the
    // store deletes no events; the claim joins the event, so a delivery whose
    // event someone deleted by hand is never handed out.
    "ALTER TABLE skc_deliveries DROP CONSTRAINT IF EXISTS skc_deliveries_event_seq_fkey;",
    // 5: leases that ran out, as on SQLite (no table rewrite: a constant default).
    "ALTER TABLE skc_deliveries ADD COLUMN IF NOT EXISTS expired_leases INTEGER NOT NULL DEFAULT 0;",
    // 6: leases that ran out while the delivery ran alone, as on SQLite.
    "ALTER TABLE skc_deliveries ADD COLUMN IF NOT EXISTS lone_deaths INTEGER NOT NULL DEFAULT 0;",
    // 7: when the lease was last taken or renewed, as on SQLite.
    "ALTER TABLE skc_deliveries ADD COLUMN IF NOT EXISTS lease_renewed BIGINT;",
    // 8: the operations queries read by index, as on SQLite; and the type and
    // aggregate indexes gain `seq` (SQLite's hold it as the rowid), so an
    // event search walks one type's or one aggregate's events newest first
    // and stops after a page, instead of sorting all of them.
    r#"
CREATE INDEX IF NOT EXISTS skc_deliveries_event ON skc_deliveries (event_seq);
CREATE INDEX IF NOT EXISTS skc_events_correlation ON skc_events ((metadata->>'correlationId'), seq)
    WHERE metadata->>'correlationId' IS NOT NULL;
CREATE INDEX IF NOT EXISTS skc_deliveries_done ON skc_deliveries (updated_at) WHERE status = 'done';
CREATE INDEX IF NOT EXISTS skc_events_type_seq ON skc_events (event_type, seq);
DROP INDEX IF EXISTS skc_events_type;
CREATE INDEX IF NOT EXISTS skc_events_aggregate_seq ON skc_events (aggregate_type, aggregate_id, seq);
DROP INDEX IF EXISTS skc_events_aggregate;
"#,
    // 9: retention deletes finished deliveries by index, as on SQLite.
    "CREATE INDEX IF NOT EXISTS skc_deliveries_finished ON skc_deliveries (updated_at)
    WHERE status IN ('discarded', 'cancelled');",
    // 10: the count of done deliveries per district and handler, as on
    // SQLite, but written without contention and without triggers: a row
    // trigger updating a counter row would make every worker wait for every
    // other's transaction on it, and a statement trigger's transition tables
    // are built for every claim too (measured: a third of the drain). So the
    // few statements that make deliveries done or delete done ones
    // (`postgres/sql.rs`: completions; `queue drop`; retention) append one
    // row per district and handler they changed to `skc_done_deltas`, which
    // nothing updates, in the same statement (a data-modifying CTE); a
    // background fold (`postgres/counts.rs`) moves the deltas into
    // `skc_done_counts`, and readers add the two. Filled from the done
    // deliveries already there, writers held off until the migration commits.
    concat!(
        r#"
LOCK TABLE skc_deliveries IN SHARE ROW EXCLUSIVE MODE;
CREATE TABLE IF NOT EXISTS skc_done_counts (
    district_id TEXT   NOT NULL,
    handler_id  TEXT   NOT NULL,
    n           BIGINT NOT NULL,
    PRIMARY KEY (district_id, handler_id)
);
CREATE TABLE IF NOT EXISTS skc_done_deltas (
    district_id TEXT   NOT NULL,
    handler_id  TEXT   NOT NULL,
    n           BIGINT NOT NULL
);
ALTER TABLE skc_done_deltas SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
"#,
        count_done_deliveries!(),
        ";"
    ),
    // 11: as SQLite's.
    r#"
CREATE TABLE IF NOT EXISTS skc_field_indexes (
    event_type TEXT NOT NULL,
    field      TEXT NOT NULL,
    index_name TEXT NOT NULL UNIQUE,
    PRIMARY KEY (event_type, field)
);
"#,
    // 12: as SQLite's.
    FINISHED_HANDLER_INDEX,
];
