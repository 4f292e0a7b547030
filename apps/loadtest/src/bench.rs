//! `hoheit-load bench`: every scenario in one run, printed as the markdown of
//! docs/performance.md; also the CI smoke run and the table printers of the single scenarios.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::baseline::{self, Sizes, StorageResult};
use crate::client::{self, AckLog, Plan};
use crate::ingest::{self, IngestOptions, LoadFigures};
use crate::outbound::{self, OutboundResult};
use crate::procfs::{self, CpuSplit};
use crate::retention::{self, RetentionResult};
use crate::server::{Db, ServerSpec};
use crate::setup::{self, ChannelSetup};
use crate::util::{Res, ms, note, say, unix_now, utc_stamp};
use crate::workload::Workload;

/// What `bench` runs.
#[derive(Debug, Clone)]
pub(crate) struct BenchConfig {
    pub(crate) load: IngestOptions,
    pub(crate) pg_url: Option<String>,
    pub(crate) retention: Vec<u64>,
    pub(crate) outbound: Vec<(u32, u64)>,
    pub(crate) skip: Vec<String>,
    /// The inbox benchmark (issue 17).
    pub(crate) inbox: crate::inbox::InboxOptions,
}

/// The storage baseline's workload: the ingest workload's events (channels only number them).
pub(crate) fn baseline_workload(opts: &IngestOptions) -> Workload {
    Workload {
        channels: (0..opts.channels.max(1))
            .map(|n| ChannelSetup {
                id: n.to_string(),
                phone_number_id: n.to_string(),
                webhook_path: String::new(),
                webhook_secret: String::new(),
            })
            .collect(),
        candidates: opts.candidates,
        inbound_per_mille: opts.inbound_per_mille,
        events_per_post: opts.events_per_post,
        run: "base".into(),
        timestamp: unix_now(),
        sender_offset: 0,
    }
}

/// A fresh database for a baseline run: a SQLite file in the working directory (same disk as the
/// server's), or a new database on the same PostgreSQL server.
pub(crate) async fn baseline_database(work: &Path, db: &Db, name: &str) -> Res<String> {
    match db {
        Db::Sqlite => {
            let dir = crate::util::fresh_dir(work, &format!("baseline-{name}"));
            std::fs::create_dir_all(&dir)?;
            Ok(format!("sqlite://{}?mode=rwc", dir.join("baseline.db").display()))
        }
        Db::Postgres(admin) => crate::server::fresh_postgres(admin, "hoheit_load_base").await,
    }
}

#[derive(Debug, Clone, serde::Serialize)]
struct IngestRow {
    db: String,
    ingest: LoadFigures,
    sizes: Sizes,
    per_row: StorageResult,
    batched: StorageResult,
    server_pattern: StorageResult,
}

fn cpu(c: &CpuSplit) -> String {
    format!("{:.0}% / {:.0}% / {:.0}% / {:.0}%", c.server, c.tool, c.database, c.other)
}

/// Load rows: events/s, latencies, errors, CPU split, peak RSS.
pub(crate) fn print_load_rows(rows: &[LoadFigures]) {
    say(
        "| run | acknowledged events/s | p50 ms | p99 ms | max ms | errors | CPU server / load tool / PostgreSQL / other | server peak RSS |",
    );
    say("|---|---:|---:|---:|---:|---|---|---:|");
    for r in rows {
        say(&format!(
            "| {} | {:.0} | {} | {} | {} | {} | {} | {:.0} MiB |",
            r.label,
            r.events_per_second,
            ms(r.p50_us),
            ms(r.p99_us),
            ms(r.max_us),
            r.errors_text,
            cpu(&r.cpu),
            r.peak_rss_mib
        ));
    }
}

pub(crate) fn print_outbound(rows: &[OutboundResult]) {
    say(
        "| database | configured limit /s | messages (queued first) | queued /s | sent /s (steady) | sent /s (first to last) | most in any 1 s | steady / limit | duplicates | not sent | CPU server / load tool / PostgreSQL / other | server peak RSS |",
    );
    say("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|");
    for r in rows {
        say(&format!(
            "| {} | {} | {} | {:.0} | {:.1} | {:.1} | {} | {:.1}% | {} | {} | {} | {:.0} MiB |",
            r.db,
            r.limit,
            r.messages,
            r.enqueue_per_second,
            r.rate.steady,
            r.rate.overall,
            r.rate.max_1s,
            100.0 * r.rate.steady / f64::from(r.limit.max(1)),
            r.duplicates,
            r.missing,
            cpu(&r.cpu),
            r.peak_rss_mib
        ));
    }
}

pub(crate) fn print_retention(rows: &[RetentionResult]) {
    say(
        "| database | candidates (10 messages each) | erased | retention run | per candidate | messages left | CPU server / load tool / PostgreSQL / other | server peak RSS during the run |",
    );
    say("|---|---:|---:|---:|---:|---:|---|---:|");
    for r in rows {
        say(&format!(
            "| {} | {} | {} | {:.1} s | {:.2} ms | {} | {} | {:.0} MiB |",
            r.db,
            r.candidates,
            r.erased,
            r.secs,
            r.ms_per_candidate(),
            r.messages_left,
            cpu(&r.cpu),
            r.peak_rss_mib
        ));
    }
}

