//! Crash and fault drills: kill -9 under load, the database going away, the provider failing,
//! and two replicas on one PostgreSQL. Each drill prints what it checked and returns whether
//! everything held.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hoheit_dialog360::simulator::{Failure, FailureRule, FailureScope, SimulatorConfig, StatusWebhooks, Trigger};
use rand::Rng as _;
use serde_json::json;

use crate::client::{self, AckLog, Plan};
use crate::outbound::{Sim, candidates_ready_to_send, enqueue, phone};
use crate::server::{Db, ServerProc, ServerSpec};
use crate::setup::{self, Api, TenantSetup};
use crate::util::{Context as _, Res, fail, note, say, unix_now};
use crate::verify;
use crate::workload::Workload;

/// Starts a server for a drill.
async fn start(bin: &Path, dir: &Path, db: &Db, tweak: impl FnOnce(&mut ServerSpec)) -> Res<(ServerSpec, ServerProc)> {
    let database_url = match db {
        Db::Sqlite => None,
        Db::Postgres(admin) => Some(crate::server::fresh_postgres(admin, "hoheit_drill").await?),
    };
    let mut spec = ServerSpec::new(bin, dir, database_url)?;
    tweak(&mut spec);
    let mut server = spec.spawn()?;
    server.wait_ready(Duration::from_secs(60)).await?;
    Ok((spec, server))
}

fn addr(spec: &ServerSpec) -> Res<SocketAddr> {
    Ok(format!("127.0.0.1:{}", spec.port).parse()?)
}

