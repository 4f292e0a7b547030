//! The relying party against the stand-in, over real HTTP on loopback: the happy path and every
//! way a sign-in must fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::Arc;

use hoheit_domain::testing::FixedClock;
use hoheit_oidc::stand_in::{Knobs, SigningAlgorithm, StandIn, StandInConfig, StandInUser};
use hoheit_oidc::{
    CallbackParams, MemoryPendingStore, OidcClient, OidcError, OidcTimings, ProviderConfig, ProviderErrorCode,
    SecretString, VerifiedIdentity,
};
use time::macros::datetime;
use url::Url;

const CLIENT_ID: &str = "hoheit-test";
const SECRET: &str = "s3cr3t-with:odd&chars~";
const REDIRECT: &str = "http://127.0.0.1:9/auth/oidc/callback";

struct Harness {
    idp: StandIn,
    client: OidcClient,
    store: MemoryPendingStore,
    clock: Arc<FixedClock>,
    browser: reqwest::Client,
}

struct Setup {
    algorithm: SigningAlgorithm,
    auto_approve: Option<&'static str>,
    domains: Vec<&'static str>,
    secret: &'static str,
}

impl Default for Setup {
    fn default() -> Self {
        Self { algorithm: SigningAlgorithm::Rs256, auto_approve: Some("erika"), domains: Vec::new(), secret: SECRET }
    }
}

async fn harness(setup: Setup) -> Harness {
    let clock = Arc::new(FixedClock::new(datetime!(2026-12-07 10:00 UTC)));
    let mut config = StandInConfig::new(CLIENT_ID, SECRET, REDIRECT);
    config.users = vec![
        StandInUser::new("erika", "Erika.Muster@Example.DE", "Erika Muster", &["recruiting", "hr"]),
        StandInUser::new("mallory", "mallory@evil.example", "Mallory", &[]),
        StandInUser { email_verified: false, ..StandInUser::new("unverified", "u@example.de", "U", &[]) },
    ];
    config.auto_approve = setup.auto_approve.map(str::to_owned);
    config.algorithm = setup.algorithm;
    config.clock = clock.clone();
    let idp = StandIn::start(config).await.unwrap();
    let provider = ProviderConfig::new(&idp.issuer(), CLIENT_ID, SecretString::from(setup.secret), REDIRECT)
        .unwrap()
        .with_insecure_loopback(true)
        .unwrap()
        .with_allowed_email_domains(setup.domains)
        .unwrap();
    let timings = OidcTimings::default();
    let http = hoheit_oidc::http_client(timings.request_timeout).unwrap();
    let client = OidcClient::new(provider, timings, http.clone(), clock.clone());
    Harness { idp, client, store: MemoryPendingStore::new(), clock, browser: http }
}

impl Harness {
    /// begin -> the browser visits the authorisation URL -> the redirect back to the callback.
    async fn authorize(&self) -> Url {
        let request = self.client.begin(Some("/inbox".into())).await.unwrap();
        assert_eq!(request.pending.return_to(), Some("/inbox"));
        self.store.insert(request.pending);
        let answer = self.browser.get(request.url).send().await.unwrap();
        assert!(answer.status().is_redirection(), "{}", answer.status());
        let location = answer.headers()["location"].to_str().unwrap();
        let callback = Url::parse(location).unwrap();
        assert!(callback.as_str().starts_with(REDIRECT), "{callback}");
        callback
    }

    /// What the server's callback route does: take the pending sign-in by state (single use),
    /// then complete.
    async fn callback(&self, callback: &Url) -> Result<VerifiedIdentity, OidcError> {
        let params: CallbackParams = serde_json::from_value(serde_json::Value::Object(
            callback.query_pairs().map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned()))).collect(),
        ))
        .unwrap();
        let state = params.state.clone().unwrap_or_default();
        let pending = self.store.take(&state).ok_or(OidcError::StateMismatch)?;
        self.client.complete_callback(pending, &params).await
    }

    async fn sign_in(&self) -> Result<VerifiedIdentity, OidcError> {
        let callback = self.authorize().await;
        self.callback(&callback).await
    }
}

fn param(url: &Url, name: &str) -> String {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap()
}

#[tokio::test]
async fn happy_path_rs256_yields_the_verified_identity() {
    let h = harness(Setup { domains: vec!["example.de"], ..Setup::default() }).await;
    let identity = h.sign_in().await.unwrap();
    assert_eq!(identity.issuer, h.idp.issuer());
    assert_eq!(identity.subject, "erika");
    assert_eq!(identity.email.as_deref(), Some("Erika.Muster@Example.DE"));
    assert!(identity.email_verified);
    assert_eq!(identity.name.as_deref(), Some("Erika Muster"));
    assert_eq!(identity.groups, ["recruiting", "hr"]);
    assert!(h.store.is_empty(), "the pending sign-in is used up");
    assert_eq!(h.idp.token_requests(), 1);
}

#[tokio::test]
async fn happy_path_es256() {
    let h = harness(Setup { algorithm: SigningAlgorithm::Es256, ..Setup::default() }).await;
    assert_eq!(h.sign_in().await.unwrap().subject, "erika");
}

