//! Staff sign-in through a tenant's identity provider (OpenID Connect, issue 16): the browser
//! routes `GET /auth/oidc/{tenant}/start` and `GET /auth/oidc/callback`, and the per-tenant
//! relying parties ([`hoheit_oidc::OidcClient`], built from the tenant's sealed settings and
//! cached until the settings change).
//!
//! The start route keeps the pending sign-in server-side (sealed, `oidc_pending_logins`) and
//! redirects to the provider; the callback takes it out (once, on any replica), lets the client
//! verify everything, applies the tenant's role rule ([`hoheit_domain::idp::RoleSource`]), and
//! hands the verified identity to the accounts use case (bind on invitation accept, or find by
//! issuer and subject), which creates the session; the cookie is set here. Failures redirect to
//! `/signin?tenant=<id>&oidc_error=<code>` with a deliberately coarse code (no enumeration); the
//! exact reason is logged by code only (never a token, code, state or e-mail).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hoheit_domain::idp::{IdpSettings, RoleDecision};
use hoheit_domain::ids::TenantId;
use hoheit_domain::ports::{Clock, StoreError};
use hoheit_domain::staff::{SecretText, session_cookie, session_cookie_value};
use hoheit_domain::usecases::VerifiedIdentity as AccountIdentity;
use hoheit_domain::values::Pii;
use hoheit_oidc::{CallbackParams, OidcClient, OidcError, OidcTimings, PendingLogin, ProviderConfig, SecretString};
use serde::{Deserialize, Serialize};

use crate::config::OidcConfig;
use crate::ports::IdpStore;
use crate::state::AppState;

/// The callback path (the redirect URI is the public URL plus this).
pub const CALLBACK_PATH: &str = "/auth/oidc/callback";

/// What is kept server-side between start and callback.
#[derive(Serialize, Deserialize)]
struct PendingRecord {
    pending: PendingLogin,
    /// An invitation being accepted by binding the provider's account.
    invitation: Option<String>,
}

/// The per-tenant relying parties and the store behind them.
pub struct OidcLogins {
    store: Arc<dyn IdpStore>,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    timings: OidcTimings,
    allow_insecure_loopback: bool,
    redirect_uri: String,
    clients: Mutex<HashMap<TenantId, Arc<OidcClient>>>,
}

impl std::fmt::Debug for OidcLogins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcLogins").field("redirect_uri", &self.redirect_uri).finish_non_exhaustive()
    }
}

/// Why a sign-in could not start.
#[derive(Debug)]
pub enum StartError {
    /// No enabled settings for the tenant.
    NotConfigured,
    /// The provider (or its settings) failed.
    Oidc(OidcError),
    /// The database failed.
    Store(StoreError),
}

impl OidcLogins {
    /// Relying parties for every tenant, calling back to `<public_url>/auth/oidc/callback`.
    pub fn new(
        store: Arc<dyn IdpStore>,
        clock: Arc<dyn Clock>,
        config: &OidcConfig,
        public_url: &str,
    ) -> Result<Self, OidcError> {
        let timings = OidcTimings {
            request_timeout: Duration::from_secs(config.request_timeout_seconds.max(1)),
            pending_ttl: Duration::from_secs(config.pending_minutes.max(1) * 60),
            ..OidcTimings::default()
        };
        Ok(Self {
            store,
            clock,
            http: hoheit_oidc::http_client(timings.request_timeout)?,
            timings,
            allow_insecure_loopback: config.allow_insecure_loopback,
            redirect_uri: format!("{}{CALLBACK_PATH}", public_url.trim_end_matches('/')),
            clients: Mutex::new(HashMap::new()),
        })
    }

    /// The redirect URI to register at the providers.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The tenant's settings, and whether a client secret is stored.
    pub async fn settings(&self, tenant: TenantId) -> Result<Option<(IdpSettings, bool)>, StoreError> {
        Ok(self.store.idp_settings(tenant).await?.map(|(s, secret)| (s, secret.is_some())))
    }

    /// Whether the tenant's users can sign in through its provider (for the sign-in page).
    pub async fn enabled(&self, tenant: TenantId) -> bool {
        matches!(self.settings(tenant).await, Ok(Some((s, true))) if s.enabled())
    }

    /// Stores the tenant's settings (`client_secret` `None`: keep) and drops the cached client.
    pub async fn save(
        &self,
        tenant: TenantId,
        settings: &IdpSettings,
        client_secret: Option<&SecretString>,
    ) -> Result<(), StoreError> {
        self.store.save_idp_settings(tenant, settings, client_secret, self.clock.now()).await?;
        self.clients.lock().unwrap_or_else(PoisonError::into_inner).remove(&tenant);
        Ok(())
    }