fn command_output(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn machine() -> Vec<String> {
    let lscpu = command_output("lscpu", &[]);
    let model = lscpu
        .lines()
        .find(|l| l.starts_with("Model name:"))
        .map_or("?", |l| l.trim_start_matches("Model name:").trim());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse::<u64>().ok()))
        .map_or("?".to_owned(), |kib| format!("{:.0} GiB", kib as f64 / 1024.0 / 1024.0));
    vec![
        format!("- date: {}", utc_stamp()),
        format!(
            "- machine: `nproc` = {}, CPU {model}, {mem} RAM, kernel {}",
            procfs::cpus(),
            command_output("uname", &["-r"]).trim()
        ),
        format!("- load average at the start: {}", std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()),
    ]
}

/// Runs everything and prints the report.
#[allow(clippy::too_many_lines)]
pub(crate) async fn bench(bin: &Path, work: &Path, config: &BenchConfig) -> Res<()> {
    let started = Instant::now();
    let header = machine();
    let opts = &config.load;
    let mut dbs = vec![Db::Sqlite];
    if let Some(url) = &config.pg_url {
        dbs.push(Db::Postgres(url.clone()));
    }
    let pg_version = config
        .pg_url
        .as_ref()
        .map(|_| command_output("sh", &["-c", "postgres --version 2>/dev/null || ls /usr/lib/postgresql"]));
    let skip = |what: &str| config.skip.iter().any(|s| s == what);
    let mut ingest_rows = Vec::new();
    let mut http = None;
    if !skip("ingest") {
        for db in &dbs {
            let (figures, url) = ingest::ingest(bin, work, db, opts).await?;
            let sizes = baseline::measure_sizes(&url).await.unwrap_or_default();
            let workload = baseline_workload(opts);
            note(&format!("storage baseline on {}: one commit per event", db.label()));
            let per_row = baseline::storage(
                &baseline_database(work, db, "per-row").await?,
                &workload,
                sizes,
                1,
                opts.duration.min(Duration::from_secs(15)),
                false,
            )
            .await?;
            note(&format!("storage baseline on {}: {} events per commit", db.label(), opts.concurrency));
            let batched = baseline::storage(
                &baseline_database(work, db, "batched").await?,
                &workload,
                sizes,
                opts.concurrency,
                opts.duration,
                false,
            )
            .await?;
            note(&format!("storage baseline on {}: batched, with the server writer's extra statements", db.label()));
            let server_pattern = baseline::storage(
                &baseline_database(work, db, "server-pattern").await?,
                &workload,
                sizes,
                opts.concurrency,
                opts.duration.min(Duration::from_secs(15)),
                true,
            )
            .await?;
            ingest_rows.push(IngestRow {
                db: db.label().to_owned(),
                ingest: figures,
                sizes,
                per_row,
                batched,
                server_pattern,
            });
            if http.is_none() {
                http = Some(ingest::http_baseline(opts).await?);
            }
        }
    }
    let mut outbound_rows = Vec::new();
    if !skip("outbound") {
        for db in &dbs {
            for (limit, messages) in &config.outbound {
                outbound_rows.push(outbound::run(bin, work, db, *limit, *messages).await?);
            }
        }
    }
    let mut retention_rows = Vec::new();
    if !skip("retention") {
        for db in &dbs {
            for size in &config.retention {
                retention_rows.push(retention::run(bin, work, db, *size).await?);
            }
        }
    }
    let mut inbox_rows = Vec::new();
    if !skip("inbox") {
        for db in &dbs {
            inbox_rows.push(crate::inbox::run(bin, work, db, &config.inbox).await?);
        }
    }
    let results = serde_json::json!({
        "ingest": ingest_rows, "http": http, "outbound": outbound_rows, "retention": retention_rows,
        "inbox": inbox_rows,
    });
    let _ = std::fs::write(work.join("results.json"), serde_json::to_string_pretty(&results).unwrap_or_default());

    say("## Results");
    say("");
    for line in header {
        say(&line);
    }
    if let Some(v) = pg_version {
        say(&format!("- PostgreSQL: {}", v.trim()));
    }
    say(&format!(
        "- load: {} connections (closed loop), {} s warm-up + {} s measured, {} channels, {} candidates, {:.0}% inbound messages / {:.0}% statuses, {} event(s) per POST",
        opts.concurrency,
        opts.warmup.as_secs(),
        opts.duration.as_secs(),
        opts.channels,
        opts.candidates,
        opts.inbound_per_mille as f64 / 10.0,
        100.0 - opts.inbound_per_mille as f64 / 10.0,
        opts.events_per_post
    ));
    say(&format!(
        "- total bench time: {:.0} s; raw figures: {}",
        started.elapsed().as_secs_f64(),
        work.join("results.json").display()
    ));
    say("");
    if !ingest_rows.is_empty() {
        say("### 1-2. Webhook ingest and its baselines");
        say("");
        let mut rows: Vec<LoadFigures> = ingest_rows.iter().map(|r| r.ingest.clone()).collect();
        rows.extend(http.clone());
        print_load_rows(&rows);
        say("");
        say(
            "| database | ingest events/s | (a) storage, 1 commit per event | (a) storage, batched | (b) HTTP, no database | headline: ingest / min(a batched, b) | ingest / (a batched) | diagnostic: (a) batched + the writer's savepoints and owner checks | sealed sizes used by (a): state / body / audit |",
        );
        say("|---|---:|---:|---:|---:|---:|---:|---:|---|");
        for r in &ingest_rows {
            let a = r.batched.events_per_second();
            let b = http.as_ref().map_or(f64::INFINITY, |h| h.events_per_second);
            let i = r.ingest.events_per_second;
            say(&format!(
                "| {} | {:.0} | {:.0} | {:.0} ({} per commit) | {:.0} | **{:.2}** | {:.0}% | {:.0} | {} / {} / {} B |",
                r.db,
                i,
                r.per_row.events_per_second(),
                a,
                r.batched.batch,
                b,
                i / a.min(b).max(1e-9),
                100.0 * i / a.max(1e-9),
                r.server_pattern.events_per_second(),
                r.sizes.candidate_state,
                r.sizes.message_body,
                r.sizes.audit_canonical
            ));
        }
        say("");
    }
    if !outbound_rows.is_empty() {
        say("### 3. Outbound");
        say("");
        print_outbound(&outbound_rows);
        say("");
    }
    if !retention_rows.is_empty() {
        say("### 4. Retention");
        say("");
        print_retention(&retention_rows);
        say("");
        for db in &dbs {
            let mine: Vec<&RetentionResult> = retention_rows.iter().filter(|r| r.db == db.label()).collect();
            if let (Some(small), Some(large)) = (mine.first(), mine.last())
                && large.candidates > small.candidates
            {
                say(&format!(
                    "- {}: time per candidate at {} / at {} = **{:.2}** (target <= 1.5)",
                    db.label(),
                    large.candidates,
                    small.candidates,
                    large.ms_per_candidate() / small.ms_per_candidate().max(1e-9)
                ));
            }
        }
        say("");
    }
    if !inbox_rows.is_empty() {
        say("### 5. Inbox");
        say("");
        crate::inbox::print(&inbox_rows);
    }
    Ok(())
}

