//! An OpenID Connect provider stand-in for tests, `hoheit serve --dev` and browser journeys (like
//! the 360Dialog simulator). It is a real HTTP server on a loopback port:
//!
//! - `GET /.well-known/openid-configuration` (issuer `http://127.0.0.1:<port>`),
//! - `GET /jwks` (the current signing key only: after [`StandIn::rotate_key`] the old key is gone),
//! - `GET /authorize` (a small page to pick one of the configured users, or, with
//!   [`StandInConfig::auto_approve`], an immediate redirect with a code), `POST /authorize`,
//! - `POST /token` (client secret by Basic or form, exact redirect URI, PKCE S256, single-use
//!   codes living 60 s; ID token with `at_hash`).
//!
//! [`Knobs`] make it misbehave the way real providers (or attackers) can: a wrong issuer or
//! audience, an expired token, a wrong nonce, a token signed by the retired key.
//!
//! ```no_run
//! # async fn t() {
//! use hoheit_oidc::stand_in::{StandIn, StandInConfig, StandInUser};
//! let mut config = StandInConfig::new("hoheit", "secret", "http://127.0.0.1:8080/auth/oidc/callback");
//! config.users.push(StandInUser::new("u1", "erika@example.de", "Erika Muster", &["recruiting"]));
//! config.auto_approve = Some("u1".into());
//! let idp = StandIn::start(config).await.unwrap();
//! let issuer = idp.issuer(); // http://127.0.0.1:<port>
//! # let _ = issuer; }
//! ```

mod keys;
mod server;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hoheit_domain::ports::Clock;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use keys::SigningKey;
pub use keys::{KeyError, SigningAlgorithm};

use crate::clock::WallClock;

/// A relying party registered at the stand-in.
#[derive(Debug, Clone)]
pub struct StandInClient {
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// Redirect URIs accepted (exact match).
    pub redirect_uris: Vec<String>,
}

/// A person who can sign in at the stand-in.
#[derive(Debug, Clone)]
pub struct StandInUser {
    /// Subject (`sub`).
    pub subject: String,
    /// E-mail address.
    pub email: String,
    /// Whether `email_verified` is true.
    pub email_verified: bool,
    /// Display name.
    pub name: String,
    /// Groups (the `groups` claim).
    pub groups: Vec<String>,
}

impl StandInUser {
    /// A user with a verified e-mail address.
    pub fn new(subject: &str, email: &str, name: &str, groups: &[&str]) -> Self {
        Self {
            subject: subject.into(),
            email: email.into(),
            email_verified: true,
            name: name.into(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        }
    }
}

/// How the stand-in starts.
#[derive(Clone)]
pub struct StandInConfig {
    /// Port on 127.0.0.1 (0: any free port).
    pub port: u16,
    /// Registered clients.
    pub clients: Vec<StandInClient>,
    /// Users to sign in as.
    pub users: Vec<StandInUser>,
    /// Sign in as this subject without showing the page (tests).
    pub auto_approve: Option<String>,
    /// Signing algorithm.
    pub algorithm: SigningAlgorithm,
    /// ID token lifetime.
    pub token_ttl: Duration,
    /// The clock for `iat`/`exp` (share the relying party's clock in tests).
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for StandInConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandInConfig")
            .field("port", &self.port)
            .field("clients", &self.clients.len())
            .field("users", &self.users.len())
            .field("auto_approve", &self.auto_approve.is_some())
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl StandInConfig {
    /// One client, no users yet, RS256, tokens valid for 5 minutes, the wall clock.
    pub fn new(client_id: &str, client_secret: &str, redirect_uri: &str) -> Self {
        Self {
            port: 0,
            clients: vec![StandInClient {
                client_id: client_id.into(),
                client_secret: client_secret.into(),
                redirect_uris: vec![redirect_uri.into()],
            }],
            users: Vec::new(),
            auto_approve: None,
            algorithm: SigningAlgorithm::Rs256,
            token_ttl: Duration::from_secs(300),
            clock: Arc::new(WallClock),
        }
    }
}

/// Ways to make the stand-in misbehave (all off by default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Knobs {
    /// ID tokens name another issuer (discovery stays right).
    pub wrong_issuer: bool,
    /// ID tokens are for another audience.
    pub wrong_audience: bool,
    /// ID tokens expired ten minutes ago.
    pub expired: bool,
    /// ID tokens carry another nonce than requested.
    pub wrong_nonce: bool,
    /// ID tokens are signed with the key retired by the last rotation (no longer in the JWKS).
    pub sign_with_retired_key: bool,
    /// ID tokens carry an `at_hash` of another access token.
    pub wrong_at_hash: bool,
}

/// A code issued at /authorize, waiting for /token.
#[derive(Debug, Clone)]
struct IssuedCode {
    client_id: String,
    redirect_uri: String,
    subject: String,
    nonce: Option<String>,
    code_challenge: String,
    issued_at: OffsetDateTime,
}

struct Keys {
    current: SigningKey,
    retired: Option<SigningKey>,
    generation: usize,
}

pub(crate) struct Shared {
    issuer: String,
    clients: Vec<StandInClient>,
    users: Vec<StandInUser>,
    auto_approve: Mutex<Option<String>>,
    algorithm: SigningAlgorithm,
    token_ttl: Duration,
    clock: Arc<dyn Clock>,
    keys: Mutex<Keys>,
    knobs: Mutex<Knobs>,
    codes: Mutex<HashMap<String, IssuedCode>>,
    jwks_fetches: AtomicUsize,
    token_requests: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running stand-in. Stops when dropped.
pub struct StandIn {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _shutdown: oneshot::Sender<()>,
}

impl std::fmt::Debug for StandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandIn").field("addr", &self.addr).finish_non_exhaustive()
    }
}

