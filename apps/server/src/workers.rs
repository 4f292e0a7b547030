//! Background workers: the outbox dispatcher, the retention scheduler and the template sync.
//! All stop gracefully when the shutdown signal fires.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration as StdDuration;

use hoheit_domain::ids::{ChannelId, TenantId};
use hoheit_domain::ports::{Clock, OutboxQueue};
use hoheit_domain::tenant::{Actor, ConsentTemplate};
use hoheit_domain::usecases::DispatchOutcome;
use time::Duration;
use tokio::sync::{Semaphore, watch};

use crate::state::AppState;

/// Fetches the channel's templates from 360Dialog and stores them; marks the consent template as
/// carrying the notice (the admin asserts it by configuring it as the consent template).
pub async fn sync_templates(
    state: &AppState,
    tenant: TenantId,
    channel: ChannelId,
    consent: Option<&ConsentTemplate>,
) -> Result<u32, String> {
    let client = state.gateway.client(channel).ok_or("channel client not configured")?;
    let waba = client.list_templates().await.map_err(|e| e.to_string())?;
    let now = state.clock.now();
    let templates = waba.iter().filter_map(|t| t.to_domain(channel, now)).collect();
    let count = state.app.sync_templates(tenant, Actor::System, channel, templates).await.map_err(|e| e.to_string())?;
    if let Some(c) = consent
        && let Err(e) = state.app.mark_template_notice(tenant, Actor::System, channel, &c.name, &c.language, true).await
    {
        tracing::warn!(%channel, error = %e, "consent template not found among the synced templates");
    }
    Ok(count)
}

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
        let claimed = match state.store.claim(state.clock.now(), lease, cfg.batch).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "outbox claim failed");
                Vec::new()
            }
        };
        if claimed.is_empty() {
            tokio::select! {
                () = state.dispatch_wake.notified() => {}
                () = tokio::time::sleep(StdDuration::from_millis(cfg.idle_millis)) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        for entry in claimed {
            let Ok(permit) = permits.clone().acquire_owned().await else { break };
            let state = state.clone();
            let stopping = stopping.clone();
            tokio::spawn(async move {
                let _permit = permit;
                if stopping.load(Ordering::SeqCst) {
                    let _ = state.store.release(&[entry.id]).await;
                    return;
                }
                match state.app.dispatch(&entry).await {
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
    }
}

/// Runs retention for every tenant periodically; a lease makes sure only one replica runs it.
pub async fn retention_scheduler(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let interval = StdDuration::from_secs(state.config.retention.interval_seconds.max(1));
    loop {
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => break,
        }
        if *shutdown.borrow() {
            break;
        }
        run_retention_once(&state).await;
    }
}

/// One retention pass over all tenants, under the `retention` lease.
pub async fn run_retention_once(state: &AppState) {
    let now = state.clock.now();
    let until = now + Duration::seconds(i64::try_from(state.config.retention.interval_seconds).unwrap_or(3600).max(60));
    match state.store.try_lease("retention", &state.instance, now, until).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::warn!(error = %e, "retention lease failed");
            return;
        }
    }
    match state.store.tenants().await {
        Ok(tenants) => {
            for (tenant, _, _) in tenants {
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
    let _ = state.store.release_lease("retention", &state.instance).await;
}

/// Syncs every channel's templates periodically.
pub async fn template_scheduler(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let interval = StdDuration::from_secs(state.config.templates.sync_interval_seconds.max(60));
    loop {
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => break,
        }
        if *shutdown.borrow() {
            break;
        }
        if let Ok(channels) = state.store.all_channel_credentials().await {
            for (tenant, channel, _) in channels {
                if let Err(e) = sync_templates(&state, tenant, channel, None).await {
                    tracing::warn!(%channel, error = %e, "template sync failed");
                }
            }
        }
    }
}