/// CI smoke: a short ingest on a fresh server; every acknowledged event stored exactly once, the
/// audit chain verifies. Asserts nothing about speed.
pub(crate) async fn smoke(bin: &Path, work: &Path, db: &Db, seconds: u64) -> Res<bool> {
    let database_url = match db {
        Db::Sqlite => None,
        Db::Postgres(admin) => Some(crate::server::fresh_postgres(admin, "hoheit_smoke").await?),
    };
    let dir = crate::util::fresh_dir(work, &format!("smoke-{}", db.label()));
    let spec = ServerSpec::new(bin, &dir, database_url)?;
    let mut server = spec.spawn()?;
    server.wait_ready(Duration::from_secs(60)).await?;
    let token = spec.operator_token()?;
    let tenant = setup::tenant(&spec.base(), &token, "Smoke GmbH", 2, None).await?;
    let workload = Arc::new(Workload {
        channels: tenant.channels.clone(),
        candidates: 200,
        inbound_per_mille: 250,
        events_per_post: 2,
        run: "smoke".into(),
        timestamp: unix_now(),
        sender_offset: 0,
    });
    let log = dir.join("acks.log");
    let acks = AckLog::create(&log).await?;
    let outcome = client::run(
        vec![format!("127.0.0.1:{}", spec.port).parse()?],
        workload.clone(),
        Plan::closed(16, Duration::ZERO, Duration::from_secs(seconds)),
        Some(acks.sender()),
        Arc::new(AtomicBool::new(false)),
        Instant::now(),
    )
    .await;
    server.stop(Duration::from_secs(30)).await;
    acks.close().await?;
    let check = crate::verify::acks(&spec.database_url(), &spec.master_key, &log, &workload).await?;
    let (audit_ok, audit) = spec.audit_verify()?;
    let ok = check.passed() && audit_ok && outcome.error_count() == 0 && outcome.acked_events_total > 0;
    say(&format!(
        "smoke ({}): {} - {} events acknowledged ({:.0}/s, errors {}); {}; audit: {}",
        db.label(),
        if ok { "PASS" } else { "FAIL" },
        outcome.acked_events_total,
        outcome.events_per_second(),
        outcome.errors_text(),
        check.summary(),
        audit.trim().replace('\n', "; ")
    ));
    Ok(ok)
}
