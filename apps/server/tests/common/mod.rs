//! Test helpers: a fresh hoheit per test on SQLite, or on a fresh PostgreSQL database when
//! `HOHEIT_TEST_POSTGRES_URL` is set (scripts/test).

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::sync::Once;

pub mod web;

use hoheit_server::harness::{Answer, Client, Harness, HarnessOptions, eventually};
use serde_json::{Value, json};

pub const NUMBER: &str = "+49 170 5550123";
pub const WA: &str = "491705550123";

static NOTICE: Once = Once::new();

/// A fresh PostgreSQL database URL, if PostgreSQL tests are enabled.
pub async fn postgres_database() -> Option<String> {
    let Some(admin) = std::env::var("HOHEIT_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) else {
        NOTICE.call_once(|| {
            let _ = writeln!(std::io::stderr(), "\nNOTE: PostgreSQL server tests SKIPPED (HOHEIT_TEST_POSTGRES_URL not set); run scripts/test to include them.\n");
        });
        return None;
    };
    let name = format!("hoheit_e2e_{}", uuid::Uuid::new_v4().simple());
    let conn = sea_orm::Database::connect(&admin).await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(&conn, &format!("CREATE DATABASE {name}")).await.unwrap();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b).to_owned();
    Some(format!("{base}/{name}"))
}

/// Each scenario runs on SQLite, and on a fresh PostgreSQL database when
/// `HOHEIT_TEST_POSTGRES_URL` is set. `name: false` starts a scenario without the background workers
/// (the test dispatches itself, so messages can wait in the outbox).
#[allow(unused_macros)] // not every test file has scenarios
macro_rules! scenarios {
    ($($name:ident: $workers:expr),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let mut options = super::HarnessOptions::new(std::path::PathBuf::new());
                    options.workers = $workers;
                    let (h, _dir) = super::start(options).await;
                    super::$name(&h).await;
                    h.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(url) = super::postgres_database().await else { return };
                    let mut options = super::HarnessOptions::new(std::path::PathBuf::new());
                    options.database_url = Some(url);
                    options.workers = $workers;
                    let (h, _dir) = super::start(options).await;
                    super::$name(&h).await;
                    h.stop().await;
                }
            )*
        }
    };
}
#[allow(unused_imports)]
pub(crate) use scenarios;

pub async fn start(options: HarnessOptions) -> (Harness, tempfile::TempDir) {
    let dir = options.data_dir.clone();
    let _ = dir;
    let tmp = tempfile::tempdir().unwrap();
    let options = HarnessOptions { data_dir: tmp.path().to_path_buf(), ..options };
    (Harness::start(options).await.unwrap(), tmp)
}

/// Two servers without background workers on one database (a fresh PostgreSQL database when
/// `HOHEIT_TEST_POSTGRES_URL` is set, else one SQLite file): replicas.
#[allow(dead_code)] // not every test file has replicas
pub async fn two_replicas() -> (Harness, Harness, tempfile::TempDir) {
    let url = postgres_database().await;
    let dir = tempfile::tempdir().unwrap();
    let options = || {
        let mut o = HarnessOptions::new(dir.path().to_path_buf());
        o.database_url = url.clone();
        o.workers = false;
        o
    };
    let one = Harness::start(options()).await.unwrap();
    let two = Harness::start(options()).await.unwrap();
    (one, two, dir)
}

pub async fn sqlite() -> (Harness, tempfile::TempDir) {
    start(HarnessOptions::new(std::path::PathBuf::new())).await
}

/// A tenant with admin, DPO and recruiter clients, an approved channel on the simulator,
/// published legal texts.
pub struct Tenant {
    pub id: String,
    pub admin: Client,
    pub dpo: Client,
    pub recruiter: Client,
    pub channel: String,
    pub webhook_path: String,
    pub webhook_secret: String,
}

/// The platform operator creates a tenant (`body` as `POST /api/v1/tenants` takes it; 201
/// asserted): the answer carries the tenant's id and its first invitations.
pub async fn operator_creates_tenant(h: &Harness, body: Value) -> Answer {
    let operator = h.client(&h.token(None, hoheit_domain::tenant::Role::Operator).await.unwrap());
    let r = operator.post("/api/v1/tenants", body).await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    r
}

