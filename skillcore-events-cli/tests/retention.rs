//! `queue prune` and `queue vacuum` on a SQLite store: without `--yes`
//! nothing goes; with it the old done deliveries go and the rest stays;
//! `--district` and bad ages are refused; `vacuum` answers.

mod common;

use serde_json::json;
use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::store::{NewEvent, Store, Subscriber};
use skillcore_events::uuid::Uuid;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The CLI's exit code, stdout and stderr, run from `dir`.
fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    common::parts(&common::run(dir, args))
}

fn event(n: u64) -> NewEvent {
    NewEvent {
        id: Uuid::from_u64_pair(7, n),
        event_type: "gradebook.grade.posted".into(),
        aggregate_type: "Result".into(),
        aggregate_id: format!("r-{n}"),
        version: 1,
        occurred_at: Utc.with_ymd_and_hms(2025, 11, 17, 14, 3, 0).unwrap(),
        metadata: json!({"districtId": "dst-1", "schoolId": "sch-1"}),
        payload: json!({"n": n}),
    }
}

/// `events.db`: 4 events of one handler, 3 of them done 8 days ago, 1
/// waiting.
async fn store() -> (PathBuf, Store) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "prune-{}-{}",
        std::process::id(),
        Uuid::now_v7().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::sqlite(dir.join("events.db")).await.unwrap();
    let subs = |_: &str| {
        vec![Subscriber {
            handler_id: "analytics.update_gpa",
            ordered: false,
        }]
    };
    let events: Vec<NewEvent> = (1..=4).map(event).collect();
    store.append(&events, subs).await.unwrap();
    let claimed = store
        .claim_for("t", &["analytics.update_gpa"], 3, Duration::from_secs(30))
        .await
        .unwrap();
    for c in &claimed {
        store.complete(c).await.unwrap();
    }
    sqlx::query("UPDATE skc_deliveries SET updated_at = updated_at - ? WHERE status = 'done'")
        .bind(8 * 86_400_000_000_i64)
        .execute(store.sqlite_pool().unwrap())
        .await
        .unwrap();
    (dir, store)
}

async fn statuses(store: &Store) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT status, COUNT(*) FROM skc_deliveries GROUP BY status ORDER BY status")
        .fetch_all(store.sqlite_pool().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_deletes_old_finished_deliveries_only_with_yes() {
    let (dir, store) = store().await;
    let db = ["--db", "sqlite:events.db"];
    let prune = |extra: &[&str]| {
        let mut args = vec!["queue", "prune"];
        args.extend_from_slice(&db);
        args.extend_from_slice(extra);
        run_in(&dir, &args)
    };

    let (code, _, err) = prune(&["--all-districts", "--older-than", "7d"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("would delete") && err.contains("--yes"),
        "{err}"
    );
    assert_eq!(
        statuses(&store).await,
        [("done".into(), 3), ("waiting".into(), 1)]
    );

    let (code, _, err) = prune(&["--district", "dst-1", "--older-than", "7d", "--yes"]);
    assert_eq!(code, 2);
    assert!(err.contains("--all-districts"), "{err}");
    let (code, _, err) = prune(&["--all-districts", "--older-than", "7w", "--yes"]);
    assert_eq!(code, 2);
    assert!(err.contains("use d, h, m or s"), "{err}");

    // Nothing finished 9 days ago.
    let (code, out, err) = prune(&["--all-districts", "--older-than", "9d", "--yes"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(
        out.starts_with("pruned 0 finished deliveries older than 9d"),
        "{out}"
    );
    let (code, out, err) = prune(&[
        "--all-districts",
        "--older-than",
        "7d",
        "--yes",
        "--batch",
        "2",
    ]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(
        out.starts_with("pruned 3 finished deliveries older than 7d"),
        "{out}"
    );
    assert_eq!(statuses(&store).await, [("waiting".into(), 1)]);
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM skc_events")
        .fetch_one(store.sqlite_pool().unwrap())
        .await
        .unwrap();
    assert_eq!(events, 4);

    let (code, out, err) = run_in(
        &dir,
        &[
            "queue",
            "vacuum",
            "--db",
            "sqlite:events.db",
            "--all-districts",
        ],
    );
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(out.starts_with("vacuumed in "), "{out}");
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}
