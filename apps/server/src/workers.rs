//! Background workers: the outbox dispatcher, the retention scheduler, the template sync and
//! the media fetcher. All stop gracefully when the shutdown signal fires.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration as StdDuration;

use hoheit_domain::ids::{MediaId, TenantId};
use hoheit_domain::media::{MediaFetch, MediaLimits, MediaRejection, MediaStatus};
use hoheit_domain::ports::Clock;
use hoheit_domain::tenant::Actor;
use hoheit_domain::usecases::DispatchOutcome;
use time::Duration;
use tokio::sync::{Semaphore, watch};

use crate::state::AppState;

/// The outbox dispatcher: claims due entries, decides again, sends, records. Transient failures
/// are rescheduled by the use case; a slow recipient never blocks the others (each entry is its
/// own task, bounded by `concurrency`).
pub async fn dispatcher(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let cfg = state.config.dispatcher.clone();
    let permits = Arc::new(Semaphore::new(cfg.concurrency));
    let stopping = Arc::new(AtomicBool::new(false));
    let lease = Duration::seconds(i64::try_from(cfg.lease_seconds).unwrap_or(60));
    loop {
        if *shutdown.borrow() {
            break;
        }
        let claimed_at = state.clock.now();
        // a send that waited for its slot until 5 s before the lease ends is not made (the
        // entry may be claimed by another replica after that)
        let lease_ends = claimed_at + lease - Duration::seconds(5).min(lease / 2);
        let claimed = match state.outbox.claim(claimed_at, lease, cfg.batch).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "outbox claim failed");
                Vec::new()
            }
        };
        if claimed.is_empty() {
            state.metrics.worker_round("dispatcher", false);
            // nothing due: sleep until the next entry is due (or until woken by a commit that
            // queued one), at most `idle_millis` (entries another replica queued)
            let wait = idle_wait(&state, StdDuration::from_millis(cfg.idle_millis)).await;
            tokio::select! {
                () = state.dispatch_wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        state.metrics.worker_round("dispatcher", true);
        for entry in claimed {
            let Ok(permit) = permits.clone().acquire_owned().await else { break };
            let state = state.clone();
            let stopping = stopping.clone();
            tokio::spawn(async move {
                let _permit = permit;
                if stopping.load(Ordering::SeqCst) {
                    let _ = state.outbox.release(&[entry.id]).await;
                    return;
                }
                if !state.channels.is_configured(entry.channel) {
                    // registered (or rotated) through another replica since this one loaded
                    if let Err(e) = state.channels.reload(StdDuration::from_secs(1)).await {
                        tracing::warn!(error = %e, "cannot reload channels");
                    }
                }
                match state.app.dispatch_within(&entry, Some(lease_ends)).await {
                    Ok(outcome) => record(&state, &outcome),
                    Err(e) => {
                        tracing::warn!(outbox = %entry.id, error = %e, "dispatch failed; the lease will expire and it is retried")
                    }
                }
            });
        }
    }
    stopping.store(true, Ordering::SeqCst);
    // wait for in-flight sends to finish
    let _ = permits.acquire_many(u32::try_from(cfg.concurrency).unwrap_or(u32::MAX)).await;
    tracing::info!("dispatcher stopped");
}

/// How long a dispatcher whose claim found nothing sleeps: until the next entry is due, at
/// most `longest`. If the outbox cannot tell, `longest`.
async fn idle_wait(state: &AppState, longest: StdDuration) -> StdDuration {
    match state.outbox.next_due().await {
        Ok(Some(due)) => {
            let wait = due - state.clock.now();
            // a due time in the past is an entry leased by a send in flight or just released:
            // look again soon, not at once (the commit that changes it wakes the dispatcher)
            StdDuration::try_from(wait).unwrap_or(StdDuration::ZERO).clamp(StdDuration::from_millis(10), longest)
        }
        Ok(None) => longest,
        Err(e) => {
            tracing::warn!(error = %e, "outbox: next due time not readable");
            longest
        }
    }
}