#[tokio::test]
async fn the_authorisation_url_carries_pkce_state_and_nonce() {
    let h = harness(Setup::default()).await;
    let request = h.client.begin(None).await.unwrap();
    let url = &request.url;
    assert_eq!(param(url, "response_type"), "code");
    assert_eq!(param(url, "client_id"), CLIENT_ID);
    assert_eq!(param(url, "redirect_uri"), REDIRECT);
    assert_eq!(param(url, "code_challenge_method"), "S256");
    assert_eq!(param(url, "state"), request.pending.state());
    assert_eq!(param(url, "scope"), "openid email profile");
    assert_eq!(param(url, "nonce").len(), 43);
    assert_eq!(param(url, "code_challenge").len(), 43);
    let again = h.client.begin(None).await.unwrap();
    assert_ne!(param(&again.url, "state"), param(url, "state"));
    assert_ne!(param(&again.url, "nonce"), param(url, "nonce"));
}

#[tokio::test]
async fn a_user_picked_on_the_page_signs_in() {
    let h = harness(Setup { auto_approve: None, ..Setup::default() }).await;
    let request = h.client.begin(None).await.unwrap();
    let page = h.browser.get(request.url.clone()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Erika Muster") && html.contains("Mallory"), "{html}");
    h.store.insert(request.pending);
    let mut form: Vec<(String, String)> =
        request.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    form.push(("subject".into(), "mallory".into()));
    let answer = h.browser.post(format!("{}/authorize", h.idp.issuer())).form(&form).send().await.unwrap();
    let callback = Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(h.callback(&callback).await.unwrap().subject, "mallory");
}

#[tokio::test]
async fn cancelling_at_the_provider_is_a_provider_error() {
    let h = harness(Setup { auto_approve: None, ..Setup::default() }).await;
    let request = h.client.begin(None).await.unwrap();
    h.store.insert(request.pending);
    let mut form: Vec<(String, String)> =
        request.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    form.push(("cancel".into(), "1".into()));
    let answer = h.browser.post(format!("{}/authorize", h.idp.issuer())).form(&form).send().await.unwrap();
    let callback = Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(h.callback(&callback).await.unwrap_err(), OidcError::ProviderError(ProviderErrorCode::AccessDenied));
}

#[tokio::test]
async fn wrong_issuer_in_the_token_fails() {
    let h = harness(Setup::default()).await;
    h.idp.set_knobs(Knobs { wrong_issuer: true, ..Knobs::default() });
    assert_eq!(h.sign_in().await.unwrap_err(), OidcError::WrongIssuer);
}

#[tokio::test]
async fn discovery_naming_another_issuer_fails() {
    let h = harness(Setup::default()).await;
    // Configured with a trailing slash: the provider's discovery names the issuer without one.
    let provider =
        ProviderConfig::new(&format!("{}/", h.idp.issuer()), CLIENT_ID, SecretString::from(SECRET), REDIRECT)
            .unwrap()
            .with_insecure_loopback(true)
            .unwrap();
    let http = hoheit_oidc::http_client(std::time::Duration::from_secs(5)).unwrap();
    let client = OidcClient::new(provider, OidcTimings::default(), http, h.clock.clone());
    assert_eq!(client.begin(None).await.unwrap_err(), OidcError::WrongIssuer);
}

#[tokio::test]
async fn wrong_audience_fails() {
    let h = harness(Setup::default()).await;
    h.idp.set_knobs(Knobs { wrong_audience: true, ..Knobs::default() });
    assert_eq!(h.sign_in().await.unwrap_err(), OidcError::WrongAudience);
}

#[tokio::test]
async fn expired_token_fails() {
    let h = harness(Setup::default()).await;
    h.idp.set_knobs(Knobs { expired: true, ..Knobs::default() });
    assert_eq!(h.sign_in().await.unwrap_err(), OidcError::Expired);
}

#[tokio::test]
async fn wrong_nonce_fails() {
    let h = harness(Setup::default()).await;
    h.idp.set_knobs(Knobs { wrong_nonce: true, ..Knobs::default() });
    assert_eq!(h.sign_in().await.unwrap_err(), OidcError::NonceMismatch);
}

#[tokio::test]
async fn at_hash_of_another_access_token_fails() {
    let h = harness(Setup::default()).await;
    h.idp.set_knobs(Knobs { wrong_at_hash: true, ..Knobs::default() });
    assert_eq!(h.sign_in().await.unwrap_err(), OidcError::AtHashMismatch);
}

#[tokio::test]
async fn a_replayed_callback_fails() {
    let h = harness(Setup::default()).await;
    let callback = h.authorize().await;
    assert!(h.callback(&callback).await.is_ok());
    // The pending sign-in was taken: the same state again is unknown.
    assert_eq!(h.callback(&callback).await.unwrap_err(), OidcError::StateMismatch);
}

#[tokio::test]
async fn a_kept_copy_of_the_pending_sign_in_cannot_reuse_the_code() {
    let h = harness(Setup::default()).await;
    let callback = h.authorize().await;
    let state = param(&callback, "state");
    let copy = serde_json::to_string(&h.store.take(&state).unwrap()).unwrap();
    let first = serde_json::from_str(&copy).unwrap();
    h.client.complete(first, &param(&callback, "code"), &state).await.unwrap();
    let second = serde_json::from_str(&copy).unwrap();
    assert_eq!(
        h.client.complete(second, &param(&callback, "code"), &state).await.unwrap_err(),
        OidcError::CodeRejected
    );
}

#[tokio::test]
async fn tampered_or_unknown_state_fails() {
    let h = harness(Setup::default()).await;
    let callback = h.authorize().await;
    let state = param(&callback, "state");
    let code = param(&callback, "code");
    // Unknown state: nothing pending under it.
    let mut forged = callback.clone();
    forged.query_pairs_mut().clear().append_pair("code", &code).append_pair("state", "forged");
    assert_eq!(h.callback(&forged).await.unwrap_err(), OidcError::StateMismatch);
    // A pending sign-in completed with another state than its own.
    let pending = h.store.take(&state).unwrap();
    let mut tampered = state.clone();
    tampered.replace_range(..1, if state.starts_with('A') { "B" } else { "A" });
    assert_eq!(h.client.complete(pending, &code, &tampered).await.unwrap_err(), OidcError::StateMismatch);
    assert_eq!(h.idp.token_requests(), 0, "no code is exchanged for a bad state");
}

#[tokio::test]
async fn a_pending_sign_in_expires() {
    let h = harness(Setup::default()).await;
    let callback = h.authorize().await;
    h.clock.advance(time::Duration::minutes(11));
    assert_eq!(h.callback(&callback).await.unwrap_err(), OidcError::PendingExpired);
}

#[tokio::test]
async fn wrong_client_secret_is_refused_by_the_provider() {
    let h = harness(Setup { secret: "not-the-secret", ..Setup::default() }).await;
    assert_eq!(h.sign_in().await.unwrap_err(), OidcError::CodeRejected);
}

#[tokio::test]
async fn rotated_signing_key_is_picked_up_and_a_removed_key_is_refused() {
    let h = harness(Setup::default()).await;
    h.sign_in().await.unwrap();
    assert_eq!(h.idp.jwks_fetches(), 1);
    // The cached JWKS serves the next sign-in.
    h.sign_in().await.unwrap();
    assert_eq!(h.idp.jwks_fetches(), 1);

    let before = h.idp.current_kid();
    h.idp.rotate_key().await.unwrap();
    assert_ne!(h.idp.current_kid(), before);
    // Unknown kid -> one refetch -> the new key verifies.
    h.sign_in().await.unwrap();
    assert_eq!(h.idp.jwks_fetches(), 2);

    // A token signed by the retired key (gone from the JWKS) is refused; the refetch it would
    // trigger is rate-limited.
    h.idp.set_knobs(Knobs { sign_with_retired_key: true, ..Knobs::default() });
    assert_eq!(h.sign_in().await.unwrap_err(), OidcError::UnknownKey);
    assert_eq!(h.idp.jwks_fetches(), 2, "no second refetch within the interval");
    h.clock.advance(time::Duration::seconds(31));
    assert_eq!(h.sign_in().await.unwrap_err(), OidcError::UnknownKey);
    assert_eq!(h.idp.jwks_fetches(), 3, "one refetch after the interval, and the key is still unknown");

    h.idp.set_knobs(Knobs::default());
    h.sign_in().await.unwrap();
}

#[tokio::test]
async fn email_outside_the_allowed_domain_fails() {
    let h = harness(Setup { auto_approve: Some("mallory"), domains: vec!["example.de"], ..Setup::default() }).await;
    assert_eq!(h.sign_in().await.unwrap_err(), OidcError::EmailDomainNotAllowed);
}

#[tokio::test]
async fn unverified_email_fails_where_a_domain_is_required() {
    let h = harness(Setup { auto_approve: Some("unverified"), domains: vec!["example.de"], ..Setup::default() }).await;
    assert_eq!(h.sign_in().await.unwrap_err(), OidcError::EmailNotVerified);
}

#[tokio::test]
async fn the_provider_being_down_is_provider_unavailable() {
    let h = harness(Setup::default()).await;
    let issuer = h.idp.issuer();
    drop(h.idp);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let provider = ProviderConfig::new(&issuer, CLIENT_ID, SecretString::from(SECRET), REDIRECT)
        .unwrap()
        .with_insecure_loopback(true)
        .unwrap();
    let client = OidcClient::new(provider, OidcTimings::default(), h.browser.clone(), h.clock.clone());
    assert_eq!(client.begin(None).await.unwrap_err(), OidcError::ProviderUnavailable);
}

#[tokio::test]
async fn error_texts_carry_no_secrets() {
    let h = harness(Setup { auto_approve: Some("mallory"), domains: vec!["example.de"], ..Setup::default() }).await;
    let callback = h.authorize().await;
    let code = param(&callback, "code");
    let state = param(&callback, "state");
    let error = h.callback(&callback).await.unwrap_err();
    let text = format!("{error} {error:?}");
    assert!(!text.contains(&code) && !text.contains(&state) && !text.contains("mallory"), "{text}");
}
