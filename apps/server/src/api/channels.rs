//! WhatsApp numbers (channels): registration with the webhook route, the DPO's approval (R1).

use axum::Json;
use axum::http::StatusCode;
use hoheit_dialog360::SecretString;
use hoheit_domain::ids::ChannelId;
use hoheit_domain::ports::StoreError;
use hoheit_domain::tenant::{ApprovalInput, ConsentTemplate, ReviewedDocument};
use hoheit_domain::usecases::{ChannelInput, UseCaseError};
use hoheit_domain::values::{LanguageCode, PhoneNumber, TemplateName};
use hoheit_persistence::ChannelCredentials;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::{ApiJson, Caller, Id, can, fmt_time, parse_time};
use crate::auth::new_token;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ports::OutboundError;
use crate::state::{AppState, WEBHOOK_SECRET_HEADER};

/// The routes of this resource (relative to `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    resource_routes![(create_channel, list_channels), (approve_channel, revoke_approval)]
}

/// Registers a WhatsApp number (admin). It sends nothing until the DPO approves it.
#[utoipa::path(post, path = "/channels", tag = "channels", request_body = CreateChannel,
    responses((status = 201, body = ChannelCreated), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_channel(
    caller: Caller<can::RegisterChannel>,
    ApiJson(body): ApiJson<CreateChannel>,
) -> ApiResult<(StatusCode, Json<ChannelCreated>)> {
    let created = register(&caller.state, caller.tenant, caller.actor, body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Registers a channel for the API and the browser console alike: checks the input and the base
/// URL, the domain's `register_channel` (admin; R1: it sends nothing before the DPO's approval),
/// stores the credentials with a new webhook route, registers the webhook with 360Dialog when
/// `public_url` is set, and syncs the templates within the tenant's budget.
pub(crate) async fn register(
    state: &AppState,
    tenant: hoheit_domain::ids::TenantId,
    actor: hoheit_domain::actor::Actor,
    body: CreateChannel,
) -> ApiResult<ChannelCreated> {
    // written as people write it ("030 901820") in the tenant's region, or with "+"
    let region = state.app.tenant_config(tenant).await?.tenant.messaging.default_region;
    let display = PhoneNumber::parse_in(&body.display_phone_number, region)
        .map_err(|e| ApiError::invalid(format!("display_phone_number: {e}")))?;
    let template = ConsentTemplate {
        name: TemplateName::parse(&body.consent_template.name)
            .map_err(|e| ApiError::invalid(format!("consent_template.name: {e}")))?,
        language: LanguageCode::parse(&body.consent_template.language)
            .map_err(|e| ApiError::invalid(format!("consent_template.language: {e}")))?,
    };
    if body.api_key.trim().is_empty() {
        return Err(ApiError::invalid("api_key must not be empty"));
    }
    let (base_url, api_key) = match (&state.dev_channel, body.base_url.clone()) {
        (Some(dev), None) => (Some(dev.base_url.clone()), dev.api_key.clone()),
        (_, base) => (base, SecretString::from(body.api_key.clone())),
    };
    if let Some(url) = &base_url {
        state.channels.check_base_url(url, &api_key).await.map_err(|e| match e {
            OutboundError::NotAllowed => {
                ApiError::new(StatusCode::BAD_REQUEST, "base_url_not_allowed", super::templates::BASE_URL_NOT_ALLOWED)
            }
            OutboundError::Invalid(message) => ApiError::invalid(format!("base_url: {message}")),
            OutboundError::Unavailable => ApiError::invalid("base_url cannot be checked"),
        })?;
    }
    let channel = state
        .app
        .register_channel(
            tenant,
            actor,
            ChannelInput {
                display_phone_number: display,
                phone_number_id: body.phone_number_id.clone(),
                consent_template: template.clone(),
            },
        )
        .await
        .map_err(|e| {
            let UseCaseError::Store(StoreError::Duplicate(_)) = e else { return ApiError::from(e) };
            // The tenant's own numbers were checked by the use case (409 `conflict`); the unique
            // key across tenants is the only one a new channel can hit: another tenant has the
            // number. The answer does not say so (no oracle); the operator log does.
            tracing::warn!(
                %tenant,
                "channel registration refused: the phone_number_id is registered to another tenant; \
                 the tenant was answered channel_not_available (resolve with both tenants)"
            );
            ApiError::new(StatusCode::CONFLICT, "channel_not_available", CHANNEL_NOT_AVAILABLE)
        })?;
    let route = new_token().replacen(crate::auth::TOKEN_PREFIX, "", 1);
    let secret = new_token().replacen(crate::auth::TOKEN_PREFIX, "", 1);
    let credentials = ChannelCredentials {
        api_key,
        base_url,
        webhook_secret: SecretString::from(secret.clone()),
        hmac_secret: body.webhook_hmac_secret.clone().filter(|s| !s.is_empty()).map(SecretString::from),
    };
    state.channels.save(tenant, channel.id, &route, &credentials).await?;
    let path = format!("/webhooks/360dialog/{route}");
    let mut registered = false;
    if let Some(public) = &state.config.public_url
        && state.channels.is_configured(channel.id)
    {
        let url = format!("{}{path}", public.trim_end_matches('/'));
        let header = (WEBHOOK_SECRET_HEADER, SecretString::from(secret.clone()));
        match state.channels.register_webhook(channel.id, url, header).await {
            Ok(()) => registered = true,
            Err(e) => tracing::warn!(channel = %channel.id, error = %e, "webhook registration with 360Dialog failed"),
        }
    }
    // bounded like the scheduler's per-tenant budget: a slow provider cannot hold the request
    let budget = std::time::Duration::from_secs(state.config.templates.tenant_budget_seconds.max(1));
    let deadline = tokio::time::Instant::now() + budget;
    let synced = super::templates::sync_until(state, tenant, channel.id, Some(deadline)).await.unwrap_or_else(|e| {
        tracing::warn!(channel = %channel.id, error = %e, "template sync failed");
        0
    });
    Ok(ChannelCreated {
        id: channel.id.to_string(),
        webhook_url_path: path,
        webhook_secret: secret,
        webhook_secret_header: WEBHOOK_SECRET_HEADER.to_owned(),
        webhook_registered: registered,
        templates_synced: synced,
    })
}

/// The message of `channel_not_available` (says nothing about why).
pub const CHANNEL_NOT_AVAILABLE: &str =
    "this number cannot be registered here; if it is yours, contact the operator of this hoheit installation";

/// Lists the tenant's channels.
#[utoipa::path(get, path = "/channels", tag = "channels",
    responses((status = 200, body = [ChannelView])), security(("bearer" = [])))]
pub async fn list_channels(caller: Caller<can::ReadConfiguration>) -> ApiResult<Json<Vec<ChannelView>>> {
    let config = caller.state.app.tenant_config(caller.tenant).await?;
    let now = hoheit_domain::ports::Clock::now(caller.state.clock.as_ref());
    Ok(Json(config.channels.iter().map(|c| channel_view(c, c.is_approved_at(now))).collect()))
}

fn channel_view(c: &hoheit_domain::tenant::Channel, approved: bool) -> ChannelView {
    ChannelView {
        id: c.id.to_string(),
        display_phone_number: c.display_phone_number.as_e164().to_owned(),
        phone_number_id: c.phone_number_id.clone(),
        consent_template: TemplateRef {
            name: c.consent_template.name.as_str().into(),
            language: c.consent_template.language.as_str().into(),
        },
        approved,
        approval_review_at: c.approval.as_ref().map(|a| fmt_time(a.review_at)),
    }
}

/// Records the DPO's approval of the channel (R1).
#[utoipa::path(post, path = "/channels/{id}/approval", tag = "channels", request_body = Approve,
    params(("id" = String, Path, description = "channel id")),
    responses((status = 200, body = ChannelView), (status = 403, body = ErrorBody, description = "forbidden or dpo_not_independent"),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn approve_channel(
    caller: Caller<can::ApproveChannel>,
    Id(channel): Id<ChannelId>,
    ApiJson(body): ApiJson<Approve>,
) -> ApiResult<Json<ChannelView>> {
    let documents = body
        .documents
        .into_iter()
        .map(|d| match d {
            DocumentInput::Object(o) => ReviewedDocument { name: o.name, version: o.version },
            DocumentInput::Text(t) => match t.split_once('@') {
                Some((name, version)) => ReviewedDocument { name: name.trim().into(), version: version.trim().into() },
                None => ReviewedDocument { name: t.trim().into(), version: "unversioned".into() },
            },
        })
        .collect();
    let input = ApprovalInput {
        approver_name: body.approver_name,
        dpia_reference: body.dpia_reference,
        documents,
        review_at: parse_time(body.review_at.as_deref(), "review_at")?,
    };
    // R1's separation of duties: the domain refuses an approval by a DPO credential that the
    // channel's registering admin created (`dpo_not_independent`) unless the tenant allows it
    let c = caller.state.app.approve_channel_as(caller.tenant, caller.actor, channel, input, caller.created_by).await?;
    Ok(Json(channel_view(&c, true)))
}

/// Revokes the approval: nothing is sent through the channel any more, queued messages included.
#[utoipa::path(delete, path = "/channels/{id}/approval", tag = "channels",
    params(("id" = String, Path, description = "channel id")),
    responses((status = 204), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn revoke_approval(caller: Caller<can::RevokeApproval>, Id(channel): Id<ChannelId>) -> ApiResult<StatusCode> {
    caller.state.app.revoke_approval(caller.tenant, caller.actor, channel).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Template reference.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateRef {
    /// Template name.
    pub name: String,
    /// Language code (`de`, `en_US`).
    pub language: String,
}

/// `POST /api/v1/channels`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChannel {
    /// The business number (E.164, or as written in the tenant's region: `030 901820`).
    pub display_phone_number: String,
    /// Meta's phone number id.
    pub phone_number_id: String,
    /// The channel's 360Dialog API key (stored encrypted, never shown again).
    pub api_key: String,
    /// API base URL (default 360Dialog's production Cloud API).
    pub base_url: Option<String>,
    /// The consent-request template (must carry the Art. 13 / 21(4) notice).
    pub consent_template: TemplateRef,
    /// Optional HMAC secret for `x-360dialog-signature` (partner webhooks).
    pub webhook_hmac_secret: Option<String>,
}

/// The new channel and how 360Dialog must call us.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelCreated {
    /// Channel id.
    pub id: String,
    /// Path of the webhook URL (append to the public base URL).
    pub webhook_url_path: String,
    /// Value of the `x-hoheit-webhook-secret` header 360Dialog must send (shown once).
    pub webhook_secret: String,
    /// Name of that header.
    pub webhook_secret_header: String,
    /// Whether the webhook was registered with 360Dialog automatically (needs `public_url`).
    pub webhook_registered: bool,
    /// Templates synced from 360Dialog.
    pub templates_synced: u32,
}

/// A channel as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelView {
    /// Id.
    pub id: String,
    /// Business number.
    pub display_phone_number: String,
    /// Meta's phone number id.
    pub phone_number_id: String,
    /// Consent template.
    pub consent_template: TemplateRef,
    /// Whether a valid DPO approval exists now.
    pub approved: bool,
    /// When the approval must be reviewed.
    pub approval_review_at: Option<String>,
}

/// A reviewed document.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentDto {
    /// What it is (`privacy_notice`, `dpa_360dialog`, `dpia`).
    pub name: String,
    /// Which version.
    pub version: String,
}

/// `POST /api/v1/channels/{id}/approval`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Approve {
    /// The DPO's name.
    pub approver_name: String,
    /// DPIA or threshold-analysis reference.
    pub dpia_reference: String,
    /// Documents reviewed. Accepts objects `{name, version}` or strings `"name@version"`.
    pub documents: Vec<DocumentInput>,
    /// Review date (default: in 12 months).
    pub review_at: Option<String>,
}

/// A document as object or `"name@version"` string.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum DocumentInput {
    /// `{name, version}`.
    Object(DocumentDto),
    /// `"privacy_notice@v3"` (without `@`, the version is `"unversioned"`).
    Text(String),
}
