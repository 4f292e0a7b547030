//! Browser sign-in and sessions as JSON (issue 16), for the pages' htmx calls and for tests:
//! accept an invitation as an account (password, then TOTP set-up where required), sign in
//! (password -> second factor -> session), the current session, extend, change one's password,
//! sign out here or everywhere, one's sessions. The session lives in the `__Host-hoheit_session` cookie (Secure,
//! HttpOnly, SameSite=Lax, Path=/), a new value on every sign-in step (no fixation). Every
//! state-changing call must come from hoheit's own origin (403 `cross_origin`); those made in a
//! session carry its CSRF token in `X-CSRF-Token` (403 `csrf_failed`). Errors never tell an
//! unknown e-mail from a wrong password or a disabled account (401 `sign_in_failed`).

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hoheit_domain::ids::TenantId;
use hoheit_domain::ports::TotpSetup;
use hoheit_domain::staff::{self, SecretText, StaffLanguage};
use hoheit_domain::usecases::{AcceptLocal, NewSession, SecondFactorCode, SessionPrincipal, SignIn};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::{ApiJson, fmt_time, path_id};
use crate::auth::{Auth, SessionCaller};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// The routes of this resource (relative to `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    resource_routes![
        accept_account,
        sign_in,
        second_factor,
        confirm_totp,
        current,
        extend,
        change_password,
        sign_out,
        sign_out_everywhere,
        list_sessions
    ]
}

/// The TOTP set-up to show once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpSetupDto {
    /// The base32 secret (to type in).
    pub secret: String,
    /// The `otpauth://` URI.
    pub uri: String,
    /// Its QR code, an SVG document.
    pub qr_svg: String,
}

impl From<TotpSetup> for TotpSetupDto {
    fn from(t: TotpSetup) -> Self {
        Self { secret: t.secret.expose().to_owned(), uri: t.uri.expose().to_owned(), qr_svg: t.qr_svg }
    }
}

/// A session step's answer (the cookie is in `Set-Cookie`).
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionStep {
    /// `full` (signed in), `second_factor` (send the TOTP or a recovery code next) or
    /// `enrolment` (set up TOTP with `totp`, then confirm).
    pub stage: String,
    /// The session's CSRF token (header `X-CSRF-Token`, form field `csrf_token`).
    pub csrf_token: String,
    /// The account.
    pub staff_id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Its role.
    pub role: String,
    /// When the session ends whatever happens.
    pub expires_at: String,
    /// When it ends without a request.
    pub idle_deadline: String,
    /// For `enrolment`: the TOTP set-up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totp: Option<TotpSetupDto>,
    /// After the TOTP set-up: 10 recovery codes, shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes: Option<Vec<String>>,
}

fn with_cookie(status: StatusCode, session: &NewSession, body: SessionStep) -> Response {
    let mut response = (status, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&staff::session_cookie(&session.cookie)) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn step(session: &NewSession, totp: Option<TotpSetup>, recovery_codes: Option<Vec<SecretText>>) -> SessionStep {
    SessionStep {
        stage: session.stage.as_str().to_owned(),
        csrf_token: session.csrf_token.clone(),
        staff_id: session.staff.to_string(),
        tenant_id: session.tenant.to_string(),
        role: session.role.as_str().to_owned(),
        expires_at: fmt_time(session.expires_at),
        idle_deadline: fmt_time(session.idle_deadline),
        totp: totp.map(TotpSetupDto::from),
        recovery_codes: recovery_codes.map(|c| c.iter().map(|s| s.expose().to_owned()).collect()),
    }
}

/// The client's address as the server saw it (for the per-address sign-in throttle).
#[derive(Debug, Clone, Copy)]
pub struct SourceAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for SourceAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip())))
    }
}

/// The session a state-changing call must come from.
#[derive(Debug, Clone, Copy)]
enum Needs {
    /// One between password and second factor.
    Pending,
    /// A signed-in one.
    Full,
    /// Either (the TOTP set-up: at enrolment, or signed in without TOTP).
    PendingOrFull,
}

