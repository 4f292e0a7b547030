//! The recruiter inbox (issue 17, first part): the conversation list, a thread, and a composer
//! that offers exactly what the domain allows now ([`ComposerOptions`]); every send is decided
//! again by the domain's send policy when it is submitted. Opening a thread is an audited content
//! read (R33). Restricted candidates are listed and opened only for admin and DPO (R25).

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hoheit_domain::actor::Role;
use hoheit_domain::candidate::{Candidate, Lifecycle, Process};
use hoheit_domain::composer::ComposerOptions;
use hoheit_domain::consent::ConsentState;
use hoheit_domain::conversation::{Direction, Message, MessageBody, OutboundContent};
use hoheit_domain::ids::CandidateId;
use hoheit_domain::inbound::InboundContent;
use hoheit_domain::message::DeliveryStatus;
use hoheit_domain::objection::ObjectionSource;
use hoheit_domain::policy::RefusalCode;
use hoheit_domain::usecases::{InboxRow, MessageRequest, UseCaseError};
use hoheit_domain::values::{LanguageCode, Pii, TemplateName};
use serde::Deserialize;

use crate::WebState;
use crate::i18n::Lang;
use crate::identity::{Client, Signed, forbidden, see_other, signed_in, signed_layout, signed_post};
use crate::pages::{Layout, message};

/// Conversations per page of the list.
const PAGE: u32 = 25;

/// The inbox's texts (German first, English second).
#[derive(Debug)]
pub(crate) struct InboxTexts {
    pub title: &'static str,
    pub intro: &'static str,
    pub empty: &'static str,
    pub col_person: &'static str,
    pub col_state: &'static str,
    pub col_since: &'static str,
    pub next_page: &'static str,
    pub unnamed: &'static str,
    pub back: &'static str,
    pub thread_label: &'static str,
    pub no_messages: &'static str,
    pub from_candidate: &'static str,
    pub from_team: &'static str,
    pub composer: &'static str,
    pub text_label: &'static str,
    pub send: &'static str,
    pub templates_label: &'static str,
    pub template_param: &'static str,
    pub send_template: &'static str,
    pub consent_request: &'static str,
    pub consent_requests_left: &'static str,
    pub nothing_allowed: &'static str,
    pub window_open_until: &'static str,
    pub window_closed: &'static str,
    pub notice_appended: &'static str,
    pub queued: &'static str,
    pub badge_consent: &'static str,
    pub badge_consent_requested: &'static str,
    pub badge_no_consent: &'static str,
    pub badge_consent_withdrawn: &'static str,
    pub badge_objected: &'static str,
    pub badge_review: &'static str,
    pub badge_window: &'static str,
    pub badge_ended: &'static str,
    pub badge_restricted: &'static str,
    pub template_named: &'static str,
    pub document: &'static str,
    pub media: &'static str,
    pub structured: &'static str,
    pub objection_by_message: &'static str,
    pub objection_by_staff: &'static str,
    pub objection_by_review: &'static str,
    pub objection_by_suppression: &'static str,
    pub objected_on: &'static str,
    pub status_queued: &'static str,
    pub status_cancelled: &'static str,
    pub status_unknown: &'static str,
    pub status_accepted: &'static str,
    pub status_sent: &'static str,
    pub status_failed: &'static str,
    pub status_delivered: &'static str,
    pub status_read: &'static str,
    pub failed_reason: &'static str,
    pub invalid: &'static str,
    pub refusal: fn(RefusalCode) -> &'static str,
}

