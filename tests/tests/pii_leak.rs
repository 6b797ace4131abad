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

use serde_json::{json, Value};
use skillcore_events::chrono::{NaiveDate, TimeZone, Utc};
use skillcore_events::uuid::Uuid;
use skillcore_events::{
    DynEnvelope, Envelope, Event, EventBus, HandlerError, HandlerOptions, Metadata, RawEnvelope,
    Scope,
};
use skillcore_events_store::{
    new_event, Durability, DurableBus, DurableOptions, PostgresCommit, Store, Subscriber, Target,
};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod catalog {
    skillcore_events::catalog!("fixtures/pii");
}

use catalog::pii::StudentEnrolled;
use catalog::{Address, Condition, Guardian};

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

// ------------------------------------------------------------ the scenario

/// The payload with a marker in every pii field.
fn marked() -> StudentEnrolled {
    let guardian = |n: i64| Guardian {
        relation: "mother".into(),
        name: format!("PIIMARK-guardian{n}-name"),
        phone: Some(format!("PIIMARK-guardian{n}-phone")),
        age: 987654321 + n,
        income: 31415.9265,
        custodial: true,
        birth_date: NaiveDate::from_ymd_opt(1917, 3, 9).unwrap(),
        verified_at: Utc.with_ymd_and_hms(1917, 3, 8, 11, 22, 33).unwrap(),
        person_id: Uuid::parse_str("5eb1a1e0-0000-4000-8000-00000000beef").unwrap(),
        condition: Condition::Markedcondition,
        address: Address {
            street: format!("PIIMARK-guardian{n}-street"),
            city: "Springfield".into(),
        },
        home: Address {
            street: format!("PIIMARK-guardian{n}-home-street"),
            city: "Springfield".into(),
        },
    };
    StudentEnrolled {
        student_id: "stu-1".into(),
        district_id: "dst-1".into(),
        ssn: "PIIMARK-ssn".into(),
        nickname: Some("PIIMARK-nickname".into()),
        age: 987654321,
        gpa: 31415.9265,
        iep: true,
        birth_date: NaiveDate::from_ymd_opt(1917, 3, 8).unwrap(),
        enrolled_at: Utc.with_ymd_and_hms(1917, 3, 8, 11, 22, 33).unwrap(),
        person_id: Uuid::parse_str("5eb1a1e0-0000-4000-8000-00000000beef").unwrap(),
        condition: Condition::Markedcondition,
        address: Address {
            street: "PIIMARK-street".into(),
            city: "Springfield".into(),
        },
        home: Address {
            street: "PIIMARK-home-street".into(),
            city: "Springfield".into(),
        },
        guardian: guardian(1),
        guardians: vec![guardian(2), guardian(3)],
        aliases: vec!["PIIMARK-alias1".into(), "PIIMARK-alias2".into()],
        sibling_ages: vec![987654330, 987654331],
        conditions: vec![Condition::Markedcondition, Condition::Asthma],
        notes: Some(vec!["PIIMARK-note".into()]),
    }
}

/// Each pii field in turn given a wrong-typed value that carries a marker
/// (a marker string where another type is expected; a distinctive number
/// where a string is expected): every one is a decode error.
const VARIANTS: [(&str, &str); 31] = [
    ("/ssn", "987654340"),
    ("/nickname", "987654341"),
    ("/age", "\"PIIMARK-age\""),
    ("/age", "31415.9265"),
    ("/gpa", "\"PIIMARK-gpa\""),
    ("/iep", "\"PIIMARK-iep\""),
    ("/birthDate", "\"PIIMARK-birthDate\""),
    ("/birthDate", "\"1917-02-30\""),
    ("/enrolledAt", "\"PIIMARK-enrolledAt\""),
    ("/personId", "\"PIIMARK-personId\""),
    ("/condition", "\"PIIMARK-condition\""),
    ("/address", "\"PIIMARK-address\""),
    ("/address/street", "987654342"),
    ("/home/street", "987654343"),
    ("/guardian/name", "987654344"),
    ("/guardian/phone", "987654345"),
    ("/guardian/age", "\"PIIMARK-guardian-age\""),
    ("/guardian/income", "\"PIIMARK-guardian-income\""),
    ("/guardian/custodial", "\"PIIMARK-guardian-custodial\""),
    ("/guardian/birthDate", "\"PIIMARK-guardian-birthDate\""),
    ("/guardian/verifiedAt", "\"PIIMARK-guardian-verifiedAt\""),
    ("/guardian/personId", "\"PIIMARK-guardian-personId\""),
    ("/guardian/condition", "\"PIIMARK-guardian-condition\""),
    ("/guardian/address", "\"PIIMARK-guardian-address\""),
    ("/guardians/1/name", "987654346"),
    ("/guardians/1/condition", "\"PIIMARK-guardians-condition\""),
    ("/aliases", "\"PIIMARK-aliases\""),
    ("/aliases/1", "987654347"),
    ("/siblingAges/0", "\"PIIMARK-siblingAges\""),
    ("/conditions/0", "\"PIIMARK-conditions\""),
    ("/notes/0", "987654348"),
];

