//! The tenant's identity provider for staff sign-in (OpenID Connect, issue 16): issuer, client,
//! allowed e-mail domains, and where roles come from. The client secret is write-only: sealed
//! with the tenant key at rest, never returned.

use axum::Json;
use axum::extract::State;
use hoheit_domain::idp::{GroupRole, IdpSettings, RoleSource};
use hoheit_domain::tenant::Role;
use hoheit_oidc::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::{ApiJson, Caller, can};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// The routes of this resource (relative to `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    resource_routes![(get_oidc_settings, put_oidc_settings)]
}

/// One line of a group -> role mapping.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupRoleDto {
    /// Group name (or id, for Entra ID) as the provider sends it.
    pub group: String,
    /// `admin`, `dpo` or `recruiter`.
    pub role: String,
}

/// The tenant's identity provider settings (the client secret is never returned).
#[derive(Debug, Serialize, ToSchema)]
pub struct OidcSettingsDto {
    /// Whether staff can sign in through the provider.
    pub enabled: bool,
    /// The issuer, exactly as in the provider's tokens.
    pub issuer: String,
    /// The client id registered at the provider.
    pub client_id: String,
    /// Whether a client secret is stored.
    pub client_secret_set: bool,
    /// Only these e-mail domains may sign in (empty: any).
    pub allowed_email_domains: Vec<String>,
    /// `hoheit` (roles managed in hoheit) or `claims` (groups mapped to roles).
    pub role_source: String,
    /// The mapping, with `role_source` `claims`: the groups must map to exactly one role.
    pub group_roles: Vec<GroupRoleDto>,
    /// The claim carrying groups (`groups`, or `roles` for Entra ID app roles).
    pub groups_claim: String,
    /// Whether `email_verified` must be true when domains are restricted.
    pub require_verified_email: bool,
    /// The redirect URI to register at the provider.
    pub redirect_uri: String,
}

/// `PUT /api/v1/settings/oidc`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutOidcSettings {
    /// Whether staff can sign in through the provider.
    pub enabled: bool,
    /// The issuer (https).
    pub issuer: String,
    /// The client id.
    pub client_id: String,
    /// The client secret; omitted: keep the stored one (required the first time).
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Allowed e-mail domains (default: any).
    #[serde(default)]
    pub allowed_email_domains: Vec<String>,
    /// `hoheit` (default) or `claims`.
    #[serde(default)]
    pub role_source: Option<String>,
    /// The group -> role mapping (with `claims`).
    #[serde(default)]
    pub group_roles: Vec<GroupRoleDto>,
    /// Default `groups`.
    #[serde(default)]
    pub groups_claim: Option<String>,
    /// Default true.
    #[serde(default)]
    pub require_verified_email: Option<bool>,
}

fn dto(settings: &IdpSettings, secret_set: bool, redirect_uri: &str) -> OidcSettingsDto {
    let (role_source, group_roles) = match settings.role_source() {
        RoleSource::Hoheit => ("hoheit", Vec::new()),
        RoleSource::Claims { mapping } => (
            "claims",
            mapping.iter().map(|l| GroupRoleDto { group: l.group.clone(), role: l.role.as_str().to_owned() }).collect(),
        ),
    };
    OidcSettingsDto {
        enabled: settings.enabled(),
        issuer: settings.issuer().to_owned(),
        client_id: settings.client_id().to_owned(),
        client_secret_set: secret_set,
        allowed_email_domains: settings.allowed_email_domains().to_vec(),
        role_source: role_source.to_owned(),
        group_roles,
        groups_claim: settings.groups_claim().to_owned(),
        require_verified_email: settings.require_verified_email(),
        redirect_uri: redirect_uri.to_owned(),
    }
}

/// The tenant's identity provider settings (`404 not_found` when none are set).
#[utoipa::path(get, path = "/settings/oidc", tag = "tenants",
    responses((status = 200, body = OidcSettingsDto), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_oidc_settings(
    State(state): State<AppState>,
    caller: Caller<can::ChangeSettings>,
) -> ApiResult<Json<OidcSettingsDto>> {
    let (settings, secret_set) =
        state.oidc.settings(caller.tenant).await?.ok_or_else(|| ApiError::not_found("oidc settings"))?;
    Ok(Json(dto(&settings, secret_set, state.oidc.redirect_uri())))
}

/// Sets the tenant's identity provider (admin). The secret is sealed with the tenant key and
/// never returned.
#[utoipa::path(put, path = "/settings/oidc", tag = "tenants", request_body = PutOidcSettings,
    responses((status = 200, body = OidcSettingsDto), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn put_oidc_settings(
    State(state): State<AppState>,
    caller: Caller<can::ChangeSettings>,
    ApiJson(body): ApiJson<PutOidcSettings>,
) -> ApiResult<Json<OidcSettingsDto>> {
    let role_source = match body.role_source.as_deref().unwrap_or("hoheit") {
        "hoheit" => RoleSource::Hoheit,
        "claims" => {
            let mut mapping = Vec::with_capacity(body.group_roles.len());
            for line in &body.group_roles {
                let role = Role::parse(&line.role).map_err(|_| ApiError::invalid("group_roles: unknown role"))?;
                mapping.push(GroupRole { group: line.group.trim().to_owned(), role });
            }
            RoleSource::Claims { mapping }
        }
        _ => return Err(ApiError::invalid("role_source: `hoheit` or `claims`")),
    };
    let settings = IdpSettings::new(
        body.enabled,
        &body.issuer,
        &body.client_id,
        &body.allowed_email_domains,
        role_source,
        body.groups_claim.as_deref().unwrap_or("groups"),
        body.require_verified_email.unwrap_or(true),
    )
    .map_err(|e| ApiError::invalid(e.to_string()))?;
    let secret = match body.client_secret {
        Some(s) if s.trim().is_empty() || s.len() > 1024 => {
            return Err(ApiError::invalid("client_secret: 1 to 1024 characters"));
        }
        Some(s) => Some(SecretString::from(s)),
        None => None,
    };
    let had_secret = state.oidc.settings(caller.tenant).await?.is_some_and(|(_, set)| set);
    if secret.is_none() && !had_secret {
        return Err(ApiError::invalid("client_secret is required the first time"));
    }
    state.oidc.save(caller.tenant, &settings, secret.as_ref()).await?;
    tracing::info!(tenant = %caller.tenant, staff = %caller.id, "identity provider settings changed");
    Ok(Json(dto(&settings, true, state.oidc.redirect_uri())))
}
