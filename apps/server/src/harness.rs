//! A whole hoheit on loopback: the server with its workers on the embedded SQLite default (or
//! PostgreSQL), wired to an in-process 360Dialog simulator, plus a small HTTP client. Used by
//! `hoheit demo`, `hoheit serve --dev` and the end-to-end tests; nothing leaves the machine.

use std::path::PathBuf;
use std::time::Duration as StdDuration;

use hoheit_dialog360::SecretString;
use hoheit_dialog360::simulator::{DEFAULT_SIM_API_KEY, Simulator, SimulatorConfig, SimulatorHandle, template_json};
use hoheit_domain::tenant::Role;
use serde_json::Value;

use crate::config::Config;
use crate::state::{AppState, DevChannel};
use crate::wiring::{self, Schema};
use crate::{Running, start};

/// The consent-request template the simulator offers (DE): names the employer, WhatsApp/Meta,
/// the US transfer and the objection keyword.
pub const CONSENT_TEMPLATE_TEXT: &str = "{{1}} möchte Sie zu Ihrer Bewerbung über WhatsApp kontaktieren. WhatsApp gehört zu Meta; \
    Daten können in die USA übermittelt werden. Sie können jederzeit formlos widersprechen: antworten Sie STOPP. \
    Datenschutzhinweise: {{2}}";

/// What to start.
#[derive(Debug, Clone)]
pub struct HarnessOptions {
    /// Data directory (SQLite file, key files).
    pub data_dir: PathBuf,
    /// PostgreSQL instead of SQLite.
    pub database_url: Option<String>,
    /// Listen address (`127.0.0.1:0` for a free port).
    pub listen: String,
    /// Extra `HOHEIT_*` settings.
    pub env: Vec<(String, String)>,
    /// Simulator settings.
    pub simulator: SimulatorConfig,
    /// Start the background workers (dispatcher, schedulers). Tests that need to hold messages
    /// in the outbox start without them and run [`crate::workers::dispatcher`] themselves.
    pub workers: bool,
}

impl HarnessOptions {
    /// Defaults for a data directory: free port, fast dispatcher, no pair spacing delay.
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            database_url: None,
            listen: "127.0.0.1:0".into(),
            env: Vec::new(),
            simulator: SimulatorConfig::default(),
            workers: true,
        }
    }
}