    async fn client(&self, tenant: TenantId) -> Result<(Arc<OidcClient>, IdpSettings), StartError> {
        let Some((settings, Some(secret))) = self.store.idp_settings(tenant).await.map_err(StartError::Store)? else {
            return Err(StartError::NotConfigured);
        };
        if !settings.enabled() {
            return Err(StartError::NotConfigured);
        }
        if let Some(client) = self.clients.lock().unwrap_or_else(PoisonError::into_inner).get(&tenant) {
            return Ok((Arc::clone(client), settings));
        }
        let config = ProviderConfig::new(settings.issuer(), settings.client_id(), secret, &self.redirect_uri)
            .and_then(|c| c.with_insecure_loopback(self.allow_insecure_loopback))
            .and_then(|c| c.with_allowed_email_domains(settings.allowed_email_domains()))
            .map(|c| {
                c.with_groups_claim(settings.groups_claim())
                    .with_require_verified_email(settings.require_verified_email())
            })
            .map_err(StartError::Oidc)?;
        let client = Arc::new(OidcClient::new(config, self.timings, self.http.clone(), Arc::clone(&self.clock)));
        self.clients.lock().unwrap_or_else(PoisonError::into_inner).insert(tenant, Arc::clone(&client));
        Ok((client, settings))
    }

    /// Starts a sign-in: the provider's URL; the pending sign-in is stored.
    pub async fn begin(
        &self,
        tenant: TenantId,
        return_to: Option<String>,
        invitation: Option<String>,
    ) -> Result<String, StartError> {
        let (client, _) = self.client(tenant).await?;
        let request = client.begin(return_to).await.map_err(StartError::Oidc)?;
        let record = PendingRecord { pending: request.pending, invitation };
        let data = serde_json::to_vec(&record).map_err(|_| StartError::Store(StoreError::Corrupt("pending".into())))?;
        let now = self.clock.now();
        self.store.put_pending_login(tenant, record.pending.state(), &data, now).await.map_err(StartError::Store)?;
        // opportunistic clean-up of abandoned sign-ins
        let cutoff = now - self.timings.pending_ttl;
        if let Err(e) = self.store.purge_pending_logins(cutoff).await {
            tracing::warn!(error = %e, "could not purge old pending sign-ins");
        }
        Ok(request.url.to_string())
    }
}

/// Only a local path (`/x`, not `//host` or `/\host`) is a place to return to.
fn local_path(value: Option<String>) -> Option<String> {
    value.filter(|p| {
        p.starts_with('/')
            && !p.starts_with("//")
            && !p.starts_with("/\\")
            && p.len() <= 512
            && !p.chars().any(|c| c.is_control() || c == '\\')
    })
}

/// Query of the start route.
#[derive(Debug, Deserialize)]
pub struct StartQuery {
    return_to: Option<String>,
    invitation: Option<String>,
}

fn redirect(to: &str) -> Response {
    match HeaderValue::from_str(to) {
        Ok(location) => (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, location), (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn failed(tenant: Option<TenantId>, code: &str) -> Response {
    match tenant {
        Some(t) => redirect(&format!("/signin?tenant={t}&oidc_error={code}")),
        None => redirect(&format!("/signin?oidc_error={code}")),
    }
}

fn page(status: StatusCode, code: &str, de: &str, en: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"de\"><head><meta charset=\"utf-8\"><title>hoheit</title></head>\
<body><main><h1>Anmeldung nicht möglich</h1><p>{de}</p><p lang=\"en\">{en}</p><p><code>{code}</code></p></main></body></html>"
    );
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], body)
        .into_response()
}

/// `GET /auth/oidc/{tenant}/start`: redirects to the tenant's identity provider.
pub async fn start(State(state): State<AppState>, Path(tenant): Path<String>, Query(q): Query<StartQuery>) -> Response {
    let Ok(tenant) = tenant.parse::<TenantId>() else {
        return page(
            StatusCode::NOT_FOUND,
            "oidc_not_configured",
            "Für diese Organisation ist keine Anmeldung über ein Unternehmenskonto eingerichtet.",
            "Sign-in with a company account is not set up for this organisation.",
        );
    };
    let invitation = q.invitation.filter(|i| !i.is_empty() && i.len() <= 256);
    match state.oidc.begin(tenant, local_path(q.return_to), invitation).await {
        Ok(url) => redirect(&url),
        Err(StartError::NotConfigured) => page(
            StatusCode::NOT_FOUND,
            "oidc_not_configured",
            "Für diese Organisation ist keine Anmeldung über ein Unternehmenskonto eingerichtet.",
            "Sign-in with a company account is not set up for this organisation.",
        ),
        Err(StartError::Oidc(e)) => {
            tracing::warn!(code = e.code(), tenant = %tenant, "OIDC sign-in could not start");
            let code =
                if matches!(e, OidcError::ProviderUnavailable) { "provider_unavailable" } else { "sign_in_failed" };
            failed(Some(tenant), code)
        }
        Err(StartError::Store(e)) => {
            tracing::error!(error = %e, "OIDC sign-in could not start");
            failed(Some(tenant), "sign_in_failed")
        }
    }
}