impl SessionCaller {
    /// The session cookie (401 `session_invalid` without one).
    fn need_cookie(&self) -> Result<&SecretText, ApiError> {
        self.cookie.as_ref().ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "session_invalid", "no session"))
    }

    fn user_agent(&self) -> Option<String> {
        self.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    /// A state-changing call from hoheit's own origin (403 `cross_origin`).
    fn check_origin(&self) -> ApiResult<()> {
        self.state.auth.check_origin(&self.headers)
    }

    /// A state-changing call in a session: the cookie, the origin, then the CSRF token of the
    /// session `needs` asks for.
    async fn csrf_checked(&self, needs: Needs) -> ApiResult<&SecretText> {
        let cookie = self.need_cookie()?;
        self.check_origin()?;
        let app = &self.state.app;
        let csrf = match needs {
            Needs::Pending => app.pending_session(cookie).await?.csrf_token,
            Needs::Full => app.session(cookie).await?.csrf_token,
            Needs::PendingOrFull => match app.pending_session(cookie).await {
                Ok(p) => p.csrf_token,
                Err(_) => app.session(cookie).await?.csrf_token,
            },
        };
        Auth::check_csrf(&self.headers, &csrf)?;
        Ok(cookie)
    }
}

/// `POST /api/v1/invitations/accept-account`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptAccount {
    /// The invitation secret (`hoi_...`).
    pub invitation: String,
    /// The password (at least 12 characters, not common, not containing the e-mail or name).
    pub password: String,
    /// E-mail: required for an invitation without an invited account (a tenant's first admin).
    #[serde(default)]
    pub email: Option<String>,
    /// Name: required like `email`.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `de` or `en`.
    #[serde(default)]
    pub language: Option<String>,
}

/// Accepts an invitation as a staff account with a local password (the browser path; machine
/// clients keep `POST /invitations/accept`, which returns a token). Sets the session cookie:
/// stage `enrolment` with the TOTP set-up when a second factor is required (admin, DPO;
/// recruiters if the tenant requires it), `full` otherwise.
#[utoipa::path(post, path = "/invitations/accept-account", tag = "session", request_body = AcceptAccount,
    responses((status = 201, body = SessionStep), (status = 400, body = ErrorBody, description = "password_* rules, invalid_input"),
        (status = 403, body = ErrorBody, description = "cross_origin"), (status = 404, body = ErrorBody, description = "invitation_invalid"),
        (status = 409, body = ErrorBody, description = "email_taken"), (status = 410, body = ErrorBody, description = "invitation_used, invitation_expired")))]
pub async fn accept_account(caller: SessionCaller, ApiJson(body): ApiJson<AcceptAccount>) -> ApiResult<Response> {
    caller.check_origin()?;
    let language = body.language.as_deref().map(StaffLanguage::parse).transpose()?;
    let accepted = caller
        .state
        .app
        .accept_invitation_local(AcceptLocal {
            secret: SecretText::new(body.invitation.trim()),
            email: body.email,
            display_name: body.display_name,
            password: SecretText::new(body.password),
            language,
            user_agent: caller.user_agent(),
        })
        .await?;
    let body = step(&accepted.session, accepted.totp, None);
    Ok(with_cookie(StatusCode::CREATED, &accepted.session, body))
}

/// `POST /api/v1/session/sign-in`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInBody {
    /// The tenant (the sign-in page is per tenant).
    pub tenant_id: String,
    /// E-mail.
    pub email: String,
    /// Password.
    pub password: String,
}

/// The password step. Sets a new session cookie (any previous session of this browser ends):
/// stage `second_factor`, `enrolment` (with the TOTP set-up) or `full`. 401 `sign_in_failed`
/// for every failure; 429 `sign_in_throttled` with `retry_after` after repeated failures (per
/// e-mail and per source address, growing delays up to 15 minutes).
#[utoipa::path(post, path = "/session/sign-in", tag = "session", request_body = SignInBody,
    responses((status = 200, body = SessionStep), (status = 401, body = ErrorBody, description = "sign_in_failed"),
        (status = 403, body = ErrorBody, description = "cross_origin"), (status = 429, body = ErrorBody, description = "sign_in_throttled")))]
