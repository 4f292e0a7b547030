//! A fake 360Dialog (feature `simulator`): the Cloud API endpoints the adapter uses, on
//! loopback, recording every request, answering like 360Dialog, delivering status webhooks for
//! accepted messages and injected candidate messages, and failing on command.
//!
//! Used by this crate's tests, by `hoheit serve --dev` and `hoheit demo`, and standalone as the
//! `hoheit-360sim` binary. Production code paths never depend on it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use hoheit_dialog360::simulator::{Failure, Simulator, SimulatorConfig, Trigger};
//!
//! let sim = Simulator::start(SimulatorConfig::default()).await?;
//! let base_url = sim.base_url(); // point a Dialog360Client at it, with sim key "sim-api-key"
//! sim.script_failure(Failure::RateLimited { retry_after: None }, Trigger::Next(1));
//! sim.inject_inbound_text("4917012345678", "Hallo!");
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod delivery;
mod payloads;
mod server;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hoheit_domain::values::Wamid;
use rand::SeedableRng;
use rand::rngs::StdRng;
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

pub use payloads::template_json;

/// A status the simulator can report for a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimStatus {
    /// `sent`.
    Sent,
    /// `delivered`.
    Delivered,
    /// `read`.
    Read,
    /// `failed` with this WhatsApp error code.
    Failed {
        /// The code (e.g. 131026).
        code: i64,
    },
}

/// Which status webhooks follow an accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusWebhooks {
    /// Whether any are sent.
    pub enabled: bool,
    /// The statuses, in their natural order.
    pub sequence: Vec<SimStatus>,
    /// Wait before the first one.
    pub delay: Duration,
    /// Shuffle them (seeded): statuses may arrive out of order at WhatsApp too.
    pub out_of_order: bool,
    /// Send one of them twice (delivery is at-least-once).
    pub duplicate: bool,
}

impl Default for StatusWebhooks {
    fn default() -> Self {
        Self {
            enabled: true,
            sequence: vec![SimStatus::Sent, SimStatus::Delivered, SimStatus::Read],
            delay: Duration::from_millis(20),
            out_of_order: false,
            duplicate: false,
        }
    }
}

/// Simulator settings.
#[derive(Debug, Clone)]
pub struct SimulatorConfig {
    /// Where to listen (`127.0.0.1:0` picks a free port).
    pub bind: SocketAddr,
    /// The API key it accepts.
    pub api_key: SecretString,
    /// `metadata.phone_number_id` of its webhooks.
    pub phone_number_id: String,
    /// `metadata.display_phone_number` of its webhooks.
    pub display_phone_number: String,
    /// `entry[].id` (WABA id) of its webhooks.
    pub waba_id: String,
    /// Status webhooks for accepted messages.
    pub status_webhooks: StatusWebhooks,
    /// Delivery attempts per webhook (360Dialog retries non-2xx answers).
    pub webhook_attempts: u32,
    /// Delay before the first retry (doubling after each).
    pub webhook_retry_delay: Duration,
    /// Longest delay between two delivery attempts (the doubling stops there).
    pub webhook_retry_max_delay: Duration,
    /// Timeout of one webhook delivery (360Dialog: 5 s).
    pub webhook_timeout: Duration,
    /// How long [`Failure::Hang`] holds a request.
    pub hang_for: Duration,
    /// Refuse free-form messages (131047) to contacts without an inbound message in the last
    /// 24 hours, like WhatsApp does.
    pub enforce_window: bool,
    /// Seed of the random choices (failure probability, status shuffling, ids).
    pub seed: u64,
}

/// The key the simulator accepts by default.
pub const DEFAULT_SIM_API_KEY: &str = "sim-api-key";

impl Default for SimulatorConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            api_key: SecretString::from(DEFAULT_SIM_API_KEY),
            phone_number_id: "100000000000001".to_owned(),
            display_phone_number: "4930901820".to_owned(),
            waba_id: "200000000000001".to_owned(),
            status_webhooks: StatusWebhooks::default(),
            webhook_attempts: 4,
            webhook_retry_delay: Duration::from_millis(100),
            webhook_retry_max_delay: Duration::from_secs(3_600),
            webhook_timeout: Duration::from_secs(5),
            hang_for: Duration::from_secs(3_600),
            enforce_window: false,
            seed: 0x5eed,
        }
    }
}

