//! Tenants, tokens, settings, retention policy, channels and their approval, legal texts and
//! templates.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hoheit_dialog360::SecretString;
use hoheit_dialog360::WebhookSettings;
use hoheit_domain::ids::{ChannelId, StaffId, TenantId};
use hoheit_domain::legal::{LegalTextKind, LegalTextVersion};
use hoheit_domain::retention::RetentionSettings;
use hoheit_domain::tenant::{ApprovalInput, ConsentTemplate, MessagingSettings, ReviewedDocument, Role};
use hoheit_domain::usecases::{ChannelInput, LegalTextInput};
use hoheit_domain::values::{LanguageCode, PhoneNumber, RegionCode, TemplateName};
use hoheit_persistence::{ApiToken, ChannelCredentials};
use uuid::Uuid;

use super::dto::{
    Approve, ChannelCreated, ChannelView, CreateChannel, CreateTenant, CreateToken, DocumentInput, LegalTextView,
    PublishLegalText, RetentionPolicyDto, SettingsDto, TemplateRef, TenantCreated, TenantSummary, TokenCreated,
    fmt_time, parse_time,
};
use super::{ApiJson, path_id};
use crate::auth::{Principal, new_token};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::{AppState, WEBHOOK_SECRET_HEADER};

const ADMIN: &[Role] = &[Role::Admin];
const ADMIN_DPO: &[Role] = &[Role::Admin, Role::Dpo];
const DPO: &[Role] = &[Role::Dpo];
const STAFF: &[Role] = &[Role::Admin, Role::Dpo, Role::Recruiter];

/// Issues a token for a tenant role and stores its hash.
pub async fn issue_token(
    state: &AppState,
    tenant: Option<TenantId>,
    role: Role,
    label: &str,
) -> ApiResult<(StaffId, String)> {
    let id = StaffId::from_uuid(Uuid::now_v7());
    let token = new_token();
    let record = ApiToken { id, tenant, role, label: label.to_owned() };
    state.store.create_token(&record, &token, hoheit_domain::ports::Clock::now(state.clock.as_ref())).await?;
    Ok((id, token))
}

