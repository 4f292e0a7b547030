//! The HTTP client: reqwest over rustls with the ring provider (no OpenSSL, no aws-lc), no
//! redirects (a redirect could lead a media download off the allowed hosts), no proxies (the
//! allow-list must see the address connected to), and a DNS resolver that refuses names
//! resolving to addresses the [`EgressPolicy`] does not allow.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::dns::Resolve;

use crate::config::ConfigError;
use crate::egress::{EgressPolicy, GuardedResolver, NotAllowed, SystemResolver};

/// Installs rustls' ring provider as the process default unless a provider is installed already.
/// Idempotent and safe to call from many threads: the loser of a race gets an error that is
/// ignored, because then a provider is installed either way.
pub fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
    }
}

/// A pooled HTTP client that several [`crate::Dialog360Client`]s may share (one pool per
/// process is enough). Built only here, so the no-redirect rule and the address guard cannot be
/// forgotten.
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    resolver: Arc<GuardedResolver>,
}

impl HttpClient {
    /// Builds a client with the given connect timeout whose connections go only to addresses
    /// `egress` allows (resolved by the system resolver).
    pub fn new(connect_timeout: Duration, egress: &EgressPolicy) -> Result<Self, ConfigError> {
        Self::with_resolver(connect_timeout, egress, Arc::new(SystemResolver))
    }

    /// Like [`HttpClient::new`] with another resolver underneath the guard (tests).
    pub fn with_resolver(
        connect_timeout: Duration,
        egress: &EgressPolicy,
        resolver: Arc<dyn Resolve>,
    ) -> Result<Self, ConfigError> {
        ensure_crypto_provider();
        let resolver = Arc::new(egress.resolver(resolver));
        let inner = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(resolver.clone())
            .user_agent(concat!("hoheit-dialog360/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| ConfigError::HttpClient)?;
        Ok(Self { inner, resolver })
    }

    /// Checks a destination before it is stored: `egress` must allow the URL, and its host must
    /// not resolve to a refused address. A name that does not resolve now passes (it is checked
    /// again on every connection).
    pub async fn check_destination(&self, egress: &EgressPolicy, url: &Url) -> Result<(), NotAllowed> {
        egress.check_url(url)?;
        match url.host() {
            Some(url::Host::Domain(name)) => self.resolver.allowed_addresses(name).await.map(|_| ()),
            // IP literals were judged by `check_url` (loopback in development only)
            Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => Ok(()),
            None => Err(NotAllowed),
        }
    }

    pub(crate) const fn inner(&self) -> &reqwest::Client {
        &self.inner
    }
}
