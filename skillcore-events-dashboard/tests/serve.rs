//! The standalone server on a real listener (127.0.0.1:0): under a prefix,
//! the root redirects to it, pages link under it, and the API needs the token.

mod common;

use common::*;
use skillcore_events_dashboard::{serve, DashboardConfig, TokenAuthorizer};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn http(addr: SocketAddr, path: &str, auth: bool) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let auth = if auth {
        format!("Authorization: Bearer {TOKEN}\r\n")
    } else {
        String::new()
    };
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_under_a_prefix_on_a_real_listener() {
    let (_, store, _temp) = stores().await.into_iter().next().unwrap();
    append(&store, &[grade("dst-a", "res-1", "stu-1", "c")]).await;
    let config = DashboardConfig::new(TokenAuthorizer::new(TOKEN)).catalog(events::EVENTS);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(async move {
        serve(
            store,
            config,
            "127.0.0.1:0".parse().unwrap(),
            "/ops/",
            |a| {
                let _ = tx.send(a);
            },
        )
        .await
    });
    let addr = rx.await.expect("the server tells its address");
    assert!(addr.port() != 0);

    let root = http(addr, "/", false).await;
    assert!(root.starts_with("HTTP/1.1 303"), "{root}");
    assert!(
        root.to_ascii_lowercase().contains("location: /ops\r\n"),
        "{root}"
    );
    let page = http(addr, "/ops", true).await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.contains("href=\"/ops/dead-letters\"") && page.contains("/ops/assets/app.css"),
        "links under the prefix"
    );
    let css = http(addr, "/ops/assets/app.css", false).await;
    assert!(
        css.starts_with("HTTP/1.1 200") && css.contains("text/css"),
        "assets need no sign-in"
    );
    assert!(http(addr, "/ops/api/overview", false)
        .await
        .starts_with("HTTP/1.1 401"));
    let api = http(addr, "/ops/api/overview", true).await;
    assert!(
        api.starts_with("HTTP/1.1 200") && api.contains("\"handler\":\"analytics.gpa\""),
        "{api}"
    );
    server.abort();
}
