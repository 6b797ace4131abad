//! The queue commands against real stores: inspection changes no byte (also
//! of a read-only copy, run as an unprivileged user, and of another
//! application's database), a mistyped PostgreSQL schema is an error and is
//! not created, every command sees one district unless `--all-districts`,
//! and what the store holds reaches the terminal escaped.

use serde_json::json;
use skillcore_events::chrono::{TimeZone, Utc};
use skillcore_events::store::{NewEvent, Scope, Store, Subscriber};
use skillcore_events::uuid::Uuid;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_skillcore-events"))
}

fn run(args: &[&str]) -> (i32, String, String) {
    parts(bin().args(args).output().expect("the CLI runs"))
}

fn parts(o: Output) -> (i32, String, String) {
    (
        o.status.code().expect("exited"),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn pg_url() -> String {
    std::env::var("SKILLCORE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh directory under the system's temporary directory, which an
/// unprivileged user can traverse.
fn scratch(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "skc_cli_{what}_{}_{}",
        std::process::id(),
        Uuid::now_v7().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn event(n: u64, district: &str, event_type: &str) -> NewEvent {
    NewEvent {
        id: Uuid::now_v7(),
        event_type: event_type.into(),
        aggregate_type: "Result".into(),
        aggregate_id: format!("r-{n}"),
        version: 1,
        occurred_at: Utc.with_ymd_and_hms(2025, 11, 17, 14, 3, 0).unwrap(),
        metadata: json!({"districtId": district, "schoolId": "s-1"}),
        payload: json!({"n": n}),
    }
}

/// One event of `dst-A` and two of `dst-B`, each with a dead delivery of
/// `h.one` (its error `error`) and a waiting one of `h.two`.
async fn fill(store: &Store, error: &str) -> Vec<NewEvent> {
    let events = vec![
        event(1, "dst-A", "a.b.posted"),
        event(2, "dst-B", "a.b.posted"),
        event(3, "dst-B", "a.b.posted"),
    ];
    let subs = |_: &str| {
        vec![
            Subscriber {
                handler_id: "h.one",
                ordered: false,
            },
            Subscriber {
                handler_id: "h.two",
                ordered: false,
            },
        ]
    };
    store.append(&events, subs).await.unwrap();
    let claimed = store
        .claim_for("t", &["h.one"], 10, Duration::from_secs(30))
        .await
        .unwrap();
    for c in &claimed {
        store.fail(c, error, None).await.unwrap();
    }
    events
}

/// Every file of `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The CLI as an unprivileged user (uid/gid 65534) when the tests run as
/// root, for whom file modes mean nothing; as the current user otherwise.
fn run_unprivileged(args: &[&str]) -> (i32, String, String) {
    let mut c = if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_skillcore-events"));
        c
    } else {
        bin()
    };
    parts(c.args(args).output().expect("setpriv runs the CLI"))
}

#[tokio::test(flavor = "current_thread")]
async fn a_read_only_store_can_be_inspected_and_no_byte_changes() {
    let dir = scratch("ro");
    let live = dir.join("live.db");
    let store = Store::sqlite(&live).await.unwrap();
    fill(&store, "smtp refused").await;
    // A quiet copy (log checkpointed into the file), and a copy of the three
    // files of a store whose newest rows are still in its log.
    sqlx_checkpoint(&store).await;
    let quiet = dir.join("quiet");
    std::fs::create_dir_all(&quiet).unwrap();
    std::fs::copy(&live, quiet.join("events.db")).unwrap();
    store
        .append(&[event(4, "dst-A", "a.b.posted")], |_: &str| {
            vec![Subscriber {
                handler_id: "h.two",
                ordered: false,
            }]
        })
        .await
        .unwrap();
    let hot = dir.join("hot");
    std::fs::create_dir_all(&hot).unwrap();
    for suffix in ["", "-wal", "-shm"] {
        std::fs::copy(
            format!("{}{suffix}", live.display()),
            hot.join(format!("events.db{suffix}")),
        )
        .unwrap();
    }
    // A 0444 file in a directory the user may write to, and 0444 files in a
    // 0555 directory (as on a read-only mount).
    let writable = dir.join("writable");
    std::fs::create_dir_all(&writable).unwrap();
    std::fs::copy(quiet.join("events.db"), writable.join("events.db")).unwrap();
    chmod(&writable, 0o777);
    for d in [&quiet, &hot, &writable] {
        for f in std::fs::read_dir(d).unwrap().flatten() {
            chmod(&f.path(), 0o444);
        }
    }
    chmod(&quiet, 0o555);
    chmod(&hot, 0o555);

    for (d, waiting_a) in [(&quiet, 1), (&writable, 1), (&hot, 2)] {
        let before = snapshot(d);
        let db = format!("sqlite:{}", d.join("events.db").display());
        let (code, stdout, stderr) = run_unprivileged(&[
            "queue",
            "stats",
            "--db",
            &db,
            "--district",
            "dst-A",
            "--format",
            "json",
        ]);
        assert_eq!(code, 0, "{}: {stderr}", d.display());
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(v[0]["handler"], "h.one", "{stdout}");
        assert_eq!(v[0]["dead"], 1, "{stdout}");
        assert_eq!(v[1]["waiting"], waiting_a, "{}: {stdout}", d.display());
        let (code, stdout, stderr) =
            run_unprivileged(&["dead-letters", "list", "--db", &db, "--all-districts"]);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(stdout.matches("smtp refused").count(), 3, "{stdout}");
        // The -shm too: these files are the user's to read, not to write
        // (as on a read-only mount or a backup).
        assert!(snapshot(d) == before, "a file in {} changed", d.display());
    }
    // A log without its index in a read-only directory cannot be read:
    // an error that says so, not rows silently left out.
    let no_index = dir.join("no_index");
    std::fs::create_dir_all(&no_index).unwrap();
    for name in ["events.db", "events.db-wal"] {
        std::fs::copy(hot.join(name), no_index.join(name)).unwrap();
    }
    chmod(&no_index, 0o555);
    let before = snapshot(&no_index);
    let db = format!("sqlite:{}", no_index.join("events.db").display());
    let (code, _, stderr) = run_unprivileged(&["queue", "stats", "--db", &db, "--all-districts"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("cannot be read without its `-shm` index"),
        "{stderr}"
    );
    assert_eq!(snapshot(&no_index), before);
    for d in [&quiet, &hot, &no_index] {
        chmod(d, 0o755);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Copies the log into the database file and empties the log.
async fn sqlx_checkpoint(store: &Store) {
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(store.sqlite_pool().unwrap())
        .await
        .unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn another_applications_database_gets_no_tables_and_no_wal() {
    let dir = scratch("foreign");
    let path = dir.join("app.db");
    {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect_with(
            &sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true),
        )
        .await
        .unwrap();
        sqlx::raw_sql("CREATE TABLE users (id INTEGER); CREATE TABLE orders (id INTEGER);")
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
    }
    let before = snapshot(&dir);
    let db = format!("sqlite:{}", path.display());
    for args in [
        &["queue", "stats", "--db", &db, "--all-districts"][..],
        &["dead-letters", "list", "--db", &db, "--all-districts"],
        &["dead-letters", "retry", "--db", &db, "--all-districts", "1"],
        &[
            "replay",
            "--db",
            &db,
            "--all-districts",
            "--handler",
            "h",
            "--no-wait",
        ],
    ] {
        let (code, _, stderr) = run(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains("without the store's skc_ tables (its tables: `orders`, `users`)"),
            "{stderr}"
        );
    }
    let after = snapshot(&dir);
    assert_eq!(after, before, "no byte changed, no -wal or -shm made");
    // Still a rollback-journal database (header bytes 18 and 19 are 2 in WAL).
    assert_eq!(&after["app.db"][18..20], &[1, 1]);

    let (code, _, stderr) = run(&[
        "queue",
        "stats",
        "--db",
        &format!("sqlite:{}", dir.join("ap.db").display()),
        "--all-districts",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no event store at"), "{stderr}");
    assert!(stderr.contains("there is no such file"), "{stderr}");
    assert!(stderr.contains("did you mean"), "{stderr}");
    assert!(!stderr.contains("corrupt"), "{stderr}");
    assert!(!dir.join("ap.db").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn a_mistyped_postgres_schema_is_an_error_and_is_not_created() {
    let schema = format!(
        "skc_cli_{}_{}_{}",
        std::process::id(),
        0,
        Uuid::now_v7().as_u64_pair().1 % 1_000_000
    );
    let store = Store::postgres(&pg_url(), Some(&schema)).await.unwrap();
    fill(&store, "boom").await;
    let pool = store.postgres_pool().unwrap().clone();
    let typo = format!("{schema}x");
    for args in [
        &[
            "queue",
            "stats",
            "--db",
            &pg_url(),
            "--schema",
            &typo,
            "--all-districts",
        ][..],
        &[
            "dead-letters",
            "discard",
            "--db",
            &pg_url(),
            "--schema",
            &typo,
            "--all-districts",
            "1",
        ],
    ] {
        let (code, stdout, stderr) = run(args);
        assert_eq!(code, 2, "{stdout}{stderr}");
        assert!(
            stderr.contains(&format!("there is no schema `{typo}`")),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!("did you mean `--schema {schema}`?")),
            "{stderr}"
        );
    }
    let created: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_namespace WHERE nspname = $1")
        .bind(&typo)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(created, 0, "the mistyped schema was not created");

    let (code, _, stderr) = run(&[
        "queue",
        "stats",
        "--db",
        &pg_url(),
        "--schema",
        "x; drop table",
        "--all-districts",
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("is not a PostgreSQL schema name"),
        "{stderr}"
    );
    assert!(!stderr.contains("payload field"), "{stderr}");

    // The right schema, read-only: the counts of one district.
    let (code, stdout, stderr) = run(&[
        "queue",
        "stats",
        "--db",
        &pg_url(),
        "--schema",
        &schema,
        "--district",
        "dst-B",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (v[0]["dead"].as_i64(), v[1]["waiting"].as_i64()),
        (Some(2), Some(2))
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA \"{schema}\" CASCADE"
    )))
    .execute(&pool)
    .await
    .unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn every_queue_command_sees_one_district_unless_all_are_asked_for() {
    let dir = scratch("scope");
    let path = dir.join("events.db");
    let store = Store::sqlite(&path).await.unwrap();
    let events = fill(&store, "boom").await;
    let db = format!("sqlite:{}", path.display());

    for args in [
        &["queue", "stats", "--db", &db][..],
        &["dead-letters", "list", "--db", &db],
        &["dead-letters", "retry", "--db", &db, "1"],
        &["dead-letters", "discard", "--db", &db, "1"],
        &["replay", "--db", &db, "--handler", "h.two"],
    ] {
        let (code, _, stderr) = run(args);
        assert_eq!(code, 2, "{args:?}");
        assert!(
            stderr.contains("<--district <D>|--all-districts>"),
            "{args:?}: {stderr}"
        );
    }
    let (code, _, stderr) = run(&[
        "queue",
        "stats",
        "--db",
        &db,
        "--district",
        "dst-A",
        "--all-districts",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot be used with"), "{stderr}");

    // Listing: A's letter only, B's event ids never shown.
    let (code, stdout, _) = run(&["dead-letters", "list", "--db", &db, "--district", "dst-A"]);
    assert_eq!(code, 0);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains(&events[0].id.to_string()), "{stdout}");
    for b in &events[1..] {
        assert!(!stdout.contains(&b.id.to_string()), "{stdout}");
    }
    let (_, stdout, _) = run(&["dead-letters", "list", "--db", &db, "--district", "dst-C"]);
    assert_eq!(stdout, "no dead letters in district `dst-C`\n");

    // B's letter from A's scope: not found, and untouched.
    let of_b = store
        .dead_letters(&Scope::district("dst-B"), None, 10)
        .await
        .unwrap();
    let id = of_b[0].delivery_id.to_string();
    for verb in ["retry", "discard"] {
        let (code, _, stderr) = run(&[
            "dead-letters",
            verb,
            "--db",
            &db,
            "--district",
            "dst-A",
            &id,
        ]);
        assert_eq!(code, 2, "{verb}");
        assert!(
            stderr.contains(&format!("no dead letter {id} in district `dst-A`")),
            "{stderr}"
        );
    }
    assert_eq!(
        store
            .dead_letters(&Scope::district("dst-B"), None, 10)
            .await
            .unwrap(),
        of_b
    );
    let (code, stdout, _) = run(&[
        "dead-letters",
        "retry",
        "--db",
        &db,
        "--district",
        "dst-B",
        &id,
    ]);
    assert_eq!(code, 0);
    assert_eq!(stdout, format!("queued again: dead letter {id}\n"));

    // Stats of A count A's deliveries only.
    let (_, stdout, _) = run(&[
        "queue",
        "stats",
        "--db",
        &db,
        "--district",
        "dst-A",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        v,
        json!([
            {"handler": "h.one", "waiting": 0, "active": 0, "stalled": 0, "completed": 0, "failed": 0, "dead": 1},
            {"handler": "h.two", "waiting": 1, "active": 0, "stalled": 0, "completed": 0, "failed": 0, "dead": 0},
        ])
    );

    // A replay in A queues A's event only. `analytics.proj` has no deliveries yet: the
    // catalog declares it.
    let catalog = dir.join("events.yaml");
    std::fs::write(
        &catalog,
        "catalog: scope\nevents:\n  gradebook.grade.posted:\n    description: A grade was posted.\n    \
         aggregate: Result\n    aggregate_id: resultId\n    handlers: [analytics.proj]\n    \
         payload:\n      resultId: uuid\n",
    )
    .unwrap();
    let catalog = catalog.display().to_string();
    let (code, _, stderr) = run(&[
        "replay",
        "--db",
        &db,
        "--district",
        "dst-A",
        "--handler",
        "analytics.proj",
        "--catalog",
        &catalog,
        "--no-wait",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("replaying 1 event of district `dst-A` to `analytics.proj`"),
        "{stderr}"
    );
    let claimed = store
        .claim_for("w", &["analytics.proj"], 10, Duration::from_secs(30))
        .await
        .unwrap();
    let ids: Vec<Uuid> = claimed.iter().map(|c| c.event.event.id).collect();
    assert_eq!(ids, [events[0].id]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn control_characters_from_the_store_reach_the_terminal_escaped() {
    let dir = scratch("esc");
    let path = dir.join("events.db");
    let store = Store::sqlite(&path).await.unwrap();
    let hostile = "unknown variant \"\u{1b}]0;PWNED\u{7}\u{1b}[2J\"";
    store
        .append(&[event(1, "dst-A", "a.b\u{1b}[31m.posted")], |_: &str| {
            vec![Subscriber {
                handler_id: "h.\u{9b}one\ttab",
                ordered: false,
            }]
        })
        .await
        .unwrap();
    let c = store
        .claim_for("t", &["h.\u{9b}one\ttab"], 1, Duration::from_secs(30))
        .await
        .unwrap();
    store.fail(&c[0], hostile, None).await.unwrap();
    let db = format!("sqlite:{}", path.display());
    let (code, stdout, _) = run(&["dead-letters", "list", "--db", &db, "--district", "dst-A"]);
    assert_eq!(code, 0);
    assert!(
        !stdout.trim_end().chars().any(|c| c.is_control()),
        "{stdout:?}"
    );
    assert!(
        stdout.contains(r#"unknown variant "\u{1b}]0;PWNED\u{7}\u{1b}[2J""#),
        "{stdout}"
    );
    assert!(stdout.contains(r"a.b\u{1b}[31m.posted"), "{stdout}");
    assert!(stdout.contains(r"h.\u{9b}one\ttab"), "{stdout}");
    let (code, stdout, _) = run(&["queue", "stats", "--db", &db, "--all-districts"]);
    assert_eq!(code, 0);
    assert!(
        !stdout.chars().any(|c| c.is_control() && c != '\n'),
        "{stdout:?}"
    );
    assert!(stdout.contains(r"h.\u{9b}one\ttab"), "{stdout}");
    let (code, stdout, _) = run(&[
        "queue",
        "stats",
        "--db",
        &db,
        "--all-districts",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    assert!(
        !stdout.chars().any(|c| c.is_control() && c != '\n'),
        "{stdout:?}"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v[0]["handler"], "h.\u{9b}one\ttab", "the same JSON value");
    std::fs::remove_dir_all(&dir).unwrap();
}
