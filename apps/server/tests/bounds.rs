//! The server's bounds at the edge (issue 14.2), over real TCP connections: slow-header and idle
//! clients are cut off, requests beyond the concurrency limit get a fast 503, the webhook route
//! token and announced size are checked before a body byte is read, unauthenticated routes are
//! limited per source address, and `/metrics` can require a token or live on its own listener.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use hoheit_server::harness::{Harness, HarnessOptions};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

async fn harness(env: &[(&str, &str)]) -> (Harness, tempfile::TempDir) {
    let mut options = HarnessOptions::new(PathBuf::new());
    options.workers = false;
    options.env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    common::start(options).await
}

async fn connect(h: &Harness) -> TcpStream {
    TcpStream::connect(h.base.trim_start_matches("http://")).await.unwrap()
}

/// Reads until the end of the response head, EOF, or `within`; returns what was read and whether
/// the connection was closed.
async fn read_head(stream: &mut TcpStream, within: Duration) -> (String, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(Ok(n)) => {
                got.extend_from_slice(&buf[..n]);
                if got.windows(4).any(|w| w == b"\r\n\r\n") {
                    return (String::from_utf8_lossy(&got).into_owned(), false);
                }
            }
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
        }
    }
}

#[tokio::test]
async fn slow_header_and_idle_clients_are_cut_off_within_the_header_timeout() {
    let (h, _dir) = harness(&[("HOHEIT_HTTP__HEADER_TIMEOUT_SECONDS", "1")]).await;
    // a client that trickles header lines, never finishing the head
    let stream = connect(&h).await;
    let (mut reader, mut writer) = stream.into_split();
    let started = Instant::now();
    let trickle = tokio::spawn(async move {
        let _ = writer.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await;
        for i in 0..50 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if writer.write_all(format!("X-Slow-{i}: y\r\n").as_bytes()).await.is_err() {
                break;
            }
        }
    });
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    let elapsed = started.elapsed();
    trickle.abort();
    assert!(closed.is_ok(), "a slow-header client must be cut off");
    assert!(elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(3), "{elapsed:?}");

    // an idle kept-alive connection is closed after the same time
    let mut stream = connect(&h).await;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let (head, closed) = read_head(&mut stream, Duration::from_secs(2)).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(!closed);
    let idle = Instant::now();
    let (_, closed) = read_head(&mut stream, Duration::from_secs(5)).await;
    assert!(closed && idle.elapsed() < Duration::from_secs(3), "idle connection closed after {:?}", idle.elapsed());
    h.stop().await;
}

#[tokio::test]
async fn a_request_beyond_the_concurrency_limit_gets_503_at_once() {
    let (h, _dir) = harness(&[("HOHEIT_HTTP__MAX_CONCURRENT_REQUESTS", "1")]).await;
    let token = h.token(None, hoheit_domain::tenant::Role::Operator).await.unwrap();
    // one request in flight: its handler waits for a body that never completes
    let mut held = connect(&h).await;
    held.write_all(
        format!(
            "POST /api/v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{{\"name\""
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let anonymous = hoheit_server::harness::Client::anonymous(&h.base);
    let started = Instant::now();
    let r = anonymous.get("/healthz").await;
    assert_eq!(r.status, 503, "{:?}", r.json);
    assert_eq!(r.code(), Some("overloaded"));
    assert!(started.elapsed() < Duration::from_millis(500), "{:?}", started.elapsed());
    drop(held);
    assert!(
        hoheit_server::harness::eventually(Duration::from_secs(5), || async {
            anonymous.get("/healthz").await.status == 200
        })
        .await
    );
    let metrics = anonymous.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    h.stop().await;
}

#[tokio::test]
async fn webhooks_with_a_wrong_route_or_an_oversized_body_are_refused_unread() {
    let (h, _dir) = harness(&[]).await;
    for (path, length, expected) in [
        ("/webhooks/360dialog/unknown-route-token", 4 * 1024 * 1024, "HTTP/1.1 401"),
        ("/webhooks/360dialog/not%20a%20token", 4 * 1024 * 1024, "HTTP/1.1 401"),
        ("/webhooks/360dialog/unknown-route-token", 5 * 1024 * 1024, "HTTP/1.1 413"),
    ] {
        let mut stream = connect(&h).await;
        // headers announcing megabytes, then only a few bytes: the answer comes anyway
        stream
            .write_all(
                format!(
                    "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                     Content-Length: {length}\r\n\r\n{{\"obj"
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        let started = Instant::now();
        let (head, _) = read_head(&mut stream, Duration::from_secs(3)).await;
        assert!(head.starts_with(expected), "{path} {length}: {head:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    h.stop().await;
}

#[tokio::test]
async fn unauthenticated_routes_are_limited_per_source_address() {
    let (h, _dir) =
        harness(&[("HOHEIT_HTTP__SOURCE_REQUESTS_PER_SECOND", "1"), ("HOHEIT_HTTP__SOURCE_BURST", "4")]).await;
    let anonymous = hoheit_server::harness::Client::anonymous(&h.base);
    for _ in 0..2 {
        assert_eq!(anonymous.get("/healthz").await.status, 200);
    }
    // rejected webhooks take from the same bucket
    for _ in 0..2 {
        let r = anonymous.post("/webhooks/360dialog/unknown", serde_json::json!({})).await;
        assert_eq!(r.status, 401, "{:?}", r.json);
    }
    let r = anonymous.post("/webhooks/360dialog/unknown", serde_json::json!({})).await;
    assert_eq!((r.status, r.code()), (429, Some("rate_limited")), "{:?}", r.json);
    let r = anonymous.get("/readyz").await;
    assert_eq!((r.status, r.code()), (429, Some("rate_limited")));
    // the API (per-token limits) is not affected
    let token = h.token(None, hoheit_domain::tenant::Role::Operator).await.unwrap();
    assert_eq!(h.client(&token).get("/api/v1/tenants").await.status, 200);
    h.stop().await;
}

#[tokio::test]
async fn metrics_can_require_a_token_or_live_on_their_own_listener() {
    let (h, _dir) = harness(&[("HOHEIT_METRICS__TOKEN", "metrics-secret-1")]).await;
    let r = hoheit_server::harness::Client::anonymous(&h.base).get("/metrics").await;
    assert_eq!((r.status, r.code()), (401, Some("unauthorized")));
    let r = h.client("wrong").get("/metrics").await;
    assert_eq!(r.status, 401);
    let r = h.client("metrics-secret-1").get("/metrics").await;
    assert_eq!(r.status, 200);
    h.stop().await;

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let (h, _dir) = harness(&[("HOHEIT_METRICS__LISTEN", listen.as_str())]).await;
    let main = hoheit_server::harness::Client::anonymous(&h.base);
    assert_eq!(main.get("/metrics").await.status, 404, "not on the main listener");
    let own = hoheit_server::harness::Client::anonymous(&format!("http://{listen}"));
    let r = reqwest::get(format!("http://{listen}/metrics")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("hoheit_outbox_depth"));
    assert_eq!(own.get("/healthz").await.status, 404, "only /metrics there");
    h.stop().await;
}
