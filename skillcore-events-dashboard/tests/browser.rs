//! The dashboard in a real browser: Debian's headless Chromium driven by
//! `playwright-core` (npm, in `tests/node`) through `tests/browser/e2e.mjs`.
//!
//! The test fills a temporary SQLite store (a causation chain, dead letters,
//! a retrying and a leased delivery, a payload and an error message carrying
//! `<script>`, quotes and `</textarea>`), serves the dashboard nested at
//! `/admin/events` on 127.0.0.1 with a token, and runs the script, which signs
//! in, watches the overview's counters move while this test publishes, filters
//! events by a payload field, walks an event's causation tree, retries a dead
//! letter, starts a replay, follows the live tail, checks that the hostile
//! values stay text, and writes a screenshot of every page (dark and light)
//! to `target/dashboard-screenshots/`. The script reports what it saw as JSON;
//! the assertions are here.
//!
//! Needs `/usr/bin/chromium` (or `CHROMIUM`) and the npm packages of
//! `tests/node`: `scripts/test` installs both, and this test installs the npm
//! packages itself when npm can. It fails, naming the command, when either is
//! missing; it never skips.

#[path = "browser/run.rs"]
mod run;
#[path = "browser/seed.rs"]
mod seed;

use run::{chromium, node_ready, target_dir};
use seed::{events, publish, seed, subscribers, total_waiting, trouble, GRADE, XSS};
use serde_json::{json, Value};
use skillcore_events_dashboard::{router, DashboardConfig, TokenAuthorizer, SESSION_COOKIE};
use skillcore_events_store::testing::TempStore;
use skillcore_events_store::{Scope, Store};
use std::path::Path;
use std::time::{Duration, Instant};

const TOKEN: &str = "browser-test-token-5f1c9e0a";
const PREFIX: &str = "/admin/events";
/// What the whole browser run may take before it is stopped (it takes ~20 s).
const RUN_LIMIT: Duration = Duration::from_secs(90);
/// Grades published while the overview is open, and while the live tail is.
const OVERVIEW_EVENTS: usize = 5;
const LIVE_EVENTS: usize = 3;
/// The handler that gets a dead letter and a stalled lease while the
/// overview is open (it had neither).
const TROUBLE: &str = "notify.parent";

/// A step of the script's summary, failing the test with its error when the
/// step did not finish.
fn step<'a>(summary: &'a Value, name: &str, screenshots: &Path) -> &'a Value {
    let s = &summary["steps"][name];
    assert!(
        s["ok"] == true,
        "browser step `{name}` failed: {}\n(at {}; screenshots so far in {})",
        s["error"]
            .as_str()
            .unwrap_or("(no error recorded: the step did not run)"),
        s["url"].as_str().unwrap_or("?"),
        screenshots.display()
    );
    s
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the `class` attribute `v` holds `class`.
fn has_class(v: &Value, class: &str) -> bool {
    v.as_str().unwrap_or("").split(' ').any(|c| c == class)
}

