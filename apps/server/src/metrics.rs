//! Prometheus metrics, kept in atomics and small maps (no metrics framework needed): requests,
//! webhook events by type, sends by outcome and refusal code, outbox depth, retention counts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters by label value.
#[derive(Debug, Default)]
struct Family(Mutex<BTreeMap<String, u64>>);

impl Family {
    fn inc(&self, label: &str, by: u64) {
        if let Ok(mut map) = self.0.lock() {
            *map.entry(label.to_owned()).or_default() += by;
        }
    }

    fn render(&self, out: &mut String, name: &str, help: &str, label: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        if let Ok(map) = self.0.lock() {
            for (value, count) in map.iter() {
                let _ = writeln!(out, "{name}{{{label}=\"{value}\"}} {count}");
            }
        }
    }
}

/// All metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Family,
    webhook_events: Family,
    webhook_rejected: Family,
    sends: Family,
    refusals: Family,
    retention: Family,
    media: Family,
    webhook_batches: AtomicU64,
}

impl Metrics {
    /// An HTTP request finished (labelled by route template and status class).
    pub fn request(&self, route: &str, status: u16) {
        self.requests.inc(&format!("{route} {status}"), 1);
    }

    /// A webhook event of a type was processed.
    pub fn webhook_event(&self, kind: &str) {
        self.webhook_events.inc(kind, 1);
    }

    /// A webhook was rejected (`unauthenticated`, `malformed`, `unavailable`).
    pub fn webhook_rejected(&self, reason: &str) {
        self.webhook_rejected.inc(reason, 1);
    }

    /// A webhook POST was committed.
    pub fn webhook_batch(&self) {
        self.webhook_batches.fetch_add(1, Ordering::Relaxed);
    }

    /// A send ended (`sent`, `refused`, `failed`, `retry`, `unknown`, `dropped`).
    pub fn send(&self, outcome: &str) {
        self.sends.inc(outcome, 1);
    }

    /// A send was refused with a code (at request or dispatch time).
    pub fn refusal(&self, code: &str) {
        self.refusals.inc(code, 1);
    }

    /// Retention restricted/erased/held so many.
    pub fn retention(&self, action: &str, count: u64) {
        if count > 0 {
            self.retention.inc(action, count);
        }
    }

    /// A fetched media file ended as `stored`, `rejected` or (still) `pending`.
    pub fn media(&self, status: &str) {
        self.media.inc(status, 1);
    }

    /// Prometheus text format; gauges are passed in (read at scrape time).
    pub fn render(&self, gauges: &[(&str, &str, u64)]) -> String {
        let mut out = String::with_capacity(4096);
        self.requests.render(
            &mut out,
            "hoheit_http_requests_total",
            "HTTP requests by route and status.",
            "route_status",
        );
        self.webhook_events.render(
            &mut out,
            "hoheit_webhook_events_total",
            "Webhook events processed by type.",
            "type",
        );
        self.webhook_rejected.render(
            &mut out,
            "hoheit_webhook_rejected_total",
            "Webhook deliveries rejected.",
            "reason",
        );
        self.sends.render(&mut out, "hoheit_sends_total", "Outbound sends by outcome.", "outcome");
        self.refusals.render(&mut out, "hoheit_send_refusals_total", "Send refusals by code.", "code");
        self.retention.render(&mut out, "hoheit_retention_total", "Retention actions.", "action");
        self.media.render(&mut out, "hoheit_media_fetches_total", "Media fetch rounds by resulting status.", "status");
        let _ = writeln!(
            out,
            "# HELP hoheit_webhook_posts_total Webhook POSTs committed.\n# TYPE hoheit_webhook_posts_total counter\nhoheit_webhook_posts_total {}",
            self.webhook_batches.load(Ordering::Relaxed)
        );
        for (name, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        }
        out
    }
}

/// The gauges read at scrape time (all tenants; no labels, no personal data): the outbox depth
/// and the deadline counts of the read port.
pub async fn gauges(state: &crate::state::AppState) -> Vec<(&'static str, &'static str, u64)> {
    use hoheit_domain::ports::Clock as _;
    let depth = state.platform.outbox_depth().await.unwrap_or(0);
    let mut gauges = vec![("hoheit_outbox_depth", "Entries waiting in the outbox.", depth)];
    let now = state.clock.now();
    let soon = now + time::Duration::days(crate::api::subject_requests::DUE_SOON_DAYS);
    match state.queries.deadline_counts(now, soon).await {
        Ok(counts) => gauges.extend([
            ("hoheit_objection_reviews_open", "Objection reviews waiting for a decision (R16).", counts.reviews_open),
            (
                "hoheit_objection_reviews_overdue",
                "Objection reviews past their due time (R16).",
                counts.reviews_overdue,
            ),
            (
                "hoheit_subject_requests_overdue",
                "Open or extended subject requests past their due date (R29).",
                counts.subject_requests_overdue,
            ),
            (
                "hoheit_subject_requests_due_soon",
                "Open or extended subject requests due within 7 days (R29).",
                counts.subject_requests_due_soon,
            ),
            ("hoheit_media_pending", "Announced media files not fetched yet.", counts.media_pending),
        ]),
        Err(e) => tracing::warn!(error = %e, "deadline gauges unavailable"),
    }
    gauges
}
