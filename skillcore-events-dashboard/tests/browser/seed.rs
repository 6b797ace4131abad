//! What the browser test's store holds: the catalog of
//! `tests/fixtures/browser.yaml`, a causation chain, dead letters (one with
//! a hostile error), a retrying and a leased delivery, and the grades
//! published while a page is open.

pub mod events {
    skillcore_events::catalog!("tests/fixtures/browser.yaml");
}

use serde_json::{json, Value};
use skillcore_events_store::{NewEvent, Scope, Store, Subscriber};
use std::time::Duration;

/// A payload field and an error message carry it: it must stay text.
pub const XSS: &str = "<script>alert(1)</script>\"quote' </textarea><img src=x onerror=alert(2)>";
pub const GRADE: &str = "school.grade.posted";

pub fn subscribers(ty: &str) -> Vec<Subscriber<'static>> {
    events::EVENTS
        .iter()
        .find(|e| e.name == ty)
        .map(|e| e.handlers)
        .unwrap_or(&[])
        .iter()
        .map(|h| Subscriber {
            handler_id: h,
            ordered: false,
        })
        .collect()
}

struct Meta<'a> {
    district: &'a str,
    correlation: String,
    causation: Option<&'a NewEvent>,
}

fn event(ty: &str, agg: (&str, &str), meta: Meta<'_>, payload: Value) -> NewEvent {
    let mut metadata = json!({
        "districtId": meta.district,
        "schoolId": "sch-lincoln",
        "correlationId": meta.correlation,
    });
    if let Some(cause) = meta.causation {
        metadata["causationId"] = json!(cause.id.to_string());
    }
    NewEvent {
        id: uuid::Uuid::now_v7(),
        event_type: ty.into(),
        aggregate_type: agg.0.into(),
        aggregate_id: agg.1.into(),
        version: 1,
        occurred_at: chrono::Utc::now(),
        metadata,
        payload,
    }
}

fn grade(n: usize, student: &str, note: &str) -> NewEvent {
    let result = format!("res-{n}");
    let district = if n.is_multiple_of(3) {
        "dst-south"
    } else {
        "dst-north"
    };
    let payload = json!({
        "resultId": result, "studentId": student, "score": 60.0 + (n * 7 % 40) as f64,
        "note": note, "comment": format!("PRIVATE-COMMENT-{n}"),
    });
    let meta = Meta {
        district,
        correlation: format!("corr-{result}"),
        causation: None,
    };
    event(GRADE, ("Result", &result), meta, payload)
}

/// What the seeded store holds that the script and the assertions name.
pub struct Seeded {
    pub root: NewEvent,
    pub mid: NewEvent,
    pub leaf: NewEvent,
    pub sibling: NewEvent,
    pub xss_event: NewEvent,
    pub xss_delivery: i64,
    pub retry_delivery: i64,
    pub other_dead: i64,
    /// The grades whose `studentId` is the searched one, newest first.
    pub searched: Vec<String>,
    pub grades: usize,
}

async fn append(store: &Store, events: &[NewEvent]) {
    store.append(events, subscribers).await.expect("append");
}

async fn claim(store: &Store, handler: &str, n: u32, lease: Duration) -> Vec<i64> {
    let claimed = store
        .claim_for("browser-test", &[handler], n, lease)
        .await
        .expect("claim");
    claimed.iter().map(|c| c.delivery_id).collect()
}

/// Claims up to `n` deliveries of `handler`, then fails them: dead letters
/// with `retry_in = None`, else retried later.
async fn fail(
    store: &Store,
    handler: &str,
    n: u32,
    error: &str,
    retry: Option<Duration>,
) -> Vec<i64> {
    let claimed = store
        .claim_for("browser-test", &[handler], n, Duration::from_secs(60))
        .await
        .expect("claim");
    for (i, c) in claimed.iter().enumerate() {
        let e = error.replace("{i}", &(4100 + i).to_string());
        assert!(store.fail(c, &e, retry).await.expect("fail"), "lease lost");
    }
    claimed.iter().map(|c| c.delivery_id).collect()
}