pub async fn tenant(h: &Harness, name: &str, phone_number_id: &str) -> Tenant {
    let r = operator_creates_tenant(h, json!({"name": name, "privacy_contact": "dpo@example.com", "privacy_notice_url": "https://example.com/datenschutz", "invite_dpo": true})).await;
    assert!(r.json.get("admin_token").is_none(), "the operator gets no tenant credential");
    let first_admin = h.client(&accept(h, r.str("/admin_invitation/invitation").unwrap(), None).await);
    let id = r.str("/id").unwrap().to_owned();
    // scenarios move the clock by months: the tenant allows two-year tokens, and the fixture's
    // tokens use them (the default is 90 days)
    let s = first_admin
        .put("/api/v1/settings/credentials", json!({"dpo_appointed_by_admin": false, "token_max_days": 730}))
        .await;
    assert_eq!(s.status, 200, "{:?}", s.json);
    let admin = issued(h, &first_admin, "admin", "admin").await;
    // the DPO is invited with the tenant, independently of the admin (R1's separation of duties)
    let dpo = h.client(&accept(h, r.str("/dpo_invitation/invitation").unwrap(), Some(730)).await);
    let recruiter = issued(h, &admin, "recruiter", "r").await;
    let r = admin
        .post(
            "/api/v1/channels",
            json!({
                "display_phone_number": "+49 30 901820",
                "phone_number_id": phone_number_id,
                "api_key": "x",
                "consent_template": {"name": "consent_request", "language": "de"}
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    let channel = r.str("/id").unwrap().to_owned();
    let webhook_path = r.str("/webhook_url_path").unwrap().to_owned();
    let webhook_secret = r.str("/webhook_secret").unwrap().to_owned();
    let consent = hoheit_server::harness::CONSENT_TEMPLATE_TEXT
        .replace("{{1}}", name)
        .replace("{{2}}", "https://example.com/datenschutz");
    for (kind, body) in [
        ("terms", "Nutzungsbedingungen"),
        ("privacy_notice", "Datenschutzhinweise"),
        ("consent_request", consent.as_str()),
    ] {
        let r = admin
            .post("/api/v1/legal-texts", json!({"kind": kind, "version": "v1", "language": "de", "body": body}))
            .await;
        assert_eq!(r.status, 201, "{kind}: {:?}", r.json);
    }
    let r = dpo
        .post(
            &format!("/api/v1/channels/{channel}/approval"),
            json!({"approver_name": "Dr. D", "dpia_reference": "DSFA-1", "documents": ["privacy_notice@v1"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    Tenant { id, admin, dpo, recruiter, channel, webhook_path, webhook_secret }
}

/// Accepts an invitation (no bearer token) and returns the new token.
/// A client with a two-year token of `role` that `issuer` issues.
async fn issued(h: &Harness, issuer: &Client, role: &str, label: &str) -> Client {
    let r = issuer.post("/api/v1/tokens", json!({"role": role, "label": label, "expires_in_days": 730})).await;
    h.client(r.str("/token").unwrap())
}

pub async fn accept(h: &Harness, invitation: &str, expires_in_days: Option<u32>) -> String {
    let r = Client::anonymous(&h.base)
        .post("/api/v1/invitations/accept", json!({"invitation": invitation, "expires_in_days": expires_in_days}))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    r.str("/token").unwrap().to_owned()
}

pub async fn candidate(t: &Tenant, phone: &str) -> String {
    let r = t
        .recruiter
        .post("/api/v1/candidates", json!({"phone": phone, "name": "Erika Mustermann", "channel_id": t.channel}))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    r.str("/id").unwrap().to_owned()
}

/// A Cloud API webhook body with one inbound text message.
pub fn inbound_text(phone_number_id: &str, from: &str, wamid: &str, text: &str, timestamp: i64) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "200", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "4930901820", "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": "Erika"}, "wa_id": from}],
        "messages": [{"from": from, "id": wamid, "timestamp": timestamp.to_string(), "type": "text", "text": {"body": text}}]
    }}]}]})
}

/// A webhook body with one status.
pub fn status(phone_number_id: &str, wamid: &str, status: &str, timestamp: i64) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "200", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "4930901820", "phone_number_id": phone_number_id},
        "statuses": [{"id": wamid, "status": status, "timestamp": timestamp.to_string(), "recipient_id": "491705550123"}]
    }}]}]})
}

/// Posts a webhook with (or without) the right secret.
pub async fn post_webhook(h: &Harness, t: &Tenant, body: &Value, secret: Option<&str>) -> u16 {
    let mut req = reqwest::Client::new().post(format!("{}{}", h.base, t.webhook_path)).json(body);
    if let Some(s) = secret {
        req = req.header("x-hoheit-webhook-secret", s);
    }
    req.send().await.map(|r| r.status().as_u16()).unwrap_or(0)
}

pub fn now_unix() -> i64 {
    #[allow(clippy::disallowed_methods)]
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The button payload of the first consent request the simulator accepted, once it went out.
pub async fn consent_payload(h: &Harness, wait: std::time::Duration) -> String {
    assert!(eventually(wait, || async { !h.sim.accepted_messages().is_empty() }).await, "no consent request went out");
    h.sim.accepted_messages()[0]
        .body
        .pointer("/template/components")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .find_map(|c| c.pointer("/parameters/0/payload").and_then(Value::as_str).map(str::to_owned))
        .unwrap()
}

/// The candidate `c` (WhatsApp id `wa`) taps "Zustimmen" on the consent request; waits until the
/// WhatsApp consent is granted.
pub async fn accept_consent(h: &Harness, t: &Tenant, c: &str, wa: &str, wait: std::time::Duration) {
    let payload = consent_payload(h, wait).await;
    h.sim.inject_button_reply(wa, &payload, "Zustimmen");
    assert!(
        eventually(wait, || async {
            t.recruiter.get(&format!("/api/v1/candidates/{c}")).await.json["consents"][0]["state"] == "granted"
        })
        .await,
        "the consent was not recorded"
    );
}

/// Tenant "Beispiel GmbH" on the simulator with the candidate [`NUMBER`], whose WhatsApp consent
/// a recruiter recorded (verbally, by phone).
pub async fn consenting(h: &Harness) -> (Tenant, String) {
    let t = tenant(h, "Beispiel GmbH", h.sim.phone_number_id()).await;
    let c = candidate(&t, NUMBER).await;
    let r = record_verbal_consent(&t, &c).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    (t, c)
}

/// A recruiter records the candidate's WhatsApp consent, given verbally by phone.
pub async fn record_verbal_consent(t: &Tenant, c: &str) -> Answer {
    t.recruiter
        .post(
            &format!("/api/v1/candidates/{c}/consents"),
            json!({"purpose": "whatsapp_channel", "method": "recorded_verbal", "capture_channel": "phone"}),
        )
        .await
}

/// The candidate with WhatsApp id [`WA`] writes `text` (webhook with the right secret); the status.
pub async fn candidate_writes(h: &Harness, t: &Tenant, wamid: &str, text: &str) -> u16 {
    let body = inbound_text(h.sim.phone_number_id(), WA, wamid, text, now_unix());
    post_webhook(h, t, &body, Some(&t.webhook_secret)).await
}
