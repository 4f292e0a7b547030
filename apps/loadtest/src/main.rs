//! `hoheit-load`: proof under load for hoheit (issue 7).
//!
//! Drives a `hoheit serve` (the release binary, started as a child process on loopback with a
//! fresh SQLite file or a fresh PostgreSQL database) over HTTP and prints markdown:
//!
//! - `bench`: every scenario of docs/performance.md (webhook ingest on SQLite and PostgreSQL
//!   with the storage and HTTP baselines and the headline ratio, outbound at 80 and 1,000
//!   messages/s, retention at two sizes, the inbox, peak RSS) as one table;
//! - the scenarios one by one (`ingest`, `storage-baseline`, `http-baseline`, `outbound`,
//!   `retention`);
//! - `inbox`: the recruiter inbox of issue 17 (the conversation list at 10,000 conversations and
//!   8 signed-in users, the live fan-out to 500 SSE streams);
//! - the drills of docs/reliability.md (`crash`, `db-outage`, `sim-faults`, `scale-out`) and the
//!   CI `smoke` run.

mod baseline;
mod bench;
mod client;
mod crash_send;
mod drills;
mod inbox;
mod ingest;
mod outbound;
mod procfs;
mod proxy;
mod retention;
mod server;
mod session;
mod setup;
mod sse;
mod util;
mod verify;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::ingest::IngestOptions;
use crate::server::Db;
use crate::util::{Res, fail, note, say};