fn record(state: &AppState, outcome: &DispatchOutcome) {
    match outcome {
        DispatchOutcome::Sent => state.metrics.send("sent"),
        DispatchOutcome::Refused(code) => {
            state.metrics.send("refused");
            state.metrics.refusal(code.as_str());
        }
        DispatchOutcome::Failed(_) => state.metrics.send("failed"),
        DispatchOutcome::Retry { .. } => state.metrics.send("retry"),
        DispatchOutcome::OutcomeUnknown => state.metrics.send("unknown"),
        DispatchOutcome::Dropped => state.metrics.send("dropped"),
        DispatchOutcome::LeaseExpired => state.metrics.send("lease_expired"),
        DispatchOutcome::Confirmed => state.metrics.send("confirmed"),
        DispatchOutcome::AwaitingStatus { .. } => state.metrics.send("awaiting_status"),
    }
}

/// How often a replica says it is alive (and reloads channels), and how long that holds.
const HEARTBEAT: StdDuration = StdDuration::from_secs(5);
const HEARTBEAT_HOLDS: Duration = Duration::seconds(15);

/// The replica registry: every `HEARTBEAT` this process renews its `dispatcher:<instance>`
/// lease, counts the live replicas and gives each channel client that share of its number's
/// throughput (two replicas on an 80/s number send 40/s each, so together they never exceed
/// it); it also reloads channels other replicas registered or rotated. Its lease is released at
/// shutdown so the others take the full rate again within one heartbeat.
pub async fn replica_heartbeat(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let name = format!("dispatcher:{}", state.instance);
    loop {
        let now = state.clock.now();
        match state.platform.try_lease(&name, &state.instance, now, now + HEARTBEAT_HOLDS).await {
            Ok(_) => match state.platform.live_leases("dispatcher:", now).await {
                Ok(live) => {
                    let share = u32::try_from(live.max(1)).unwrap_or(u32::MAX);
                    state.channels.set_throughput_share(share);
                }
                Err(e) => tracing::warn!(error = %e, "cannot count replicas"),
            },
            Err(e) => tracing::warn!(error = %e, "replica heartbeat failed"),
        }
        if let Err(e) = state.channels.reload(HEARTBEAT / 2).await {
            tracing::warn!(error = %e, "cannot reload channels");
        }
        tokio::select! {
            () = tokio::time::sleep(HEARTBEAT) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
    }
    let _ = state.platform.release_lease(&name, &state.instance).await;
}

/// Waits `interval`; whether the worker is to stop (the shutdown signal changed meanwhile, or is
/// set at the end of the wait).
async fn stopped_during(interval: StdDuration, shutdown: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(interval) => *shutdown.borrow(),
        _ = shutdown.changed() => true,
    }
}

/// Runs retention for every tenant periodically; a lease makes sure only one replica runs it.
pub async fn retention_scheduler(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let interval = StdDuration::from_secs(state.config.retention.interval_seconds.max(1));
    while !stopped_during(interval, &mut shutdown).await {
        run_retention_once(&state).await;
    }
}

/// One retention pass over all tenants, under the `retention` lease.
pub async fn run_retention_once(state: &AppState) {
    let now = state.clock.now();
    match state.platform.try_lease("retention", &state.instance, now, now + RETENTION_LEASE).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::warn!(error = %e, "retention lease failed");
            return;
        }
    }
    // renewed while the run works, however long it takes; the other replicas wait
    let renewal = {
        let state = state.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(StdDuration::from_secs(20)).await;
                let now = state.clock.now();
                match state.platform.try_lease("retention", &state.instance, now, now + RETENTION_LEASE).await {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!("retention lease lost while running"),
                    Err(e) => tracing::warn!(error = %e, "retention lease renewal failed"),
                }
            }
        })
    };
    run_retention_tenants(state).await;
    renewal.abort();
    let _ = state.platform.release_lease("retention", &state.instance).await;
}

