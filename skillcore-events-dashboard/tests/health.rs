//! What the catalog adds: declared handlers nobody serves, registered ones
//! the catalog does not declare, the event type's page; and the overview's
//! throughput per minute.

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_health_event_page_and_throughput() {
    for (backend, store, _temp) in stores().await {
        eprintln!("backend {backend}");
        append(
            &store,
            &[grade("dst-a", "res-1", "stu-1", "SECRET-COMMENT")],
        )
        .await;
        append(
            &store,
            &[grade("dst-a", "res-2", "stu-2", "SECRET-COMMENT")],
        )
        .await;
        assert_eq!(finish(&store, "analytics.gpa", 2).await, 2);
        assert_eq!(kill(&store, "notify.parent", 1, "boom").await, 1);
        let app = app(&store, Headers);

        // Registered: analytics.gpa, notify.parent, legacy.thing (common::config_with).
        let h = get(&app, "/admin/events/api/health", &READ).await.json();
        let unserved: Vec<&str> = h["declaredNotServed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["handler"].as_str().unwrap())
            .collect();
        assert_eq!(unserved, ["archive.notes"], "{h}");
        assert_eq!(
            h["declaredNotServed"][0]["events"][0],
            "school.note.written"
        );
        assert_eq!(
            h["registeredNotDeclared"],
            serde_json::json!(["legacy.thing"])
        );
        assert_eq!(h["declared"], 3);
        let page = get(&app, "/admin/events/health", &READ).await.text;
        assert!(page.contains("archive.notes") && page.contains("legacy.thing"));

        // The event type's page: description, payload table with the pii mark, consumers, recent events.
        let page = get(&app, "/admin/events/catalog/school.grade.posted", &READ).await;
        assert_eq!(page.status, 200);
        for part in [
            "A grade was posted",
            "studentId",
            "comment",
            ">pii<",
            "analytics.gpa",
            "notify.parent",
            "res-2",
        ] {
            assert!(page.text.contains(part), "{part} on the event page");
        }
        assert!(!page.text.contains("SECRET-COMMENT"));
        assert_eq!(
            get(&app, "/admin/events/catalog/no.such.event", &READ)
                .await
                .status,
            404
        );

        // Throughput: 60 minutes, the last one holding what just finished.
        let t = get(&app, "/admin/events/api/throughput", &READ)
            .await
            .json();
        let buckets = t.as_array().unwrap();
        assert_eq!(buckets.len(), 60);
        let completed: i64 = buckets
            .iter()
            .map(|b| b["completed"].as_i64().unwrap())
            .sum();
        let dead: i64 = buckets.iter().map(|b| b["dead"].as_i64().unwrap()).sum();
        assert_eq!((completed, dead), (2, 1), "{t}");
        // District B had none of it.
        let b = [("x-level", "read"), ("x-district", "dst-b")];
        let t = get(&app, "/admin/events/api/throughput", &b).await.json();
        assert!(t
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["completed"] == 0 && b["dead"] == 0));
    }
}