/// Why the stand-in could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The port could not be bound.
    #[error("cannot bind the stand-in's port: {0}")]
    Bind(#[from] std::io::Error),
    /// The signing key could not be generated.
    #[error(transparent)]
    Key(#[from] KeyError),
}

async fn generate(alg: SigningAlgorithm, generation: usize) -> Result<SigningKey, KeyError> {
    let kid = format!("stand-in-{generation}-{:08x}", rand::random::<u32>());
    tokio::task::spawn_blocking(move || SigningKey::generate(alg, kid))
        .await
        .map_err(|_| KeyError::from_static("key generation task failed"))?
}

impl StandIn {
    /// Binds 127.0.0.1:`port`, generates the signing key, and serves until dropped.
    pub async fn start(config: StandInConfig) -> Result<Self, StartError> {
        let listener = TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let key = generate(config.algorithm, 1).await?;
        let shared = Arc::new(Shared {
            issuer: format!("http://{addr}"),
            clients: config.clients,
            users: config.users,
            auto_approve: Mutex::new(config.auto_approve),
            algorithm: config.algorithm,
            token_ttl: config.token_ttl,
            clock: config.clock,
            keys: Mutex::new(Keys { current: key, retired: None, generation: 1 }),
            knobs: Mutex::new(Knobs::default()),
            codes: Mutex::new(HashMap::new()),
            jwks_fetches: AtomicUsize::new(0),
            token_requests: AtomicUsize::new(0),
        });
        let (tx, rx) = oneshot::channel();
        let router = server::router(Arc::clone(&shared));
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Self { addr, shared, _shutdown: tx })
    }

    /// The issuer (`http://127.0.0.1:<port>`), also the base URL.
    pub fn issuer(&self) -> String {
        self.shared.issuer.clone()
    }

    /// The bound address.
    pub const fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replaces the knobs.
    pub fn set_knobs(&self, knobs: Knobs) {
        *lock(&self.shared.knobs) = knobs;
    }

    /// The current knobs.
    pub fn knobs(&self) -> Knobs {
        *lock(&self.shared.knobs)
    }

    /// Signs in as `subject` without the page (or shows the page again with `None`).
    pub fn set_auto_approve(&self, subject: Option<&str>) {
        *lock(&self.shared.auto_approve) = subject.map(str::to_owned);
    }

    /// Generates a new signing key; the old one is retired (removed from the JWKS, kept only for
    /// [`Knobs::sign_with_retired_key`]).
    pub async fn rotate_key(&self) -> Result<(), KeyError> {
        let generation = lock(&self.shared.keys).generation + 1;
        let key = generate(self.shared.algorithm, generation).await?;
        let mut keys = lock(&self.shared.keys);
        let old = std::mem::replace(&mut keys.current, key);
        keys.retired = Some(old);
        keys.generation = generation;
        Ok(())
    }

    /// The current key id.
    pub fn current_kid(&self) -> Option<String> {
        lock(&self.shared.keys).current.jwk().kid.clone()
    }

    /// How often the JWKS was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.shared.jwks_fetches.load(Ordering::SeqCst)
    }

    /// How many token requests arrived.
    pub fn token_requests(&self) -> usize {
        self.shared.token_requests.load(Ordering::SeqCst)
    }
}
