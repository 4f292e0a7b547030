//! Drill: exactly-once sends across crashes (issue 14 item 5, docs/reliability.md). Messages
//! wait in the outbox; the server runs with the test failpoint `HOHEIT_TEST_ABORT_AFTER_SEND=n`
//! (a random `n` per start), so it aborts right after the n-th send 360Dialog accepted and
//! before the acceptance is committed; the drill restarts it at once, again and again. The
//! simulator answers like 360Dialog and delivers status webhooks echoing
//! `biz_opaque_callback_data`, re-delivering those the dead server did not acknowledge. At the
//! end: every message reached the provider exactly once (by its marker, in the simulator's log
//! of accepted sends), none is lost, each is recorded as sent, the outbox is empty, and the audit
//! chain verifies.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use hoheit_dialog360::simulator::{SimStatus, SimulatorConfig, StatusWebhooks, WebhookTarget};
use rand::Rng as _;

use crate::outbound::{Sim, candidates_ready_to_send, prefill};
use crate::server::{Db, ServerSpec};
use crate::setup;
use crate::util::{Context as _, Res, fail, note, say};

const FAILPOINT: &str = "HOHEIT_TEST_ABORT_AFTER_SEND";
const MARKER: &str = "CRASHSEND-";

/// Runs the drill: `kills` aborts between acceptance and commit, `messages` messages (at least
/// eight per kill, so every start has sends left to cut off).
pub(crate) async fn crash_send(bin: &Path, work: &Path, db: &Db, kills: u32, messages: u64) -> Res<bool> {
    let messages = messages.max(u64::from(kills) * 8).max(1);
    let sim = Sim::start(
        SimulatorConfig {
            // one status per message: the stand-in delivers its webhooks one at a time, and three
            // per message would queue up behind each other on a loaded machine
            status_webhooks: StatusWebhooks { sequence: vec![SimStatus::Sent], ..StatusWebhooks::default() },
            // re-deliver unacknowledged webhooks, like 360Dialog (100 ms, doubling up to 2 s: 20
            // restarts in a row must not push a status past the wait)
            webhook_attempts: 200,
            webhook_retry_delay: Duration::from_millis(100),
            webhook_retry_max_delay: Duration::from_secs(2),
            ..SimulatorConfig::default()
        },
        false,
    )
    .await?;
    let database_url = match db {
        Db::Sqlite => None,
        Db::Postgres(admin) => Some(crate::server::fresh_postgres(admin, "hoheit_crashsend").await?),
    };
    let dir = crate::util::fresh_dir(work, &format!("crashsend-{}", db.label()));
    let mut spec = ServerSpec::new(bin, &dir, database_url)?;
    spec.set("HOHEIT_DIALOG360__PAIR_SPACING_MILLIS", "1");
    spec.set("HOHEIT_DIALOG360__MESSAGES_PER_SECOND", "1000");
    spec.set("HOHEIT_DISPATCHER__IDLE_MILLIS", "50");
    // a dead process's claims come back after 4 s; small claims at the highest rate, so that
    // every claim's sends get their rate-limit slots well within its lease (a send still waiting
    // for its slot when the lease ends is left for the next claim, and its slot is spent)
    spec.set("HOHEIT_DISPATCHER__LEASE_SECONDS", "4");
    spec.set("HOHEIT_DISPATCHER__BATCH", "20");
    // long enough for the status webhooks of a cut-off attempt to arrive after the restart (a
    // resend of an accepted attempt would be a duplicate), short enough that the attempts that
    // were recorded but never reached the provider (other sends in flight when it aborted) are
    // resent within the drill
    spec.set("HOHEIT_DISPATCHER__STATUS_WAIT_SECONDS", "60");
    let mut server = spec.spawn()?;
    server.wait_ready(Duration::from_secs(60)).await?;
    let token = spec.operator_token()?;
    let tenant = setup::tenant(&spec.base(), &token, "Crash Send GmbH", 1, Some(&sim.provider())).await?;
    let channel = tenant.channels.first().context("channel")?.clone();
    sim.handle.set_webhook(
        WebhookTarget::new(format!("{}{}", spec.base(), channel.webhook_path))
            .with_header(hoheit_server::state::WEBHOOK_SECRET_HEADER, channel.webhook_secret.clone()),
    );
    let candidates = messages.min(40);
    let ids = candidates_ready_to_send(&[spec.base()], &tenant, candidates, 16).await?;
    server.stop(Duration::from_secs(30)).await;
    let jobs: Vec<(String, String)> = (0..messages)
        .filter_map(|i| ids.get((i % candidates) as usize).map(|id| (id.clone(), format!("Termin {MARKER}{i}-END"))))
        .collect();
    let (queued, _) = prefill(&spec, &tenant, jobs).await?;
    note(&format!("crash-send ({}): {queued} messages queued; {kills} aborts after acceptance", db.label()));

    let started = Instant::now();
    let deadline = started + Duration::from_secs(300 + 30 * u64::from(kills));
    let mut aborted = 0u32;
    let mut confirmed = 0u64;
    let mut awaited = 0u64;
    let mut downtime = Duration::ZERO;
    let mut done = false;
    while !done && Instant::now() < deadline {
        let arm = aborted < kills;
        spec.set(FAILPOINT, if arm { rand::thread_rng().gen_range(1u32..=6).to_string() } else { "0".to_owned() });
        let spawned = Instant::now();
        server = spec.spawn()?;
        let ready = server.wait_ready(Duration::from_secs(60)).await;
        downtime += spawned.elapsed();
        if ready.is_err() && server.running() {
            return Err(fail!("the server did not become ready; see {}", spec.log.display()));
        }
        // this process's counters, as last scraped
        let mut seen = (0u64, 0u64);
        loop {
            if !server.running() {
                aborted += 1;
                break;
            }
            if let Some(counts) = send_counters(&spec.base()).await {
                seen = counts;
            }
            if accepted_markers(&sim).len() as u64 >= queued && outbox_empty(&spec.base()).await {
                done = true;
                break;
            }
            if Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        confirmed += seen.0;
        awaited += seen.1;
        if !arm && !done && !server.running() {
            return Err(fail!("the server died without the failpoint; see {}", spec.log.display()));
        }
    }
    let drained = started.elapsed().as_secs_f64();
    // late statuses settle, then the final counters
    tokio::time::sleep(Duration::from_secs(2)).await;
    if let Some((c, a)) = send_counters(&spec.base()).await {
        confirmed = confirmed.max(c);
        awaited = awaited.max(a);
    }
    server.stop(Duration::from_secs(30)).await;

    let counts = accepted_markers(&sim);
    let once = counts.values().filter(|n| **n == 1).count() as u64;
    let duplicates: u64 = counts.values().filter(|n| **n > 1).map(|n| n - 1).sum();
    let lost = queued.saturating_sub(counts.len() as u64);
    let (statuses, outbox_left) = server_view(&spec).await?;
    let recorded_sent: i64 = statuses
        .iter()
        .filter(|(s, _)| ["accepted", "sent", "delivered", "read"].contains(&s.as_str()))
        .map(|(_, n)| n)
        .sum();
    let unrecorded = queued.saturating_sub(u64::try_from(recorded_sent).unwrap_or(0));
    let (audit_ok, audit) = spec.audit_verify()?;
    sim.handle.shutdown().await;
    let ok = aborted >= kills && duplicates == 0 && lost == 0 && unrecorded == 0 && outbox_left == 0 && audit_ok;
    say(&format!(
        "## crash-between-acceptance-and-commit drill ({}): {}",
        db.label(),
        if ok { "PASS" } else { "FAIL" }
    ));
    say(&format!(
        "- {aborted} aborts right after an accepted send, before its commit (failpoint after 1-6 accepted sends per \
         start); restarted at once (total time to ready {:.1} s); all sent after {drained:.0} s",
        downtime.as_secs_f64()
    ));
    say(&format!(
        "- provider's log: {queued} messages queued, accepted exactly once: {once}; duplicates: {duplicates}; \
         lost (never accepted): {lost}"
    ));
    say(&format!(
        "- server: status of the messages {statuses:?}; not recorded as sent: {unrecorded}; outbox left: {outbox_left}; \
         attempts confirmed by their status webhook instead of resent: {confirmed} (scraped, at least), waits for a \
         status: {awaited}"
    ));
    say(&format!("- hoheit audit verify: {}", audit.trim().replace('\n', "; ")));
    Ok(ok)
}

/// Accepted sends per message marker, from the simulator's log.
fn accepted_markers(sim: &Sim) -> HashMap<String, u64> {
    let mut counts = HashMap::new();
    for m in sim.handle.accepted_messages() {
        let text = m.body.to_string();
        if let Some(marker) = text.split(MARKER).nth(1).and_then(|r| r.split("-END").next()) {
            *counts.entry(marker.to_owned()).or_insert(0) += 1;
        }
    }
    counts
}

async fn metrics(base: &str) -> Option<String> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(1)).build().ok()?;
    http.get(format!("{base}/metrics")).send().await.ok()?.text().await.ok()
}

