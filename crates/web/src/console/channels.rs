//! `/console/channels`: the tenant's WhatsApp numbers with their approval (R1). The DPO approves
//! a number (name, DPIA reference, the documents reviewed with their versions, the review
//! date); the DPO or an admin revokes an approval after confirming what stops. The admin
//! registers a number (phone number id, the API key as a secret field, the consent template)
//! through the server's [`crate::desk::Desk`], exactly as `POST /api/v1/channels` does; the
//! webhook's secret is shown once. Each number shows its template sync state.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use hoheit_domain::access::Action;
use hoheit_domain::ids::ChannelId;
use hoheit_domain::tenant::{ApprovalInput, Channel, ReviewedDocument};
use serde::Deserialize;
use time::OffsetDateTime;

use super::{enter, posted, refused};
use crate::WebState;
use crate::desk::{NewChannel, RegisteredChannel};
use crate::i18n::{Lang, Zone};
use crate::identity::Signed;
use crate::identity::{Client, see_other, signed_layout, signed_post};
use crate::pages::Layout;
use hoheit_domain::ports::TenantConfig;
use hoheit_domain::staff::SecretText;
use hoheit_domain::template::TemplateStatus;

#[derive(Debug)]
pub(crate) struct Texts {
    title: &'static str,
    intro: &'static str,
    none: &'static str,
    phone_number_id: &'static str,
    consent_template: &'static str,
    approval: &'static str,
    unapproved: &'static str,
    approved_by: &'static str,
    dpia: &'static str,
    documents: &'static str,
    review_at: &'static str,
    review_due: &'static str,
    revoked: &'static str,
    approve: &'static str,
    approver_name: &'static str,
    documents_hint: &'static str,
    review_hint: &'static str,
    revoke: &'static str,
    revoke_what: &'static str,
    revoke_confirm: &'static str,
    register_title: &'static str,
    display_number: &'static str,
    api_key: &'static str,
    api_key_hint: &'static str,
    template_name: &'static str,
    template_language: &'static str,
    register_button: &'static str,
    registered: &'static str,
    webhook_path: &'static str,
    webhook_secret: &'static str,
    webhook_auto: &'static str,
    webhook_manual: &'static str,
    templates: &'static str,
    templates_none: &'static str,
    templates_synced: &'static str,
    templates_approved: &'static str,
    templates_last: &'static str,
    done_approved: &'static str,
    done_revoked: &'static str,
    must_confirm: &'static str,
}

const DE: Texts = Texts {
    title: "WhatsApp-Kanäle",
    intro: "Über eine Nummer wird erst gesendet, wenn die oder der Datenschutzbeauftragte sie freigegeben hat (R1). Die Freigabe gilt bis zum Überprüfungsdatum.",
    none: "Es ist noch keine Nummer registriert.",
    phone_number_id: "Phone-Number-ID (360dialog)",
    consent_template: "Vorlage der Einwilligungsanfrage",
    approval: "Freigabe",
    unapproved: "nicht freigegeben: es wird nichts gesendet",
    approved_by: "freigegeben von",
    dpia: "DSFA-Referenz",
    documents: "Geprüfte Unterlagen",
    review_at: "nächste Überprüfung am",
    review_due: "Überprüfung fällig seit",
    revoked: "Freigabe widerrufen am",
    approve: "Freigeben",
    approver_name: "Ihr Name (die Freigabe ist Ihre fachliche Entscheidung)",
    documents_hint: "Eine Unterlage je Zeile, mit Version: „AVV 360dialog @ 2026-03“",
    review_hint: "Überprüfung am (leer: nach der Frist der Einstellungen)",
    revoke: "Freigabe widerrufen",
    revoke_what: "Nach dem Widerruf wird über diese Nummer sofort nichts mehr gesendet, auch keine bereits eingeplanten Nachrichten. Eingehende Nachrichten werden weiter angenommen.",
    revoke_confirm: "Ich habe verstanden, dass ab sofort nichts mehr gesendet wird.",
    register_title: "Nummer registrieren",
    display_number: "WhatsApp-Nummer",
    api_key: "API-Schlüssel von 360dialog",
    api_key_hint: "Wird verschlüsselt gespeichert und nie wieder angezeigt.",
    template_name: "Vorlage der Einwilligungsanfrage (Name)",
    template_language: "Sprache der Vorlage",
    register_button: "Registrieren",
    registered: "Die Nummer ist registriert. Gesendet wird erst nach der Freigabe durch die oder den Datenschutzbeauftragten.",
    webhook_path: "Webhook-Pfad",
    webhook_secret: "Webhook-Geheimnis (nur jetzt sichtbar), im Header",
    webhook_auto: "Der Webhook wurde bei 360dialog eingetragen.",
    webhook_manual: "Tragen Sie den Webhook bei 360dialog ein: die öffentliche Adresse dieses Servers mit dem Pfad, und das Geheimnis im Header.",
    templates: "Vorlagen",
    templates_none: "noch keine synchronisiert",
    templates_synced: "synchronisiert",
    templates_approved: "davon freigegeben",
    templates_last: "zuletzt am",
    done_approved: "Die Nummer ist freigegeben.",
    done_revoked: "Die Freigabe ist widerrufen: über diese Nummer wird nichts mehr gesendet.",
    must_confirm: "Bitte bestätigen Sie, dass ab sofort nichts mehr gesendet wird.",
};