#[derive(Debug, Parser)]
#[command(name = "hoheit-load", about = "Load generator, baselines and fault drills for hoheit")]
struct Cli {
    /// The server binary (`cargo build --release -p hoheit-server`).
    #[arg(long, global = true)]
    hoheit: Option<PathBuf>,
    /// Working directory for data, logs and acknowledgement logs (default: a new /tmp/hoheit-load.*).
    #[arg(long, global = true)]
    work: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DbKind {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SqliteFault {
    Readonly,
    Lock,
}

#[derive(Debug, Clone, Args)]
struct DbArgs {
    /// sqlite (embedded default) or postgres (needs --pg-url).
    #[arg(long, value_enum, default_value = "sqlite")]
    db: DbKind,
    /// Admin URL of a PostgreSQL server; each run creates a fresh database on it. Also PG_URL.
    #[arg(long, env = "PG_URL")]
    pg_url: Option<String>,
}

impl DbArgs {
    fn db(&self) -> Res<Db> {
        match self.db {
            DbKind::Sqlite => Ok(Db::Sqlite),
            DbKind::Postgres => {
                self.pg_url.clone().map(Db::Postgres).ok_or_else(|| fail!("--db postgres needs --pg-url (or PG_URL)"))
            }
        }
    }
}

#[derive(Debug, Clone, Args)]
struct LoadArgs {
    /// Connections (closed loop).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Warm-up seconds (not measured).
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// Measured seconds.
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Channels (numbers) of the tenant.
    #[arg(long, default_value_t = 4)]
    channels: usize,
    /// Distinct candidates writing in.
    #[arg(long, default_value_t = 20_000)]
    candidates: u64,
    /// Share of inbound messages among the events (the rest are statuses, 3 per outgoing message).
    #[arg(long, default_value_t = 0.25)]
    inbound_share: f64,
    /// Events per webhook POST.
    #[arg(long, default_value_t = 1)]
    events_per_post: u64,
    /// Open loop: POSTs per second (default: closed loop).
    #[arg(long)]
    rate: Option<f64>,
}

impl LoadArgs {
    fn options(&self) -> IngestOptions {
        IngestOptions {
            concurrency: self.concurrency,
            warmup: Duration::from_secs(self.warmup),
            duration: Duration::from_secs(self.duration),
            channels: self.channels,
            candidates: self.candidates,
            inbound_per_mille: (self.inbound_share.clamp(0.0, 1.0) * 1000.0).round() as u64,
            events_per_post: self.events_per_post.max(1),
            rate: self.rate,
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Every scenario, both databases (PostgreSQL with --pg-url), as the table of docs/performance.md.
    Bench {
        #[command(flatten)]
        load: LoadArgs,
        /// Admin URL of a PostgreSQL server (PostgreSQL rows are skipped without it). Also PG_URL.
        #[arg(long, env = "PG_URL")]
        pg_url: Option<String>,
        /// Retention sizes (candidates, 10 messages each).
        #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
        retention: Vec<u64>,
        /// Outbound runs as LIMIT:MESSAGES.
        #[arg(long, value_delimiter = ',', default_value = "80:2400,1000:20000")]
        outbound: Vec<String>,
        /// Skip scenarios: ingest, outbound, retention, inbox.
        #[arg(long, value_delimiter = ',')]
        skip: Vec<String>,
    },
    /// Scenario 1: webhook ingest.
    Ingest {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Baseline (a): the rows of the ingest workload inserted by a minimal program.
    StorageBaseline {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        load: LoadArgs,
        /// Events per commit (1 = one commit per event).
        #[arg(long, default_value_t = 64)]
        batch: usize,
        /// Add the server writer's extra statements (savepoint per change set, contact owner check).
        #[arg(long)]
        server_pattern: bool,
    },
    /// Baseline (b): the ingest load against a handler that answers 200 without a database.
    HttpBaseline {
        #[command(flatten)]
        load: LoadArgs,
    },
    /// The no-database handler of baseline (b) (started by http-baseline).
    #[command(hide = true)]
    HttpSink {
        #[arg(long)]
        port: u16,
    },
    /// Scenario 3: outbound messages against the per-number limit.
    Outbound {
        #[command(flatten)]
        db: DbArgs,
        /// Messages per second per number configured in the server.
        #[arg(long, default_value_t = 80)]
        limit: u32,
        /// Messages (one per candidate).
        #[arg(long, default_value_t = 2_400)]
        messages: u64,
    },
    /// Scenario 4: erase candidates with 10 messages each in one retention run.
    Retention {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long, default_value_t = 10_000)]
        candidates: u64,
    },
    /// Issue 17: the conversation list with 10,000 conversations and 8 signed-in recruiters, and
    /// a webhook's fan-out to 500 open SSE streams (`GET /inbox/live`).
    Inbox {
        #[command(flatten)]
        db: DbArgs,
        /// Conversations in the tenant (candidates with one inbound message each).
        #[arg(long, default_value_t = 10_000)]
        conversations: u64,
        /// Signed-in recruiters paging through the list at once (each its own session).
        #[arg(long, default_value_t = 8)]
        users: usize,
        /// Warm-up seconds of the list (not measured).
        #[arg(long, default_value_t = 5)]
        warmup: u64,
        /// Measured seconds of the list.
        #[arg(long, default_value_t = 30)]
        duration: u64,
        /// Seconds of a filter that matches nothing (the scan-limit worst case); 0 skips it.
        #[arg(long, default_value_t = 10)]
        scan: u64,
        /// Open SSE streams.
        #[arg(long, default_value_t = 500)]
        streams: usize,
        /// Streams per session (the server allows 6).
        #[arg(long, default_value_t = 6)]
        per_session: usize,
        /// Webhooks sent one after another while the streams are open.
        #[arg(long, default_value_t = 100)]
        webhooks: u64,
        /// Milliseconds a webhook's event may take to reach every stream (later = lost).
        #[arg(long, default_value_t = 5_000)]
        timeout_ms: u64,
        /// Skip a part: list, live.
        #[arg(long, value_delimiter = ',')]
        skip: Vec<String>,
    },
    /// Drill: kill -9 the server at random moments under load, restart, check every acknowledged event.
    Crash {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long, default_value_t = 5)]
        kills: u32,
        /// Webhook POSTs in total (one event each); default: until two seconds after the last restart.
        #[arg(long)]
        posts: Option<u64>,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// Drill: abort the server between 360Dialog's acceptance of a send and its commit, in a loop;
    /// every message must reach the provider exactly once.
    CrashSend {
        #[command(flatten)]
        db: DbArgs,
        /// Aborts (each right after an accepted send, before the commit).
        #[arg(long, default_value_t = 20)]
        kills: u32,
        /// Messages queued (at least 8 per kill).
        #[arg(long, default_value_t = 200)]
        messages: u64,
    },
    /// Drill: the database goes away under load and comes back.
    DbOutage {
        #[command(flatten)]
        db: DbArgs,
        /// Shell command that takes the database down (PostgreSQL: pg_ctl stop).
        #[arg(long)]
        down: Option<String>,
        /// Shell command that brings it back.
        #[arg(long)]
        up: Option<String>,
        /// Seconds the database stays away.
        #[arg(long, default_value_t = 8)]
        secs: u64,
        /// Webhook POSTs per second offered (open loop).
        #[arg(long, default_value_t = 200.0)]
        rate: f64,
        /// SQLite without --down/--up: make the files read-only (chattr +i) or hold the write lock.
        #[arg(long, value_enum, default_value = "readonly")]
        sqlite_fault: SqliteFault,
    },
    /// Drill: the provider fails (429 storms, 5xx, timeouts, dropped connections) while candidates object.
    SimFaults {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long, default_value_t = 200)]
        candidates: u64,
        #[arg(long, default_value_t = 5)]
        per_candidate: u64,
    },
    /// Drill: two servers on one PostgreSQL (outbox, retention lease, audit chain).
    ScaleOut {
        /// Admin URL of the PostgreSQL server. Also PG_URL.
        #[arg(long, env = "PG_URL")]
        pg_url: String,
        /// Candidates that get one message each.
        #[arg(long, default_value_t = 400)]
        candidates: u64,
        /// Candidates past their retention period.
        #[arg(long, default_value_t = 2_000)]
        due: u64,
    },
    /// CI smoke test: a few seconds of ingest; every acknowledged event must be stored exactly once.
    Smoke {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long, default_value_t = 3)]
        seconds: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::HttpSink { port } = cli.command {
        // the sink gets the same runtime as the server: one worker thread per core
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build();
        return match runtime.map(|rt| rt.block_on(baseline::http_sink(port))) {
            Ok(Ok(())) => ExitCode::SUCCESS,
            Ok(Err(e)) => report_error(&e.0),
            Err(e) => report_error(&e.to_string()),
        };
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build();
    match runtime.map(|rt| rt.block_on(Box::pin(run(cli)))) {
        Ok(Ok(true)) => ExitCode::SUCCESS,
        Ok(Ok(false)) => ExitCode::FAILURE,
        Ok(Err(e)) => report_error(&e.0),
        Err(e) => report_error(&e.to_string()),
    }
}

