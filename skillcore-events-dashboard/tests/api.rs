//! The JSON API against SQLite and PostgreSQL: the numbers of `queue stats`,
//! filters, cursor pagination, tenant scope, refusals, bulk actions, escaping
//! and pii.

mod common;

use common::*;
use serde_json::Value;
use skillcore_events_store::{Scope, Store};
use std::collections::BTreeMap;

/// 3 grades in district A, 2 in B; 2 of analytics.gpa's deliveries dead
/// with one masked error, 1 with another; 1 of notify.parent's done.
async fn fill(store: &Store) -> Vec<skillcore_events_store::NewEvent> {
    let events = vec![
        grade("dst-a", "res-1", "stu-1", "SECRET-COMMENT-1"),
        grade("dst-a", "res-2", "stu-2", "SECRET-COMMENT-2"),
        grade("dst-a", "res-3", "stu-1", "SECRET-COMMENT-3"),
        grade("dst-b", "res-4", "stu-4", "SECRET-COMMENT-4"),
        grade("dst-b", "res-5", "stu-5", "SECRET-COMMENT-5"),
    ];
    for e in &events {
        append(store, std::slice::from_ref(e)).await;
    }
    assert_eq!(
        kill(store, "analytics.gpa", 2, "student {i} not found").await,
        2
    );
    assert_eq!(
        kill(store, "analytics.gpa", 1, "timeout after 30 s").await,
        1
    );
    assert_eq!(finish(store, "notify.parent", 1).await, 1);
    events
}

fn by_handler(rows: &Value) -> BTreeMap<String, Value> {
    rows.as_array()
        .expect("an array")
        .iter()
        .map(|r| (r["handler"].as_str().unwrap().to_string(), r.clone()))
        .collect()
}