const DE: InboxTexts = InboxTexts {
    title: "Posteingang",
    intro: "Gespräche mit Bewerbenden, zuletzt angelegte zuerst. Was Sie senden können, entscheiden Einwilligung, Widerspruch und das Antwortfenster.",
    empty: "Noch keine Gespräche.",
    col_person: "Bewerbende Person",
    col_state: "Stand",
    col_since: "Angelegt",
    next_page: "Weitere Gespräche",
    unnamed: "Ohne Namen",
    back: "Zurück zum Posteingang",
    thread_label: "Nachrichtenverlauf",
    no_messages: "Noch keine Nachrichten.",
    from_candidate: "Bewerbende Person",
    from_team: "Ihr Team",
    composer: "Nachricht schreiben",
    text_label: "Ihre Nachricht",
    send: "Senden",
    templates_label: "Freigegebene Vorlage",
    template_param: "Wert",
    send_template: "Vorlage senden",
    consent_request: "Einwilligung anfragen",
    consent_requests_left: "Verbleibende Anfragen",
    nothing_allowed: "Zurzeit kann nichts gesendet werden.",
    window_open_until: "Antwortfenster offen bis",
    window_closed: "Antwortfenster geschlossen: nur freigegebene Vorlagen.",
    notice_appended: "An die erste Nachricht hängt hoheit den Datenschutzhinweis und den Hinweis auf das Widerspruchsrecht an.",
    queued: "Die Nachricht wurde zum Senden eingereiht.",
    badge_consent: "Einwilligung erteilt",
    badge_consent_requested: "Einwilligung angefragt",
    badge_no_consent: "Keine Einwilligung",
    badge_consent_withdrawn: "Einwilligung widerrufen",
    badge_objected: "Widerspruch",
    badge_review: "Prüfung offen",
    badge_window: "Antwortfenster offen",
    badge_ended: "Verfahren beendet",
    badge_restricted: "Eingeschränkt",
    template_named: "Vorlage",
    document: "Dokument",
    media: "Datei",
    structured: "Nachricht vom Typ",
    objection_by_message: "per WhatsApp-Nachricht",
    objection_by_staff: "vom Team erfasst",
    objection_by_review: "nach Prüfung einer Nachricht bestätigt",
    objection_by_suppression: "aus der Sperrliste",
    objected_on: "Widerspruch am",
    status_queued: "in der Warteschlange",
    status_cancelled: "nicht gesendet",
    status_unknown: "Zustellung unklar",
    status_accepted: "angenommen",
    status_sent: "gesendet",
    status_failed: "fehlgeschlagen",
    status_delivered: "zugestellt",
    status_read: "gelesen",
    failed_reason: "WhatsApp-Fehler",
    invalid: "Bitte prüfen Sie Ihre Eingabe.",
    refusal: refusal_de,
};

const EN: InboxTexts = InboxTexts {
    title: "Inbox",
    intro: "Conversations with candidates, most recently created first. Consent, objection and the reply window decide what you can send.",
    empty: "No conversations yet.",
    col_person: "Candidate",
    col_state: "State",
    col_since: "Created",
    next_page: "More conversations",
    unnamed: "No name",
    back: "Back to the inbox",
    thread_label: "Conversation",
    no_messages: "No messages yet.",
    from_candidate: "Candidate",
    from_team: "Your team",
    composer: "Write a message",
    text_label: "Your message",
    send: "Send",
    templates_label: "Approved template",
    template_param: "Value",
    send_template: "Send template",
    consent_request: "Ask for consent",
    consent_requests_left: "Requests left",
    nothing_allowed: "Nothing can be sent at the moment.",
    window_open_until: "Reply window open until",
    window_closed: "Reply window closed: approved templates only.",
    notice_appended: "hoheit appends the privacy notice and the note on the right to object to the first message.",
    queued: "The message was queued for sending.",
    badge_consent: "Consent given",
    badge_consent_requested: "Consent requested",
    badge_no_consent: "No consent",
    badge_consent_withdrawn: "Consent withdrawn",
    badge_objected: "Objected",
    badge_review: "Review pending",
    badge_window: "Reply window open",
    badge_ended: "Process ended",
    badge_restricted: "Restricted",
    template_named: "Template",
    document: "Document",
    media: "File",
    structured: "Message of type",
    objection_by_message: "by WhatsApp message",
    objection_by_staff: "recorded by the team",
    objection_by_review: "confirmed after reviewing a message",
    objection_by_suppression: "from the suppression list",
    objected_on: "Objected on",
    status_queued: "queued",
    status_cancelled: "not sent",
    status_unknown: "delivery unclear",
    status_accepted: "accepted",
    status_sent: "sent",
    status_failed: "failed",
    status_delivered: "delivered",
    status_read: "read",
    failed_reason: "WhatsApp error",
    invalid: "Please check your input.",
    refusal: refusal_en,
};

