//! Prometheus metrics through `prometheus-client`: requests, webhook events by type, sends by
//! outcome and refusal code, media fetches, retention counts, the time of each stage of the
//! webhook ingest path (histograms), the background workers' rounds, plus gauges read at scrape
//! time (outbox depth, deadlines).
//!
//! Every label comes from a closed set: the HTTP method is an enum (unknown methods fold into
//! `other`), the route is the matched route template of the router (`unmatched` otherwise), the
//! status a number, and every other label a `&'static str` chosen by the code, never by a client.
//! So the `/metrics` body stays bounded whatever requests arrive.

use axum::http::Method;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use std::fmt::Write as _;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The content type of [`Metrics::render`]'s output (OpenMetrics text).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The route label of a request that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// The HTTP method label: the standard methods, everything else is `other`.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
#[allow(clippy::upper_case_acronyms)]
pub enum MethodLabel {
    /// GET
    GET,
    /// POST
    POST,
    /// PUT
    PUT,
    /// DELETE
    DELETE,
    /// PATCH
    PATCH,
    /// HEAD
    HEAD,
    /// OPTIONS
    OPTIONS,
    /// Any other (client-chosen) method.
    Other,
}

impl MethodLabel {
    /// The label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::GET => "GET",
            Self::POST => "POST",
            Self::PUT => "PUT",
            Self::DELETE => "DELETE",
            Self::PATCH => "PATCH",
            Self::HEAD => "HEAD",
            Self::OPTIONS => "OPTIONS",
            Self::Other => "other",
        }
    }
}

impl EncodeLabelValue for MethodLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> std::fmt::Result {
        encoder.write_str(self.as_str())
    }
}

