//! Starting, killing and restarting `hoheit serve` as a child process, plus its CLI (operator
//! token, audit verification). Everything is configured through `HOHEIT_*` variables, so the
//! server under test runs exactly as an operator would run it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Context as _, Res, fail, free_port, random_base64_key, random_hex_key};

/// Which database a run uses.
#[derive(Debug, Clone)]
pub(crate) enum Db {
    /// The embedded default: `<data_dir>/hoheit.db` (WAL, synchronous=FULL unless overridden).
    Sqlite,
    /// A fresh database on this PostgreSQL server (admin URL, e.g. `postgres://postgres@127.0.0.1:5432/postgres`).
    Postgres(String),
}

impl Db {
    /// `sqlite` or `postgres`.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres(_) => "PostgreSQL",
        }
    }
}

/// Creates a fresh database on the PostgreSQL server and returns its URL.
pub(crate) async fn fresh_postgres(admin: &str, prefix: &str) -> Res<String> {
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    let conn = sea_orm::Database::connect(admin).await.context("cannot connect to PostgreSQL")?;
    sea_orm::ConnectionTrait::execute_unprepared(&conn, &format!("CREATE DATABASE {name}"))
        .await
        .context("CREATE DATABASE")?;
    conn.close().await.ok();
    let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
    Ok(format!("{base}/{name}"))
}

/// How to run one server (restarts reuse the same spec: same port, data, keys).
#[derive(Debug, Clone)]
pub(crate) struct ServerSpec {
    pub(crate) bin: PathBuf,
    pub(crate) data_dir: PathBuf,
    pub(crate) database_url: Option<String>,
    pub(crate) port: u16,
    pub(crate) master_key: String,
    pub(crate) signing_key: String,
    /// Extra `HOHEIT_*` settings.
    pub(crate) env: Vec<(String, String)>,
    pub(crate) log: PathBuf,
}

impl ServerSpec {
    /// A server on a free port with fresh keys; `database_url` `None` means SQLite in `data_dir`.
    pub(crate) fn new(bin: &Path, data_dir: &Path, database_url: Option<String>) -> Res<Self> {
        std::fs::create_dir_all(data_dir).context("cannot create the data directory")?;
        Ok(Self {
            bin: bin.to_path_buf(),
            data_dir: data_dir.to_path_buf(),
            database_url,
            port: free_port()?,
            master_key: random_hex_key(),
            signing_key: random_base64_key(),
            env: bench_env(),
            log: data_dir.join("server.log"),
        })
    }

    /// A second replica: same database and keys, its own port, data directory and log.
    pub(crate) fn replica(&self, data_dir: &Path) -> Res<Self> {
        std::fs::create_dir_all(data_dir).context("cannot create the data directory")?;
        Ok(Self {
            data_dir: data_dir.to_path_buf(),
            port: free_port()?,
            log: data_dir.join("server.log"),
            ..self.clone()
        })
    }

