//! Issue 18's browser journey (Debian chromium + chromedriver, docs/ui.md): the DPO sets up the
//! account, approves the channel, registers a subject request received by mail, downloads the
//! export, erases the rejected candidate (the AGG claims window shown in words), verifies the
//! audit log and takes a checkpoint, and prints the Art. 30 record (Chromium's print-to-PDF,
//! checked with pdftoppm/pdftotext: no navigation or controls on paper); then the admin publishes
//! a material privacy-notice version and is told that consents must be renewed. Screenshots of
//! each page under target/ui-shots/, axe-core clean. Skipped without chromium, unless CI=true.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::web::{browser_journey, invited_sets_password, sets_up_totp};
use hoheit_web::testing::Browser;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dpo_console_journey() {
    browser_journey("dpo-console", journey).await;
}

async fn journey(h: &hoheit_server::harness::Harness, b: &mut Browser) -> Result<(), String> {
    let base = h.base.clone();
    let (t, c) = common::consenting(h).await;
    // the fixture's approval is revoked, so that the DPO of this journey approves; she is invited
    // by an admin other than the one who registered the channel (R1's separation of duties)
    let revoked = t.dpo.delete(&format!("/api/v1/channels/{}/approval", t.channel)).await;
    assert_eq!(revoked.status, 204, "{:?}", revoked.json);
    let second = t.admin.post("/api/v1/tokens", json!({"role": "admin", "label": "zweite"})).await;
    let second = h.client(second.str("/token").unwrap());
    let dora = json!({"role": "dpo", "email": "dora@beispiel.example", "display_name": "Dora Datenschutz"});
    invited_sets_password(b, &base, &second, dora, "Leuchtturm-Insel-Nord-5").await?;
    sets_up_totp(b).await?;

    // the overview, then the channel's approval
    b.click("nav a[href='/console']").await?;
    b.wait_for("#channels").await?;
    b.check_page("overview").await?;
    b.click("a[href='/console/channels']").await?;
    b.fill("form.approve input[name=approver_name]", "Dora Datenschutz").await?;
    b.fill("form.approve input[name=dpia_reference]", "DSFA-2026-07").await?;
    b.fill("form.approve textarea[name=documents]", "AVV 360dialog @ 2026-03").await?;
    b.check_page("channels-unapproved").await?;
    b.click("form.approve button[type=submit]").await?;
    b.wait_for("#done").await?;
    assert!(b.text(".approval").await?.starts_with("nächste Überprüfung am"));
    b.check_page("channels-approved").await?;

    // a request for access received by mail: registered, answered with the export
    b.goto(&format!("{base}/console/requests")).await?;
    b.wait_for("#no-requests").await?;
    b.check_page("requests-empty").await?;
    b.click("#channel option[value=email]").await?;
    b.fill("#phone", "0170 5550123").await?;
    b.click("#register button[type=submit]").await?;
    b.wait_for("#countdown").await?;
    assert!(b.text("#request").await?.contains(&c));
    b.check_page("request-access").await?;
    b.click("#export button[type=submit]").await?;
    // the document is a download: the page stays; reloaded, the request shows its SHA-256
    let detail = b.client().current_url().await.map_err(|e| e.to_string())?;
    let sha = loop_until(b, detail.as_str(), "#sha256").await?;
    assert!(sha.len() == 64 && sha.chars().all(|ch| ch.is_ascii_hexdigit()), "{sha}");
    b.check_page("request-exported").await?;

    // an erasure request after the rejection: deferred by the AGG claims window, said in words
    let end = t.recruiter.post(&format!("/api/v1/candidates/{c}/process-end"), json!({"reason": "rejected"})).await;
    assert_eq!(end.status, 200, "{:?}", end.json);
    b.goto(&format!("{base}/console/requests")).await?;
    b.click("#kind option[value=erasure]").await?;
    b.click("#channel option[value=email]").await?;
    b.fill("#phone", "+49 170 5550123").await?;
    b.click("#register button[type=submit]").await?;
    b.click("#understood").await?;
    b.check_page("request-erasure").await?;
    b.click("#erase button[type=submit]").await?;
    // the registration's notice stood in #done before: wait for the erasure's
    let notice = text_when(b, "#done", "AGG").await?;
    assert!(notice.contains("AGG") && notice.contains("gelöscht am"), "{notice}");
    b.check_page("request-erasure-deferred").await?;

    // the audit log: verified, a checkpoint taken (a download), verified again with it
    b.goto(&format!("{base}/console/audit")).await?;
    b.wait_for("#entries").await?;
    b.check_page("audit").await?;
    b.click("#verify button[type=submit]").await?;
    assert!(b.text("#verdict").await?.contains("Noch kein Prüfpunkt"));
    b.click("#checkpoint button[type=submit]").await?;
    let verdict = loop_until_contains(b, &format!("{base}/console/audit?verify=1"), "#verdict", "abgesichert").await?;
    assert!(verdict.starts_with("Die Protokollkette ist unverändert"), "{verdict}");
    b.check_page("audit-verified").await?;

    // the Art. 30 record: a page, and on paper without navigation or controls
    b.goto(&format!("{base}/console/records")).await?;
    b.wait_for("#record").await?;
    b.check_page("record").await?;
    if let Some(paper) = b.print_page("record-print").await? {
        assert!(paper.contains("Verzeichnis von Verarbeitungstätigkeiten"), "{paper}");
        assert!(paper.contains("Beispiel GmbH") && paper.contains("+4930901820"), "{paper}");
        assert!(!paper.contains("Abmelden") && !paper.contains("Sprache"), "navigation is not printed: {paper}");
    }
    b.goto(&format!("{base}/console/records/privacy-notice")).await?;
    b.wait_for("#section").await?;
    b.check_page("privacy-section").await?;
    b.goto(&format!("{base}/console/retention")).await?;
    b.wait_for("#policy").await?;
    b.check_page("retention").await?;
    b.click("form[action='/signout'] button[type=submit]").await?;

    // the admin publishes a material privacy-notice version: consents must be renewed
    let anna = json!({"role": "admin", "email": "anna@beispiel.example", "display_name": "Anna Admin"});
    invited_sets_password(b, &base, &t.admin, anna, "Kastanienbaum-Wiese-42").await?;
    sets_up_totp(b).await?;
    b.goto(&format!("{base}/console/legal-texts")).await?;
    b.wait_for("#legal-texts").await?;
    b.click("#lt-kind option[value=privacy_notice]").await?;
    b.fill("#lt-version", "v2").await?;
    b.fill("#lt-body", "Datenschutzhinweise, Fassung 2: neue Empfänger.").await?;
    b.wait_for("#legal-preview").await?;
    b.check_page("legal-draft").await?;
    b.click("#publish button[type=submit]:not([formaction])").await?;
    let notice = b.text("#done").await?;
    assert!(notice.contains("erneuert werden (R7)"), "{notice}");
    b.check_page("legal-published").await?;
    // people and credentials
    b.click("nav a[href='/staff']").await?;
    b.wait_for("#tokens").await?;
    b.check_page("people").await?;
    Ok(())
}

/// Reloads `url` until an element matching `css` appears (a POST that answered with a download
/// leaves the page as it was); its text.
async fn loop_until(b: &Browser, url: &str, css: &str) -> Result<String, String> {
    loop_until_contains(b, url, css, "").await
}

/// Reloads `url` until the element matching `css` contains `needle`; its text.
async fn loop_until_contains(b: &Browser, url: &str, css: &str, needle: &str) -> Result<String, String> {
    for _ in 0..50 {
        b.goto(url).await?;
        if let Ok(text) = b.text(css).await
            && text.contains(needle)
        {
            return Ok(text);
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    Err(format!("{css} with {needle:?} did not appear at {url}"))
}

/// Waits until the element matching `css` contains `needle` (the page may still be the one before
/// a form was sent); its text.
async fn text_when(b: &Browser, css: &str, needle: &str) -> Result<String, String> {
    for _ in 0..75 {
        if let Ok(text) = b.text(css).await
            && text.contains(needle)
        {
            return Ok(text);
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    Err(format!("{css} did not come to contain {needle:?}"))
}
