//! Scenario 1 (webhook ingest against `hoheit serve`) and baseline (b) (the same load against
//! the no-database sink).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::client::{self, Outcome, Plan};
use crate::procfs::{CpuMeter, CpuSplit, PeakRss};
use crate::server::{Db, ServerSpec};
use crate::setup::{self, ChannelSetup};
use crate::util::{Context as _, Res, fail, note, percentile, unix_now};
use crate::workload::Workload;

/// Load settings shared by the ingest run and the HTTP baseline.
#[derive(Debug, Clone)]
pub(crate) struct IngestOptions {
    pub(crate) concurrency: usize,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    pub(crate) channels: usize,
    pub(crate) candidates: u64,
    pub(crate) inbound_per_mille: u64,
    pub(crate) events_per_post: u64,
    /// Open loop at this many POSTs/s (closed loop when `None`).
    pub(crate) rate: Option<f64>,
}

/// A measured load run.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct LoadFigures {
    pub(crate) label: String,
    pub(crate) events_per_second: f64,
    pub(crate) acked_events: u64,
    pub(crate) p50_us: u32,
    pub(crate) p99_us: u32,
    pub(crate) max_us: u32,
    pub(crate) errors: u64,
    pub(crate) errors_text: String,
    pub(crate) cpu: CpuSplit,
    pub(crate) peak_rss_mib: f64,
}

impl LoadFigures {
    fn new(label: String, outcome: &Outcome, cpu: CpuSplit, peak_rss_mib: f64) -> Self {
        Self {
            label,
            events_per_second: outcome.events_per_second(),
            acked_events: outcome.acked_events,
            p50_us: percentile(&outcome.latencies_us, 50.0),
            p99_us: percentile(&outcome.latencies_us, 99.0),
            max_us: outcome.latencies_us.last().copied().unwrap_or(0),
            errors: outcome.error_count(),
            errors_text: outcome.errors_text(),
            cpu,
            peak_rss_mib,
        }
    }
}

fn workload(opts: &IngestOptions, channels: Vec<ChannelSetup>, run: &str) -> Workload {
    Workload {
        channels,
        candidates: opts.candidates,
        inbound_per_mille: opts.inbound_per_mille,
        events_per_post: opts.events_per_post,
        run: run.to_owned(),
        timestamp: unix_now(),
        sender_offset: 0,
    }
}

fn plan(opts: &IngestOptions) -> Plan {
    Plan { rate: opts.rate, ..Plan::closed(opts.concurrency, opts.warmup, opts.duration) }
}