/// The raw envelope of `payload` under a new id.
fn raw_with(envelope: &Envelope<StudentEnrolled>, payload: Value) -> RawEnvelope {
    let mut json: Value = serde_json::from_str(&envelope.to_json().unwrap()).unwrap();
    json["id"] = json!(Uuid::now_v7().to_string());
    json["payload"] = payload;
    RawEnvelope::from_json(&json.to_string()).expect("the envelope itself is well formed")
}

fn bus(target: &str) -> EventBus {
    let flaky = HandlerOptions::new()
        .retries(2)
        .backoff(Duration::from_millis(5));
    let once = HandlerOptions::new()
        .retries(1)
        .backoff(Duration::from_millis(5));
    let b = EventBus::builder()
        .catalog(catalog::EVENTS)
        .subscribe_with::<StudentEnrolled, _, _>("pii.flaky", flaky, |_e, cx| async move {
            if cx.attempt == 1 {
                Err(HandlerError::msg("flaky: the first attempt fails"))
            } else {
                Ok(())
            }
        })
        .subscribe_with::<StudentEnrolled, _, _>("pii.broken", once, |_e, _cx| async move {
            Err(HandlerError::msg("broken: every attempt fails"))
        })
        .subscribe_with::<StudentEnrolled, _, _>("pii.panics", once, |_e, _cx| async move {
            panic!("pii.panics panics on purpose")
        });
    let options = DurableOptions {
        idle_poll: Duration::from_millis(20),
        lease_margin: Duration::from_secs(2),
        ..DurableOptions::default()
    };
    let b = if let Some(path) = target.strip_prefix("sqlite:") {
        b.durable(Target::Sqlite(path.into(), Durability::Normal), options)
    } else if let Some(schema) = target.strip_prefix("postgres:") {
        b.durable(
            Target::Postgres {
                url: pg_url(),
                schema: Some(schema.into()),
                commit: PostgresCommit::Flushed,
            },
            options,
        )
    } else {
        b
    };
    b.build().expect("the bus builds")
}

async fn open_store(target: &str) -> Option<Store> {
    if let Some(path) = target.strip_prefix("sqlite:") {
        Some(Store::sqlite(path).await.unwrap())
    } else if let Some(schema) = target.strip_prefix("postgres:") {
        Some(Store::postgres(&pg_url(), Some(schema)).await.unwrap())
    } else {
        None
    }
}

/// Prints the `Debug` (both forms) of a value, labelled.
macro_rules! show {
    ($label:expr, $value:expr) => {{
        let v = &$value;
        println!("{}: {:?}", $label, v);
        println!("{} (alternate): {:#?}", $label, v);
    }};
}

/// What the child runs (`PII_LEAK_TARGET`, `PII_LEAK_PHASE`); skipped in a
/// normal run.
#[test]
#[ignore = "the scenario of the pii_never_leaves_* tests, run in their child process"]
fn child_scenario() {
    let (Ok(target), Ok(phase)) = (
        std::env::var("PII_LEAK_TARGET"),
        std::env::var("PII_LEAK_PHASE"),
    ) else {
        return;
    };
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    runtime().block_on(async {
        if phase == "1" {
            phase_one(&target).await;
        } else {
            phase_two(&target).await;
        }
    });
    println!("CHILD DONE");
}

async fn wait_idle(bus: &EventBus) {
    let idle = tokio::time::timeout(Duration::from_secs(60), bus.idle()).await;
    println!("idle: {}", idle.is_ok());
}

