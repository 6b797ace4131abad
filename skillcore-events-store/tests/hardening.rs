//! Hardening of the store (issue 11): one publish never fails another's, an
//! unreachable server fails fast in its own words, and both backends give a
//! value the same meaning.

mod common;

use common::{both, event, pg_url, unique};
use serde_json::json;
use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::{Envelope, EventBus, Metadata};
use skillcore_events_store::{Durable, Scope, Store, StoreError};
use skillcore_events_store::{NewEvent, Subscriber};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod events {
    skillcore_events::catalog!("../catalog");
}
use events::{gradebook, LetterGrade};

fn grade(n: u64, district: &str, comment: Option<&str>) -> Envelope<gradebook::GradePosted> {
    Envelope::new(
        gradebook::GradePosted {
            result_id: skillcore_events::uuid::Uuid::from_u64_pair(11, n),
            line_item_id: format!("li-{n}"),
            student_id: "stu-1".into(),
            class_id: "cls-1".into(),
            points_earned: 90.0,
            points_possible: 100.0,
            score_percent: 90.0,
            letter_grade: LetterGrade::A,
            previous_score: None,
            graded_by_id: "tch-1".into(),
            posted_at: Utc.with_ymd_and_hms(2025, 11, 17, 14, 3, 0).unwrap(),
            district_id: district.into(),
            school_id: "sch-1".into(),
            comment: comment.map(str::to_string),
        },
        Metadata::new(district, "sch-1"),
    )
}

async fn count(store: &Store, sql: &'static str) -> i64 {
    match (store.sqlite_pool(), store.postgres_pool()) {
        (Some(p), _) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        (_, Some(p)) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        _ => unreachable!(),
    }
}

/// 300 concurrent `bus.publish` calls, one of them (another district) with a
/// NUL in its comment: that one fails, naming the event and the field but not
/// the value, and the 299 others are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_fails_its_own_publish_and_no_other() {
    for (name, store) in both().await {
        let bus = Arc::new(
            EventBus::builder()
                .subscribe::<gradebook::GradePosted, _, _>(
                    "analytics.update_gpa",
                    |_e, _cx| async move { Ok(()) },
                )
                .backend(Durable::store(store.clone()).run_workers(false))
                .build()
                .unwrap(),
        );
        let mut set = tokio::task::JoinSet::new();
        for i in 0..300u64 {
            let bus = bus.clone();
            set.spawn(async move {
                let bad = i == 150;
                let e = if bad {
                    grade(i, "dst-EVIL", Some("nul \u{0} here"))
                } else {
                    grade(i, "dst-GOOD", Some("fine"))
                };
                let id = e.id;
                (bad, id, bus.publish(e).await.map_err(|e| e.to_string()))
            });
        }
        let (mut ok, mut failed, mut bad_result) = (0, Vec::new(), None);
        while let Some(r) = set.join_next().await {
            match r.unwrap() {
                (true, id, r) => bad_result = Some((id, r)),
                (false, _, Ok(_)) => ok += 1,
                (false, _, Err(e)) => failed.push(e),
            }
        }
        assert_eq!((ok, failed.len()), (299, 0), "{name}: {:?}", failed.first());
        let (id, result) = bad_result.unwrap();
        let msg = result.expect_err("the NUL publish is refused");
        for part in [
            "gradebook.grade.posted",
            &id.to_string(),
            "`payload.comment`",
            "U+0000",
            "remove or replace",
        ] {
            assert!(msg.contains(part), "{name}: `{part}` missing from: {msg}");
        }
        assert!(!msg.contains("here"), "{name}: the value leaked: {msg}");
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM skc_events WHERE district_id = 'dst-GOOD'"
            )
            .await,
            299,
            "{name}"
        );
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM skc_events WHERE district_id = 'dst-EVIL'"
            )
            .await,
            0,
            "{name}"
        );
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM skc_deliveries").await,
            299,
            "{name}: each stored event has its delivery"
        );
    }
}