const EN: Texts = Texts {
    title: "WhatsApp channels",
    intro: "Nothing is sent through a number until the data-protection officer has approved it (R1). An approval holds until its review date.",
    none: "No number is registered yet.",
    phone_number_id: "Phone number id (360dialog)",
    consent_template: "Consent request template",
    approval: "Approval",
    unapproved: "not approved: nothing is sent",
    approved_by: "approved by",
    dpia: "DPIA reference",
    documents: "Documents reviewed",
    review_at: "next review on",
    review_due: "review due since",
    revoked: "approval revoked on",
    approve: "Approve",
    approver_name: "Your name (the approval is your professional decision)",
    documents_hint: "One document per line, with its version: \"DPA 360dialog @ 2026-03\"",
    review_hint: "Review on (empty: after the period in the settings)",
    revoke: "Revoke the approval",
    revoke_what: "After revoking, nothing more is sent through this number, at once, queued messages included. Incoming messages are still accepted.",
    revoke_confirm: "I understand that nothing will be sent from now on.",
    register_title: "Register a number",
    display_number: "WhatsApp number",
    api_key: "360dialog API key",
    api_key_hint: "Stored encrypted and never shown again.",
    template_name: "Consent request template (name)",
    template_language: "Template language",
    register_button: "Register",
    registered: "The number is registered. Nothing is sent until the data-protection officer approves it.",
    webhook_path: "Webhook path",
    webhook_secret: "Webhook secret (visible only now), in the header",
    webhook_auto: "The webhook was registered with 360dialog.",
    webhook_manual: "Register the webhook with 360dialog: this server's public address with the path, and the secret in the header.",
    templates: "Templates",
    templates_none: "none synced yet",
    templates_synced: "synced",
    templates_approved: "of which approved",
    templates_last: "last on",
    done_approved: "The number is approved.",
    done_revoked: "The approval is revoked: nothing more is sent through this number.",
    must_confirm: "Please confirm that nothing will be sent from now on.",
};

const fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::De => &DE,
        Lang::En => &EN,
    }
}

struct Row {
    id: String,
    number: String,
    phone_number_id: String,
    template: String,
    state: String,
    ok: bool,
    approver: Option<String>,
    dpia: Option<String>,
    documents: Vec<String>,
    /// An approval is in force (or lapsed but not revoked): it can be revoked.
    revocable: bool,
    templates: String,
}

/// The template sync state of a channel, in words.
fn templates_state(c: &Texts, zone: &Zone, lang: Lang, config: &TenantConfig, ch: &Channel) -> String {
    let mine: Vec<_> = config.templates.templates().iter().filter(|t| t.channel == ch.id).collect();
    let Some(last) = mine.iter().map(|t| t.synced_at).max() else { return c.templates_none.to_owned() };
    let approved = mine.iter().filter(|t| t.status == TemplateStatus::Approved).count();
    format!(
        "{} {}, {} {approved}; {} {}",
        mine.len(),
        c.templates_synced,
        c.templates_approved,
        c.templates_last,
        zone.date_time(lang, last)
    )
}