/// The tree the page drew, as `type(children)` with `*` on the event shown.
fn tree_text(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|n| {
                    let kids = tree_text(&n["children"]);
                    format!(
                        "{}{}{}",
                        n["type"].as_str().unwrap_or("?"),
                        if n["me"] == true { "*" } else { "" },
                        if kids.is_empty() {
                            String::new()
                        } else {
                            format!("({kids})")
                        }
                    )
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

#[test]
fn the_dashboard_in_chromium() {
    let started = Instant::now();
    let chromium = chromium();
    let node_dir = node_ready();
    let shots = target_dir().join("dashboard-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).expect("create the screenshots folder");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let temp = TempStore::sqlite();
    let (store, seeded, addr) = rt.block_on(async {
        let store = Store::sqlite(temp.path()).await.expect("sqlite store");
        store.set_overview_refresh(Duration::from_millis(100));
        let seeded = seed(&store).await;
        let config = DashboardConfig::new(TokenAuthorizer::new(TOKEN))
            .catalog(events::EVENTS)
            .handlers([
                "analytics.gpa",
                "notify.parent",
                "transcript.update",
                "legacy.roster_sync",
            ])
            .schema_url("/schemas/{event}.json");
        let app = axum::Router::new().nest(PREFIX, router(store.clone(), config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (store, seeded, addr)
    });
    let waiting_at_start = rt.block_on(total_waiting(&store));

    let plan = json!({
        "nodeDir": node_dir,
        "chromium": chromium,
        "base": format!("http://{addr}{PREFIX}"),
        "token": TOKEN,
        "sessionCookie": SESSION_COOKIE,
        "shots": shots,
        "liveTimeoutMs": 20000,
        "liveRows": LIVE_EVENTS,
        "troubleHandler": TROUBLE,
        // What the changes made while the overview is open add to its totals:
        // the new grades' deliveries, less the two of TROUBLE taken.
        "liveDelta": {
            "waiting": (OVERVIEW_EVENTS * subscribers(GRADE).len()) as i64 - 2,
            "dead": 1,
            "stalled": 1,
        },
        "watchHandler": "analytics.gpa",
        "searchType": GRADE,
        "searchField": "studentId",
        "searchValue": "stu-7",
        "rootEvent": seeded.root.id.to_string(),
        "leafEvent": seeded.leaf.id.to_string(),
        "aggregatePath": "/aggregates/Student/stu-7",
        "xssEvent": seeded.xss_event.id.to_string(),
        "retryDelivery": seeded.retry_delivery,
        "replayHandler": "analytics.gpa",
    });
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/e2e.mjs");
    let mut published_live = 0;
    let run::Run {
        summary,
        status,
        stderr,
    } = run::script(&script, &plan, RUN_LIMIT, |what| match what {
        "overview" => rt.block_on(async {
            trouble(&store, TROUBLE).await;
            publish(&store, 100, OVERVIEW_EVENTS).await;
        }),
        "live" => {
            rt.block_on(publish(&store, 200, LIVE_EVENTS));
            published_live = LIVE_EVENTS;
        }
        _ => {}
    });
    eprintln!(
        "browser run: {:.1} s; screenshots in {}",
        started.elapsed().as_secs_f64(),
        shots.display()
    );
    assert!(
        summary.get("launchError").is_none(),
        "Chromium did not start ({}): {}\n(run `scripts/test`, which installs it; or set CHROMIUM)",
        chromium.display(),
        summary["launchError"]
    );

    // Signing in: the sign-in page for a browser without a session, a
    // wrong token refused, the right one gives an HttpOnly SameSite cookie.
    let s = step(&summary, "signin", &shots);
    assert_eq!(
        s["firstStatus"], 401,
        "no session: the sign-in page with 401"
    );
    assert!(
        s["refusal"]
            .as_str()
            .unwrap_or("")
            .contains("not the dashboard"),
        "a wrong token is refused with a message: {}",
        s["refusal"]
    );
    assert_eq!(
        s["landedOn"], PREFIX,
        "signed in, the browser lands on the overview"
    );
    assert_eq!(
        s["sessionCookie"],
        json!({"httpOnly": true, "sameSite": "Strict", "path": PREFIX}),
        "the session cookie"
    );

    // The overview: problem handlers first, the counters move by themselves.
    let s = step(&summary, "overview", &shots);
    let handlers = strs(&s["handlers"]);
    let problems = strs(&s["problemRows"]);
    assert!(
        problems.contains(&"analytics.gpa".to_string())
            && problems.contains(&"notify.parent".to_string()),
        "handlers with dead letters or retries are marked: {problems:?}"
    );
    assert_eq!(
        handlers[..problems.len()],
        problems[..],
        "problem handlers are listed first: {handlers:?}"
    );
    assert_eq!(
        s["totals"]["waiting"], waiting_at_start,
        "the page's waiting total is the store's"
    );
    assert_eq!(
        s["totals"]["dead"], 3,
        "3 dead letters in the headline: {s}"
    );
    // Problems stand out: the dead and retrying cards and cells are coloured
    // (a second `class` attribute beside maud's `.class` shorthand is dropped
    // by the browser, which once left them plain).
    let c = &s["classes"];
    assert!(
        has_class(&c["cards"]["dead"], "bad"),
        "the dead card is marked: {c}"
    );
    assert!(
        has_class(&c["cards"]["failed"], "warn"),
        "the retrying card is marked: {c}"
    );
    assert!(
        !has_class(&c["cards"]["stalled"], "warn"),
        "no stalled lease, no warning: {c}"
    );
    assert!(
        has_class(&s["watchDeadClass"], "bad"),
        "analytics.gpa's dead count is marked: {}",
        s["watchDeadClass"]
    );
    assert!(
        !has_class(&c["deadCell"], "bad"),
        "{TROUBLE} has no dead letter yet: {c}"
    );

    // While the page is open: new grades, a dead letter and a stalled lease
    // of TROUBLE. The numbers follow by themselves, and so do the marks.
    assert!(
        s["timedOut"] == false,
        "the overview did not reach {} within {} ms by itself; it shows {}",
        s["want"],
        plan["liveTimeoutMs"],
        s["totalsAfter"]
    );
    assert_eq!(
        s["totalsAfter"]["waiting"].as_i64(),
        Some(waiting_at_start + plan["liveDelta"]["waiting"].as_i64().unwrap()),
        "the waiting total moved: {s}"
    );
    assert_eq!(
        s["rowAfter"].as_i64(),
        s["rowBefore"].as_i64().map(|n| n + OVERVIEW_EVENTS as i64),
        "analytics.gpa's row moved by the {OVERVIEW_EVENTS} events published: {s}"
    );
    let c = &s["classesAfter"];
    assert!(
        has_class(&c["cards"]["stalled"], "warn"),
        "the stalled card is marked live: {c}"
    );
    assert!(
        has_class(&c["deadCell"], "bad"),
        "{TROUBLE}'s new dead letter is marked live: {c}"
    );
    assert!(
        has_class(&c["stalledCell"], "warn"),
        "{TROUBLE}'s stalled lease is marked live: {c}"
    );

    // The catalog's health: the declared handler nothing serves.
    let s = step(&summary, "health", &shots);
    assert!(
        strs(&s["notServed"]).contains(&"archive.transcripts".to_string()),
        "archive.transcripts is declared and not served: {s}"
    );
    let not_served = s["cards"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["label"] == "not served");
    assert!(
        not_served.is_some_and(|c| c["className"].as_str().unwrap_or("").contains("bad")),
        "the `not served` card is marked: {}",
        s["cards"]
    );
    assert_eq!(
        strs(&s["types"]).len(),
        events::EVENTS.len(),
        "the catalog lists every type"
    );
    assert!(
        strs(&s["fields"]).contains(&"studentId".to_string()),
        "the event type's page has its payload table: {s}"
    );

    // Events filtered by a payload field (offered from the catalog).
    let s = step(&summary, "events", &shots);
    let grade_fields: Vec<String> = events::EVENTS
        .iter()
        .find(|e| e.name == GRADE)
        .expect("the grade type")
        .fields
        .iter()
        .map(|f| f.name.to_string())
        .collect();
    assert_eq!(
        strs(&s["offered"]),
        grade_fields,
        "fields offered for the chosen type"
    );
    let rows = s["rows"].as_array().cloned().unwrap_or_default();
    let aggregates: Vec<String> = rows
        .iter()
        .map(|r| r["aggregate"].as_str().unwrap_or("").to_string())
        .collect();
    let want: Vec<String> = seeded
        .searched
        .iter()
        .map(|r| format!("Result {r}"))
        .collect();
    assert_eq!(
        aggregates, want,
        "studentId = stu-7: its grades, newest first"
    );
    assert_eq!(s["query"]["field"], "studentId");

    // An event and its causation tree.
    let s = step(&summary, "detail", &shots);
    assert_eq!(
        tree_text(&s["tree"]),
        "school.grade.posted*(analytics.gpa.recalculated(transcript.entry.updated transcript.entry.updated))",
        "the causation tree of the chain, the event shown marked: {}",
        s["tree"]
    );
    let ids = |v: &Value| -> Vec<String> {
        let mut out = vec![];
        fn walk(v: &Value, out: &mut Vec<String>) {
            for n in v.as_array().into_iter().flatten() {
                out.push(n["id"].as_str().unwrap_or("").to_string());
                walk(&n["children"], out);
            }
        }
        walk(v, &mut out);
        out
    };
    assert_eq!(
        ids(&s["tree"]),
        [&seeded.root, &seeded.mid, &seeded.leaf, &seeded.sibling].map(|e| e.id.to_string()),
        "the tree links each event"
    );
    assert_eq!(
        tree_text(&s["leafTree"]),
        "school.grade.posted(analytics.gpa.recalculated(transcript.entry.updated* transcript.entry.updated))",
        "followed down the tree, the leaf is the event shown"
    );
    assert_eq!(
        s["causedBy"],
        seeded.mid.id.to_string(),
        "the leaf was caused by the recalculation"
    );
    assert_eq!(s["payloadVisible"], true, "the payload is open");
    assert_eq!(
        s["payloadRedacted"], true,
        "the pii field is [redacted] without the grant"
    );
    let mut delivered: Vec<String> = s["deliveries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| d["handler"].as_str().unwrap_or("").to_string())
        .collect();
    delivered.sort();
    assert_eq!(
        delivered,
        ["analytics.gpa", "notify.parent"],
        "a delivery per declared handler: {}",
        s["deliveries"]
    );
    assert!(
        strs(&s["stream"]).len() >= 3,
        "the aggregate's stream lists its events: {}",
        s["stream"]
    );

    // Hostile values stay text: visible literally, nothing injected, no dialog.
    let s = step(&summary, "xss", &shots);
    let payload = s["payloadText"].as_str().unwrap_or("");
    assert!(
        payload.contains("<script>alert(1)</script>")
            && payload.contains("</textarea><img src=x onerror=alert(2)>"),
        "the payload's text is shown as written: {payload}"
    );
    assert_eq!(
        s["literalVisible"], true,
        "the literal <script> text is visible"
    );
    assert_eq!(
        s["errorVisible"], true,
        "the error's literal text is visible"
    );
    assert!(
        strs(&s["errors"]).iter().any(|e| e.contains(XSS)),
        "the dead letter's error is shown whole: {}",
        s["errors"]
    );
    let app_js = json!([format!("{PREFIX}/assets/app.js")]);
    for page in ["onEvent", "onDead"] {
        let p = &s[page];
        assert_eq!(
            p["inlineScripts"], 0,
            "{page}: an inline <script> was injected: {p}"
        );
        assert_eq!(
            p["scripts"], app_js,
            "{page}: only the dashboard's script: {p}"
        );
        assert_eq!(p["imgX"], 0, "{page}: an <img onerror> was injected: {p}");
        assert_eq!(p["textareas"], 0, "{page}: a <textarea> was injected: {p}");
        assert_eq!(p["xssFlag"], false, "{page}: a script ran");
    }
    assert_eq!(
        s["dialogsDuring"], 0,
        "a dialog opened on the hostile pages"
    );

    // Retrying a dead letter: it leaves the list, the others stay.
    let s = step(&summary, "retry", &shots);
    let before: Vec<i64> = s["before"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_i64)
        .collect();
    let after: Vec<i64> = s["after"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_i64)
        .collect();
    for id in [
        seeded.retry_delivery,
        seeded.other_dead,
        seeded.xss_delivery,
    ] {
        assert!(
            before.contains(&id),
            "dead letter {id} listed before the retry: {before:?}"
        );
    }
    assert!(
        !after.contains(&seeded.retry_delivery),
        "the retried letter {} left the list: {after:?}",
        seeded.retry_delivery
    );
    assert!(
        after.contains(&seeded.other_dead) && after.contains(&seeded.xss_delivery),
        "the others stay: {after:?}"
    );
    assert_eq!(
        s["badge"], 4,
        "the count in the title (3 of analytics.gpa, 1 of {TROUBLE}): {s}"
    );
    assert!(
        s["badgeClass"].as_str().unwrap_or("").contains("bad"),
        "the count is marked: {}",
        s["badgeClass"]
    );
    assert_eq!(s["badgeAfter"], 3, "the count after the retry: {s}");
    assert!(
        s["done"].as_str().unwrap_or("").contains("1 retried"),
        "the page says what was done: {}",
        s["done"]
    );
    let dead_now: Vec<i64> = rt
        .block_on(store.dead_letters(&Scope::AllDistricts, None, 100))
        .expect("dead letters")
        .iter()
        .map(|d| d.delivery_id)
        .collect();
    assert!(
        !dead_now.contains(&seeded.retry_delivery) && dead_now.len() == 3,
        "the store agrees: {dead_now:?}"
    );

    // A replay started from the page, its progress shown.
    let s = step(&summary, "replays", &shots);
    assert_eq!(s["query"]["handler"], "analytics.gpa");
    assert_eq!(
        s["total"].as_i64(),
        Some((seeded.grades + OVERVIEW_EVENTS) as i64),
        "the replay queues every grade again for analytics.gpa: {s}"
    );

    // The live tail shows the events published while it is open.
    let s = step(&summary, "live", &shots);
    assert_eq!(
        s["rows"].as_u64(),
        Some(published_live as u64),
        "the live tail lists the {published_live} events published while it was open: {s}"
    );

    // Around every step: the only dialog was the retry's confirmation, no
    // script error, no CSP violation.
    let dialogs = summary["dialogs"].as_array().cloned().unwrap_or_default();
    assert!(
        dialogs.len() == 1 && dialogs[0]["expected"] == true,
        "dialogs: only the retry's confirmation, got {dialogs:?}"
    );
    assert_eq!(
        summary["pageErrors"],
        json!([]),
        "script errors in the pages"
    );
    let csp: Vec<&Value> = summary["consoleErrors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| {
            m["text"]
                .as_str()
                .is_some_and(|t| t.contains("Content Security Policy"))
        })
        .collect();
    assert!(csp.is_empty(), "the pages break their own CSP: {csp:?}");
    let files = strs(&summary["screenshots"]);
    for name in [
        "signin",
        "overview",
        "overview-live",
        "health",
        "catalog",
        "catalog-event",
        "events",
        "event-detail",
        "aggregate",
        "event-xss",
        "dead-letters",
        "dead-letters-after-retry",
        "replays",
        "replay-progress",
        "live",
    ] {
        for file in [format!("{name}.png"), format!("{name}-light.png")] {
            let path = shots.join(&file);
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            assert!(
                files.iter().any(|f| f.ends_with(&file)) && size > 1000,
                "screenshot {} missing or empty",
                path.display()
            );
        }
    }
    assert!(status.success(), "node exited with {status}: {stderr}");
    eprintln!("whole test: {:.1} s", started.elapsed().as_secs_f64());
}