/// Why a kind of message cannot be sent, and who can change it (German).
const fn refusal_de(code: RefusalCode) -> &'static str {
    match code {
        RefusalCode::ChannelNotApproved => {
            "Der WhatsApp-Kanal ist nicht freigegeben. Die Freigabe erteilt die oder der Datenschutzbeauftragte (DSB)."
        }
        RefusalCode::CandidateErased => "Die Daten dieser Person wurden gelöscht.",
        RefusalCode::CandidateRestricted => {
            "Die Verarbeitung der Daten ist eingeschränkt. Aufheben können die Administration oder die DSB."
        }
        RefusalCode::LegalHold => {
            "Eine Aufbewahrungspflicht (Legal Hold) sperrt Nachrichten. Zuständig sind die Administration oder die DSB."
        }
        RefusalCode::Objected => {
            "Die Person hat widersprochen: Es gehen keine Nachrichten mehr an sie. Erlaubt ist nur eine Antwort auf eine neue Nachricht der Person."
        }
        RefusalCode::ObjectionReviewPending => {
            "Eine Nachricht der Person könnte ein Widerspruch sein. Bis die Administration oder die DSB entschieden hat, wird nichts gesendet."
        }
        RefusalCode::ConsentMissing => "Die Person hat WhatsApp-Nachrichten noch nicht zugestimmt.",
        RefusalCode::ConsentWithdrawn => "Die Einwilligung wurde widerrufen oder ist abgelaufen.",
        RefusalCode::ConsentOutdated => {
            "Die Einwilligung bezieht sich auf ältere Nutzungsbedingungen oder Datenschutzhinweise. Bitte fragen Sie erneut an."
        }
        RefusalCode::ConsentRequestLimit => "Es dürfen keine weiteren Einwilligungsanfragen gesendet werden.",
        RefusalCode::WindowClosed => "Das Antwortfenster ist geschlossen: nur freigegebene Vorlagen.",
        RefusalCode::TemplateNotApproved => "Diese Vorlage ist nicht von WhatsApp freigegeben.",
        RefusalCode::MarketingNotConsented => "Werbliche Vorlagen brauchen die Einwilligung in den Talentpool.",
        RefusalCode::MissingNotice => {
            "Datenschutzhinweis oder Datenschutzkontakt fehlen in den Einstellungen. Ergänzen kann sie die Administration."
        }
    }
}

/// Why a kind of message cannot be sent, and who can change it (English).
const fn refusal_en(code: RefusalCode) -> &'static str {
    match code {
        RefusalCode::ChannelNotApproved => {
            "The WhatsApp channel is not approved. The data-protection officer (DPO) approves it."
        }
        RefusalCode::CandidateErased => "This person's data has been erased.",
        RefusalCode::CandidateRestricted => "Processing of the data is restricted. An admin or the DPO can lift it.",
        RefusalCode::LegalHold => "A legal hold blocks messages. An admin or the DPO is responsible.",
        RefusalCode::Objected => {
            "The person objected: no more messages go to them. Only one reply to a new message of theirs is allowed."
        }
        RefusalCode::ObjectionReviewPending => {
            "A message of the person may be an objection. Nothing is sent until an admin or the DPO has decided."
        }
        RefusalCode::ConsentMissing => "The person has not agreed to WhatsApp messages yet.",
        RefusalCode::ConsentWithdrawn => "The consent was withdrawn or has expired.",
        RefusalCode::ConsentOutdated => "The consent refers to older terms or privacy notice. Please ask again.",
        RefusalCode::ConsentRequestLimit => "No further consent requests may be sent.",
        RefusalCode::WindowClosed => "The reply window is closed: approved templates only.",
        RefusalCode::TemplateNotApproved => "This template is not approved by WhatsApp.",
        RefusalCode::MarketingNotConsented => "Marketing templates need the talent-pool consent.",
        RefusalCode::MissingNotice => {
            "The privacy notice or privacy contact is missing in the settings. An admin can add them."
        }
    }
}

