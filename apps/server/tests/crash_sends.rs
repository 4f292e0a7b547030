//! Exactly-once sends across crashes (issue 14 item 5), end to end: the real server with the
//! 360Dialog simulator. A "crash" between the provider's acceptance and the commit is a dispatch
//! whose gateway call reaches the simulator (which accepts the message and, like WhatsApp, sends
//! status webhooks echoing `biz_opaque_callback_data`) but never returns, so nothing after it is
//! committed; the server's own dispatcher then takes over, as after a restart. The subprocess
//! version with real `abort()`s is the crash drill (`hoheit-load crash-send`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use hoheit_dialog360::simulator::WebhookTarget;
use hoheit_domain::attempt::callback_tag;
use hoheit_domain::ids::{CandidateId, TenantId};
use hoheit_domain::ports::{Clock, OutboxEntry};
use hoheit_domain::usecases::Hoheit;
use hoheit_server::failpoint::AbortAfterSend;
use hoheit_server::harness::{Harness, HarnessOptions, eventually};
use hoheit_server::state::UuidV7;
use serde_json::json;

const TEXT: &str = "CANARY-crash-Einladung";

struct Setup {
    h: Harness,
    _dir: tempfile::TempDir,
    t: Tenant,
    tenant: TenantId,
    candidate: CandidateId,
}

/// A consented candidate with an open window and one queued message; no dispatcher running.
async fn setup(status_webhooks: bool) -> Setup {
    let mut options = HarnessOptions::new(std::path::PathBuf::new());
    options.workers = false;
    options.simulator.status_webhooks.enabled = status_webhooks;
    options.simulator.webhook_attempts = 20;
    if let Some(url) = postgres_database().await {
        options.database_url = Some(url);
    }
    let (h, dir) = start(options).await;
    let t = tenant(&h, "Beispiel GmbH", h.sim.phone_number_id()).await;
    h.sim.set_webhook(
        WebhookTarget::new(format!("{}{}", h.base, t.webhook_path))
            .with_header("x-hoheit-webhook-secret", t.webhook_secret.clone()),
    );
    let c = candidate(&t, NUMBER).await;
    let pnid = h.sim.phone_number_id().to_owned();
    let r = record_verbal_consent(&t, &c).await;
    assert!(r.status < 300, "{:?}", r.json);
    assert_eq!(
        post_webhook(&h, &t, &inbound_text(&pnid, WA, "wamid.H", "Hallo", now_unix()), Some(&t.webhook_secret)).await,
        200
    );
    let r = t.recruiter.post(&format!("/api/v1/candidates/{c}/messages"), json!({"text": TEXT})).await;
    assert_eq!(r.status, 202, "{:?}", r.json);
    let tenant = t.id.parse().unwrap();
    let candidate = c.parse().unwrap();
    Setup { h, _dir: dir, t, tenant, candidate }
}

