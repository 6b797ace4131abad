//! What keeps the dashboard fast on big stores, against SQLite and
//! PostgreSQL: dead letters a page at a time (newest first, a cursor to the
//! older ones, a group's page full of that group), the groups without any
//! letter, and an overview that does not wait for a long first count.

mod common;

use common::*;
use serde_json::Value;
use skillcore_events_store::Scope;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

fn ids(page: &Value) -> Vec<i64> {
    page["letters"]
        .as_array()
        .unwrap_or_else(|| panic!("no letters: {page}"))
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect()
}

/// Follows `next` from `first` to the end: every page's letter ids.
async fn pages(app: &axum::Router, first: &str) -> Vec<Vec<i64>> {
    let mut out = Vec::new();
    let mut path = first.to_string();
    loop {
        let r = get(app, &path, &READ).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        let page = r.json();
        out.push(ids(&page));
        match page["next"].as_str() {
            Some(next) => path = format!("{first}&cursor={}", urlencoding(next)),
            None => return out,
        }
        assert!(out.len() < 20, "no end of pages: {out:?}");
    }
}

fn urlencoding(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_come_a_page_at_a_time_newest_first() {
    for (backend, store, _temp) in stores().await {
        eprintln!("backend {backend}");
        let events: Vec<_> = (0..30)
            .map(|i| grade("dst-a", &format!("res-{i}"), "stu-1", "SECRET-COMMENT"))
            .collect();
        append(&store, &events).await;
        // 15 of one error, then 10 of another (the newest).
        assert_eq!(
            kill(&store, "analytics.gpa", 15, "student {i} not found").await,
            15
        );
        assert_eq!(
            kill(&store, "analytics.gpa", 10, "timeout after {i} ms").await,
            10
        );
        let app = app(&store, Headers);
        let all = store
            .dead_letters(&Scope::AllDistricts, None, 1000)
            .await
            .unwrap();
        assert_eq!(all.len(), 25);
        // Newest first: by the time they died, then by id.
        let mut newest_first: Vec<_> = all.iter().map(|d| (d.failed_at, d.delivery_id)).collect();
        newest_first.sort_by(|a, b| b.cmp(a));
        let newest_first: Vec<i64> = newest_first.into_iter().map(|p| p.1).collect();

        // Pages of 10: 10, 10, 5, newest first, none repeated.
        let got = pages(&app, "/admin/events/api/dead-letters/letters?limit=10").await;
        assert_eq!(
            got.iter().map(Vec::len).collect::<Vec<_>>(),
            [10, 10, 5],
            "{backend}: {got:?}"
        );
        assert_eq!(got.concat(), newest_first, "{backend}");

        // The groups alone: counts, no letter.
        let g = get(&app, "/admin/events/api/dead-letters/groups", &READ)
            .await
            .json();
        assert_eq!(g["total"], 25, "{g}");
        assert!(g.get("letters").is_none(), "{g}");
        let groups = g["groups"].as_array().unwrap();
        let student = groups
            .iter()
            .find(|g| g["error"] == "student <n> not found")
            .unwrap_or_else(|| panic!("{g}"));
        assert_eq!(student["count"], 15);
        let key = student["key"].as_str().unwrap();

        // A group's pages are full pages of that group, though its letters
        // are older than the other group's.
        let got = pages(
            &app,
            &format!("/admin/events/api/dead-letters/letters?group={key}&limit=10"),
        )
        .await;
        assert_eq!(
            got.iter().map(Vec::len).collect::<Vec<_>>(),
            [10, 5],
            "{backend}: {got:?}"
        );
        let r = get(
            &app,
            &format!("/admin/events/api/dead-letters/letters?group={key}&limit=100"),
            &READ,
        )
        .await
        .json();
        assert!(
            r["letters"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["maskedError"] == "student <n> not found"),
            "{r}"
        );
        let in_group: BTreeSet<i64> = got.concat().into_iter().collect();
        assert_eq!(in_group.len(), 15);

        // The dead letters page's API: the groups and the first page (20 by
        // default), with the cursor of the rest.
        let r = get(&app, "/admin/events/api/dead-letters", &READ)
            .await
            .json();
        assert_eq!(r["total"], 25);
        assert_eq!(ids(&r), newest_first[..20], "{backend}");
        assert!(r["next"].is_string(), "{r}");
        // A limit above 100 gets 100; a cursor that is not one is refused.
        let r = get(
            &app,
            "/admin/events/api/dead-letters/letters?limit=5000",
            &READ,
        )
        .await;
        assert_eq!(ids(&r.json()).len(), 25);
        let r = get(
            &app,
            "/admin/events/api/dead-letters/letters?cursor=nope",
            &READ,
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert!(r.text.contains("cursor"), "{}", r.text);

        // The groups are shared for a moment, but an action of the
        // dashboard shows at once.
        let newest = newest_first[0];
        let r = post_json(
            &app,
            "/admin/events/api/dead-letters/retry",
            serde_json::json!({ "ids": [newest] }),
            &[
                ("x-level", "act"),
                ("x-csrf-token", CSRF),
                ("cookie", CSRF_COOKIE),
            ],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let g = get(&app, "/admin/events/api/dead-letters/groups", &READ)
            .await
            .json();
        assert_eq!(g["total"], 24, "{backend}: {g}");
        let r = get(&app, "/admin/events/api/dead-letters", &READ)
            .await
            .json();
        assert_eq!(r["total"], 24, "{backend}: {r}");
        assert_eq!(ids(&r)[0], newest_first[1], "{backend}");

        // The page lists 50 at most and links to the older ones.
        let page = get(&app, "/admin/events/dead-letters", &READ).await;
        assert_eq!(page.status, 200);
        assert!(!page.text.contains("older letters"), "25 fit on one page");
    }
}

// One thread: the store's counting task cannot run (and finish a count of
// this small store) between the request's start and its zero wait.
#[tokio::test(flavor = "current_thread")]
async fn the_overview_answers_counting_while_the_first_count_runs() {
    for (backend, store, _temp) in stores().await {
        eprintln!("backend {backend}");
        let events: Vec<_> = (0..3)
            .map(|i| grade("dst-a", &format!("res-{i}"), "stu-1", "c"))
            .collect();
        append(&store, &events).await;
        // No wait at all: the first request cannot have the first count.
        let app = axum::Router::new().nest(
            "/admin/events",
            skillcore_events_dashboard::router(
                store.clone(),
                config_with(Headers).first_count_wait(Duration::ZERO),
            ),
        );
        let r = get(&app, "/admin/events/api/overview", &READ).await;
        assert_eq!(r.status, 202, "{backend}: {}", r.text);
        assert_eq!(r.json(), serde_json::json!([]));
        assert_eq!(r.headers["retry-after"], "1");
        // The count goes on without anyone waiting; a later request has it.
        let deadline = Instant::now() + Duration::from_secs(20);
        let rows = loop {
            let r = get(&app, "/admin/events/api/overview", &READ).await;
            if r.status == 200 {
                break r.json();
            }
            assert_eq!(r.status, 202, "{}", r.text);
            assert!(Instant::now() < deadline, "{backend}: never counted");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let stats = store.stats(&Scope::AllDistricts).await.unwrap();
        assert_eq!(rows.as_array().unwrap().len(), stats.len(), "{rows}");
        for s in &stats {
            let row = rows
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["handler"] == s.handler_id.as_str())
                .unwrap();
            assert_eq!(row["waiting"], s.waiting, "{backend}");
            assert!(row["asOf"].is_string());
        }
        // A district asked for the first time is a first count too; the
        // page says it is counting.
        let a = [("x-level", "read"), ("x-district", "dst-a")];
        let page = get(&app, "/admin/events", &a).await;
        assert_eq!(page.status, 200);
        assert!(
            page.text.contains("Counting the queue for the first time"),
            "{backend}: {}",
            page.text
        );
    }
}
