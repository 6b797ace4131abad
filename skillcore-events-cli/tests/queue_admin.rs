//! Store administration from the command line: a mistyped `--db` names the
//! nearby store and creates nothing; `dead-letters list --format json`;
//! `replay` refuses an unknown handler with a did-you-mean; `replay --cancel`;
//! `queue drop` of a gone handler; the `stalled` column.

mod common;

use serde_json::json;
use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::store::{HandlerStats, NewEvent, Scope, Store, Subscriber};
use skillcore_events::uuid::Uuid;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The CLI's exit code, stdout and stderr, run from `dir`.
fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    common::parts(&common::run(dir, args))
}

fn event(n: u64) -> NewEvent {
    NewEvent {
        id: Uuid::from_u64_pair(9, n),
        event_type: "gradebook.grade.posted".into(),
        aggregate_type: "Result".into(),
        aggregate_id: format!("r-{n}"),
        version: 1,
        occurred_at: Utc.with_ymd_and_hms(2025, 11, 17, 14, 3, 0).unwrap(),
        metadata: json!({"districtId": "dst-1", "schoolId": "sch-1"}),
        payload: json!({"n": n}),
    }
}

/// A directory with `school-events.db`: two events for `analytics.update_gpa`
/// (one done) and `legacy.old_report`, and one dead letter of the latter.
async fn school() -> (PathBuf, Store) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "admin-{}-{}",
        std::process::id(),
        Uuid::now_v7().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::sqlite(dir.join("school-events.db")).await.unwrap();
    let subs = |_: &str| {
        vec![
            Subscriber {
                handler_id: "analytics.update_gpa",
                ordered: false,
            },
            Subscriber {
                handler_id: "legacy.old_report",
                ordered: false,
            },
        ]
    };
    store.append(&[event(1), event(2)], subs).await.unwrap();
    let c = store
        .claim_for("t", &["analytics.update_gpa"], 1, Duration::from_secs(30))
        .await
        .unwrap();
    store.complete(&c[0]).await.unwrap();
    let c = store
        .claim_for("t", &["legacy.old_report"], 1, Duration::from_secs(30))
        .await
        .unwrap();
    store
        .fail(&c[0], "report service retired", None)
        .await
        .unwrap();
    (dir, store)
}

async fn stats_of(store: &Store, handler: &str) -> Option<HandlerStats> {
    store
        .stats(&Scope::AllDistricts)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.handler_id == handler)
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "current_thread")]
async fn a_mistyped_db_names_the_store_nearby_and_creates_nothing() {
    let (dir, _store) = school().await;
    let before = files(&dir);
    for args in [
        &[
            "queue",
            "stats",
            "--db",
            "school-event.db",
            "--all-districts",
        ][..],
        &[
            "dead-letters",
            "list",
            "--db",
            "sqlite:school-event.db",
            "--all-districts",
        ],
        &[
            "queue",
            "stats",
            "--db",
            "schol-events.db",
            "--district",
            "dst-1",
        ],
    ] {
        let (code, stdout, stderr) = run_in(&dir, args);
        assert_eq!(code, 2, "{args:?}: {stdout}{stderr}");
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error: no event store at `school-event.db`")
                || first.starts_with("error: no event store at `schol-events.db`"),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("did you mean `school-events.db`?"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("corrupt"), "{stderr}");
        assert!(!stderr.contains("cannot open"), "said twice: {stderr}");
    }
    assert_eq!(files(&dir), before, "no file created");
}