/// Creates a tenant and its first admin token.
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", request_body = CreateTenant,
    responses((status = 201, body = TenantCreated), (status = 403, body = ErrorBody), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_tenant(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateTenant>,
) -> ApiResult<(StatusCode, Json<TenantCreated>)> {
    principal.operator()?;
    let tenant = state.app.create_tenant(principal.actor(), &body.name).await?;
    if body.privacy_contact.is_some() || body.privacy_notice_url.is_some() {
        state
            .app
            .update_settings(
                tenant.id,
                principal.actor(),
                tenant.retention.clone(),
                tenant.messaging.clone(),
                body.privacy_contact,
                body.privacy_notice_url,
            )
            .await?;
    }
    let (_, admin_token) = issue_token(&state, Some(tenant.id), Role::Admin, "first admin").await?;
    Ok((StatusCode::CREATED, Json(TenantCreated { id: tenant.id.to_string(), admin_token })))
}

/// Lists tenants (operator; no personal data).
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants",
    responses((status = 200, body = [TenantSummary]), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_tenants(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Vec<TenantSummary>>> {
    principal.operator()?;
    let tenants = state.store.tenants().await?;
    Ok(Json(
        tenants
            .into_iter()
            .map(|(id, name, created)| TenantSummary { id: id.to_string(), name, created_at: fmt_time(created) })
            .collect(),
    ))
}

/// Creates a token for the caller's tenant (admin).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tenants", request_body = CreateToken,
    responses((status = 201, body = TokenCreated), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn create_token(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, Json<TokenCreated>)> {
    let tenant = principal.tenant_for(ADMIN)?;
    let role = Role::parse(&body.role).map_err(|e| ApiError::invalid(e.to_string()))?;
    if role == Role::Operator {
        return Err(ApiError::forbidden("operator tokens are created with the CLI"));
    }
    let label = body.label.trim();
    if label.is_empty() || label.len() > 100 {
        return Err(ApiError::invalid("label must be 1-100 characters"));
    }
    let (id, token) = issue_token(&state, Some(tenant), role, label).await?;
    Ok((StatusCode::CREATED, Json(TokenCreated { id: id.to_string(), role: role.as_str().to_owned(), token })))
}

/// Tenant settings.
#[utoipa::path(get, path = "/api/v1/settings", tag = "tenants",
    responses((status = 200, body = SettingsDto)), security(("bearer" = [])))]
pub async fn get_settings(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<SettingsDto>> {
    let tenant = principal.tenant_for(ADMIN_DPO)?;
    let config = state.app.tenant_config(tenant).await?;
    Ok(Json(SettingsDto::from_tenant(&config.tenant)))
}

/// Changes tenant settings.
#[utoipa::path(put, path = "/api/v1/settings", tag = "tenants", request_body = SettingsDto,
    responses((status = 200, body = SettingsDto), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn put_settings(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<SettingsDto>,
) -> ApiResult<Json<SettingsDto>> {
    let tenant = principal.tenant_for(ADMIN)?;
    let config = state.app.tenant_config(tenant).await?;
    let default_region = match body.default_region.as_deref() {
        Some(region) => RegionCode::parse(region).map_err(|e| ApiError::invalid(format!("default_region: {e}")))?,
        None => config.tenant.messaging.default_region,
    };
    let messaging = MessagingSettings {
        consent_request_limit: body.consent_request_limit,
        objection_review_business_days: body.objection_review_business_days,
        legal_hold_review_months: body.legal_hold_review_months,
        approval_review_months: body.approval_review_months,
        default_region,
    };
    let updated = state
        .app
        .update_settings(
            tenant,
            principal.actor(),
            config.tenant.retention.clone(),
            messaging,
            body.privacy_contact,
            body.privacy_notice_url,
        )
        .await?;
    Ok(Json(SettingsDto::from_tenant(&updated)))
}

fn retention_dto(r: &RetentionSettings) -> RetentionPolicyDto {
    RetentionPolicyDto {
        erase_after_months: r.erase_after_months,
        claims_window_months: r.claims_window_months,
        talent_pool_months: r.talent_pool_months,
        archive_after_days: r.archive_after_days,
        process_end_after_inactive_months: Some(r.process_end_after_inactive_months),
    }
}

/// The retention policy.
#[utoipa::path(get, path = "/api/v1/retention-policy", tag = "retention",
    responses((status = 200, body = RetentionPolicyDto)), security(("bearer" = [])))]
pub async fn get_retention(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<RetentionPolicyDto>> {
    let tenant = principal.tenant_for(ADMIN_DPO)?;
    let config = state.app.tenant_config(tenant).await?;
    Ok(Json(retention_dto(&config.tenant.retention)))
}

/// Changes the retention policy (ranges of RULES.md); every candidate is re-evaluated at the next run.
#[utoipa::path(put, path = "/api/v1/retention-policy", tag = "retention", request_body = RetentionPolicyDto,
    responses((status = 200, body = RetentionPolicyDto), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn put_retention(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<RetentionPolicyDto>,
) -> ApiResult<Json<RetentionPolicyDto>> {
    let tenant = principal.tenant_for(ADMIN_DPO)?;
    let config = state.app.tenant_config(tenant).await?;
    let retention = RetentionSettings {
        erase_after_months: body.erase_after_months,
        claims_window_months: body.claims_window_months,
        talent_pool_months: body.talent_pool_months,
        archive_after_days: body.archive_after_days,
        process_end_after_inactive_months: body
            .process_end_after_inactive_months
            .unwrap_or(config.tenant.retention.process_end_after_inactive_months),
    };
    let t = &config.tenant;
    let updated = state
        .app
        .update_settings(
            tenant,
            principal.actor(),
            retention,
            t.messaging.clone(),
            t.privacy_contact.clone(),
            t.privacy_notice_url.clone(),
        )
        .await?;
    Ok(Json(retention_dto(&updated.retention)))
}

/// Registers a WhatsApp number (admin). It sends nothing until the DPO approves it.
#[utoipa::path(post, path = "/api/v1/channels", tag = "channels", request_body = CreateChannel,
    responses((status = 201, body = ChannelCreated), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_channel(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateChannel>,
) -> ApiResult<(StatusCode, Json<ChannelCreated>)> {
    let tenant = principal.tenant_for(ADMIN)?;
    let display = PhoneNumber::parse(&body.display_phone_number)
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
        hoheit_dialog360::ClientConfig::new(url, api_key.clone())
            .map_err(|e| ApiError::invalid(format!("base_url: {e}")))?;
    }
    let channel = state
        .app
        .register_channel(
            tenant,
            principal.actor(),
            ChannelInput {
                display_phone_number: display,
                phone_number_id: body.phone_number_id.clone(),
                consent_template: template.clone(),
            },
        )
        .await?;
    let route = new_token().replacen(crate::auth::TOKEN_PREFIX, "", 1);
    let secret = new_token().replacen(crate::auth::TOKEN_PREFIX, "", 1);
    let credentials = ChannelCredentials {
        api_key,
        base_url,
        webhook_secret: SecretString::from(secret.clone()),
        hmac_secret: body.webhook_hmac_secret.clone().filter(|s| !s.is_empty()).map(SecretString::from),
    };
    state.store.save_channel_credentials(tenant, channel.id, &route, &credentials).await?;
    if let Err(e) = state.register_client(channel.id, &credentials).await {
        tracing::warn!(channel = %channel.id, error = %e, "channel client not configured");
    }
    let path = format!("/webhooks/360dialog/{route}");
    let mut registered = false;
    if let (Some(public), Some(client)) = (&state.config.public_url, state.gateway.client(channel.id)) {
        let settings = WebhookSettings {
            url: format!("{}{path}", public.trim_end_matches('/')),
            headers: vec![(WEBHOOK_SECRET_HEADER.to_owned(), SecretString::from(secret.clone()))],
        };
        match client.set_webhook(&settings).await {
            Ok(()) => registered = true,
            Err(e) => tracing::warn!(channel = %channel.id, error = %e, "webhook registration with 360Dialog failed"),
        }
    }
    let synced = crate::workers::sync_templates(&state, tenant, channel.id).await.unwrap_or_else(|e| {
        tracing::warn!(channel = %channel.id, error = %e, "template sync failed");
        0
    });
    Ok((
        StatusCode::CREATED,
        Json(ChannelCreated {
            id: channel.id.to_string(),
            webhook_url_path: path,
            webhook_secret: secret,
            webhook_secret_header: WEBHOOK_SECRET_HEADER.to_owned(),
            webhook_registered: registered,
            templates_synced: synced,
        }),
    ))
}

/// Lists the tenant's channels.
#[utoipa::path(get, path = "/api/v1/channels", tag = "channels",
    responses((status = 200, body = [ChannelView])), security(("bearer" = [])))]
pub async fn list_channels(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Vec<ChannelView>>> {
    let tenant = principal.tenant_for(STAFF)?;
    let config = state.app.tenant_config(tenant).await?;
    let now = hoheit_domain::ports::Clock::now(state.clock.as_ref());
    Ok(Json(
        config
            .channels
            .iter()
            .map(|c| ChannelView {
                id: c.id.to_string(),
                display_phone_number: c.display_phone_number.as_e164().to_owned(),
                phone_number_id: c.phone_number_id.clone(),
                consent_template: TemplateRef {
                    name: c.consent_template.name.as_str().into(),
                    language: c.consent_template.language.as_str().into(),
                },
                approved: c.is_approved_at(now),
                approval_review_at: c.approval.as_ref().map(|a| fmt_time(a.review_at)),
            })
            .collect(),
    ))
}

/// Records the DPO's approval of the channel (R1).
#[utoipa::path(post, path = "/api/v1/channels/{id}/approval", tag = "channels", request_body = Approve,
    params(("id" = String, Path, description = "channel id")),
    responses((status = 200, body = ChannelView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn approve_channel(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Approve>,
) -> ApiResult<Json<ChannelView>> {
    let tenant = principal.tenant_for(DPO)?;
    let channel: ChannelId = path_id(&id, "channel")?;
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
    let c = state.app.approve_channel(tenant, principal.actor(), channel, input).await?;
    Ok(Json(ChannelView {
        id: c.id.to_string(),
        display_phone_number: c.display_phone_number.as_e164().to_owned(),
        phone_number_id: c.phone_number_id.clone(),
        consent_template: TemplateRef {
            name: c.consent_template.name.as_str().into(),
            language: c.consent_template.language.as_str().into(),
        },
        approved: true,
        approval_review_at: c.approval.as_ref().map(|a| fmt_time(a.review_at)),
    }))
}

/// Revokes the approval: nothing is sent through the channel any more, queued messages included.
#[utoipa::path(delete, path = "/api/v1/channels/{id}/approval", tag = "channels",
    params(("id" = String, Path, description = "channel id")),
    responses((status = 204), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn revoke_approval(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let tenant = principal.tenant_for(ADMIN_DPO)?;
    let channel: ChannelId = path_id(&id, "channel")?;
    state.app.revoke_approval(tenant, principal.actor(), channel).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Syncs the channel's templates from 360Dialog now.
#[utoipa::path(post, path = "/api/v1/channels/{id}/templates/sync", tag = "channels",
    params(("id" = String, Path, description = "channel id")),
    responses((status = 200, body = u32), (status = 503, body = ErrorBody)), security(("bearer" = [])))]
pub async fn sync_templates(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<u32>> {
    let tenant = principal.tenant_for(ADMIN)?;
    let channel: ChannelId = path_id(&id, "channel")?;
    let config = state.app.tenant_config(tenant).await?;
    config.channel(channel).ok_or_else(|| ApiError::not_found("channel"))?;
    let count = crate::workers::sync_templates(&state, tenant, channel)
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "unavailable", format!("360Dialog: {e}")))?;
    Ok(Json(count))
}

/// Publishes a legal text version (admin). Consent-request texts must satisfy R6.
#[utoipa::path(post, path = "/api/v1/legal-texts", tag = "legal texts", request_body = PublishLegalText,
    responses((status = 201, body = LegalTextView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn publish_legal_text(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<PublishLegalText>,
) -> ApiResult<(StatusCode, Json<LegalTextView>)> {
    let tenant = principal.tenant_for(ADMIN)?;
    let input = LegalTextInput {
        kind: LegalTextKind::parse(&body.kind).map_err(|e| ApiError::invalid(e.to_string()))?,
        version: LegalTextVersion::parse(&body.version).map_err(|e| ApiError::invalid(e.to_string()))?,
        language: LanguageCode::parse(&body.language).map_err(|e| ApiError::invalid(format!("language: {e}")))?,
        body: body.body,
        url: body.url,
        material: body.material.unwrap_or(true),
    };
    let text = state.app.publish_legal_text(tenant, principal.actor(), input).await?;
    Ok((StatusCode::CREATED, Json(legal_view(&text))))
}

fn legal_view(t: &hoheit_domain::legal::LegalText) -> LegalTextView {
    LegalTextView {
        id: t.id.to_string(),
        kind: t.kind.as_str().into(),
        version: t.version.as_str().into(),
        language: t.language.as_str().into(),
        sha256: t.sha256.to_hex(),
        material: t.material,
        published_at: fmt_time(t.published_at),
        url: t.url.clone(),
        body: t.body.clone(),
    }
}

/// The tenant's legal texts.
#[utoipa::path(get, path = "/api/v1/legal-texts", tag = "legal texts",
    responses((status = 200, body = [LegalTextView])), security(("bearer" = [])))]
pub async fn list_legal_texts(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Vec<LegalTextView>>> {
    let tenant = principal.tenant_for(STAFF)?;
    let config = state.app.tenant_config(tenant).await?;
    Ok(Json(config.legal_texts.texts().iter().map(legal_view).collect()))
}
