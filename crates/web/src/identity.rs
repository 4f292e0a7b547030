//! The identity pages (issue 16 item 6): sign-in (password, then second factor or recovery
//! code; or the identity provider), accepting an invitation (password, TOTP set-up with a QR code
//! rendered on the server, recovery codes shown once), one's own sessions (end one, sign out
//! everywhere, extend), sign-out, the signed-in start page per role and the admins' staff page.
//!
//! Every rule is the domain's (`hoheit_domain::usecases::Hoheit`); these handlers translate forms
//! and cookies. Every POST passes the same-origin check, and with a session cookie also the
//! session's CSRF token (hidden field `csrf_token`). Errors are generic texts per stable code
//! ([`error_text`]); no page names whether an e-mail address has an account.

use std::net::SocketAddr;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hoheit_domain::actor::Role;
use hoheit_domain::ids::TenantId;
use hoheit_domain::staff::{
    SecretText, SessionStage, SignInMethod, StaffLanguage, StaffStatus, clear_session_cookie, csrf_matches, csrf_token,
    session_cookie, session_cookie_value,
};
use hoheit_domain::usecases::{
    AcceptLocal, AccountError, Hoheit, SecondFactorCode, SessionPrincipal, SignIn, StaffInvite,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::WebState;
use crate::i18n::{Lang, Messages};
use crate::pages::{Layout, cookie, language, message};

/// The cookie that remembers the tenant of the last sign-in page (its id, not personal data).
pub(crate) const TENANT_COOKIE: &str = "hoheit_tenant";

/// What every handler learns about the request besides its form.
#[derive(Debug)]
pub(crate) struct Client {
    pub headers: HeaderMap,
    pub path: String,
    pub source: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let source = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
        let path = parts.uri.path_and_query().map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned());
        Ok(Client { headers: parts.headers.clone(), path, source })
    }
}

