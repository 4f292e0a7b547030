//! The browser journey of issue 16 (Debian chromium + chromedriver, docs/ui.md): an admin accepts
//! the invitation, sets a password and TOTP (the code computed from the key the page shows),
//! keeps the recovery codes, signs out and in again with the second factor, invites a recruiter;
//! the recruiter accepts by binding the account of the tenant's identity provider (the OIDC
//! stand-in of `hoheit-oidc`) and signs in through it again; both sign out. Screenshots under
//! target/ui-shots/, axe-core clean on every page. Skipped with a message without chromium,
//! unless CI=true.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::web::{browser_journey, fills_new_candidate, invited_sets_password, sets_up_totp, signs_out, totp};
use hoheit_domain::actor::Actor;
use hoheit_domain::ids::TenantId;
use hoheit_domain::tenant::Role;
use hoheit_domain::usecases::StaffInvite;
use hoheit_oidc::stand_in::{StandIn, StandInConfig, StandInUser};
use hoheit_server::harness::HarnessOptions;
use hoheit_web::testing::Browser;
use serde_json::json;

const ADMIN_PASSWORD: &str = "Kastanienbaum-Wiese-42";
const NEW_ADMIN_PASSWORD: &str = "Lindenallee-Brunnen-17";
const CLIENT_ID: &str = "hoheit-browser";
const CLIENT_SECRET: &str = "client-secret-of-the-journey";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_and_recruiter_sign_in_journey() {
    let Some(mut b) = Browser::start("identity").await.unwrap() else { return };
    let mut options = HarnessOptions::new(std::path::PathBuf::new());
    // the stand-in identity provider is http on loopback
    options.env.push(("HOHEIT_OIDC__ALLOW_INSECURE_LOOPBACK".into(), "true".into()));
    options.env.push(("HOHEIT_WEB__SESSION_WARNING_SECONDS".into(), "1798".into()));
    let (h, _dir) = common::start(options).await;
    let result = journey(&h, &mut b).await;
    b.close().await;
    h.stop().await;
    result.unwrap();
}