impl From<&Method> for MethodLabel {
    fn from(method: &Method) -> Self {
        match *method {
            Method::GET => Self::GET,
            Method::POST => Self::POST,
            Method::PUT => Self::PUT,
            Method::DELETE => Self::DELETE,
            Method::PATCH => Self::PATCH,
            Method::HEAD => Self::HEAD,
            Method::OPTIONS => Self::OPTIONS,
            _ => Self::Other,
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: MethodLabel,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TypeLabel {
    r#type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabel {
    action: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabel {
    stage: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkerLabels {
    worker: &'static str,
    found: &'static str,
}

/// The stages of the webhook ingest path, timed by [`Metrics::stage`] (the closed label set of
/// `hoheit_ingest_stage_seconds`). The webhook handler times `route` (route token lookup),
/// `body` (reading the body), `verify`, `parse`, `store` (all events of the POST decided and
/// committed) and `commit_wait` (one event's wait for its group commit, inside `store`); the
/// writer times `queue_wait` (a change set waiting for a writer), `begin` (transaction and audit
/// head locks), `apply` (the batch's statements, sealing included), `flush` (the multi-row
/// inserts and the audit heads) and `commit`. The domain's load and decide is `store` minus
/// `commit_wait`.
pub const INGEST_STAGES: [&str; 11] =
    ["route", "body", "verify", "parse", "store", "commit_wait", "queue_wait", "begin", "apply", "flush", "commit"];

fn stage_histogram() -> Histogram {
    // 50 µs .. about 1.6 s
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

/// All metrics (counters live here; gauges are passed to [`Metrics::render`]).
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    webhook_events: Family<TypeLabel, Counter>,
    webhook_rejected: Family<ReasonLabel, Counter>,
    sends: Family<OutcomeLabel, Counter>,
    refusals: Family<CodeLabel, Counter>,
    retention: Family<ActionLabel, Counter>,
    media: Family<StatusLabel, Counter>,
    webhook_batches: Counter,
    stages: Family<StageLabel, Histogram, fn() -> Histogram>,
    worker_rounds: Family<WorkerLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        // prometheus-client appends `_total` to counter names; the fields are registered in the
        // order written, which is the order of the exposition
        Self {
            requests: registered(
                &mut registry,
                "hoheit_http_requests",
                "HTTP requests by method, route template and status.",
                Family::default(),
            ),
            webhook_events: registered(
                &mut registry,
                "hoheit_webhook_events",
                "Webhook events processed by type.",
                Family::default(),
            ),
            webhook_rejected: registered(
                &mut registry,
                "hoheit_webhook_rejected",
                "Webhook deliveries rejected.",
                Family::default(),
            ),
            sends: registered(&mut registry, "hoheit_sends", "Outbound sends by outcome.", Family::default()),
            refusals: registered(&mut registry, "hoheit_send_refusals", "Send refusals by code.", Family::default()),
            retention: registered(&mut registry, "hoheit_retention", "Retention actions.", Family::default()),
            media: registered(
                &mut registry,
                "hoheit_media_fetches",
                "Media fetch rounds by resulting status.",
                Family::default(),
            ),
            webhook_batches: registered(
                &mut registry,
                "hoheit_webhook_posts",
                "Webhook POSTs committed.",
                Counter::default(),
            ),
            stages: registered(
                &mut registry,
                "hoheit_ingest_stage_seconds",
                "Time spent in each stage of the webhook ingest path (see the stage list in docs/performance.md).",
                Family::new_with_constructor(stage_histogram),
            ),
            worker_rounds: registered(
                &mut registry,
                "hoheit_worker_rounds",
                "Background worker rounds (each issues statements) by worker and whether it found work.",
                Family::default(),
            ),
            registry,
        }
    }
}

/// `metric`, registered in `registry` under `name` with `help` (the registry keeps a handle).
fn registered<M: prometheus_client::registry::Metric + Clone>(
    registry: &mut Registry,
    name: &str,
    help: &str,
    metric: M,
) -> M {
    registry.register(name, help, metric.clone());
    metric
}

impl Metrics {
    /// An HTTP request finished, labelled by method (closed set), route template (`route` must be
    /// the router's matched template or [`UNMATCHED`], never the request path) and status.
    pub fn request(&self, method: &Method, route: &str, status: u16) {
        let labels = RequestLabels { method: MethodLabel::from(method), route: route.to_owned(), status };
        self.requests.get_or_create(&labels).inc();
    }

    /// A webhook event of a type was processed.
    pub fn webhook_event(&self, kind: &'static str) {
        self.webhook_events.get_or_create(&TypeLabel { r#type: kind }).inc();
    }

    /// A webhook was rejected (`unauthenticated`, `malformed`, `unavailable`, `too_large`).
    pub fn webhook_rejected(&self, reason: &'static str) {
        self.webhook_rejected.get_or_create(&ReasonLabel { reason }).inc();
    }

    /// A webhook POST was committed.
    pub fn webhook_batch(&self) {
        self.webhook_batches.inc();
    }

    /// A send ended (`sent`, `refused`, `failed`, `retry`, `unknown`, `dropped`, `lease_expired`).
    pub fn send(&self, outcome: &'static str) {
        self.sends.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    /// A send was refused with a code (at request or dispatch time).
    pub fn refusal(&self, code: &'static str) {
        self.refusals.get_or_create(&CodeLabel { code }).inc();
    }

    /// Retention restricted/erased/held so many.
    pub fn retention(&self, action: &'static str, count: u64) {
        if count > 0 {
            self.retention.get_or_create(&ActionLabel { action }).inc_by(count);
        }
    }

    /// A fetched media file ended as `stored`, `rejected` or (still) `pending`.
    pub fn media(&self, status: &'static str) {
        self.media.get_or_create(&StatusLabel { status }).inc();
    }

    /// One pass of an ingest stage (one of [`INGEST_STAGES`]; others are ignored) took `took`.
    pub fn stage(&self, stage: &'static str, took: std::time::Duration) {
        if INGEST_STAGES.contains(&stage) {
            self.stages.get_or_create(&StageLabel { stage }).observe(took.as_secs_f64());
        }
    }

    /// A background worker (`dispatcher`, `media`) finished a round that issued statements;
    /// `found`: whether it found work.
    pub fn worker_round(&self, worker: &'static str, found: bool) {
        let found = if found { "work" } else { "nothing" };
        self.worker_rounds.get_or_create(&WorkerLabels { worker, found }).inc();
    }

    /// How many rounds a worker made (both outcomes), for tests and diagnostics.
    pub fn worker_rounds(&self, worker: &'static str) -> u64 {
        ["work", "nothing"]
            .iter()
            .map(|found| self.worker_rounds.get_or_create(&WorkerLabels { worker, found }).get())
            .sum()
    }

    /// OpenMetrics text (see [`CONTENT_TYPE`]); gauges `(name, help, value)` are passed in (read
    /// at scrape time).
    pub fn render(&self, gauges: &[(&str, &str, u64)]) -> String {
        let mut scrape = Registry::default();
        for (name, help, value) in gauges {
            let gauge: Gauge = Gauge::default();
            gauge.set(i64::try_from(*value).unwrap_or(i64::MAX));
            scrape.register(*name, *help, gauge);
        }
        let mut out = String::with_capacity(4096);
        // writing into a String cannot fail
        let _ = encode_registry(&mut out, &self.registry)
            .and_then(|()| encode_registry(&mut out, &scrape))
            .and_then(|()| encode_eof(&mut out));
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
            (
                "hoheit_legal_hold_reviews_due",
                "Candidates with a legal hold in force whose review date is reached (R26).",
                counts.legal_hold_reviews_due,
            ),
        ]),
        Err(e) => tracing::warn!(error = %e, "deadline gauges unavailable"),
    }
    gauges
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(body: &str, prefix: &str) -> Option<u64> {
        body.lines().find_map(|l| l.strip_prefix(prefix).and_then(|v| v.trim().parse().ok()))
    }

    #[test]
    fn counters_and_gauges_render_with_their_names() {
        let m = Metrics::default();
        m.request(&Method::GET, "/healthz", 200);
        m.request(&Method::GET, "/healthz", 200);
        m.webhook_event("message");
        m.webhook_rejected("malformed");
        m.webhook_batch();
        m.send("sent");
        m.refusal("no_consent");
        m.retention("erased", 3);
        m.retention("restricted", 0);
        m.media("stored");
        m.stage("commit", std::time::Duration::from_millis(3));
        m.stage("not_a_stage", std::time::Duration::from_millis(3));
        m.worker_round("dispatcher", false);
        let body = m.render(&[("hoheit_outbox_depth", "Entries waiting in the outbox.", 5)]);
        assert_eq!(
            sample(&body, "hoheit_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} "),
            Some(2),
            "{body}"
        );
        assert_eq!(sample(&body, "hoheit_webhook_events_total{type=\"message\"} "), Some(1), "{body}");
        assert_eq!(sample(&body, "hoheit_webhook_rejected_total{reason=\"malformed\"} "), Some(1));
        assert_eq!(sample(&body, "hoheit_webhook_posts_total "), Some(1));
        assert_eq!(sample(&body, "hoheit_sends_total{outcome=\"sent\"} "), Some(1));
        assert_eq!(sample(&body, "hoheit_send_refusals_total{code=\"no_consent\"} "), Some(1));
        assert_eq!(sample(&body, "hoheit_retention_total{action=\"erased\"} "), Some(3));
        assert!(!body.contains("action=\"restricted\""), "{body}");
        assert_eq!(sample(&body, "hoheit_media_fetches_total{status=\"stored\"} "), Some(1));
        assert_eq!(sample(&body, "hoheit_ingest_stage_seconds_count{stage=\"commit\"} "), Some(1), "{body}");
        assert!(!body.contains("not_a_stage"), "{body}");
        assert_eq!(sample(&body, "hoheit_worker_rounds_total{worker=\"dispatcher\",found=\"nothing\"} "), Some(1));
        assert_eq!(m.worker_rounds("dispatcher"), 1);
        assert!(body.contains("# TYPE hoheit_outbox_depth gauge"), "{body}");
        assert_eq!(sample(&body, "hoheit_outbox_depth "), Some(5));
        assert!(body.ends_with("# EOF\n"), "{body}");
    }

    #[test]
    fn unknown_methods_fold_into_other() {
        let m = Metrics::default();
        for name in ["PROPFIND", "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "BREW"] {
            let method = Method::from_bytes(name.as_bytes()).unwrap();
            m.request(&method, UNMATCHED, 404);
        }
        let body = m.render(&[]);
        assert_eq!(
            sample(&body, "hoheit_http_requests_total{method=\"other\",route=\"unmatched\",status=\"404\"} "),
            Some(3),
            "{body}"
        );
        assert!(!body.contains("PROPFIND") && !body.contains("BREW"), "{body}");
    }
}