fn workload(tenant: &TenantSetup, run: &str, candidates: u64) -> Workload {
    Workload {
        channels: tenant.channels.clone(),
        candidates,
        inbound_per_mille: 250,
        events_per_post: 1,
        run: run.to_owned(),
        timestamp: unix_now(),
        sender_offset: 0,
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

/// kill -9 at random moments under load; every acknowledged event must be stored exactly once
/// and the audit chain must verify. Without `posts` the load runs until the last restart plus
/// two seconds. One kill in five hits the server while it starts (0-300 ms after the spawn).
pub(crate) async fn crash(
    bin: &Path,
    work: &Path,
    db: &Db,
    kills: u32,
    posts: Option<u64>,
    concurrency: usize,
) -> Res<bool> {
    let dir = crate::util::fresh_dir(work, &format!("crash-{}", db.label()));
    let (spec, mut server) = start(bin, &dir, db, |_| {}).await?;
    let token = spec.operator_token()?;
    let tenant = setup::tenant(&spec.base(), &token, "Crash GmbH", 2, None).await?;
    let workload = Arc::new(workload(&tenant, "crash", 20_000));
    let log_path = dir.join("acks.log");
    let acks = AckLog::create(&log_path).await?;
    let plan = Plan {
        posts,
        duration: None,
        retry_for: Some(Duration::from_secs(300)),
        ..Plan::closed(concurrency, Duration::ZERO, Duration::ZERO)
    };
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn(client::run(
        vec![addr(&spec)?],
        workload.clone(),
        plan,
        Some(acks.sender()),
        stop.clone(),
        Instant::now(),
    ));
    let mut restarts = 0;
    let mut during_start = 0;
    let mut downtime = Duration::ZERO;
    let mut starting = false;
    for n in 1..=kills {
        let gap = if starting {
            rand::thread_rng().gen_range(0u64..300)
        } else {
            rand::thread_rng().gen_range(500u64..3_000)
        };
        tokio::time::sleep(Duration::from_millis(gap)).await;
        if load.is_finished() {
            note("the load finished before all kills; use more --posts");
            break;
        }
        server.kill9();
        let killed = Instant::now();
        note(&format!(
            "crash: kill -9 #{n}, {gap} ms after the {}",
            if starting { "spawn (while starting)" } else { "server was ready" }
        ));
        if starting {
            during_start += 1;
        }
        server = spec.spawn()?;
        restarts += 1;
        // one kill in five hits the next server while it starts (migrations, pool, caches)
        starting = n < kills && rand::thread_rng().gen_bool(0.2);
        if !starting {
            server.wait_ready(Duration::from_secs(60)).await?;
        }
        downtime += killed.elapsed();
    }
    server.wait_ready(Duration::from_secs(60)).await?;
    if posts.is_none() {
        tokio::time::sleep(Duration::from_secs(2)).await;
        stop.store(true, Ordering::Relaxed);
    }
    let outcome = finish(load, &stop, Duration::from_secs(120)).await?;
    server.stop(Duration::from_secs(30)).await;
    let written = acks.close().await?;
    let check = verify::acks(&spec.database_url(), &spec.master_key, &log_path, &workload).await?;
    let (audit_ok, audit) = spec.audit_verify()?;
    let ok = check.passed() && audit_ok && outcome.given_up == 0 && written == outcome.acked_events_total;
    say(&format!("## crash drill ({}): {}", db.label(), verdict(ok)));
    say(&format!(
        "- {restarts} kill -9 + restart ({during_start} of them while the server was starting; total downtime {:.1} s); \
         {} POSTs, {} events acknowledged, given up {}",
        downtime.as_secs_f64(),
        outcome.posts_sent,
        outcome.acked_events_total,
        outcome.given_up
    ));
    say(&format!("- failed deliveries, re-delivered: {}", outcome.errors_text()));
    say(&format!("- database: {}", check.summary()));
    say(&format!("- hoheit audit verify: {}", audit.trim().replace('\n', "; ")));
    Ok(ok)
}

/// Waits for the load to end; after `grace` it is stopped (what is not acknowledged by then is
/// counted as given up).
async fn finish(
    mut load: tokio::task::JoinHandle<client::Outcome>,
    stop: &AtomicBool,
    grace: Duration,
) -> Res<client::Outcome> {
    if let Ok(done) = tokio::time::timeout(grace, &mut load).await {
        return done.map_err(|e| fail!("load task: {e}"));
    }
    note("the load did not finish in time: stopping it (unacknowledged events count as given up)");
    stop.store(true, Ordering::Relaxed);
    load.await.map_err(|e| fail!("load task: {e}"))
}

/// Runs a shell command (the database's down/up switch).
async fn shell(cmd: &str) -> Res<()> {
    let status = tokio::process::Command::new("sh").arg("-c").arg(cmd).status().await.context("sh")?;
    if status.success() { Ok(()) } else { Err(fail!("`{cmd}` failed: {status}")) }
}

/// How the database is taken away.
#[derive(Debug, Clone)]
pub(crate) enum Outage {
    /// Shell commands (PostgreSQL: `pg_ctl stop` / `pg_ctl start`).
    Commands { down: String, up: String },
    /// SQLite: the database file and its WAL made immutable (`chattr +i`; a plain `chmod` does not
    /// stop root, nor a process that has the file open). Writes fail with an I/O error, reads work.
    SqliteReadOnly,
    /// SQLite: another process takes the write lock (`BEGIN EXCLUSIVE` and a write) and holds it.
    SqliteLock,
}

impl Outage {
    fn label(&self) -> &'static str {
        match self {
            Self::Commands { .. } => "server stopped",
            Self::SqliteReadOnly => "database file and WAL made read-only (chattr +i)",
            Self::SqliteLock => "write lock held by another process",
        }
    }
}

fn chattr(flag: &str, db: &Path) -> String {
    let wal = format!("{}-wal", db.display());
    format!("chattr {flag} {} {wal}", db.display())
}

/// The server's default `/readyz` probe interval (`http.readyz_interval_seconds`), in ms.
const READYZ_INTERVAL_MS: u32 = 2_000;

/// The database is unavailable for `secs`: webhooks must not be answered 200 meanwhile but 503
/// within 1 s (p99), /readyz must fail, and after recovery every re-delivered event must be
/// stored exactly once.
pub(crate) async fn db_outage(bin: &Path, work: &Path, db: &Db, outage: &Outage, secs: u64, rate: f64) -> Res<bool> {
    let dir = crate::util::fresh_dir(work, &format!("outage-{}", db.label()));
    let (spec, mut server) = start(bin, &dir, db, |_| {}).await?;
    let token = spec.operator_token()?;
    let tenant = setup::tenant(&spec.base(), &token, "Outage GmbH", 1, None).await?;
    let workload = Arc::new(workload(&tenant, "outage", 500));
    let log_path = dir.join("acks.log");
    let acks = AckLog::create(&log_path).await?;
    let before = 3.0;
    let after = 5.0;
    let posts = (rate * (before + secs as f64 + after)) as u64;
    let plan = Plan {
        posts: Some(posts),
        duration: None,
        rate: Some(rate),
        retry_for: Some(Duration::from_secs(secs + 120)),
        timeline: true,
        ..Plan::closed(64, Duration::ZERO, Duration::ZERO)
    };
    let epoch = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let load =
        tokio::spawn(client::run(vec![addr(&spec)?], workload.clone(), plan, Some(acks.sender()), stop.clone(), epoch));
    let probe_stop = Arc::new(AtomicBool::new(false));
    let probe = {
        let base = spec.base();
        let flag = probe_stop.clone();
        tokio::spawn(async move {
            let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap_or_default();
            let mut samples = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                // judged by when the probe was sent and answered: one sent just before the outage
                // may answer 200 a moment after it began, one held during it 200 once it ended
                let sent = epoch.elapsed().as_millis() as u32;
                let status = match http.get(format!("{base}/readyz")).send().await {
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 0,
                };
                samples.push((sent, epoch.elapsed().as_millis() as u32, status));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            samples
        })
    };
    tokio::time::sleep(Duration::from_secs_f64(before)).await;
    let mut lock = None;
    match outage {
        Outage::Commands { down, .. } => shell(down).await?,
        Outage::SqliteReadOnly => shell(&chattr("+i", &spec.sqlite_file())).await?,
        Outage::SqliteLock => lock = Some(SqliteLock::take(&spec.sqlite_file()).await?),
    }
    let down_at = epoch.elapsed().as_millis() as u32;
    note(&format!("outage: database down at {down_at} ms"));
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let up_from = epoch.elapsed().as_millis() as u32;
    match outage {
        Outage::Commands { up, .. } => shell(up).await?,
        Outage::SqliteReadOnly => shell(&chattr("-i", &spec.sqlite_file())).await?,
        Outage::SqliteLock => {
            if let Some(l) = lock.take() {
                l.release().await;
            }
        }
    }
    let up_at = epoch.elapsed().as_millis() as u32;
    note(&format!("outage: database back at {up_at} ms"));
    // re-deliveries get a minute to succeed after the database is back; then the drill ends
    let outcome = finish(load, &stop, Duration::from_secs(60 + after as u64)).await?;
    probe_stop.store(true, Ordering::Relaxed);
    let ready = probe.await.unwrap_or_default();
    server.stop(Duration::from_secs(30)).await;
    let written = acks.close().await?;
    let during = |t: u32| t > down_at && t < up_from;
    let mut answers: HashMap<u16, u64> = HashMap::new();
    for (_, _, status) in outcome.timeline.iter().filter(|(_, t, _)| during(*t)) {
        *answers.entry(*status).or_default() += 1;
    }
    // attempts sent while the database was away, by how they ended
    let mut sent_during: HashMap<String, u64> = HashMap::new();
    for (_, end, status) in outcome.timeline.iter().filter(|(t, _, _)| during(*t)) {
        let kind = match (*status, *end >= up_from) {
            (200, true) => "held, then 200 after recovery".to_owned(),
            (200, false) => "200 while away".to_owned(),
            (0, _) => "no answer within 5 s".to_owned(),
            (s, _) => format!("{s}"),
        };
        *sent_during.entry(kind).or_default() += 1;
    }
    // a 200 for a request sent before the outage may belong to a commit that finished just
    // before it (its answer arriving a moment later); only requests sent during the outage and
    // answered 200 before it ended prove that a write was acknowledged without the database
    let ok_during = sent_during.get("200 while away").copied().unwrap_or(0);
    // how fast webhooks sent while the database was away were answered (no answer counts as the
    // client's 5 s timeout): 360Dialog must see fast 503s, not time-outs (issue 14.6)
    let mut latencies: Vec<u32> = outcome
        .timeline
        .iter()
        // sent at least 1 s before the database came back: each had its second while it was away
        .filter(|(t, _, _)| during(*t) && t.saturating_add(1_000) < up_from)
        .map(|(t, end, status)| if *status == 0 { 5_000 } else { end.saturating_sub(*t) })
        .collect();
    latencies.sort_unstable();
    let pct =
        |p: f64| latencies.get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0);
    let (p50, p99, max) = (pct(0.5), pct(0.99), latencies.last().copied().unwrap_or(0));
    let fast = !latencies.is_empty() && p99 < 1_000;
    // the server probes the database for /readyz at most once per `http.readyz_interval_seconds`
    // (default 2 s) and answers from the last result in between (failing at once when the
    // webhook circuit opens): probes sent within that interval after the outage began may still
    // carry the result of the last probe before it
    let ready_during: Vec<u16> = ready
        .iter()
        .filter(|(sent, ended, _)| during(*sent) && *sent > down_at + READYZ_INTERVAL_MS && *ended < up_from)
        .map(|(_, _, s)| *s)
        .collect();
    let ready_ok_during = ready_during.iter().filter(|s| **s == 200).count();
    let first_ok_after = outcome
        .timeline
        .iter()
        .filter(|(t, _, s)| *t >= up_at && *s == 200)
        .map(|(_, e, _)| e.saturating_sub(up_at))
        .min();
    let check = verify::acks(&spec.database_url(), &spec.master_key, &log_path, &workload).await?;
    let (audit_ok, audit) = spec.audit_verify()?;
    let readyz_ok = ready_ok_during == 0;
    let ok = ok_during == 0
        && fast
        && check.passed()
        && audit_ok
        && outcome.given_up == 0
        && written == outcome.acked_events_total;
    say(&format!("## database outage drill ({}, {}): {}", db.label(), outage.label(), verdict(ok && readyz_ok)));
    let mut list: Vec<_> = answers.into_iter().collect();
    list.sort_unstable();
    let mut sent: Vec<_> = sent_during.into_iter().collect();
    sent.sort();
    say(&format!(
        "- answers given while the database was away ({:.1} s): {}; attempts sent meanwhile: {} (answered 200 before the database was back: {ok_during})",
        f64::from(up_from - down_at) / 1000.0,
        if list.is_empty() {
            "none".to_owned()
        } else {
            list.iter()
                .map(|(s, n)| format!("{n}x {}", if *s == 0 { "no answer".to_owned() } else { s.to_string() }))
                .collect::<Vec<_>>()
                .join(", ")
        },
        sent.iter().map(|(k, n)| format!("{n}x {k}")).collect::<Vec<_>>().join(", ")
    ));
    say(&format!(
        "- answer time of the webhooks sent while away (until 1 s before it was back): {} answers, p50 {p50} ms, p99 {p99} ms, max {max} ms ({})",
        latencies.len(),
        if fast { "p99 under 1 s as required" } else { "NOT FAST: p99 must be under 1 s" }
    ));
    say(&format!(
        "- /readyz while away (probes sent and answered during the outage, from {READYZ_INTERVAL_MS} ms after it began): {} of {} answered 200 ({})",
        ready_ok_during,
        ready_during.len(),
        if readyz_ok { "fails as required" } else { "DOES NOT FAIL" }
    ));
    say(&format!(
        "- first acknowledged webhook {} ms after recovery; {} events acknowledged in total, given up {}",
        first_ok_after.map_or("-".to_owned(), |t| t.to_string()),
        outcome.acked_events_total,
        outcome.given_up
    ));
    say(&format!("- database: {}", check.summary()));
    say(&format!("- hoheit audit verify: {}", audit.trim().replace('\n', "; ")));
    Ok(ok && readyz_ok)
}

