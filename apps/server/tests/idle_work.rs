//! No idle work under load (issue 19): the background workers issue statements in proportion to
//! the work they have, not to inbound traffic. Inbound texts and delivery statuses that queue
//! nothing and announce no file do not wake the dispatcher or the media fetcher; a message that
//! queues an answer (STOPP: the objection confirmation) wakes the dispatcher, and an announced
//! file wakes the media fetcher. Both workers' periodic look is set far out, so every round
//! counted here was a wake-up.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::{inbound_text, now_unix, post_webhook, status, tenant};
use hoheit_server::harness::{HarnessOptions, eventually};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_only_load_wakes_no_worker_and_work_wakes_the_right_one() {
    let mut options = HarnessOptions::new(std::path::PathBuf::new());
    options.database_url = common::postgres_database().await;
    options.env = vec![
        ("HOHEIT_DISPATCHER__IDLE_MILLIS".into(), "600000".into()),
        ("HOHEIT_MEDIA__FETCH_INTERVAL_SECONDS".into(), "3600".into()),
    ];
    let (h, _dir) = common::start(options).await;
    let t = tenant(&h, "Beispiel GmbH", h.sim.phone_number_id()).await;
    let pnid = h.sim.phone_number_id().to_owned();
    let rounds = |worker| h.state.metrics.worker_rounds(worker);
    // the rounds at start-up (and any the set-up caused) are over
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (dispatcher_before, media_before) = (rounds("dispatcher"), rounds("media"));

    let now = now_unix();
    for i in 0..100 {
        let from = format!("4917011{i:05}");
        let text = inbound_text(&pnid, &from, &format!("wamid.IDLE{i}"), "Ich interessiere mich für die Stelle.", now);
        assert_eq!(post_webhook(&h, &t, &text, Some(&t.webhook_secret)).await, 200);
        let sent = status(&pnid, &format!("wamid.OUT{i}"), "delivered", now);
        assert_eq!(post_webhook(&h, &t, &sent, Some(&t.webhook_secret)).await, 200);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rounds("dispatcher"), dispatcher_before, "200 webhooks that queued nothing woke the dispatcher");
    assert_eq!(rounds("media"), media_before, "200 webhooks that announced no file woke the media fetcher");

    // an objection queues its confirmation: the dispatcher is woken (and sends it)
    let stop = inbound_text(&pnid, "491701100007", "wamid.IDLESTOP", "STOPP", now);
    assert_eq!(post_webhook(&h, &t, &stop, Some(&t.webhook_secret)).await, 200);
    assert!(
        eventually(Duration::from_secs(10), || async { rounds("dispatcher") > dispatcher_before }).await,
        "the queued confirmation did not wake the dispatcher"
    );
    assert_eq!(rounds("media"), media_before, "the objection woke the media fetcher");

    // an announced file wakes the media fetcher
    let pdf = b"%PDF-1.7 Lebenslauf".to_vec();
    let file = h.sim.add_media(pdf, "application/pdf");
    let document = json!({"object": "whatsapp_business_account", "entry": [{"id": "200", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "4930901820", "phone_number_id": pnid},
        "contacts": [{"profile": {"name": "Erika"}, "wa_id": "491701100008"}],
        "messages": [{"from": "491701100008", "id": "wamid.IDLEDOC", "timestamp": now.to_string(), "type": "document",
            "document": {"id": file, "mime_type": "application/pdf", "filename": "Lebenslauf.pdf"}}]
    }}]}]});
    assert_eq!(post_webhook(&h, &t, &document, Some(&t.webhook_secret)).await, 200);
    assert!(
        eventually(Duration::from_secs(10), || async { rounds("media") > media_before }).await,
        "the announced file did not wake the media fetcher"
    );
}
