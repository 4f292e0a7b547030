//! Configuration, layered with `figment`: defaults embedded from `config/default.toml`, overridden
//! by a config file and by `HOHEIT_*` environment variables (`HOHEIT_A__B` sets `a.b`). Secrets are `secrecy` types,
//! given as values or as `*_file` paths. A misconfiguration fails at start with a message that
//! names the key and what to fix.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider, error::Kind};
use hoheit_persistence::SqliteSync;
use secrecy::SecretString;
use serde::Deserialize;

const DEFAULTS: &str = include_str!("../config/default.toml");

/// Why the configuration cannot be used. Says what to fix; never contains a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// Which file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// TOML syntax or a value of the wrong type.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listen address.
    pub listen: SocketAddr,
    /// Data directory (SQLite file, development key files).
    pub data_dir: PathBuf,
    /// Database URL; unset means SQLite under `data_dir`.
    pub database_url: Option<String>,
    /// SQLite durability.
    pub sqlite_sync: SqliteSync,
    /// Pool size.
    pub max_connections: u32,
    /// Public base URL for webhook registration.
    pub public_url: Option<String>,
    /// Master key (hex or base64).
    pub master_key: Option<SecretString>,
    /// File holding the master key.
    pub master_key_file: Option<PathBuf>,
    /// Audit checkpoint signing key (base64).
    pub audit_signing_key: Option<SecretString>,
    /// File holding the audit signing key.
    pub audit_signing_key_file: Option<PathBuf>,
    /// Logging.
    pub log: LogConfig,
    /// Request limits.
    pub limits: LimitsConfig,
    /// The outbox dispatcher.
    pub dispatcher: DispatcherConfig,
    /// The retention scheduler.
    pub retention: RetentionConfig,
    /// Template sync.
    pub templates: TemplatesConfig,
    /// 360Dialog client defaults.
    pub dialog360: Dialog360Config,
    /// Media files.
    pub media: MediaConfig,
    /// Webhook ingest.
    pub webhooks: WebhooksConfig,
    /// The HTTP server's bounds: timeouts, concurrency, per-source limits, readiness probe.
    pub http: HttpConfig,
    /// Where and to whom `/metrics` is served.
    pub metrics: MetricsConfig,
    /// Webhook ingest when the database is slow or away: deadline and circuit breaker.
    pub ingest: IngestConfig,
    /// The browser UI (issue 16): language and time zone.
    pub web: WebConfig,
    /// Browser sessions of staff accounts (issue 16).
    #[serde(default)]
    pub sessions: SessionsConfig,
    /// Staff sign-in through the tenants' identity providers (OpenID Connect).
    #[serde(default)]
    pub oidc: OidcConfig,
}

/// The browser UI (`crates/web`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// The pages' language before a person chose one: "de" or "en".
    pub default_language: String,
    /// The IANA time zone dates and times are shown in.
    pub time_zone: String,
    /// How many seconds before a session's idle or absolute time-out the pages warn.
    #[serde(default = "default_session_warning")]
    pub session_warning_seconds: u32,
}

const fn default_session_warning() -> u32 {
    300
}

impl WebConfig {
    /// The UI's settings; a language or time zone it does not know is an error naming the key.
    pub fn settings(&self) -> Result<hoheit_web::WebSettings, ConfigError> {
        let default_language = hoheit_web::Lang::parse(&self.default_language)
            .ok_or_else(|| ConfigError::Invalid("web.default_language must be \"de\" or \"en\"".into()))?;
        let time_zone = hoheit_web::Zone::named(&self.time_zone)
            .map_err(|e| ConfigError::Invalid(format!("web.time_zone: {e}")))?;
        Ok(hoheit_web::WebSettings {
            default_language,
            time_zone,
            public_origin: None,
            session_warning: time::Duration::seconds(i64::from(self.session_warning_seconds)),
            // `[media] max_bytes`, set where the whole configuration is at hand (wiring)
            ..hoheit_web::WebSettings::default()
        })
    }
}

