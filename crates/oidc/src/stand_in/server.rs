//! The stand-in's HTTP side.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq as _;
use url::Url;

use super::{IssuedCode, Shared, lock};
use crate::client::pkce_challenge;
use crate::jwt::{Algorithm, JwkSet};

/// Codes live this long.
const CODE_TTL_SECONDS: i64 = 60;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize_page).post(authorize_choice))
        .route("/token", axum::routing::post(token))
        .with_state(shared)
}

async fn discovery(State(s): State<Arc<Shared>>) -> Json<serde_json::Value> {
    let alg = lock(&s.keys).current.alg();
    Json(json!({
        "issuer": s.issuer,
        "authorization_endpoint": format!("{}/authorize", s.issuer),
        "token_endpoint": format!("{}/token", s.issuer),
        "jwks_uri": format!("{}/jwks", s.issuer),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [alg],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "email", "profile"],
        "claims_supported": ["sub", "email", "email_verified", "name", "groups"],
    }))
}

async fn jwks(State(s): State<Arc<Shared>>) -> Json<JwkSet> {
    s.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let keys = lock(&s.keys);
    Json(JwkSet { keys: vec![keys.current.jwk().clone()] })
}

#[derive(Debug, Deserialize)]
struct AuthorizeParams {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    /// POST only: the chosen subject, or absent for "cancel".
    subject: Option<String>,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Html(format!("<!doctype html><html lang=\"en\"><title>Error</title><p>{}</p></html>", escape(message))),
    )
        .into_response()
}

/// Where to send the browser back to, with these parameters added.
fn back(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    match Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (k, v) in pairs {
                    query.append_pair(k, v);
                }
            }
            Redirect::to(url.as_str()).into_response()
        }
        Err(_) => bad_request("invalid redirect_uri"),
    }
}

/// Checks the request; `Err` is the answer to give (a page for a bad client or redirect URI,
/// which must never be redirected to; a redirect with an error otherwise).
fn check_authorize(s: &Shared, p: &AuthorizeParams) -> Result<(String, String), Box<Response>> {
    let client_id = p.client_id.clone().unwrap_or_default();
    let redirect_uri = p.redirect_uri.clone().unwrap_or_default();
    let Some(client) = s.clients.iter().find(|c| c.client_id == client_id) else {
        return Err(Box::new(bad_request("unknown client_id")));
    };
    if !client.redirect_uris.contains(&redirect_uri) {
        return Err(Box::new(bad_request("redirect_uri is not registered for this client")));
    }
    let state = p.state.clone().unwrap_or_default();
    let fail = |error: &str| Box::new(back(&redirect_uri, &[("error", error), ("state", &state)]));
    if p.response_type.as_deref() != Some("code") {
        return Err(fail("unsupported_response_type"));
    }
    if !p.scope.as_deref().unwrap_or_default().split(' ').any(|s| s == "openid") {
        return Err(fail("invalid_scope"));
    }
    if p.code_challenge_method.as_deref() != Some("S256") || p.code_challenge.as_deref().unwrap_or_default().len() < 43
    {
        return Err(fail("invalid_request"));
    }
    Ok((client_id, redirect_uri))
}

fn issue_code(s: &Shared, p: &AuthorizeParams, client_id: String, redirect_uri: String, subject: String) -> Response {
    let code = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let issued = IssuedCode {
        client_id,
        redirect_uri: redirect_uri.clone(),
        subject,
        nonce: p.nonce.clone(),
        code_challenge: p.code_challenge.clone().unwrap_or_default(),
        issued_at: s.clock.now(),
    };
    lock(&s.codes).insert(code.clone(), issued);
    let state = p.state.clone().unwrap_or_default();
    back(&redirect_uri, &[("code", &code), ("state", &state)])
}

async fn authorize_page(State(s): State<Arc<Shared>>, Query(p): Query<AuthorizeParams>) -> Response {
    let (client_id, redirect_uri) = match check_authorize(&s, &p) {
        Ok(ok) => ok,
        Err(answer) => return *answer,
    };
    let auto = lock(&s.auto_approve).clone();
    if let Some(subject) = auto {
        if s.users.iter().any(|u| u.subject == subject) {
            return issue_code(&s, &p, client_id, redirect_uri, subject);
        }
        return back(&redirect_uri, &[("error", "access_denied"), ("state", p.state.as_deref().unwrap_or_default())]);
    }
    let hidden = |name: &str, value: &Option<String>| {
        format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">", escape(value.as_deref().unwrap_or_default()))
    };
    let fields = [
        hidden("response_type", &p.response_type),
        hidden("client_id", &p.client_id),
        hidden("redirect_uri", &p.redirect_uri),
        hidden("scope", &p.scope),
        hidden("state", &p.state),
        hidden("nonce", &p.nonce),
        hidden("code_challenge", &p.code_challenge),
        hidden("code_challenge_method", &p.code_challenge_method),
    ]
    .concat();
    let mut buttons = String::new();
    for user in &s.users {
        buttons.push_str(&format!(
            "<li><button type=\"submit\" name=\"subject\" value=\"{}\">{} &lt;{}&gt;</button></li>",
            escape(&user.subject),
            escape(&user.name),
            escape(&user.email)
        ));
    }
    Html(format!(
        "<!doctype html><html lang=\"de\"><head><meta charset=\"utf-8\"><title>OIDC-Stand-in: Anmelden</title></head>\
<body><main><h1>OIDC-Stand-in</h1><p>Als wer möchten Sie sich anmelden? / Sign in as:</p>\
<form method=\"post\" action=\"/authorize\">{fields}<ul>{buttons}</ul>\
<button type=\"submit\" name=\"cancel\" value=\"1\">Abbrechen / Cancel</button></form></main></body></html>"
    ))
    .into_response()
}

