//! A pii value never leaves: not through an error, a dead letter, a log line,
//! `Debug` output or the CLI (issue 11, item 3).
//!
//! The catalog `fixtures/pii` has a `pii: true` field of every field type
//! (string, int, number, bool, date, datetime, uuid, enum, struct, optional),
//! at the top level, inside named struct types and in lists. Every pii field
//! of the published payload holds a marker: the text `PIIMARK-…` for strings,
//! a distinctive value for the other types (`98765432…`, `31415.9265`,
//! `1917-03-08`, `…00000000beef`, the enum value `markedcondition`). Then the
//! payload is driven through every failure path: each pii field in turn gets a
//! wrong-typed value carrying a marker (decode errors), handlers fail, retry,
//! panic and end in the dead letters, a dead letter is retried, the store
//! replays, the CLI lists. It all runs in a child process (this test binary
//! again) with `LOG_EVENTS` and `LOG_EVENT_HANDLERS` on and a TRACE
//! subscriber on stderr, printing the `Debug` of every payload-holding type
//! and every error; its whole output, the CLI's output and the stored
//! `last_error` texts are searched for the markers: there must be none. The
//! stored payloads must hold them (the test can see a marker when there is
//! one).

use std::path::{Path, PathBuf};
use std::process::Command;

mod catalog {
    skillcore_events::catalog!("fixtures/pii");
}

#[path = "pii_leak/scenario.rs"]
mod scenario;
use scenario::VARIANTS;

#[path = "../../skillcore-events-store/tests/common/leftovers.rs"]
#[allow(dead_code)]
mod leftovers;

/// The text of every string marker; the other patterns are the distinctive
/// non-string values. Searched for case-insensitively.
const MARKERS: [&str; 6] = [
    "PIIMARK",
    "98765432",
    "31415.92",
    "1917-0",
    "00000000beef",
    "markedcondition",
];

/// How a decode error names the values `Condition` allows: the catalog's,
/// not the student's (the enum marker is one of them), so it is no leak.
const CONDITION_VALUES: &str = "`asthma`, `epilepsy`, `markedcondition`";

const HANDLERS: [&str; 3] = ["pii.flaky", "pii.broken", "pii.panics"];

fn pg_url() -> String {
    std::env::var("SKILLCORE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

// ---------------------------------------------------------------- the tests

#[test]
fn pii_never_leaves_the_memory_bus() {
    let out = child("memory", 1);
    let report = Report::new().search("child process output", &out);
    report.finish(&out, &[]);
}

#[test]
fn pii_never_leaves_the_sqlite_store() {
    let dir = std::env::temp_dir().join(leftovers::unique("skc_pii"));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("events.db");
    let target = format!("sqlite:{}", db.display());
    let args = vec!["--db".to_string(), target.clone()];
    let rt = runtime();
    let report = durable_run(&target, &args, || {
        rt.block_on(async {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", db.display()))
                .await
                .unwrap();
            let texts = stored_texts_sqlite(&pool).await;
            pool.close().await;
            texts
        })
    });
    let _ = std::fs::remove_dir_all(&dir);
    report();
}

#[test]
fn pii_never_leaves_the_postgres_store() {
    let rt = runtime();
    rt.block_on(leftovers::sweep_schemas(&pg_url()));
    let schema = leftovers::unique("skc_pii");
    let target = format!("postgres:{schema}");
    let args = vec![
        "--db".to_string(),
        pg_url(),
        "--schema".to_string(),
        schema.clone(),
    ];
    let report = durable_run(&target, &args, || {
        rt.block_on(async {
            let pool = sqlx::PgPool::connect(&pg_url()).await.unwrap();
            let texts = stored_texts_postgres(&pool, &schema).await;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
            )))
            .execute(&pool)
            .await
            .unwrap();
            pool.close().await;
            texts
        })
    });
    report();
}