/// Claims the queued message for 1 s and dispatches it until 360Dialog accepted it; then the
/// dispatch "dies". Returns the entry.
async fn crash_after_acceptance(s: &Setup) -> OutboxEntry {
    let state = &s.h.state;
    let claimed = state.outbox.claim(state.clock.now(), time::Duration::seconds(1), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let dying = Hoheit::new(
        state.store.clone(),
        // passes the send on to 360Dialog and then never returns: the process "died" after the
        // acceptance
        Arc::new(AbortAfterSend::new(state.gateway.clone(), 1).hanging()),
        state.clock.clone(),
        Arc::new(UuidV7),
    );
    let dispatch = tokio::time::timeout(Duration::from_secs(3), dying.dispatch(&claimed[0])).await;
    assert!(dispatch.is_err(), "the dispatch never finished: {dispatch:?}");
    let accepted = accepted_copies(s);
    assert_eq!(accepted.len(), 1, "360Dialog accepted it once");
    assert_eq!(accepted[0]["biz_opaque_callback_data"], callback_tag(claimed[0].id), "tagged with the outbox id");
    claimed[0].clone()
}

/// The bodies of the accepted copies of the test message.
fn accepted_copies(s: &Setup) -> Vec<serde_json::Value> {
    s.h.sim.accepted_messages().into_iter().filter(|m| m.body.to_string().contains(TEXT)).map(|m| m.body).collect()
}

async fn pending(s: &Setup) -> Vec<OutboxEntry> {
    s.h.state.store.pending_outbox(s.tenant, s.candidate).await.unwrap()
}

async fn message_status(s: &Setup) -> String {
    let r = s.t.recruiter.get(&format!("/api/v1/candidates/{}/messages", s.candidate)).await;
    let messages = r.json["messages"].as_array().cloned().unwrap_or_default();
    let ours =
        messages.iter().find(|m| m["direction"] == "outbound" && m["kind"] == "text" && m["intent"] == "regular");
    ours.and_then(|m| m["status"].as_str()).unwrap_or("none").to_owned()
}

/// Runs the server's dispatcher (as after the restart) until `done` or `limit`.
async fn run_dispatcher_until<F, Fut>(s: &Setup, limit: Duration, done: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let (tx, rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(hoheit_server::workers::dispatcher(s.h.state.clone(), rx));
    let ok = eventually(limit, done).await;
    let _ = tx.send(true);
    worker.await.unwrap();
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_cut_off_after_acceptance_is_confirmed_by_its_status_webhook_and_not_resent() {
    let s = setup(true).await;
    let entry = crash_after_acceptance(&s).await;
    // the status webhooks echo the tag: the receipt is recorded on the open attempt
    assert!(
        eventually(Duration::from_secs(10), || async {
            pending(&s).await.first().and_then(|e| e.attempt.as_ref()).is_some_and(|a| a.receipt.is_some())
        })
        .await,
        "the status webhook carried the outbox id"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await; // the dead claim's lease is over
    assert!(run_dispatcher_until(&s, Duration::from_secs(15), || async { pending(&s).await.is_empty() }).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(accepted_copies(&s).len(), 1, "not resent");
    let status = message_status(&s).await;
    assert!(["sent", "delivered", "read"].contains(&status.as_str()), "recorded as sent: {status}");
    assert_eq!(callback_tag(entry.id), accepted_copies(&s)[0]["biz_opaque_callback_data"]);
    s.h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_status_webhook_it_is_resent_once_after_the_wait() {
    let s = setup(false).await;
    let entry = crash_after_acceptance(&s).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // within the wait (5 min by default): the dispatcher leaves it alone
    let resent = run_dispatcher_until(&s, Duration::from_secs(2), || async { accepted_copies(&s).len() > 1 }).await;
    assert!(!resent);
    assert_eq!(accepted_copies(&s).len(), 1, "not resent within the wait");
    assert_eq!(pending(&s).await.len(), 1);
    // the wait is over without a status: decided again and resent, with the same tag
    s.h.state.clock.advance(time::Duration::minutes(5));
    assert!(run_dispatcher_until(&s, Duration::from_secs(15), || async { pending(&s).await.is_empty() }).await);
    let copies = accepted_copies(&s);
    assert_eq!(copies.len(), 2, "the one duplicate the design accepts when no status ever comes");
    assert!(copies.iter().all(|c| c["biz_opaque_callback_data"] == callback_tag(entry.id)));
    assert_eq!(message_status(&s).await, "accepted");
    s.h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_objection_during_the_wait_means_it_is_not_resent() {
    let s = setup(false).await;
    let entry = crash_after_acceptance(&s).await;
    let pnid = s.h.sim.phone_number_id().to_owned();
    let stop = inbound_text(&pnid, WA, "wamid.S", "STOPP", now_unix());
    assert_eq!(post_webhook(&s.h, &s.t, &stop, Some(&s.t.webhook_secret)).await, 200);
    let open = pending(&s).await;
    assert!(
        open.iter().any(|e| e.id == entry.id && e.attempt.is_some()),
        "the open attempt stays until it is decided again (next to the queued confirmation)"
    );
    s.h.state.clock.advance(time::Duration::minutes(6));
    assert!(run_dispatcher_until(&s, Duration::from_secs(15), || async { pending(&s).await.is_empty() }).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(accepted_copies(&s).len(), 1, "not resent after the objection");
    let confirmations =
        s.h.sim.accepted_messages().iter().filter(|m| m.body.to_string().contains("Widerspruch")).count();
    assert_eq!(confirmations, 1, "the objection is confirmed");
    assert_eq!(message_status(&s).await, "cancelled");
    s.h.stop().await;
}