async fn authorize_choice(State(s): State<Arc<Shared>>, Form(p): Form<AuthorizeParams>) -> Response {
    let (client_id, redirect_uri) = match check_authorize(&s, &p) {
        Ok(ok) => ok,
        Err(answer) => return *answer,
    };
    match p.subject.clone().filter(|subject| s.users.iter().any(|u| &u.subject == subject)) {
        Some(subject) => issue_code(&s, &p, client_id, redirect_uri, subject),
        None => back(&redirect_uri, &[("error", "access_denied"), ("state", p.state.as_deref().unwrap_or_default())]),
    }
}

#[derive(Debug, Deserialize)]
struct TokenParams {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(json!({ "error": error }))).into_response()
}

fn form_decode(value: &str) -> String {
    url::form_urlencoded::parse(format!("v={value}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

/// The client's id and secret from Basic auth (form-urlencoded inside, RFC 6749 2.3.1) or the form.
fn client_credentials(headers: &HeaderMap, p: &TokenParams) -> Option<(String, String)> {
    if let Some(basic) =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Basic "))
    {
        let decoded = STANDARD.decode(basic.trim()).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        return Some((form_decode(id), form_decode(secret)));
    }
    Some((p.client_id.clone()?, p.client_secret.clone()?))
}

async fn token(State(s): State<Arc<Shared>>, headers: HeaderMap, Form(p): Form<TokenParams>) -> Response {
    s.token_requests.fetch_add(1, Ordering::SeqCst);
    let Some((client_id, secret)) = client_credentials(&headers, &p) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    };
    let Some(client) = s.clients.iter().find(|c| c.client_id == client_id) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    };
    if !bool::from(client.client_secret.as_bytes().ct_eq(secret.as_bytes())) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if p.grant_type.as_deref() != Some("authorization_code") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    // Single use: the code is gone whatever happens next.
    let Some(issued) = p.code.as_deref().and_then(|code| lock(&s.codes).remove(code)) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let now = s.clock.now();
    let fresh = (now - issued.issued_at).whole_seconds() <= CODE_TTL_SECONDS;
    let verifier_ok = p.code_verifier.as_deref().is_some_and(|v| pkce_challenge(v) == issued.code_challenge);
    if issued.client_id != client_id
        || p.redirect_uri.as_deref() != Some(issued.redirect_uri.as_str())
        || !fresh
        || !verifier_ok
    {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let Some(user) = s.users.iter().find(|u| u.subject == issued.subject) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let knobs = *lock(&s.knobs);
    let access_token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let ttl = i64::try_from(s.token_ttl.as_secs()).unwrap_or(300);
    let (iat, exp) = if knobs.expired {
        (now.unix_timestamp() - 70 * 60, now.unix_timestamp() - 10 * 60)
    } else {
        (now.unix_timestamp(), now.unix_timestamp() + ttl)
    };
    let at_source = if knobs.wrong_at_hash { "another access token" } else { access_token.as_str() };
    let claims = json!({
        "iss": if knobs.wrong_issuer { format!("{}/other", s.issuer) } else { s.issuer.clone() },
        "sub": user.subject,
        "aud": if knobs.wrong_audience { "another-client".to_owned() } else { client_id.clone() },
        "iat": iat,
        "exp": exp,
        "nonce": if knobs.wrong_nonce { Some("not-the-nonce".to_owned()) } else { issued.nonce.clone() },
        "email": user.email,
        "email_verified": user.email_verified,
        "name": user.name,
        "groups": user.groups,
        "at_hash": URL_SAFE_NO_PAD.encode(Algorithm::Rs256.half_hash(at_source.as_bytes())),
    });
    let signed = {
        let keys = lock(&s.keys);
        let key =
            if knobs.sign_with_retired_key { keys.retired.as_ref().unwrap_or(&keys.current) } else { &keys.current };
        key.sign(&claims)
    };
    match signed {
        Ok(id_token) => (
            [(header::CACHE_CONTROL, "no-store")],
            Json(json!({
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": ttl,
                "scope": "openid email profile",
                "id_token": id_token,
            })),
        )
            .into_response(),
        Err(_) => oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
    }
}