async fn journey(h: &hoheit_server::harness::Harness, b: &mut Browser) -> Result<(), String> {
    let base = h.base.clone();
    let r = common::operator_creates_tenant(
        h,
        json!({"name": "Muster GmbH", "privacy_contact": "dsb@muster.example", "privacy_notice_url": "https://muster.example/datenschutz"}),
    )
    .await;
    let tenant = TenantId::from_uuid(uuid::Uuid::parse_str(r.str("/id").unwrap()).unwrap());
    let first_admin_invitation = r.str("/admin_invitation/invitation").unwrap().to_owned();
    let invite = StaffInvite {
        role: Role::Admin,
        email: "ada.admin@muster.example".into(),
        display_name: "Ada Admin".into(),
        language: None,
    };
    let invited = h.state.app.invite_staff(Actor::System, tenant, invite).await.map_err(|e| e.to_string())?;

    // the admin accepts the invitation: password, then TOTP
    b.goto(&format!("{base}/invitation/{}", invited.secret.expose())).await?;
    assert_eq!(b.text("#invited-role").await?, "Administration");
    b.check_page("accept-invitation").await?;
    b.fill("#password", ADMIN_PASSWORD).await?;
    b.fill("#password_repeat", ADMIN_PASSWORD).await?;
    b.click("form[action^='/invitation/'] button[type=submit]").await?;
    let secret = b.text("#totp-secret").await?;
    // the QR code is an image rendered by the server
    let loaded = b.eval("const i = document.querySelector('.qr img'); return i.complete && i.naturalWidth > 0").await?;
    assert_eq!(loaded, json!(true), "QR code image loaded");
    b.check_page("totp-setup").await?;
    b.fill("#code", &totp(&secret, 0)).await?;
    b.click("form[action='/setup/totp'] button[type=submit]").await?;
    b.wait_for("#recovery-codes").await?;
    let codes = b.eval("return [...document.querySelectorAll('#recovery-codes li')].map(li => li.textContent)").await?;
    assert_eq!(codes.as_array().map(Vec::len), Some(10), "{codes}");
    b.check_page("recovery-codes").await?;
    b.click("main a.button").await?;
    assert_eq!(b.text("#who").await?, "Ada Admin");
    b.check_page("admin-start").await?;
    // the idle time-out warning (here 1798 s before the 1800 s idle time-out, so 2 s after the
    // page was rendered) appears and offers "Verlängern"
    b.wait_for("#session-warning:not([hidden])").await?;
    b.check_page("session-warning").await?;
    b.click("#session-extend").await?;
    b.wait_for("#sessions").await?;
    let notice = b.text("main .banner.ok").await?;
    assert!(notice.contains("verlängert"), "{notice}");

    // sign out, sign in again: password, then the next TOTP code (a used step is refused)
    signs_out(b).await?;
    b.check_page("signed-out").await?;
    b.fill("#email", "ada.admin@muster.example").await?;
    b.fill("#password", "wrong password, long enough").await?;
    b.click("form.signin button[type=submit]").await?;
    let error = b.text("#form-error").await?;
    assert!(error.contains("E-Mail-Adresse oder Passwort ist falsch"), "{error}");
    b.check_page("sign-in-failed").await?;
    b.fill("#password", ADMIN_PASSWORD).await?;
    b.click("form.signin button[type=submit]").await?;
    b.wait_for("form[action='/signin/code']").await?;
    b.check_page("second-factor").await?;
    b.fill("#code", &totp(&secret, 1)).await?;
    b.click("form[action='/signin/code'] button[type=submit]").await?;
    assert_eq!(b.text("#who").await?, "Ada Admin");

    // the admin changes the password: the current one confirms it
    b.click("nav a[href='/password']").await?;
    b.fill("#current_password", "not the password at all").await?;
    b.fill("#password", NEW_ADMIN_PASSWORD).await?;
    b.fill("#password_repeat", NEW_ADMIN_PASSWORD).await?;
    b.click("form.password button[type=submit]").await?;
    let error = b.text("#form-error").await?;
    assert!(error.contains("bisherige Passwort"), "{error}");
    b.check_page("password-wrong").await?;
    b.fill("#current_password", ADMIN_PASSWORD).await?;
    b.fill("#password", NEW_ADMIN_PASSWORD).await?;
    b.fill("#password_repeat", NEW_ADMIN_PASSWORD).await?;
    b.click("form.password button[type=submit]").await?;
    b.wait_for("#password-changed").await?;
    b.check_page("password-changed").await?;

    // the admin invites a recruiter
    b.click("nav a[href='/staff']").await?;
    b.fill("#display_name", "Rita Recruiterin").await?;
    b.fill("#email", "rita@muster.example").await?;
    b.click("form[action='/staff/invite'] button[type=submit]").await?;
    let link = b.text("#invitation-link").await?;
    assert!(link.starts_with(&format!("{base}/invitation/")), "{link}");
    b.check_page("staff-invited").await?;

    // own sessions, then sign out
    b.click("nav a[href='/sessions']").await?;
    b.wait_for("#sessions tbody tr").await?;
    b.check_page("sessions").await?;
    signs_out(b).await?;
    let cookies = b.client().get_all_cookies().await.map_err(|e| e.to_string())?;
    assert!(cookies.iter().all(|c| c.name() != "__Host-hoheit_session"), "session cookie removed");

    // the tenant's identity provider (the stand-in), set up by the first admin's machine token;
    // it signs in the recruiter without a form (auto-approve)
    let mut config = StandInConfig::new(CLIENT_ID, CLIENT_SECRET, &format!("{base}/auth/oidc/callback"));
    config.users = vec![StandInUser::new("rita-sub", "rita@muster.example", "Rita Recruiterin", &["hr"])];
    config.auto_approve = Some("rita-sub".into());
    let idp = StandIn::start(config).await.map_err(|e| e.to_string())?;
    let admin = h.client(&common::accept(h, &first_admin_invitation, None).await);
    let r = admin
        .put(
            "/api/v1/settings/oidc",
            json!({"enabled": true, "issuer": idp.issuer(), "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                   "allowed_email_domains": ["muster.example"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.json);

    // the recruiter accepts by binding the provider's account and lands on the recruiter start page
    b.goto(&link).await?;
    assert_eq!(b.text("#invited-role").await?, "Recruiting");
    b.click("#accept-oidc").await?;
    assert_eq!(b.text("#who").await?, "Rita Recruiterin");
    let staff_link = b.eval("return document.querySelector(\"nav a[href='/staff']\") !== null").await?;
    assert_eq!(staff_link, json!(false), "no staff page link for a recruiter");
    let password_link = b.eval("return document.querySelector(\"nav a[href='/password']\") !== null").await?;
    assert_eq!(password_link, json!(false), "no password page for an account of the identity provider");
    b.check_page("recruiter-start").await?;
    // the staff page is refused by the server, not only hidden
    b.goto(&format!("{base}/staff")).await?;
    assert_eq!(b.text("h1").await?, "Mitarbeitende");
    assert!(b.text("main").await?.contains("Das dürfen Sie mit Ihrer Rolle nicht"));
    b.goto(&format!("{base}/")).await?;
    signs_out(b).await?;
    // signing in again goes through the identity provider: "Mit Ihrem Unternehmenskonto anmelden"
    b.click("#signin-oidc").await?;
    assert_eq!(b.text("#who").await?, "Rita Recruiterin");
    signs_out(b).await?;
    b.check_page("recruiter-signed-out").await?;
    let cookies = b.client().get_all_cookies().await.map_err(|e| e.to_string())?;
    assert!(cookies.iter().all(|c| c.name() != "__Host-hoheit_session"), "session cookie removed");
    drop(idp);
    Ok(())
}

/// Issue 17 (first part) in a real browser: a recruiter opens the inbox, a conversation whose
/// candidate consented and wrote, and answers with free text; inbox and thread pass axe-core.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recruiter_inbox_journey() {
    browser_journey("inbox", inbox_journey).await;
}

async fn inbox_journey(h: &hoheit_server::harness::Harness, b: &mut Browser) -> Result<(), String> {
    let base = h.base.clone();
    let (t, c) = common::consenting(h).await;
    assert_eq!(
        common::candidate_writes(h, &t, "wamid.inbox-browser-1", "Guten Tag, ist die Stelle noch frei?").await,
        200
    );
    invited_sets_password(
        b,
        &base,
        &t.admin,
        json!({"role": "recruiter", "email": "rita@beispiel.example", "display_name": "Rita Recruiterin"}),
        "Sonnenblumenfeld-Nord-7",
    )
    .await?;
    assert_eq!(b.text("#who").await?, "Rita Recruiterin");

    b.click("nav a[href='/inbox']").await?;
    b.wait_for("#conversations").await?;
    b.check_page("inbox").await?;
    b.click(&format!("a[href='/inbox/{c}']")).await?;
    b.wait_for("#thread").await?;
    let log = b.text("#thread").await?;
    assert!(log.contains("ist die Stelle noch frei?"), "{log}");
    assert!(b.text("#window").await?.starts_with("Antwortfenster offen bis"));
    b.check_page("thread").await?;
    b.fill("#text", "Ja, gern. Passt Ihnen Dienstag um 10 Uhr?").await?;
    b.click("form.compose-text button[type=submit]").await?;
    b.wait_for("#sent").await?;
    let log = b.text("#thread").await?;
    assert!(log.contains("Passt Ihnen Dienstag um 10 Uhr?"), "{log}");
    b.check_page("thread-sent").await?;

    // the composer's keyboard: Enter sends (the hint says so where the script runs); the
    // template's preview follows the value as it is typed
    assert_eq!(b.eval("return document.getElementById('enter-hint').hidden").await?, json!(false));
    b.fill("#text", "Bis Dienstag!\u{E007}").await?;
    let mut sent = false;
    for _ in 0..50 {
        if b.text("#thread").await.is_ok_and(|log| log.contains("Bis Dienstag!")) {
            sent = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(sent, "Enter sent the message");
    // templates without the notice once the first message (with it) has gone out (R15)
    let mut offered = false;
    for _ in 0..50 {
        b.goto(&format!("{base}/inbox/{c}")).await?;
        if b.wait_for("#thread").await.is_ok()
            && b.eval("return !!document.getElementById('tpl-interview_invite-de-p1')").await? == json!(true)
        {
            offered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(offered, "the template picker");
    b.fill("#tpl-interview_invite-de-p1", "Montag").await?;
    let preview = b.text("#tpl-interview_invite-de-preview").await?;
    assert!(preview.starts_with("Wir laden Sie zum Gespräch am Montag ein."), "{preview}");
    b.check_page("thread-template").await?;

    // the candidate panel: the evidence of the consent recorded by phone, then the process ends
    assert!(b.text("#consent-evidence").await?.contains("mündlich, vom Team erfasst"));
    b.click("#end-process summary").await?;
    b.click("#end-process button[type=submit]").await?;
    b.wait_for("#panel-done").await?;
    let process = b.text("#process").await?;
    assert!(process.starts_with("beendet am") && process.ends_with("Absage"), "{process}");
    b.check_page("thread-process-ended").await?;

    // a new candidate, added from the inbox, whose consent is asked for next
    fills_new_candidate(b, "Jonas Beispiel", "0170 5550199").await?;
    b.check_page("candidate-new").await?;
    b.click("#new-candidate button[type=submit]").await?;
    b.wait_for("#panel-done").await?;
    assert_eq!(b.text("h1").await?, "Jonas Beispiel");
    assert!(b.text("#consent-left").await?.starts_with('2'));
    b.check_page("candidate-added").await?;
    Ok(())
}

/// Issue 18 (first part) in a real browser: the DPO sets up the account (password and TOTP),
/// opens the objection reviews, reads the message and decides "kein Widerspruch" with a reason;
/// both console pages pass axe-core.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dpo_review_journey() {
    browser_journey("console", console_journey).await;
}

async fn console_journey(h: &hoheit_server::harness::Harness, b: &mut Browser) -> Result<(), String> {
    let base = h.base.clone();
    let (t, c) = common::consenting(h).await;
    let text = "Ich will meine Bewerbung nicht stoppen";
    assert_eq!(common::candidate_writes(h, &t, "wamid.console-browser-1", text).await, 200);
    invited_sets_password(
        b,
        &base,
        &t.admin,
        json!({"role": "dpo", "email": "dana@beispiel.example", "display_name": "Dana Datenschutz"}),
        "Leuchtturm-Insel-Nord-5",
    )
    .await?;
    sets_up_totp(b).await?;
    assert_eq!(b.text("#who").await?, "Dana Datenschutz");

    b.click("nav a[href='/console']").await?;
    assert_eq!(b.text("#reviews-open").await?, "1");
    b.check_page("overview").await?;
    b.click("main h2 a[href='/console/reviews']").await?;
    b.wait_for("#reviews").await?;
    b.check_page("reviews").await?;
    b.click(&format!("a[href^='/console/reviews/{c}/']")).await?;
    assert_eq!(b.text("#review-message").await?, text);
    b.check_page("review").await?;
    b.click("#reason-negated_keyword").await?;
    b.click("form.decide-dismiss button[type=submit]").await?;
    b.wait_for("#decided").await?;
    b.wait_for("#no-reviews").await?;
    b.check_page("reviews-decided").await?;
    Ok(())
}