/// Staff sign-in through the tenants' identity providers (issue 16). Each tenant's provider is
/// set by its admin (`PUT /api/v1/settings/oidc`); these are the server-wide knobs. The redirect
/// URI registered at every provider is `<public_url>/auth/oidc/callback`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// Allows `http` identity providers on loopback (the stand-in; development and tests only).
    pub allow_insecure_loopback: bool,
    /// Timeout of one request to an identity provider.
    pub request_timeout_seconds: u64,
    /// How long a sign-in may take between the redirect to the provider and the callback.
    pub pending_minutes: u64,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self { allow_insecure_loopback: false, request_timeout_seconds: 10, pending_minutes: 10 }
    }
}

/// Webhook ingest (issue 14.3).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Events whose WhatsApp timestamp is older than this many hours are acknowledged and not
    /// stored (replays); the keyed hashes of erased candidates' provider ids are kept as long
    /// (plus a day), so redeliveries stay duplicates. Default 168 (7 days, 360Dialog's longest
    /// redelivery period).
    pub replay_window_hours: u32,
}

/// The HTTP server's bounds (issue 14).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// A connection must send a request's complete headers within this time, and a kept-alive
    /// connection that sends no next request is closed after it (idle timeout).
    pub header_timeout_seconds: u64,
    /// A request (reading its body included) must be answered within this time (503 `timeout`).
    pub request_timeout_seconds: u64,
    /// Requests handled at once; above it a request is answered 503 `overloaded` at once.
    pub max_concurrent_requests: usize,
    /// Requests per second per source address on the unauthenticated routes (`/healthz`,
    /// `/readyz`, `/metrics`, rejected webhooks); 0 turns the limit off.
    pub source_requests_per_second: u32,
    /// Burst per source address.
    pub source_burst: u32,
    /// Source addresses tracked at most (bounded memory; the overflow shares one bucket).
    pub source_table_size: usize,
    /// `/readyz` probes the database at most once per this many seconds.
    pub readyz_interval_seconds: u64,
}

/// `/metrics`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// A separate listen address for `/metrics` (then not served on `listen`).
    pub listen: Option<SocketAddr>,
    /// A bearer token `/metrics` requires.
    pub token: Option<SecretString>,
    /// File holding that token.
    pub token_file: Option<PathBuf>,
    /// The gauges read from the database are cached this long.
    pub cache_seconds: u64,
}

/// Browser sessions of staff accounts (issue 16): idle and absolute time-outs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsConfig {
    /// A session without a request for this long ends (default 1800 = 30 min).
    pub idle_seconds: u64,
    /// A session ends this long after sign-in whatever happens (default 43200 = 12 h).
    pub absolute_seconds: u64,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        Self { idle_seconds: 1800, absolute_seconds: 43_200 }
    }
}

impl SessionsConfig {
    /// The domain's settings (at least 1 s each; the absolute time-out at least the idle one).
    pub fn settings(&self) -> hoheit_domain::staff::SessionSettings {
        let idle = time::Duration::seconds(i64::try_from(self.idle_seconds.max(1)).unwrap_or(i64::MAX));
        let absolute = time::Duration::seconds(i64::try_from(self.absolute_seconds.max(1)).unwrap_or(i64::MAX));
        hoheit_domain::staff::SessionSettings { idle, absolute: absolute.max(idle) }
    }
}

/// Webhook ingest deadline and circuit breaker.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// A webhook whose storage work takes longer is answered 503 (360Dialog re-delivers).
    pub timeout_millis: u64,
    /// Consecutive storage failures that open the circuit.
    pub breaker_failures: u32,
    /// How long an open circuit answers 503 without trying before one request probes again.
    pub breaker_open_millis: u64,
}

/// Media files (inbound fetched from 360Dialog, outbound documents).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaConfig {
    /// Largest file stored or sent, in bytes.
    pub max_bytes: u64,
    /// Seconds between fetch rounds (a webhook with media also wakes the fetcher).
    pub fetch_interval_seconds: u64,
    /// Time budget of one tenant in a fetch round (seconds); what is left waits for the next round.
    pub tenant_budget_seconds: u64,
    /// Tenants fetched in parallel.
    pub tenant_concurrency: usize,
}

/// Logging.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// Filter directives.
    pub level: String,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable.
    Text,
    /// One JSON object per line.
    Json,
}

