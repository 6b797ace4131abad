//! Every store value is escaped in the pages; pii is redacted without the
//! grant (API and pages); the security headers are on every response.

mod common;

use common::*;
use skillcore_events_store::Store;

const XSS: &str = "<script>alert(1)</script>\"quote' </textarea><img src=x onerror=alert(2)>";

async fn fill(store: &Store) -> String {
    let mut e = grade("dst-a", "res-x", XSS, "SECRET-COMMENT");
    e.aggregate_id = XSS.into();
    let id = e.id.to_string();
    append(store, &[e]).await;
    kill(store, "analytics.gpa", 1, &format!("handler failed: {XSS}")).await;
    id
}

fn no_raw_markup(page: &str, what: &str) {
    assert!(
        !page.contains("<script>alert"),
        "{what}: raw <script> from the store"
    );
    assert!(!page.contains("</textarea><img"), "{what}: raw </textarea>");
    assert!(!page.contains("<img src=x"), "{what}: raw <img>");
    assert!(
        !page.contains("\"quote'"),
        "{what}: a raw double quote from the store"
    );
    assert!(page.contains("&quot;quote'"), "{what}: the quote, escaped");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{what}: the value is shown, escaped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_values_are_escaped_and_pii_redacted() {
    for (backend, store, _temp) in stores().await {
        eprintln!("backend {backend}");
        let id = fill(&store).await;
        let app = app(&store, Headers);

        let r = get(&app, &format!("/admin/events/events/{id}"), &READ).await;
        assert_eq!(r.status, 200, "{}", r.text);
        no_raw_markup(&r.text, "event page");
        let r = get(&app, "/admin/events/dead-letters", &READ).await;
        no_raw_markup(&r.text, "dead letters page");
        let r = get(&app, "/admin/events/events?type=school.grade.posted", &READ).await;
        no_raw_markup(&r.text, "events page");

        // pii: redacted in the API and the pages without the grant.
        for path in [
            format!("/admin/events/api/events/{id}"),
            "/admin/events/api/events?type=school.grade.posted".into(),
            "/admin/events/api/dead-letters".into(),
            format!("/admin/events/events/{id}"),
            "/admin/events/dead-letters".into(),
            "/admin/events/api/catalog/school.grade.posted".to_string(),
        ] {
            let r = get(&app, &path, &READ).await;
            assert_eq!(r.status, 200, "{path}: {}", r.text);
            assert!(!r.text.contains("SECRET-COMMENT"), "{path} shows pii");
            assert!(r.text.contains("[redacted]"), "{path} marks the pii field");
        }
        // Searching by a pii field would reveal its value: only with the grant.
        let by_pii =
            "/admin/events/api/events?type=school.grade.posted&field=comment&value=SECRET-COMMENT";
        let r = get(&app, by_pii, &READ).await;
        assert_eq!(r.status, 400, "{}", r.text);
        assert!(r.text.contains("pii grant"));
        let pii = [("x-level", "read"), ("x-pii", "1")];
        assert_eq!(
            get(&app, by_pii, &pii).await.json()["events"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let r = get(&app, &format!("/admin/events/api/events/{id}"), &pii).await;
        assert_eq!(r.json()["event"]["payload"]["comment"], "SECRET-COMMENT");

        // The headers.
        for path in [
            "/admin/events",
            "/admin/events/api/overview",
            "/admin/events/login",
        ] {
            let r = get(&app, path, &READ).await;
            let h = |n: &str| {
                r.headers
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string()
            };
            let csp = h("content-security-policy");
            assert!(
                csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
                "{path}: {csp}"
            );
            assert_eq!(h("x-content-type-options"), "nosniff", "{path}");
            assert_eq!(h("referrer-policy"), "no-referrer", "{path}");
            assert_eq!(h("cache-control"), "no-store", "{path}");
        }
        // No inline script in any page.
        let page = get(&app, "/admin/events", &READ).await.text;
        assert!(
            page.contains("/admin/events/assets/app.js"),
            "links under the prefix"
        );
        assert_eq!(
            page.matches("<script").count(),
            1,
            "only the external script"
        );
    }
}
