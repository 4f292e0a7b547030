//! [`Dialog360Client`]: one phone number's connection to the Cloud API. Every request goes
//! through one retry loop that applies the throughput limits, the per-request timeout, the error
//! mapping and the retry budget.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use hoheit_domain::conversation::OutboundContent;
use hoheit_domain::ports::{GatewayError, Recipient, SendReceipt};
use hoheit_domain::values::Wamid;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{RequestBuilder, Url};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::time::Instant;

use crate::clock::wall_clock_now;
use crate::config::{API_KEY_HEADER, ClientConfig, ConfigError, RetryPolicy, UserRecipientField};
use crate::egress::{EgressPolicy, is_not_allowed};
use crate::errors::{Dialog360Error, ErrorClass, ProviderFailure};
use crate::http::HttpClient;
use crate::limiter::{Gcra, PairSpacer, Window};
use crate::{payload, retry};

/// Largest JSON answer read from the API.
const API_BODY_LIMIT: u64 = 8 * 1024 * 1024;

/// The Cloud API client of one channel (phone number). Cheap to share behind an `Arc`; its
/// `Debug` output names the host, never the key.
pub struct Dialog360Client {
    http: HttpClient,
    base_url: Url,
    api_key: SecretString,
    messages_path: String,
    request_timeout: Duration,
    retry: RetryPolicy,
    pair_interval: Duration,
    user_field: UserRecipientField,
    pub(crate) max_media_bytes: u64,
    pub(crate) template_page_size: u32,
    pub(crate) max_template_pages: u32,
    pub(crate) max_template_bytes: u64,
    egress: EgressPolicy,
    throughput: Gcra,
    window: Window,
    pairs: PairSpacer,
}

impl fmt::Debug for Dialog360Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dialog360Client")
            .field("base_url", &self.base_url.as_str())
            .field("messages_path", &self.messages_path)
            .field("api_key", &"[REDACTED]")
            .field("request_timeout", &self.request_timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// Whether a request may be sent twice. A send may not: if it fails after the request went out,
/// the message may have been accepted, so the answer is [`GatewayError::OutcomeUnknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Not idempotent: ambiguous failures are reported as unknown outcome, never retried.
    AtMostOnce,
    /// Idempotent (reads, mark-read, uploads): ambiguous failures are retried.
    Repeatable,
}

/// How one logical call is made.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallSpec<'a> {
    pub(crate) delivery: Delivery,
    /// Counts against the number's message throughput.
    pub(crate) throttle: bool,
    /// Recipient for pair-rate penalties (131056).
    pub(crate) pair_key: Option<&'a str>,
    /// Largest answer body accepted.
    pub(crate) body_limit: u64,
    /// Transient failures are retried within the budget (`false`: one attempt, the caller
    /// retries after deciding again).
    pub(crate) retry: bool,
    /// An at-most-once call whose departure was taken already ([`Dialog360Client::depart`]): it
    /// does not wait for the hard ceiling again.
    pub(crate) departed: bool,
}

impl CallSpec<'_> {
    pub(crate) const fn read() -> Self {
        Self {
            delivery: Delivery::Repeatable,
            throttle: false,
            pair_key: None,
            body_limit: API_BODY_LIMIT,
            retry: true,
            departed: false,
        }
    }
}

/// A complete HTTP answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Answer {
    pub(crate) fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallError {
    Gateway(GatewayError),
    TooLarge,
    /// The outbound allow-list refused the destination (URL or resolved address).
    NotAllowed,
}

impl From<CallError> for Dialog360Error {
    fn from(value: CallError) -> Self {
        match value {
            CallError::Gateway(e) => Self::Provider(e),
            CallError::TooLarge => Self::TooLarge,
            CallError::NotAllowed => Self::NotAllowed,
        }
    }
}

/// How an attempt failed before an HTTP answer was complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    /// Connecting failed (refused, DNS, connect timeout): nothing was sent. Safe to retry.
    BeforeSend,
    /// Timed out or the connection broke after the request may have gone out.
    AfterSend,
    /// The request could not be built.
    Invalid,
    /// The answer body exceeded the limit.
    TooLarge,
    /// The outbound allow-list refused the URL or the address it resolves to. Nothing was sent.
    NotAllowed,
}