    /// Adds or replaces a setting.
    pub(crate) fn set(&mut self, key: &str, value: impl Into<String>) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.into()));
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The SQLite file (SQLite runs only).
    pub(crate) fn sqlite_file(&self) -> PathBuf {
        self.data_dir.join("hoheit.db")
    }

    /// The database URL the load tool uses to check results.
    pub(crate) fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}?mode=rw", self.sqlite_file().display()))
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args);
        for (key, _) in std::env::vars() {
            if key.starts_with("HOHEIT_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("HOHEIT_DATA_DIR", &self.data_dir)
            .env("HOHEIT_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("HOHEIT_MASTER_KEY", &self.master_key)
            .env("HOHEIT_AUDIT_SIGNING_KEY", &self.signing_key);
        if let Some(url) = &self.database_url {
            cmd.env("HOHEIT_DATABASE_URL", url);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        // experiments: HOHEIT_LOAD_SET_DISPATCHER__CONCURRENCY=512 sets HOHEIT_DISPATCHER__CONCURRENCY
        for (key, value) in std::env::vars() {
            if let Some(setting) = key.strip_prefix("HOHEIT_LOAD_SET_") {
                cmd.env(format!("HOHEIT_{setting}"), value);
            }
        }
        cmd
    }

    /// Starts `hoheit serve --migrate` (stdout and stderr appended to the log).
    pub(crate) fn spawn(&self) -> Res<ServerProc> {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).context("server log")?;
        let child = self
            .command(&["serve", "--migrate"])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context_path(&self.bin)?;
        Ok(ServerProc { pid: child.id(), child: Some(child), base: self.base() })
    }

    /// Runs a CLI command with the server's configuration; returns (success, stdout+stderr).
    pub(crate) fn cli(&self, args: &[&str]) -> Res<(bool, String)> {
        let out = self.command(args).stdin(Stdio::null()).output().with_context_path(&self.bin)?;
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        Ok((out.status.success(), text))
    }

    /// Creates an operator token with `hoheit token create --role operator`.
    pub(crate) fn operator_token(&self) -> Res<String> {
        let (ok, text) = self.cli(&["token", "create", "--role", "operator", "--label", "hoheit-load"])?;
        if !ok {
            return Err(fail!("hoheit token create failed: {text}"));
        }
        text.lines()
            .find_map(|l| l.split_once("shown once: ").map(|(_, t)| t.trim().to_owned()))
            .context("no token in the output of hoheit token create")
    }

    /// `hoheit audit verify` over all tenants: (passed, output).
    pub(crate) fn audit_verify(&self) -> Res<(bool, String)> {
        self.cli(&["audit", "verify"])
    }
}

trait SpawnContext<T> {
    fn with_context_path(self, bin: &Path) -> Res<T>;
}

impl<T> SpawnContext<T> for std::io::Result<T> {
    fn with_context_path(self, bin: &Path) -> Res<T> {
        self.map_err(|e| {
            fail!("cannot run {} ({e}); build it with `cargo build --release -p hoheit-server`", bin.display())
        })
    }
}

/// Settings of every benchmark server: the per-token API rate limit is lifted (the setup makes
/// thousands of API calls with one token), logging is quiet, the gauges of `/metrics` are not
/// cached. Everything else is the default.
fn bench_env() -> Vec<(String, String)> {
    vec![
        ("HOHEIT_LIMITS__REQUESTS_PER_SECOND".into(), "1000000".into()),
        ("HOHEIT_LIMITS__BURST".into(), "1000000".into()),
        ("HOHEIT_LOG__LEVEL".into(), "warn".into()),
        // the provider stand-in listens on loopback
        ("HOHEIT_DIALOG360__ALLOW_INSECURE_LOOPBACK".into(), "true".into()),
        // the drills poll the outbox depth gauge to see the outbox drain: read it fresh
        ("HOHEIT_METRICS__CACHE_SECONDS".into(), "0".into()),
    ]
}

/// A running server process.
#[derive(Debug)]
pub(crate) struct ServerProc {
    child: Option<Child>,
    pub(crate) pid: u32,
    pub(crate) base: String,
}

impl ServerProc {
    /// Waits until `/readyz` answers 200.
    pub(crate) async fn wait_ready(&mut self, timeout: Duration) -> Res<()> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(fail!("the server exited during start ({status}); see its log"));
            }
            if let Ok(r) = http.get(format!("{}/readyz", self.base)).send().await
                && r.status().as_u16() == 200
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(fail!("the server at {} did not become ready in {timeout:?}", self.base));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `kill -9`.
    pub(crate) fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGINT (the server's graceful shutdown), then SIGKILL after `grace`.
    pub(crate) async fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.child.take() else { return };
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.pid).unwrap_or(i32::MAX));
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Whether it still runs.
    pub(crate) fn running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Where the release binary is expected.
pub(crate) fn default_bin() -> PathBuf {
    let here = std::env::current_exe().ok();
    here.as_deref()
        .and_then(Path::parent)
        .map(|dir| dir.join("hoheit"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("target/release/hoheit"))
}
