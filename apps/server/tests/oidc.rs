//! Staff sign-in through the tenant's identity provider (issue 16 item 4) over HTTP, with the
//! OIDC provider stand-in: the admin's settings (secret write-only), the start route's redirect
//! (PKCE, state, nonce), and the callback end-to-end: wrong issuer, e-mail domain, a replayed
//! callback, a tampered state, the role mapping.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use hoheit_oidc::stand_in::{Knobs, StandIn, StandInConfig, StandInUser};
use hoheit_server::harness::{Harness, HarnessOptions};
use serde_json::json;
use url::Url;

const CLIENT_ID: &str = "hoheit-test";
const SECRET: &str = "client-secret-for-tests";

async fn server() -> (Harness, tempfile::TempDir) {
    let mut options = HarnessOptions::new(std::path::PathBuf::new());
    options.env.push(("HOHEIT_OIDC__ALLOW_INSECURE_LOOPBACK".into(), "true".into()));
    start(options).await
}

async fn stand_in(h: &Harness, auto_approve: &str) -> StandIn {
    let mut config = StandInConfig::new(CLIENT_ID, SECRET, &format!("{}/auth/oidc/callback", h.base));
    config.users = vec![
        StandInUser::new("erika", "erika@example.de", "Erika Muster", &["hr"]),
        StandInUser::new("mallory", "mallory@evil.example", "Mallory", &["hr"]),
        StandInUser::new("both", "both@example.de", "Both", &["it", "dsb"]),
    ];
    config.auto_approve = Some(auto_approve.into());
    StandIn::start(config).await.unwrap()
}

fn browser() -> reqwest::Client {
    hoheit_oidc::http_client(std::time::Duration::from_secs(10)).unwrap()
}

