//! Client configuration: where the API is, the key, timeouts, the retry budget and the throughput
//! limits. Defaults follow DIALOG360.md; everything the sources disagree on is a setting.

use std::time::Duration;

use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};

use crate::egress::EgressPolicy;

/// 360Dialog's Cloud API host (production).
pub const PRODUCTION_BASE_URL: &str = "https://waba-v2.360dialog.io";
/// 360Dialog's sandbox host; it serves messages under `/v1/messages`.
pub const SANDBOX_BASE_URL: &str = "https://waba-sandbox.360dialog.io";
/// The header carrying the API key (one key per phone number).
pub const API_KEY_HEADER: &str = "D360-API-KEY";
/// WhatsApp's highest per-number throughput after an upgrade.
pub const MAX_MESSAGES_PER_SECOND: u32 = 1_000;

/// A configuration value that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The base URL does not parse or is not http(s) with a host.
    #[error("invalid base URL: {0}")]
    BaseUrl(&'static str),
    /// The API key is empty or contains characters a header cannot carry.
    #[error("invalid API key: {0}")]
    ApiKey(&'static str),
    /// A numeric setting is out of range.
    #[error("invalid setting {name}: {reason}")]
    Setting {
        /// Which setting.
        name: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The HTTP client could not be built (TLS setup).
    #[error("cannot build the HTTP client")]
    HttpClient,
    /// The base URL is not on the outbound allow-list (https and an allowed host).
    #[error("base URL not allowed")]
    NotAllowed,
}

/// How transient failures are retried: exponential back-off with jitter, honouring Retry-After,
/// within a budget of attempts and total delay. Permanent errors are never retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, including the first (1 = no retry).
    pub max_attempts: u32,
    /// Upper bound of the sum of all waits between attempts. A wait that would exceed it ends
    /// the retrying and the error (with its `retry_after`) goes back to the caller.
    pub max_total_delay: Duration,
    /// First back-off.
    pub initial_backoff: Duration,
    /// Largest single back-off (before Retry-After, which wins if longer).
    pub max_backoff: Duration,
    /// The back-off for spam/account/app rate limits (131048, 80007, 4): long on purpose.
    pub long_backoff: Duration,
    /// Randomise each back-off between half and the full value ("equal jitter").
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            max_total_delay: Duration::from_secs(20),
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            long_backoff: Duration::from_secs(60),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self { max_attempts: 1, ..Self::default() }
    }
}

/// Outbound throughput per number (a GCRA token bucket on tokio time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThroughputConfig {
    /// Messages per second (WhatsApp: 80 by default, up to 1,000; coexistence numbers 20).
    pub messages_per_second: u32,
    /// How many messages may go out back to back before the spacing applies. The default 1
    /// keeps every one-second window at or under the limit.
    pub burst: u32,
}

impl Default for ThroughputConfig {
    fn default() -> Self {
        Self { messages_per_second: 80, burst: 1 }
    }
}

/// Spacing between messages to the same recipient (WhatsApp's pair rate limit, 131056).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairSpacingConfig {
    /// Minimum time between two messages to one recipient (`Duration::ZERO` disables it).
    pub min_interval: Duration,
    /// How many recipients are remembered at most (bounded memory); when full, recipients whose
    /// spacing has passed are forgotten first, and if none has, new recipients go unspaced.
    pub max_tracked: usize,
}

impl Default for PairSpacingConfig {
    fn default() -> Self {
        Self { min_interval: Duration::from_secs(6), max_tracked: 100_000 }
    }
}

/// Where a business-scoped user id (BSUID) goes in a send request. Undocumented at the time of
/// writing: by default it is sent in `to`, like a number.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum UserRecipientField {
    /// `"to": "BR.1502..."`.
    #[default]
    To,
    /// A different field (for example `"recipient"`); `to` is then left out.
    Named(String),
}