pub async fn sign_in(
    caller: SessionCaller,
    SourceAddr(source): SourceAddr,
    ApiJson(body): ApiJson<SignInBody>,
) -> ApiResult<Response> {
    caller.check_origin()?;
    let tenant: TenantId = path_id(body.tenant_id.trim(), "tenant")
        .map_err(|_| ApiError::new(StatusCode::UNAUTHORIZED, "sign_in_failed", "sign-in failed"))?;
    let user_agent = caller.user_agent();
    let result = caller
        .state
        .app
        .sign_in_password(SignIn {
            tenant,
            email: body.email,
            password: SecretText::new(body.password),
            source: source.map(|ip| ip.to_string()),
            user_agent,
            previous_cookie: caller.cookie,
        })
        .await?;
    let body = step(&result.session, result.totp, None);
    Ok(with_cookie(StatusCode::OK, &result.session, body))
}

/// `POST /api/v1/session/second-factor`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondFactorBody {
    /// The 6-digit TOTP code, or
    #[serde(default)]
    pub code: Option<String>,
    /// a recovery code (each works once).
    #[serde(default)]
    pub recovery_code: Option<String>,
}

/// The second-factor step of a `second_factor` session (CSRF token of that session required):
/// a new cookie with a `full` session. 400 `second_factor_invalid`; throttled per account.
#[utoipa::path(post, path = "/session/second-factor", tag = "session", request_body = SecondFactorBody,
    responses((status = 200, body = SessionStep), (status = 400, body = ErrorBody, description = "second_factor_invalid"),
        (status = 401, body = ErrorBody, description = "session_invalid"), (status = 403, body = ErrorBody, description = "csrf_failed, cross_origin"),
        (status = 429, body = ErrorBody, description = "sign_in_throttled")))]
pub async fn second_factor(caller: SessionCaller, ApiJson(body): ApiJson<SecondFactorBody>) -> ApiResult<Response> {
    let cookie = caller.csrf_checked(Needs::Pending).await?;
    let code = match (body.code, body.recovery_code) {
        (Some(code), None) => SecondFactorCode::Totp(code),
        (None, Some(code)) => SecondFactorCode::Recovery(SecretText::new(code)),
        _ => return Err(ApiError::invalid("send either code or recovery_code")),
    };
    let session = caller.state.app.sign_in_second_factor(cookie, code).await?;
    let body = step(&session, None, None);
    Ok(with_cookie(StatusCode::OK, &session, body))
}

/// `POST /api/v1/session/totp/confirm`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmTotp {
    /// A current code of the authenticator app.
    pub code: String,
}

/// Confirms the TOTP set-up (an `enrolment` session, or a signed-in account without TOTP):
/// returns 10 recovery codes (shown once) and a new cookie with a `full` session.
#[utoipa::path(post, path = "/session/totp/confirm", tag = "session", request_body = ConfirmTotp,
    responses((status = 200, body = SessionStep), (status = 400, body = ErrorBody, description = "second_factor_invalid"),
        (status = 401, body = ErrorBody, description = "session_invalid"), (status = 403, body = ErrorBody, description = "csrf_failed, cross_origin")))]
pub async fn confirm_totp(caller: SessionCaller, ApiJson(body): ApiJson<ConfirmTotp>) -> ApiResult<Response> {
    let cookie = caller.csrf_checked(Needs::PendingOrFull).await?;
    let enrolled = caller.state.app.confirm_totp(cookie, &body.code).await?;
    let body = step(&enrolled.session, None, Some(enrolled.recovery_codes));
    Ok(with_cookie(StatusCode::OK, &enrolled.session, body))
}

/// The current session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionDto {
    /// The account.
    pub staff_id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Its role.
    pub role: String,
    /// `de` or `en`.
    pub language: String,
    /// The CSRF token for state-changing calls.
    pub csrf_token: String,
    /// `local` or `oidc`.
    pub method: String,
    /// When it ends without a request (the pages warn before).
    pub idle_deadline: String,
    /// When it ends whatever happens.
    pub expires_at: String,
}

impl From<SessionPrincipal> for SessionDto {
    fn from(p: SessionPrincipal) -> Self {
        Self {
            staff_id: p.staff.to_string(),
            tenant_id: p.tenant.to_string(),
            role: p.role.as_str().to_owned(),
            language: p.language.as_str().to_owned(),
            csrf_token: p.csrf_token,
            method: p.method.as_str().to_owned(),
            idle_deadline: fmt_time(p.idle_deadline),
            expires_at: fmt_time(p.expires_at),
        }
    }
}

/// The signed-in session of this browser (401 `session_invalid` if none).
#[utoipa::path(get, path = "/session", tag = "session",
    responses((status = 200, body = SessionDto), (status = 401, body = ErrorBody)), security(("session" = [])))]