fn row(c: &Texts, zone: &Zone, lang: Lang, config: &TenantConfig, ch: &Channel, now: OffsetDateTime) -> Row {
    let a = ch.approval.as_ref();
    let (state, ok) = match a {
        None => (c.unapproved.to_owned(), false),
        Some(a) => match a.revoked_at {
            Some(at) => (format!("{} {}", c.revoked, zone.date(lang, at)), false),
            None if a.review_at <= now => (format!("{} {}", c.review_due, zone.date(lang, a.review_at)), false),
            None => (format!("{} {}", c.review_at, zone.date(lang, a.review_at)), true),
        },
    };
    Row {
        id: ch.id.to_string(),
        number: ch.display_phone_number.as_e164().to_owned(),
        phone_number_id: ch.phone_number_id.clone(),
        template: format!("{} ({})", ch.consent_template.name.as_str(), ch.consent_template.language.as_str()),
        state,
        ok,
        approver: a.map(|a| format!("{} {}, {}", c.approved_by, a.approver_name, zone.date(lang, a.approved_at))),
        dpia: a.map(|a| a.dpia_reference.clone()),
        documents: a
            .map(|a| a.documents.iter().map(|d| format!("{} @ {}", d.name, d.version)).collect())
            .unwrap_or_default(),
        revocable: a.is_some_and(|a| a.revoked_at.is_none()),
        templates: templates_state(c, zone, lang, config, ch),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "console_channels.html")]
struct Page {
    l: Layout,
    c: &'static Texts,
    rows: Vec<Row>,
    may_approve: bool,
    may_revoke: bool,
    may_register: bool,
    notice: Option<&'static str>,
    registered: Option<RegisteredChannel>,
}

/// `GET /console/channels`.
pub(crate) async fn channels_page(
    State(state): State<WebState>,
    client: Client,
    axum::extract::Query(q): axum::extract::Query<super::DoneQuery>,
) -> Response {
    let signed = match enter(&state, &client, Action::ReadSettings).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let c = texts(signed.lang());
    let notice = match q.done.as_deref() {
        Some("approved") => Some(c.done_approved),
        Some("revoked") => Some(c.done_revoked),
        _ => None,
    };
    render(&state, &signed, client.path, notice, None).await
}

async fn render(
    state: &WebState,
    signed: &Signed,
    path: String,
    notice: Option<&'static str>,
    registered: Option<RegisteredChannel>,
) -> Response {
    let Some(app) = state.app() else { return see_other("/signin") };
    let lang = signed.lang();
    let c = texts(lang);
    let p = &signed.principal;
    let config = match app.tenant_config(p.tenant).await {
        Ok(config) => config,
        Err(e) => return refused(state, signed, path, "/console", &e),
    };
    let now = app.clock().now();
    let zone = &state.settings().time_zone;
    let rows = config.channels.iter().map(|ch| row(c, zone, lang, &config, ch, now)).collect();
    Page {
        l: signed_layout(state, signed, path),
        c,
        rows,
        may_approve: Action::ApproveChannel.allows(p.role),
        may_revoke: Action::RevokeApproval.allows(p.role),
        may_register: Action::RegisterChannel.allows(p.role),
        notice,
        registered,
    }
    .into_response()
}

/// The approval form.
#[derive(Debug, Deserialize)]
pub(crate) struct ApproveForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    approver_name: String,
    #[serde(default)]
    dpia_reference: String,
    #[serde(default)]
    documents: String,
    #[serde(default)]
    review_on: String,
}

/// One reviewed document per line: `name @ version` (without a version: "unversioned", as the
/// API reads it).
fn documents(lines: &str) -> Vec<ReviewedDocument> {
    lines
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match l.rsplit_once('@') {
            Some((name, version)) => ReviewedDocument { name: name.trim().into(), version: version.trim().into() },
            None => ReviewedDocument { name: l.into(), version: "unversioned".into() },
        })
        .collect()
}

