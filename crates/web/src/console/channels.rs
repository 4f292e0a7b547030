//! `/console/channels`: the tenant's WhatsApp numbers with their approval (R1). The DPO approves
//! a number (name, DPIA reference, the documents reviewed with their versions, the review
//! date); the DPO or an admin revokes an approval after confirming what stops. Registering a
//! number stays with the API and CLI (it stores the provider's API key through the server's
//! channel port).

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

use super::{enter, refused};
use crate::WebState;
use crate::i18n::{Lang, Zone};
use crate::identity::{Client, see_other, signed_layout, signed_post};
use crate::inbox::not_found;
use crate::pages::Layout;

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
    register_hint: &'static str,
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
    register_hint: "Eine Nummer registriert die Administration über die API (POST /api/v1/channels) oder die Kommandozeile, weil dabei der API-Schlüssel des Anbieters gespeichert wird.",
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
    register_hint: "An admin registers a number through the API (POST /api/v1/channels) or the command line, because that stores the provider's API key.",
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
}

fn row(c: &Texts, zone: &Zone, lang: Lang, ch: &Channel, now: OffsetDateTime) -> Row {
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
    notice: Option<&'static str>,
}

/// `?done=approved|revoked`.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct Done {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /console/channels`.
pub(crate) async fn channels_page(
    State(state): State<WebState>,
    client: Client,
    axum::extract::Query(q): axum::extract::Query<Done>,
) -> Response {
    let signed = match enter(&state, &client, Action::ReadSettings).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(app) = state.app() else { return see_other("/signin") };
    let lang = signed.lang();
    let c = texts(lang);
    let p = &signed.principal;
    let config = match app.tenant_config(p.tenant).await {
        Ok(config) => config,
        Err(e) => return refused(&state, &signed, client.path, "/console", &e),
    };
    let now = app.clock().now();
    let zone = &state.settings().time_zone;
    let rows = config.channels.iter().map(|ch| row(c, zone, lang, ch, now)).collect();
    let notice = match q.done.as_deref() {
        Some("approved") => Some(c.done_approved),
        Some("revoked") => Some(c.done_revoked),
        _ => None,
    };
    Page {
        l: signed_layout(&state, &signed, client.path),
        c,
        rows,
        may_approve: Action::ApproveChannel.allows(p.role),
        may_revoke: Action::RevokeApproval.allows(p.role),
        notice,
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
    let signed = match signed_post(&state, &client, &form.csrf_token).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(app) = state.app() else { return see_other("/signin") };
    let back = "/console/channels";
    let Ok(channel) = id.parse::<ChannelId>() else { return not_found(signed.lang(), back.to_owned()) };
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
    let signed = match signed_post(&state, &client, &form.csrf_token).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(app) = state.app() else { return see_other("/signin") };
    let back = "/console/channels";
    let Ok(channel) = id.parse::<ChannelId>() else { return not_found(signed.lang(), back.to_owned()) };
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
