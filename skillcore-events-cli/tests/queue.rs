//! `queue stats`, `dead-letters` and `replay` against a real SQLite store.

use serde_json::json;
use skillcore_events::backend::{BoxFuture, DynEnvelope, DynHandler};
use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::store::{NewEvent, Scope, Store, Subscriber, Worker};
use skillcore_events::uuid::Uuid;
use skillcore_events::{HandlerContext, HandlerError};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_skillcore-events"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the CLI runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A handler that succeeds on any event (the payloads here are not a
/// catalog's, so it does not decode them).
struct Succeeds;

impl DynHandler for Succeeds {
    fn call(
        &self,
        _: &DynEnvelope,
        _: HandlerContext,
    ) -> BoxFuture<'static, Result<(), HandlerError>> {
        Box::pin(async { Ok(()) })
    }
}

fn event(n: u64, event_type: &str) -> NewEvent {
    NewEvent {
        id: Uuid::from_u64_pair(1, n),
        event_type: event_type.into(),
        aggregate_type: "Result".into(),
        aggregate_id: format!("r-{n}"),
        version: 1,
        occurred_at: Utc.with_ymd_and_hms(2025, 11, 17, 14, 3, 0).unwrap(),
        metadata: json!({"districtId": "d-1", "schoolId": "s-1"}),
        payload: json!({"n": n}),
    }
}

async fn store_with_work() -> (PathBuf, Store) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "queue-{}-{}",
        std::process::id(),
        Uuid::now_v7().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("events.db");
    let store = Store::sqlite(&path).await.unwrap();
    let subs = |_: &str| {
        vec![
            Subscriber {
                handler_id: "analytics.update_gpa",
                ordered: false,
            },
            Subscriber {
                handler_id: "notifications.send",
                ordered: false,
            },
        ]
    };
    store
        .append(
            &[
                event(1, "gradebook.grade.posted"),
                event(2, "attendance.record.marked"),
            ],
            subs,
        )
        .await
        .unwrap();
    // One delivery done, one dead, the rest waiting.
    let c = store
        .claim_for("t", &["analytics.update_gpa"], 1, Duration::from_secs(30))
        .await
        .unwrap();
    store.complete(&c[0]).await.unwrap();
    let c = store
        .claim_for("t", &["notifications.send"], 1, Duration::from_secs(30))
        .await
        .unwrap();
    store.fail(&c[0], "smtp refused", None).await.unwrap();
    (path, store)
}

