//! The server's bounds at the edge (issue 14 items 2 and 6): the HTTP/1 accept loop with a
//! header-read (and idle) timeout, a global concurrency limit that sheds load with a fast 503, a
//! request timeout, per-source-address token buckets for the unauthenticated routes (bounded
//! memory), the `/readyz` probe cache, the `/metrics` gauge cache and access check, and the
//! circuit breaker of the webhook ingest path (fast 503 while the database is unreachable, one
//! request re-probing after a pause, closed again by the first success).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use secrecy::{ExposeSecret, SecretString};
use sha2::Digest as _;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use crate::config::Config;
use crate::error::ApiError;
use crate::state::AppState;

/// Process-local edge state, shared by the middlewares and handlers.
#[derive(Debug)]
pub struct Edge {
    inflight: Arc<Semaphore>,
    request_timeout: Duration,
    /// Per-source buckets of the unauthenticated routes.
    pub sources: SourceLimiter,
    /// The webhook ingest circuit breaker.
    pub breaker: Breaker,
    ready: Cached<bool>,
    gauges: Cached<Vec<(&'static str, &'static str, u64)>>,
    metrics_token: Option<[u8; 32]>,
}

impl Edge {
    /// From the configuration (`metrics_token` already read from its value or file).
    pub fn new(config: &Config, metrics_token: Option<&SecretString>) -> Self {
        Self {
            inflight: Arc::new(Semaphore::new(config.http.max_concurrent_requests)),
            request_timeout: Duration::from_secs(config.http.request_timeout_seconds),
            sources: SourceLimiter::new(
                config.http.source_requests_per_second,
                config.http.source_burst,
                config.http.source_table_size,
            ),
            breaker: Breaker::new(
                config.ingest.breaker_failures,
                Duration::from_millis(config.ingest.breaker_open_millis),
            ),
            ready: Cached::new(Duration::from_secs(config.http.readyz_interval_seconds)),
            gauges: Cached::new(Duration::from_secs(config.metrics.cache_seconds)),
            metrics_token: metrics_token.map(|t| digest(t.expose_secret())),
        }
    }

    /// Whether the database accepted the probe write: probed at most once per interval (the
    /// last result in between); a fresh probe also closes (success) or opens (failure) the
    /// breaker, so a server without webhook traffic recovers through its readiness checks.
    pub async fn ready(&self, probe: impl Future<Output = bool>) -> bool {
        let (ok, fresh) = self.ready.get_or(probe).await;
        if fresh {
            if ok { self.breaker.success() } else { self.breaker.trip() }
        }
        ok && !self.breaker.is_open()
    }

    /// The scrape-time gauges, read at most once per `metrics.cache_seconds`.
    pub async fn gauges(
        &self,
        read: impl Future<Output = Vec<(&'static str, &'static str, u64)>>,
    ) -> Vec<(&'static str, &'static str, u64)> {
        self.gauges.get_or(read).await.0
    }