/// Configuration of one [`crate::Dialog360Client`] (one phone number / channel).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The API base URL (production, sandbox, or a loopback server in tests).
    pub base_url: Url,
    /// The channel's API key. Printed as `[REDACTED]`.
    pub api_key: SecretString,
    /// Path of the messages endpoint: `/messages` on the Cloud API, `/v1/messages` on the sandbox.
    pub messages_path: String,
    /// Time for one whole request (connect, send, answer).
    pub request_timeout: Duration,
    /// Time to establish a connection (shorter than `request_timeout`). A failure here is safe
    /// to retry.
    pub connect_timeout: Duration,
    /// Retry budget.
    pub retry: RetryPolicy,
    /// Per-number throughput.
    pub throughput: ThroughputConfig,
    /// Per-recipient spacing.
    pub pair_spacing: PairSpacingConfig,
    /// Where a BSUID recipient goes.
    pub user_recipient_field: UserRecipientField,
    /// Largest media download accepted.
    pub max_media_bytes: u64,
    /// Templates fetched per page when listing.
    pub template_page_size: u32,
    /// Most template pages fetched in one listing; more is an error (a provider that never stops
    /// paging cannot hold the sync).
    pub max_template_pages: u32,
    /// Most answer bytes one template listing reads over all its pages; a page that would go
    /// beyond is cut off while it streams (memory stays bounded by this).
    pub max_template_bytes: u64,
    /// Where requests may go (the outbound allow-list). Default: 360Dialog's API hosts over
    /// https. Checked by [`ClientConfig::validate`] and on every request and connection.
    pub egress: EgressPolicy,
}

impl ClientConfig {
    /// A configuration for any base URL (the messages path is `/v1/messages` for the sandbox
    /// host, `/messages` otherwise). Only the URL's syntax is checked here: the [`EgressPolicy`]
    /// (`egress`, default 360Dialog's hosts) is checked by [`ClientConfig::validate`], which
    /// [`crate::Dialog360Client::new`] calls, so set `egress` first for anything else.
    pub fn new(base_url: &str, api_key: SecretString) -> Result<Self, ConfigError> {
        let base_url = parse_base_url(base_url)?;
        let messages_path =
            if base_url.host_str() == Some("waba-sandbox.360dialog.io") { "/v1/messages" } else { "/messages" };
        let config = Self {
            base_url,
            api_key,
            messages_path: messages_path.to_owned(),
            request_timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            throughput: ThroughputConfig::default(),
            pair_spacing: PairSpacingConfig::default(),
            user_recipient_field: UserRecipientField::default(),
            max_media_bytes: 100 * 1024 * 1024,
            template_page_size: 100,
            max_template_pages: 100,
            max_template_bytes: 32 * 1024 * 1024,
            egress: EgressPolicy::default(),
        };
        config.validate_settings()?;
        Ok(config)
    }

    /// The production Cloud API.
    pub fn production(api_key: SecretString) -> Result<Self, ConfigError> {
        Self::new(PRODUCTION_BASE_URL, api_key)
    }

    /// The 360Dialog sandbox (`/v1/messages`).
    pub fn sandbox(api_key: SecretString) -> Result<Self, ConfigError> {
        Self::new(SANDBOX_BASE_URL, api_key)
    }