#[tokio::test(flavor = "current_thread")]
async fn queue_stats_shows_the_counters_per_handler() {
    let (path, _store) = store_with_work().await;
    let db = format!("sqlite:{}", path.display());
    let out = run(&["queue", "stats", "--db", &db, "--district", "d-1"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("handler"), "{stdout}");
    let gpa: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        gpa,
        ["analytics.update_gpa", "1", "0", "0", "1", "0", "0"],
        "{stdout}"
    );
    let notif: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(
        notif,
        ["notifications.send", "1", "0", "0", "0", "0", "1"],
        "{stdout}"
    );

    let out = run(&[
        "queue",
        "stats",
        "--db",
        &db,
        "--all-districts",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[1]["handler"], "notifications.send");
    assert_eq!(v[1]["dead"], 1);
}

#[tokio::test(flavor = "current_thread")]
async fn dead_letters_can_be_listed_retried_and_discarded() {
    let (path, store) = store_with_work().await;
    let db = format!("sqlite:{}", path.display());
    let out = run(&["dead-letters", "list", "--db", &db, "--district", "d-1"]);
    let (stdout, _) = text(&out);
    assert!(stdout.contains("notifications.send"), "{stdout}");
    assert!(stdout.contains("smtp refused"), "{stdout}");
    let id = stdout.split_whitespace().next().unwrap().to_string();

    let out = run(&[
        "dead-letters",
        "retry",
        "--db",
        &db,
        "--district",
        "d-1",
        &id,
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(store
        .dead_letters(&Scope::AllDistricts, None, 10)
        .await
        .unwrap()
        .is_empty());
    let out = run(&[
        "dead-letters",
        "retry",
        "--db",
        &db,
        "--district",
        "d-1",
        &id,
    ]);
    assert_eq!(out.status.code(), Some(2), "not dead any more");
    assert!(text(&out).1.contains("no dead letter"), "{:?}", text(&out));

    let c = store
        .claim_for("t", &["notifications.send"], 5, Duration::from_secs(30))
        .await
        .unwrap();
    for c in &c {
        store.fail(c, "again", None).await.unwrap();
    }
    let listed = store
        .dead_letters(&Scope::AllDistricts, None, 10)
        .await
        .unwrap();
    let id = listed[0].delivery_id.to_string();
    let out = run(&[
        "dead-letters",
        "discard",
        "--db",
        &db,
        "--all-districts",
        &id,
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    assert_eq!(
        store
            .dead_letters(&Scope::AllDistricts, None, 10)
            .await
            .unwrap()
            .len(),
        listed.len() - 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_queues_events_and_follows_a_worker_to_the_end() {
    let (path, store) = store_with_work().await;
    let db = format!("sqlite:{}", path.display());

    // Without a worker: queued, and --timeout gives up with exit 1.
    let out = run(&[
        "replay",
        "--db",
        &db,
        "--district",
        "d-1",
        "--handler",
        "analytics.update_gpa",
        "--type",
        "gradebook.grade.posted",
        "--timeout",
        "1",
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("replaying 1 event of district `d-1` to `analytics.update_gpa`"),
        "{stderr}"
    );
    assert!(stderr.contains("gave up waiting"), "{stderr}");

    // With a worker: the progress reaches the end.
    // The handler of both event types the store holds deliveries of.
    let mut bus = skillcore_events::EventBus::builder()
        .log_events(false)
        .log_handlers(false);
    for event in ["gradebook.grade.posted", "attendance.record.marked"] {
        bus = bus.subscribe_dyn(
            event,
            "analytics.update_gpa",
            skillcore_events::HandlerOptions::new(),
            std::sync::Arc::new(Succeeds),
        );
    }
    let bus = bus.build().unwrap();
    let worker = Worker::builder(store.clone(), bus.dispatcher().clone(), "w")
        .idle_poll(Duration::from_millis(20))
        .build();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        worker
            .run(async {
                let _ = stop_rx.await;
            })
            .await;
    });
    let db2 = db.clone();
    let out = tokio::task::spawn_blocking(move || {
        run(&[
            "replay",
            "--db",
            &db2,
            "--all-districts",
            "--handler",
            "analytics.update_gpa",
            "--timeout",
            "30",
        ])
    })
    .await
    .unwrap();
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("replaying 2 events"), "{stderr}");
    assert!(
        stderr.contains("[##############################] 2/2 (0 dead)"),
        "{stderr}"
    );
    assert!(stderr.contains("replay finished"), "{stderr}");
    let _ = stop_tx.send(());
    task.await.unwrap();

    let out = run(&[
        "replay",
        "--db",
        &db,
        "--district",
        "d-1",
        "--handler",
        "x.y",
        "--since",
        "yesterday",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("not an RFC 3339 time"),
        "{:?}",
        text(&out)
    );
    let out = run(&[
        "queue",
        "stats",
        "--db",
        "sqlite:/nonexistent/dir/x.db",
        "--all-districts",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("no event store"), "{:?}", text(&out));
    // A bare path, without `sqlite:`: the same message, not a corrupt store.
    let out = run(&[
        "queue",
        "stats",
        "--db",
        "/nonexistent/dir/x.db",
        "--all-districts",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out).1;
    assert!(
        stderr.contains("no event store at `/nonexistent/dir/x.db`: there is no such file"),
        "{stderr}"
    );
    assert!(!stderr.contains("corrupt"), "{stderr}");
}
