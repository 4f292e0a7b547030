//! Outbound: many candidates, one message each, queued through the API; the dispatcher sends
//! them to the 360Dialog simulator (behind the recording proxy) at the configured per-number
//! limit. Also the shared pieces of every drill that sends: the simulator, candidates with
//! consent and an open 24-hour window.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hoheit_dialog360::simulator::{Simulator, SimulatorConfig, SimulatorHandle};
use serde_json::json;

use crate::procfs::{CpuMeter, CpuSplit, PeakRss};
use crate::proxy::{self, Rate, Recorder};
use crate::server::{Db, ServerSpec};
use crate::setup::{self, Api, Provider, TenantSetup};
use crate::util::{Context as _, Res, fail, note, unix_now};

/// The simulator, optionally behind the recording proxy.
pub(crate) struct Sim {
    pub(crate) handle: SimulatorHandle,
    pub(crate) recorder: Arc<Recorder>,
    /// What channels point at (the proxy if any, else the simulator).
    pub(crate) base_url: String,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

impl Sim {
    pub(crate) async fn start(mut config: SimulatorConfig, record: bool) -> Res<Self> {
        config.seed = 0x10ad;
        let handle = Simulator::start(config).await.map_err(|e| fail!("simulator: {e}"))?;
        handle.set_templates(hoheit_server::harness::simulator_templates());
        let recorder = Arc::new(Recorder::default());
        let base_url = if record {
            let addr: SocketAddr = proxy::start(handle.addr(), recorder.clone()).await?;
            format!("http://{addr}")
        } else {
            handle.base_url()
        };
        Ok(Self { handle, recorder, base_url })
    }