/// A NUL anywhere the backends cannot both store it is refused by both, for
/// every way of appending, with the path of the field.
#[tokio::test]
async fn both_backends_refuse_a_nul_with_the_path_of_the_field() {
    let subs = |_: &str| {
        vec![Subscriber {
            handler_id: "h",
            ordered: false,
        }]
    };
    for (name, store) in both().await {
        let base = event("x.happened", "agg-1", "dst-1", json!({"a": 1}));
        let mut nested = base.clone();
        nested.payload = json!({"guardians": [{"name": "ok"}, {"name": "n\u{0}"}]});
        let mut aggregate = base.clone();
        aggregate.aggregate_id = "agg\u{0}".into();
        let mut metadata = base.clone();
        metadata.metadata = json!({"districtId": "dst-1", "userId": "u\u{0}"});
        let mut district = base.clone();
        district.metadata = json!({"districtId": "dst\u{0}"});
        for (ev, path) in [
            (&nested, "payload.guardians[1].name"),
            (&aggregate, "aggregateId"),
            (&metadata, "metadata.userId"),
            (&district, "metadata.districtId"),
        ] {
            let err = store
                .append(std::slice::from_ref(ev), subs)
                .await
                .expect_err(path);
            assert!(
                matches!(&err, StoreError::Refused(r) if r.field == path && r.event_id == ev.id.to_string()),
                "{name}: {err:?}"
            );
            assert!(
                err.to_string().contains(&format!("`{path}`")),
                "{name}: {err}"
            );
        }
        // The same in the caller's own transaction.
        let err = match (store.sqlite_pool(), store.postgres_pool()) {
            (Some(p), _) => {
                let mut conn = p.acquire().await.unwrap();
                skillcore_events_store::append_sqlite(&mut conn, &[nested.clone()], &subs).await
            }
            (_, Some(p)) => {
                let mut conn = p.acquire().await.unwrap();
                skillcore_events_store::append_postgres(&mut conn, &[nested.clone()], &subs).await
            }
            _ => unreachable!(),
        }
        .expect_err("refused in a transaction too");
        assert!(matches!(err, StoreError::Refused(_)), "{name}: {err:?}");
        // An escaped backslash followed by `u0000` is no NUL.
        let mut fine = base.clone();
        fine.payload = json!({"a": "\\u0000"});
        store.append(&[fine], subs).await.unwrap();
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM skc_events").await,
            1,
            "{name}"
        );
    }
}

/// Whatever makes a group's statement fail (here a trigger refusing one
/// aggregate), its other appends are written again alone and stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_group_is_written_again_one_append_at_a_time() {
    for (name, store) in both().await {
        match (store.sqlite_pool(), store.postgres_pool()) {
            (Some(p), _) => {
                sqlx::raw_sql(
                    "CREATE TRIGGER refuse_poison BEFORE INSERT ON skc_events
                     WHEN NEW.aggregate_id = 'poison'
                     BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
                )
                .execute(p)
                .await
                .unwrap();
            }
            (_, Some(p)) => {
                sqlx::raw_sql(
                    "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
                     CREATE TRIGGER refuse_poison BEFORE INSERT ON skc_events
                     FOR EACH ROW WHEN (NEW.aggregate_id = 'poison')
                     EXECUTE FUNCTION refuse_poison();",
                )
                .execute(p)
                .await
                .unwrap();
            }
            _ => unreachable!(),
        }
        let store = Arc::new(store);
        let mut set = tokio::task::JoinSet::new();
        for i in 0..300 {
            let store = store.clone();
            set.spawn(async move {
                let agg = if i == 150 {
                    "poison".to_string()
                } else {
                    format!("agg-{i}")
                };
                let e: NewEvent = event("x.happened", &agg, "dst-1", json!({"n": i}));
                let r = store
                    .append(&[e], |_| {
                        vec![Subscriber {
                            handler_id: "h",
                            ordered: false,
                        }]
                    })
                    .await;
                (i == 150, r.map_err(|e| e.to_string()))
            });
        }
        let (mut ok, mut failed, mut poison) = (0, Vec::new(), None);
        while let Some(r) = set.join_next().await {
            match r.unwrap() {
                (true, r) => poison = Some(r),
                (false, Ok(seqs)) => {
                    assert_eq!(seqs.len(), 1, "{name}");
                    ok += 1
                }
                (false, Err(e)) => failed.push(e),
            }
        }
        assert_eq!((ok, failed.len()), (299, 0), "{name}: {:?}", failed.first());
        let err = poison.unwrap().expect_err("the refused one fails");
        assert!(err.contains("refused by the test"), "{name}: {err}");
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM skc_events").await,
            299,
            "{name}"
        );
    }
}