/// The browser-facing code of a validation failure: coarse on purpose.
fn browser_code(e: &OidcError) -> &'static str {
    match e {
        OidcError::StateMismatch => "state_mismatch",
        OidcError::PendingExpired => "pending_expired",
        OidcError::ProviderError(_) => "provider_error",
        OidcError::ProviderUnavailable => "provider_unavailable",
        OidcError::EmailDomainNotAllowed => "email_domain_not_allowed",
        OidcError::EmailNotVerified => "email_not_verified",
        OidcError::InvalidConfig(_)
        | OidcError::WrongIssuer
        | OidcError::WrongAudience
        | OidcError::Expired
        | OidcError::BadSignature
        | OidcError::UnknownKey
        | OidcError::NonceMismatch
        | OidcError::AtHashMismatch
        | OidcError::InvalidToken
        | OidcError::CodeRejected => "sign_in_failed",
    }
}

/// `GET /auth/oidc/callback`: completes the sign-in and sets the session cookie.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<CallbackParams>,
) -> Response {
    let Some(state_param) = params.state.clone().filter(|s| !s.is_empty() && s.len() <= 256) else {
        return failed(None, "state_mismatch");
    };
    let taken = match state.oidc.store.take_pending_login(&state_param).await {
        Ok(Some(taken)) => taken,
        Ok(None) => {
            tracing::warn!(code = "state_mismatch", "OIDC callback with an unknown or used state");
            return failed(None, "state_mismatch");
        }
        Err(e) => {
            tracing::error!(error = %e, "OIDC callback: pending sign-in not readable");
            return failed(None, "sign_in_failed");
        }
    };
    let (tenant, data, _) = taken;
    let Ok(record) = serde_json::from_slice::<PendingRecord>(&data) else {
        return failed(Some(tenant), "sign_in_failed");
    };
    let return_to = local_path(record.pending.return_to().map(str::to_owned)).unwrap_or_else(|| "/".to_owned());
    let (client, settings) = match state.oidc.client(tenant).await {
        Ok(found) => found,
        Err(StartError::NotConfigured) => return failed(Some(tenant), "sign_in_failed"),
        Err(StartError::Oidc(e)) => return failed(Some(tenant), browser_code(&e)),
        Err(StartError::Store(e)) => {
            tracing::error!(error = %e, "OIDC callback: settings not readable");
            return failed(Some(tenant), "sign_in_failed");
        }
    };
    let identity = match client.complete_callback(record.pending, &params).await {
        Ok(identity) => identity,
        Err(e) => {
            tracing::warn!(code = e.code(), tenant = %tenant, "OIDC sign-in refused");
            return failed(Some(tenant), browser_code(&e));
        }
    };
    let decision = settings.role_source().decide(&identity.groups);
    if matches!(decision, RoleDecision::NoRole | RoleDecision::Ambiguous) {
        tracing::warn!(tenant = %tenant, decision = ?decision, "OIDC sign-in refused by the role mapping");
        return failed(Some(tenant), "not_permitted");
    }
    let user_agent =
        headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|s| s.chars().take(256).collect());
    let account_identity = AccountIdentity {
        tenant,
        issuer: identity.issuer,
        subject: Pii::new(identity.subject),
        email: identity.email.map(Pii::new),
        name: identity.name.map(Pii::new),
        groups: identity.groups,
        user_agent,
        source: None,
    };
    let previous = headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).and_then(session_cookie_value);
    let result = match record.invitation {
        Some(secret) => {
            state.app.accept_invitation_idp(&SecretText::new(secret), account_identity).await.map(|(_, s)| s)
        }
        None => state.app.sign_in_idp(account_identity, previous.as_ref()).await,
    };
    let session = match result {
        Ok(session) => session,
        Err(e) => {
            tracing::warn!(code = e.code(), tenant = %tenant, "OIDC sign-in: no usable account");
            let code = match e.code() {
                code @ ("invitation_invalid" | "invitation_used" | "invitation_expired" | "identity_taken") => code,
                _ => "not_permitted",
            };
            return failed(Some(tenant), code);
        }
    };
    if let RoleDecision::Role(role) = decision
        && role != session.role
    {
        // Roles are not changed from claims automatically: a mismatch refuses (fail safe).
        tracing::warn!(tenant = %tenant, "OIDC sign-in refused: the mapped role differs from the account's role");
        if let Err(e) = state.app.sign_out(&session.cookie).await {
            tracing::error!(code = e.code(), "could not end the refused session");
        }
        return failed(Some(tenant), "not_permitted");
    }
    match HeaderValue::from_str(&session_cookie(&session.cookie)) {
        Ok(cookie) => {
            let mut response = redirect(&return_to);
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response
        }
        Err(_) => failed(Some(tenant), "sign_in_failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(local_path(Some("/inbox?x=1".into())).as_deref(), Some("/inbox?x=1"));
        for bad in ["//evil.example", "/\\evil.example", "https://evil.example/", "inbox", "/a\nb", ""] {
            assert_eq!(local_path(Some(bad.into())), None, "{bad}");
        }
        assert_eq!(local_path(None), None);
    }

    #[test]
    fn browser_codes_are_coarse() {
        assert_eq!(browser_code(&OidcError::WrongIssuer), "sign_in_failed");
        assert_eq!(browser_code(&OidcError::NonceMismatch), "sign_in_failed");
        assert_eq!(browser_code(&OidcError::EmailDomainNotAllowed), "email_domain_not_allowed");
        assert_eq!(browser_code(&OidcError::StateMismatch), "state_mismatch");
    }
}