    /// Whether `authorization` carries the configured metrics token (true when none is set).
    fn metrics_allowed(&self, authorization: Option<&str>) -> bool {
        let Some(expected) = &self.metrics_token else { return true };
        let Some(given) = authorization.and_then(|a| a.strip_prefix("Bearer ")) else { return false };
        // compared as digests: equal length, no early exit on the secret's bytes
        let given = digest(given.trim());
        given.iter().zip(expected.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

fn digest(text: &str) -> [u8; 32] {
    sha2::Sha256::digest(text.as_bytes()).into()
}

/// A value computed at most once per `ttl`; concurrent callers wait for the one computation.
#[derive(Debug)]
struct Cached<T> {
    ttl: Duration,
    slot: tokio::sync::Mutex<Option<(Instant, T)>>,
}

impl<T: Clone> Cached<T> {
    fn new(ttl: Duration) -> Self {
        Self { ttl, slot: tokio::sync::Mutex::new(None) }
    }

    /// The cached value, or `compute`'s (then `true`: fresh).
    async fn get_or(&self, compute: impl Future<Output = T>) -> (T, bool) {
        let mut slot = self.slot.lock().await;
        if let Some((at, value)) = slot.as_ref()
            && at.elapsed() < self.ttl
        {
            return (value.clone(), false);
        }
        let value = compute.await;
        *slot = Some((Instant::now(), value.clone()));
        (value, true)
    }
}

/// Token buckets per source address (IPv4 address, IPv6 /64), at most `capacity` of them: when
/// the table is full, buckets that have refilled are dropped; if it is still full, new sources
/// share one overflow bucket. Memory stays bounded whatever addresses arrive.
#[derive(Debug)]
pub struct SourceLimiter {
    rate: f64,
    burst: f64,
    capacity: usize,
    table: Mutex<SourceTable>,
}

#[derive(Debug, Default)]
struct SourceTable {
    buckets: HashMap<IpAddr, (f64, Instant)>,
    overflow: Option<(f64, Instant)>,
}

impl SourceLimiter {
    /// `rate` per second (0: no limit), `burst`, at most `capacity` tracked sources.
    pub fn new(rate: u32, burst: u32, capacity: usize) -> Self {
        Self {
            rate: f64::from(rate),
            burst: f64::from(burst.max(1)),
            capacity: capacity.max(1),
            table: Mutex::new(SourceTable::default()),
        }
    }

    fn key(source: IpAddr) -> IpAddr {
        match source {
            IpAddr::V4(_) => source,
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let mut segments = v6.segments();
                    for s in segments.iter_mut().skip(4) {
                        *s = 0;
                    }
                    IpAddr::V6(segments.into())
                }
            },
        }
    }

    /// Takes one token for `source` when `take` (else only checks that one is left); false when
    /// the source is over its limit.
    pub fn allow(&self, source: Option<IpAddr>, take: bool) -> bool {
        if self.rate <= 0.0 {
            return true;
        }
        let now = Instant::now();
        let Ok(mut table) = self.table.lock() else { return false };
        let (rate, burst, capacity) = (self.rate, self.burst, self.capacity);
        let refill =
            |(tokens, at): (f64, Instant)| (burst.min(tokens + now.duration_since(at).as_secs_f64() * rate), now);
        let table = &mut *table;
        let bucket = match source.map(Self::key) {
            Some(key) => {
                if !table.buckets.contains_key(&key) && table.buckets.len() >= capacity {
                    table.buckets.retain(|_, b| refill(*b).0 < burst);
                }
                if table.buckets.contains_key(&key) || table.buckets.len() < capacity {
                    table.buckets.entry(key).or_insert((burst, now))
                } else {
                    table.overflow.get_or_insert((burst, now))
                }
            }
            None => table.overflow.get_or_insert((burst, now)),
        };
        *bucket = refill(*bucket);
        if bucket.0 < 1.0 {
            return false;
        }
        if take {
            bucket.0 -= 1.0;
        }
        true
    }

    /// Sources tracked (tests, bounded memory).
    pub fn tracked(&self) -> usize {
        self.table.lock().map_or(0, |t| t.buckets.len())
    }
}

/// The ingest circuit breaker: `threshold` consecutive failures open it for `open_for`; then
/// one caller probes (and the breaker stays open for the others for another `open_for`); a
/// success closes it, a failure while open extends it. A probe abandoned without an outcome
/// (say, a webhook that failed authentication) just lets the next window probe again.
#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    open_for: Duration,
    failures: AtomicU32,
    open_until: Mutex<Option<Instant>>,
}

/// What the breaker allows a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Closed: go ahead.
    Pass,
    /// Open, and it is time to try again: this caller probes.
    Probe,
    /// Open: answer 503 at once.
    Refuse,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        Self { threshold: threshold.max(1), open_for, failures: AtomicU32::new(0), open_until: Mutex::new(None) }
    }

    /// Whether it is open (calls are refused or probing).
    pub fn is_open(&self) -> bool {
        self.open_until.lock().map_or(true, |o| o.is_some())
    }

    /// May a caller use the storage now?
    pub fn admit(&self) -> Admission {
        let Ok(mut open) = self.open_until.lock() else { return Admission::Refuse };
        match *open {
            None => Admission::Pass,
            Some(until) if Instant::now() >= until => {
                *open = Some(Instant::now() + self.open_for);
                Admission::Probe
            }
            Some(_) => Admission::Refuse,
        }
    }

    /// The storage answered: closes the breaker.
    pub fn success(&self) {
        self.failures.store(0, Ordering::Release);
        if let Ok(mut open) = self.open_until.lock()
            && open.take().is_some()
        {
            tracing::info!("storage reachable again: webhook circuit closed");
        }
    }

    /// The storage failed or timed out: counts towards opening; while open, extends it.
    pub fn failure(&self) {
        let failures = self.failures.fetch_add(1, Ordering::AcqRel).saturating_add(1);
        if failures >= self.threshold || self.is_open() {
            self.trip();
        }
    }

    /// Opens it now (a failed readiness probe, a failed re-probe).
    pub fn trip(&self) {
        if let Ok(mut open) = self.open_until.lock() {
            if open.is_none() {
                tracing::warn!("storage unreachable: webhook circuit open, answering 503 at once");
            }
            *open = Some(Instant::now() + self.open_for);
        }
    }
}

