//! Configuration: defaults embedded from `config/default.toml`, overridden by a config file and
//! by `HOHEIT_*` environment variables (`HOHEIT_A__B` sets `a.b`). Secrets are `secrecy` types,
//! given as values or as `*_file` paths. A misconfiguration fails at start with a message that
//! names the key and what to fix.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

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
}

/// Media files (inbound fetched from 360Dialog, outbound documents).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaConfig {
    /// Largest file stored or sent, in bytes.
    pub max_bytes: u64,
    /// Seconds between fetch rounds (a webhook with media also wakes the fetcher).
    pub fetch_interval_seconds: u64,
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
    /// Pause when idle.
    pub idle_millis: u64,
    /// Parallel sends.
    pub concurrency: usize,
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
}

impl Config {
    /// Defaults + optional file + environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with(file, std::env::vars())
    }

    /// Like [`Config::load`] with an explicit environment (tests).
    pub fn load_with(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table: toml::Table =
            DEFAULTS.parse().map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
            let overlay: toml::Table =
                text.parse().map_err(|e: toml::de::Error| ConfigError::Invalid(format!("{}: {e}", path.display())))?;
            merge(&mut table, overlay);
        }
        for (key, value) in env {
            let Some(name) = key.strip_prefix("HOHEIT_") else { continue };
            if name == "CONFIG" || name.starts_with("TEST_") {
                continue;
            }
            let path: Vec<String> = name.split("__").map(str::to_ascii_lowercase).collect();
            set_path(&mut table, &path, parse_env_value(&value));
        }
        let config: Self = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.message().to_owned()))?;
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
        if let Some(url) = &self.database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://") || url.starts_with("sqlite:"))
        {
            return Err(ConfigError::Invalid("database_url must start with postgres:// or sqlite:".into()));
        }
        Ok(())
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

fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(existing)), toml::Value::Table(more)) => merge(existing, more),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) {
    match path {
        [] => {}
        [last] => {
            table.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = table.entry(first.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(inner) = entry {
                set_path(inner, rest, value);
            }
        }
    }
}

fn parse_env_value(value: &str) -> toml::Value {
    if let Ok(i) = value.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    match value {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(value.to_owned()),
    }
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
}
