//! No personal data or secrets in the logs: an end-to-end run at debug level with a canary number
//! and canary texts, then the captured log output is searched for them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use hoheit_server::harness::eventually;
use serde_json::json;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// a number that can exist (0151 numbers have 8 digits after the prefix): impossible ones are refused
const CANARY_NUMBER: &str = "+49 151 77700001";
const CANARY_WA: &str = "4915177700001";
const CANARY_TEXT: &str = "CANARY-Geheimnis-4711";
const CANARY_NAME: &str = "Kanarienvogel Mustermann";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_end_to_end_run_logs_no_personal_data_or_secrets() {
    let capture = Capture::default();
    let writer = capture.clone();
    hoheit_server::telemetry::init(hoheit_server::config::LogFormat::Json, "debug", move || writer.clone());
    let (h, _dir) = sqlite().await;
    let t = tenant(&h, "Beispiel GmbH", h.sim.phone_number_id()).await;
    let r = t
        .recruiter
        .post("/api/v1/candidates", json!({"phone": CANARY_NUMBER, "name": CANARY_NAME, "channel_id": t.channel}))
        .await;
    let c = r.str("/id").unwrap().to_owned();
    assert_eq!(t.recruiter.post(&format!("/api/v1/candidates/{c}/consent-request"), json!({})).await.status, 202);
    accept_consent(&h, &t, &c, CANARY_WA, Duration::from_secs(10)).await;
    h.sim.inject_inbound_text(CANARY_WA, CANARY_TEXT);
    assert_eq!(
        t.recruiter.post(&format!("/api/v1/candidates/{c}/messages"), json!({"text": CANARY_TEXT})).await.status,
        202
    );
    assert!(
        eventually(Duration::from_secs(10), || async {
            h.sim.accepted_messages().iter().any(|m| m.body.to_string().contains(CANARY_TEXT))
        })
        .await
    );
    // bad input with the canary, a failing webhook with the canary, an objection note
    t.recruiter
        .post("/api/v1/candidates", json!({"phone": format!("{CANARY_NUMBER} x"), "channel_id": t.channel}))
        .await;
    post_webhook(
        &h,
        &t,
        &inbound_text(h.sim.phone_number_id(), CANARY_WA, "wamid.L1", CANARY_TEXT, now_unix()),
        Some("wrong"),
    )
    .await;
    t.recruiter
        .post(&format!("/api/v1/candidates/{c}/objections"), json!({"channel": "phone", "note": CANARY_TEXT}))
        .await;
    t.dpo.get(&format!("/api/v1/candidates/{c}/export")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    h.stop().await;

    let logs = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    assert!(logs.len() > 500, "the capture works: {} bytes", logs.len());
    assert!(logs.contains("request_id"), "request ids are logged");
    for needle in
        [CANARY_TEXT, CANARY_WA, "15177700001", CANARY_NAME, "Kanarienvogel", &t.webhook_secret, "sim-api-key", "hoh_"]
    {
        assert!(!logs.contains(needle), "{needle} leaked into the logs");
    }
    let path_token = t.webhook_path.rsplit('/').next().unwrap();
    assert!(!logs.contains(path_token), "the webhook route token leaked into the logs");
}