/// Request limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// API request body limit.
    pub api_body_bytes: usize,
    /// Webhook body limit.
    pub webhook_body_bytes: usize,
    /// Requests per second per token.
    pub requests_per_second: u32,
    /// Burst per token.
    pub burst: u32,
}

/// The outbox dispatcher.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatcherConfig {
    /// Entries claimed per round.
    pub batch: u32,
    /// Lease of a claim.
    pub lease_seconds: u64,
    /// Longest pause when a claim found nothing (the dispatcher sleeps until the next entry is
    /// due, or until a commit queues one).
    pub idle_millis: u64,
    /// Parallel sends.
    pub concurrency: usize,
    /// How long a send attempt whose outcome was not recorded (the process died between
    /// 360Dialog's acceptance and the commit) waits for a status webhook carrying its outbox id
    /// before the policy is decided again and it is resent.
    pub status_wait_seconds: u64,
}

/// The retention scheduler.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Seconds between runs.
    pub interval_seconds: u64,
}

/// Template sync.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplatesConfig {
    /// Seconds between syncs.
    pub sync_interval_seconds: u64,
    /// Most pages one channel's template listing may have.
    pub max_pages: u32,
    /// Most bytes one channel's template listing may have over all pages.
    pub max_bytes: u64,
    /// Time budget of one tenant's channels in a sync round (seconds).
    pub tenant_budget_seconds: u64,
    /// Tenants synced in parallel.
    pub tenant_concurrency: usize,
}

/// 360Dialog client defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dialog360Config {
    /// Default base URL.
    pub base_url: String,
    /// Per-request timeout.
    pub request_timeout_seconds: u64,
    /// Messages per second per number.
    pub messages_per_second: u32,
    /// Spacing per recipient.
    pub pair_spacing_millis: u64,
    /// The outbound allow-list: host names (or `*.domain`) channel base URLs may point at, https
    /// on the default port only. Tenants cannot widen it.
    pub allowed_hosts: Vec<String>,
    /// Development and tests only: also allow http(s) to loopback (the simulator). `serve --dev`
    /// and the test harness set it.
    pub allow_insecure_loopback: bool,
}

