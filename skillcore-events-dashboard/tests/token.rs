//! The standalone access: a bearer token for the API, a sign-in page that
//! gives browsers an HttpOnly SameSite=Strict session cookie, and the rule
//! that a non-loopback address needs an explicit token.

mod common;

use common::*;
use skillcore_events_dashboard::{normalize_prefix, standalone_token, TokenAuthorizer};

#[test]
fn a_non_loopback_address_needs_a_given_token() {
    let local = "127.0.0.1:8080".parse().unwrap();
    let open = "0.0.0.0:8080".parse().unwrap();
    let (t, generated) = standalone_token(&local, None).unwrap();
    assert!(generated && t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(
        standalone_token(&local, None).unwrap().0,
        t,
        "each start its own token"
    );
    let e = standalone_token(&open, None).unwrap_err().to_string();
    assert!(e.contains("--token") && e.contains("0.0.0.0:8080"), "{e}");
    assert!(
        standalone_token(&open, Some("  ".into())).is_err(),
        "a blank token is none"
    );
    assert_eq!(
        standalone_token(&open, Some("given".into())).unwrap(),
        ("given".into(), false)
    );
    assert_eq!(normalize_prefix("/admin/events").unwrap(), "/admin/events");
    assert_eq!(normalize_prefix("/").unwrap(), "");
    assert!(normalize_prefix("admin").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_and_browser_sign_in() {
    let (_, store, _temp) = stores().await.into_iter().next().unwrap();
    append(&store, &[grade("dst-a", "res-1", "stu-1", "c")]).await;
    let app = app(&store, TokenAuthorizer::new(TOKEN));
    let bearer = format!("Bearer {TOKEN}");

    assert_eq!(
        get(&app, "/admin/events/api/overview", &[]).await.status,
        401
    );
    assert_eq!(
        get(
            &app,
            "/admin/events/api/overview",
            &[("authorization", "Bearer wrong")]
        )
        .await
        .status,
        401
    );
    let r = get(
        &app,
        "/admin/events/api/overview",
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json().as_array().unwrap().len(), 2);

    // A page without a session: 401 with the sign-in form.
    let r = get(&app, "/admin/events", &[]).await;
    assert_eq!(r.status, 401);
    assert!(r.text.contains("name=\"token\""));

    // Sign in: the CSRF cookie from the sign-in page, then the token.
    let r = get(&app, "/admin/events/login", &[]).await;
    let set = r
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        set.contains("HttpOnly")
            && set.contains("SameSite=Strict")
            && set.contains("Path=/admin/events"),
        "{set}"
    );
    let csrf = set
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_string();
    let cookie = format!("skc_csrf={csrf}");
    let wrong = post_form(
        &app,
        "/admin/events/login",
        &format!("csrf={csrf}&token=nope"),
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.headers.get("set-cookie").is_none());
    let r = post_form(
        &app,
        "/admin/events/login",
        &format!("csrf={csrf}&token={TOKEN}"),
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let session = r
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        session.starts_with("skc_session=")
            && session.contains("HttpOnly")
            && session.contains("SameSite=Strict"),
        "{session}"
    );
    assert!(
        session.contains("Max-Age=43200"),
        "a session lasts 12 hours: {session}"
    );
    let sid = session.split(';').next().unwrap().to_string();
    let both = format!("{sid}; {cookie}");
    let r = get(&app, "/admin/events", &[("cookie", &both)]).await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("analytics.gpa"));
    // A made-up session is no session.
    assert_eq!(
        get(&app, "/admin/events", &[("cookie", "skc_session=abc")])
            .await
            .status,
        401
    );
    // Sign out ends it.
    let r = post_form(&app, "/admin/events/logout", "", &[("cookie", &both)]).await;
    assert_eq!(r.status, 303);
    assert_eq!(
        get(&app, "/admin/events", &[("cookie", &both)])
            .await
            .status,
        401
    );

    // Read-only token holders: 403 on actions.
    let app = common::app(&store, TokenAuthorizer::new(TOKEN).read_only(true));
    let r = post_json(
        &app,
        "/admin/events/api/dead-letters/retry",
        serde_json::json!({"all": true}),
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(r.status, 403);
}
