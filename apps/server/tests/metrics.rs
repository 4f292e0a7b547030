//! `/metrics` stays bounded whatever clients send: request labels come from a closed set (known
//! methods or `other`, matched route templates or `unmatched`), so 10,000 requests with random
//! methods and paths add at most a fixed number of series.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use axum::body::Body;
use axum::http::{Method, Request};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tower::ServiceExt as _;

const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const PATH: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-_.~%";

fn random_method(rng: &mut StdRng) -> Method {
    match rng.gen_range(0..10) {
        0 => Method::GET,
        1 => Method::POST,
        2 => Method::DELETE,
        3 => Method::OPTIONS,
        4 => Method::TRACE,
        _ => {
            let len = rng.gen_range(1..40);
            let name: Vec<u8> = (0..len).map(|_| UPPER[rng.gen_range(0..UPPER.len())]).collect();
            Method::from_bytes(&name).unwrap()
        }
    }
}

fn random_path(rng: &mut StdRng) -> String {
    let prefix =
        ["/", "/api/v1/", "/api/v1/candidates/", "/webhooks/360dialog/", "/healthz/", "/x/"][rng.gen_range(0..6)];
    let len = rng.gen_range(0..60);
    let tail: String = (0..len).map(|_| PATH[rng.gen_range(0..PATH.len())] as char).collect();
    // keep it a valid URI: `%` only as a complete escape
    format!("{prefix}{}", tail.replace('%', "%25"))
}

async fn scrape(router: &axum::Router) -> String {
    // the scraper has its own source address: the random requests (no address) share one bucket
    // of the per-source limit, and their rejected webhooks use it up
    let scraper = axum::extract::ConnectInfo(std::net::SocketAddr::from(([127, 0, 0, 9], 9999)));
    let request = Request::builder().uri("/metrics").extension(scraper).body(Body::empty()).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    String::from_utf8(body.to_vec()).unwrap()
}

fn request_series(body: &str) -> Vec<&str> {
    body.lines().filter(|l| l.starts_with("hoheit_http_requests_total{")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_stay_bounded_under_random_methods_and_paths() {
    let (h, _dir) = common::sqlite().await;
    let router = hoheit_server::router(h.state.clone());
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut methods_seen = std::collections::HashSet::new();
    let mut after_first_thousand = 0;
    for i in 0..10_000 {
        let method = random_method(&mut rng);
        methods_seen.insert(method.clone());
        let path = random_path(&mut rng);
        let request = Request::builder().method(method.clone()).uri(&path).body(Body::empty()).unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        // `GET /` is the browser UI's start page (a page or a redirect to the sign-in)
        let start_page = path == "/" && (method == Method::GET || method == Method::HEAD);
        let status = response.status();
        assert!(status.is_client_error() || start_page && !status.is_server_error(), "{i}: {method} {path}: {status}");
        if i == 999 {
            after_first_thousand = scrape(&router).await.len();
        }
    }
    assert!(methods_seen.len() > 1000, "the test sent many distinct methods");
    let body = scrape(&router).await;
    let series = request_series(&body);
    // every series is a known method (or `other`) and a route template, never a sent path
    for line in &series {
        let method = line.split("method=\"").nth(1).and_then(|r| r.split('"').next()).unwrap();
        assert!(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "other"].contains(&method), "{line}");
        let route = line.split("route=\"").nth(1).and_then(|r| r.split('"').next()).unwrap();
        assert!(route == "unmatched" || route.starts_with('/') && !route.contains('%'), "{line}");
        assert!(!route.contains("/x/") && !route.starts_with("/healthz/"), "a sent path became a label: {line}");
    }
    assert!(series.iter().any(|l| l.contains("method=\"other\"")), "{body}");
    // bounded: a handful of series, a small body that stops growing after the first thousand
    assert!(series.len() < 60, "{} series:\n{body}", series.len());
    assert!(body.len() < 16 * 1024, "{} bytes:\n{body}", body.len());
    assert!(body.len() < after_first_thousand + 2048, "grew from {after_first_thousand} to {}", body.len());
}
