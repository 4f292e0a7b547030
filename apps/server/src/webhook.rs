//! `POST /webhooks/360dialog/{route}`: no bearer token; the opaque route token names the channel,
//! the secret header and/or HMAC authenticate the raw bytes BEFORE anything is parsed or written.
//! 200 only after every event is committed; 401 before any write when authenticity fails; 400 for
//! malformed bodies (stored nowhere); duplicates are acknowledged with 200, and so are events
//! older than the replay window (`webhooks.replay_window_hours`), which are not stored.

use std::time::{Duration as StdDuration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::future::join_all;
use hoheit_dialog360::webhook::{ParsedWebhook, parse_webhook};
use hoheit_domain::inbound::InboundEvent;
use hoheit_domain::ports::StoreError;
use hoheit_domain::usecases::{InboundOutcome, UseCaseError};

use crate::edge::{self, Admission};
use crate::error::ApiError;
use crate::ports::Route;
use crate::state::AppState;

/// 360Dialog delivers webhooks here (Cloud API format). No bearer token: the route token names
/// the channel; the `x-hoheit-webhook-secret` header and/or `x-360dialog-signature` (HMAC-SHA256)
/// authenticate the raw body.
#[utoipa::path(post, path = "/webhooks/360dialog/{route}", tag = "webhooks",
    params(("route" = String, Path, description = "the channel's opaque route token")),
    request_body(content = Object, description = "WhatsApp Cloud API webhook"),
    responses(
        (status = 200, description = "all events committed (duplicates included)"),
        (status = 400, body = crate::error::ErrorBody, description = "malformed body; nothing stored"),
        (status = 401, body = crate::error::ErrorBody, description = "unknown route or authenticity failure; nothing written"),
        (status = 413, body = crate::error::ErrorBody, description = "body (or its Content-Length) over the limit; not read"),
        (status = 429, body = crate::error::ErrorBody, description = "too many rejected deliveries from this source address"),
        (status = 503, body = crate::error::ErrorBody, description = "storage unavailable or too slow (answered within about 1 s); 360Dialog retries"),
    ))]
pub fn receive_doc() {}

enum EventResult {
    Done(&'static str),
    Skipped(&'static str),
    Unavailable,
}

/// The webhook endpoint. Before any body byte is read: the source's limit of rejected
/// deliveries (429), the route token's form and lookup (401), the announced size (413) and the
/// circuit breaker (503 at once while storage is failing). The storage work (route lookup,
/// commits) has `ingest.timeout_millis`; past it the answer is 503 and 360Dialog re-delivers.
pub async fn receive(State(state): State<AppState>, Path(route): Path<String>, req: Request) -> Response {
    let source = edge::source(&req);
    if let Some(refused) = edge::webhook_source_blocked(&state, source) {
        state.metrics.webhook_rejected("rate_limited");
        return refused;
    }
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    if route.len() > 128 || !route.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return unauthenticated(&state, source);
    }
    let limit = state.config.limits.webhook_body_bytes;
    let announced =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return too_large(&state);
    }
    let admission = state.edge.breaker.admit();
    if admission == Admission::Refuse {
        state.metrics.webhook_rejected("unavailable");
        return ApiError::unavailable().into_response();
    }
    let budget = StdDuration::from_millis(state.config.ingest.timeout_millis);
    let started = Instant::now();
    let route = match tokio::time::timeout(budget, state.channels.route(&route)).await {
        Ok(Ok(Some(route))) => route,
        Ok(Ok(None)) => return unauthenticated(&state, source),
        Ok(Err(e)) => {
            if matches!(e, StoreError::Unavailable(_)) {
                state.edge.breaker.failure();
            }
            return ApiError::from(e).into_response();
        }
        Err(_) => return storage_timeout(&state),
    };
    state.metrics.stage("route", started.elapsed());
    let stage = Instant::now();
    let Ok(bytes): Result<Bytes, _> = axum::body::to_bytes(body, limit).await else {
        return too_large(&state);
    };
    state.metrics.stage("body", stage.elapsed());
    let stage = Instant::now();
    if route.verifier.verify(&headers, &bytes).is_err() {
        tracing::warn!(channel = %route.channel, "webhook authenticity check failed");
        return unauthenticated(&state, source);
    }
    state.metrics.stage("verify", stage.elapsed());
    let stage = Instant::now();
    let parsed = match parse_webhook(&bytes) {
        Ok(parsed) => parsed,
        Err(e) => {
            state.metrics.webhook_rejected("malformed");
            tracing::warn!(channel = %route.channel, error = %e, "malformed webhook");
            return ApiError::invalid(format!("malformed webhook: {e}")).into_response();
        }
    };
    state.metrics.stage("parse", stage.elapsed());
    let stage = Instant::now();
    let budget = budget.saturating_sub(started.elapsed()).max(StdDuration::from_millis(100));
    match tokio::time::timeout(budget, store(&state, &route, parsed)).await {
        Ok(Stored::Committed) => {
            state.metrics.stage("store", stage.elapsed());
            state.edge.breaker.success();
            state.metrics.webhook_batch();
            // the workers are woken by the store when a commit gave them work (an outbox entry
            // queued, a file announced), not by every webhook (issue 19)
            (StatusCode::OK, axum::Json(serde_json::json!({ "status": "ok" }))).into_response()
        }
        Ok(Stored::Unavailable) => {
            state.edge.breaker.failure();
            state.metrics.webhook_rejected("unavailable");
            ApiError::unavailable().into_response()
        }
        Ok(Stored::Refused(response)) => response,
        // dropping the work rolls back what was not committed; what was is deduplicated when
        // 360Dialog re-delivers
        Err(_) => storage_timeout(&state),
    }
}