/// A way to fail a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 429 with Meta's 130429 (throughput), optionally with `Retry-After: <seconds>`.
    RateLimited {
        /// Retry-After seconds.
        retry_after: Option<u64>,
    },
    /// HTTP 400 with 131056 (pair rate limit).
    PairRateLimited,
    /// HTTP 400 with 131047 (outside the 24-hour window).
    WindowClosed,
    /// Any Meta error code with any HTTP status.
    MetaError {
        /// HTTP status.
        http_status: u16,
        /// WhatsApp code.
        code: i64,
    },
    /// A 5xx answer in 360Dialog's own format.
    ServerError(u16),
    /// 360Dialog's own 400 "You have exceeded the endpoint rate limit".
    EndpointRateLimit,
    /// 401 "Invalid api_key" even for the right key.
    Unauthorized,
    /// Answer normally, but late.
    Slow(Duration),
    /// Hold the request for [`SimulatorConfig::hang_for`], then answer normally (a client with
    /// a shorter timeout sees a timeout after sending).
    Hang,
    /// Close the connection without any answer.
    DropConnection,
}

/// When a scripted failure applies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    /// The next `n` matching requests.
    Next(u32),
    /// Each matching request with this probability (seeded RNG, so runs repeat).
    Probability(f64),
}

/// Which requests a scripted failure applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailureScope {
    /// `POST /messages` (sends and mark-read).
    #[default]
    Messages,
    /// Every request.
    Any,
}

/// A scripted failure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FailureRule {
    /// What happens.
    pub failure: Failure,
    /// When.
    pub trigger: Trigger,
    /// To which requests.
    pub scope: FailureScope,
}

/// Where webhooks go, and how they are authenticated.
#[derive(Clone)]
pub struct WebhookTarget {
    /// URL.
    pub url: String,
    /// Custom headers (a shared secret).
    pub headers: Vec<(String, String)>,
    /// If set, `x-360dialog-signature` carries the hex HMAC-SHA256 of the body under this key.
    pub hmac_key: Option<Vec<u8>>,
}

impl WebhookTarget {
    /// Plain URL, no authentication.
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), headers: Vec::new(), hmac_key: None }
    }

    /// Adds a custom header.
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Signs with HMAC-SHA256.
    #[must_use]
    pub fn with_hmac(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.hmac_key = Some(key.into());
        self
    }
}

impl fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL's path carries the route token: show the host only.
        let host = reqwest::Url::parse(&self.url).ok().and_then(|u| u.host_str().map(str::to_owned));
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("WebhookTarget")
            .field("host", &host)
            .field("headers", &names)
            .field("hmac", &self.hmac_key.is_some())
            .finish()
    }
}

/// A request the simulator received. The API key's value is replaced by `<redacted>`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Query string, if any.
    pub query: Option<String>,
    /// Headers (lowercase names).
    pub headers: Vec<(String, String)>,
    /// The body, if it was JSON.
    pub json: Option<Value>,
    /// Body length.
    pub body_len: usize,
    /// Whether the right key was sent.
    pub authorized: bool,
    /// The scripted failure applied, if any.
    pub failure: Option<Failure>,
}

impl RecordedRequest {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A message the simulator accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptedMessage {
    /// Its wamid.
    pub id: Wamid,
    /// `to` (or the BSUID field) as sent.
    pub to: String,
    /// The request body.
    pub body: Value,
}

/// One webhook delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// What it carried: `message`, `status:sent`, ... or `custom`.
    pub kind: String,
    /// Attempt number (1 = first).
    pub attempt: u32,
    /// HTTP status of the answer (None: no answer).
    pub http_status: Option<u16>,
    /// Whether it was accepted (2xx).
    pub delivered: bool,
}

/// The simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    /// Binding the address failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The webhook HTTP client could not be built.
    #[error("cannot build the webhook client")]
    HttpClient,
}

/// Starts simulators.
#[derive(Debug, Clone, Copy)]
pub struct Simulator;

impl Simulator {
    /// Binds, starts serving and delivering in background tasks, and returns the handle.
    pub async fn start(config: SimulatorConfig) -> Result<SimulatorHandle, SimulatorError> {
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .map_err(|source| SimulatorError::Bind { addr: config.bind, source })?;
        let addr = listener.local_addr().map_err(|source| SimulatorError::Bind { addr: config.bind, source })?;
        let (tx, rx) = mpsc::unbounded_channel();
        let state = Arc::new(SimState {
            inner: Mutex::new(Inner::new(config.seed)),
            config,
            deliveries_tx: tx,
            delivered: Notify::new(),
        });
        let delivery_task = delivery::spawn(Arc::clone(&state), rx)?;
        let shutdown = Arc::new(Notify::new());
        let server_task = tokio::spawn(server::serve(listener, Arc::clone(&state), Arc::clone(&shutdown)));
        Ok(SimulatorHandle { addr, state, shutdown, server_task, delivery_task })
    }
}

/// A running simulator. Dropping it stops the background tasks; [`SimulatorHandle::shutdown`]
/// does so and waits for them.
pub struct SimulatorHandle {
    addr: SocketAddr,
    state: Arc<SimState>,
    shutdown: Arc<Notify>,
    server_task: JoinHandle<()>,
    delivery_task: JoinHandle<()>,
}

