//! Setting up what a load run needs through the server's own HTTP API: a tenant with an admin,
//! a DPO and a recruiter token, approved channels (each with its webhook route and secret),
//! published legal texts, and candidates.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::util::{Context as _, Res, fail};

/// A JSON API client with a bearer token.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    http: reqwest::Client,
    pub(crate) base: String,
    token: String,
}

impl Api {
    pub(crate) fn new(base: &str, token: &str) -> Res<Self> {
        hoheit_dialog360::ensure_crypto_provider();
        let http =
            reqwest::Client::builder().timeout(Duration::from_secs(3_600)).pool_max_idle_per_host(256).build()?;
        Ok(Self { http, base: base.to_owned(), token: token.to_owned() })
    }

    /// The same client with another token.
    pub(crate) fn with_token(&self, token: &str) -> Self {
        Self { token: token.to_owned(), ..self.clone() }
    }

    /// A request; returns (status, JSON body or Null). Transport errors are status 0.
    pub(crate) async fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let json = resp.json::<Value>().await.unwrap_or(Value::Null);
                (status, json)
            }
            Err(e) => (0, Value::String(e.to_string())),
        }
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// POST that must answer `want`; returns the body.
    pub(crate) async fn expect(&self, path: &str, body: &Value, want: u16) -> Res<Value> {
        let (status, json) = self.post(path, body).await;
        if status == want { Ok(json) } else { Err(fail!("POST {path}: {status} {json}")) }
    }
}

fn field(json: &Value, name: &str) -> Res<String> {
    json.get(name).and_then(Value::as_str).map(str::to_owned).context(&format!("missing field {name} in {json}"))
}

/// One channel: where and how its webhooks are posted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ChannelSetup {
    pub(crate) id: String,
    pub(crate) phone_number_id: String,
    pub(crate) webhook_path: String,
    pub(crate) webhook_secret: String,
}

impl ChannelSetup {
    /// POSTs one webhook body to this channel's route, signed with its secret header, as
    /// 360Dialog would; returns the HTTP status.
    pub(crate) async fn post_webhook(&self, http: &reqwest::Client, base: &str, body: bytes::Bytes) -> Res<u16> {
        Ok(http
            .post(format!("{base}{}", self.webhook_path))
            .header(hoheit_server::state::WEBHOOK_SECRET_HEADER, &self.webhook_secret)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?
            .status()
            .as_u16())
    }
}

/// A tenant ready for load.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TenantSetup {
    pub(crate) id: String,
    pub(crate) admin: String,
    pub(crate) dpo: String,
    pub(crate) recruiter: String,
    pub(crate) channels: Vec<ChannelSetup>,
}

/// Where channels send: the simulator (base URL and API key), or nowhere (ingest-only runs).
#[derive(Debug, Clone)]
pub(crate) struct Provider {
    pub(crate) base_url: String,
    pub(crate) api_key: String,
    pub(crate) phone_number_ids: Vec<String>,
}

/// Creates a tenant with `channels` approved channels. Phone number ids are `1000000000{n}`
/// unless a provider names them.
pub(crate) async fn tenant(
    base: &str,
    operator_token: &str,
    name: &str,
    channels: usize,
    provider: Option<&Provider>,
) -> Res<TenantSetup> {
    let operator = Api::new(base, operator_token)?;
    let created = operator
        .expect(
            "/api/v1/tenants",
            &json!({
                "name": name,
                "privacy_contact": "datenschutz@example.com",
                "privacy_notice_url": "https://example.com/datenschutz",
                "invite_dpo": true,
            }),
            201,
        )
        .await?;
    let id = field(&created, "id")?;
    // the operator receives invitations, never a credential: the admin and the DPO accept them
    let accept = |which: &'static str| {
        let operator = operator.clone();
        let invitation = created.get(which).map(|i| field(i, "invitation"));
        async move {
            let invitation = invitation.context(&format!("missing {which}"))??;
            field(
                &operator.expect("/api/v1/invitations/accept", &json!({"invitation": invitation}), 201).await?,
                "token",
            )
        }
    };
    let admin = operator.with_token(&accept("admin_invitation").await?);
    let dpo = accept("dpo_invitation").await?;
    let recruiter = field(
        &admin.expect("/api/v1/tokens", &json!({"role": "recruiter", "label": "recruiter"}), 201).await?,
        "token",
    )?;
    let consent = hoheit_server::harness::CONSENT_TEMPLATE_TEXT
        .replace("{{1}}", name)
        .replace("{{2}}", "https://example.com/datenschutz");
    for (kind, body) in
        [("terms", "Nutzungsbedingungen"), ("privacy_notice", "Datenschutzhinweise"), ("consent_request", &consent)]
    {
        admin
            .expect("/api/v1/legal-texts", &json!({"kind": kind, "version": "v1", "language": "de", "body": body}), 201)
            .await?;
    }
    let dpo_api = admin.with_token(&dpo);
    let mut list = Vec::new();
    for n in 0..channels {
        let phone_number_id = provider
            .and_then(|p| p.phone_number_ids.get(n).cloned())
            .unwrap_or_else(|| format!("{}", 100_000_000_000_u64 + n as u64 + 1));
        // Ingest-only runs point the channel at a closed port: template sync fails fast (a
        // warning in the server log) and nothing is ever sent.
        let (base_url, api_key) = provider.map_or(("http://127.0.0.1:9".to_owned(), "unused".to_owned()), |p| {
            (p.base_url.clone(), p.api_key.clone())
        });
        let body = json!({
            "display_phone_number": format!("+49 30 9018{n:04}"),
            "phone_number_id": phone_number_id,
            "api_key": api_key,
            "base_url": base_url,
            "consent_template": {"name": "consent_request", "language": "de"},
        });
        let ch = admin.expect("/api/v1/channels", &body, 201).await?;
        let channel = ChannelSetup {
            id: field(&ch, "id")?,
            phone_number_id,
            webhook_path: field(&ch, "webhook_url_path")?,
            webhook_secret: field(&ch, "webhook_secret")?,
        };
        let approval =
            json!({"approver_name": "Dr. D", "dpia_reference": "DSFA-LOAD", "documents": ["privacy_notice@v1"]});
        dpo_api.expect(&format!("/api/v1/channels/{}/approval", channel.id), &approval, 200).await?;
        list.push(channel);
    }
    Ok(TenantSetup { id, admin: admin.token, dpo, recruiter, channels: list })
}

/// Runs `count` jobs with at most `concurrency` at a time; returns how many failed, and the first
/// error.
pub(crate) async fn parallel<F, Fut>(count: u64, concurrency: usize, job: F) -> (u64, Option<String>)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Res<()>> + Send + 'static,
{
    let job = std::sync::Arc::new(job);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let job = job.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut failed = 0;
            let mut first = None;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= count {
                    break;
                }
                if let Err(e) = job(i).await {
                    failed += 1;
                    first.get_or_insert(e.0);
                }
            }
            (failed, first)
        }));
    }
    let mut failed = 0;
    let mut first = None;
    for t in tasks {
        if let Ok((f, e)) = t.await {
            failed += f;
            if first.is_none() {
                first = e;
            }
        }
    }
    (failed, first)
}