/// The source address of a request (from the accept loop; absent in in-process tests).
pub fn source(req: &Request) -> Option<IpAddr> {
    req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

/// Global concurrency limit (fast 503 `overloaded` above it, never queued) and request timeout
/// (503 `timeout`).
pub async fn bound_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Ok(_permit) = state.edge.inflight.clone().try_acquire_owned() else {
        return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", "the server is busy; retry later")
            .into_response();
    };
    match tokio::time::timeout(state.edge.request_timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "timeout", "the request took too long").into_response()
        }
    }
}

fn rate_limited() -> Response {
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests from this address").into_response()
}

/// Per-source limit of the unauthenticated operations routes (429 `rate_limited`).
pub async fn limit_source(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !state.edge.sources.allow(source(&req), true) {
        return rate_limited();
    }
    next.run(req).await
}

/// A webhook source that is over its limit of rejected deliveries (checked, not taken: only
/// rejections take tokens, so 360Dialog's authentic deliveries are never limited).
pub fn webhook_source_blocked(state: &AppState, source: Option<IpAddr>) -> Option<Response> {
    (!state.edge.sources.allow(source, false)).then(rate_limited)
}

/// `/metrics` access: the bearer token when one is configured (401 otherwise).
pub async fn metrics_access(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if !state.edge.metrics_allowed(authorization) {
        return ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "a valid metrics token is required")
            .into_response();
    }
    next.run(req).await
}