/// `events_by_field` on a boolean: JSON `true`/`false` match `"true"`/`"false"`
/// on both backends, never `"1"`/`"0"`.
#[tokio::test]
async fn a_boolean_field_matches_true_and_false_on_both_backends() {
    for (name, store) in both().await {
        let yes = event("a.marked", "a-1", "dst-1", json!({"excused": true, "n": 1}));
        let no = event(
            "a.marked",
            "a-2",
            "dst-1",
            json!({"excused": false, "n": 0}),
        );
        store
            .append(&[yes.clone(), no.clone()], |_| vec![])
            .await
            .unwrap();
        let scope = Scope::District("dst-1".into());
        let ids = |v: Vec<skillcore_events_store::StoredEvent>| {
            v.into_iter().map(|e| e.event.id).collect::<Vec<_>>()
        };
        let by = |value: &'static str, field: &'static str| {
            let store = store.clone();
            let scope = scope.clone();
            async move {
                store
                    .events_by_field(&scope, "a.marked", field, value)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(ids(by("true", "excused").await), [yes.id], "{name}");
        assert_eq!(ids(by("false", "excused").await), [no.id], "{name}");
        assert!(by("1", "excused").await.is_empty(), "{name}");
        assert!(by("0", "excused").await.is_empty(), "{name}");
        // Numbers keep their text.
        assert_eq!(ids(by("1", "n").await), [yes.id], "{name}");
    }
}

/// A port on 127.0.0.1 nobody listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The error chain reaches an I/O error of this kind.
fn reaches_io(e: &(dyn std::error::Error + 'static), kind: std::io::ErrorKind) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == kind)
        {
            return true;
        }
        next = e.source();
    }
    false
}

/// A server refusing connections: opening the store fails at once with
/// "connection refused" and the address, the I/O error as its source; a bus
/// publish says the same within a second or so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_postgres_fails_fast_and_says_so() {
    let port = closed_port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/test");
    for schema in [None, Some("skc_never_created")] {
        let start = Instant::now();
        let err = Store::postgres(&url, schema).await.expect_err("refused");
        let took = start.elapsed();
        assert!(took < Duration::from_secs(2), "{schema:?}: took {took:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("connection refused") && msg.contains(&format!("127.0.0.1:{port}")),
            "{msg}"
        );
        assert!(matches!(err, StoreError::Connect { .. }), "{err:?}");
        assert!(
            reaches_io(&err, std::io::ErrorKind::ConnectionRefused),
            "{err:?}"
        );
    }

    let bus = EventBus::builder()
        .subscribe::<gradebook::GradePosted, _, _>("analytics.update_gpa", |_e, _cx| async move {
            Ok(())
        })
        .backend(Durable::postgres(url.clone()).schema("skc_never_created"))
        .build()
        .unwrap();
    for n in 0..3 {
        let start = Instant::now();
        let err = bus
            .publish(grade(n, "dst-1", None))
            .await
            .expect_err("refused");
        let took = start.elapsed();
        assert!(took < Duration::from_secs(3), "publish {n} took {took:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("connection refused") && msg.contains(&format!("127.0.0.1:{port}")),
            "{msg}"
        );
        assert!(
            reaches_io(&err, std::io::ErrorKind::ConnectionRefused),
            "the bus keeps the store's error as the source: {err:?}"
        );
    }
    bus.shutdown(Duration::from_secs(2)).await;
}

/// A server that accepts connections and never answers: opening fails after
/// the URL's `connect_timeout`, saying so, with a timed-out I/O error as its
/// source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_postgres_fails_after_the_connect_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        loop {
            if let Ok((s, _)) = listener.accept().await {
                sockets.push(s);
            }
        }
    });
    let url = format!("postgres://postgres@127.0.0.1:{port}/test?connect_timeout=1");
    let start = Instant::now();
    let err = Store::postgres(&url, None).await.expect_err("no answer");
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "took {took:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("127.0.0.1:{port}")) && msg.contains("no answer within 1s"),
        "{msg}"
    );
    assert!(reaches_io(&err, std::io::ErrorKind::TimedOut), "{err:?}");
    held.abort();
}