    pub(crate) fn provider(&self) -> Provider {
        Provider {
            base_url: self.base_url.clone(),
            api_key: hoheit_dialog360::simulator::DEFAULT_SIM_API_KEY.to_owned(),
            phone_number_ids: vec![self.handle.phone_number_id().to_owned()],
        }
    }
}

/// The number of candidate `k` in drills that send (`+49171` range, apart from the ingest senders).
pub(crate) fn phone(k: u64) -> String {
    format!("49171{k:07}")
}

/// Creates `count` candidates with recorded consent and an open window (they wrote first).
/// Returns their ids; API calls are spread over `servers`.
pub(crate) async fn candidates_ready_to_send(
    servers: &[String],
    tenant: &TenantSetup,
    count: u64,
    concurrency: usize,
) -> Res<Vec<String>> {
    let channel = tenant.channels.first().context("no channel")?.clone();
    let ids = Arc::new(std::sync::Mutex::new(vec![String::new(); count as usize]));
    let apis: Vec<Api> = servers.iter().map(|b| Api::new(b, &tenant.recruiter)).collect::<Res<_>>()?;
    let apis = Arc::new(apis);
    let http = reqwest::Client::new();
    let timestamp = unix_now();
    let out = ids.clone();
    let (failed, first) = setup::parallel(count, concurrency, move |k| {
        let apis = apis.clone();
        let ids = out.clone();
        let channel = channel.clone();
        let http = http.clone();
        async move {
            let api = apis.get(k as usize % apis.len()).context("no server")?;
            let number = phone(k);
            let created = api
                .expect("/api/v1/candidates", &json!({"phone": format!("+{number}"), "channel_id": channel.id}), 201)
                .await?;
            let id = created.get("id").and_then(|v| v.as_str()).context("candidate id")?.to_owned();
            api.expect(
                &format!("/api/v1/candidates/{id}/consents"),
                &json!({"purpose": "whatsapp_channel", "method": "recorded_verbal", "capture_channel": "phone"}),
                200,
            )
            .await?;
            let body = crate::workload::inbound_text(
                &channel.phone_number_id,
                &number,
                &format!("wamid.HELLO.{k}"),
                "Guten Tag, ich habe mich beworben.",
                timestamp,
            );
            let status = channel.post_webhook(&http, &api.base, body).await?;
            if status != 200 {
                return Err(fail!("inbound webhook: {status}"));
            }
            if let Ok(mut ids) = ids.lock()
                && let Some(slot) = ids.get_mut(k as usize)
            {
                *slot = id;
            }
            Ok(())
        }
    })
    .await;
    if failed > 0 {
        return Err(fail!("{failed} candidates could not be prepared: {}", first.unwrap_or_default()));
    }
    let ids = ids.lock().map(|v| v.clone()).unwrap_or_default();
    Ok(ids)
}

/// Queues one text per (candidate, text) pair; returns (queued, refused or failed, seconds).
pub(crate) async fn enqueue(
    servers: &[String],
    recruiter: &str,
    jobs: Vec<(String, String)>,
    concurrency: usize,
) -> Res<(u64, u64, f64)> {
    let apis: Arc<Vec<Api>> = Arc::new(servers.iter().map(|b| Api::new(b, recruiter)).collect::<Res<_>>()?);
    let jobs = Arc::new(jobs);
    let started = Instant::now();
    let count = jobs.len() as u64;
    let (failed, first) = setup::parallel(count, concurrency, move |i| {
        let apis = apis.clone();
        let jobs = jobs.clone();
        async move {
            let (candidate, text) = jobs.get(i as usize).context("job")?;
            let api = apis.get(i as usize % apis.len()).context("no server")?;
            api.expect(&format!("/api/v1/candidates/{candidate}/messages"), &json!({"text": text}), 202).await?;
            Ok(())
        }
    })
    .await;
    if let Some(e) = first {
        note(&format!("enqueue: {failed} failed, first: {e}"));
    }
    Ok((count - failed, failed, started.elapsed().as_secs_f64()))
}

/// Queues one text per (candidate, text) pair through the domain's own `send_message` use case
/// on the stopped server's store (same database, same master key), so the outbox is full before
/// the dispatcher starts. Returns (queued, seconds).
pub(crate) async fn prefill(spec: &ServerSpec, tenant: &TenantSetup, jobs: Vec<(String, String)>) -> Res<(u64, f64)> {
    use hoheit_domain::tenant::{Actor, Role};
    let master = hoheit_persistence::crypto::MasterKey::from_secret(
        &secrecy::SecretBox::from(Box::<str>::from(spec.master_key.as_str())),
        1,
    )
    .map_err(|e| fail!("master key: {e}"))?;
    let store =
        hoheit_persistence::SeaStore::connect(&hoheit_persistence::PersistenceConfig::new(spec.database_url()), master)
            .await
            .map_err(|e| fail!("store: {e}"))?;
    let app = hoheit_domain::usecases::Hoheit::new(
        Arc::new(store),
        Arc::new(hoheit_dialog360::Dialog360Gateway::new()),
        Arc::new(hoheit_server::state::SystemClock::default()),
        Arc::new(hoheit_server::state::UuidV7),
    );
    let tenant_id: hoheit_domain::ids::TenantId = tenant.id.parse().map_err(|_| fail!("tenant id"))?;
    let actor =
        Actor::Staff { id: hoheit_domain::ids::StaffId::from_uuid(uuid::Uuid::now_v7()), role: Role::Recruiter };
    let jobs = Arc::new(jobs);
    let started = Instant::now();
    let count = jobs.len() as u64;
    let (failed, first) = setup::parallel(count, 64, move |i| {
        let app = app.clone();
        let jobs = jobs.clone();
        async move {
            let (candidate, text) = jobs.get(i as usize).context("job")?;
            let candidate = candidate.parse().map_err(|_| fail!("candidate id"))?;
            let request = hoheit_domain::usecases::MessageRequest::Text(hoheit_domain::values::Pii::new(text.clone()));
            app.send_message(tenant_id, actor, candidate, request).await.map_err(|e| fail!("send_message: {e}"))?;
            Ok(())
        }
    })
    .await;
    if failed > 0 {
        return Err(fail!("{failed} messages not queued: {}", first.unwrap_or_default()));
    }
    Ok((count, started.elapsed().as_secs_f64()))
}

/// Result of the outbound scenario.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct OutboundResult {
    pub(crate) db: String,
    pub(crate) limit: u32,
    pub(crate) messages: u64,
    /// Messages queued per second through the use case (before the dispatcher started).
    pub(crate) enqueue_per_second: f64,
    pub(crate) rate: Rate,
    pub(crate) duplicates: u64,
    pub(crate) missing: u64,
    pub(crate) cpu: CpuSplit,
    pub(crate) peak_rss_mib: f64,
}

