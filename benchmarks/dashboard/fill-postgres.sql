-- The PostgreSQL twin of fill.sql: fills a SkillCore event store (a schema
-- created and migrated by the store beforehand, set as the search path) with
-- :n events of gradebook.grade.posted and three deliveries each, the same
-- shape as on SQLite: done, except the newest 1 % waiting and one event in
-- 1,000 dead for every handler (four error shapes); done deliveries finished
-- 3 ms apart up to now; ten districts, 50,000 students, four events per
-- correlation id.
-- Used by benchmarks/dashboard/run (DASH_BACKEND=postgres):
--   psql -v n=1000000 -c 'SET search_path = dash_bench' -f fill-postgres.sql
SET synchronous_commit = off;
BEGIN;
INSERT INTO skc_events (id, event_type, aggregate_type, aggregate_id, district_id,
                        payload, metadata, version, occurred_at)
SELECT (lpad(to_hex(i), 8, '0') || '-0000-7000-8000-' || lpad(to_hex(i), 12, '0'))::uuid,
       'gradebook.grade.posted', 'Result', 'res-' || i, 'dst-' || (i % 10),
       jsonb_build_object('resultId', 'res-' || i, 'lineItemId', 'li-essay',
                          'studentId', 'stu-' || (i % 50000), 'classId', 'cls-101',
                          'pointsEarned', 42.5, 'pointsPossible', 50.0,
                          'scorePercent', (i % 100) * 1.0, 'letterGrade', 'B',
                          'gradedById', 'tch-111', 'postedAt', '2025-11-17T14:03:00Z',
                          'districtId', 'dst-' || (i % 10), 'schoolId', 'sch-333',
                          'comment', 'Private note'),
       jsonb_build_object('districtId', 'dst-' || (i % 10), 'schoolId', 'sch-333',
                          'userId', 'tch-111', 'correlationId', 'corr-' || (i / 4)),
       1,
       date_trunc('milliseconds', now()) - make_interval(secs => ((:n - i) * 3 / 1000)::int)
FROM generate_series(1, :n) AS i;
WITH h(handler) AS (VALUES ('analytics.update_gpa'), ('interventions.check_failing_grade'),
                           ('notifications.send_grade_notification')),
     t AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS now,
                  (SELECT max(seq) FROM skc_events) AS m)
INSERT INTO skc_deliveries (event_seq, handler_id, status, attempts, available_at,
                            last_error, updated_at)
SELECT e.seq, h.handler,
       CASE WHEN e.seq % 1000 = 7 THEN 'dead'
            WHEN e.seq > t.m - :n / 100 THEN 'waiting'
            ELSE 'done' END,
       CASE WHEN e.seq % 1000 = 7 THEN 3
            WHEN e.seq > t.m - :n / 100 THEN 0 ELSE 1 END,
       t.now - (t.m - e.seq) * 3000,
       CASE WHEN e.seq % 1000 = 7 THEN
            CASE e.seq % 4000
                WHEN 7 THEN format('student stu-%s not found in the SIS', e.seq % 50000)
                WHEN 1007 THEN format('SMTP %s mailbox unavailable', 550 + e.seq % 3)
                WHEN 2007 THEN format('timeout after %s ms', 5000 + e.seq % 100)
                ELSE format('deadlock detected on row %s', e.seq) END
       END,
       t.now - (t.m - e.seq) * 3000
FROM skc_events e, h, t;
COMMIT;
VACUUM ANALYZE skc_events;
VACUUM ANALYZE skc_deliveries;