impl fmt::Debug for SimulatorHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimulatorHandle").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Drop for SimulatorHandle {
    fn drop(&mut self) {
        self.server_task.abort();
        self.delivery_task.abort();
    }
}

impl SimulatorHandle {
    /// `http://127.0.0.1:<port>`: the base URL for a client.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client configuration pointing at this simulator with its key (production defaults
    /// otherwise, but an egress policy that allows loopback; tests usually shorten the retry
    /// settings).
    pub fn client_config(&self) -> Result<crate::ClientConfig, crate::ConfigError> {
        let mut config = crate::ClientConfig::new(&self.base_url(), self.state.config.api_key.clone())?;
        config.egress = crate::EgressPolicy::insecure_loopback();
        Ok(config)
    }

    /// The bound address.
    pub const fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `metadata.phone_number_id` of the simulated number.
    pub fn phone_number_id(&self) -> &str {
        &self.state.config.phone_number_id
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.lock().requests.clone()
    }

    /// Requests to a path (`/messages`, ...).
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.state.lock().requests.iter().filter(|r| r.path == path).cloned().collect()
    }

    /// Forgets recorded requests.
    pub fn clear_requests(&self) {
        self.state.lock().requests.clear();
    }

    /// Messages accepted so far.
    pub fn accepted_messages(&self) -> Vec<AcceptedMessage> {
        self.state.lock().accepted.clone()
    }

    /// Messages marked as read through the API.
    pub fn read_marks(&self) -> Vec<String> {
        self.state.lock().read_marks.clone()
    }

    /// Sets where webhooks go (like `POST /v1/configs/webhook`, plus an optional HMAC key).
    /// Webhooks that were waiting for a target are sent now.
    pub fn set_webhook(&self, target: WebhookTarget) {
        let pending = {
            let mut inner = self.state.lock();
            inner.webhook = Some(target);
            std::mem::take(&mut inner.pending)
        };
        for job in pending {
            let _closed = self.state.deliveries_tx.send(job);
        }
    }

    /// Injects a candidate's text message as a webhook. `from` is a number (digits, `wa_id`) or
    /// a business-scoped user id (then no number is disclosed). Returns its wamid.
    pub fn inject_inbound_text(&self, from: &str, text: &str) -> Wamid {
        let id = self.state.next_wamid();
        let message = payloads::inbound_message(&id, from, "text", serde_json::json!({ "body": text }), None);
        self.state.inject_inbound(from, message);
        id
    }

    /// Injects a tap on a template's quick-reply button (`type: button`), answering the last
    /// message sent to `from` (its `context.id`). Returns the reply's wamid.
    pub fn inject_button_reply(&self, from: &str, payload: &str, title: &str) -> Wamid {
        let id = self.state.next_wamid();
        let context = self.state.lock().last_sent_to.get(from).cloned();
        let message = payloads::inbound_message(
            &id,
            from,
            "button",
            serde_json::json!({ "payload": payload, "text": title }),
            context.as_ref().map(|c| (c, self.state.config.display_phone_number.as_str())),
        );
        self.state.inject_inbound(from, message);
        id
    }

    /// Injects a tap on an interactive reply button (`interactive.button_reply`).
    pub fn inject_interactive_reply(&self, from: &str, button_id: &str, title: &str) -> Wamid {
        let id = self.state.next_wamid();
        let context = self.state.lock().last_sent_to.get(from).cloned();
        let message = payloads::inbound_message(
            &id,
            from,
            "interactive",
            serde_json::json!({ "type": "button_reply", "button_reply": { "id": button_id, "title": title } }),
            context.as_ref().map(|c| (c, self.state.config.display_phone_number.as_str())),
        );
        self.state.inject_inbound(from, message);
        id
    }

    /// Injects a status webhook for a message.
    pub fn inject_status(&self, message: &Wamid, status: SimStatus, recipient: &str) {
        let value = payloads::status_value(&self.state.config, message, status, recipient, None);
        self.state.enqueue(status_kind(status), payloads::envelope(&self.state.config, value));
    }

    /// Injects any webhook body (for shapes the helpers do not cover).
    pub fn inject_webhook(&self, body: Value) {
        self.state.enqueue("custom".to_owned(), body);
    }

    /// Makes matching `POST /messages` requests fail.
    pub fn script_failure(&self, failure: Failure, trigger: Trigger) {
        self.script(FailureRule { failure, trigger, scope: FailureScope::Messages });
    }

    /// Adds a scripted failure rule (rules are checked in order; the first that fires wins).
    pub fn script(&self, rule: FailureRule) {
        self.state.lock().rules.push(rule);
    }

    /// Removes all scripted failures.
    pub fn clear_failures(&self) {
        self.state.lock().rules.clear();
    }

    /// Sets the templates `GET /v1/configs/templates` lists (see [`template_json`]). When any
    /// are set, template sends must name an existing one (else 132001).
    pub fn set_templates(&self, templates: Vec<Value>) {
        self.state.lock().templates = templates;
    }

    /// Stores media and returns its id (for inbound media and download tests).
    pub fn add_media(&self, bytes: Vec<u8>, mime_type: &str) -> String {
        self.state.store_media(bytes, mime_type)
    }

    /// Webhook delivery attempts so far.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.state.lock().deliveries.clone()
    }

    /// Waits until at least `count` webhooks were delivered (2xx); false on timeout.
    pub async fn wait_for_deliveries(&self, count: usize, timeout: Duration) -> bool {
        let wait = async {
            loop {
                let notified = self.state.delivered.notified();
                if self.state.lock().deliveries.iter().filter(|d| d.delivered).count() >= count {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }

    /// Stops serving and delivering.
    pub async fn shutdown(self) {
        self.shutdown.notify_one();
        self.delivery_task.abort();
        // The tasks are aborted by Drop as well; awaiting here makes the stop observable.
        let server = &self.server_task;
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while !server.is_finished() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
    }
}

pub(crate) fn status_kind(status: SimStatus) -> String {
    format!("status:{}", payloads::status_name(status))
}

/// Shared state of the server, the delivery worker and the handle.
pub(crate) struct SimState {
    pub(crate) config: SimulatorConfig,
    inner: Mutex<Inner>,
    deliveries_tx: mpsc::UnboundedSender<delivery::Job>,
    pub(crate) delivered: Notify,
}

pub(crate) struct StoredMedia {
    pub(crate) mime_type: String,
    pub(crate) bytes: Vec<u8>,
    pub(crate) sha256: String,
}

pub(crate) struct Inner {
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) accepted: Vec<AcceptedMessage>,
    pub(crate) read_marks: Vec<String>,
    pub(crate) rules: Vec<FailureRule>,
    pub(crate) rng: StdRng,
    pub(crate) templates: Vec<Value>,
    pub(crate) media: HashMap<String, StoredMedia>,
    pub(crate) webhook: Option<WebhookTarget>,
    pub(crate) pending: Vec<delivery::Job>,
    pub(crate) deliveries: Vec<DeliveryRecord>,
    pub(crate) last_inbound: HashMap<String, std::time::Instant>,
    pub(crate) last_sent_to: HashMap<String, Wamid>,
    pub(crate) counter: u64,
}

impl Inner {
    fn new(seed: u64) -> Self {
        Self {
            requests: Vec::new(),
            accepted: Vec::new(),
            read_marks: Vec::new(),
            rules: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
            templates: Vec::new(),
            media: HashMap::new(),
            webhook: None,
            pending: Vec::new(),
            deliveries: Vec::new(),
            last_inbound: HashMap::new(),
            last_sent_to: HashMap::new(),
            counter: 0,
        }
    }
}

impl SimState {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn next_wamid(&self) -> Wamid {
        let mut inner = self.lock();
        inner.counter = inner.counter.saturating_add(1);
        let salt: u64 = rand::Rng::r#gen(&mut inner.rng);
        let text = format!("wamid.SIM{:08}{salt:016X}", inner.counter);
        drop(inner);
        constant_shape_wamid(&text)
    }

    fn inject_inbound(&self, from: &str, message: Value) {
        self.lock().last_inbound.insert(from.to_owned(), std::time::Instant::now());
        let value = payloads::message_value(&self.config, from, message);
        self.enqueue("message".to_owned(), payloads::envelope(&self.config, value));
    }

    pub(crate) fn enqueue(&self, kind: String, body: Value) {
        let job = delivery::Job { kind, body, attempt: 1 };
        let _closed = self.deliveries_tx.send(job);
    }

    pub(crate) fn requeue(&self, job: delivery::Job) {
        let _closed = self.deliveries_tx.send(job);
    }

    pub(crate) fn store_media(&self, bytes: Vec<u8>, mime_type: &str) -> String {
        use sha2::Digest as _;
        let mut inner = self.lock();
        inner.counter = inner.counter.saturating_add(1);
        let id = format!("{}", 900_000_000_000_000_u64.saturating_add(inner.counter));
        let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
        inner.media.insert(id.clone(), StoredMedia { mime_type: mime_type.to_owned(), bytes, sha256 });
        id
    }
}

/// Ids the simulator makes are short printable ASCII, which `Wamid::parse` always accepts.
#[allow(clippy::expect_used)]
fn constant_shape_wamid(text: &str) -> Wamid {
    Wamid::parse(text).expect("simulator wamids are short printable ASCII")
}