/// Runs the outbound scenario with `messages` candidates (one message each).
pub(crate) async fn run(
    bin: &std::path::Path,
    work: &std::path::Path,
    db: &Db,
    limit: u32,
    messages: u64,
) -> Res<OutboundResult> {
    let sim = Sim::start(
        SimulatorConfig {
            status_webhooks: hoheit_dialog360::simulator::StatusWebhooks { enabled: false, ..Default::default() },
            ..SimulatorConfig::default()
        },
        true,
    )
    .await?;
    let database_url = match db {
        Db::Sqlite => None,
        Db::Postgres(admin) => Some(crate::server::fresh_postgres(admin, "hoheit_load_out").await?),
    };
    let mut spec =
        ServerSpec::new(bin, &crate::util::fresh_dir(work, &format!("outbound-{limit}-{}", db.label())), database_url)?;
    spec.set("HOHEIT_DIALOG360__MESSAGES_PER_SECOND", limit.to_string());
    let mut server = spec.spawn()?;
    server.wait_ready(Duration::from_secs(60)).await?;
    let token = spec.operator_token()?;
    let tenant = setup::tenant(&spec.base(), &token, "Outbound GmbH", 1, Some(&sim.provider())).await?;
    note(&format!("outbound {limit}/s on {}: preparing {messages} candidates", db.label()));
    let servers = vec![spec.base()];
    let ids = candidates_ready_to_send(&servers, &tenant, messages, 32).await?;
    let jobs: Vec<(String, String)> = ids
        .iter()
        .enumerate()
        .map(|(k, id)| (id.clone(), format!("Ihr Gesprächstermin steht fest. LOAD-{k}-END")))
        .collect();
    // fill the outbox while no dispatcher runs, then start the server: the dispatcher alone
    server.stop(Duration::from_secs(30)).await;
    note(&format!("outbound {limit}/s: queueing {messages} messages (server stopped)"));
    let (queued, secs) = prefill(&spec, &tenant, jobs).await?;
    server = spec.spawn()?;
    let meter = CpuMeter::start(&[server.pid]);
    let mut peak = PeakRss::default();
    server.wait_ready(Duration::from_secs(60)).await?;
    let deadline = Instant::now() + Duration::from_secs(60 + 2 * messages / u64::from(limit.max(1)));
    while (sim.recorder.accepted_count() as u64) < queued && Instant::now() < deadline {
        peak.sample(server.pid);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    peak.sample(server.pid);
    let cpu = meter.stop();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rate = proxy::rate(&sim.recorder.accepted());
    let mut counts = std::collections::HashMap::new();
    for m in sim.handle.accepted_messages() {
        let text = m.body.to_string();
        if let Some(marker) = text.split("LOAD-").nth(1).and_then(|r| r.split("-END").next()) {
            *counts.entry(marker.to_owned()).or_insert(0u64) += 1;
        }
    }
    let duplicates = counts.values().filter(|n| **n > 1).map(|n| n - 1).sum();
    let missing = queued.saturating_sub(counts.len() as u64);
    server.stop(Duration::from_secs(30)).await;
    sim.handle.shutdown().await;
    Ok(OutboundResult {
        db: db.label().to_owned(),
        limit,
        messages: queued,
        enqueue_per_second: queued as f64 / secs.max(1e-9),
        rate,
        duplicates,
        missing,
        cpu,
        peak_rss_mib: peak.mib(),
    })
}