fn unauthenticated(state: &AppState, source: Option<std::net::IpAddr>) -> Response {
    state.metrics.webhook_rejected("unauthenticated");
    // a rejection takes one of the source's tokens
    state.edge.sources.allow(source, true);
    ApiError::unauthorized().into_response()
}

fn too_large(state: &AppState) -> Response {
    state.metrics.webhook_rejected("too_large");
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the webhook body is too large").into_response()
}

fn storage_timeout(state: &AppState) -> Response {
    state.edge.breaker.failure();
    state.metrics.webhook_rejected("unavailable");
    tracing::warn!("webhook storage did not answer in time");
    ApiError::unavailable().into_response()
}

enum Stored {
    Committed,
    Unavailable,
    Refused(Response),
}

/// Applies every event of an authentic webhook (200 only when all are committed).
async fn store(state: &AppState, route: &Route, parsed: ParsedWebhook) -> Stored {
    let phone_number_id = match state.app.tenant_config(route.tenant).await {
        Ok(config) => config.channel(route.channel).map(|c| c.phone_number_id.clone()),
        Err(e) if unavailable(&e) => return Stored::Unavailable,
        Err(e) => return Stored::Refused(ApiError::from(e).into_response()),
    };
    // Events of one sender are applied in the order of the payload (STOPP then START means
    // opted in); different senders and statuses are applied concurrently and share commits.
    let mut groups: Vec<(Option<String>, Vec<hoheit_dialog360::webhook::RoutedEvent>)> = Vec::new();
    for routed in parsed.events {
        let sender = match &routed.event {
            InboundEvent::Message(m) => m
                .from
                .wa_id
                .as_ref()
                .map(|w| w.as_str().to_owned())
                .or_else(|| m.from.user_id.as_ref().map(|u| u.as_str().to_owned())),
            InboundEvent::Status(_) | InboundEvent::Error(_) => None,
        };
        match groups.iter_mut().find(|(s, _)| sender.is_some() && *s == sender) {
            Some((_, events)) => events.push(routed),
            None => groups.push((sender, vec![routed])),
        }
    }
    let tasks = groups.into_iter().map(|(_, events)| {
        let state = state.clone();
        let expected = phone_number_id.clone();
        let (tenant, channel) = (route.tenant, route.channel);
        async move {
            let mut results = Vec::with_capacity(events.len());
            for routed in events {
                if let (Some(got), Some(expected)) = (&routed.phone_number_id, &expected)
                    && got != expected
                {
                    results.push(EventResult::Skipped("foreign_number"));
                    continue;
                }
                results.push(process(&state, tenant, channel, routed.event).await);
            }
            results
        }
    });
    let results = join_all(tasks).await;
    let mut unavailable = false;
    for r in results.into_iter().flatten() {
        match r {
            EventResult::Done(kind) => state.metrics.webhook_event(kind),
            EventResult::Skipped(kind) => state.metrics.webhook_event(kind),
            EventResult::Unavailable => unavailable = true,
        }
    }
    if unavailable { Stored::Unavailable } else { Stored::Committed }
}

fn unavailable(e: &UseCaseError) -> bool {
    matches!(e, UseCaseError::Store(StoreError::Unavailable(_) | StoreError::Conflict))
}

async fn process(
    state: &AppState,
    tenant: hoheit_domain::ids::TenantId,
    channel: hoheit_domain::ids::ChannelId,
    event: InboundEvent,
) -> EventResult {
    match event {
        InboundEvent::Message(message) => match state.app.receive_inbound(tenant, channel, &message).await {
            Ok(InboundOutcome::Stored { .. }) => EventResult::Done("message"),
            Ok(InboundOutcome::Duplicate) => EventResult::Done("duplicate"),
            Ok(InboundOutcome::Unidentified) => EventResult::Skipped("unidentified"),
            Ok(InboundOutcome::Discarded) => EventResult::Skipped("discarded"),
            Ok(InboundOutcome::Stale) => EventResult::Skipped("stale"),
            Err(e) if unavailable(&e) => {
                tracing::warn!(error = %e, "inbound message not stored");
                EventResult::Unavailable
            }
            Err(e) => {
                tracing::warn!(error = %e, "inbound message skipped");
                EventResult::Skipped("rejected")
            }
        },
        // older than the replay window: acknowledged, not stored (issue 14.3)
        InboundEvent::Status(status) if state.app.is_replay(status.timestamp) => EventResult::Skipped("stale"),
        InboundEvent::Status(status) => match state.app.apply_status(tenant, &status).await {
            Ok(()) => EventResult::Done(status.status.as_str()),
            Err(e) if unavailable(&e) => EventResult::Unavailable,
            Err(e) => {
                tracing::warn!(error = %e, "status skipped");
                EventResult::Skipped("rejected")
            }
        },
        InboundEvent::Error(error) => {
            tracing::warn!(code = error.code, "360Dialog reported an error");
            EventResult::Done("error")
        }
    }
}
