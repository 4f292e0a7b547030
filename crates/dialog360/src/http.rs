//! The HTTP client: reqwest over rustls with the ring provider (no OpenSSL, no aws-lc), no
//! redirects (a redirect could lead a media download off the allowed hosts), no proxy guessing.

use std::time::Duration;

use crate::config::ConfigError;

/// Installs rustls' ring provider as the process default unless a provider is installed already.
/// Idempotent and safe to call from many threads: the loser of a race gets an error that is
/// ignored, because then a provider is installed either way.
pub fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
    }
}

/// A pooled HTTP client that several [`crate::Dialog360Client`]s may share (one pool per
/// process is enough). Built only here, so the no-redirect rule cannot be forgotten.
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
}

impl HttpClient {
    /// Builds a client with the given connect timeout.
    pub fn new(connect_timeout: Duration) -> Result<Self, ConfigError> {
        ensure_crypto_provider();
        let inner = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("hoheit-dialog360/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| ConfigError::HttpClient)?;
        Ok(Self { inner })
    }

    pub(crate) const fn inner(&self) -> &reqwest::Client {
        &self.inner
    }
}
