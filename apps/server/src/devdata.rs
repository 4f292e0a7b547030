//! Sample conversations for the development tenant of `hoheit serve --dev` (issue 17 item 7): a
//! WhatsApp number on the simulator, approved by the DPO, the legal texts, and four fictional
//! candidates whose conversations the simulated 360Dialog drives, so that a newcomer sees a
//! populated inbox and console at once: one who consented and asks a question (a reply is owed),
//! one whose consent request is unanswered, one who objected in her own words, and one whose
//! message waits for the DPO's review. Everything goes through the API and the simulator, as
//! in production; nothing leaves the machine.
//!
//! [`set_up`] creates it (for `serve --dev` on a data directory without one); [`leave`] does so
//! after `hoheit demo` in the configured data directory, so that `hoheit serve --dev` shows it.

use std::time::Duration as StdDuration;

use hoheit_domain::consent::ConsentReply;
use hoheit_domain::ids::TenantId;
use hoheit_domain::tenant::{Actor, Role};
use serde_json::{Value, json};

use crate::harness::{Client, Harness, eventually};

/// How long a simulated step may take.
const WAIT: StdDuration = StdDuration::from_secs(15);

/// The sample candidates: number, WhatsApp id, name, and what they do.
const CANDIDATES: [(&str, &str, &str, Sample); 4] = [
    ("+49 170 5550123", "491705550123", "Erika Mustermann", Sample::Asks),
    ("+49 170 5550124", "491705550124", "Max Beispiel", Sample::Unanswered),
    ("+49 170 5550125", "491705550125", "Jana Probe", Sample::Objects),
    ("+49 170 5550126", "491705550126", "Tom Test", Sample::Ambiguous),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sample {
    Asks,
    Unanswered,
    Objects,
    Ambiguous,
}

fn created(what: &str, r: &crate::harness::Answer, status: u16) -> Result<(), String> {
    if r.status == status { Ok(()) } else { Err(format!("dev data: {what} answered {} ({:?})", r.status, r.code())) }
}

/// The consent request's "Zustimmen" payload sent to `wa`, once the simulator accepted it.
async fn agree_payload(h: &Harness, wa: &str) -> Option<String> {
    let find = || {
        h.sim.accepted_messages().iter().filter(|m| m.to == wa).find_map(|m| {
            let components = m.body.pointer("/template/components").and_then(Value::as_array)?;
            components
                .iter()
                .filter_map(|c| c.pointer("/parameters/0/payload").and_then(Value::as_str))
                .find(|p| matches!(ConsentReply::parse(p), Some(ConsentReply::Agree(_))))
                .map(str::to_owned)
        })
    };
    eventually(WAIT, || async { find().is_some() }).await.then(find).flatten()
}

/// The development tenant's name.
pub const DEV_TENANT: &str = "Dev GmbH";

/// Creates the development tenant with its tokens, sign-in links (under `links`, the address the
/// browser will use) and sample conversations; returns what to print (tokens and links are
/// shown this once).
pub async fn set_up(h: &Harness, links: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let tenant = create_tenant(h).await?;
    out.push(format!("dev tenant {} (tokens are shown once):", tenant.id));
    out.push(format!("  operator:  {}", h.token(None, Role::Operator).await?));
    for role in [Role::Admin, Role::Dpo, Role::Recruiter] {
        out.push(format!("  {:<9}  {}", format!("{}:", role.as_str()), h.token(Some(tenant.id), role).await?));
    }
    out.push(format!("  simulator phone_number_id (the dev number below): {}", h.sim.phone_number_id()));
    out.push("browser sign-in links for the development staff (single use, 72 h; admin and DPO set up TOTP):".into());
    for (role, email, name) in [
        (Role::Admin, "admin@dev.example", "Ada Admin"),
        (Role::Dpo, "dsb@dev.example", "Dana Datenschutz"),
        (Role::Recruiter, "recruiting@dev.example", "Rita Recruiterin"),
    ] {
        let invite = hoheit_domain::usecases::StaffInvite {
            role,
            email: email.into(),
            display_name: name.into(),
            language: None,
        };
        let invited = h.state.app.invite_staff(Actor::System, tenant.id, invite).await.map_err(|e| e.to_string())?;
        out.push(format!("  {:<9}  {links}/invitation/{}", format!("{}:", role.as_str()), invited.secret.expose()));
    }
    out.push(format!("  then sign in at {links}/signin?tenant={}", tenant.id));
    // a populated inbox and console for newcomers: an approved number and four sample
    // conversations, driven through the simulator
    match populate(h, tenant.id).await {
        Ok(_) => out.push(
            "sample data: an approved WhatsApp number and four conversations (Erika Mustermann, Max Beispiel, Jana Probe, Tom Test)"
                .into(),
        ),
        Err(e) => out.push(format!("sample data could not be created: {e}")),
    }
    Ok(out)
}

/// After `hoheit demo`: opens the configured database (`options`), creates the development
/// tenant there if it has none ([`set_up`], sign-in links under `links`, where `hoheit serve
/// --dev` will listen) and stops again; returns what to print.
pub async fn leave(options: crate::harness::HarnessOptions, links: &str) -> Result<Vec<String>, String> {
    let h = Harness::start(options).await?;
    let result = async {
        let existing = h.state.queries.tenants().await.map_err(|e| e.to_string())?;
        let mut out = vec![String::new()];
        if let Some(dev) = existing.iter().find(|t| t.name == DEV_TENANT) {
            out.push(format!("The development tenant \"{DEV_TENANT}\" is already in the configured database."));
            out.push(format!("See it in the browser: `hoheit serve --dev`, then {links}/signin?tenant={}", dev.id));
            return Ok(out);
        }
        out.push(format!(
            "The demo leaves a development tenant \"{DEV_TENANT}\" with four sample conversations in the configured database."
        ));
        out.push("See it in the browser: start `hoheit serve --dev` and open a sign-in link below.".into());
        out.extend(set_up(&h, links).await?);
        Ok(out)
    }
    .await;
    h.stop().await;
    result
}

/// Creates the development tenant "Dev GmbH" with a privacy contact and a privacy-notice link
/// (no channel sends without them, R15).
pub async fn create_tenant(h: &Harness) -> Result<hoheit_domain::tenant::Tenant, String> {
    let system = hoheit_domain::actor::Actor::System;
    let tenant = h.state.app.create_tenant(system, DEV_TENANT).await.map_err(|e| e.to_string())?;
    h.state
        .app
        .update_settings(
            tenant.id,
            system,
            tenant.retention.clone(),
            tenant.messaging.clone(),
            Some("datenschutz@dev.example".to_owned()),
            Some("https://dev.example/datenschutz".to_owned()),
        )
        .await
        .map_err(|e| e.to_string())
}

/// Fills the dev tenant `tenant` (created with its privacy contact and notice URL) with a number,
/// the legal texts and the sample conversations; returns the channel id.
pub async fn populate(h: &Harness, tenant: TenantId) -> Result<String, String> {
    let token = |role| h.token(Some(tenant), role);
    let admin = h.client(&token(Role::Admin).await?);
    let dpo = h.client(&token(Role::Dpo).await?);
    let recruiter = h.client(&token(Role::Recruiter).await?);
    let r = admin.post("/api/v1/channels", crate::harness::simulator_channel(h)).await;
    created("the number", &r, 201)?;
    let channel = r.str("/id").unwrap_or_default().to_owned();
    for (kind, body) in crate::harness::sample_legal_texts("Dev GmbH", "https://dev.example/datenschutz") {
        let r = admin
            .post("/api/v1/legal-texts", json!({"kind": kind, "version": "2026-01", "language": "de", "body": body}))
            .await;
        created(kind, &r, 201)?;
    }
    let r = dpo
        .post(
            &format!("/api/v1/channels/{channel}/approval"),
            json!({"approver_name": "Dana Datenschutz", "dpia_reference": "DSFA-DEV-1", "documents": ["privacy_notice@2026-01"]}),
        )
        .await;
    created("the approval", &r, 200)?;
    for (phone, wa, name, sample) in CANDIDATES {
        conversation(h, &recruiter, &channel, phone, wa, name, sample).await?;
    }
    Ok(channel)
}

async fn conversation(
    h: &Harness,
    recruiter: &Client,
    channel: &str,
    phone: &str,
    wa: &str,
    name: &str,
    sample: Sample,
) -> Result<(), String> {
    let r = recruiter.post("/api/v1/candidates", json!({"phone": phone, "name": name, "channel_id": channel})).await;
    created(name, &r, 201)?;
    let id = r.str("/id").unwrap_or_default().to_owned();
    let r = recruiter.post(&format!("/api/v1/candidates/{id}/consent-request"), json!({})).await;
    created("the consent request", &r, 202)?;
    if sample == Sample::Unanswered {
        return Ok(());
    }
    let agree = agree_payload(h, wa).await.ok_or("dev data: the consent request did not reach the simulator")?;
    h.sim.inject_button_reply(wa, &agree, "Zustimmen");
    let granted = eventually(WAIT, || async {
        let r = recruiter.get(&format!("/api/v1/candidates/{id}")).await;
        r.json.pointer("/consents/0/state").and_then(Value::as_str) == Some("granted")
    })
    .await;
    if !granted {
        return Err(format!("dev data: {name}'s consent was not recorded"));
    }
    let text = match sample {
        Sample::Asks => "Guten Tag, ist die Stelle als Pflegefachkraft noch frei? Ich könnte ab März anfangen.",
        Sample::Objects => "Bitte schreiben Sie mir nicht mehr.",
        Sample::Ambiguous => "Ich will meine Bewerbung nicht stoppen, aber brauche noch etwas Zeit.",
        Sample::Unanswered => return Ok(()),
    };
    if sample == Sample::Objects {
        let r = recruiter
            .post(&format!("/api/v1/candidates/{id}/messages"), json!({"text": "Vielen Dank für Ihre Bewerbung!"}))
            .await;
        created("the first message", &r, 202)?;
    }
    // WhatsApp's timestamps are whole seconds: the person writes a moment after what hoheit
    // sent on consent, as people do, so that the thread's order is clear
    tokio::time::sleep(StdDuration::from_millis(1100)).await;
    h.sim.inject_inbound_text(wa, text);
    let arrived = eventually(WAIT, || async {
        let r = recruiter.get(&format!("/api/v1/candidates/{id}/messages")).await;
        let messages = r.json.get("messages").and_then(Value::as_array);
        messages.is_some_and(|m| m.iter().any(|m| m.get("direction").and_then(Value::as_str) == Some("inbound")))
    })
    .await;
    if arrived { Ok(()) } else { Err(format!("dev data: {name}'s message did not arrive")) }
}
