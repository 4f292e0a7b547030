//! # hoheit-server — the `hoheit` binary
//!
//! The only place where the domain meets its adapters: the axum HTTP API under `/api/v1`, the
//! 360Dialog webhook endpoint, the outbox dispatcher, the retention scheduler and template sync,
//! `/healthz`, `/readyz`, `/metrics` (Prometheus), `/openapi.json`, and the CLI (`serve`, `demo`,
//! `migrate`, `tenant`, `token`, `retention`, `audit`, `openapi`).

pub mod api;
pub mod auth;
pub mod config;
pub mod demo;
pub mod error;
pub mod harness;
pub mod metrics;
pub mod openapi;
pub mod state;
pub mod telemetry;
pub mod webhook;
pub mod workers;

use std::time::Duration as StdDuration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use tokio::sync::watch;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::state::AppState;

const REQUEST_ID: &str = "x-request-id";

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/tenants", post(api::admin::create_tenant).get(api::admin::list_tenants))
        .route("/tokens", post(api::admin::create_token))
        .route("/settings", get(api::admin::get_settings).put(api::admin::put_settings))
        .route("/retention-policy", get(api::admin::get_retention).put(api::admin::put_retention))
        .route("/channels", post(api::admin::create_channel).get(api::admin::list_channels))
        .route("/channels/{id}/approval", post(api::admin::approve_channel).delete(api::admin::revoke_approval))
        .route("/channels/{id}/templates/sync", post(api::admin::sync_templates))
        .route("/legal-texts", post(api::admin::publish_legal_text).get(api::admin::list_legal_texts))
        .route("/candidates", post(api::candidates::create).get(api::candidates::list))
        .route("/candidates/{id}", get(api::candidates::get))
        .route("/candidates/{id}/consent-request", post(api::candidates::consent_request))
        .route("/candidates/{id}/consents", post(api::candidates::record_consent))
        .route("/candidates/{id}/withdrawals", post(api::candidates::record_withdrawal))
        .route("/candidates/{id}/objections", post(api::candidates::record_objection))
        .route("/candidates/{id}/process-end", post(api::candidates::end_process))
        .route("/candidates/{id}/legal-holds", post(api::candidates::set_hold))
        .route("/candidates/{id}/legal-holds/{hold}", delete(api::candidates::release_hold))
        .route("/candidates/{id}/messages", get(api::candidates::messages).post(api::candidates::send))
        .route("/candidates/{id}/export", get(api::candidates::export))
        .route("/candidates/{id}/erasure", post(api::candidates::erasure))
        .route(
            "/candidates/{id}/restriction",
            post(api::candidates::restrict).delete(api::candidates::lift_restriction),
        )
        .route("/reviews", get(api::candidates::reviews))
        .route("/subject-requests", get(api::candidates::subject_requests).post(api::candidates::open_subject_request))
        .route("/retention/run", post(api::audit::run_retention))
        .route("/audit/verify", get(api::audit::verify))
        .route("/audit/checkpoint", get(api::audit::checkpoint))
        .route("/audit/public-key", get(api::audit::public_key))
        .route("/audit/entries", get(api::audit::entries))
        .merge(api::workflows::routes())
        .fallback(api_not_found)
        .layer(DefaultBodyLimit::max(state.config.limits.api_body_bytes));
    let request_id = HeaderName::from_static(REQUEST_ID);
    Router::new()
        .nest("/api/v1", api)
        .route("/webhooks/360dialog/{route}", post(webhook::receive))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi_json))
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
    // a database that hangs (PostgreSQL gone, SQLite locked) answers "not ready" within 2 s
    let check = async {
        state.store.ping().await.is_ok()
            && hoheit_persistence::migrations_current(state.store.connection()).await.unwrap_or(false)
    };
    let ok = tokio::time::timeout(std::time::Duration::from_secs(2), check).await.unwrap_or(false);
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
    let depth = state.store.outbox_depth().await.unwrap_or(0);
    let mut gauges = vec![("hoheit_outbox_depth", "Entries waiting in the outbox.", depth)];
    gauges.extend(api::workflows::gauges(&state).await);
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
    let mut rx_http = rx.clone();
    let app = router(state.clone());
    tasks.push(tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = rx_http.wait_for(|stop| *stop).await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "http server failed");
        }
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