async fn configure(t: &Tenant, idp: &StandIn, extra: serde_json::Value) {
    let mut body = json!({
        "enabled": true,
        "issuer": idp.issuer(),
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "allowed_email_domains": ["example.de"],
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = save_settings(t, body).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
}

/// `PUT /api/v1/settings/oidc` as the tenant's admin.
async fn save_settings(t: &Tenant, body: serde_json::Value) -> hoheit_server::harness::Answer {
    t.admin.put("/api/v1/settings/oidc", body).await
}

/// A server, the tenant "Acme" and the provider stand-in (signing in as `user`) configured with
/// the base settings and `extra`.
async fn with_provider(
    phone_number_id: &str,
    user: &str,
    extra: serde_json::Value,
) -> (Harness, tempfile::TempDir, Tenant, StandIn) {
    let (h, dir) = server().await;
    let t = tenant(&h, "Acme", phone_number_id).await;
    let idp = stand_in(&h, user).await;
    configure(&t, &idp, extra).await;
    (h, dir, t, idp)
}

fn location(answer: &reqwest::Response) -> String {
    answer.headers()["location"].to_str().unwrap().to_owned()
}

/// start -> provider (auto-approve) -> the callback URL the provider sends the browser to.
async fn to_callback(h: &Harness, t: &Tenant) -> Url {
    let b = browser();
    let start = b.get(format!("{}/auth/oidc/{}/start?return_to=/inbox", h.base, t.id)).send().await.unwrap();
    assert_eq!(start.status(), 303);
    let at_provider = b.get(location(&start)).send().await.unwrap();
    assert!(at_provider.status().is_redirection(), "{}", at_provider.status());
    Url::parse(&location(&at_provider)).unwrap()
}

/// Start (with `query`) -> provider (auto-approve) -> callback, in browser `b`: the callback's
/// answer.
async fn through_provider(b: &reqwest::Client, h: &Harness, t: &Tenant, query: &str) -> reqwest::Response {
    let start = b.get(format!("{}/auth/oidc/{}/start?{query}", h.base, t.id)).send().await.unwrap();
    let at_provider = b.get(location(&start)).send().await.unwrap();
    complete(&Url::parse(&location(&at_provider)).unwrap()).await
}

/// The callback's answer: where it sends the browser.
async fn complete(callback: &Url) -> reqwest::Response {
    let answer = browser().get(callback.clone()).send().await.unwrap();
    assert_eq!(answer.status(), 303);
    answer
}

fn oidc_error(target: &str) -> Option<String> {
    let url = Url::parse(&format!("http://x{target}")).ok()?;
    url.query_pairs().find(|(k, _)| k == "oidc_error").map(|(_, v)| v.into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_keep_the_secret_write_only() {
    let (h, _dir) = server().await;
    let t = tenant(&h, "Acme", "pn-oidc-1").await;
    assert_eq!(t.admin.get("/api/v1/settings/oidc").await.status, 404);
    let first =
        save_settings(&t, json!({"enabled": true, "issuer": "https://sso.example.de/realms/acme", "client_id": "c"}))
            .await;
    assert_eq!(first.status, 400, "the first save needs the secret: {:?}", first.json);
    let bad = save_settings(
        &t,
        json!({"enabled": true, "issuer": "http://sso.example.de", "client_id": "c", "client_secret": "s"}),
    )
    .await;
    assert_eq!(bad.status, 400, "{:?}", bad.json);
    let claims = json!({"enabled": true, "issuer": "https://sso.example.de/realms/acme", "client_id": "c", "client_secret": "TOP-SECRET-VALUE",
                   "role_source": "claims", "group_roles": [{"group": "hr", "role": "recruiter"}]});
    let r = save_settings(&t, claims).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let read = t.admin.get("/api/v1/settings/oidc").await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json["client_secret_set"], true);
    assert_eq!(read.json["role_source"], "claims");
    assert_eq!(read.json["redirect_uri"], format!("{}/auth/oidc/callback", h.base));
    assert!(!read.json.to_string().contains("TOP-SECRET-VALUE"));
    // a later change without the secret keeps it
    let r =
        save_settings(&t, json!({"enabled": false, "issuer": "https://sso.example.de/realms/acme", "client_id": "c"}))
            .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(t.admin.get("/api/v1/settings/oidc").await.json["client_secret_set"], true);
    // not for recruiters
    assert_eq!(t.recruiter.get("/api/v1/settings/oidc").await.status, 403);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_redirects_to_the_provider_with_pkce_state_and_nonce() {
    let (h, _dir) = server().await;
    let t = tenant(&h, "Acme", "pn-oidc-2").await;
    let b = browser();
    let unset = b.get(format!("{}/auth/oidc/{}/start", h.base, t.id)).send().await.unwrap();
    assert_eq!(unset.status(), 404, "no settings yet");
    let idp = stand_in(&h, "erika").await;
    configure(&t, &idp, json!({})).await;
    let start = b.get(format!("{}/auth/oidc/{}/start", h.base, t.id)).send().await.unwrap();
    assert_eq!(start.status(), 303);
    let url = Url::parse(&location(&start)).unwrap();
    assert!(url.as_str().starts_with(&format!("{}/authorize?", idp.issuer())), "{url}");
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["redirect_uri"], format!("{}/auth/oidc/callback", h.base));
    assert_eq!(q["state"].len(), 43);
    assert_eq!(q["nonce"].len(), 43);
    let bogus = b.get(format!("{}/auth/oidc/not-a-tenant/start", h.base)).send().await.unwrap();
    assert_eq!(bogus.status(), 404);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_failures_redirect_with_a_coarse_code_and_a_replay_fails() {
    let (h, _dir, t, idp) = with_provider("pn-oidc-3", "erika", json!({})).await;

    // a token naming another issuer
    idp.set_knobs(Knobs { wrong_issuer: true, ..Knobs::default() });
    let callback = to_callback(&h, &t).await;
    let answer = complete(&callback).await;
    assert_eq!(oidc_error(&location(&answer)).as_deref(), Some("sign_in_failed"));
    assert!(answer.headers().get("set-cookie").is_none());
    assert!(location(&answer).contains(&format!("tenant={}", t.id)));
    // the same callback again: the pending sign-in is gone
    let replay = complete(&callback).await;
    assert_eq!(oidc_error(&location(&replay)).as_deref(), Some("state_mismatch"));

    // an expired token, a wrong audience
    for knobs in [Knobs { expired: true, ..Knobs::default() }, Knobs { wrong_audience: true, ..Knobs::default() }] {
        idp.set_knobs(knobs);
        let answer = complete(&to_callback(&h, &t).await).await;
        assert_eq!(oidc_error(&location(&answer)).as_deref(), Some("sign_in_failed"), "{knobs:?}");
    }
    idp.set_knobs(Knobs::default());

    // a tampered state finds no pending sign-in
    let mut tampered = to_callback(&h, &t).await;
    let code: String = tampered.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    tampered.query_pairs_mut().clear().append_pair("code", &code).append_pair("state", "tampered");
    let answer = complete(&tampered).await;
    assert_eq!(oidc_error(&location(&answer)).as_deref(), Some("state_mismatch"));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_domain_and_role_mapping_are_enforced() {
    let roles = json!({"role_source": "claims", "group_roles": [{"group": "hr", "role": "recruiter"}, {"group": "it", "role": "admin"}, {"group": "dsb", "role": "dpo"}]});
    let (h, _dir, t, idp) = with_provider("pn-oidc-4", "mallory", roles).await;
    let answer = complete(&to_callback(&h, &t).await).await;
    assert_eq!(oidc_error(&location(&answer)).as_deref(), Some("email_domain_not_allowed"));

    // groups mapping to admin and DPO at once: refused (R1)
    idp.set_auto_approve(Some("both"));
    let answer = complete(&to_callback(&h, &t).await).await;
    assert_eq!(oidc_error(&location(&answer)).as_deref(), Some("not_permitted"));

    // a verified identity without an account bound to it: refused, no cookie
    idp.set_auto_approve(Some("erika"));
    let answer = complete(&to_callback(&h, &t).await).await;
    assert_eq!(oidc_error(&location(&answer)).as_deref(), Some("not_permitted"));
    assert!(answer.headers().get("set-cookie").is_none());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invited_recruiter_binds_the_provider_account_and_signs_in_again() {
    use hoheit_domain::staff::{SESSION_COOKIE, SecretText};
    use hoheit_domain::tenant::{Actor, Role};
    use hoheit_domain::usecases::StaffInvite;

    let (h, _dir, t, idp) = with_provider(
        "pn-oidc-5",
        "erika",
        json!({"role_source": "claims", "group_roles": [{"group": "hr", "role": "recruiter"}]}),
    )
    .await;
    let tenant_id: hoheit_domain::ids::TenantId = t.id.parse().unwrap();
    let invited = h
        .state
        .app
        .invite_staff(
            Actor::System,
            tenant_id,
            StaffInvite {
                role: Role::Recruiter,
                email: "erika@example.de".into(),
                display_name: "Erika Muster".into(),
                language: None,
            },
        )
        .await
        .unwrap();

    let cookie_of = |answer: &reqwest::Response| -> String {
        let set = answer.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(set.starts_with(&format!("{SESSION_COOKIE}=")), "{set}");
        assert!(set.contains("Secure") && set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");
        set.split(';').next().unwrap().split_once('=').unwrap().1.to_owned()
    };

    // accept the invitation by binding the provider's account
    let b = browser();
    let secret = invited.secret.expose();
    let answer = through_provider(&b, &h, &t, &format!("return_to=/inbox&invitation={secret}")).await;
    assert_eq!(location(&answer), "/inbox");
    let first = cookie_of(&answer);
    let principal = h.state.app.session(&SecretText::new(first.clone())).await.unwrap();
    assert_eq!(principal.role, Role::Recruiter);

    // the invitation is used up: a second bind fails
    let answer = through_provider(&b, &h, &t, &format!("invitation={secret}")).await;
    assert!(oidc_error(&location(&answer)).is_some_and(|c| c.starts_with("invitation_")), "{}", location(&answer));

    // a later sign-in finds the account by issuer and subject: a new session id
    let answer = complete(&to_callback(&h, &t).await).await;
    assert_eq!(location(&answer), "/inbox");
    let second = cookie_of(&answer);
    assert_ne!(first, second);
    assert_eq!(h.state.app.session(&SecretText::new(second)).await.unwrap().staff, principal.staff);

    // the mapping now makes hr admins: the account is a recruiter, so the sign-in is refused
    configure(&t, &idp, json!({"role_source": "claims", "group_roles": [{"group": "hr", "role": "admin"}]})).await;
    let answer = complete(&to_callback(&h, &t).await).await;
    assert_eq!(oidc_error(&location(&answer)).as_deref(), Some("not_permitted"));
    assert!(answer.headers().get("set-cookie").is_none());
    h.stop().await;
}