#[tokio::test(flavor = "current_thread")]
async fn dead_letters_list_as_json() {
    let (dir, _store) = school().await;
    let (code, stdout, stderr) = run_in(
        &dir,
        &[
            "dead-letters",
            "list",
            "--db",
            "school-events.db",
            "--district",
            "dst-1",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let letters = v.as_array().expect("an array");
    assert_eq!(letters.len(), 1, "{stdout}");
    let l = &letters[0];
    assert_eq!(l["handler"], "legacy.old_report");
    assert_eq!(l["eventType"], "gradebook.grade.posted");
    assert_eq!(l["attempts"], 1);
    assert_eq!(l["lastError"], "report service retired");
    assert!(l["id"].is_i64(), "{l}");
    assert!(
        l["eventId"] == Uuid::from_u64_pair(9, 1).to_string()
            || l["eventId"] == Uuid::from_u64_pair(9, 2).to_string(),
        "{l}"
    );
    assert!(l.get("payload").is_none(), "no payload: {l}");
    // Another district: an empty array, not a sentence.
    let (code, stdout, _) = run_in(
        &dir,
        &[
            "dead-letters",
            "list",
            "--db",
            "school-events.db",
            "--district",
            "dst-2",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stdout).unwrap(),
        json!([])
    );
}

#[tokio::test(flavor = "current_thread")]
async fn replay_refuses_an_unknown_handler_and_can_be_cancelled() {
    let (dir, store) = school().await;
    let db = ["--db", "school-events.db", "--all-districts"];
    let replay = |handler: &str, extra: &[&str]| {
        let mut args = vec!["replay", "--handler", handler];
        args.extend(db);
        args.extend(extra);
        run_in(&dir, &args)
    };
    let waiting_before = stats_of(&store, "analytics.update_gpa")
        .await
        .unwrap()
        .waiting;
    let (code, _, stderr) = replay("analytics.update_gap", &["--no-wait"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("no handler `analytics.update_gap`")
            && stderr.contains("did you mean `analytics.update_gpa`?"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was queued"), "{stderr}");
    assert!(stats_of(&store, "analytics.update_gap").await.is_none());

    // Declared in the catalog, never delivered yet: accepted.
    std::fs::write(
        dir.join("events.yaml"),
        "catalog: admin\nevents:\n  gradebook.grade.posted:\n    description: A grade was posted.\n    \
         aggregate: Result\n    aggregate_id: resultId\n    handlers: [reports.new_card]\n    \
         payload:\n      resultId: uuid\n",
    )
    .unwrap();
    let (code, _, stderr) = replay(
        "reports.new_card",
        &["--no-wait", "--catalog", "events.yaml"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stats_of(&store, "reports.new_card").await.unwrap().waiting,
        2
    );
    // Without the catalog it is known to the store now.
    let (code, _, stderr) = replay("reports.new_card", &["--no-wait"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("replay --cancel"),
        "says how to cancel: {stderr}"
    );
    assert_eq!(
        stats_of(&store, "reports.new_card").await.unwrap().waiting,
        4
    );

    // Cancel them all (nothing ran them).
    let (code, stdout, stderr) = replay("reports.new_card", &["--cancel"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("cancelled 4 deliveries"), "{stdout}");
    assert_eq!(
        stats_of(&store, "reports.new_card").await.unwrap().waiting,
        0
    );
    // A typo is refused here too.
    let (code, _, stderr) = replay("reports.new_crad", &["--cancel"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("did you mean `reports.new_card`?"),
        "{stderr}"
    );
    assert_eq!(
        stats_of(&store, "analytics.update_gpa")
            .await
            .unwrap()
            .waiting,
        waiting_before
    );
    // --since does not go with --cancel.
    let (code, _, _) = replay(
        "reports.new_card",
        &["--cancel", "--since", "2025-01-01T00:00:00Z"],
    );
    assert_eq!(code, 2);
}

#[tokio::test(flavor = "current_thread")]
async fn queue_drop_deletes_a_gone_handlers_rows_with_yes_only() {
    let (dir, store) = school().await;
    let drop = |handler: &str, extra: &[&str]| {
        let mut args = vec![
            "queue",
            "drop",
            "--db",
            "school-events.db",
            "--all-districts",
            "--handler",
            handler,
        ];
        args.extend(extra);
        run_in(&dir, &args)
    };
    // Without --yes: what would go, nothing deleted.
    let (code, _, stderr) = drop("legacy.old_report", &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("would delete the rows of `legacy.old_report`")
            && stderr.contains("1 waiting")
            && stderr.contains("1 dead")
            && stderr.contains("--yes"),
        "{stderr}"
    );
    assert!(stats_of(&store, "legacy.old_report").await.is_some());
    // A typo.
    let (code, _, stderr) = drop("legacy.old_reprt", &["--yes"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("did you mean `legacy.old_report`?"),
        "{stderr}"
    );
    // Declared in the catalog: refused.
    std::fs::write(
        dir.join("events.yaml"),
        "catalog: admin\nevents:\n  gradebook.grade.posted:\n    description: A grade was posted.\n    \
         aggregate: Result\n    aggregate_id: resultId\n    handlers: [legacy.old_report]\n    \
         payload:\n      resultId: uuid\n",
    )
    .unwrap();
    let (code, _, stderr) = drop("legacy.old_report", &["--yes", "--catalog", "events.yaml"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("the catalog still declares"), "{stderr}");
    // Held by a live worker (a fresh lease): refused.
    let held = store
        .claim_for("live", &["legacy.old_report"], 1, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    let (code, _, stderr) = drop("legacy.old_report", &["--yes"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("a live worker holds 1 delivery"),
        "{stderr}"
    );
    store.release(&[&held[0]]).await.unwrap();
    // Gone.
    let (code, stdout, stderr) = drop("legacy.old_report", &["--yes"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("dropped 2 deliveries"), "{stdout}");
    assert!(stats_of(&store, "legacy.old_report").await.is_none());
    let (_, stdout, _) = run_in(
        &dir,
        &[
            "queue",
            "stats",
            "--db",
            "school-events.db",
            "--all-districts",
        ],
    );
    assert!(!stdout.contains("legacy.old_report"), "{stdout}");
    assert!(stdout.contains("analytics.update_gpa"), "{stdout}");
}

#[tokio::test(flavor = "current_thread")]
async fn queue_stats_tells_stalled_from_active() {
    let (dir, store) = school().await;
    // "gone" claims without ever renewing; "alive" renews.
    store
        .claim_for(
            "gone",
            &["analytics.update_gpa"],
            1,
            Duration::from_millis(600),
        )
        .await
        .unwrap();
    store
        .claim_for(
            "alive",
            &["legacy.old_report"],
            1,
            Duration::from_millis(600),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(450)).await;
    store
        .renew_leases("alive", Duration::from_millis(600))
        .await
        .unwrap();
    let (code, stdout, stderr) = run_in(
        &dir,
        &[
            "queue",
            "stats",
            "--db",
            "school-events.db",
            "--all-districts",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let row = |h: &str| -> Vec<String> {
        stdout
            .lines()
            .find(|l| l.starts_with(h))
            .unwrap_or_else(|| panic!("{h}: {stdout}"))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    assert!(
        stdout.lines().next().unwrap().contains("stalled"),
        "{stdout}"
    );
    // handler waiting active stalled completed failed dead
    assert_eq!(
        row("analytics.update_gpa")[1..4],
        ["0", "0", "1"],
        "{stdout}"
    );
    assert_eq!(row("legacy.old_report")[1..4], ["0", "1", "0"], "{stdout}");
    assert!(
        stdout.contains("(stalled: held by a worker that stopped"),
        "{stdout}"
    );
}

/// `queue stats --recount` counts every delivery; `queue rebuild-counters`
/// counts the done ones again after a change past the store (an INSERT by
/// hand), and refuses a single district.
#[tokio::test(flavor = "current_thread")]
async fn queue_stats_recount_and_rebuild_counters() {
    let (dir, store) = school().await;
    // A done delivery inserted by hand: SQLite's triggers count updates and
    // deletes, not inserts.
    sqlx::query(
        "INSERT INTO skc_deliveries (event_seq, handler_id, status, attempts, available_at, updated_at)
         SELECT seq, 'analytics.update_gpa', 'done', 1, 0, 0 FROM skc_events LIMIT 1",
    )
    .execute(store.sqlite_pool().unwrap())
    .await
    .unwrap();
    let completed = |args: &[&str]| -> i64 {
        let mut all = vec![
            "queue",
            "stats",
            "--db",
            "school-events.db",
            "--all-districts",
            "--format",
            "json",
        ];
        all.extend_from_slice(args);
        let (code, stdout, stderr) = run_in(&dir, &all);
        assert_eq!(code, 0, "{stderr}");
        let rows: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["handler"] == "analytics.update_gpa")
            .unwrap_or_else(|| panic!("{stdout}"))["completed"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(completed(&[]), 1, "the counters miss the hand-made row");
    assert_eq!(completed(&["--recount"]), 2, "a recount sees it");

    let (code, _, stderr) = run_in(
        &dir,
        &[
            "queue",
            "rebuild-counters",
            "--db",
            "school-events.db",
            "--district",
            "dst-1",
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--all-districts"), "{stderr}");
    assert_eq!(completed(&[]), 1, "a refused rebuild changes nothing");

    let (code, stdout, stderr) = run_in(
        &dir,
        &[
            "queue",
            "rebuild-counters",
            "--db",
            "school-events.db",
            "--all-districts",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("counted"), "{stdout}");
    assert_eq!(completed(&[]), 2, "rebuilt");
    assert_eq!(
        stats_of(&store, "analytics.update_gpa")
            .await
            .unwrap()
            .completed,
        2
    );
}

/// `queue index` makes, lists and drops an index of a payload field, checks
/// it against the catalog, and refuses `--district`.
#[tokio::test]
async fn queue_index_makes_lists_and_drops_a_field_index() {
    let (dir, store) = school().await;
    let db = "sqlite:school-events.db";
    let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("../catalog");
    let catalog = catalog.to_str().unwrap();
    let (code, out, _) = run_in(&dir, &["queue", "indexes", "--db", db, "--all-districts"]);
    assert_eq!(code, 0);
    assert!(out.contains("no payload field is indexed"), "{out}");

    let index = |extra: &[&str]| {
        let mut args = vec![
            "queue",
            "index",
            "--db",
            db,
            "--type",
            "gradebook.grade.posted",
        ];
        args.extend_from_slice(extra);
        run_in(&dir, &args)
    };
    let (code, _, err) = index(&["--field", "studentId", "--district", "dst-1"]);
    assert_eq!(code, 2);
    assert!(err.contains("--all-districts"), "{err}");
    let (code, _, err) = index(&["--field", "nosuch", "--all-districts", "--catalog", catalog]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nosuch") && err.contains("studentId"), "{err}");

    let (code, out, err) = index(&[
        "--field",
        "studentId",
        "--all-districts",
        "--catalog",
        catalog,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("indexed `studentId` of `gradebook.grade.posted`"),
        "{out}"
    );
    let listed = store.field_indexes().await.unwrap();
    assert_eq!(listed.len(), 1);
    let (code, out, _) = run_in(
        &dir,
        &[
            "queue",
            "indexes",
            "--db",
            db,
            "--all-districts",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json[0]["field"], "studentId", "{out}");
    assert_eq!(json[0]["index"], listed[0].index.as_str(), "{out}");

    let (code, out, _) = index(&["--field", "studentId", "--all-districts", "--drop"]);
    assert_eq!(code, 0);
    assert!(out.contains("dropped"), "{out}");
    assert!(store.field_indexes().await.unwrap().is_empty());
    let (code, out, _) = index(&["--field", "studentId", "--all-districts", "--drop"]);
    assert_eq!(code, 0);
    assert!(out.contains("nothing dropped"), "{out}");
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}
