//! # hoheit-dialog360 — the 360Dialog adapter
//!
//! An adapter of the hexagon: it connects the domain's ports to 360Dialog's hosting of the
//! WhatsApp Cloud API. Outbound, [`Dialog360Gateway`] implements
//! [`hoheit_domain::ports::MessagingGateway`] by routing each channel to its
//! [`Dialog360Client`] (one per phone number, one `D360-API-KEY` each). Inbound, [`webhook`]
//! verifies deliveries on the raw bytes and parses them into
//! [`hoheit_domain::inbound::InboundEvent`]s. The domain never sees 360Dialog's JSON, and this
//! crate decides nothing the domain decides (consent, window, policy).
//!
//! ```no_run
//! # async fn wire() -> Result<(), Box<dyn std::error::Error>> {
//! use hoheit_dialog360::{ClientConfig, Dialog360Client, Dialog360Gateway, SecretString};
//! # let channel = hoheit_domain::ids::ChannelId::from_uuid(Default::default());
//! // production (https://waba-v2.360dialog.io, POST /messages)
//! let config = ClientConfig::production(SecretString::from("<channel key>"))?;
//! // or the sandbox: https://waba-sandbox.360dialog.io with its sandbox key, POST /v1/messages
//! let sandbox = ClientConfig::sandbox(SecretString::from("<sandbox key>"))?;
//! // or a loopback test server / the simulator, which the egress policy must allow:
//! // let mut c = ClientConfig::new(url, key)?; c.egress = EgressPolicy::insecure_loopback();
//! let gateway = Dialog360Gateway::new();
//! gateway.register(channel, Dialog360Client::new(config)?);
//! # let _ = sandbox; Ok(()) }
//! ```
//!
//! ## Client
//!
//! reqwest over rustls with the ring provider (installed once, idempotently, by
//! [`ensure_crypto_provider`]; no OpenSSL, no aws-lc), no redirects, no proxies. An
//! [`EgressPolicy`] (the operator's allow-list; default 360Dialog's API hosts over https) checks
//! every request URL, and a guarded DNS resolver refuses names that resolve to loopback, private,
//! link-local, CGNAT or metadata addresses, so the address connected to is the one checked
//! (SSRF guard; [`Dialog360Error::NotAllowed`], one error whatever the reason). Template listings
//! stop at a page cap and a byte cap over all pages. The key is a
//! [`SecretString`]: `Debug` output, logs and errors never contain it, nor phone numbers or
//! texts. Every call has a timeout ([`ClientConfig::request_timeout`]); transient failures are
//! retried with exponential back-off and jitter, honouring `Retry-After` (seconds or an HTTP
//! date), within [`RetryPolicy`]'s attempts and total delay; what does not fit the budget goes
//! back to the caller (with `retry_after` for rate limits) so the outbox reschedules it.
//! Before WhatsApp refuses, the client slows down itself: a GCRA per number
//! ([`ThroughputConfig`], 80/s by default, up to 1,000/s) and a minimum spacing per recipient
//! ([`PairSpacingConfig`], 6 s by default, bounded memory).
//!
//! Besides sending (text, templates with body parameters and quick-reply payloads, interactive
//! reply buttons) and marking as read, a client lists templates (paging over offset/limit),
//! sets and reads the webhook URL with custom headers, and fetches media: `lookaside.fbsbx.com`
//! is rewritten to the API host and nothing is fetched from any host but 360Dialog's or the
//! configured base URL's (SSRF guard); uploads go to `POST /media`.
//!
//! ## Error mapping
//!
//! Built on WhatsApp's numeric `code` (Meta's `error.code`), never on titles; the HTTP status
//! decides only for codes outside the table. 360Dialog's own answers have no numeric code and
//! are the only ones recognised by their text.
//!
//! | answer | [`GatewayError`](hoheit_domain::ports::GatewayError) | retried here |
//! |---|---|---|
//! | 131047 (24-hour window closed) | `WindowClosed` | no |
//! | 130429 (throughput), HTTP 429, 360Dialog 400 "exceeded the endpoint rate limit" | `RateLimited` | yes |
//! | 131056 (pair rate limit) | `RateLimited` (recipient delayed by the spacing) | yes |
//! | 131048, 80007, 4 (spam / account / app limits) | `RateLimited` with [`RetryPolicy::long_backoff`] | only within the budget |
//! | 131026 | `Undeliverable` | no |
//! | 131049, 131050, 131051, other 4xx | `Rejected` | no |
//! | 132000, 132001, 132005, 132007, 132012, 132015, 132016 | `TemplateRejected` | no |
//! | 368, 131031, 131042, 133010, HTTP 401/403, 360Dialog "API has been disabled" | `ChannelFailure` | no |
//! | HTTP 5xx and 408, connection refused, connect timeout | `Transient` | yes |
//! | timeout or broken connection after the request went out | `OutcomeUnknown` (sends); `Transient` (idempotent calls) | sends: no |
//! | 2xx without a usable message id | `OutcomeUnknown` | no |
//!
//! `code` carries WhatsApp's code, else the HTTP status (`None` for 360Dialog's text-only
//! answers and transport failures).
//!
//! ## Webhooks
//!
//! The hoheit server finds the channel by the SHA-256 of the route token (a database lookup;
//! [`webhook::route_token_matches`] is for embedders that keep the token in memory), then
//! [`webhook::WebhookVerifier`] (a shared-secret header and/or HMAC-SHA256 in
//! `x-360dialog-signature`, constant-time), then [`webhook::parse_webhook`], which returns
//! [`webhook::ParsedWebhook`]: the events with each change's `phone_number_id`, and counters of
//! what was skipped. Unknown types and malformed single messages become `Unsupported` events;
//! the parser never panics (proptests, and a `cargo fuzz` target in `fuzz/`).
//!
//! ## Simulator
//!
//! With the feature `simulator`, the `simulator` module is a fake 360Dialog on loopback (also the
//! `hoheit-360sim` binary): it records requests, answers like 360Dialog, posts status webhooks
//! for accepted messages, lets tests inject candidate messages and button replies, and fails on
//! command (429, 131047, 5xx, slow, hanging, dropped connections). `hoheit serve --dev` and
//! `hoheit demo` use it; production code paths do not.

mod admin;
mod client;
mod clock;
mod config;
mod egress;
mod errors;
mod gateway;
mod http;
mod limiter;
mod payload;
mod retry;
pub mod webhook;

#[cfg(feature = "simulator")]
pub mod simulator;

pub use admin::{META_MEDIA_HOST, MediaContent, MediaInfo, WabaTemplate, WebhookSettings, sha256_matches};
pub use client::Dialog360Client;
pub use config::{
    API_KEY_HEADER, ClientConfig, ConfigError, MAX_MESSAGES_PER_SECOND, PRODUCTION_BASE_URL, PairSpacingConfig,
    RetryPolicy, SANDBOX_BASE_URL, ThroughputConfig, UserRecipientField,
};
pub use egress::{DEFAULT_ALLOWED_HOSTS, EgressPolicy, GuardedResolver, NotAllowed, SystemResolver, is_public};
pub use errors::{Dialog360Error, ErrorClass, ProviderFailure};
pub use gateway::Dialog360Gateway;
pub use http::{HttpClient, ensure_crypto_provider};
pub use secrecy::{SecretSlice, SecretString};
