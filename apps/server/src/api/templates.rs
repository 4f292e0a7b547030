//! WhatsApp templates of a channel: sync from 360Dialog, the list, the notice mark (R15, R21).

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use hoheit_domain::ids::{ChannelId, TenantId};
use hoheit_domain::ports::Clock;
use hoheit_domain::template::Template;
use hoheit_domain::tenant::Actor;
use hoheit_domain::usecases::UseCaseError;
use hoheit_domain::values::{LanguageCode, TemplateName};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::{ApiJson, Caller, Id, can, fmt_time, path_id};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ports::OutboundError;
use crate::state::AppState;

/// The routes of this resource (relative to `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    resource_routes![sync_templates, list_templates, mark_template]
}

/// Syncs the channel's templates from 360Dialog now.
#[utoipa::path(post, path = "/channels/{id}/templates/sync", tag = "channels",
    params(("id" = String, Path, description = "channel id")),
    responses((status = 200, body = u32), (status = 409, body = ErrorBody), (status = 502, body = ErrorBody),
        (status = 503, body = ErrorBody)), security(("bearer" = [])))]
pub async fn sync_templates(caller: Caller<can::SyncTemplates>, Id(channel): Id<ChannelId>) -> ApiResult<Json<u32>> {
    let config = caller.state.app.tenant_config(caller.tenant).await?;
    config.channel(channel).ok_or_else(|| ApiError::not_found("channel"))?;
    let count = sync(&caller.state, caller.tenant, channel).await.map_err(|e| match e {
        SyncError::NotAllowed => ApiError::new(StatusCode::CONFLICT, "base_url_not_allowed", BASE_URL_NOT_ALLOWED),
        // one answer for every transport or provider failure (no reachability oracle)
        SyncError::Unavailable | SyncError::OutOfTime => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "unavailable",
            "360Dialog could not be reached or gave no usable answer; retry later",
        ),
        SyncError::Store(e) => e.into(),
    })?;
    Ok(Json(count))
}