/// A running hoheit with its simulator.
#[derive(Debug)]
pub struct Harness {
    /// Server handles.
    pub running: Running,
    /// The application state (use cases, store, clock).
    pub state: AppState,
    /// The fake 360Dialog.
    pub sim: SimulatorHandle,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

/// The body of `POST /api/v1/channels` that connects the simulator's number.
pub fn simulator_channel(h: &Harness) -> Value {
    serde_json::json!({
        "display_phone_number": "+49 30 901820",
        "phone_number_id": h.sim.phone_number_id(),
        "api_key": "set-by-dev-mode",
        "consent_template": {"name": "consent_request", "language": "de"}
    })
}

/// The three legal texts a tenant publishes before its first consent request, version
/// `2026-01` in German: terms, privacy notice and the consent request (R6) of `employer`, with
/// the privacy notice at `notice_url`.
pub fn sample_legal_texts(employer: &str, notice_url: &str) -> [(&'static str, String); 3] {
    [
        ("terms", format!("Nutzungsbedingungen für den WhatsApp-Kanal der {employer}, Version 1.")),
        (
            "privacy_notice",
            format!("Datenschutzhinweise der {employer} für Bewerbungen über WhatsApp (360dialog, Meta, USA)."),
        ),
        ("consent_request", CONSENT_TEMPLATE_TEXT.replace("{{1}}", employer).replace("{{2}}", notice_url)),
    ]
}

/// The simulator's templates: the consent request (3 quick replies) and an interview invitation.
pub fn simulator_templates() -> Vec<Value> {
    vec![
        template_json(
            "consent_request",
            "de",
            "UTILITY",
            "APPROVED",
            CONSENT_TEMPLATE_TEXT,
            &["Zustimmen", "Ablehnen", "STOPP"],
        ),
        template_json(
            "interview_invite",
            "de",
            "UTILITY",
            "APPROVED",
            "Wir laden Sie zum Gespräch am {{1}} ein. Antworten Sie STOPP, um keine Nachrichten mehr zu erhalten.",
            &[],
        ),
        template_json("job_alert", "de", "MARKETING", "APPROVED", "Neue Stellen bei uns.", &[]),
    ]
}

impl Harness {
    /// Starts the simulator, migrates, and starts the server and its workers.
    pub async fn start(options: HarnessOptions) -> Result<Self, String> {
        let sim = Simulator::start(options.simulator.clone()).await.map_err(|e| format!("simulator: {e}"))?;
        sim.set_templates(simulator_templates());
        let mut env = vec![
            ("HOHEIT_DATA_DIR".to_owned(), options.data_dir.display().to_string()),
            ("HOHEIT_LISTEN".to_owned(), options.listen.clone()),
            ("HOHEIT_DISPATCHER__IDLE_MILLIS".to_owned(), "20".to_owned()),
            ("HOHEIT_DIALOG360__PAIR_SPACING_MILLIS".to_owned(), "1".to_owned()),
            ("HOHEIT_DIALOG360__REQUEST_TIMEOUT_SECONDS".to_owned(), "5".to_owned()),
            // the simulator listens on loopback (development and tests only)
            ("HOHEIT_DIALOG360__ALLOW_INSECURE_LOOPBACK".to_owned(), "true".to_owned()),
            ("HOHEIT_LIMITS__REQUESTS_PER_SECOND".to_owned(), "10000".to_owned()),
            ("HOHEIT_LIMITS__BURST".to_owned(), "10000".to_owned()),
            // tests read gauges right after changing what they count
            ("HOHEIT_METRICS__CACHE_SECONDS".to_owned(), "0".to_owned()),
        ];
        if let Some(url) = &options.database_url {
            env.push(("HOHEIT_DATABASE_URL".to_owned(), url.clone()));
        }
        env.extend(options.env.iter().cloned());
        let mut config = Config::load_with(None, env).map_err(|e| e.to_string())?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let base = format!("http://{addr}");
        config.public_url = Some(base.clone());
        let dev = DevChannel { base_url: sim.base_url(), api_key: SecretString::from(DEFAULT_SIM_API_KEY) };
        let state = wiring::open(config, Some(dev), Schema::Migrate).await?;
        let running = start(state.clone(), listener, options.workers).await.map_err(|e| e.to_string())?;
        Ok(Self { running, state, sim, base })
    }

    /// Issues a token (operator when `tenant` is `None`).
    pub async fn token(&self, tenant: Option<hoheit_domain::ids::TenantId>, role: Role) -> Result<String, String> {
        crate::api::tokens::issue_token(&self.state, tenant, role, role.as_str())
            .await
            .map(|(_, t)| t)
            .map_err(|e| e.message)
    }

    /// A client for the API.
    pub fn client(&self, token: &str) -> Client {
        Client { http: http_client(), base: self.base.clone(), token: Some(token.to_owned()) }
    }

    /// Stops everything.
    pub async fn stop(self) {
        self.running.stop().await;
        self.sim.shutdown().await;
    }
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder().timeout(StdDuration::from_secs(30)).build().unwrap_or_default()
}

/// A minimal JSON client for the API.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    /// Base URL.
    pub base: String,
    token: Option<String>,
}

/// An answer: status and JSON body (`Null` if none).
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Body.
    pub json: Value,
}

impl Answer {
    /// The error code, if this is an error.
    pub fn code(&self) -> Option<&str> {
        self.json.pointer("/error/code").and_then(Value::as_str)
    }

    /// A string field by JSON pointer.
    pub fn str(&self, pointer: &str) -> Option<&str> {
        self.json.pointer(pointer).and_then(Value::as_str)
    }
}

impl Client {
    /// A client without a token.
    pub fn anonymous(base: &str) -> Self {
        Self { http: http_client(), base: base.to_owned(), token: None }
    }

    /// Sends a request.
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Answer {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let text = resp.text().await.unwrap_or_default();
                let json = serde_json::from_str(&text).unwrap_or(if text.is_empty() {
                    Value::Null
                } else {
                    Value::String(text)
                });
                Answer { status, json }
            }
            Err(e) => Answer { status: 0, json: Value::String(e.to_string()) },
        }
    }

    /// GET.
    pub async fn get(&self, path: &str) -> Answer {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// POST with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// PUT with a JSON body.
    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    /// DELETE.
    pub async fn delete(&self, path: &str) -> Answer {
        self.call(reqwest::Method::DELETE, path, None).await
    }
}

/// Polls `check` every 25 ms until it is true or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: StdDuration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(StdDuration::from_millis(25)).await;
    }
}