impl Config {
    /// Defaults + optional file + environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let env =
            std::env::vars_os().map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned()));
        Self::load_with(file, env)
    }

    /// Like [`Config::load`] with an explicit environment (tests).
    pub fn load_with(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        if let Some(path) = file {
            // a missing file is an error (figment would read it as empty)
            std::fs::metadata(path).map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
            figment = figment.merge(Toml::file_exact(path));
        }
        let config: Self = figment.merge(EnvVars::new(env)).extract().map_err(describe)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.master_key.is_some() && self.master_key_file.is_some() {
            return Err(ConfigError::Invalid("set either master_key or master_key_file, not both".into()));
        }
        if self.audit_signing_key.is_some() && self.audit_signing_key_file.is_some() {
            return Err(ConfigError::Invalid(
                "set either audit_signing_key or audit_signing_key_file, not both".into(),
            ));
        }
        if !(1..=1000).contains(&self.dialog360.messages_per_second) {
            return Err(ConfigError::Invalid("dialog360.messages_per_second must be 1 to 1000".into()));
        }
        if self.dispatcher.batch == 0 || self.dispatcher.concurrency == 0 {
            return Err(ConfigError::Invalid("dispatcher.batch and dispatcher.concurrency must be at least 1".into()));
        }
        if !(1024..=100 * 1024 * 1024).contains(&self.media.max_bytes) {
            return Err(ConfigError::Invalid("media.max_bytes must be 1 KiB to 100 MiB (WhatsApp's limit)".into()));
        }
        if self.metrics.token.is_some() && self.metrics.token_file.is_some() {
            return Err(ConfigError::Invalid("set either metrics.token or metrics.token_file, not both".into()));
        }
        if self.http.header_timeout_seconds == 0
            || self.http.request_timeout_seconds == 0
            || self.http.max_concurrent_requests == 0
            || self.http.readyz_interval_seconds == 0
            || self.http.source_table_size == 0
        {
            return Err(ConfigError::Invalid(
                "http.header_timeout_seconds, http.request_timeout_seconds, http.max_concurrent_requests, \
                 http.readyz_interval_seconds and http.source_table_size must be at least 1"
                    .into(),
            ));
        }
        if self.ingest.timeout_millis == 0 || self.ingest.breaker_failures == 0 {
            return Err(ConfigError::Invalid(
                "ingest.timeout_millis and ingest.breaker_failures must be at least 1".into(),
            ));
        }
        if let Some(url) = &self.database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://") || url.starts_with("sqlite:"))
        {
            return Err(ConfigError::Invalid("database_url must start with postgres:// or sqlite:".into()));
        }
        self.web.settings()?;
        self.validate_outbound()
    }

    fn validate_outbound(&self) -> Result<(), ConfigError> {
        let egress = self.egress()?;
        let base = hoheit_dialog360::ClientConfig::new(&self.dialog360.base_url, SecretString::from("check"))
            .map_err(|e| ConfigError::Invalid(format!("dialog360.base_url: {e}")))?;
        if egress.check_url(&base.base_url).is_err() {
            return Err(ConfigError::Invalid(
                "dialog360.base_url is not allowed by dialog360.allowed_hosts (https, a listed host, default port)"
                    .into(),
            ));
        }
        if self.templates.max_pages == 0 || self.templates.max_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "templates.max_pages must be at least 1 and templates.max_bytes at least 1024".into(),
            ));
        }
        if self.templates.tenant_concurrency == 0 || self.media.tenant_concurrency == 0 {
            return Err(ConfigError::Invalid(
                "templates.tenant_concurrency and media.tenant_concurrency must be at least 1".into(),
            ));
        }
        if self.templates.tenant_budget_seconds == 0 || self.media.tenant_budget_seconds == 0 {
            return Err(ConfigError::Invalid(
                "templates.tenant_budget_seconds and media.tenant_budget_seconds must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The outbound allow-list (`dialog360.allowed_hosts`, plus loopback with
    /// `dialog360.allow_insecure_loopback`).
    pub fn egress(&self) -> Result<hoheit_dialog360::EgressPolicy, ConfigError> {
        hoheit_dialog360::EgressPolicy::new(&self.dialog360.allowed_hosts)
            .map(|p| p.with_insecure_loopback(self.dialog360.allow_insecure_loopback))
            .map_err(|_| {
                ConfigError::Invalid(
                    "dialog360.allowed_hosts: each entry must be a host name or *.domain (no IP address, scheme or port)"
                        .into(),
                )
            })
    }

    /// The database URL (SQLite under the data directory unless configured).
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", self.data_dir.join("hoheit.db").display()))
    }

    /// Whether this runs on the embedded SQLite default.
    pub fn is_sqlite(&self) -> bool {
        self.database_url().starts_with("sqlite:")
    }
}

/// Keys whose values are secret (or may hold a password, like a database URL): their errors
/// name the key only, never details derived from the value.
const SECRET_KEYS: &[&str] = &["master_key", "audit_signing_key", "database_url", "token"];

/// `HOHEIT_*` variables that belong to hoheit's tools and tests, not to the server.
const FOREIGN_PREFIXES: &[&str] = &["CONFIG", "TEST_", "LOAD_", "BENCH_", "360SIM_", "CLI_"];

/// The `HOHEIT_*` environment as a figment provider: `HOHEIT_A__B=v` sets `a.b`, values parsed
/// like figment's own `Env` provider (`7` a number, `true` a boolean, else a string). Built from
/// an explicit list of variables so tests need not touch the process environment.
struct EnvVars(Vec<(String, String)>);

impl EnvVars {
    fn new(env: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(
            env.into_iter()
                .filter_map(|(key, value)| {
                    let name = key.strip_prefix("HOHEIT_")?;
                    if name.is_empty() || FOREIGN_PREFIXES.iter().any(|p| name.starts_with(p)) {
                        return None;
                    }
                    Some((name.split("__").map(str::to_ascii_lowercase).collect::<Vec<_>>().join("."), value))
                })
                .collect(),
        )
    }
}

impl Provider for EnvVars {
    fn metadata(&self) -> Metadata {
        Metadata::named("environment variable").interpolater(|_: &Profile, keys: &[&str]| {
            format!("HOHEIT_{}", keys.iter().map(|k| k.to_ascii_uppercase()).collect::<Vec<_>>().join("__"))
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for (key, value) in &self.0 {
            let value: Value = value.parse().unwrap_or_else(|never| match never {});
            if let Some(nested) = figment::util::nest(key, value).into_dict() {
                for (k, v) in nested {
                    merge_value(&mut dict, k, v);
                }
            }
        }
        Ok(Profile::Default.collect(dict))
    }
}

/// Inserts `value` at `key`, merging dictionaries (two variables of one section).
fn merge_value(dict: &mut Dict, key: String, value: Value) {
    match (dict.get_mut(&key), value) {
        (Some(Value::Dict(_, existing)), Value::Dict(_, more)) => {
            for (k, v) in more {
                merge_value(existing, k, v);
            }
        }
        (_, value) => {
            dict.insert(key, value);
        }
    }
}

/// A figment error as a message naming the key and where it was set, without the value.
fn describe(error: figment::Error) -> ConfigError {
    let lines: Vec<String> = error
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let secret = e.path.last().is_some_and(|k| SECRET_KEYS.contains(&k.as_str()));
            let detail = if secret {
                "invalid value".to_owned()
            } else if let Kind::InvalidType(_, expected) | Kind::InvalidValue(_, expected) = &e.kind {
                format!("invalid value, expected {expected}")
            } else if let Kind::Message(message) = &e.kind {
                // parse errors quote the offending line (which may hold a secret): first line only
                message.lines().next().unwrap_or_default().to_owned()
            } else {
                e.kind.to_string()
            };
            let source = e.metadata.as_ref().map_or_else(String::new, |md| match (&e.profile, &md.source) {
                (Some(profile), _) if !e.path.is_empty() && md.name == "environment variable" => {
                    let keys: Vec<&str> = e.path.iter().map(String::as_str).collect();
                    format!(" (environment variable {})", md.interpolate(profile, &keys))
                }
                (_, Some(source)) => format!(" (in {source})"),
                (_, None) => format!(" (in {})", md.name),
            });
            if key.is_empty() { format!("{detail}{source}") } else { format!("{key}: {detail}{source}") }
        })
        .collect();
    ConfigError::Invalid(lines.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load() {
        let c = Config::load_with(None, Vec::new()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert!(c.is_sqlite());
        assert_eq!(c.dispatcher.batch, 250);
        assert_eq!(c.sqlite_sync, SqliteSync::Full);
    }

    #[test]
    fn environment_overrides_nested_keys() {
        let env = vec![
            ("HOHEIT_DATABASE_URL".to_owned(), "postgres://h@localhost/h".to_owned()),
            ("HOHEIT_DISPATCHER__BATCH".to_owned(), "7".to_owned()),
            ("HOHEIT_LOG__FORMAT".to_owned(), "json".to_owned()),
            ("OTHER".to_owned(), "x".to_owned()),
        ];
        let c = Config::load_with(None, env).unwrap();
        assert!(!c.is_sqlite());
        assert_eq!(c.dispatcher.batch, 7);
        assert_eq!(c.log.format, LogFormat::Json);
    }

    #[test]
    fn the_web_ui_language_and_time_zone_are_checked() {
        let config = Config::load_with(None, Vec::new()).unwrap();
        let settings = config.web.settings().unwrap();
        assert_eq!(settings.default_language, hoheit_web::Lang::De);
        assert_eq!(settings.time_zone.name(), "Europe/Berlin");
        let en = Config::load_with(None, vec![("HOHEIT_WEB__DEFAULT_LANGUAGE".to_owned(), "en".to_owned())]).unwrap();
        assert_eq!(en.web.settings().unwrap().default_language, hoheit_web::Lang::En);
        let err = Config::load_with(None, vec![("HOHEIT_WEB__DEFAULT_LANGUAGE".to_owned(), "fr".to_owned())])
            .unwrap_err()
            .to_string();
        assert!(err.contains("web.default_language"), "{err}");
        let err = Config::load_with(None, vec![("HOHEIT_WEB__TIME_ZONE".to_owned(), "Mars/Base".to_owned())])
            .unwrap_err()
            .to_string();
        assert!(err.contains("web.time_zone") && err.contains("Mars/Base"), "{err}");
    }

    #[test]
    fn mistakes_say_what_to_fix() {
        let err = Config::load_with(None, vec![("HOHEIT_LISTN".to_owned(), "x".to_owned())]).unwrap_err().to_string();
        assert!(err.contains("listn"), "{err}");
        let err = Config::load_with(None, vec![("HOHEIT_DATABASE_URL".to_owned(), "mysql://x".to_owned())])
            .unwrap_err()
            .to_string();
        assert!(err.contains("database_url"), "{err}");
        let err =
            Config::load_with(None, vec![("HOHEIT_DIALOG360__MESSAGES_PER_SECOND".to_owned(), "5000".to_owned())])
                .unwrap_err()
                .to_string();
        assert!(err.contains("messages_per_second"), "{err}");
        let secret = "supersecret-value-123";
        let err = Config::load_with(
            None,
            vec![
                ("HOHEIT_MASTER_KEY".to_owned(), secret.to_owned()),
                ("HOHEIT_MASTER_KEY_FILE".to_owned(), "/x".to_owned()),
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains(secret));
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn environment_beats_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hoheit.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\nmax_connections = 4\n[dispatcher]\nbatch = 10\nidle_millis = 5\n",
        )
        .unwrap();
        let from_file = Config::load_with(Some(&file), Vec::new()).unwrap();
        assert_eq!(from_file.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(from_file.max_connections, 4);
        assert_eq!(from_file.dispatcher.batch, 10);
        assert_eq!(from_file.dispatcher.idle_millis, 5);
        // keys the file does not name keep their defaults, also inside a section it names
        assert_eq!(from_file.dispatcher.lease_seconds, 60);
        assert_eq!(from_file.limits.burst, 100);

        let c = Config::load_with(
            Some(&file),
            env(&[
                ("HOHEIT_DISPATCHER__BATCH", "20"),
                ("HOHEIT_DISPATCHER__CONCURRENCY", "3"),
                ("HOHEIT_MAX_CONNECTIONS", "8"),
                ("HOHEIT_LIMITS__BURST", "7"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen.to_string(), "0.0.0.0:9000", "file value, no variable");
        assert_eq!(c.max_connections, 8, "variable beats file");
        assert_eq!(c.dispatcher.batch, 20, "variable beats file inside a section");
        assert_eq!(c.dispatcher.concurrency, 3, "variable beats default");
        assert_eq!(c.dispatcher.idle_millis, 5, "file value kept next to a variable of the same section");
        assert_eq!(c.limits.burst, 7);
        assert_eq!(c.limits.requests_per_second, 50, "default kept");
    }

    #[test]
    fn documented_variables_keep_working() {
        let c = Config::load_with(
            None,
            env(&[
                ("HOHEIT_LISTEN", "127.0.0.1:9999"),
                ("HOHEIT_DATA_DIR", "/var/lib/hoheit"),
                ("HOHEIT_DATABASE_URL", "postgres://u:p@localhost/h"),
                ("HOHEIT_PUBLIC_URL", "https://hoheit.example.com"),
                ("HOHEIT_MASTER_KEY_FILE", "/run/secrets/m"),
                ("HOHEIT_AUDIT_SIGNING_KEY", "c2lnbmluZw=="),
                ("HOHEIT_LOG__LEVEL", "debug"),
                ("HOHEIT_DIALOG360__MESSAGES_PER_SECOND", "1000"),
                ("HOHEIT_DIALOG360__PAIR_SPACING_MILLIS", "1"),
                ("HOHEIT_DIALOG360__REQUEST_TIMEOUT_SECONDS", "3"),
                ("HOHEIT_RETENTION__INTERVAL_SECONDS", "1"),
                ("HOHEIT_LIMITS__REQUESTS_PER_SECOND", "1000"),
                // variables of hoheit's tools and tests are not configuration keys
                ("HOHEIT_CONFIG", "/etc/hoheit.toml"),
                ("HOHEIT_TEST_POSTGRES_URL", "postgres://x"),
                ("HOHEIT_LOAD_PROFILE", "debug"),
                ("HOHEIT_LOAD_SET_DISPATCHER__CONCURRENCY", "512"),
                ("HOHEIT_BENCH_NO_PG", "1"),
                ("HOHEIT_360SIM_API_KEY", "k"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9999");
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/hoheit"));
        assert_eq!(c.database_url(), "postgres://u:p@localhost/h");
        assert_eq!(c.public_url.as_deref(), Some("https://hoheit.example.com"));
        assert_eq!(c.master_key_file, Some(PathBuf::from("/run/secrets/m")));
        assert!(c.audit_signing_key.is_some());
        assert_eq!(c.log.level, "debug");
        assert_eq!(c.dialog360.messages_per_second, 1000);
        assert_eq!(c.dialog360.pair_spacing_millis, 1);
        assert_eq!(c.dialog360.request_timeout_seconds, 3);
        assert_eq!(c.retention.interval_seconds, 1);
        assert_eq!(c.limits.requests_per_second, 1000);
        assert_eq!(c.dispatcher.concurrency, 1024);
    }

    #[test]
    fn the_outbound_allow_list_is_configured_and_checked() {
        let c = Config::load_with(None, Vec::new()).unwrap();
        assert_eq!(c.dialog360.allowed_hosts, ["waba-v2.360dialog.io", "waba-sandbox.360dialog.io"]);
        assert!(!c.dialog360.allow_insecure_loopback);
        let egress = c.egress().unwrap();
        assert!(!egress.allows_insecure_loopback());
        assert!(egress.check_url(&"https://waba-v2.360dialog.io/x".parse().unwrap()).is_ok());
        assert!(egress.check_url(&"http://127.0.0.1:9/".parse().unwrap()).is_err());

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hoheit.toml");
        std::fs::write(&file, "[dialog360]\nallowed_hosts = [\"api.example.com\", \"*.proxy.example\"]\nbase_url = \"https://api.example.com\"\n").unwrap();
        let c = Config::load_with(Some(&file), Vec::new()).unwrap();
        assert!(c.egress().unwrap().check_url(&"https://a.proxy.example/".parse().unwrap()).is_ok());

        let dev = Config::load_with(None, env(&[("HOHEIT_DIALOG360__ALLOW_INSECURE_LOOPBACK", "true")])).unwrap();
        assert!(dev.egress().unwrap().check_url(&"http://127.0.0.1:9/".parse().unwrap()).is_ok());

        // the default base URL must be allowed; an IP address cannot be listed
        std::fs::write(&file, "[dialog360]\nbase_url = \"https://api.example.com\"\n").unwrap();
        let err = Config::load_with(Some(&file), Vec::new()).unwrap_err().to_string();
        assert!(err.contains("dialog360.base_url"), "{err}");
        std::fs::write(&file, "[dialog360]\nallowed_hosts = [\"10.0.0.1\"]\n").unwrap();
        let err = Config::load_with(Some(&file), Vec::new()).unwrap_err().to_string();
        assert!(err.contains("dialog360.allowed_hosts"), "{err}");
    }

    #[test]
    fn errors_name_the_key_and_its_source_never_a_secret() {
        let err = Config::load_with(None, env(&[("HOHEIT_DISPATCHER__BATCH", "many")])).unwrap_err().to_string();
        assert!(err.contains("dispatcher.batch") && err.contains("HOHEIT_DISPATCHER__BATCH"), "{err}");
        assert!(!err.contains("many"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hoheit.toml");
        std::fs::write(&file, "[log]\nformat = \"xml\"\n").unwrap();
        let err = Config::load_with(Some(&file), Vec::new()).unwrap_err().to_string();
        assert!(err.contains("log.format") && err.contains("hoheit.toml"), "{err}");

        // a secret of the wrong type or a broken file line holding a secret: the value never shows
        let secret = "12345678901234567";
        let err = Config::load_with(None, env(&[("HOHEIT_MASTER_KEY", secret)])).unwrap_err().to_string();
        assert!(err.contains("master_key") && !err.contains(secret), "{err}");
        std::fs::write(&file, "master_key = \"s3cr3t-value-in-a-broken-line\n").unwrap();
        let err = Config::load_with(Some(&file), Vec::new()).unwrap_err().to_string();
        assert!(!err.contains("s3cr3t"), "{err}");
        assert!(err.contains("hoheit.toml"), "{err}");

        let err = Config::load_with(Some(&dir.path().join("missing.toml")), Vec::new()).unwrap_err().to_string();
        assert!(err.contains("missing.toml"), "{err}");
    }
}