pub async fn current(caller: SessionCaller) -> ApiResult<Json<SessionDto>> {
    let cookie = caller.need_cookie()?;
    Ok(Json(caller.state.app.session(cookie).await?.into()))
}

/// "Extend": the idle time-out starts again (never beyond the absolute one).
#[utoipa::path(post, path = "/session/extend", tag = "session",
    responses((status = 200, body = SessionDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = [])))]
pub async fn extend(caller: SessionCaller) -> ApiResult<Json<SessionDto>> {
    let cookie = caller.csrf_checked(Needs::Full).await?;
    Ok(Json(caller.state.app.extend_session(cookie).await?.into()))
}

/// `POST /api/v1/session/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The current password (confirms that the account's holder asks).
    pub current_password: String,
    /// The new password (the rules of the set-up: length, not common, no e-mail or name).
    pub new_password: String,
}

/// Changes one's own password (an account with a local password): the current one confirms it,
/// the new one passes the set-up's rules, every other session of the account ends. Audited
/// `staff.password_changed` (and `session.revoked` for the others). A wrong current password is
/// `401 sign_in_failed`, this session stays.
#[utoipa::path(post, path = "/session/password", tag = "session", request_body = ChangePassword,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = [])))]
pub async fn change_password(caller: SessionCaller, ApiJson(body): ApiJson<ChangePassword>) -> ApiResult<StatusCode> {
    let cookie = caller.csrf_checked(Needs::Full).await?;
    caller
        .state
        .app
        .change_password(cookie, &SecretText::new(body.current_password), &SecretText::new(body.new_password))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn signed_out() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&staff::clear_session_cookie()) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// Signs out here (any stage; the cookie is cleared).
#[utoipa::path(post, path = "/session/sign-out", tag = "session",
    responses((status = 204), (status = 403, body = ErrorBody)), security(("session" = [])))]
pub async fn sign_out(caller: SessionCaller) -> ApiResult<Response> {
    let Some(cookie) = caller.cookie.as_ref() else { return Ok(signed_out()) };
    caller.check_origin()?;
    let csrf = match caller.state.app.pending_session(cookie).await {
        Ok(p) => Some(p.csrf_token),
        Err(_) => caller.state.app.session(cookie).await.ok().map(|p| p.csrf_token),
    };
    if let Some(csrf) = csrf {
        Auth::check_csrf(&caller.headers, &csrf)?;
        caller.state.app.sign_out(cookie).await?;
    }
    Ok(signed_out())
}

/// Signs out everywhere: every session of the account ends.
#[utoipa::path(post, path = "/session/sign-out-everywhere", tag = "session",
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("session" = [])))]
pub async fn sign_out_everywhere(caller: SessionCaller) -> ApiResult<Response> {
    let cookie = caller.csrf_checked(Needs::Full).await?;
    caller.state.app.sign_out_everywhere(cookie).await?;
    Ok(signed_out())
}

/// One of one's sessions.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionListItem {
    /// Public id.
    pub id: String,
    /// Created.
    pub created_at: String,
    /// Last request.
    pub last_seen_at: String,
    /// Ends at the latest.
    pub expires_at: String,
    /// Browser family (`Firefox`, `Chrome`, ...; no address is kept).
    pub user_agent: String,
    /// `local` or `oidc`.
    pub method: String,
    /// Whether it is this browser's.
    pub current: bool,
}

/// One's sessions in force, newest first.
#[utoipa::path(get, path = "/session/list", tag = "session",
    responses((status = 200, body = [SessionListItem]), (status = 401, body = ErrorBody)), security(("session" = [])))]
pub async fn list_sessions(caller: SessionCaller) -> ApiResult<Json<Vec<SessionListItem>>> {
    let cookie = caller.need_cookie()?;
    let sessions = caller.state.app.my_sessions(cookie).await?;
    Ok(Json(
        sessions
            .into_iter()
            .map(|s| SessionListItem {
                id: s.id.to_string(),
                created_at: fmt_time(s.created_at),
                last_seen_at: fmt_time(s.last_seen_at),
                expires_at: fmt_time(s.expires_at),
                user_agent: s.user_agent,
                method: s.method.as_str().to_owned(),
                current: s.current,
            })
            .collect(),
    ))
}