/// The durable run: phase 1 in a child (publish, fail, dead letters, retry,
/// the store's own types), the CLI (list, stats, replay), phase 2 in a child
/// (the workers run the replay), the CLI again, then the stored texts.
/// Returns the check, to run after the database is removed.
fn durable_run(target: &str, db_args: &[String], stored: impl FnOnce() -> Stored) -> impl FnOnce() {
    let mut report = Report::new();
    let phase1 = child(target, 1);
    report = report.search("child process output (phase 1)", &phase1);
    let list = cli(&[
        &["dead-letters", "list"],
        &strs(db_args)[..],
        &["--all-districts"],
    ]
    .concat());
    let stats = cli(&[
        &["queue", "stats"],
        &strs(db_args)[..],
        &["--all-districts"],
    ]
    .concat());
    let replay = cli(&[
        &["replay", "--handler", "pii.broken", "--no-wait"],
        &strs(db_args)[..],
        &["--all-districts"],
    ]
    .concat());
    let phase2 = child(target, 2);
    let list2 = cli(&[
        &["dead-letters", "list"],
        &strs(db_args)[..],
        &["--all-districts"],
    ]
    .concat());
    let stored = stored();
    report = report
        .search("dead-letters list", &list)
        .search("queue stats", &stats)
        .search("replay", &replay)
        .search("child process output (phase 2)", &phase2)
        .search("dead-letters list after the replay", &list2)
        .search_all("skc_deliveries.last_error", &stored.last_errors);
    move || {
        // The test can fail: the markers are in the data.
        assert!(
            MARKERS
                .iter()
                .all(|m| contains(&stored.payloads.join("\n"), m)),
            "the stored payloads must hold every marker (else the search proves nothing)"
        );
        assert!(
            stored.last_errors.len() >= VARIANTS.len(),
            "a dead letter's error for each wrong-typed payload at least: {:?}",
            stored.last_errors
        );
        assert!(
            list.contains("pii.broken") && list.contains("pii.flaky"),
            "the CLI lists the dead letters:\n{list}"
        );
        assert!(
            list2.contains("pii.broken"),
            "and after the replay:\n{list2}"
        );
        assert!(
            phase2.contains("replayed deliveries done: yes"),
            "the replay ran:\n{phase2}"
        );
        let all = format!("{phase1}\n{phase2}");
        report.finish(&all, &[&list, &stats, &replay, &list2]);
    }
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

// ------------------------------------------------------------ the searching

fn contains(haystack: &str, marker: &str) -> bool {
    haystack
        .to_ascii_lowercase()
        .contains(&marker.to_ascii_lowercase())
}

/// Marker hits, each with where it was found and the text around it.
struct Report {
    hits: Vec<String>,
    searched: usize,
}

impl Report {
    fn new() -> Report {
        Report {
            hits: Vec::new(),
            searched: 0,
        }
    }

    fn search(mut self, source: &str, text: &str) -> Report {
        self.searched += text.len();
        for (n, line) in text.lines().enumerate() {
            let line = line.replace(CONDITION_VALUES, "`asthma`, `epilepsy`, …");
            for m in MARKERS {
                if let Some(at) = line.to_ascii_lowercase().find(&m.to_ascii_lowercase()) {
                    // ASCII lowercasing keeps byte offsets; cut on characters.
                    let around: String = line
                        .char_indices()
                        .filter(|(i, _)| *i + 100 >= at && *i <= at + 60)
                        .map(|(_, c)| c)
                        .collect();
                    self.hits
                        .push(format!("{source}, line {}: `{m}` in …{around}…", n + 1));
                }
            }
        }
        self
    }

    fn search_all(self, source: &str, texts: &[String]) -> Report {
        texts
            .iter()
            .enumerate()
            .fold(self, |r, (i, t)| r.search(&format!("{source} #{i}"), t))
    }

    /// Fails with every hit; checks first that the child did what it says.
    fn finish(self, child_out: &str, cli_outputs: &[&str]) {
        for expected in [
            "[EventBus] Publishing event",
            "pii redacted",
            "Handling event",
            "[redacted]",
            "publish_raw",
            "dead letters:",
            "CHILD DONE",
        ] {
            assert!(
                child_out.contains(expected),
                "the child's output lacks `{expected}`: the scenario did not run as meant \
                 (its output is in {})",
                log_dir().display()
            );
        }
        let total = self.searched + cli_outputs.iter().map(|o| o.len()).sum::<usize>();
        assert!(
            self.hits.is_empty(),
            "{} pii marker hit(s) in {} bytes searched:\n{}{}",
            self.hits.len(),
            total,
            self.hits
                .iter()
                .take(40)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n"),
            if self.hits.len() > 40 { "\n…" } else { "" }
        );
    }
}

// ------------------------------------------------------ processes and rows

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs the scenario in a child process (this test binary), with the log
/// switches on; returns its stdout and stderr.
fn child(target: &str, phase: u8) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_scenario",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PII_LEAK_TARGET", target)
        .env("PII_LEAK_PHASE", phase.to_string())
        .env("LOG_EVENTS", "1")
        .env("LOG_EVENT_HANDLERS", "1")
        .output()
        .expect("run the child");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Kept for reading after a failure (it is long: TRACE logs).
    let kind = target.split(':').next().unwrap_or(target);
    let log = log_dir().join(format!("{kind}-phase{phase}.log"));
    let _ = std::fs::write(&log, &text);
    assert!(
        out.status.success(),
        "the child ({target}, phase {phase}) failed; its output is in {}:\n{}",
        log.display(),
        text.lines()
            .filter(|l| l.contains("panicked")
                || l.contains("assertion")
                || l.contains("left:")
                || l.contains("right:"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    text
}

/// `target/<profile>/pii_leak`: where the children's output is kept.
fn log_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("pii_leak");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The `skillcore-events` binary of this build, built if needed (cargo runs
/// a test only after its build, so its lock is free).
fn cli_binary() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        // target/<profile>/deps/pii_leak-… -> target/<profile>
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        build.args([
            "build",
            "--quiet",
            "-p",
            "skillcore-events-cli",
            "--bin",
            "skillcore-events",
        ]);
        if release {
            build.arg("--release");
        }
        let status = build
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo builds the CLI");
        assert!(status.success(), "building the CLI failed");
        profile_dir.join("skillcore-events")
    })
    .clone()
}