/// Serves `app` on `listener` over HTTP/1.1 until `stop` fires, then lets in-flight requests
/// finish. Each connection must send complete headers within `header_timeout` (the same timer
/// closes a kept-alive connection that stays idle that long); requests carry their source
/// address as `ConnectInfo<SocketAddr>`.
pub async fn serve(listener: TcpListener, app: Router, header_timeout: Duration, mut stop: watch::Receiver<bool>) {
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(header_timeout).keep_alive(true);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|s| *s) => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // out of file descriptors and the like: back off instead of spinning
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move {
                use tower::ServiceExt as _;
                app.oneshot(req.map(axum::body::Body::new)).await
            }
        });
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // a header timeout or a client that went away ends the connection; nothing to do
            let _ = conn.await;
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(30), graceful.shutdown()).await.is_err() {
        tracing::warn!("in-flight requests did not finish within 30 s of the shutdown");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_buckets_limit_and_stay_bounded() {
        let limiter = SourceLimiter::new(1, 3, 100);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(limiter.allow(Some(a), true));
        assert!(limiter.allow(Some(a), true));
        assert!(limiter.allow(Some(a), true));
        assert!(!limiter.allow(Some(a), true), "burst used up");
        assert!(!limiter.allow(Some(a), false));
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(limiter.allow(Some(b), false), "another source has its own bucket");
        // checking does not take
        for _ in 0..10 {
            assert!(limiter.allow(Some(b), false));
        }
        for i in 0..10_000u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            limiter.allow(Some(ip), true);
        }
        assert!(limiter.tracked() <= 100, "{}", limiter.tracked());
        // one /64 is one source
        let v6a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let limiter = SourceLimiter::new(1, 1, 10);
        assert!(limiter.allow(Some(v6a), true));
        assert!(!limiter.allow(Some(v6b), true));
        // off
        let off = SourceLimiter::new(0, 1, 10);
        for _ in 0..100 {
            assert!(off.allow(Some(a), true));
        }
    }

    fn edge_with(env: &[(&str, &str)]) -> Edge {
        let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        Edge::new(&Config::load_with(None, env).unwrap(), None)
    }

    #[tokio::test]
    async fn readyz_probes_at_most_once_per_interval_and_fails_while_the_circuit_is_open() {
        let edge = edge_with(&[("HOHEIT_HTTP__READYZ_INTERVAL_SECONDS", "1")]);
        let probes = std::sync::atomic::AtomicUsize::new(0);
        let probe = |ok: bool| {
            let probes = &probes;
            async move {
                probes.fetch_add(1, Ordering::SeqCst);
                ok
            }
        };
        for _ in 0..20 {
            assert!(edge.ready(probe(true)).await);
        }
        assert_eq!(probes.load(Ordering::SeqCst), 1, "answered from the last result");
        // the webhook path opens the circuit: not ready at once, without a probe
        edge.breaker.trip();
        assert!(!edge.ready(probe(true)).await);
        assert_eq!(probes.load(Ordering::SeqCst), 1);
        // the next probe (after the interval) finds the database back and closes the circuit
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(edge.ready(probe(true)).await);
        assert_eq!(probes.load(Ordering::SeqCst), 2);
        assert!(!edge.breaker.is_open());
        // a failed probe opens it
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(!edge.ready(probe(false)).await);
        assert!(edge.breaker.is_open());
        assert_eq!(edge.breaker.admit(), Admission::Refuse);
    }

    #[tokio::test]
    async fn metrics_gauges_are_read_at_most_once_per_ttl() {
        let edge = edge_with(&[("HOHEIT_METRICS__CACHE_SECONDS", "60")]);
        let reads = std::sync::atomic::AtomicUsize::new(0);
        for _ in 0..10 {
            let gauges = edge
                .gauges(async {
                    reads.fetch_add(1, Ordering::SeqCst);
                    vec![("g", "help", 7)]
                })
                .await;
            assert_eq!(gauges, vec![("g", "help", 7)]);
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        let fresh = edge_with(&[("HOHEIT_METRICS__CACHE_SECONDS", "0")]);
        for _ in 0..3 {
            fresh
                .gauges(async {
                    reads.fetch_add(1, Ordering::SeqCst);
                    Vec::new()
                })
                .await;
        }
        assert_eq!(reads.load(Ordering::SeqCst), 4, "0 turns the cache off");
    }

    #[test]
    fn the_metrics_token_is_checked_when_set() {
        let open = edge_with(&[]);
        assert!(open.metrics_allowed(None));
        let config = Config::load_with(None, Vec::new()).unwrap();
        let guarded = Edge::new(&config, Some(&SecretString::from("s3cret")));
        assert!(!guarded.metrics_allowed(None));
        assert!(!guarded.metrics_allowed(Some("Bearer s3cre")));
        assert!(!guarded.metrics_allowed(Some("s3cret")));
        assert!(guarded.metrics_allowed(Some("Bearer s3cret")));
    }

    #[test]
    fn breaker_opens_after_failures_probes_once_and_closes_on_success() {
        let b = Breaker::new(3, Duration::from_millis(50));
        assert_eq!(b.admit(), Admission::Pass);
        b.failure();
        b.failure();
        assert_eq!(b.admit(), Admission::Pass, "below the threshold");
        b.success();
        b.failure();
        b.failure();
        assert_eq!(b.admit(), Admission::Pass, "a success resets the count");
        b.failure();
        assert!(b.is_open());
        assert_eq!(b.admit(), Admission::Refuse);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(b.admit(), Admission::Probe);
        assert_eq!(b.admit(), Admission::Refuse, "one probe at a time");
        b.failure();
        assert_eq!(b.admit(), Admission::Refuse, "a failed probe reopens");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(b.admit(), Admission::Probe, "an abandoned probe: the next window probes again");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(b.admit(), Admission::Probe);
        b.failure();
        assert_eq!(b.admit(), Admission::Refuse, "a failed probe reopens");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(b.admit(), Admission::Probe);
        b.success();
        assert!(!b.is_open());
        assert_eq!(b.admit(), Admission::Pass);
    }
}