fn report_error(e: &str) -> ExitCode {
    note(&format!("error: {e}"));
    ExitCode::FAILURE
}

fn work_dir(given: Option<PathBuf>) -> Res<PathBuf> {
    let dir = match given {
        Some(d) => d,
        None => std::env::temp_dir().join(format!("hoheit-load.{}", uuid::Uuid::new_v4().simple())),
    };
    std::fs::create_dir_all(&dir).map_err(|e| fail!("cannot create {}: {e}", dir.display()))?;
    note(&format!("working directory {}", dir.display()));
    Ok(dir)
}

#[allow(clippy::too_many_lines)]
async fn run(cli: Cli) -> Res<bool> {
    hoheit_dialog360::ensure_crypto_provider();
    let bin = cli.hoheit.clone().unwrap_or_else(server::default_bin);
    let work = work_dir(cli.work.clone())?;
    match cli.command {
        Command::Bench { load, pg_url, retention, outbound, skip } => {
            let config = bench::BenchConfig {
                load: load.options(),
                pg_url,
                retention,
                outbound: outbound
                    .iter()
                    .map(|s| {
                        let (l, m) = s.split_once(':').ok_or_else(|| fail!("--outbound wants LIMIT:MESSAGES"))?;
                        Ok((
                            l.parse().map_err(|_| fail!("bad limit {l}"))?,
                            m.parse().map_err(|_| fail!("bad count {m}"))?,
                        ))
                    })
                    .collect::<Res<Vec<(u32, u64)>>>()?,
                skip,
                inbox: inbox::InboxOptions::default(),
            };
            bench::bench(&bin, &work, &config).await?;
            Ok(true)
        }
        Command::Ingest { db, load } => {
            let (figures, _) = ingest::ingest(&bin, &work, &db.db()?, &load.options()).await?;
            bench::print_load_rows(&[figures]);
            Ok(true)
        }
        Command::StorageBaseline { db, load, batch, server_pattern } => {
            let db = db.db()?;
            let url = bench::baseline_database(&work, &db, &format!("storage-{batch}")).await?;
            let opts = load.options();
            let workload = bench::baseline_workload(&opts);
            let r =
                baseline::storage(&url, &workload, baseline::Sizes::default(), batch, opts.duration, server_pattern)
                    .await?;
            say(&format!(
                "storage baseline ({}): {:.0} events/s with {} events per commit ({} events, {} commits, {:.1} s)",
                db.label(),
                r.events_per_second(),
                r.batch,
                r.events,
                r.commits,
                r.secs
            ));
            Ok(true)
        }
        Command::HttpBaseline { load } => {
            let figures = ingest::http_baseline(&load.options()).await?;
            bench::print_load_rows(&[figures]);
            Ok(true)
        }
        Command::HttpSink { .. } => Ok(true),
        Command::Outbound { db, limit, messages } => {
            let r = outbound::run(&bin, &work, &db.db()?, limit, messages).await?;
            bench::print_outbound(&[r]);
            Ok(true)
        }
        Command::Retention { db, candidates } => {
            let r = retention::run(&bin, &work, &db.db()?, candidates).await?;
            bench::print_retention(&[r]);
            Ok(true)
        }
        Command::Inbox {
            db,
            conversations,
            users,
            warmup,
            duration,
            scan,
            streams,
            per_session,
            webhooks,
            timeout_ms,
            skip,
        } => {
            let opts = inbox::InboxOptions {
                conversations,
                users,
                warmup: Duration::from_secs(warmup),
                duration: Duration::from_secs(duration),
                scan: Duration::from_secs(scan),
                streams,
                per_session,
                webhooks,
                timeout: Duration::from_millis(timeout_ms),
                list: !skip.iter().any(|s| s == "list"),
                live: !skip.iter().any(|s| s == "live"),
            };
            let result = inbox::run(&bin, &work, &db.db()?, &opts).await?;
            inbox::print(std::slice::from_ref(&result));
            let json = serde_json::to_string_pretty(&result).unwrap_or_default();
            let _ = std::fs::write(work.join("inbox.json"), json);
            Ok(true)
        }
        Command::Crash { db, kills, posts, concurrency } => {
            drills::crash(&bin, &work, &db.db()?, kills, posts, concurrency).await
        }
        Command::CrashSend { db, kills, messages } => {
            crash_send::crash_send(&bin, &work, &db.db()?, kills, messages).await
        }
        Command::DbOutage { db, down, up, secs, rate, sqlite_fault } => {
            let db = db.db()?;
            let outage = match (down, up, &db) {
                (Some(down), Some(up), _) => drills::Outage::Commands { down, up },
                (None, None, Db::Sqlite) if sqlite_fault == SqliteFault::Lock => drills::Outage::SqliteLock,
                (None, None, Db::Sqlite) => drills::Outage::SqliteReadOnly,
                _ => return Err(fail!("give --down and --up (PostgreSQL needs them)")),
            };
            drills::db_outage(&bin, &work, &db, &outage, secs, rate).await
        }
        Command::SimFaults { db, candidates, per_candidate } => {
            drills::sim_faults(&bin, &work, &db.db()?, candidates, per_candidate).await
        }
        Command::ScaleOut { pg_url, candidates, due } => drills::scale_out(&bin, &work, &pg_url, candidates, due).await,
        Command::Smoke { db, seconds } => bench::smoke(&bin, &work, &db.db()?, seconds).await,
    }
}