/// `POST /console/channels/{id}/approval` (the DPO; the domain decides, R1's separation of
/// duties included).
pub(crate) async fn approve(
    State(state): State<WebState>,
    client: Client,
    Path(id): Path<String>,
    Form(form): Form<ApproveForm>,
) -> Response {
    let back = "/console/channels";
    let (signed, channel) = match posted::<ChannelId>(&state, &client, &form.csrf_token, &id, back).await {
        Ok(posted) => posted,
        Err(r) => return r,
    };
    let Some(app) = state.app() else { return see_other("/signin") };
    let review_at = match form.review_on.trim() {
        "" => None,
        day => match state.settings().time_zone.start_of_day(day) {
            Some(at) => Some(at),
            None => {
                let e = hoheit_domain::usecases::UseCaseError::Invalid("review date is not a date".into());
                return refused(&state, &signed, back.to_owned(), back, &e);
            }
        },
    };
    let input = ApprovalInput {
        approver_name: form.approver_name,
        dpia_reference: form.dpia_reference,
        documents: documents(&form.documents),
        review_at,
    };
    let p = &signed.principal;
    match app.approve_channel_as(p.tenant, p.actor(), channel, input, p.appointed_by).await {
        Ok(_) => see_other("/console/channels?done=approved"),
        Err(e) => refused(&state, &signed, back.to_owned(), back, &e),
    }
}

/// The revocation form.
#[derive(Debug, Deserialize)]
pub(crate) struct RevokeForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    understood: Option<String>,
}

/// `POST /console/channels/{id}/revocation`: only after "understood" was ticked.
pub(crate) async fn revoke(
    State(state): State<WebState>,
    client: Client,
    Path(id): Path<String>,
    Form(form): Form<RevokeForm>,
) -> Response {
    let back = "/console/channels";
    let (signed, channel) = match posted::<ChannelId>(&state, &client, &form.csrf_token, &id, back).await {
        Ok(posted) => posted,
        Err(r) => return r,
    };
    let Some(app) = state.app() else { return see_other("/signin") };
    if form.understood.is_none() {
        let e = hoheit_domain::usecases::UseCaseError::Invalid(texts(signed.lang()).must_confirm.into());
        return refused(&state, &signed, back.to_owned(), back, &e);
    }
    let p = &signed.principal;
    match app.revoke_approval(p.tenant, p.actor(), channel).await {
        Ok(_) => see_other("/console/channels?done=revoked"),
        Err(e) => refused(&state, &signed, back.to_owned(), back, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reviewed_documents_are_read_one_per_line_with_their_version() {
        let docs = documents("AVV 360dialog @ 2026-03\n\n  DSFA  \nTOMs@v2@final\n");
        let pairs: Vec<(&str, &str)> = docs.iter().map(|d| (d.name.as_str(), d.version.as_str())).collect();
        assert_eq!(pairs, [("AVV 360dialog", "2026-03"), ("DSFA", "unversioned"), ("TOMs@v2", "final")]);
    }
}

/// The registration form.
#[derive(Debug, Deserialize)]
pub(crate) struct RegisterForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    display_phone_number: String,
    #[serde(default)]
    phone_number_id: String,
    #[serde(default)]
    api_key: String,
    #[serde(default)]
    consent_template: String,
    #[serde(default)]
    consent_template_language: String,
}

/// `POST /console/channels`: the admin registers a number; the page shows the webhook's path
/// and secret once.
pub(crate) async fn register(
    State(state): State<WebState>,
    client: Client,
    Form(form): Form<RegisterForm>,
) -> Response {
    let signed = match signed_post(&state, &client, &form.csrf_token).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(desk) = state.desk() else { return see_other("/signin") };
    if !Action::RegisterChannel.allows(signed.principal.role) {
        return crate::identity::forbidden(signed.lang());
    }
    let back = "/console/channels";
    let p = &signed.principal;
    let channel = NewChannel {
        display_phone_number: form.display_phone_number,
        phone_number_id: form.phone_number_id,
        api_key: SecretText::from(form.api_key),
        consent_template: form.consent_template,
        consent_template_language: form.consent_template_language,
    };
    match desk.register_channel(p.tenant, p.actor(), channel).await {
        Ok(registered) => {
            render(&state, &signed, back.to_owned(), Some(texts(signed.lang()).registered), Some(registered)).await
        }
        Err(refusal) => super::refused_by_server(&state, &signed, back, &refusal),
    }
}
