//! Bulk actions from the pages: the confirmation says how many, the form
//! takes exactly those, and the audit log says who did what to how many.

mod common;

use common::*;
use skillcore_events_store::Scope;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// One thread: the subscriber set for this thread sees the router's logs.
#[tokio::test(flavor = "current_thread")]
async fn confirm_then_discard_all_matching_exactly_and_logged() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    for (backend, store, _temp) in stores().await {
        eprintln!("backend {backend}");
        let events: Vec<_> = (0..4)
            .map(|i| grade("dst-a", &format!("res-{i}"), "stu-1", "SECRET-COMMENT"))
            .collect();
        append(&store, &events).await;
        assert_eq!(
            kill(&store, "analytics.gpa", 4, "student {i} not found").await,
            4
        );
        assert_eq!(kill(&store, "notify.parent", 1, "smtp down").await, 1);
        let app = app(&store, Headers);

        let groups = get(&app, "/admin/events/api/dead-letters", &READ)
            .await
            .json();
        let key = groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["handler"] == "analytics.gpa")
            .unwrap()["key"]
            .as_str()
            .unwrap()
            .to_string();

        // The confirmation names the count; a read-only viewer gets no button.
        let act = [("x-level", "act"), ("cookie", CSRF_COOKIE)];
        let page = get(
            &app,
            &format!("/admin/events/dead-letters/confirm?action=discard&group={key}"),
            &act,
        )
        .await;
        assert_eq!(page.status, 200);
        assert!(
            page.text.contains("Discard 4 dead letters?"),
            "{}",
            page.text
        );
        assert!(page.text.contains("name=\"all\""));
        let ro = get(
            &app,
            &format!("/admin/events/dead-letters/confirm?action=discard&group={key}"),
            &READ,
        )
        .await;
        assert!(
            !ro.text.contains("name=\"all\""),
            "no action form for a read-only viewer"
        );

        // The form discards exactly those four, not the other handler's.
        let r = post_form(
            &app,
            "/admin/events/dead-letters/act",
            &format!("csrf={CSRF}&all=1&action=discard&group={key}"),
            &act,
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.text);
        let to = r.headers.get("location").unwrap().to_str().unwrap();
        assert_eq!(to, "/admin/events/dead-letters?done=4+discarded");
        let stats = store.stats(&Scope::AllDistricts).await.unwrap();
        let dead = |h: &str| stats.iter().find(|s| s.handler_id == h).unwrap().dead;
        assert_eq!((dead("analytics.gpa"), dead("notify.parent")), (0, 1));

        // A row's own button: that one letter, though others are ticked.
        let letters = get(
            &app,
            "/admin/events/api/dead-letters?handler=notify.parent",
            &READ,
        )
        .await
        .json();
        let id = letters["letters"][0]["id"].as_i64().unwrap();
        let r = post_form(
            &app,
            "/admin/events/dead-letters/act",
            &format!("csrf={CSRF}&action=retry:{id}&id=999&all=1"),
            &act,
        )
        .await;
        assert_eq!(
            r.headers.get("location").unwrap(),
            "/admin/events/dead-letters?done=1+retried"
        );
        let stats = store.stats(&Scope::AllDistricts).await.unwrap();
        assert_eq!(
            stats
                .iter()
                .find(|s| s.handler_id == "notify.parent")
                .unwrap()
                .dead,
            0
        );

        // A replay form without its CSRF field starts nothing.
        let r = post_form(&app, "/admin/events/replays", "handler=notify.parent", &act).await;
        assert_eq!(r.status, 403);
    }

    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("dead letters discarded"))
        .unwrap_or_else(|| panic!("no audit line in:\n{text}"));
    eprintln!("{line}");
    for part in [
        "who=tester",
        "action=\"discard\"",
        "matching=true",
        "changed=4",
    ] {
        assert!(line.contains(part), "{part} in {line}");
    }
    assert!(!text.contains("SECRET-COMMENT"), "no pii in the log");
}
