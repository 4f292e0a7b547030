//! Tenants (the platform operator) and the tenant's settings.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hoheit_domain::credential::InvitationOrigin;
use hoheit_domain::tenant::{MessagingSettings, Role, Tenant};
use hoheit_domain::values::RegionCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::invitations::InvitationIssued;
use super::{ApiJson, Caller, Operator, can, fmt_time};
use crate::credentials;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// The routes of this resource (relative to `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    resource_routes![(create_tenant, list_tenants), (get_settings, put_settings)]
}

/// Creates a tenant and a single-use invitation (72 h) for its first admin — and, with
/// `invite_dpo`, one for its first DPO, appointed independently of the admin (R1). The operator
/// never receives a tenant credential: the invited person accepts the invitation
/// (`POST /invitations/accept`) and gets the token; the tenant sees every invitation and its use.
#[utoipa::path(post, path = "/tenants", tag = "tenants", request_body = CreateTenant,
    responses((status = 201, body = TenantCreated), (status = 403, body = ErrorBody), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_tenant(
    State(state): State<AppState>,
    operator: Operator,
    ApiJson(body): ApiJson<CreateTenant>,
) -> ApiResult<(StatusCode, Json<TenantCreated>)> {
    let tenant = state.app.create_tenant(operator.actor, &body.name).await?;
    if body.privacy_contact.is_some() || body.privacy_notice_url.is_some() {
        state
            .app
            .update_settings(
                tenant.id,
                operator.actor,
                tenant.retention.clone(),
                tenant.messaging.clone(),
                body.privacy_contact,
                body.privacy_notice_url,
            )
            .await?;
    }
    let invite =
        |role| credentials::invite(&state, tenant.id, role, InvitationOrigin::TenantCreated, None, operator.actor);
    let (admin, secret) = invite(Role::Admin).await?;
    let admin_invitation = InvitationIssued::new(&admin, secret);
    let dpo_invitation = if body.invite_dpo.unwrap_or(false) {
        let (dpo, secret) = invite(Role::Dpo).await?;
        Some(InvitationIssued::new(&dpo, secret))
    } else {
        None
    };
    Ok((StatusCode::CREATED, Json(TenantCreated { id: tenant.id.to_string(), admin_invitation, dpo_invitation })))
}

/// Lists tenants (operator; no personal data).
#[utoipa::path(get, path = "/tenants", tag = "tenants",
    responses((status = 200, body = [TenantSummary]), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_tenants(State(state): State<AppState>, _operator: Operator) -> ApiResult<Json<Vec<TenantSummary>>> {
    let tenants = state.queries.tenants().await?;
    Ok(Json(
        tenants
            .into_iter()
            .map(|t| TenantSummary { id: t.id.to_string(), name: t.name, created_at: fmt_time(t.created_at) })
            .collect(),
    ))
}

/// Tenant settings.
#[utoipa::path(get, path = "/settings", tag = "tenants",
    responses((status = 200, body = SettingsDto)), security(("bearer" = [])))]
pub async fn get_settings(caller: Caller<can::ReadSettings>) -> ApiResult<Json<SettingsDto>> {
    let config = caller.state.app.tenant_config(caller.tenant).await?;
    Ok(Json(SettingsDto::from_tenant(&config.tenant)))
}

/// Changes tenant settings.
#[utoipa::path(put, path = "/settings", tag = "tenants", request_body = SettingsDto,
    responses((status = 200, body = SettingsDto), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn put_settings(
    caller: Caller<can::ChangeSettings>,
    ApiJson(body): ApiJson<SettingsDto>,
) -> ApiResult<Json<SettingsDto>> {
    let config = caller.state.app.tenant_config(caller.tenant).await?;
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
        read_receipts: body.read_receipts.unwrap_or(config.tenant.messaging.read_receipts),
    };
    let updated = caller
        .state
        .app
        .update_settings(
            caller.tenant,
            caller.actor,
            config.tenant.retention.clone(),
            messaging,
            body.privacy_contact,
            body.privacy_notice_url,
        )
        .await?;
    Ok(Json(SettingsDto::from_tenant(&updated)))
}

/// `POST /api/v1/tenants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// The employer's name as candidates know it.
    pub name: String,
    /// Privacy contact (the DPO's mailbox), used in help answers and confirmations.
    pub privacy_contact: Option<String>,
    /// Link to the privacy notice, used in the first-message notice.
    pub privacy_notice_url: Option<String>,
    /// Also invite the tenant's first DPO (appointed independently of the admin, R1).
    #[serde(default)]
    pub invite_dpo: Option<bool>,
}

/// The new tenant and the invitations for its first admin (and DPO). No credential: the
/// invited people accept the invitations themselves.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantCreated {
    /// Tenant id.
    pub id: String,
    /// The first admin's invitation (secret shown once; single use; 72 h).
    pub admin_invitation: InvitationIssued,
    /// The first DPO's invitation, if `invite_dpo` was set.
    pub dpo_invitation: Option<InvitationIssued>,
}

/// A tenant as the operator sees it (no personal data).
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantSummary {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Created.
    pub created_at: String,
}

/// Tenant settings.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsDto {
    /// Privacy contact.
    pub privacy_contact: Option<String>,
    /// Privacy notice link.
    pub privacy_notice_url: Option<String>,
    /// Consent-request messages before consent (1-2).
    pub consent_request_limit: u8,
    /// Business days until an objection review is due.
    pub objection_review_business_days: u32,
    /// Months until a legal hold must be reviewed.
    pub legal_hold_review_months: u32,
    /// Months until a channel approval must be reviewed.
    pub approval_review_months: u32,
    /// Region (ISO 3166-1 alpha-2) assumed for candidate numbers typed without `+`/`00`, e.g.
    /// `0170 1234567`. Default `DE`; omitted in a PUT it stays as it is.
    #[serde(default)]
    pub default_region: Option<String>,
    /// Whether opening a conversation in the browser inbox sends WhatsApp read receipts (blue
    /// ticks) for the candidate's messages. Default `false`; omitted in a PUT it stays as it is.
    #[serde(default)]
    pub read_receipts: Option<bool>,
}

impl SettingsDto {
    /// From the tenant.
    pub fn from_tenant(t: &Tenant) -> Self {
        Self {
            privacy_contact: t.privacy_contact.clone(),
            privacy_notice_url: t.privacy_notice_url.clone(),
            consent_request_limit: t.messaging.consent_request_limit,
            objection_review_business_days: t.messaging.objection_review_business_days,
            legal_hold_review_months: t.messaging.legal_hold_review_months,
            approval_review_months: t.messaging.approval_review_months,
            default_region: Some(t.messaging.default_region.as_str().to_owned()),
            read_receipts: Some(t.messaging.read_receipts),
        }
    }
}