/// A write lock on a SQLite file held by this process.
struct SqliteLock {
    txn: sea_orm::DatabaseTransaction,
    conn: sea_orm::DatabaseConnection,
}

impl SqliteLock {
    async fn take(file: &Path) -> Res<Self> {
        use sea_orm::{ConnectionTrait as _, TransactionTrait as _};
        let mut options = sea_orm::ConnectOptions::new(format!("sqlite://{}?mode=rw", file.display()));
        options.max_connections(1).min_connections(1).sqlx_logging(false);
        let conn = sea_orm::Database::connect(options).await?;
        let txn = conn
            .begin_with_options(sea_orm::TransactionOptions {
                sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Exclusive),
                ..Default::default()
            })
            .await?;
        txn.execute_unprepared("INSERT INTO leases (name, holder, until_at) VALUES ('outage-drill', 'hoheit-load', 0)")
            .await?;
        Ok(Self { txn, conn })
    }

    async fn release(self) {
        let _ = self.txn.rollback().await;
        let _ = self.conn.close().await;
    }
}

/// The provider fails (429 storms, 5xx, timeouts, dropped connections) while messages go out and
/// some candidates object: every message is sent at most once, exactly once unless its outcome
/// was unknown or it was cancelled, and nothing goes to a candidate after the objection was
/// acknowledged.
pub(crate) async fn sim_faults(bin: &Path, work: &Path, db: &Db, candidates: u64, per_candidate: u64) -> Res<bool> {
    let sim = Sim::start(
        SimulatorConfig {
            status_webhooks: StatusWebhooks { enabled: false, ..StatusWebhooks::default() },
            hang_for: Duration::from_secs(30),
            ..SimulatorConfig::default()
        },
        true,
    )
    .await?;
    for (failure, p) in [
        (Failure::RateLimited { retry_after: Some(1) }, 0.15),
        (Failure::ServerError(503), 0.05),
        (Failure::ServerError(502), 0.03),
        (Failure::Hang, 0.02),
        (Failure::DropConnection, 0.02),
    ] {
        sim.handle.script(FailureRule { failure, trigger: Trigger::Probability(p), scope: FailureScope::Messages });
    }
    let dir = crate::util::fresh_dir(work, &format!("simfaults-{}", db.label()));
    let (spec, mut server) = start(bin, &dir, db, |s| {
        s.set("HOHEIT_DIALOG360__REQUEST_TIMEOUT_SECONDS", "2");
        s.set("HOHEIT_DIALOG360__PAIR_SPACING_MILLIS", "1");
        s.set("HOHEIT_DIALOG360__MESSAGES_PER_SECOND", "80");
        s.set("HOHEIT_DISPATCHER__IDLE_MILLIS", "50");
    })
    .await?;
    let token = spec.operator_token()?;
    let tenant = setup::tenant(&spec.base(), &token, "Fault GmbH", 1, Some(&sim.provider())).await?;
    let servers = vec![spec.base()];
    // templates and the consent flow are not under test: fail only the sends of this drill
    let ids = candidates_ready_to_send(&servers, &tenant, candidates, 16).await?;
    let mut jobs = Vec::new();
    for m in 0..per_candidate {
        for (k, id) in ids.iter().enumerate() {
            jobs.push((id.clone(), format!("Nachricht FAULT-{k}-{m}-END")));
        }
    }
    let objectors: Vec<u64> = (0..candidates).step_by(10).collect();
    let started = Instant::now();
    let queue = {
        let servers = servers.clone();
        let recruiter = tenant.recruiter.clone();
        tokio::spawn(async move { enqueue(&servers, &recruiter, jobs, 16).await })
    };
    // objections arrive while messages are queued and being sent
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let channel = tenant.channels.first().context("channel")?.clone();
    let http = reqwest::Client::new();
    // when each objection was acknowledged (and when it was posted)
    let mut objected: HashMap<u64, (Instant, Instant)> = HashMap::new();
    let mut redelivered = 0;
    for k in &objectors {
        let posted = Instant::now();
        let body = crate::workload::inbound_text(
            &channel.phone_number_id,
            &phone(*k),
            &format!("wamid.STOPP.{k}"),
            "STOPP",
            unix_now(),
        );
        // a 503 (storage busy past the ingest deadline) is re-delivered, as 360Dialog does;
        // the objection counts as acknowledged at the first 200
        let mut attempts = 0;
        loop {
            attempts += 1;
            let status = channel.post_webhook(&http, &spec.base(), body.clone()).await?;
            if status == 200 {
                break;
            }
            if status != 503 || attempts >= 20 {
                return Err(fail!("objection webhook: {status} (delivery {attempts})"));
            }
            redelivered += 1;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        objected.insert(*k, (posted, Instant::now()));
    }
    if redelivered > 0 {
        note(&format!("sim-faults: {redelivered} objection deliveries answered 503 and re-delivered"));
    }
    let (queued, refused, _) = queue.await.map_err(|e| fail!("enqueue: {e}"))??;
    note(&format!("sim-faults: {queued} queued, {refused} refused at queue time (objection already stored)"));
    // wait for the outbox to drain (retries back off up to minutes)
    let admin = Api::new(&spec.base(), &tenant.admin)?;
    let deadline = Instant::now() + Duration::from_secs(900);
    let mut empty_for = 0;
    while Instant::now() < deadline && empty_for < 3 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let depth = outbox_depth(&admin).await;
        empty_for = if depth == Some(0) { empty_for + 1 } else { 0 };
    }
    let drained = started.elapsed().as_secs_f64();
    server.stop(Duration::from_secs(30)).await;
    // what the provider accepted, per message
    let mut accepted: HashMap<String, u64> = HashMap::new();
    let accepted_messages = sim.handle.accepted_messages();
    for m in &accepted_messages {
        let text = m.body.to_string();
        if let Some(marker) = text.split("FAULT-").nth(1).and_then(|r| r.split("-END").next()) {
            *accepted.entry(marker.to_owned()).or_default() += 1;
        }
    }
    // sends to an objector that reached the provider after the objection was acknowledged
    // (violations), or while it was being processed
    let mut late_ms: Vec<u128> = Vec::new();
    let mut racing = 0;
    for send in sim.recorder.accepted_sends() {
        let text = String::from_utf8_lossy(&send.body);
        let Some(k) = text.split("FAULT-").nth(1).and_then(|r| r.split('-').next()).and_then(|k| k.parse::<u64>().ok())
        else {
            continue;
        };
        if let Some((posted, acked)) = objected.get(&k) {
            if send.at > *acked {
                late_ms.push(send.at.duration_since(*acked).as_millis());
            } else if send.at > *posted {
                racing += 1;
            }
        }
    }
    late_ms.sort_unstable();
    let after_objection = late_ms.len() as u64;
    let confirmations = accepted_messages.iter().filter(|m| m.body.to_string().contains("Widerspruch")).count();
    let mut failures: HashMap<String, u64> = HashMap::new();
    for r in sim.handle.requests_to("/messages") {
        let kind = r.failure.map_or_else(|| "answered normally".to_owned(), |f| format!("{f:?}"));
        *failures.entry(kind).or_default() += 1;
    }
    // the server's view, per message
    let conn = sea_orm::Database::connect(spec.database_url()).await?;
    let rows = sea_orm::ConnectionTrait::query_all_raw(
        &conn,
        sea_orm::Statement::from_string(
            conn.get_database_backend(),
            "SELECT status, COUNT(*) AS n FROM messages WHERE direction = 'outbound' AND intent = 'regular' GROUP BY status",
        ),
    )
    .await?;
    let mut statuses: Vec<(String, i64)> = Vec::new();
    for r in rows {
        statuses
            .push((r.try_get::<Option<String>>("", "status")?.unwrap_or_else(|| "null".into()), r.try_get("", "n")?));
    }
    statuses.sort();
    let status_of = |s: &str| statuses.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n) as u64;
    let unknown = status_of("unknown");
    let cancelled = status_of("cancelled");
    let failed = status_of("failed");
    let delivered_once = accepted.values().filter(|n| **n == 1).count() as u64;
    let duplicates: u64 = accepted.values().filter(|n| **n > 1).map(|n| n - 1).sum();
    // every queued message: exactly once, or unknown / cancelled / failed (counted)
    let lost = queued.saturating_sub(delivered_once + unknown + cancelled + failed);
    conn.close().await.ok();
    let (audit_ok, audit) = spec.audit_verify()?;
    sim.handle.shutdown().await;
    let ok = duplicates == 0 && after_objection == 0 && lost == 0 && audit_ok;
    say(&format!("## provider failure drill ({}): {}", db.label(), verdict(ok)));
    let mut f: Vec<_> = failures.into_iter().collect();
    f.sort();
    say(&format!(
        "- send attempts at the simulator: {}",
        f.iter().map(|(k, n)| format!("{n} {k}")).collect::<Vec<_>>().join(", ")
    ));
    say(&format!(
        "- {queued} messages queued ({candidates} candidates x {per_candidate}), outbox drained after {drained:.0} s; \
         accepted exactly once: {delivered_once}; duplicates: {duplicates}; outcome unknown: {unknown}; \
         cancelled by the objection: {cancelled}; failed for good: {failed}; unaccounted: {lost}"
    ));
    say(&format!("- server status of the regular messages: {statuses:?}"));
    say(&format!(
        "- {} candidates objected (STOPP) while their messages were queued: {after_objection} of their messages reached \
         the provider after the objection was acknowledged ({}), {racing} while it was being processed; \
         {confirmations} objection confirmations sent",
        objectors.len(),
        if late_ms.is_empty() {
            "none".to_owned()
        } else {
            format!(
                "{} to {} ms after the acknowledgement",
                late_ms.first().unwrap_or(&0),
                late_ms.last().unwrap_or(&0)
            )
        }
    ));
    say(&format!("- hoheit audit verify: {}", audit.trim().replace('\n', "; ")));
    Ok(ok)
}