impl Client {
    fn user_agent(&self) -> Option<String> {
        self.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    pub(crate) fn cookie(&self) -> Option<SecretText> {
        self.headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(session_cookie_value)
    }
}

/// A request's valid, fully signed-in session.
#[derive(Debug)]
pub(crate) struct Signed {
    pub cookie: SecretText,
    pub principal: SessionPrincipal,
}

impl Signed {
    pub(crate) fn lang(&self) -> Lang {
        lang_of(self.principal.language)
    }
}

pub(crate) fn lang_of(language: StaffLanguage) -> Lang {
    match language {
        StaffLanguage::De => Lang::De,
        StaffLanguage::En => Lang::En,
    }
}

pub(crate) fn staff_language(lang: Lang) -> StaffLanguage {
    match lang {
        Lang::De => StaffLanguage::De,
        Lang::En => StaffLanguage::En,
    }
}

/// The signed-in session of a request, if any.
pub(crate) async fn signed_in(app: &Hoheit, client: &Client) -> Option<Signed> {
    let cookie = client.cookie()?;
    let principal = app.session(&cookie).await.ok()?;
    Some(Signed { cookie, principal })
}

/// The same-origin check of every POST (see [`crate::security::same_origin`]).
fn origin_ok(state: &WebState, client: &Client) -> bool {
    crate::security::same_origin(&client.headers, state.settings().public_origin.as_deref())
}

/// Whether a POST made with a session cookie carries that session's CSRF token.
fn csrf_ok(cookie: &SecretText, presented: &str) -> bool {
    csrf_matches(&csrf_token(cookie), presented)
}

pub(crate) fn see_other(location: &str) -> Response {
    Redirect::to(location).into_response()
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

pub(crate) fn forbidden(lang: Lang) -> Response {
    let t = lang.messages();
    message(lang, "/".to_owned(), StatusCode::FORBIDDEN, t.forbidden_title, t.forbidden_text)
}

/// The German or English text for an account error's stable code (never the error's own
/// English message, never personal data).
pub(crate) fn error_text(t: &'static Messages, error: &AccountError) -> &'static str {
    match error.code() {
        "sign_in_failed" | "session_invalid" => t.err_sign_in_failed,
        "sign_in_throttled" => t.err_throttled,
        "second_factor_invalid" => t.err_code,
        "invitation_invalid" | "invitation_used" | "invitation_expired" => t.err_invitation,
        "email_taken" => t.err_email_taken,
        "password_too_short" => t.err_password_short,
        "password_too_long" => t.err_password_long,
        "password_common" => t.err_password_common,
        "password_contains_personal_data" => t.err_password_personal,
        "forbidden" | "last_active_admin" | "account_disabled" => t.err_forbidden,
        "dpo_not_independent" => t.err_dpo_independent,
        "invalid" | "invalid_role" | "not_found" => t.err_invalid,
        "accounts_not_configured" => t.err_not_configured,
        _ => t.err_internal,
    }
}

pub(crate) fn status_of(error: &AccountError) -> StatusCode {
    match error.code() {
        "sign_in_failed" | "second_factor_invalid" | "session_invalid" => StatusCode::UNAUTHORIZED,
        "sign_in_throttled" => StatusCode::TOO_MANY_REQUESTS,
        "forbidden" | "last_active_admin" | "dpo_not_independent" | "account_disabled" => StatusCode::FORBIDDEN,
        "invitation_invalid" => StatusCode::NOT_FOUND,
        "invitation_used" | "invitation_expired" => StatusCode::GONE,
        "email_taken" | "conflict" => StatusCode::CONFLICT,
        "accounts_not_configured" => StatusCode::SERVICE_UNAVAILABLE,
        "internal" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

pub(crate) fn role_name(t: &'static Messages, role: Role) -> &'static str {
    match role {
        Role::Admin => t.role_admin,
        Role::Dpo => t.role_dpo,
        Role::Recruiter | Role::Operator => t.role_recruiter,
    }
}

/// The layout of a signed-in page: navigation, sign-out, CSRF token.
pub(crate) fn signed_layout(state: &WebState, signed: &Signed, path: String) -> Layout {
    let lang = signed.lang();
    let t = lang.messages();
    let mut l = Layout::new(lang, path);
    l.csrf = Some(csrf_token(&signed.cookie));
    // the warnings' delays come from the domain's clock (the browser's clock may be off)
    let now = state.app().map_or(signed.principal.idle_deadline, |app| app.clock().now());
    let warn_in =
        |deadline: time::OffsetDateTime| (deadline - now - state.settings().session_warning).whole_seconds().max(0);
    l.nav = Some(crate::pages::Nav {
        is_admin: signed.principal.role == Role::Admin,
        inbox: crate::inbox::offered_to(signed.principal.role),
        console: crate::console::offered_to(signed.principal.role),
        local_password: signed.principal.method == SignInMethod::Local,
        role: role_name(t, signed.principal.role),
        idle_until: state.settings().time_zone.time(lang, signed.principal.idle_deadline),
        expires: state.settings().time_zone.time(lang, signed.principal.expires_at),
        idle_warn_in: warn_in(signed.principal.idle_deadline),
        absolute_warn_in: warn_in(signed.principal.expires_at),
    });
    l
}

// ---------------------------------------------------------------------------------------------
// Start page

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct Home {
    l: Layout,
    name: String,
    role: &'static str,
    idle_until: String,
    expires: String,
}

/// `GET /`: the start page for a signed-in person (per role), else the public welcome page.
pub(crate) async fn start(State(state): State<WebState>, client: Client) -> Response {
    let Some(app) = state.app() else { return crate::pages::welcome_page(&state, &client.headers, client.path) };
    let Some(signed) = signed_in(app, &client).await else {
        return crate::pages::welcome_page(&state, &client.headers, client.path);
    };
    let lang = signed.lang();
    let t = lang.messages();
    let p = &signed.principal;
    // the person's own name (personal data, shown to the person only)
    let name = app
        .staff_member(p.actor(), p.tenant, p.staff)
        .await
        .map(|v| v.display_name.expose().clone())
        .unwrap_or_default();
    let zone = &state.settings().time_zone;
    Home {
        idle_until: zone.time(lang, p.idle_deadline),
        expires: zone.date_time(lang, p.expires_at),
        role: role_name(t, p.role),
        name,
        l: signed_layout(&state, &signed, client.path),
    }
    .into_response()
}

// ---------------------------------------------------------------------------------------------
// Sign-in

#[derive(Template, WebTemplate)]
#[template(path = "signin.html")]
struct SignInPage {
    l: Layout,
    tenant: Option<String>,
    error: Option<&'static str>,
    notice: Option<&'static str>,
    email: String,
}

/// Query of the sign-in page.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct SignInQuery {
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    oidc_error: Option<String>,
    #[serde(default)]
    notice: Option<String>,
}

fn oidc_error_text(t: &'static Messages, code: &str) -> &'static str {
    match code {
        "email_domain_not_allowed" => t.err_oidc_domain,
        "pending_expired" => t.err_oidc_expired,
        "provider_unavailable" => t.err_oidc_unavailable,
        _ => t.err_oidc,
    }
}

fn notice_text(t: &'static Messages, code: &str) -> Option<&'static str> {
    match code {
        "signed_out" => Some(t.signed_out),
        "everywhere" => Some(t.signed_out_everywhere),
        "expired" => Some(t.session_expired),
        _ => None,
    }
}

fn parse_tenant(value: &str) -> Option<TenantId> {
    Uuid::parse_str(value.trim()).ok().map(TenantId::from_uuid)
}

/// `GET /signin?tenant=<id>`: the sign-in form of a tenant (the tenant is remembered in a cookie
/// for the next visit); without one, a form asking for the company identifier.
pub(crate) async fn signin_page(
    State(state): State<WebState>,
    client: Client,
    Query(q): Query<SignInQuery>,
) -> Response {
    let lang = language(&state, &client.headers);
    let t = lang.messages();
    let tenant = q
        .tenant
        .as_deref()
        .and_then(parse_tenant)
        .or_else(|| cookie(&client.headers, TENANT_COOKIE).as_deref().and_then(parse_tenant));
    let error = q.oidc_error.as_deref().map(|c| oidc_error_text(t, c));
    let notice = q.notice.as_deref().and_then(|n| notice_text(t, n));
    let page = SignInPage {
        l: Layout::new(lang, client.path),
        tenant: tenant.map(|t| t.to_string()),
        error,
        notice,
        email: String::new(),
    };
    let status = if error.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    let mut response = (status, page).into_response();
    if let Some(tenant) = tenant {
        response = with_cookie(
            response,
            &format!("{TENANT_COOKIE}={tenant}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly"),
        );
    }
    response
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub(crate) struct SignInForm {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// `POST /signin`: the password step. The session cookie is set (a new id; any previous session
/// of this browser is revoked) and the browser goes to the second factor, the TOTP set-up, or the
/// start page.
pub(crate) async fn signin(State(state): State<WebState>, client: Client, Form(form): Form<SignInForm>) -> Response {
    let lang = language(&state, &client.headers);
    let t = lang.messages();
    if !origin_ok(&state, &client) {
        return forbidden(lang);
    }
    let Some(app) = state.app() else {
        return render_signin_error(
            lang,
            client.path,
            None,
            &form.email,
            t.err_not_configured,
            StatusCode::SERVICE_UNAVAILABLE,
        );
    };
    let Some(tenant) = parse_tenant(&form.tenant) else {
        return render_signin_error(
            lang,
            client.path,
            None,
            &form.email,
            t.err_sign_in_failed,
            StatusCode::UNAUTHORIZED,
        );
    };
    let input = SignIn {
        tenant,
        email: form.email.clone(),
        password: SecretText::new(form.password),
        source: client.source.clone(),
        user_agent: client.user_agent(),
        previous_cookie: client.cookie(),
    };
    match app.sign_in_password(input).await {
        Ok(step) => {
            let next = match step.session.stage {
                SessionStage::SecondFactor => "/signin/code",
                SessionStage::Enrolment => "/setup/totp",
                SessionStage::Full => "/",
            };
            with_cookie(see_other(next), &session_cookie(&step.session.cookie))
        }
        Err(e) => render_signin_error(
            lang,
            client.path,
            Some(tenant.to_string()),
            &form.email,
            error_text(t, &e),
            status_of(&e),
        ),
    }
}

fn render_signin_error(
    lang: Lang,
    path: String,
    tenant: Option<String>,
    email: &str,
    error: &'static str,
    status: StatusCode,
) -> Response {
    let page =
        SignInPage { l: Layout::new(lang, path), tenant, error: Some(error), notice: None, email: email.to_owned() };
    (status, page).into_response()
}

#[derive(Template, WebTemplate)]
#[template(path = "code.html")]
struct CodePage {
    l: Layout,
    recovery: bool,
    error: Option<&'static str>,
}

/// `GET /signin/code` and `GET /signin/recovery`: the second step (a pending session only).
async fn code_page(state: &WebState, client: Client, recovery: bool) -> Response {
    let (Some(app), Some(cookie)) = (state.app(), client.cookie()) else {
        return see_other("/signin?notice=expired");
    };
    match app.pending_session(&cookie).await {
        Ok(p) if p.stage == SessionStage::SecondFactor => {
            let lang = lang_of(p.language);
            let mut l = Layout::new(lang, client.path);
            l.csrf = Some(p.csrf_token);
            CodePage { l, recovery, error: None }.into_response()
        }
        Ok(p) if p.stage == SessionStage::Enrolment => see_other("/setup/totp"),
        Ok(_) | Err(_) => see_other("/signin?notice=expired"),
    }
}

pub(crate) async fn code_form(State(state): State<WebState>, client: Client) -> Response {
    code_page(&state, client, false).await
}

pub(crate) async fn recovery_form(State(state): State<WebState>, client: Client) -> Response {
    code_page(&state, client, true).await
}

/// The second-factor form.
#[derive(Debug, Deserialize)]
pub(crate) struct CodeForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    code: String,
}

async fn submit_code(state: &WebState, client: Client, form: CodeForm, recovery: bool) -> Response {
    let lang = language(state, &client.headers);
    let (Some(app), Some(cookie)) = (state.app(), client.cookie()) else {
        return see_other("/signin?notice=expired");
    };
    if !origin_ok(state, &client) || !csrf_ok(&cookie, &form.csrf_token) {
        return forbidden(lang);
    }
    let code = if recovery {
        SecondFactorCode::Recovery(SecretText::new(form.code.trim()))
    } else {
        SecondFactorCode::Totp(form.code.split_whitespace().collect())
    };
    match app.sign_in_second_factor(&cookie, code).await {
        Ok(session) => with_cookie(see_other("/"), &session_cookie(&session.cookie)),
        Err(AccountError::SessionInvalid) => see_other("/signin?notice=expired"),
        Err(e) => {
            let lang = app.pending_session(&cookie).await.map_or(lang, |p| lang_of(p.language));
            let mut l = Layout::new(lang, client.path);
            l.csrf = Some(csrf_token(&cookie));
            (status_of(&e), CodePage { l, recovery, error: Some(error_text(lang.messages(), &e)) }).into_response()
        }
    }
}

pub(crate) async fn code_submit(State(state): State<WebState>, client: Client, Form(form): Form<CodeForm>) -> Response {
    submit_code(&state, client, form, false).await
}

pub(crate) async fn recovery_submit(
    State(state): State<WebState>,
    client: Client,
    Form(form): Form<CodeForm>,
) -> Response {
    submit_code(&state, client, form, true).await
}

// ---------------------------------------------------------------------------------------------
// Invitations and the TOTP set-up

#[derive(Template, WebTemplate)]
#[template(path = "accept.html")]
struct AcceptPage {
    l: Layout,
    role: &'static str,
    /// The invited e-mail (shown, not editable) when an admin invited with one.
    known_email: Option<String>,
    email: String,
    display_name: String,
    action: String,
    oidc_link: String,
    error: Option<&'static str>,
}

fn invitation_paths(tenant: TenantId, secret: &str) -> (String, String) {
    let enc = percent_encode(secret);
    (format!("/invitation/{enc}"), format!("/auth/oidc/{tenant}/start?invitation={enc}"))
}

/// Percent-encodes everything but unreserved characters (the secrets are base64url anyway).
fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `GET /invitation/{secret}`: what the invitation is for, and the form to accept it.
pub(crate) async fn accept_page(State(state): State<WebState>, client: Client, Path(secret): Path<String>) -> Response {
    let lang = language(&state, &client.headers);
    let t = lang.messages();
    let Some(app) = state.app() else {
        return message(lang, "/".to_owned(), StatusCode::SERVICE_UNAVAILABLE, t.accept_title, t.err_not_configured);
    };
    let secret = SecretText::new(secret);
    match app.invitation_preview(&secret).await {
        Ok((invitation, account)) => {
            let (action, oidc_link) = invitation_paths(invitation.tenant, secret.expose());
            let lang = account.as_ref().map_or(lang, |a| lang_of(a.language));
            let t = lang.messages();
            AcceptPage {
                l: Layout::new(lang, "/".to_owned()),
                role: role_name(t, invitation.role),
                known_email: account.as_ref().map(|a| a.email.expose().as_str().to_owned()),
                email: String::new(),
                display_name: account.map(|a| a.display_name.expose().clone()).unwrap_or_default(),
                action,
                oidc_link,
                error: None,
            }
            .into_response()
        }
        Err(e) => message(lang, "/".to_owned(), status_of(&e), t.accept_title, error_text(t, &e)),
    }
}

/// The accept form.
#[derive(Debug, Deserialize)]
pub(crate) struct AcceptForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_repeat: String,
}

/// `POST /invitation/{secret}`: accepts with a local password; next the TOTP set-up where
/// required, else the start page.
pub(crate) async fn accept(
    State(state): State<WebState>,
    client: Client,
    Path(secret): Path<String>,
    Form(form): Form<AcceptForm>,
) -> Response {
    let lang = language(&state, &client.headers);
    let t = lang.messages();
    if !origin_ok(&state, &client) {
        return forbidden(lang);
    }
    let Some(app) = state.app() else {
        return message(lang, "/".to_owned(), StatusCode::SERVICE_UNAVAILABLE, t.accept_title, t.err_not_configured);
    };
    let secret = SecretText::new(secret);
    let preview = match app.invitation_preview(&secret).await {
        Ok(p) => p,
        Err(e) => return message(lang, "/".to_owned(), status_of(&e), t.accept_title, error_text(t, &e)),
    };
    let (invitation, account) = preview;
    let lang = account.as_ref().map_or(lang, |a| lang_of(a.language));
    let t = lang.messages();
    let again = |error: &'static str, status: StatusCode| {
        let (action, oidc_link) = invitation_paths(invitation.tenant, secret.expose());
        let page = AcceptPage {
            l: Layout::new(lang, "/".to_owned()),
            role: role_name(t, invitation.role),
            known_email: account.as_ref().map(|a| a.email.expose().as_str().to_owned()),
            email: form.email.clone(),
            display_name: form.display_name.clone(),
            action,
            oidc_link,
            error: Some(error),
        };
        (status, page).into_response()
    };
    if form.password != form.password_repeat {
        return again(t.err_password_mismatch, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let input = AcceptLocal {
        secret: secret.clone(),
        email: account.is_none().then(|| form.email.clone()),
        display_name: Some(form.display_name.clone()).filter(|n| !n.trim().is_empty()),
        password: SecretText::new(form.password.clone()),
        language: Some(staff_language(lang)),
        user_agent: client.user_agent(),
    };
    match app.accept_invitation_local(input).await {
        Ok(accepted) => {
            let next = if accepted.session.stage == SessionStage::Enrolment { "/setup/totp" } else { "/" };
            let response = with_cookie(see_other(next), &session_cookie(&accepted.session.cookie));
            with_cookie(
                response,
                &format!("{TENANT_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly", invitation.tenant),
            )
        }
        Err(e) => again(error_text(t, &e), status_of(&e)),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "totp.html")]
struct TotpPage {
    l: Layout,
    qr_url: &'static str,
    secret: String,
    error: Option<&'static str>,
}

/// The session of a TOTP set-up: a pending one at `Enrolment`, or a full one (voluntary set-up).
async fn setup_session(app: &Hoheit, cookie: &SecretText) -> Option<Lang> {
    match app.pending_session(cookie).await {
        Ok(p) if p.stage == SessionStage::Enrolment => Some(lang_of(p.language)),
        Ok(_) => None,
        Err(_) => app.session(cookie).await.ok().map(|p| lang_of(p.language)),
    }
}

/// `GET /setup/totp`: the QR code (an image from `/setup/totp/qr.svg`) and the key for manual
/// entry, and the form for the first code.
pub(crate) async fn totp_page(State(state): State<WebState>, client: Client) -> Response {
    let (Some(app), Some(cookie)) = (state.app(), client.cookie()) else {
        return see_other("/signin?notice=expired");
    };
    let Some(lang) = setup_session(app, &cookie).await else { return see_other("/signin?notice=expired") };
    match app.start_totp_setup(&cookie).await {
        Ok(setup) => {
            let mut l = Layout::new(lang, client.path);
            l.csrf = Some(csrf_token(&cookie));
            TotpPage { l, qr_url: "/setup/totp/qr.svg", secret: group(setup.secret.expose()), error: None }
                .into_response()
        }
        Err(e) => {
            message(lang, "/".to_owned(), status_of(&e), lang.messages().totp_title, error_text(lang.messages(), &e))
        }
    }
}

/// Groups a base32 key in fours for reading it off the screen.
fn group(secret: &str) -> String {
    secret.chars().collect::<Vec<_>>().chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
}

/// `GET /setup/totp/qr.svg`: the QR code of the `otpauth://` URI, rendered on the server.
pub(crate) async fn totp_qr(State(state): State<WebState>, client: Client) -> Response {
    let (Some(app), Some(cookie)) = (state.app(), client.cookie()) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    if setup_session(app, &cookie).await.is_none() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match app.start_totp_setup(&cookie).await {
        Ok(setup) => ([(header::CONTENT_TYPE, "image/svg+xml")], setup.qr_svg).into_response(),
        Err(e) => status_of(&e).into_response(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "codes.html")]
struct CodesPage {
    l: Layout,
    codes: Vec<String>,
}

/// `POST /setup/totp`: confirms the first code; the session becomes a full one (new id) and the
/// recovery codes are shown, once.
pub(crate) async fn totp_confirm(
    State(state): State<WebState>,
    client: Client,
    Form(form): Form<CodeForm>,
) -> Response {
    let lang = language(&state, &client.headers);
    let (Some(app), Some(cookie)) = (state.app(), client.cookie()) else {
        return see_other("/signin?notice=expired");
    };
    if !origin_ok(&state, &client) || !csrf_ok(&cookie, &form.csrf_token) {
        return forbidden(lang);
    }
    let lang = setup_session(app, &cookie).await.unwrap_or(lang);
    let code: String = form.code.split_whitespace().collect();
    match app.confirm_totp(&cookie, &code).await {
        Ok(enrolled) => {
            let mut l = Layout::new(lang, "/".to_owned());
            l.csrf = Some(enrolled.session.csrf_token.clone());
            let codes = enrolled.recovery_codes.iter().map(|c| c.expose().to_owned()).collect();
            with_cookie(CodesPage { l, codes }.into_response(), &session_cookie(&enrolled.session.cookie))
        }
        Err(AccountError::SessionInvalid) => see_other("/signin?notice=expired"),
        Err(e) => {
            let secret = app.start_totp_setup(&cookie).await.map(|s| group(s.secret.expose())).unwrap_or_default();
            let mut l = Layout::new(lang, "/setup/totp".to_owned());
            l.csrf = Some(csrf_token(&cookie));
            let page =
                TotpPage { l, qr_url: "/setup/totp/qr.svg", secret, error: Some(error_text(lang.messages(), &e)) };
            (status_of(&e), page).into_response()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sessions and sign-out

struct SessionRow {
    id: String,
    browser: String,
    method: &'static str,
    created: String,
    last_seen: String,
    expires: String,
    current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "sessions.html")]
struct SessionsPage {
    l: Layout,
    rows: Vec<SessionRow>,
    idle_until: String,
    notice: Option<&'static str>,
}

/// Query of the sessions page (a banner after an action).
#[derive(Debug, Deserialize, Default)]
pub(crate) struct NoticeQuery {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /sessions`: one's own sessions.
pub(crate) async fn sessions(State(state): State<WebState>, client: Client, Query(q): Query<NoticeQuery>) -> Response {
    let Some(app) = state.app() else { return see_other("/signin") };
    let Some(signed) = signed_in(app, &client).await else { return see_other("/signin?notice=expired") };
    let lang = signed.lang();
    let t = lang.messages();
    let zone = &state.settings().time_zone;
    let rows = match app.my_sessions(&signed.cookie).await {
        Ok(list) => list
            .into_iter()
            .map(|s| SessionRow {
                id: s.id.to_string(),
                browser: s.user_agent,
                method: match s.method {
                    SignInMethod::Local => t.method_password,
                    SignInMethod::Oidc => t.method_oidc,
                },
                created: zone.date_time(lang, s.created_at),
                last_seen: zone.date_time(lang, s.last_seen_at),
                expires: zone.date_time(lang, s.expires_at),
                current: s.current,
            })
            .collect(),
        Err(e) => return message(lang, "/".to_owned(), status_of(&e), t.sessions_title, error_text(t, &e)),
    };
    let notice = match q.done.as_deref() {
        Some("extended") => Some(t.session_extended),
        Some("ended") => Some(t.session_ended),
        _ => None,
    };
    SessionsPage {
        idle_until: zone.time(lang, signed.principal.idle_deadline),
        l: signed_layout(&state, &signed, client.path),
        rows,
        notice,
    }
    .into_response()
}

#[derive(Template, WebTemplate)]
#[template(path = "password.html")]
struct PasswordPage {
    l: Layout,
    done: bool,
    error: Option<&'static str>,
}

/// `GET /password`: the form to change one's password.
pub(crate) async fn password_page(
    State(state): State<WebState>,
    client: Client,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let Some(app) = state.app() else { return see_other("/signin") };
    let Some(signed) = signed_in(app, &client).await else { return see_other("/signin?notice=expired") };
    let done = q.done.as_deref() == Some("changed");
    PasswordPage { l: signed_layout(&state, &signed, client.path), done, error: None }.into_response()
}

/// The password form.
#[derive(Debug, Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    csrf_token: String,
    current_password: String,
    password: String,
    password_repeat: String,
}

/// `POST /password`: the current password confirms; the other sessions end (the domain audits
/// `staff.password_changed`).
pub(crate) async fn change_password(
    State(state): State<WebState>,
    client: Client,
    Form(form): Form<PasswordForm>,
) -> Response {
    let signed = match signed_post(&state, &client, &form.csrf_token).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let t = signed.lang().messages();
    let again = |error: &'static str, status: StatusCode| {
        let page =
            PasswordPage { l: signed_layout(&state, &signed, "/password".to_owned()), done: false, error: Some(error) };
        (status, page).into_response()
    };
    if form.password != form.password_repeat {
        return again(t.err_password_mismatch, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let Some(app) = state.app() else { return see_other("/signin") };
    let changed = app
        .change_password(&signed.cookie, &SecretText::new(form.current_password), &SecretText::new(form.password))
        .await;
    match changed {
        Ok(()) => see_other("/password?done=changed"),
        Err(AccountError::SessionInvalid) => see_other("/signin?notice=expired"),
        Err(AccountError::SignInFailed) => again(t.err_current_password, StatusCode::UNPROCESSABLE_ENTITY),
        Err(e) => again(error_text(t, &e), status_of(&e)),
    }
}

/// A form that only carries the CSRF token.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenForm {
    #[serde(default)]
    pub(crate) csrf_token: String,
}

/// A signed-in POST: origin and CSRF checked; `Err` is the response to give.
pub(crate) async fn signed_post(state: &WebState, client: &Client, token: &str) -> Result<Signed, Response> {
    let lang = language(state, &client.headers);
    let Some(app) = state.app() else { return Err(see_other("/signin")) };
    if !origin_ok(state, client) {
        return Err(forbidden(lang));
    }
    let Some(signed) = signed_in(app, client).await else { return Err(see_other("/signin?notice=expired")) };
    if !csrf_ok(&signed.cookie, token) {
        return Err(forbidden(signed.lang()));
    }
    Ok(signed)
}

/// `POST /sessions/extend`: the idle timer starts again.
pub(crate) async fn extend(State(state): State<WebState>, client: Client, Form(form): Form<TokenForm>) -> Response {
    let signed = match signed_post(&state, &client, &form.csrf_token).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match state.app().map(|app| app.extend_session(&signed.cookie)) {
        Some(fut) => match fut.await {
            Ok(_) => see_other("/sessions?done=extended"),
            Err(_) => see_other("/signin?notice=expired"),
        },
        None => see_other("/signin"),
    }
}

/// `POST /sessions/{id}/end`: ends one of one's sessions.
pub(crate) async fn end_session(
    State(state): State<WebState>,
    client: Client,
    Path(id): Path<String>,
    Form(form): Form<TokenForm>,
) -> Response {
    let signed = match signed_post(&state, &client, &form.csrf_token).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let lang = signed.lang();
    let t = lang.messages();
    let Ok(id) = Uuid::parse_str(&id) else {
        return message(lang, "/".to_owned(), StatusCode::NOT_FOUND, t.sessions_title, t.err_invalid);
    };
    let Some(app) = state.app() else { return see_other("/signin") };
    match app.revoke_my_session(&signed.cookie, id).await {
        Ok(()) if id == signed.principal.session_id => {
            with_cookie(see_other("/signin?notice=signed_out"), &clear_session_cookie())
        }
        Ok(()) => see_other("/sessions?done=ended"),
        Err(e) => message(lang, "/".to_owned(), status_of(&e), t.sessions_title, error_text(t, &e)),
    }
}

/// `POST /sessions/end-all`: signs out everywhere (this browser included).
pub(crate) async fn end_all(State(state): State<WebState>, client: Client, Form(form): Form<TokenForm>) -> Response {
    let signed = match signed_post(&state, &client, &form.csrf_token).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(app) = state.app() else { return see_other("/signin") };
    let _ = app.sign_out_everywhere(&signed.cookie).await;
    with_cookie(see_other("/signin?notice=everywhere"), &clear_session_cookie())
}

/// `POST /signout`: ends this session (any stage) and clears the cookie.
pub(crate) async fn signout(State(state): State<WebState>, client: Client, Form(form): Form<TokenForm>) -> Response {
    let lang = language(&state, &client.headers);
    let Some(cookie) = client.cookie() else { return see_other("/signin?notice=signed_out") };
    if !origin_ok(&state, &client) || !csrf_ok(&cookie, &form.csrf_token) {
        return forbidden(lang);
    }
    if let Some(app) = state.app() {
        let _ = app.sign_out(&cookie).await;
    }
    with_cookie(see_other("/signin?notice=signed_out"), &clear_session_cookie())
}

// ---------------------------------------------------------------------------------------------
// Staff (admins invite; the list is shown to admins and DPOs)

struct StaffRow {
    id: String,
    name: String,
    email: String,
    role: &'static str,
    role_value: &'static str,
    status: &'static str,
    active: bool,
    totp: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "staff.html")]
struct StaffPage {
    l: Layout,
    rows: Vec<StaffRow>,
    may_invite: bool,
    link: Option<String>,
    error: Option<&'static str>,
    p: &'static crate::people::PeopleTexts,
    tokens: Vec<crate::people::TokenRow>,
    notice: Option<&'static str>,
}

pub(crate) async fn staff_page(
    state: &WebState,
    signed: &Signed,
    path: String,
    link: Option<String>,
    error: Option<(&'static str, StatusCode)>,
) -> Response {
    let lang = signed.lang();
    let t = lang.messages();
    let Some(app) = state.app() else { return see_other("/signin") };
    let p = &signed.principal;
    let list = match app.staff_list(p.actor(), p.tenant).await {
        Ok(list) => list,
        Err(e) => return message(lang, "/".to_owned(), status_of(&e), t.staff_title, error_text(t, &e)),
    };
    let rows = list
        .into_iter()
        .map(|v| StaffRow {
            id: v.id.to_string(),
            role_value: v.role.as_str(),
            active: v.status == StaffStatus::Active,
            totp: v.totp,
            name: v.display_name.expose().clone(),
            email: v.email.expose().as_str().to_owned(),
            role: role_name(t, v.role),
            status: match v.status {
                StaffStatus::Invited => t.status_invited,
                StaffStatus::Active => t.status_active,
                StaffStatus::Disabled => t.status_disabled,
            },
        })
        .collect();
    let (people, notice) = crate::people::texts_and_notice(lang, &path);
    let page = StaffPage {
        tokens: crate::people::token_rows(state, signed).await,
        l: signed_layout(state, signed, path),
        rows,
        may_invite: p.role == Role::Admin,
        link,
        error: error.map(|(e, _)| e),
        p: people,
        notice,
    };
    (error.map_or(StatusCode::OK, |(_, s)| s), page).into_response()
}

/// `GET /staff`: the tenant's staff (admins and DPOs; others are refused by the server).
pub(crate) async fn staff(State(state): State<WebState>, client: Client) -> Response {
    let Some(app) = state.app() else { return see_other("/signin") };
    let Some(signed) = signed_in(app, &client).await else { return see_other("/signin?notice=expired") };
    staff_page(&state, &signed, client.path, None, None).await
}

/// The invite form.
#[derive(Debug, Deserialize)]
pub(crate) struct InviteForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
}

/// `POST /staff/invite`: an admin invites a person; the link is shown once.
pub(crate) async fn invite(State(state): State<WebState>, client: Client, Form(form): Form<InviteForm>) -> Response {
    let signed = match signed_post(&state, &client, &form.csrf_token).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let t = signed.lang().messages();
    let Some(app) = state.app() else { return see_other("/signin") };
    let role = match form.role.as_str() {
        "admin" => Role::Admin,
        "dpo" => Role::Dpo,
        "recruiter" => Role::Recruiter,
        _ => {
            return staff_page(
                &state,
                &signed,
                "/staff".to_owned(),
                None,
                Some((t.err_invalid, StatusCode::UNPROCESSABLE_ENTITY)),
            )
            .await;
        }
    };
    let invite = StaffInvite { role, email: form.email, display_name: form.display_name, language: None };
    let p = &signed.principal;
    match app.invite_staff(p.actor(), p.tenant, invite).await {
        Ok(created) => {
            let base = state.settings().public_origin.clone().unwrap_or_default();
            let link = format!("{base}/invitation/{}", percent_encode(created.secret.expose()));
            staff_page(&state, &signed, "/staff".to_owned(), Some(link), None).await
        }
        Err(e) => {
            staff_page(&state, &signed, "/staff".to_owned(), None, Some((error_text(t, &e), status_of(&e)))).await
        }
    }
}

/// The language switch of a signed-in person: CSRF checked, the choice stored on the account.
pub(crate) async fn remember_language(
    state: &WebState,
    client: &Client,
    token: &str,
    lang: Lang,
) -> Result<(), Response> {
    let Some(app) = state.app() else { return Ok(()) };
    let Some(cookie) = client.cookie() else { return Ok(()) };
    let Ok(principal) = app.session(&cookie).await else { return Ok(()) };
    if !csrf_ok(&cookie, token) {
        return Err(forbidden(lang_of(principal.language)));
    }
    let _ = app.set_language(&cookie, staff_language(lang)).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_percent_encoded_in_links() {
        assert_eq!(percent_encode("hoi_AbC-9"), "hoi_AbC-9");
        assert_eq!(percent_encode("a/b?c"), "a%2Fb%3Fc");
    }

    #[test]
    fn keys_are_grouped_for_reading() {
        assert_eq!(group("ABCDEFGHIJ"), "ABCD EFGH IJ");
    }

    #[test]
    fn every_error_code_has_a_text_in_both_languages() {
        for e in [
            AccountError::SignInFailed,
            AccountError::SecondFactorInvalid,
            AccountError::SessionInvalid,
            AccountError::InvitationInvalid,
            AccountError::EmailTaken,
            AccountError::NotConfigured,
        ] {
            for lang in Lang::ALL {
                let text = error_text(lang.messages(), &e);
                assert!(!text.is_empty() && text != lang.messages().err_internal, "{e:?}");
            }
        }
        // sign-in failures read the same whatever the reason (no enumeration)
        let t = Lang::De.messages();
        assert_eq!(error_text(t, &AccountError::SignInFailed), error_text(t, &AccountError::SessionInvalid));
    }
}
