//! Retention: `candidates` candidates with 10 inbound messages each, all past their retention
//! period (process ended in 2020), erased by one retention run; time per candidate.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::client::{self, Plan};
use crate::procfs::{CpuMeter, CpuSplit, PeakRss};
use crate::server::{Db, ServerSpec};
use crate::setup::{self, Api};
use crate::util::{Context as _, Res, fail, note, unix_now};
use crate::workload::Workload;

/// Messages per candidate.
pub(crate) const MESSAGES: u64 = 10;

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct RetentionResult {
    pub(crate) db: String,
    pub(crate) candidates: u64,
    pub(crate) erased: u64,
    pub(crate) secs: f64,
    pub(crate) setup_secs: f64,
    pub(crate) messages_left: i64,
    pub(crate) cpu: CpuSplit,
    pub(crate) peak_rss_mib: f64,
}

impl RetentionResult {
    pub(crate) fn ms_per_candidate(&self) -> f64 {
        1000.0 * self.secs / (self.candidates.max(1) as f64)
    }
}

pub(crate) async fn run(
    bin: &std::path::Path,
    work: &std::path::Path,
    db: &Db,
    candidates: u64,
) -> Res<RetentionResult> {
    let setup_started = Instant::now();
    let database_url = match db {
        Db::Sqlite => None,
        Db::Postgres(admin) => Some(crate::server::fresh_postgres(admin, "hoheit_load_ret").await?),
    };
    let spec = ServerSpec::new(
        bin,
        &crate::util::fresh_dir(work, &format!("retention-{candidates}-{}", db.label())),
        database_url,
    )?;
    let mut server = spec.spawn()?;
    server.wait_ready(Duration::from_secs(60)).await?;
    let token = spec.operator_token()?;
    let tenant = setup::tenant(&spec.base(), &token, "Retention GmbH", 1, None).await?;
    let channel = tenant.channels.first().context("no channel")?.clone();
    let workload = Workload {
        channels: tenant.channels.clone(),
        candidates,
        inbound_per_mille: 1000,
        events_per_post: MESSAGES,
        run: "ret".into(),
        timestamp: unix_now(),
        sender_offset: 0,
    };
    note(&format!("retention {candidates} on {}: creating candidates", db.label()));
    let recruiter = Api::new(&spec.base(), &tenant.recruiter)?;
    let ids = Arc::new(std::sync::Mutex::new(vec![String::new(); candidates as usize]));
    let (failed, first) = {
        let ids = ids.clone();
        let recruiter = recruiter.clone();
        let senders = Arc::new(workload.clone());
        let channel_id = channel.id.clone();
        setup::parallel(candidates, 32, move |c| {
            let ids = ids.clone();
            let recruiter = recruiter.clone();
            let senders = senders.clone();
            let channel_id = channel_id.clone();
            async move {
                let body = json!({"phone": format!("+{}", senders.sender(c)), "channel_id": channel_id});
                let created = recruiter.expect("/api/v1/candidates", &body, 201).await?;
                let id = created.get("id").and_then(|v| v.as_str()).context("candidate id")?.to_owned();
                if let Ok(mut ids) = ids.lock()
                    && let Some(slot) = ids.get_mut(c as usize)
                {
                    *slot = id;
                }
                Ok(())
            }
        })
        .await
    };
    if failed > 0 {
        return Err(fail!("{failed} candidates not created: {}", first.unwrap_or_default()));
    }
    note(&format!("retention {candidates}: {} inbound messages", candidates * MESSAGES));
    let addr = format!("127.0.0.1:{}", spec.port).parse()?;
    let plan = Plan {
        posts: Some(candidates),
        duration: None,
        warmup: Duration::ZERO,
        ..Plan::closed(32, Duration::ZERO, Duration::ZERO)
    };
    let loaded =
        client::run(vec![addr], Arc::new(workload), plan, None, Arc::new(AtomicBool::new(false)), Instant::now()).await;
    if loaded.acked_events_total != candidates * MESSAGES {
        return Err(fail!(
            "messages not all stored: {} acked, errors {}",
            loaded.acked_events_total,
            loaded.errors_text()
        ));
    }
    note(&format!("retention {candidates}: ending the processes (2020-01-01)"));
    let ids = ids.lock().map(|v| Arc::new(v.clone())).unwrap_or_default();
    let (failed, first) = {
        let ids = ids.clone();
        let recruiter = recruiter.clone();
        setup::parallel(candidates, 32, move |c| {
            let ids = ids.clone();
            let recruiter = recruiter.clone();
            async move {
                let id = ids.get(c as usize).context("id")?;
                recruiter
                    .expect(
                        &format!("/api/v1/candidates/{id}/process-end"),
                        &json!({"reason": "hired", "at": "2020-01-01T00:00:00Z"}),
                        200,
                    )
                    .await?;
                Ok(())
            }
        })
        .await
    };
    if failed > 0 {
        return Err(fail!("{failed} processes not ended: {}", first.unwrap_or_default()));
    }
    let setup_secs = setup_started.elapsed().as_secs_f64();
    note(&format!("retention {candidates}: running retention"));
    crate::procfs::reset_peak(server.pid);
    let meter = CpuMeter::start(&[server.pid]);
    let dpo = Api::new(&spec.base(), &tenant.dpo)?;
    let started = Instant::now();
    let sampler = {
        let pid = server.pid;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let mut peak = PeakRss::default();
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                peak.sample(pid);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            peak.sample(pid);
            peak
        });
        (stop, task)
    };
    let (status, counts) = dpo.post("/api/v1/retention/run", &json!({})).await;
    let secs = started.elapsed().as_secs_f64();
    let cpu = meter.stop();
    sampler.0.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.1.await.unwrap_or_default();
    if status != 200 {
        return Err(fail!("retention run: {status} {counts}"));
    }
    let erased = counts.get("erased").and_then(serde_json::Value::as_u64).unwrap_or(0);
    server.stop(Duration::from_secs(30)).await;
    let conn = sea_orm::Database::connect(spec.database_url()).await?;
    let row = sea_orm::ConnectionTrait::query_one_raw(
        &conn,
        sea_orm::Statement::from_string(conn.get_database_backend(), "SELECT COUNT(*) AS n FROM messages"),
    )
    .await?;
    let messages_left: i64 = row.map(|r| r.try_get("", "n")).transpose()?.unwrap_or(-1);
    conn.close().await.ok();
    Ok(RetentionResult {
        db: db.label().to_owned(),
        candidates,
        erased,
        secs,
        setup_secs,
        messages_left,
        cpu,
        peak_rss_mib: peak.mib(),
    })
}