/// How long the retention lease holds without renewal (renewed every 20 s while running).
const RETENTION_LEASE: Duration = Duration::seconds(60);

async fn run_retention_tenants(state: &AppState) {
    match state.queries.tenants().await {
        Ok(tenants) => {
            for tenant in tenants.into_iter().map(|t| t.id) {
                match state.app.run_retention(tenant, Actor::System, false).await {
                    Ok(counts) => {
                        state.metrics.retention("restricted", counts.restricted);
                        state.metrics.retention("erased", counts.erased);
                    }
                    Err(e) => tracing::warn!(%tenant, error = %e, "retention run failed"),
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "retention: cannot list tenants"),
    }
}

/// Syncs every channel's templates periodically ([`sync_templates_once`]).
pub async fn template_scheduler(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let interval = StdDuration::from_secs(state.config.templates.sync_interval_seconds.max(60));
    while !stopped_during(interval, &mut shutdown).await {
        sync_templates_once(&state).await;
    }
}

/// One template-sync round: the channels grouped by tenant, up to `templates.tenant_concurrency`
/// tenants at once, each tenant's channels one after the other within
/// `templates.tenant_budget_seconds` (a listing still running when the budget ends is
/// abandoned and tried next round), so a slow or hostile provider of one tenant cannot stall the
/// others. Returns how many channels were synced.
pub async fn sync_templates_once(state: &AppState) -> usize {
    let channels = match state.channels.all().await {
        Ok(channels) => channels,
        Err(e) => {
            tracing::warn!(error = %e, "template sync: cannot list channels");
            return 0;
        }
    };
    let budget = StdDuration::from_secs(state.config.templates.tenant_budget_seconds.max(1));
    let concurrency = state.config.templates.tenant_concurrency.max(1);
    per_tenant(channels, concurrency, |tenant, channels| {
        let state = state.clone();
        async move {
            let deadline = tokio::time::Instant::now() + budget;
            let mut synced = 0;
            for channel in channels {
                match crate::api::templates::sync_until(&state, tenant, channel, Some(deadline)).await {
                    Ok(_) => synced += 1,
                    Err(crate::api::templates::SyncError::OutOfTime) => {
                        tracing::warn!(%tenant, %channel, "template sync: the tenant's time budget is used up; the rest waits for the next round");
                        break;
                    }
                    Err(e) => tracing::warn!(%tenant, %channel, error = %e, "template sync failed"),
                }
            }
            synced
        }
    })
    .await
}

/// Runs `work` for each tenant's items (in the order given), at most `concurrency` tenants at
/// once, and sums what the runs return.
async fn per_tenant<T, F, Fut>(items: Vec<(TenantId, T)>, concurrency: usize, work: F) -> usize
where
    T: Send + 'static,
    F: Fn(TenantId, Vec<T>) -> Fut,
    Fut: std::future::Future<Output = usize> + Send + 'static,
{
    let mut groups: Vec<(TenantId, Vec<T>)> = Vec::new();
    for (tenant, item) in items {
        match groups.iter_mut().find(|(t, _)| *t == tenant) {
            Some((_, list)) => list.push(item),
            None => groups.push((tenant, vec![item])),
        }
    }
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    for (tenant, list) in groups {
        let Ok(permit) = permits.clone().acquire_owned().await else { break };
        let run = work(tenant, list);
        tasks.spawn(async move {
            let _permit = permit;
            run.await
        });
    }
    let mut total = 0;
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(n) => total += n,
            Err(e) => tracing::warn!(error = %e, "a per-tenant worker task failed"),
        }
    }
    total
}

