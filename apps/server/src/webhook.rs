//! `POST /webhooks/360dialog/{route}`: no bearer token; the opaque route token names the channel,
//! the secret header and/or HMAC authenticate the raw bytes BEFORE anything is parsed or written.
//! 200 only after every event is committed; 401 before any write when authenticity fails; 400 for
//! malformed bodies (stored nowhere); duplicates are acknowledged with 200, and so are events
//! older than the replay window (`webhooks.replay_window_hours`), which are not stored.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::future::join_all;
use hoheit_dialog360::webhook::parse_webhook;
use hoheit_domain::inbound::InboundEvent;
use hoheit_domain::ports::StoreError;
use hoheit_domain::usecases::{InboundOutcome, UseCaseError};

use crate::error::ApiError;
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
        (status = 413, body = crate::error::ErrorBody),
        (status = 503, body = crate::error::ErrorBody, description = "storage unavailable; 360Dialog retries"),
    ))]
pub fn receive_doc() {}

enum EventResult {
    Done(&'static str),
    Skipped(&'static str),
    Unavailable,
}

/// The webhook endpoint.
pub async fn receive(
    State(state): State<AppState>,
    Path(route): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let limit = state.config.limits.webhook_body_bytes;
    let Ok(bytes): Result<Bytes, _> = axum::body::to_bytes(body, limit).await else {
        state.metrics.webhook_rejected("too_large");
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the webhook body is too large")
            .into_response();
    };
    if route.len() > 128 || !route.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        state.metrics.webhook_rejected("unauthenticated");
        return ApiError::unauthorized().into_response();
    }
    let route = match state.channels.route(&route).await {
        Ok(Some(route)) => route,
        Ok(None) => {
            state.metrics.webhook_rejected("unauthenticated");
            return ApiError::unauthorized().into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    if route.verifier.verify(&headers, &bytes).is_err() {
        state.metrics.webhook_rejected("unauthenticated");
        tracing::warn!(channel = %route.channel, "webhook authenticity check failed");
        return ApiError::unauthorized().into_response();
    }
    let parsed = match parse_webhook(&bytes) {
        Ok(parsed) => parsed,
        Err(e) => {
            state.metrics.webhook_rejected("malformed");
            tracing::warn!(channel = %route.channel, error = %e, "malformed webhook");
            return ApiError::invalid(format!("malformed webhook: {e}")).into_response();
        }
    };
    let phone_number_id = match state.app.tenant_config(route.tenant).await {
        Ok(config) => config.channel(route.channel).map(|c| c.phone_number_id.clone()),
        Err(e) => return ApiError::from(e).into_response(),
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
        async move {
            let mut results = Vec::with_capacity(events.len());
            for routed in events {
                if let (Some(got), Some(expected)) = (&routed.phone_number_id, &expected)
                    && got != expected
                {
                    results.push(EventResult::Skipped("foreign_number"));
                    continue;
                }
                results.push(process(&state, route.tenant, route.channel, routed.event).await);
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
    if unavailable {
        state.metrics.webhook_rejected("unavailable");
        return ApiError::unavailable().into_response();
    }
    state.metrics.webhook_batch();
    state.dispatch_wake.notify_one();
    state.media_wake.notify_one();
    (StatusCode::OK, axum::Json(serde_json::json!({ "status": "ok" }))).into_response()
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
