-- Fills a SkillCore event store (SQLite, created and migrated by the store
-- beforehand) with :N events of gradebook.grade.posted and three deliveries
-- each: done, except the newest 1 % waiting and one event in 1,000 dead for
-- every handler (four error shapes). Done deliveries finished 3 ms apart up
-- to now, so the last hour's throughput chart has data. Ten districts,
-- 50,000 students, four events per correlation id.
-- Used by benchmarks/dashboard/run; set the count with `.parameter set :n N`.
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :n)
INSERT INTO skc_events (id, event_type, aggregate_type, aggregate_id, district_id,
                        payload, metadata, version, occurred_at, handlers)
SELECT printf('%08x-0000-7000-8000-%012x', i, i),
       'gradebook.grade.posted', 'Result', printf('res-%d', i), printf('dst-%d', i % 10),
       json_object('resultId', printf('res-%d', i), 'lineItemId', 'li-essay',
                   'studentId', printf('stu-%d', i % 50000), 'classId', 'cls-101',
                   'pointsEarned', 42.5, 'pointsPossible', 50.0, 'scorePercent', (i % 100) * 1.0,
                   'letterGrade', 'B', 'gradedById', 'tch-111', 'postedAt', '2025-11-17T14:03:00Z',
                   'districtId', printf('dst-%d', i % 10), 'schoolId', 'sch-333',
                   'comment', 'Private note'),
       json_object('districtId', printf('dst-%d', i % 10), 'schoolId', 'sch-333',
                   'userId', 'tch-111', 'correlationId', printf('corr-%d', i / 4)),
       1,
       strftime('%Y-%m-%dT%H:%M:%f', 'now', printf('-%d seconds', (:n - i) * 3 / 1000)) || '000Z',
       NULL
FROM n;
WITH h(handler) AS (VALUES ('analytics.update_gpa'), ('interventions.check_failing_grade'),
                           ('notifications.send_grade_notification')),
     t(now) AS (SELECT CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)),
     e AS (SELECT seq FROM skc_events WHERE id LIKE '%-0000-7000-8000-%')
INSERT INTO skc_deliveries (event_seq, handler_id, status, attempts, available_at,
                            last_error, updated_at)
SELECT e.seq, h.handler,
       CASE WHEN e.seq % 1000 = 7 THEN 'dead'
            WHEN e.seq > (SELECT MAX(seq) FROM e) - :n / 100 THEN 'waiting'
            ELSE 'done' END,
       CASE WHEN e.seq % 1000 = 7 THEN 3
            WHEN e.seq > (SELECT MAX(seq) FROM e) - :n / 100 THEN 0 ELSE 1 END,
       t.now - ((SELECT MAX(seq) FROM e) - e.seq) * 3000,
       CASE WHEN e.seq % 1000 = 7 THEN
            CASE e.seq % 4000
                WHEN 7 THEN printf('student stu-%d not found in the SIS', e.seq % 50000)
                WHEN 1007 THEN printf('SMTP %d mailbox unavailable', 550 + e.seq % 3)
                WHEN 2007 THEN printf('timeout after %d ms', 5000 + e.seq % 100)
                ELSE printf('deadlock detected on row %d', e.seq) END
       END,
       t.now - ((SELECT MAX(seq) FROM e) - e.seq) * 3000
FROM e, h, t;
COMMIT;
ANALYZE;
