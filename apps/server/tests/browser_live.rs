//! Issue 17's live journey in a real browser (chromium over WebDriver, UI.md): a recruiter adds a
//! candidate and asks for consent; the simulated candidate taps "Zustimmen" and the open thread
//! shows it without a reload; the recruiter writes and the tick moves to "gelesen" without a
//! reload; a day later (the server's clock moved on) only templates are offered; the candidate
//! writes "Bitte schreiben Sie mir nicht mehr" and the composer locks with the objection banner,
//! again without a reload. Each state is screenshotted under `target/ui-shots/` and checked with
//! axe-core.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::time::Duration;

use common::web::{browser_journey, fills_new_candidate, invited_sets_password};
use hoheit_dialog360::simulator::SimStatus;
use hoheit_web::testing::Browser;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(20);

/// Waits, without reloading, until the script returns true.
async fn until(b: &Browser, what: &str, script: &str) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        if b.eval(script).await? == json!(true) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("not shown live within {WAIT:?}: {what}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_thread_follows_the_conversation_live() {
    browser_journey("live", live_journey).await;
}

async fn live_journey(h: &hoheit_server::harness::Harness, b: &mut Browser) -> Result<(), String> {
    let base = h.base.clone();
    let t = common::tenant(h, "Beispiel GmbH", h.sim.phone_number_id()).await;
    let password = "Sonnenblumenfeld-Nord-7";
    invited_sets_password(
        b,
        &base,
        &t.admin,
        json!({"role": "recruiter", "email": "rita@beispiel.example", "display_name": "Rita Recruiterin"}),
        password,
    )
    .await?;

    // the recruiter adds a candidate and asks for consent
    fills_new_candidate(b, "Erika Mustermann", "0170 5550123").await?;
    b.click("#new-candidate button[type=submit]").await?;
    b.wait_for("#consent-request").await?;
    let url = b.client().current_url().await.map_err(|e| e.to_string())?;
    let c = url.path().trim_start_matches("/inbox/").to_owned();
    b.click("#consent-request").await?;
    b.wait_for("#sent").await?;
    b.wait_for("#live[sse-connect]").await?;
    // the stream is open before the candidate answers (the page's cursor covers the gap anyway)
    tokio::time::sleep(Duration::from_millis(500)).await;

    // the candidate taps "Zustimmen": the reply appears, and the composer offers free text
    let payload = common::consent_payload(h, WAIT).await;
    h.sim.inject_button_reply(common::WA, &payload, "Zustimmen");
    until(b, "the consent reply", "return document.getElementById('thread').textContent.includes('Zustimmen')").await?;
    until(b, "the free-text composer", "return !!document.querySelector('form.compose-text textarea#text')").await?;
    b.check_page("live-consented").await?;

    // the recruiter writes; the provider reports it read: the tick says so
    b.fill("#text", "Vielen Dank! Passt Ihnen Dienstag um 10 Uhr?").await?;
    b.click("form.compose-text button[type=submit]").await?;
    b.wait_for("#sent").await?;
    let mut wamid = None;
    for _ in 0..100 {
        wamid = h
            .sim
            .accepted_messages()
            .into_iter()
            .find(|m| m.body.to_string().contains("Dienstag um 10 Uhr"))
            .map(|m| m.id);
        if wamid.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let wamid = wamid.ok_or("the message did not reach the provider")?;
    until(b, "a delivery state", "return !!document.querySelector('#thread li.outbound:last-child .status')").await?;
    h.sim.inject_status(&wamid, SimStatus::Read, common::WA);
    until(
        b,
        "the tick at gelesen",
        "return document.querySelector('#thread li.outbound:last-child .status').textContent.trim() === 'gelesen'",
    )
    .await?;
    b.check_page("live-read").await?;

    // a day later the window is closed: only templates (the session timed out meanwhile)
    h.state.clock.advance(time::Duration::hours(25));
    b.goto(&format!("{base}/inbox/{c}")).await?;
    b.wait_for("form.signin").await?;
    b.fill("#email", "rita@beispiel.example").await?;
    b.fill("#password", password).await?;
    b.click("form.signin button[type=submit]").await?;
    b.wait_for("nav a[href='/inbox']").await?;
    b.goto(&format!("{base}/inbox/{c}")).await?;
    b.wait_for("#composer").await?;
    assert_eq!(b.eval("return !!document.querySelector('textarea#text')").await?, json!(false), "no free text");
    assert_eq!(b.eval("return document.querySelectorAll('form.compose-template').length > 0").await?, json!(true));
    assert!(b.text("#window").await?.contains("geschlossen"), "{}", b.text("#window").await?);
    b.check_page("live-window-closed").await?;

    // the candidate says stop in their own words: the composer locks, with the banner
    tokio::time::sleep(Duration::from_millis(300)).await;
    h.sim.inject_inbound_text(common::WA, "Bitte schreiben Sie mir nicht mehr");
    until(
        b,
        "the objection banner",
        "var b = document.getElementById('composer-banner'); return !!b && b.textContent.includes('widersprochen')",
    )
    .await?;
    assert_eq!(b.eval("return document.querySelectorAll('form.compose-template').length").await?, json!(0));
    assert!(b.text("#thread").await?.contains("Bitte schreiben Sie mir nicht mehr"));
    b.check_page("live-objected").await?;

    // the conversation list follows too: a new message shows as unread without a reload
    b.click("nav a[href='/inbox']").await?;
    b.wait_for("#inbox-live[sse-connect]").await?;
    let unread = format!("return document.getElementById('unread-{c}').textContent.trim()");
    assert_eq!(b.eval(&unread).await?, json!("alles gelesen"), "the objection was read in the thread");
    tokio::time::sleep(Duration::from_millis(300)).await;
    h.sim.inject_inbound_text(common::WA, "Danke für Ihr Verständnis");
    until(b, "the unread count", &format!("{unread}.startsWith('1 ')")).await?;
    b.check_page("live-list").await?;
    Ok(())
}