pub(crate) const fn texts(lang: Lang) -> &'static InboxTexts {
    match lang {
        Lang::De => &DE,
        Lang::En => &EN,
    }
}

// ---------------------------------------------------------------------------------------------
// The list

struct Row {
    id: String,
    name: String,
    badges: Vec<&'static str>,
    created: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "inbox.html")]
struct InboxPage {
    l: Layout,
    x: &'static InboxTexts,
    rows: Vec<Row>,
    next: Option<String>,
}

/// Query of the list.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct ListQuery {
    #[serde(default)]
    after: Option<String>,
}

/// `GET /inbox`: a page of conversations (keyset by candidate id).
pub(crate) async fn list(State(state): State<WebState>, client: Client, Query(q): Query<ListQuery>) -> Response {
    let Some(app) = state.app() else { return see_other("/signin") };
    let Some(signed) = signed_in(app, &client).await else { return see_other("/signin?notice=expired") };
    let lang = signed.lang();
    let x = texts(lang);
    let after = q.after.as_deref().and_then(|a| a.parse::<CandidateId>().ok());
    let p = &signed.principal;
    let rows = match app.inbox_page(p.tenant, p.actor(), after, PAGE).await {
        Ok(rows) => rows,
        Err(e) => return use_case_failure(&signed, client.path, &e),
    };
    let zone = &state.settings().time_zone;
    let next = (rows.len() == PAGE as usize).then(|| rows.last().map(|r| r.candidate.id.to_string())).flatten();
    let rows = rows
        .iter()
        .map(|r: &InboxRow| Row {
            id: r.candidate.id.to_string(),
            name: display_name(&r.candidate, x),
            badges: badges(r, x),
            created: zone.date_time(lang, r.candidate.created_at),
        })
        .collect();
    InboxPage { l: signed_layout(&state, &signed, client.path), x, rows, next }.into_response()
}

pub(crate) fn display_name(candidate: &Candidate, x: &InboxTexts) -> String {
    let contact = &candidate.contact;
    contact
        .name
        .as_ref()
        .or(contact.profile_name.as_ref())
        .map(|n| n.expose().clone())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| x.unnamed.to_owned())
}

/// The state badges of a conversation, in words.
fn badges(row: &InboxRow, x: &InboxTexts) -> Vec<&'static str> {
    let candidate = &row.candidate;
    let mut badges = Vec::new();
    if matches!(candidate.lifecycle, Lifecycle::Restricted { .. }) {
        badges.push(x.badge_restricted);
    }
    if candidate.objection().active.is_some() {
        badges.push(x.badge_objected);
    } else if candidate.objection().review.is_some() {
        badges.push(x.badge_review);
    }
    badges.push(match row.consent {
        ConsentState::Granted { .. } => x.badge_consent,
        ConsentState::Requested { .. } => x.badge_consent_requested,
        ConsentState::Withdrawn { .. } | ConsentState::Expired { .. } => x.badge_consent_withdrawn,
        ConsentState::None | ConsentState::Declined { .. } => x.badge_no_consent,
    });
    if candidate.conversation.window_open_at(row.at) {
        badges.push(x.badge_window);
    }
    if matches!(candidate.process, Process::Ended { .. }) {
        badges.push(x.badge_ended);
    }
    badges
}

// ---------------------------------------------------------------------------------------------
// A thread

struct Bubble {
    inbound: bool,
    who: &'static str,
    time: String,
    text: String,
    status: Option<String>,
}