async fn complete(store: &Store, handler: &str, n: u32) {
    let claimed = store
        .claim_for("browser-test", &[handler], n, Duration::from_secs(60))
        .await
        .expect("claim");
    for c in &claimed {
        assert!(store.complete(c).await.expect("complete"));
    }
}

pub async fn seed(store: &Store) -> Seeded {
    // The hostile values: a payload field (not pii: shown) and an error.
    let xss_event = grade(0, "stu-0", XSS);
    append(store, std::slice::from_ref(&xss_event)).await;
    let xss_delivery = fail(
        store,
        "analytics.gpa",
        1,
        &format!("handler failed: {XSS}"),
        None,
    )
    .await;

    let mut grades: Vec<NewEvent> = (1..=11)
        .map(|n| grade(n, &format!("stu-{}", n % 4 + 1), "regular"))
        .collect();
    // The searched student: two grades, and the second one starts a chain.
    grades.push(grade(12, "stu-7", "midterm"));
    for g in &grades {
        append(store, std::slice::from_ref(g)).await;
    }
    let dead = fail(
        store,
        "analytics.gpa",
        2,
        "student stu-{i} not found in the SIS",
        None,
    )
    .await;
    complete(store, "analytics.gpa", 6).await;
    complete(store, "notify.parent", 9).await;
    fail(
        store,
        "notify.parent",
        1,
        "SMTP 451 4.7.1 try again later",
        Some(Duration::from_secs(3600)),
    )
    .await;

    // The chain: a grade caused a GPA recalculation, which rewrote two
    // transcript entries (depth 3, siblings at the bottom).
    let corr = "corr-chain-stu-7".to_string();
    let root = {
        let mut g = grade(13, "stu-7", "final exam");
        g.metadata["correlationId"] = json!(corr);
        g
    };
    let m = |cause| Meta {
        district: "dst-north",
        correlation: corr.clone(),
        causation: Some(cause),
    };
    let mid = event(
        "analytics.gpa.recalculated",
        ("Student", "stu-7"),
        m(&root),
        json!({"studentId": "stu-7", "gpa": 3.4}),
    );
    let leaf = event(
        "transcript.entry.updated",
        ("Student", "stu-7"),
        m(&mid),
        json!({"studentId": "stu-7", "entries": 12}),
    );
    let sibling = event(
        "transcript.entry.updated",
        ("Student", "stu-7"),
        m(&mid),
        json!({"studentId": "stu-7", "entries": 13}),
    );
    for e in [&root, &mid, &leaf, &sibling] {
        append(store, std::slice::from_ref(e)).await;
    }
    // A worker holds one delivery (active).
    claim(store, "transcript.update", 1, Duration::from_secs(600)).await;
    Seeded {
        searched: vec!["res-13".into(), "res-12".into()],
        grades: grades.len() + 2,
        root,
        mid,
        leaf,
        sibling,
        xss_event,
        xss_delivery: xss_delivery[0],
        retry_delivery: dead[0],
        other_dead: dead[1],
    }
}

/// Published while a page is open: `n` new grades in one append (so the
/// counters move once).
pub async fn publish(store: &Store, from: usize, n: usize) {
    let batch: Vec<NewEvent> = (from..from + n)
        .map(|i| grade(i, &format!("stu-{}", i % 4 + 1), "live"))
        .collect();
    append(store, &batch).await;
}

/// Deliveries waiting, every handler, every district.
pub async fn total_waiting(store: &Store) -> i64 {
    let stats = store.stats(&Scope::AllDistricts).await.expect("stats");
    stats.iter().map(|s| s.waiting).sum()
}

/// Trouble while the overview is open: one delivery of `handler` becomes a
/// dead letter and a worker takes another and stalls (its lease runs out at
/// once).
pub async fn trouble(store: &Store, handler: &str) {
    fail(store, handler, 1, "SMTP 550 mailbox unavailable", None).await;
    claim(store, handler, 1, Duration::from_millis(1)).await;
}