/// The channel's templates as last synced from 360Dialog (on channel creation, on schedule and
/// with `POST .../templates/sync`).
#[utoipa::path(get, path = "/channels/{id}/templates", tag = "channels",
    params(("id" = String, Path, description = "channel id")),
    responses((status = 200, body = [TemplateView]), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_templates(
    caller: Caller<can::ReadConfiguration>,
    Id(channel): Id<ChannelId>,
) -> ApiResult<Json<Vec<TemplateView>>> {
    let config = caller.state.app.tenant_config(caller.tenant).await?;
    let consent = &config.channel(channel).ok_or_else(|| ApiError::not_found("channel"))?.consent_template;
    let mut templates: Vec<TemplateView> = config
        .templates
        .templates()
        .iter()
        .filter(|t| t.channel == channel)
        .map(|t| template_view(t, t.name == consent.name && t.language == consent.language))
        .collect();
    templates.sort_by(|a, b| (&a.name, &a.language).cmp(&(&b.name, &b.language)));
    Ok(Json(templates))
}

/// Marks whether a template carries the Art. 13 / Art. 21(4) notice (admin, DPO; audited as
/// `template.notice_marked`). The consent-request template cannot be unmarked (409). The mark
/// survives syncs.
#[utoipa::path(put, path = "/channels/{id}/templates/{name}/{language}", tag = "channels",
    request_body = MarkTemplate,
    params(("id" = String, Path, description = "channel id"), ("name" = String, Path, description = "template name"),
        ("language" = String, Path, description = "template language (de, en_US)")),
    responses((status = 200, body = TemplateView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn mark_template(
    caller: Caller<can::MarkTemplate>,
    Path((id, name, language)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<MarkTemplate>,
) -> ApiResult<Json<TemplateView>> {
    let channel: ChannelId = path_id(&id, "channel")?;
    let name = TemplateName::parse(&name).map_err(|_| ApiError::not_found("template"))?;
    let language = LanguageCode::parse(&language).map_err(|_| ApiError::not_found("template"))?;
    let template = caller
        .state
        .app
        .mark_template_notice(caller.tenant, caller.actor, channel, &name, &language, body.carries_notice)
        .await?;
    let config = caller.state.app.tenant_config(caller.tenant).await?;
    let consent = config
        .channel(channel)
        .is_some_and(|c| c.consent_template.name == name && c.consent_template.language == language);
    Ok(Json(template_view(&template, consent)))
}

/// A synced template.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    /// Channel.
    pub channel_id: String,
    /// Name.
    pub name: String,
    /// Language.
    pub language: String,
    /// `MARKETING`, `UTILITY`, `AUTHENTICATION`.
    pub category: String,
    /// WhatsApp's status at the last sync (`APPROVED`, `PAUSED`, ...). Only `APPROVED` is sent,
    /// checked when asked and again at dispatch.
    pub status: String,
    /// Positional body placeholders.
    pub body_parameters: u8,
    /// Quick-reply buttons.
    pub quick_replies: u8,
    /// Whether the tenant marked it as carrying the Art. 13 / Art. 21(4) notice.
    pub carries_notice: bool,
    /// Whether it is the channel's consent-request template (which must carry the notice).
    pub consent_template: bool,
    /// What it needs that hoheit does not send (named parameters, header or button
    /// parameters); empty when it can be sent.
    pub unsupported: Vec<String>,
    /// The components as WhatsApp returned them.
    #[schema(value_type = Object)]
    pub components: serde_json::Value,
    /// When it was synced.
    pub synced_at: String,
}

/// `PUT /api/v1/channels/{id}/templates/{name}/{language}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkTemplate {
    /// Whether the template's text carries the Art. 13 / Art. 21(4) notice (privacy notice
    /// link and the objection hint).
    pub carries_notice: bool,
}

fn template_view(t: &Template, consent: bool) -> TemplateView {
    let mut unsupported = Vec::new();
    if t.shape.named_body_parameters {
        unsupported.push("named_body_parameters".to_owned());
    }
    if t.shape.header_parameter {
        unsupported.push("header_parameter".to_owned());
    }
    if t.shape.dynamic_buttons > 0 {
        unsupported.push("button_parameters".to_owned());
    }
    TemplateView {
        channel_id: t.channel.to_string(),
        name: t.name.as_str().to_owned(),
        language: t.language.as_str().to_owned(),
        category: t.category.as_str().to_owned(),
        status: t.status.as_str().to_owned(),
        body_parameters: t.body_parameters,
        quick_replies: t.quick_replies,
        carries_notice: t.carries_notice,
        consent_template: consent,
        unsupported,
        components: serde_json::from_str(&t.components_json).unwrap_or(serde_json::Value::Null),
        synced_at: fmt_time(t.synced_at),
    }
}

/// Fetches the channel's templates from 360Dialog (all pages) and stores them, keeping the
/// tenant's notice marks; the consent-request template's mark is derived from its synced text by
/// the domain (it carries the notice only if the text has the privacy link and the objection
/// hint, R15), never set blindly.
pub async fn sync(state: &AppState, tenant: TenantId, channel: ChannelId) -> Result<u32, SyncError> {
    sync_until(state, tenant, channel, None).await
}

/// [`sync`], giving up on the listing at `deadline` ([`SyncError::OutOfTime`]; nothing is
/// stored then). Storing the fetched templates is not cut short.
pub async fn sync_until(
    state: &AppState,
    tenant: TenantId,
    channel: ChannelId,
    deadline: Option<tokio::time::Instant>,
) -> Result<u32, SyncError> {
    let fetch = state.channels.fetch_templates(channel, state.clock.now());
    let fetched = match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, fetch).await.map_err(|_| SyncError::OutOfTime)?,
        None => fetch.await,
    };
    let templates = fetched.map_err(|e| match e {
        OutboundError::NotAllowed => SyncError::NotAllowed,
        OutboundError::Invalid(_) | OutboundError::Unavailable => SyncError::Unavailable,
    })?;
    Ok(state.app.sync_templates(tenant, Actor::System, channel, templates).await?)
}

/// The message of `base_url_not_allowed`.
pub const BASE_URL_NOT_ALLOWED: &str =
    "base_url is not allowed: hoheit calls only the operator's allowed 360Dialog hosts, over https";

/// Why a template sync failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SyncError {
    /// The channel's base URL is not on the outbound allow-list.
    #[error("destination not allowed")]
    NotAllowed,
    /// 360Dialog could not be reached or gave no usable answer (details in the operator log).
    #[error("360Dialog could not be reached or gave no usable answer")]
    Unavailable,
    /// The time budget ended before 360Dialog answered.
    #[error("the time budget ended before 360Dialog answered")]
    OutOfTime,
    /// Storing the templates failed.
    #[error(transparent)]
    Store(#[from] UseCaseError),
}