/// A TCP proxy to the test server that can be stopped (its listener closed and
/// every connection through it cut) and started again on the same port.
struct Proxy {
    port: u16,
    stop: Option<tokio::sync::watch::Sender<bool>>,
}

impl Proxy {
    async fn start(port: u16) -> Proxy {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            loop {
                let mut s = stopped.clone();
                let (mut client, _) = tokio::select! {
                    r = listener.accept() => r.unwrap(),
                    _ = s.wait_for(|v| *v) => return,
                };
                let mut s = stopped.clone();
                tokio::spawn(async move {
                    let mut server = tokio::net::TcpStream::connect("127.0.0.1:5432")
                        .await
                        .unwrap();
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = s.wait_for(|v| *v) => {}
                    }
                });
            }
        });
        Proxy {
            port,
            stop: Some(stop),
        }
    }

    fn stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(true);
        }
    }
}

/// The server goes away under an open store: each publish fails within a
/// couple of seconds, soon saying "connection refused" with the address; when
/// the server is back, publishing carries on, and every acknowledged event is
/// stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_fail_fast_while_the_server_is_gone_and_nothing_acknowledged_is_lost() {
    assert!(
        pg_url().contains("127.0.0.1:5432"),
        "the proxy forwards to 127.0.0.1:5432"
    );
    let mut proxy = Proxy::start(0).await;
    let port = proxy.port;
    let schema = unique("skc_hard");
    let store = Store::postgres(
        &format!("postgres://postgres@127.0.0.1:{port}/test"),
        Some(&schema),
    )
    .await
    .unwrap();
    let subs = |_: &str| {
        vec![Subscriber {
            handler_id: "h",
            ordered: false,
        }]
    };
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        let e = event("x.happened", &format!("a-{i}"), "dst-1", json!({"n": i}));
        store.append(std::slice::from_ref(&e), subs).await.unwrap();
        acknowledged.push(e.id);
    }

    proxy.stop();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut refused = None;
    for i in 0..10 {
        let e = event("x.happened", &format!("b-{i}"), "dst-1", json!({"n": i}));
        let start = Instant::now();
        let r = store.append(std::slice::from_ref(&e), subs).await;
        let took = start.elapsed();
        assert!(took < Duration::from_secs(3), "publish {i} took {took:?}");
        match r {
            Ok(_) => acknowledged.push(e.id),
            Err(err) if matches!(err, StoreError::Connect { .. }) => {
                refused = Some(err);
                break;
            }
            Err(_) => {}
        }
    }
    let err = refused.expect("a publish said the server refused");
    let msg = err.to_string();
    assert!(
        msg.contains("connection refused") && msg.contains(&format!("127.0.0.1:{port}")),
        "{msg}"
    );
    assert!(
        reaches_io(&err, std::io::ErrorKind::ConnectionRefused),
        "{err:?}"
    );

    let _proxy = Proxy::start(port).await;
    let mut back = false;
    for i in 0..50 {
        let e = event("x.happened", &format!("c-{i}"), "dst-1", json!({"n": i}));
        if store.append(std::slice::from_ref(&e), subs).await.is_ok() {
            acknowledged.push(e.id);
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "publishing carries on once the server is back");
    let stored: Vec<skillcore_events::uuid::Uuid> = sqlx::query_scalar("SELECT id FROM skc_events")
        .fetch_all(store.postgres_pool().unwrap())
        .await
        .unwrap();
    for id in &acknowledged {
        assert!(stored.contains(id), "acknowledged event {id} is missing");
    }
    drop(store);
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&pg_url())
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA \"{schema}\" CASCADE"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
}