struct TemplateView {
    key: String,
    value: String,
    label: String,
    parameters: Vec<u8>,
    preview: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "thread.html")]
struct ThreadPage {
    l: Layout,
    x: &'static InboxTexts,
    id: String,
    name: String,
    badges: Vec<&'static str>,
    bubbles: Vec<Bubble>,
    banner: Option<String>,
    notice: Option<&'static str>,
    error: Option<String>,
    text_allowed: bool,
    needs_notice: bool,
    window: String,
    consent_left: Option<u32>,
    templates: Vec<TemplateView>,
    nothing: bool,
    may_send: bool,
}

/// Query of a thread (a banner after a send).
#[derive(Debug, Deserialize, Default)]
pub(crate) struct ThreadQuery {
    #[serde(default)]
    sent: Option<String>,
}

/// `GET /inbox/{id}`: the thread (an audited content read) and the composer.
pub(crate) async fn thread(
    State(state): State<WebState>,
    client: Client,
    Path(id): Path<String>,
    Query(q): Query<ThreadQuery>,
) -> Response {
    let Some(app) = state.app() else { return see_other("/signin") };
    let Some(signed) = signed_in(app, &client).await else { return see_other("/signin?notice=expired") };
    let notice = q.sent.is_some().then(|| texts(signed.lang()).queued);
    render_thread(&state, &signed, &id, client.path, notice, None, StatusCode::OK).await
}

async fn render_thread(
    state: &WebState,
    signed: &Signed,
    id: &str,
    path: String,
    notice: Option<&'static str>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let Some(app) = state.app() else { return see_other("/signin") };
    let lang = signed.lang();
    let x = texts(lang);
    let Ok(id) = id.parse::<CandidateId>() else { return not_found(lang, path) };
    let p = &signed.principal;
    let (row, options) = match app.composer(p.tenant, p.actor(), id).await {
        Ok(found) => found,
        Err(e) => return use_case_failure(signed, path, &e),
    };
    let messages = match app.read_messages(p.tenant, p.actor(), id).await {
        Ok(m) => m,
        Err(e) => return use_case_failure(signed, path, &e),
    };
    let zone = &state.settings().time_zone;
    let bubbles = messages.iter().map(|m| bubble(m, lang, zone, x)).collect();
    let may_send = hoheit_domain::access::Action::SendMessages.allows(p.role);
    let banner = banner(&options, lang, zone, x);
    let window = match options.window_until {
        Some(until) => format!("{} {}", x.window_open_until, zone.date_time(lang, until)),
        None => x.window_closed.to_owned(),
    };
    let templates = options
        .templates
        .iter()
        .enumerate()
        .map(|(i, t)| TemplateView {
            key: format!("tpl{i}"),
            value: format!("{}|{}", t.name.as_str(), t.language.as_str()),
            label: format!("{} ({})", t.name.as_str(), t.language.as_str()),
            parameters: (1..=t.body_parameters).collect(),
            preview: t.body_text.clone(),
        })
        .collect();
    let page = ThreadPage {
        l: signed_layout(state, signed, path),
        x,
        id: id.to_string(),
        name: display_name(&row.candidate, x),
        badges: badges(&row, x),
        bubbles,
        banner,
        notice,
        error,
        text_allowed: options.text.is_ok(),
        needs_notice: row.candidate.conversation.needs_notice(),
        window,
        consent_left: options.consent_request,
        templates,
        nothing: !options.anything(),
        may_send,
    };
    (status, page).into_response()
}

/// The banner above the composer: what stops regular messages, with the objection's date.
fn banner(options: &ComposerOptions, lang: Lang, zone: &crate::i18n::Zone, x: &InboxTexts) -> Option<String> {
    let refusal = options.blocked?;
    let mut text = (x.refusal)(refusal.code).to_owned();
    if let (RefusalCode::Objected, Some(objection)) = (refusal.code, &options.objection) {
        let source = match objection.source {
            ObjectionSource::WhatsApp { .. } => x.objection_by_message,
            ObjectionSource::Staff { .. } => x.objection_by_staff,
            ObjectionSource::Review { .. } => x.objection_by_review,
            ObjectionSource::Suppression => x.objection_by_suppression,
        };
        text = format!("{} {} ({source}). {text}", x.objected_on, zone.date_time(lang, objection.at));
    }
    Some(text)
}

