//! The simulator's webhook sender: one background task posting queued webhooks in order,
//! signing them if asked, retrying non-2xx answers with a doubling delay like 360Dialog.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{DeliveryRecord, SimState, SimulatorError};
use crate::http::ensure_crypto_provider;
use crate::webhook::{SIGNATURE_HEADER, sign};

/// A webhook waiting to be posted.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub(crate) kind: String,
    pub(crate) body: Value,
    pub(crate) attempt: u32,
}

pub(crate) fn spawn(state: Arc<SimState>, rx: mpsc::UnboundedReceiver<Job>) -> Result<JoinHandle<()>, SimulatorError> {
    ensure_crypto_provider();
    let http = reqwest::Client::builder()
        .timeout(state.config.webhook_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|_| SimulatorError::HttpClient)?;
    Ok(tokio::spawn(run(state, rx, http)))
}

async fn run(state: Arc<SimState>, mut rx: mpsc::UnboundedReceiver<Job>, http: reqwest::Client) {
    while let Some(job) = rx.recv().await {
        let target = state.lock().webhook.clone();
        let Some(target) = target else {
            // No webhook yet: keep it until one is set.
            state.lock().pending.push(job);
            continue;
        };
        let body = job.body.to_string();
        let mut request = http.post(&target.url).header("content-type", "application/json");
        for (name, value) in &target.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(key) = &target.hmac_key {
            request = request.header(SIGNATURE_HEADER, sign(key, body.as_bytes()));
        }
        let http_status = request.body(body).send().await.ok().map(|r| r.status().as_u16());
        let delivered = http_status.is_some_and(|s| (200..300).contains(&s));
        state.lock().deliveries.push(DeliveryRecord {
            kind: job.kind.clone(),
            attempt: job.attempt,
            http_status,
            delivered,
        });
        if delivered {
            state.delivered.notify_waiters();
        } else if job.attempt < state.config.webhook_attempts {
            let delay = state
                .config
                .webhook_retry_delay
                .saturating_mul(1_u32 << job.attempt.saturating_sub(1).min(16))
                .min(state.config.webhook_retry_max_delay);
            let retry = Job { attempt: job.attempt.saturating_add(1), ..job };
            let state = Arc::clone(&state);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                state.requeue(retry);
            });
        } else {
            tracing::warn!(kind = %job.kind, "simulator gave up delivering a webhook");
            state.delivered.notify_waiters();
        }
    }
}

/// Delay helper for status sequences.
pub(crate) fn after(state: Arc<SimState>, delay: Duration, jobs: Vec<(String, Value)>) {
    tokio::spawn(async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        for (kind, body) in jobs {
            state.enqueue(kind, body);
        }
    });
}