/// Measures CPU during the window (after the warm-up) and samples the peak RSS of `pid`.
async fn measure(
    pid: u32,
    opts: &IngestOptions,
    targets: Vec<SocketAddr>,
    workload: Arc<Workload>,
) -> (Outcome, CpuSplit, PeakRss) {
    let stop = Arc::new(AtomicBool::new(false));
    let epoch = Instant::now();
    let load = tokio::spawn(client::run(targets, workload, plan(opts), None, stop.clone(), epoch));
    let warmup = opts.warmup;
    let duration = opts.duration;
    let meter = tokio::spawn(async move {
        tokio::time::sleep(warmup).await;
        let meter = CpuMeter::start(&[pid]);
        tokio::time::sleep(duration).await;
        meter.stop()
    });
    let mut peak = PeakRss::default();
    while !load.is_finished() {
        peak.sample(pid);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    peak.sample(pid);
    let outcome = load.await.unwrap_or_default();
    stop.store(true, Ordering::Relaxed);
    let cpu = meter.await.unwrap_or_default();
    (outcome, cpu, peak)
}

/// Webhook ingest against a fresh server; returns the figures and the server's database URL.
pub(crate) async fn ingest(bin: &Path, work: &Path, db: &Db, opts: &IngestOptions) -> Res<(LoadFigures, String)> {
    let database_url = match db {
        Db::Sqlite => None,
        Db::Postgres(admin) => Some(crate::server::fresh_postgres(admin, "hoheit_load_ingest").await?),
    };
    let spec = ServerSpec::new(bin, &crate::util::fresh_dir(work, &format!("ingest-{}", db.label())), database_url)?;
    let mut server = spec.spawn()?;
    server.wait_ready(Duration::from_secs(60)).await?;
    let token = spec.operator_token()?;
    let tenant = setup::tenant(&spec.base(), &token, "Ingest GmbH", opts.channels, None).await?;
    note(&format!(
        "ingest on {}: {} connections, {:?} warm-up + {:?}",
        db.label(),
        opts.concurrency,
        opts.warmup,
        opts.duration
    ));
    crate::procfs::reset_peak(server.pid);
    let workload = Arc::new(workload(opts, tenant.channels.clone(), "ingest"));
    let target: SocketAddr = format!("127.0.0.1:{}", spec.port).parse()?;
    let (outcome, cpu, peak) = measure(server.pid, opts, vec![target], workload).await;
    if !server.running() {
        return Err(fail!("the server died during the ingest run; see {}", spec.log.display()));
    }
    if let Some(breakdown) = stage_breakdown(&spec.base(), outcome.acked_events_total).await {
        note(&breakdown);
    }
    server.stop(Duration::from_secs(30)).await;
    Ok((LoadFigures::new(format!("webhook ingest ({})", db.label()), &outcome, cpu, peak.mib()), spec.database_url()))
}

/// The server's own view of the run (warm-up included), from `/metrics`: the mean time and count
/// per acknowledged event of each ingest stage (`hoheit_ingest_stage_seconds`) and the
/// background workers' rounds (`hoheit_worker_rounds_total`). `None` for a server without them.
async fn stage_breakdown(base: &str, acked: u64) -> Option<String> {
    let text = reqwest::get(format!("{base}/metrics")).await.ok()?.text().await.ok()?;
    let value = |prefix: &str| -> Option<f64> {
        text.lines().find(|l| l.starts_with(prefix)).and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok())
    };
    let mut out = String::from("server-side stages (mean ms per pass, passes per acknowledged event):");
    let mut any = false;
    for stage in
        ["route", "body", "verify", "parse", "store", "commit_wait", "queue_wait", "begin", "apply", "flush", "commit"]
    {
        let (Some(sum), Some(count)) = (
            value(&format!("hoheit_ingest_stage_seconds_sum{{stage=\"{stage}\"}} ")),
            value(&format!("hoheit_ingest_stage_seconds_count{{stage=\"{stage}\"}} ")),
        ) else {
            continue;
        };
        any = true;
        let mean_ms = if count > 0.0 { sum / count * 1000.0 } else { 0.0 };
        let per_event = if acked > 0 { count / acked as f64 } else { 0.0 };
        out.push_str(&format!(" {stage} {mean_ms:.3} ms x{per_event:.3};"));
    }
    for worker in ["dispatcher", "media"] {
        let rounds: f64 = ["work", "nothing"]
            .iter()
            .filter_map(|found| value(&format!("hoheit_worker_rounds_total{{worker=\"{worker}\",found=\"{found}\"}} ")))
            .sum();
        out.push_str(&format!(" {worker} rounds {rounds};"));
    }
    any.then_some(out)
}

/// Baseline (b): the same load against `hoheit-load http-sink` in its own process.
pub(crate) async fn http_baseline(opts: &IngestOptions) -> Res<LoadFigures> {
    let port = crate::util::free_port()?;
    let exe = std::env::current_exe().context("current executable")?;
    let mut child = std::process::Command::new(exe)
        .args(["http-sink", "--port", &port.to_string()])
        .stdin(std::process::Stdio::null())
        .spawn()
        .context("cannot start the http sink")?;
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while http.get(format!("http://127.0.0.1:{port}/readyz")).send().await.is_err() {
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err(fail!("the http sink did not start"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let channels = (0..opts.channels.max(1))
        .map(|n| ChannelSetup {
            id: format!("sink-{n}"),
            phone_number_id: format!("{}", 100_000_000_000_u64 + n as u64 + 1),
            webhook_path: format!("/webhooks/360dialog/sink{n}"),
            webhook_secret: "sink-secret".into(),
        })
        .collect();
    note(&format!("http baseline: {} connections, {:?} warm-up + {:?}", opts.concurrency, opts.warmup, opts.duration));
    let workload = Arc::new(workload(opts, channels, "sink"));
    let target: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let (outcome, cpu, peak) = measure(child.id(), opts, vec![target], workload).await;
    let _ = child.kill();
    let _ = child.wait();
    Ok(LoadFigures::new("HTTP baseline (no database)".into(), &outcome, cpu, peak.mib()))
}