/// A message's content as text for a page (media and other types named, not shown).
pub(crate) fn message_text(m: &Message, x: &InboxTexts) -> String {
    match m.body.expose() {
        MessageBody::Outbound(content) => match content {
            OutboundContent::Text { body } | OutboundContent::Interactive { body, .. } => body.expose().clone(),
            OutboundContent::Template { name, body_parameters, .. } => {
                let values: Vec<&str> = body_parameters.iter().map(|p| p.expose().as_str()).collect();
                if values.is_empty() {
                    format!("{} „{}“", x.template_named, name.as_str())
                } else {
                    format!("{} „{}“: {}", x.template_named, name.as_str(), values.join(" · "))
                }
            }
            OutboundContent::Document { filename, .. } => format!("{}: {}", x.document, filename.expose()),
        },
        MessageBody::Inbound(content) => match content {
            InboundContent::Text { body } => body.expose().clone(),
            InboundContent::Button { text, .. } => text.expose().clone(),
            InboundContent::InteractiveReply { title, .. } => title.expose().clone(),
            InboundContent::Media { caption, filename, .. } => {
                let name = filename.as_ref().or(caption.as_ref()).map(|n| n.expose().clone()).unwrap_or_default();
                format!("{}: {name}", x.media)
            }
            InboundContent::Structured { type_name, .. } | InboundContent::Unsupported { type_name, .. } => {
                format!("{} {type_name}", x.structured)
            }
        },
    }
}

fn bubble(m: &Message, lang: Lang, zone: &crate::i18n::Zone, x: &InboxTexts) -> Bubble {
    let inbound = m.direction == Direction::Inbound;
    let text = message_text(m, x);
    let status = (!inbound).then(|| m.status.effective()).flatten().map(|s| {
        let word = match s {
            DeliveryStatus::Queued => x.status_queued,
            DeliveryStatus::Cancelled => x.status_cancelled,
            DeliveryStatus::Unknown => x.status_unknown,
            DeliveryStatus::Accepted => x.status_accepted,
            DeliveryStatus::Sent => x.status_sent,
            DeliveryStatus::Failed => x.status_failed,
            DeliveryStatus::Delivered => x.status_delivered,
            DeliveryStatus::Read => x.status_read,
        };
        match m.status.get(DeliveryStatus::Failed).and_then(|o| o.error_code) {
            Some(code) if s == DeliveryStatus::Failed => format!("{word} ({} {code})", x.failed_reason),
            _ => word.to_owned(),
        }
    });
    Bubble {
        inbound,
        who: if inbound { x.from_candidate } else { x.from_team },
        time: zone.date_time(lang, m.provider_at.unwrap_or(m.created_at)),
        text,
        status,
    }
}

// ---------------------------------------------------------------------------------------------
// Sending

/// The text form.
#[derive(Debug, Deserialize)]
pub(crate) struct TextForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    text: String,
}

/// `POST /inbox/{id}/text`: free text, decided by the policy.
pub(crate) async fn send_text(
    State(state): State<WebState>,
    client: Client,
    Path(id): Path<String>,
    Form(form): Form<TextForm>,
) -> Response {
    let request = MessageRequest::Text(Pii::new(form.text));
    send(&state, &client, &id, &form.csrf_token, Outgoing::Message(request)).await
}

/// The template form: `template` is `name|language`, values `p1`, `p2`, ...
#[derive(Debug, Deserialize)]
pub(crate) struct TemplateForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    template: String,
    #[serde(flatten)]
    values: std::collections::BTreeMap<String, String>,
}

