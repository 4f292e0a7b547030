//! # hoheit-server — the `hoheit` binary
//!
//! The only place where the domain meets its adapters: the axum HTTP API under `/api/v1`, the
//! 360Dialog webhook endpoint, the outbox dispatcher, the retention scheduler and template sync,
//! `/healthz`, `/readyz`, `/metrics` (Prometheus), `/openapi.json`, and the CLI (`serve`, `demo`,
//! `migrate`, `tenant`, `token`, `retention`, `audit`, `openapi`), and the browser UI of
//! `hoheit-web` mounted under `/`. The HTTP server's bounds
//! (timeouts, concurrency and per-source limits, the webhook circuit breaker) are in [`edge`].

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod credentials;
pub mod demo;
pub mod desk;
pub mod devdata;
pub mod edge;
pub mod error;
pub mod failpoint;
pub mod harness;
pub mod metrics;
pub mod oidc;
pub mod openapi;
pub mod ports;
pub mod state;
pub mod telemetry;
pub mod webhook;
pub mod wiring;
pub mod workers;

use std::time::Duration as StdDuration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::watch;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

const REQUEST_ID: &str = "x-request-id";

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let api = api::routes().fallback(api_not_found).layer(DefaultBodyLimit::max(state.config.limits.api_body_bytes));
    let (app, _) = OpenApiRouter::new().nest("/api/v1", api).split_for_parts();
    let request_id = HeaderName::from_static(REQUEST_ID);
    // the unauthenticated operations routes are limited per source address
    let ops = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route_layer(middleware::from_fn_with_state(state.clone(), edge::limit_source));
    // staff sign-in through the tenant's identity provider (unauthenticated: limited per source)
    let oidc_routes = Router::new()
        .route("/auth/oidc/{tenant}/start", get(oidc::start))
        .route(oidc::CALLBACK_PATH, get(oidc::callback))
        .route_layer(middleware::from_fn_with_state(state.clone(), edge::limit_source));
    let mut app = app.route("/webhooks/360dialog/{route}", post(webhook::receive)).merge(ops).merge(oidc_routes);
    if state.config.metrics.listen.is_none() {
        app = app.merge(metrics_routes(&state));
    }
    // the browser UI (crates/web) under `/`, with its own security headers and the HTML 404 page
    app = app.merge(hoheit_web::router(wiring::web_state(&state)));
    app.route("/openapi.json", get(openapi_json))
        // innermost: the global concurrency limit (fast 503) and the request timeout
        .layer(middleware::from_fn_with_state(state.clone(), edge::bound_requests))
        .layer(middleware::from_fn_with_state(state.clone(), count_requests))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
                    let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    // the URI is not logged: it can carry a webhook route token
                    tracing::info_span!("request", method = %req.method(), route, request_id = id)
                })
                .on_request(())
                .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::DEBUG)),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// `/metrics` with its access check (bearer token when configured) and per-source limit; served
/// by [`router`], or alone on `metrics.listen` when that is set.
fn metrics_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(state.clone(), edge::metrics_access))
        .route_layer(middleware::from_fn_with_state(state.clone(), edge::limit_source))
}

/// The router of the separate metrics listener (`metrics.listen`).
pub fn metrics_router(state: AppState) -> Router {
    metrics_routes(&state).layer(middleware::from_fn_with_state(state.clone(), edge::bound_requests)).with_state(state)
}

async fn api_not_found() -> Response {
    error::ApiError::not_found("route").into_response()
}

async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // the matched route template (a closed set given by the router), never the request path
    let route =
        req.extensions().get::<MatchedPath>().map_or_else(|| metrics::UNMATCHED.to_owned(), |p| p.as_str().to_owned());
    let method = req.method().clone();
    let response = next.run(req).await;
    state.metrics.request(&method, &route, response.status().as_u16());
    response
}

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "the process is alive")))]
pub fn health_doc() {}

/// Readiness: the database accepts writes (within 2 s) and migrations are current.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, description = "ready"), (status = 503, body = error::ErrorBody)))]
pub fn ready_doc() {}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format")))]
pub fn metrics_doc() {}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    // a database that hangs (PostgreSQL gone, SQLite locked) answers "not ready" within 2 s; the
    // probe write runs at most once per `http.readyz_interval_seconds`, and an open webhook
    // circuit (storage failing) answers "not ready" at once
    let platform = state.platform.clone();
    let probe = async move { tokio::time::timeout(StdDuration::from_secs(2), platform.ready()).await.unwrap_or(false) };
    let ok = state.edge.ready(probe).await;
    if ok {
        (StatusCode::OK, "ready").into_response()
    } else {
        error::ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "database unreachable or migrations pending",
        )
        .into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    // the cross-tenant counts are read at most once per `metrics.cache_seconds`
    let read =
        async { tokio::time::timeout(StdDuration::from_secs(2), metrics::gauges(&state)).await.unwrap_or_default() };
    let gauges = state.edge.gauges(read).await;
    let body = state.metrics.render(&gauges);
    ([(axum::http::header::CONTENT_TYPE, metrics::CONTENT_TYPE)], body).into_response()
}

async fn openapi_json() -> Response {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], openapi::spec_json()).into_response()
}

/// Handles of a running server.
#[derive(Debug)]
pub struct Running {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    /// Fires the graceful shutdown.
    pub shutdown: watch::Sender<bool>,
    /// The server and worker tasks.
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops accepting requests, finishes in-flight ones, stops the workers (releasing leases).
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = tokio::time::timeout(StdDuration::from_secs(30), task).await;
        }
    }
}

/// Binds and starts the HTTP server and the workers.
pub async fn start(state: AppState, listener: tokio::net::TcpListener, workers: bool) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let (tx, rx) = watch::channel(false);
    let mut tasks = Vec::new();
    let rx_http = rx.clone();
    let app = router(state.clone());
    let header_timeout = StdDuration::from_secs(state.config.http.header_timeout_seconds);
    if let Some(metrics_addr) = state.config.metrics.listen {
        let metrics_listener = tokio::net::TcpListener::bind(metrics_addr).await?;
        tasks.push(tokio::spawn(edge::serve(
            metrics_listener,
            metrics_router(state.clone()),
            header_timeout,
            rx.clone(),
        )));
    }
    tasks.push(tokio::spawn(async move {
        edge::serve(listener, app, header_timeout, rx_http).await;
    }));
    if workers {
        tasks.push(tokio::spawn(workers::replica_heartbeat(state.clone(), rx.clone())));
        tasks.push(tokio::spawn(workers::dispatcher(state.clone(), rx.clone())));
        tasks.push(tokio::spawn(workers::retention_scheduler(state.clone(), rx.clone())));
        tasks.push(tokio::spawn(workers::media_fetcher(state.clone(), rx.clone())));
        tasks.push(tokio::spawn(workers::template_scheduler(state, rx)));
    }
    Ok(Running { addr, shutdown: tx, tasks })
}