async fn agrees_with_stats(
    app: &axum::Router,
    store: &Store,
    scope: Scope,
    headers: &[(&str, &str)],
) {
    // 202 while the store's first count of the scope runs (a loaded host).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut r = get(app, "/admin/events/api/overview", headers).await;
    while r.status == 202 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        r = get(app, "/admin/events/api/overview", headers).await;
    }
    assert_eq!(r.status, 200, "{}", r.text);
    let rows = by_handler(&r.json());
    let stats = store.stats(&scope).await.unwrap();
    assert_eq!(rows.len(), stats.len(), "{rows:?} vs {stats:?}");
    for s in &stats {
        let row = &rows[&s.handler_id];
        for (k, v) in [
            ("waiting", s.waiting),
            ("active", s.active),
            ("completed", s.completed),
            ("failed", s.failed),
            ("dead", s.dead),
            ("stalled", s.stalled),
        ] {
            assert_eq!(row[k], v, "{} {k}", s.handler_id);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overview_filters_pages_scope_and_refusals() {
    for (backend, store, _temp) in stores().await {
        eprintln!("backend {backend}");
        fill(&store).await;
        let app = app(&store, Headers);

        // The numbers `queue stats` prints, with its keys.
        agrees_with_stats(&app, &store, Scope::AllDistricts, &READ).await;
        let r = get(&app, "/admin/events/api/overview", &READ).await;
        let rows = r.json();
        assert_eq!(
            rows[0]["handler"], "analytics.gpa",
            "problem handler first: {rows}"
        );
        assert_eq!(rows[0]["dead"], 3);
        // Scoped to district A: A's numbers only.
        let a = [("x-level", "read"), ("x-district", "dst-a")];
        agrees_with_stats(&app, &store, Scope::district("dst-a"), &a).await;

        // Filters: type, payload field, aggregate, district.
        let r = get(
            &app,
            "/admin/events/api/events?type=school.grade.posted&field=studentId&value=stu-1",
            &READ,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let ids: Vec<String> = r.json()["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["aggregateId"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids, ["res-3", "res-1"], "newest first");
        let r = get(
            &app,
            "/admin/events/api/events?aggregateType=Result&aggregateId=res-4",
            &READ,
        )
        .await;
        assert_eq!(r.json()["events"].as_array().unwrap().len(), 1);
        let r = get(
            &app,
            "/admin/events/api/events?type=school.grade.posted&district=dst-b",
            &READ,
        )
        .await;
        assert_eq!(r.json()["events"].as_array().unwrap().len(), 2);
        // A field the catalog does not have: 400 naming the fields.
        let r = get(
            &app,
            "/admin/events/api/events?type=school.grade.posted&field=nope&value=1",
            &READ,
        )
        .await;
        assert_eq!(r.status, 400);
        assert!(
            r.json()["error"].as_str().unwrap().contains("studentId"),
            "{}",
            r.text
        );

        // Cursor pagination: pages of 2 give all 5, newest first, once each.
        let mut seen = Vec::new();
        let mut url = "/admin/events/api/events?type=school.grade.posted&limit=2".to_string();
        loop {
            let page = get(&app, &url, &READ).await.json();
            let evs = page["events"].as_array().unwrap();
            assert!(evs.len() <= 2);
            seen.extend(evs.iter().map(|e| e["seq"].as_i64().unwrap()));
            match page["next"].as_str() {
                Some(c) => {
                    url = format!(
                        "/admin/events/api/events?type=school.grade.posted&limit=2&cursor={c}"
                    )
                }
                None => break,
            }
        }
        assert_eq!(seen.len(), 5, "{seen:?}");
        assert!(
            seen.windows(2).all(|w| w[0] > w[1]),
            "newest first, no repeats: {seen:?}"
        );

        // Tenant scope: a viewer of A sees nothing of B, even asking for it.
        let r = get(
            &app,
            "/admin/events/api/events?type=school.grade.posted",
            &a,
        )
        .await;
        let evs = r.json()["events"].as_array().unwrap().clone();
        assert_eq!(evs.len(), 3);
        assert!(evs.iter().all(|e| e["districtId"] == "dst-a"));
        let r = get(
            &app,
            "/admin/events/api/events?type=school.grade.posted&district=dst-b",
            &a,
        )
        .await;
        assert_eq!(r.json()["events"].as_array().unwrap().len(), 0);
        let r = get(&app, "/admin/events/api/dead-letters", &a).await.json();
        assert!(
            r["letters"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["event"]["districtId"] == "dst-a"),
            "{r}"
        );
        let b_event = get(
            &app,
            "/admin/events/api/events?district=dst-b&type=school.grade.posted",
            &READ,
        )
        .await
        .json()["events"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let r = get(&app, &format!("/admin/events/api/events/{b_event}"), &a).await;
        assert_eq!(r.status, 404, "{}", r.text);
        let r = get(&app, &format!("/admin/events/events/{b_event}"), &a).await;
        assert_eq!(r.status, 404);
        assert!(!r.text.contains("res-4") && !r.text.contains("res-5"));

        // The live tail: from now on, only what is stored after, of the type asked.
        let start = get(&app, "/admin/events/api/tail", &READ).await.json();
        assert_eq!(start["events"].as_array().unwrap().len(), 0);
        let cursor = start["cursor"].as_str().unwrap().to_string();
        append(&store, &[grade("dst-a", "res-9", "stu-9", "c")]).await;
        let t = get(
            &app,
            &format!("/admin/events/api/tail?after={cursor}&type=school.grade.posted"),
            &READ,
        )
        .await
        .json();
        let ids: Vec<&str> = t["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["aggregateId"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["res-9"], "{t}");
        let t = get(
            &app,
            &format!("/admin/events/api/tail?after={cursor}&type=school.note.written"),
            &READ,
        )
        .await
        .json();
        assert_eq!(t["events"].as_array().unwrap().len(), 0);

        // An aggregate's stream, in order, scoped.
        append(&store, &[grade("dst-a", "res-1", "stu-1", "again")]).await;
        let agg = get(&app, "/admin/events/api/aggregates/Result/res-1", &READ)
            .await
            .json();
        let seqs: Vec<i64> = agg["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].as_i64().unwrap())
            .collect();
        assert_eq!(seqs.len(), 2, "{agg}");
        assert!(seqs[0] < seqs[1], "in order: {seqs:?}");
        let b = [("x-level", "read"), ("x-district", "dst-b")];
        let none = get(&app, "/admin/events/api/aggregates/Result/res-1", &b)
            .await
            .json();
        assert_eq!(none["events"].as_array().unwrap().len(), 0);
        let page = get(&app, "/admin/events/aggregates/Result/res-1", &READ).await;
        assert_eq!(page.status, 200);
        assert!(page.text.contains("2 events, in order"));

        // No credentials: 401, for the API and the pages.
        let r = get(&app, "/admin/events/api/overview", &[]).await;
        assert_eq!(r.status, 401);
        assert!(r.headers.contains_key("www-authenticate"));
        assert_eq!(get(&app, "/admin/events", &[]).await.status, 401);
        assert_eq!(
            get(&app, "/admin/events/dead-letters", &[]).await.status,
            401
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_read_only_csrf_and_exact_counts() {
    for (backend, store, _temp) in stores().await {
        eprintln!("backend {backend}");
        fill(&store).await;
        let app = app(&store, Headers);
        // The group of "student {i} not found", by its key.
        let groups = get(
            &app,
            "/admin/events/api/dead-letters?handler=analytics.gpa",
            &READ,
        )
        .await
        .json();
        let group = groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["error"].as_str().unwrap().starts_with("student "))
            .unwrap_or_else(|| panic!("a group of the student errors: {groups}"));
        assert_eq!(group["count"], 2);
        assert_eq!(groups["total"], 3);
        let key = group["key"].as_str().unwrap().to_string();
        let body = serde_json::json!({"all": true, "handler": "analytics.gpa", "group": key});
        let csrf = [("cookie", CSRF_COOKIE), ("x-csrf-token", CSRF)];

        // Read-only: 403, nothing changes.
        let ro = [("x-level", "read"), csrf[0], csrf[1]];
        let r = post_json(
            &app,
            "/admin/events/api/dead-letters/retry",
            body.clone(),
            &ro,
        )
        .await;
        assert_eq!(r.status, 403, "{}", r.text);
        // The right to act but no CSRF token: 403.
        let r = post_json(
            &app,
            "/admin/events/api/dead-letters/retry",
            body.clone(),
            &ACT,
        )
        .await;
        assert_eq!(r.status, 403, "{}", r.text);
        assert!(r.text.contains("CSRF"));
        // A wrong token: 403.
        let wrong = [
            ("x-level", "act"),
            ("cookie", CSRF_COOKIE),
            ("x-csrf-token", "f00"),
        ];
        assert_eq!(
            post_json(
                &app,
                "/admin/events/api/dead-letters/retry",
                body.clone(),
                &wrong
            )
            .await
            .status,
            403
        );
        // The form without its field: 403.
        let form = [("x-level", "act"), ("cookie", CSRF_COOKIE)];
        let r = post_form(
            &app,
            "/admin/events/dead-letters/act",
            "action=retry&all=1",
            &form,
        )
        .await;
        assert_eq!(r.status, 403);
        assert_eq!(
            store
                .stats(&Scope::AllDistricts)
                .await
                .unwrap()
                .iter()
                .map(|s| s.dead)
                .sum::<i64>(),
            3
        );

        // How many match, then exactly those are retried.
        let act = [("x-level", "act"), csrf[0], csrf[1]];
        let n = get(
            &app,
            &format!("/admin/events/api/dead-letters/count?handler=analytics.gpa&group={key}"),
            &READ,
        )
        .await
        .json();
        assert_eq!(n["count"], 2);
        let r = post_json(
            &app,
            "/admin/events/api/dead-letters/retry",
            body.clone(),
            &act,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["retried"], 2);
        let gpa = |s: Vec<skillcore_events_store::HandlerStats>| {
            s.into_iter()
                .find(|s| s.handler_id == "analytics.gpa")
                .unwrap()
        };
        let s = gpa(store.stats(&Scope::AllDistricts).await.unwrap());
        assert_eq!(s.dead, 1, "the other group stays");
        // Again: nothing left to retry.
        assert_eq!(
            post_json(&app, "/admin/events/api/dead-letters/retry", body, &act)
                .await
                .json()["retried"],
            0
        );

        // Discard one by id through the form (with the field): 303 back.
        let letters = get(&app, "/admin/events/api/dead-letters", &READ)
            .await
            .json();
        let id = letters["letters"][0]["id"].as_i64().unwrap();
        let r = post_form(
            &app,
            "/admin/events/dead-letters/act",
            &format!("csrf={CSRF}&action=discard&id={id}"),
            &form,
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.text);
        assert_eq!(
            gpa(store.stats(&Scope::AllDistricts).await.unwrap()).dead,
            0
        );

        // A viewer of district B retries all it sees: B's letters, exactly, none of A's.
        kill(&store, "analytics.gpa", 5, "boom {i}").await;
        let dead_in = |d: &'static str| {
            let store = store.clone();
            async move { gpa(store.stats(&Scope::district(d)).await.unwrap()).dead }
        };
        let (a_dead, b_dead) = (dead_in("dst-a").await, dead_in("dst-b").await);
        assert!(b_dead > 0, "district B has dead letters to retry");
        let b = [
            ("x-level", "act"),
            ("x-district", "dst-b"),
            csrf[0],
            csrf[1],
        ];
        let r = post_json(
            &app,
            "/admin/events/api/dead-letters/retry",
            serde_json::json!({"all": true}),
            &b,
        )
        .await;
        assert_eq!(r.json()["retried"], b_dead, "{}", r.text);
        assert_eq!(dead_in("dst-a").await, a_dead, "A's letters untouched");
        assert_eq!(dead_in("dst-b").await, 0);

        // A replay: queued for the handler, its progress readable.
        let r = post_json(
            &app,
            "/admin/events/api/replays",
            serde_json::json!({"handler": "notify.parent", "type": "school.grade.posted"}),
            &act,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json()["queued"], 5);
        let batch = r.json()["batch"].as_i64().unwrap();
        let p = get(
            &app,
            &format!("/admin/events/api/replays/notify.parent/{batch}"),
            &READ,
        )
        .await
        .json();
        assert_eq!(p["total"], 5);
        let r = post_json(
            &app,
            "/admin/events/api/replays",
            serde_json::json!({"handler": "no.such"}),
            &act,
        )
        .await;
        assert_eq!(r.status, 400);
    }
}
