//! The conversation: reading it (audited, R33), sending messages and the consent request.

use axum::Json;
use axum::http::StatusCode;
use hoheit_domain::ids::CandidateId;
use hoheit_domain::usecases::MessageRequest;
use hoheit_domain::values::{LanguageCode, Pii, TemplateName};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::{ApiJson, Caller, Id, can, fmt_time};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// The routes of this resource (relative to `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    resource_routes![consent_request, (messages, send)]
}

/// Sends the consent-request template (R10): 202, or 409 with the refusal code.
#[utoipa::path(post, path = "/candidates/{id}/consent-request", tag = "candidates",
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 202, body = QueuedResponse), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn consent_request(
    caller: Caller<can::SendMessages>,
    Id(id): Id<CandidateId>,
) -> ApiResult<(StatusCode, Json<QueuedResponse>)> {
    let result = caller.state.app.request_consent(caller.tenant, caller.actor, id).await;
    queued(&caller.state, result)
}

/// 202 with the queued message, or the refusal (counted in the metrics).
pub(super) fn queued(
    state: &AppState,
    result: Result<hoheit_domain::usecases::Queued, hoheit_domain::usecases::UseCaseError>,
) -> ApiResult<(StatusCode, Json<QueuedResponse>)> {
    match result {
        Ok(q) => {
            state.dispatch_wake.notify_one();
            Ok((
                StatusCode::ACCEPTED,
                Json(QueuedResponse { message_id: q.message.to_string(), status: "queued".into() }),
            ))
        }
        Err(hoheit_domain::usecases::UseCaseError::Refused(r)) => {
            state.metrics.refusal(r.code.as_str());
            Err(hoheit_domain::usecases::UseCaseError::Refused(r).into())
        }
        Err(e) => Err(e.into()),
    }
}

/// The conversation (content; the read is audited with the reader, R33).
#[utoipa::path(get, path = "/candidates/{id}/messages", tag = "messages",
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn messages(caller: Caller<can::ReadContent>, Id(id): Id<CandidateId>) -> ApiResult<Json<serde_json::Value>> {
    let messages = caller.state.app.read_messages(caller.tenant, caller.actor, id).await?;
    let items: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| {
            serde_json::json!({
                "id": m.id.to_string(),
                "direction": match m.direction { hoheit_domain::conversation::Direction::Inbound => "inbound", hoheit_domain::conversation::Direction::Outbound => "outbound" },
                "kind": m.kind.as_str(),
                "intent": m.intent.map(|i| i.as_str()),
                "status": m.status.effective().map(|s| s.as_str()),
                "error_code": m.status.get(hoheit_domain::conversation::DeliveryStatus::Failed).and_then(|o| o.error_code),
                "created_at": fmt_time(m.created_at),
                "provider_at": m.provider_at.map(fmt_time),
                "content": m.body.expose(),
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "messages": items })))
}

/// Sends a message: `{text}` or `{template:{name, language, parameters}}` -> 202 or 409 with the
/// refusal code of the send policy.
#[utoipa::path(post, path = "/candidates/{id}/messages", tag = "messages", request_body = SendMessage,
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 202, body = QueuedResponse), (status = 409, body = ErrorBody), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn send(
    caller: Caller<can::SendMessages>,
    Id(id): Id<CandidateId>,
    ApiJson(body): ApiJson<SendMessage>,
) -> ApiResult<(StatusCode, Json<QueuedResponse>)> {
    let request = match (body.text, body.template) {
        (Some(text), None) => MessageRequest::Text(Pii::new(text)),
        (None, Some(t)) => MessageRequest::Template {
            name: TemplateName::parse(&t.name).map_err(|e| ApiError::invalid(format!("template.name: {e}")))?,
            language: LanguageCode::parse(&t.language)
                .map_err(|e| ApiError::invalid(format!("template.language: {e}")))?,
            parameters: t.parameters.into_iter().map(Pii::new).collect(),
        },
        _ => return Err(ApiError::invalid("give exactly one of text or template")),
    };
    let result = caller.state.app.send_message(caller.tenant, caller.actor, id, request).await;
    queued(&caller.state, result)
}

/// `POST /api/v1/candidates/{id}/messages`: `{text}` or `{template}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    /// Free text (inside the 24-hour window).
    pub text: Option<String>,
    /// A template.
    pub template: Option<SendTemplate>,
}

/// A template to send.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendTemplate {
    /// Name.
    pub name: String,
    /// Language.
    pub language: String,
    /// Body parameters.
    #[serde(default)]
    pub parameters: Vec<String>,
}

/// A queued message.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuedResponse {
    /// Message id.
    pub message_id: String,
    /// Always `queued`.
    pub status: String,
}
