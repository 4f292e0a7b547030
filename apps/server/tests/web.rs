//! The browser UI (crates/web) is mounted in the server: pages under `/` with their security
//! headers, while the JSON API, the operations routes and their answers stay as they were.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_is_served_next_to_the_api() {
    let (h, _dir) = common::sqlite().await;
    let http = reqwest::Client::new();

    let page = http.get(format!("{}/", h.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(headers["content-security-policy"].to_str().unwrap().starts_with("default-src 'self'; script-src 'self'"));
    assert_eq!(headers["cache-control"], "no-store");
    assert!(headers.contains_key("x-request-id"), "the server's layers wrap the UI too");
    let body = page.text().await.unwrap();
    assert!(body.contains("<html lang=\"de\">"), "{body}");

    // an unknown page is the UI's 404 page; an unknown API route stays JSON
    let missing = http.get(format!("{}/nowhere", h.base)).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let api = http.get(format!("{}/api/v1/nowhere", h.base)).send().await.unwrap();
    assert_eq!(api.status(), 404);
    assert!(!api.headers().contains_key("content-security-policy"), "the API keeps its own headers");
    let json: serde_json::Value = api.json().await.unwrap();
    assert_eq!(json["error"]["code"], "not_found");

    // operations routes are unchanged
    let health = http.get(format!("{}/healthz", h.base)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");
    h.stop().await;
}