/// Fetches announced inbound media: wakes when a commit recorded an announced file as pending and
/// every `media.fetch_interval_seconds` (retries, other replicas' files);
/// a lease makes sure only one replica fetches at a time.
pub async fn media_fetcher(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let interval = StdDuration::from_secs(state.config.media.fetch_interval_seconds.max(1));
    loop {
        if *shutdown.borrow() {
            break;
        }
        let handled = fetch_media_once(&state).await;
        state.metrics.worker_round("media", handled > 0);
        tokio::select! {
            () = state.media_wake.notified() => {}
            () = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// One round of the media fetcher: every due pending file is fetched from 360Dialog (only its
/// hosts), checked against the SHA-256 the webhook announced and the size limit, and handed to
/// the use case, which checks the type and stores it sealed (or records the rejection). Files
/// are grouped by tenant, up to `media.tenant_concurrency` tenants at once, each within
/// `media.tenant_budget_seconds`: a download still running when its tenant's budget ends is
/// abandoned (the file stays pending for the next round), so one slow tenant cannot stall the
/// others. Returns how many files were handled.
pub async fn fetch_media_once(state: &AppState) -> usize {
    let now = state.clock.now();
    match state.platform.try_lease("media", &state.instance, now, now + Duration::minutes(5)).await {
        Ok(true) => {}
        Ok(false) => return 0,
        Err(e) => {
            tracing::warn!(error = %e, "media lease failed");
            return 0;
        }
    }
    let budget = StdDuration::from_secs(state.config.media.tenant_budget_seconds.max(1));
    let concurrency = state.config.media.tenant_concurrency.max(1);
    let mut out_of_time: HashSet<TenantId> = HashSet::new();
    let mut handled = 0;
    loop {
        let due = match state.platform.pending_media(state.clock.now(), MEDIA_BATCH).await {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "pending media not readable");
                break;
            }
        };
        // tenants whose budget this round is used up wait for the next round
        let due: Vec<(TenantId, MediaId)> = due.into_iter().filter(|(t, _)| !out_of_time.contains(t)).collect();
        if due.is_empty() {
            break;
        }
        let exhausted = Arc::new(std::sync::Mutex::new(Vec::new()));
        let progressed = per_tenant(due, concurrency, |tenant, files| {
            let state = state.clone();
            let exhausted = exhausted.clone();
            async move {
                let deadline = tokio::time::Instant::now() + budget;
                let mut done = 0;
                for media in files {
                    let Ok(fetch) = tokio::time::timeout_at(deadline, fetch_one(&state, tenant, media)).await else {
                        tracing::warn!(%tenant, "media fetch: the tenant's time budget is used up; the rest waits for the next round");
                        if let Ok(mut list) = exhausted.lock() {
                            list.push(tenant);
                        }
                        break;
                    };
                    let limits = MediaLimits { max_bytes: state.config.media.max_bytes };
                    match state.app.record_media_fetch(tenant, media, fetch, limits).await {
                        Ok(status) => {
                            done += 1;
                            state.metrics.media(status.as_str());
                        }
                        Err(e) => tracing::warn!(%media, error = %e, "media fetch not recorded"),
                    }
                }
                done
            }
        })
        .await;
        handled += progressed;
        let newly: Vec<TenantId> = exhausted.lock().map(|list| list.clone()).unwrap_or_default();
        if progressed == 0 && newly.is_empty() {
            break;
        }
        out_of_time.extend(newly);
    }
    let _ = state.platform.release_lease("media", &state.instance).await;
    handled
}

/// Files read per query of the media fetcher.
const MEDIA_BATCH: u32 = 200;

async fn fetch_one(state: &AppState, tenant: TenantId, media: MediaId) -> MediaFetch {
    match state.store.media(tenant, media).await {
        Ok(Some(record)) if record.status == MediaStatus::Pending => state.channels.fetch_media(&record).await,
        Ok(_) => MediaFetch::Refused(MediaRejection::Unavailable),
        Err(_) => MediaFetch::Transient,
    }
}