async fn outbox_depth(api: &Api) -> Option<u64> {
    let text = reqwest::get(format!("{}/metrics", api.base)).await.ok()?.text().await.ok()?;
    text.lines()
        .find(|l| l.starts_with("hoheit_outbox_depth "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Two `hoheit serve` on one PostgreSQL: outbox entries dispatched exactly once, one retention run
/// at a time, one linear audit chain.
pub(crate) async fn scale_out(bin: &Path, work: &Path, admin_url: &str, candidates: u64, due: u64) -> Res<bool> {
    let sim = Sim::start(
        SimulatorConfig {
            status_webhooks: StatusWebhooks { enabled: false, ..StatusWebhooks::default() },
            ..SimulatorConfig::default()
        },
        true,
    )
    .await?;
    let db = Db::Postgres(admin_url.to_owned());
    let limit = 80;
    let (spec_a, mut a) = start(bin, &crate::util::fresh_dir(work, "scale-a"), &db, |s| {
        s.set("HOHEIT_RETENTION__INTERVAL_SECONDS", "1");
        s.set("HOHEIT_DIALOG360__MESSAGES_PER_SECOND", limit.to_string());
        s.set("HOHEIT_DIALOG360__PAIR_SPACING_MILLIS", "1");
    })
    .await?;
    let spec_b = spec_a.replica(&crate::util::fresh_dir(work, "scale-b"))?;
    let mut b = spec_b.spawn()?;
    b.wait_ready(Duration::from_secs(60)).await?;
    let token = spec_a.operator_token()?;
    let tenant = setup::tenant(&spec_a.base(), &token, "Scale GmbH", 1, Some(&sim.provider())).await?;
    let servers = vec![spec_a.base(), spec_b.base()];
    // 1. the outbox, claimed by both dispatchers; server B was started before the channel existed
    let ids = candidates_ready_to_send(&servers, &tenant, candidates, 16).await?;
    let admin = Api::new(&spec_a.base(), &tenant.admin)?;
    let first = send_round(&servers, &tenant, &sim, &admin, &ids, "SCALE1", None).await?;
    // 2. B restarted (it now loads the channel at start): both dispatch; meanwhile new senders write
    //    through both servers, so both append to the tenant's audit chain at the same time
    b.stop(Duration::from_secs(30)).await;
    b = spec_b.spawn()?;
    b.wait_ready(Duration::from_secs(60)).await?;
    let workload = Arc::new(Workload { sender_offset: 5_000_000, ..workload(&tenant, "scale", 2_000) });
    let second = send_round(
        &servers,
        &tenant,
        &sim,
        &admin,
        &ids,
        "SCALE2",
        Some((vec![addr(&spec_a)?, addr(&spec_b)?], workload)),
    )
    .await?;
    let ingest = second.ingest.clone().unwrap_or_default();
    // 3. retention on both schedulers (every second): `due` candidates past their period
    let recruiter = Api::new(&spec_a.base(), &tenant.recruiter)?;
    let due_ids = Arc::new(std::sync::Mutex::new(Vec::new()));
    {
        let out = due_ids.clone();
        let channel = tenant.channels.first().context("channel")?.id.clone();
        let (failed, first) = setup::parallel(due, 16, move |k| {
            let recruiter = recruiter.clone();
            let channel = channel.clone();
            let out = out.clone();
            async move {
                let created = recruiter
                    .expect(
                        "/api/v1/candidates",
                        &json!({"phone": format!("+49172{k:07}"), "channel_id": channel}),
                        201,
                    )
                    .await?;
                let id = created.get("id").and_then(|v| v.as_str()).context("id")?.to_owned();
                recruiter
                    .expect(
                        &format!("/api/v1/candidates/{id}/process-end"),
                        &json!({"reason": "withdrawn", "at": "2020-01-01T00:00:00Z"}),
                        200,
                    )
                    .await?;
                if let Ok(mut v) = out.lock() {
                    v.push(id);
                }
                Ok(())
            }
        })
        .await;
        if failed > 0 {
            return Err(fail!("{failed} due candidates not created: {}", first.unwrap_or_default()));
        }
    }
    let conn = sea_orm::Database::connect(spec_a.database_url()).await?;
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut erased = 0;
    while Instant::now() < deadline {
        erased = verify::count(&conn, "SELECT COUNT(*) FROM candidates WHERE lifecycle = 'erased'").await?;
        if erased >= due {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    a.stop(Duration::from_secs(30)).await;
    b.stop(Duration::from_secs(30)).await;
    let overlap = retention_overlaps(&conn).await?;
    let runs = verify::count(&conn, "SELECT COUNT(*) FROM audit_entries WHERE action = 'retention.run'").await?;
    let erasures = verify::count(&conn, "SELECT COUNT(*) FROM audit_entries WHERE action = 'candidate.erased'").await?;
    conn.close().await.ok();
    let (audit_ok, audit) = spec_a.audit_verify()?;
    sim.handle.shutdown().await;
    let ok = first.once == first.queued
        && second.once == second.queued
        && first.dupes + second.dupes == 0
        && overlap.is_empty()
        && erasures == due
        && erased == due
        && audit_ok;
    say(&format!("## scale-out drill (2 servers, one PostgreSQL): {}", verdict(ok)));
    say(&format!(
        "- outbox, server B started before the channel was registered (through A): {} messages queued through both, \
         {} sent exactly once, {} duplicates, {} never sent (failed on B: channel client not configured there)",
        first.queued, first.once, first.dupes, first.not_sent
    ));
    say(&format!(
        "- outbox after restarting B: {} messages queued through both, both dispatching: {} sent exactly once, {} duplicates, \
         {} never sent",
        second.queued, second.once, second.dupes, second.not_sent
    ));
    say(&format!(
        "- per-number limit {limit}/s configured on each server: with both dispatching the number received at most {} \
         messages in one second ({:.0}/s steady): the replicas split the rate",
        second.rate.max_1s, second.rate.steady
    ));
    say(&format!(
        "- audit: {} webhook events through both servers at once (errors: {}); hoheit audit verify: {}",
        ingest.0,
        ingest.1,
        audit.trim().replace('\n', "; ")
    ));
    say(&format!(
        "- retention every second on both: {due} due candidates, {erased} erased, {erasures} candidate.erased entries, \
         {runs} runs, overlapping runs: {}",
        if overlap.is_empty() { "none".to_owned() } else { overlap.join("; ") }
    ));
    Ok(ok)
}

/// One round of the scale-out drill: one message per candidate, queued through both servers
/// (alternating), optionally with webhook load through both; waits until the outbox is empty.
struct Round {
    queued: u64,
    once: u64,
    dupes: u64,
    not_sent: u64,
    rate: crate::proxy::Rate,
    ingest: Option<(u64, String)>,
}

async fn send_round(
    servers: &[String],
    tenant: &TenantSetup,
    sim: &Sim,
    admin: &Api,
    ids: &[String],
    marker: &str,
    ingest: Option<(Vec<SocketAddr>, Arc<Workload>)>,
) -> Res<Round> {
    let jobs: Vec<(String, String)> =
        ids.iter().enumerate().map(|(k, id)| (id.clone(), format!("Hallo {marker}-{k}-END"))).collect();
    let (queued, _, _) = enqueue(servers, &tenant.recruiter, jobs, 16).await?;
    let ingest = match ingest {
        Some((targets, workload)) => {
            let plan = Plan { posts: Some(8_000), duration: None, ..Plan::closed(32, Duration::ZERO, Duration::ZERO) };
            let o = client::run(targets, workload, plan, None, Arc::new(AtomicBool::new(false)), Instant::now()).await;
            Some((o.acked_events_total, o.errors_text()))
        }
        None => None,
    };
    let deadline = Instant::now() + Duration::from_secs(400);
    let mut empty_for = 0;
    while Instant::now() < deadline && empty_for < 3 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        empty_for = if outbox_depth(admin).await == Some(0) { empty_for + 1 } else { 0 };
    }
    let prefix = format!("{marker}-");
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut times = Vec::new();
    for send in sim.recorder.accepted_sends() {
        let text = String::from_utf8_lossy(&send.body);
        if let Some(k) = text.split(prefix.as_str()).nth(1).and_then(|r| r.split("-END").next()) {
            *counts.entry(k.to_owned()).or_default() += 1;
            times.push(send.at);
        }
    }
    let once = counts.values().filter(|n| **n == 1).count() as u64;
    Ok(Round {
        queued,
        once,
        dupes: counts.values().filter(|n| **n > 1).map(|n| n - 1).sum(),
        not_sent: queued.saturating_sub(counts.len() as u64),
        rate: crate::proxy::rate(&times),
        ingest,
    })
}

/// Retention runs whose audit entries interleave in the chain (a run's entries all carry the
/// run's start time; two runs that overlap in time interleave their entries).
async fn retention_overlaps(conn: &sea_orm::DatabaseConnection) -> Res<Vec<String>> {
    use sea_orm::ConnectionTrait as _;
    let b = conn.get_database_backend();
    let runs: Vec<i64> = conn
        .query_all_raw(sea_orm::Statement::from_string(
            b,
            "SELECT at FROM audit_entries WHERE action = 'retention.run'",
        ))
        .await?
        .iter()
        .filter_map(|r| r.try_get::<i64>("", "at").ok())
        .collect();
    let rows = conn
        .query_all_raw(sea_orm::Statement::from_string(
            b,
            "SELECT seq, at, action FROM audit_entries WHERE action IN ('retention.run', 'candidate.erased', 'candidate.restricted') ORDER BY seq",
        ))
        .await?;
    let runs: std::collections::HashSet<i64> = runs.into_iter().collect();
    let mut closed: std::collections::HashSet<i64> = std::collections::HashSet::new();
    let mut current: Option<i64> = None;
    let mut overlaps = Vec::new();
    for r in rows {
        let at: i64 = r.try_get("", "at")?;
        let seq: i64 = r.try_get("", "seq")?;
        if !runs.contains(&at) {
            continue;
        }
        if current != Some(at) {
            if closed.contains(&at) {
                overlaps.push(format!("run started at {at} continues at seq {seq} after another run wrote"));
            }
            if let Some(c) = current {
                closed.insert(c);
            }
            current = Some(at);
        }
    }
    Ok(overlaps)
}