async fn phase_one(target: &str) {
    let bus = bus(target);
    let envelope = Envelope::new(marked(), Metadata::new("dst-1", "sch-1"));
    show!("Envelope", envelope);
    show!("payload", envelope.payload);
    show!("DynEnvelope (typed)", DynEnvelope::new(envelope.clone()));
    println!(
        "publish: {:?}",
        bus.publish(envelope.clone()).await.map(|_| ())
    );

    let good: Value = serde_json::to_value(&envelope.payload).unwrap();
    // Fields the catalog does not know, at the top and nested, hold markers
    // too: the logged payload drops them.
    let mut unknown = good.clone();
    unknown["PIIMARKextra"] = json!("PIIMARK-unknown-top");
    unknown["guardian"]["PIIMARKnested"] = json!("PIIMARK-unknown-nested");
    unknown["guardians"][0]["PIIMARKlisted"] = json!("PIIMARK-unknown-listed");
    let mut raws = vec![raw_with(&envelope, unknown)];
    for (pointer, value) in VARIANTS {
        let mut payload = good.clone();
        *payload
            .pointer_mut(pointer)
            .unwrap_or_else(|| panic!("no field at {pointer}")) =
            serde_json::from_str(value).unwrap();
        raws.push(raw_with(&envelope, payload));
    }
    for raw in &raws {
        show!("RawEnvelope", raw);
        show!("DynEnvelope (raw)", DynEnvelope::raw(raw.clone()));
        match raw.decode::<StudentEnrolled>() {
            Ok(e) => show!("decoded", e),
            Err(e) => {
                println!("decode error: {e}");
                show!("decode error", e);
            }
        }
        match catalog::AnyEvent::from_json(StudentEnrolled::NAME, raw.payload.get()) {
            Ok(e) => show!("AnyEvent", e),
            Err(e) => {
                println!("AnyEvent error: {e}");
                show!("AnyEvent error", e);
            }
        }
        let r = bus.publish_raw(raw.clone()).await;
        println!("publish_raw: {:?}", r.as_ref().map(|_| ()));
        if let Err(e) = r {
            println!("publish_raw error: {e}");
        }
    }
    wait_idle(&bus).await;
    let letters = bus.dead_letters(&Scope::AllDistricts).await.unwrap();
    println!("dead letters: {}", letters.len());
    for d in &letters {
        println!("dead letter error: {}", d.last_error);
        show!("bus DeadLetter", d);
    }
    // A dead letter retried: it fails again, through the same paths.
    if let Some(d) = letters.iter().find(|d| d.handler_id == "pii.broken") {
        println!(
            "retry dead letter: {:?}",
            bus.retry_dead_letter(&Scope::AllDistricts, d.id).await
        );
        wait_idle(&bus).await;
    }

    if let Some(store) = open_store(target).await {
        for d in store
            .dead_letters(&Scope::AllDistricts, None, 1000)
            .await
            .unwrap()
        {
            println!("store dead letter error: {}", d.last_error);
            show!("store DeadLetter", d);
        }
        // A delivery to a handler no bus runs, claimed by hand: the store's
        // own types.
        let fresh = raw_with(&envelope, raws[0].payload_value().unwrap());
        let event = new_event(&fresh).unwrap();
        show!("NewEvent", event);
        let manual = |_: &str| {
            vec![Subscriber {
                handler_id: "pii.manual",
                ordered: false,
            }]
        };
        store
            .append(std::slice::from_ref(&event), manual)
            .await
            .unwrap();
        let claimed = store
            .claim_for("pii-test", &["pii.manual"], 10, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1, "the manual delivery is claimed");
        for c in &claimed {
            show!("Claimed", c);
            show!("StoredEvent", c.event);
            store.fail(c, "manual failure", None).await.unwrap();
        }
        let (events, _) = store
            .read_after(&Scope::AllDistricts, Default::default(), 1000)
            .await
            .unwrap();
        for e in &events {
            show!("StoredEvent (read_after)", e);
        }
    }
    let report = bus.shutdown(Duration::from_secs(5)).await;
    println!("shutdown: {report:?}");
}

/// The workers run what the CLI's replay queued for `pii.broken`.
async fn phase_two(target: &str) {
    let bus = bus(target);
    wait_idle(&bus).await;
    let store = open_store(target).await.expect("a durable target");
    let pending = store.has_pending(&HANDLERS).await.unwrap();
    println!(
        "replayed deliveries done: {}",
        if pending { "no" } else { "yes" }
    );
    for d in bus.dead_letters(&Scope::AllDistricts).await.unwrap() {
        println!("dead letter error: {}", d.last_error);
        show!("bus DeadLetter", d);
    }
    println!("dead letters: listed");
    let report = bus.shutdown(Duration::from_secs(5)).await;
    println!("shutdown: {report:?}");
}