impl Transport {
    fn of(error: &reqwest::Error) -> Self {
        if is_not_allowed(error) {
            Self::NotAllowed
        } else if error.is_builder() {
            Self::Invalid
        } else if error.is_connect() {
            Self::BeforeSend
        } else {
            Self::AfterSend
        }
    }
}

impl Dialog360Client {
    /// A client with its own connection pool, connecting only where `config.egress` allows.
    pub fn new(config: ClientConfig) -> Result<Self, ConfigError> {
        let http = HttpClient::new(config.connect_timeout, &config.egress)?;
        Self::with_http_client(config, http)
    }

    /// A client sharing a connection pool with others (one [`HttpClient`] per process is
    /// enough; its connect timeout wins over the config's). Every request URL is checked against
    /// `config.egress`, every resolved address against the [`HttpClient`]'s policy.
    pub fn with_http_client(config: ClientConfig, http: HttpClient) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            http,
            throughput: Gcra::new(config.throughput.messages_per_second, config.throughput.burst),
            window: Window::new(config.throughput.messages_per_second),
            pairs: PairSpacer::new(config.pair_spacing.min_interval, config.pair_spacing.max_tracked),
            pair_interval: config.pair_spacing.min_interval,
            base_url: config.base_url,
            api_key: config.api_key,
            messages_path: config.messages_path,
            request_timeout: config.request_timeout,
            retry: config.retry,
            user_field: config.user_recipient_field,
            max_media_bytes: config.max_media_bytes,
            template_page_size: config.template_page_size,
            max_template_pages: config.max_template_pages,
            max_template_bytes: config.max_template_bytes,
            egress: config.egress,
        })
    }

    /// The configured base URL.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// Sends a message. Waits for the recipient's spacing and the number's throughput first;
    /// retries transient failures within the budget; never retries a permanent error; reports a
    /// failure after the request went out as [`GatewayError::OutcomeUnknown`].
    pub async fn send(&self, to: &Recipient, content: &OutboundContent) -> Result<SendReceipt, GatewayError> {
        self.pairs.acquire(payload::recipient_id(to)).await;
        self.send_message(to, content, None, true, false).await
    }

    /// Sends through this number from `share` processes at once (replicas of the server): this
    /// client takes `1/share` of the configured throughput, so together they stay under it.
    pub fn set_throughput_share(&self, share: u32) {
        self.throughput.set_share(share);
        self.window.set_share(share);
    }

    /// Waits for the number's throughput slot and the recipient's spacing and takes them; then
    /// [`Dialog360Client::send_once`] makes the attempt. The dispatcher decides again in between.
    pub async fn pace(&self, to: &Recipient) {
        self.pairs.acquire(payload::recipient_id(to)).await;
        self.throughput.acquire().await;
    }

    /// One send attempt without waiting for limits (after [`Dialog360Client::pace`]) and without
    /// retries: a transient failure is returned to the caller.
    pub async fn send_once(&self, to: &Recipient, content: &OutboundContent) -> Result<SendReceipt, GatewayError> {
        self.send_message(to, content, None, false, false).await
    }

    /// [`Dialog360Client::send_once`] with `tag` as the message's `biz_opaque_callback_data`,
    /// which WhatsApp echoes in its status webhooks (how an attempt cut off by a crash is
    /// recognised; see `hoheit_domain::attempt`).
    pub async fn send_once_tagged(
        &self,
        to: &Recipient,
        content: &OutboundContent,
        tag: &str,
    ) -> Result<SendReceipt, GatewayError> {
        self.send_message(to, content, Some(tag), false, false).await
    }

    /// Waits for the number's hard ceiling (messages per sliding second) and takes a departure,
    /// for [`Dialog360Client::send_departed_tagged`]: the caller decides once more in between.
    pub async fn depart(&self) {
        self.window.depart().await;
    }

    /// [`Dialog360Client::send_once_tagged`] after [`Dialog360Client::depart`]: no wait for the
    /// ceiling in between, so the request leaves right after the caller's last decision.
    pub async fn send_departed_tagged(
        &self,
        to: &Recipient,
        content: &OutboundContent,
        tag: &str,
    ) -> Result<SendReceipt, GatewayError> {
        self.send_message(to, content, Some(tag), false, true).await
    }

    async fn send_message(
        &self,
        to: &Recipient,
        content: &OutboundContent,
        tag: Option<&str>,
        paced_by_call: bool,
        departed: bool,
    ) -> Result<SendReceipt, GatewayError> {
        let mut body = payload::message_body(to, content, &self.user_field);
        if let Some(tag) = tag {
            payload::tag_body(&mut body, tag);
        }
        let recipient = payload::recipient_id(to);
        let url = self.endpoint(&self.messages_path);
        let spec = CallSpec {
            delivery: Delivery::AtMostOnce,
            throttle: paced_by_call,
            pair_key: Some(recipient),
            body_limit: API_BODY_LIMIT,
            retry: paced_by_call,
            departed,
        };
        let answer = self.call(spec, |http| http.post(url.clone()).json(&body)).await.map_err(|e| match e {
            CallError::Gateway(e) => e,
            // An accepted send with an absurd answer: it may have gone out.
            CallError::TooLarge => GatewayError::OutcomeUnknown,
            // nothing was sent; the channel's destination is refused until the operator allows it
            CallError::NotAllowed => GatewayError::ChannelFailure { code: None },
        })?;
        let id = answer
            .json()
            .and_then(|json| json.pointer("/messages/0/id").and_then(Value::as_str).map(str::to_owned))
            .and_then(|id| Wamid::parse(&id).ok());
        match id {
            Some(provider_id) => Ok(SendReceipt { provider_id }),
            None => {
                tracing::warn!(http_status = answer.status, "360Dialog accepted a message without a usable id");
                Err(GatewayError::OutcomeUnknown)
            }
        }
    }

    /// Marks an inbound message as read (idempotent, so retried like a read).
    pub async fn mark_read(&self, message: &Wamid) -> Result<(), GatewayError> {
        let body = payload::mark_read_body(message);
        let url = self.endpoint(&self.messages_path);
        let spec = CallSpec { throttle: true, ..CallSpec::read() };
        match self.call(spec, |http| http.post(url.clone()).json(&body)).await {
            Ok(_) => Ok(()),
            Err(CallError::Gateway(e)) => Err(e),
            Err(CallError::TooLarge) => Err(GatewayError::Transient { code: None }),
            Err(CallError::NotAllowed) => Err(GatewayError::ChannelFailure { code: None }),
        }
    }

    /// `base_url` + `path` (the base URL's own path, if any, is kept as a prefix).
    pub(crate) fn endpoint(&self, path: &str) -> Url {
        let mut url = self.base_url.clone();
        let joined = format!("{}/{}", self.base_url.path().trim_end_matches('/'), path.trim_start_matches('/'));
        url.set_path(&joined);
        url
    }

    /// One logical call: limits, attempts, error mapping, back-off. `build` makes the request
    /// for each attempt (the key and the timeout are added here).
    pub(crate) async fn call(
        &self,
        spec: CallSpec<'_>,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Answer, CallError> {
        let mut attempt: u32 = 0;
        let mut waited = Duration::ZERO;
        loop {
            attempt = attempt.saturating_add(1);
            if spec.throttle {
                self.throughput.acquire().await;
            }
            if spec.delivery == Delivery::AtMostOnce && !(spec.departed && attempt == 1) {
                // the hard ceiling, as close to the request leaving as possible (a departed
                // call took it right before its caller's last decision)
                self.window.depart().await;
            }
            let (error, hint) = match self.attempt(&build, spec.body_limit).await {
                Ok(answer) if (200..300).contains(&answer.status) => return Ok(answer),
                Ok(answer) => self.refusal(&answer, spec.pair_key, attempt),
                Err(Transport::BeforeSend) => {
                    tracing::warn!(attempt, "360Dialog unreachable");
                    (GatewayError::Transient { code: None }, None)
                }
                Err(Transport::AfterSend) => {
                    tracing::warn!(attempt, "no complete answer from 360Dialog");
                    match spec.delivery {
                        Delivery::AtMostOnce => return Err(CallError::Gateway(GatewayError::OutcomeUnknown)),
                        Delivery::Repeatable => (GatewayError::Transient { code: None }, None),
                    }
                }
                Err(Transport::Invalid) => return Err(CallError::Gateway(GatewayError::Rejected { code: None })),
                Err(Transport::TooLarge) => return Err(CallError::TooLarge),
                Err(Transport::NotAllowed) => {
                    tracing::warn!("outbound request refused by the allow-list");
                    return Err(CallError::NotAllowed);
                }
            };
            if !error.is_transient() || !spec.retry || attempt >= self.retry.max_attempts {
                return Err(CallError::Gateway(error));
            }
            let delay = retry::backoff(&self.retry, attempt).max(hint.unwrap_or_default());
            if waited.saturating_add(delay) > self.retry.max_total_delay {
                tracing::info!(attempt, delay_ms = millis(delay), "retry budget exhausted");
                return Err(CallError::Gateway(error));
            }
            tracing::debug!(attempt, delay_ms = millis(delay), "retrying after a transient failure");
            tokio::time::sleep(delay).await;
            waited = waited.saturating_add(delay);
        }
    }

    /// Maps a non-2xx answer to the domain error and a retry hint (Retry-After, or the class's
    /// own delay for pair-rate and long rate limits).
    fn refusal(&self, answer: &Answer, pair_key: Option<&str>, attempt: u32) -> (GatewayError, Option<Duration>) {
        let failure = ProviderFailure::from_response(answer.status, &answer.body);
        let class = failure.class();
        let header_hint = retry::retry_after(&answer.headers, wall_clock_now);
        let hint = match class {
            ErrorClass::PairRate => {
                let delay = header_hint.unwrap_or_default().max(self.pair_interval);
                if let Some(recipient) = pair_key {
                    self.pairs.penalize(recipient, Instant::now(), delay);
                }
                Some(delay)
            }
            ErrorClass::LongRateLimit => Some(header_hint.unwrap_or_default().max(self.retry.long_backoff)),
            ErrorClass::Throughput
            | ErrorClass::Transient
            | ErrorClass::WindowClosed
            | ErrorClass::Undeliverable
            | ErrorClass::Rejected
            | ErrorClass::TemplateRejected
            | ErrorClass::ChannelFailure => header_hint,
        };
        match class {
            ErrorClass::ChannelFailure => {
                tracing::warn!(
                    http_status = answer.status,
                    code = failure.code,
                    attempt,
                    "360Dialog refused the channel"
                );
            }
            ErrorClass::Throughput | ErrorClass::PairRate | ErrorClass::LongRateLimit | ErrorClass::Transient => {
                tracing::info!(http_status = answer.status, code = failure.code, class = ?class, attempt, "transient refusal");
            }
            ErrorClass::WindowClosed
            | ErrorClass::Undeliverable
            | ErrorClass::Rejected
            | ErrorClass::TemplateRejected => {
                tracing::info!(http_status = answer.status, code = failure.code, class = ?class, "message refused");
            }
        }
        (failure.to_gateway_error(hint), hint)
    }

    /// One HTTP exchange, body read completely (up to `limit`).
    async fn attempt(
        &self,
        build: &impl Fn(&reqwest::Client) -> RequestBuilder,
        limit: u64,
    ) -> Result<Answer, Transport> {
        let mut key = HeaderValue::from_str(self.api_key.expose_secret()).map_err(|_| Transport::Invalid)?;
        key.set_sensitive(true);
        let request = build(self.http.inner())
            .header(API_KEY_HEADER, key)
            .timeout(self.request_timeout)
            .build()
            .map_err(|e| Transport::of(&e))?;
        // the key goes nowhere the operator's allow-list does not name
        self.egress.check_url(request.url()).map_err(|_| Transport::NotAllowed)?;
        let mut response = self.http.inner().execute(request).await.map_err(|e| Transport::of(&e))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(Transport::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| Transport::of(&e))? {
            let total = u64::try_from(body.len().saturating_add(chunk.len())).unwrap_or(u64::MAX);
            if total > limit {
                return Err(Transport::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer { status, headers, body: Bytes::from(body) })
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