    /// Checks every setting, the base URL against the egress policy included;
    /// [`crate::Dialog360Client::new`] calls it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_settings()?;
        self.egress.check_url(&self.base_url).map_err(|_| ConfigError::NotAllowed)
    }

    fn validate_settings(&self) -> Result<(), ConfigError> {
        check_base_url(&self.base_url)?;
        let key = self.api_key.expose_secret();
        if key.trim().is_empty() {
            return Err(ConfigError::ApiKey("empty"));
        }
        if reqwest::header::HeaderValue::from_str(key).is_err() {
            return Err(ConfigError::ApiKey("not a valid header value"));
        }
        if !self.messages_path.starts_with('/') {
            return Err(setting("messages_path", "must start with /"));
        }
        if self.request_timeout.is_zero() {
            return Err(setting("request_timeout", "must be positive"));
        }
        if self.connect_timeout.is_zero() {
            return Err(setting("connect_timeout", "must be positive"));
        }
        if self.connect_timeout >= self.request_timeout {
            // Otherwise a slow connect ends in the request timeout and is reported as an unknown
            // outcome although nothing was sent.
            return Err(setting("connect_timeout", "must be shorter than request_timeout"));
        }
        if self.retry.max_attempts == 0 {
            return Err(setting("retry.max_attempts", "must be at least 1"));
        }
        if !(1..=MAX_MESSAGES_PER_SECOND).contains(&self.throughput.messages_per_second) {
            return Err(setting("throughput.messages_per_second", "must be 1..=1000"));
        }
        if self.throughput.burst == 0 {
            return Err(setting("throughput.burst", "must be at least 1"));
        }
        if self.template_page_size == 0 {
            return Err(setting("template_page_size", "must be at least 1"));
        }
        if self.max_template_pages == 0 {
            return Err(setting("max_template_pages", "must be at least 1"));
        }
        if self.max_template_bytes < 1024 {
            return Err(setting("max_template_bytes", "must be at least 1 KiB"));
        }
        if let UserRecipientField::Named(name) = &self.user_recipient_field
            && name.trim().is_empty()
        {
            return Err(setting("user_recipient_field", "must not be empty"));
        }
        Ok(())
    }
}

const fn setting(name: &'static str, reason: &'static str) -> ConfigError {
    ConfigError::Setting { name, reason }
}

pub(crate) fn parse_base_url(input: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(input.trim()).map_err(|_| ConfigError::BaseUrl("does not parse"))?;
    check_base_url(&url)?;
    Ok(url)
}

fn check_base_url(url: &Url) -> Result<(), ConfigError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::BaseUrl("scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::BaseUrl("has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::BaseUrl("must not carry credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::BaseUrl("must not carry a query or fragment"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretString {
        SecretString::from("test-key")
    }

    #[test]
    fn sandbox_uses_the_v1_messages_path() {
        assert_eq!(ClientConfig::sandbox(key()).unwrap().messages_path, "/v1/messages");
        assert_eq!(ClientConfig::production(key()).unwrap().messages_path, "/messages");
        assert_eq!(ClientConfig::new("http://127.0.0.1:9", key()).unwrap().messages_path, "/messages");
    }

    #[test]
    fn the_egress_policy_decides_which_base_urls_validate() {
        let mut c = ClientConfig::new("http://127.0.0.1:9", key()).unwrap();
        assert_eq!(c.validate(), Err(ConfigError::NotAllowed));
        c.egress = EgressPolicy::insecure_loopback();
        assert_eq!(c.validate(), Ok(()));
        let mut c = ClientConfig::new("https://evil.example", key()).unwrap();
        assert_eq!(c.validate(), Err(ConfigError::NotAllowed));
        c.egress = EgressPolicy::new(["evil.example"]).unwrap();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(ClientConfig::production(key()).unwrap().validate(), Ok(()));
        assert_eq!(ClientConfig::sandbox(key()).unwrap().validate(), Ok(()));
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(ClientConfig::new("ftp://x", key()).is_err());
        assert!(ClientConfig::new("not a url", key()).is_err());
        assert!(ClientConfig::new("https://user:pw@host", key()).is_err());
        assert_eq!(ClientConfig::new("https://h", SecretString::from(" ")).unwrap_err(), ConfigError::ApiKey("empty"));
        let mut c = ClientConfig::production(key()).unwrap();
        c.throughput.messages_per_second = 1_001;
        assert!(c.validate().is_err());
        c.throughput.messages_per_second = 1_000;
        assert!(c.validate().is_ok());
        c.connect_timeout = c.request_timeout;
        assert!(c.validate().is_err());
    }

    #[test]
    fn debug_does_not_show_the_key() {
        let c = ClientConfig::production(SecretString::from("super-secret-key-123")).unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("super-secret-key-123"), "{printed}");
    }
}