/// `POST /inbox/{id}/template`: an approved template with its values, decided by the policy.
pub(crate) async fn send_template(
    State(state): State<WebState>,
    client: Client,
    Path(id): Path<String>,
    Form(form): Form<TemplateForm>,
) -> Response {
    let parsed = form
        .template
        .split_once('|')
        .and_then(|(name, language)| Some((TemplateName::parse(name).ok()?, LanguageCode::parse(language).ok()?)));
    let outgoing = match parsed {
        Some((name, language)) => {
            let parameters = (1..=10)
                .map_while(|n| form.values.get(&format!("p{n}")))
                .map(|v| Pii::new(v.trim().to_owned()))
                .collect();
            Outgoing::Message(MessageRequest::Template { name, language, parameters })
        }
        None => Outgoing::Invalid,
    };
    send(&state, &client, &id, &form.csrf_token, outgoing).await
}

/// A form with only the CSRF token.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenOnly {
    #[serde(default)]
    csrf_token: String,
}

/// `POST /inbox/{id}/consent-request`: the channel's consent-request template (R10).
pub(crate) async fn consent_request(
    State(state): State<WebState>,
    client: Client,
    Path(id): Path<String>,
    Form(form): Form<TokenOnly>,
) -> Response {
    send(&state, &client, &id, &form.csrf_token, Outgoing::ConsentRequest).await
}

enum Outgoing {
    Message(MessageRequest),
    ConsentRequest,
    Invalid,
}

async fn send(state: &WebState, client: &Client, id: &str, csrf: &str, outgoing: Outgoing) -> Response {
    let signed = match signed_post(state, client, csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(app) = state.app() else { return see_other("/signin") };
    let lang = signed.lang();
    let x = texts(lang);
    let path = format!("/inbox/{id}");
    let Ok(candidate) = id.parse::<CandidateId>() else { return not_found(lang, path) };
    let p = &signed.principal;
    let result = match outgoing {
        Outgoing::Message(request) => app.send_message(p.tenant, p.actor(), candidate, request).await,
        Outgoing::ConsentRequest => app.request_consent(p.tenant, p.actor(), candidate).await,
        Outgoing::Invalid => Err(UseCaseError::Invalid(String::new())),
    };
    match result {
        Ok(_) => see_other(&format!("/inbox/{candidate}?sent=1")),
        Err(UseCaseError::Refused(refusal)) => {
            let error = (x.refusal)(refusal.code).to_owned();
            render_thread(state, &signed, id, path, None, Some(error), StatusCode::CONFLICT).await
        }
        Err(UseCaseError::Invalid(_)) => {
            render_thread(state, &signed, id, path, None, Some(x.invalid.to_owned()), StatusCode::UNPROCESSABLE_ENTITY)
                .await
        }
        Err(e) => use_case_failure(&signed, path, &e),
    }
}

// ---------------------------------------------------------------------------------------------
// Failures

pub(crate) fn not_found(lang: Lang, path: String) -> Response {
    let t = lang.messages();
    message(lang, path, StatusCode::NOT_FOUND, t.not_found_title, t.not_found_text)
}

/// A use case's failure as a page: forbidden, not found, or an error without details.
pub(crate) fn use_case_failure(signed: &Signed, path: String, e: &UseCaseError) -> Response {
    let lang = signed.lang();
    match e {
        UseCaseError::Forbidden(_) => forbidden(lang),
        UseCaseError::NotFound(_) => not_found(lang, path),
        UseCaseError::Refused(_)
        | UseCaseError::Invalid(_)
        | UseCaseError::Conflict(_)
        | UseCaseError::DpoNotIndependent
        | UseCaseError::Unavailable(_)
        | UseCaseError::Store(_) => {
            let t = lang.messages();
            message(lang, path, StatusCode::INTERNAL_SERVER_ERROR, t.error_title, t.err_internal)
        }
    }
}

/// Whether a role sees the inbox at all (the navigation entry).
pub(crate) fn offered_to(role: Role) -> bool {
    hoheit_domain::access::Action::ReadCandidates.allows(role)
}