async fn outbox_empty(base: &str) -> bool {
    metrics(base).await.is_some_and(|text| text.lines().any(|l| l.trim() == "hoheit_outbox_depth 0"))
}

/// (confirmed, awaiting_status) dispatch outcomes of the running process.
async fn send_counters(base: &str) -> Option<(u64, u64)> {
    let text = metrics(base).await?;
    let count = |outcome: &str| {
        text.lines()
            .find(|l| l.contains(&format!("outcome=\"{outcome}\"")) && !l.starts_with('#'))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0, |v| v as u64)
    };
    Some((count("confirmed"), count("awaiting_status")))
}

/// The server's view: regular outbound messages by status, and the rows left in the outbox.
async fn server_view(spec: &ServerSpec) -> Res<(Vec<(String, i64)>, i64)> {
    let conn = sea_orm::Database::connect(spec.database_url()).await?;
    let backend = conn.get_database_backend();
    let rows = sea_orm::ConnectionTrait::query_all_raw(
        &conn,
        sea_orm::Statement::from_string(
            backend,
            "SELECT status, COUNT(*) AS n FROM messages WHERE direction = 'outbound' AND intent = 'regular' GROUP BY status",
        ),
    )
    .await?;
    let mut statuses = Vec::new();
    for r in rows {
        statuses
            .push((r.try_get::<Option<String>>("", "status")?.unwrap_or_else(|| "null".into()), r.try_get("", "n")?));
    }
    statuses.sort();
    let left = sea_orm::ConnectionTrait::query_one_raw(
        &conn,
        sea_orm::Statement::from_string(backend, "SELECT COUNT(*) AS n FROM outbox"),
    )
    .await?
    .map(|r| r.try_get::<i64>("", "n"))
    .transpose()?
    .unwrap_or(0);
    conn.close().await.ok();
    Ok((statuses, left))
}