/// Runs the CLI; returns its stdout and stderr, whatever its exit status (a
/// refusal is output too).
fn cli(args: &[&str]) -> String {
    let out = Command::new(cli_binary())
        .args(args)
        .output()
        .expect("run the CLI");
    format!(
        "$ skillcore-events {}\nexit {:?}\n{}\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// What the store holds, read from its tables.
struct Stored {
    last_errors: Vec<String>,
    payloads: Vec<String>,
}

async fn stored_texts_sqlite(pool: &sqlx::SqlitePool) -> Stored {
    Stored {
        last_errors: sqlx::query_scalar(
            "SELECT last_error FROM skc_deliveries WHERE last_error IS NOT NULL",
        )
        .fetch_all(pool)
        .await
        .unwrap(),
        payloads: sqlx::query_scalar("SELECT payload FROM skc_events")
            .fetch_all(pool)
            .await
            .unwrap(),
    }
}

async fn stored_texts_postgres(pool: &sqlx::PgPool, schema: &str) -> Stored {
    Stored {
        last_errors: sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT last_error FROM \"{schema}\".skc_deliveries WHERE last_error IS NOT NULL"
        )))
        .fetch_all(pool)
        .await
        .unwrap(),
        payloads: sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT payload::text FROM \"{schema}\".skc_events"
        )))
        .fetch_all(pool)
        .await
        .unwrap(),
    }
}

/// What the child runs (`PII_LEAK_TARGET`, `PII_LEAK_PHASE`); skipped in a
/// normal run.
#[test]
#[ignore = "the scenario of the pii_never_leaves_* tests, run in their child process"]
fn child_scenario() {
    if let (Ok(target), Ok(phase)) = (
        std::env::var("PII_LEAK_TARGET"),
        std::env::var("PII_LEAK_PHASE"),
    ) {
        scenario::run(&target, &phase);
    }
}
