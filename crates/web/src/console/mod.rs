//! The DPO and admin console (issue 18): the overview of what is due, the queue of open
//! objection reviews and the decision on each ("Widerspruch" or "kein Widerspruch" with a
//! reason; opening a review shows the candidate's message, an audited content read, R33), and
//! the pages of [`channels`] (approval, revocation), [`requests`] (the subject-request
//! register), [`audit`] (browse, verify, checkpoints) and [`records`] (Art. 30, the privacy
//! notice's WhatsApp section). Admin and DPO only; the domain decides every action.

mod audit;
mod channels;
mod legal;
mod records;
mod requests;
mod retention;

pub(crate) use audit::{audit_checkpoint, audit_page, audit_public_key};
pub(crate) use channels::{
    approve as approve_channel, channels_page, register as register_channel, revoke as revoke_channel,
};
pub(crate) use legal::{legal_check, legal_page, legal_publish};
pub(crate) use records::{privacy_section, record_page};
pub(crate) use requests::{
    answer as answer_request, close as close_request, export as export_request, extend as extend_request,
    open as open_request, request_page, requests_page,
};
pub(crate) use retention::{retention_page, retention_policy, retention_run};

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hoheit_domain::actor::Role;
use hoheit_domain::ids::{CandidateId, ReviewId};
use hoheit_domain::objection::DismissReason;
use hoheit_domain::subject_request::{SubjectRequest, SubjectRequestKind};
use hoheit_domain::usecases::ReviewDecision;
use serde::Deserialize;

use crate::WebState;
use crate::i18n::Lang;
use crate::identity::{Client, Signed, forbidden, see_other, signed_in, signed_layout, signed_post};
use crate::inbox::{display_name, message_text, not_found, texts as inbox_texts, use_case_failure};
use crate::pages::{Layout, message};
use hoheit_domain::access::Action;
use hoheit_domain::usecases::UseCaseError;

/// The console's texts (German first, English second).
#[derive(Debug)]
pub(crate) struct ConsoleTexts {
    pub overview_title: &'static str,
    pub overview_intro: &'static str,
    pub requests_title: &'static str,
    pub requests_none: &'static str,
    pub col_kind: &'static str,
    pub col_received: &'static str,
    pub due_soon: &'static str,
    pub reviews_summary: &'static str,
    pub holds_title: &'static str,
    pub holds_summary: &'static str,
    pub channels_title: &'static str,
    pub channel_approved: &'static str,
    pub channel_review_due: &'static str,
    pub channel_revoked: &'static str,
    pub channel_unapproved: &'static str,
    pub areas: &'static str,
    pub area_requests: &'static str,
    pub area_channels: &'static str,
    pub area_audit: &'static str,
    pub area_records: &'static str,
    pub area_privacy: &'static str,
    pub retention_title: &'static str,
    pub retention_never: &'static str,
    pub retention_last: &'static str,
    pub retention_counts: &'static str,
    pub chain_hint: &'static str,
    pub chain_title: &'static str,
    pub chain_intact: &'static str,
    pub chain_broken: &'static str,
    pub checkpoint_last: &'static str,
    pub checkpoint_none: &'static str,
    pub kind: fn(SubjectRequestKind) -> &'static str,
    pub reviews_title: &'static str,
    pub reviews_intro: &'static str,
    pub none: &'static str,
    pub col_person: &'static str,
    pub col_matched: &'static str,
    pub col_opened: &'static str,
    pub col_due: &'static str,
    pub overdue: &'static str,
    pub open_review: &'static str,
    pub review_title: &'static str,
    pub message_label: &'static str,
    pub further: &'static str,
    pub decide: &'static str,
    pub confirm: &'static str,
    pub confirm_hint: &'static str,
    pub dismiss: &'static str,
    pub dismiss_reason: &'static str,
    pub back: &'static str,
    pub confirmed: &'static str,
    pub dismissed: &'static str,
    pub reason: fn(DismissReason) -> &'static str,
}

const DE: ConsoleTexts = ConsoleTexts {
    overview_title: "Datenschutz-Konsole",
    overview_intro: "Was fällig ist. Fristen nach Art. 12 DSGVO: ein Monat, verlängerbar nur mit Mitteilung an die Person.",
    requests_title: "Ersuchen betroffener Personen",
    requests_none: "Keine Ersuchen überfällig oder in den nächsten 7 Tagen fällig.",
    col_kind: "Art",
    col_received: "Eingegangen",
    due_soon: "bald fällig",
    reviews_summary: "Offene Widerspruchsprüfungen / davon überfällig",
    holds_title: "Aufbewahrungspflichten (Legal Hold)",
    holds_summary: "Zur Überprüfung fällig",
    channels_title: "WhatsApp-Kanäle",
    channel_approved: "freigegeben, nächste Überprüfung am",
    channel_review_due: "Überprüfung der Freigabe fällig seit",
    channel_revoked: "Freigabe widerrufen",
    channel_unapproved: "nicht freigegeben: es wird nichts gesendet",
    areas: "Bereiche",
    area_requests: "Ersuchen betroffener Personen",
    area_channels: "WhatsApp-Kanäle und Freigaben",
    area_audit: "Audit-Protokoll",
    area_records: "Verzeichnis von Verarbeitungstätigkeiten (Art. 30)",
    area_privacy: "WhatsApp-Abschnitt der Datenschutzhinweise",
    retention_title: "Aufbewahrung und Löschung",
    retention_never: "In den letzten 90 Tagen lief keine Löschung.",
    retention_last: "Letzter Lauf",
    retention_counts: "geprüft / eingeschränkt / gelöscht / wegen Legal Hold behalten",
    chain_hint: "Zum Audit-Protokoll",
    chain_title: "Audit-Protokoll",
    chain_intact: "Die Protokollkette ist unverändert; Einträge geprüft:",
    chain_broken: "Die Protokollkette ist beschädigt ab Eintrag",
    checkpoint_last: "Letzter signierter Prüfpunkt: bis Eintrag",
    checkpoint_none: "Noch kein signierter Prüfpunkt: Nehmen Sie einen im Audit-Protokoll und bewahren Sie ihn außerhalb von hoheit auf.",
    kind: kind_de,
    reviews_title: "Widerspruchsprüfungen",
    reviews_intro: "Nachrichten, die ein Widerspruch sein könnten. Bis Sie entscheiden, wird der Person nichts gesendet.",
    none: "Keine offenen Prüfungen.",
    col_person: "Bewerbende Person",
    col_matched: "Erkanntes Muster",
    col_opened: "Eingegangen",
    col_due: "Fällig",
    overdue: "überfällig",
    open_review: "Prüfen",
    review_title: "Widerspruch prüfen",
    message_label: "Nachricht der Person",
    further: "Weitere Nachrichten in dieser Prüfung",
    decide: "Entscheidung",
    confirm: "Widerspruch",
    confirm_hint: "Der Widerspruch gilt ab dem Eingang der Nachricht: Nachrichten werden gestoppt, die Einwilligung endet, die Person erhält eine Bestätigung.",
    dismiss: "Kein Widerspruch",
    dismiss_reason: "Begründung",
    back: "Zurück zu den Prüfungen",
    confirmed: "Der Widerspruch wurde erfasst.",
    dismissed: "Die Prüfung wurde ohne Widerspruch abgeschlossen.",
    reason: reason_de,
};

const EN: ConsoleTexts = ConsoleTexts {
    overview_title: "Data-protection console",
    overview_intro: "What is due. Deadlines under Art. 12 GDPR: one month, extendable only if the person is told.",
    requests_title: "Data subject requests",
    requests_none: "No request overdue or due within the next 7 days.",
    col_kind: "Kind",
    col_received: "Received",
    due_soon: "due soon",
    reviews_summary: "Open objection reviews / of which overdue",
    holds_title: "Legal holds",
    holds_summary: "Due for review",
    channels_title: "WhatsApp channels",
    channel_approved: "approved, next review on",
    channel_review_due: "approval review due since",
    channel_revoked: "approval revoked",
    channel_unapproved: "not approved: nothing is sent",
    areas: "Areas",
    area_requests: "Data subject requests",
    area_channels: "WhatsApp channels and approvals",
    area_audit: "Audit log",
    area_records: "Record of processing activities (Art. 30)",
    area_privacy: "The privacy notice's WhatsApp section",
    retention_title: "Retention and erasure",
    retention_never: "No retention run in the last 90 days.",
    retention_last: "Last run",
    retention_counts: "examined / restricted / erased / kept for a legal hold",
    chain_hint: "To the audit log",
    chain_title: "Audit log",
    chain_intact: "The audit chain is unchanged; entries verified:",
    chain_broken: "The audit chain is broken from entry",
    checkpoint_last: "Last signed checkpoint: up to entry",
    checkpoint_none: "No signed checkpoint yet: take one in the audit log and keep it outside hoheit.",
    kind: kind_en,
    reviews_title: "Objection reviews",
    reviews_intro: "Messages that may be an objection. Nothing is sent to the person until you decide.",
    none: "No open reviews.",
    col_person: "Candidate",
    col_matched: "Pattern found",
    col_opened: "Received",
    col_due: "Due",
    overdue: "overdue",
    open_review: "Review",
    review_title: "Review a possible objection",
    message_label: "The person's message",
    further: "Further messages in this review",
    decide: "Decision",
    confirm: "Objection",
    confirm_hint: "The objection applies from the message's arrival: messages stop, the consent ends, the person gets a confirmation.",
    dismiss: "No objection",
    dismiss_reason: "Reason",
    back: "Back to the reviews",
    confirmed: "The objection was recorded.",
    dismissed: "The review was closed without an objection.",
    reason: reason_en,
};

const fn kind_de(kind: SubjectRequestKind) -> &'static str {
    match kind {
        SubjectRequestKind::Access => "Auskunft (Art. 15)",
        SubjectRequestKind::Erasure => "Löschung (Art. 17)",
        SubjectRequestKind::Restriction => "Einschränkung (Art. 18)",
        SubjectRequestKind::Objection => "Widerspruch (Art. 21)",
        SubjectRequestKind::Portability => "Datenübertragbarkeit (Art. 20)",
    }
}

const fn kind_en(kind: SubjectRequestKind) -> &'static str {
    match kind {
        SubjectRequestKind::Access => "Access (Art. 15)",
        SubjectRequestKind::Erasure => "Erasure (Art. 17)",
        SubjectRequestKind::Restriction => "Restriction (Art. 18)",
        SubjectRequestKind::Objection => "Objection (Art. 21)",
        SubjectRequestKind::Portability => "Portability (Art. 20)",
    }
}

const fn reason_de(reason: DismissReason) -> &'static str {
    match reason {
        DismissReason::NegatedKeyword => "Das Wort ist verneint („Ich will meine Bewerbung nicht stoppen“)",
        DismissReason::UnrelatedMeaning => "Das Wort meint hier etwas anderes („Bushaltestelle“)",
        DismissReason::CandidateConfirmed => "Die Person wurde gefragt und möchte weitermachen",
        DismissReason::QuestionOnly => "Nur eine Frage zum Widerspruchsrecht",
    }
}

const fn reason_en(reason: DismissReason) -> &'static str {
    match reason {
        DismissReason::NegatedKeyword => "The word is negated (\"I don't want to stop my application\")",
        DismissReason::UnrelatedMeaning => "The word means something else here (\"bus stop\")",
        DismissReason::CandidateConfirmed => "The person was asked and wants to continue",
        DismissReason::QuestionOnly => "Only a question about the right to object",
    }
}

const fn texts(lang: Lang) -> &'static ConsoleTexts {
    match lang {
        Lang::De => &DE,
        Lang::En => &EN,
    }
}

struct RequestRow {
    kind: &'static str,
    received: String,
    due: String,
    overdue: bool,
}

struct ChannelRow {
    number: String,
    state: String,
    ok: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "console.html")]
struct OverviewPage {
    l: Layout,
    c: &'static ConsoleTexts,
    requests: Vec<RequestRow>,
    reviews_open: usize,
    reviews_overdue: usize,
    holds_due: usize,
    channels: Vec<ChannelRow>,
    last_run: Option<(String, String)>,
    chain: Option<(bool, String)>,
    checkpoint: Option<String>,
}

/// The audit chain's state (verified now) and the last checkpoint, in words.
async fn chain_state(
    state: &WebState,
    tenant: hoheit_domain::ids::TenantId,
    lang: Lang,
) -> (Option<(bool, String)>, Option<String>) {
    let Some(desk) = state.desk() else { return (None, None) };
    let c = texts(lang);
    let chain = desk.verify(tenant).await.ok().map(|s| match s {
        crate::desk::ChainState::Intact { entries, .. } => (true, format!("{} {entries}.", c.chain_intact)),
        crate::desk::ChainState::Broken { seq, what } => (false, format!("{} {seq} ({what}).", c.chain_broken)),
    });
    let zone = &state.settings().time_zone;
    let checkpoint = desk.last_checkpoint(tenant).await.ok().map(|last| match last {
        Some((seq, at)) => format!("{} {seq}, {}.", c.checkpoint_last, zone.date_time(lang, at)),
        None => c.checkpoint_none.to_owned(),
    });
    (chain, checkpoint)
}

/// The last real (not dry) retention run of the last 90 days: when, and its counts.
async fn last_retention_run(
    state: &WebState,
    tenant: hoheit_domain::ids::TenantId,
    lang: Lang,
    now: time::OffsetDateTime,
) -> Option<(String, String)> {
    let desk = state.desk()?;
    let filter = crate::desk::AuditFilter {
        from: Some(now - time::Duration::days(90)),
        action: Some("retention.run".to_owned()),
        limit: 50,
        ..crate::desk::AuditFilter::default()
    };
    let entries = desk.entries(tenant, &filter).await.ok()?;
    let run = entries.into_iter().find(|e| !e.details.iter().any(|(k, v)| k == "dry_run" && v == "true"))?;
    let count = |key: &str| run.details.iter().find(|(k, _)| k == key).map_or("0", |(_, v)| v.as_str()).to_owned();
    let counts = ["examined", "restricted", "erased", "held"].map(count).join(" / ");
    Some((state.settings().time_zone.date_time(lang, run.at), counts))
}

/// `GET /console`: what is due (admin and DPO).
pub(crate) async fn overview(State(state): State<WebState>, client: Client) -> Response {
    let Some(app) = state.app() else { return see_other("/signin") };
    let Some(signed) = signed_in(app, &client).await else { return see_other("/signin?notice=expired") };
    let lang = signed.lang();
    let c = texts(lang);
    let p = &signed.principal;
    let o = match app.console_overview(p.tenant, p.actor()).await {
        Ok(o) => o,
        Err(e) => return use_case_failure(&signed, client.path, &e),
    };
    let zone = &state.settings().time_zone;
    let request = |r: &SubjectRequest, overdue: bool| RequestRow {
        kind: (c.kind)(r.kind),
        received: zone.date(lang, r.received_at),
        due: zone.date(lang, r.due_at),
        overdue,
    };
    let requests = o
        .subject_requests
        .overdue
        .iter()
        .map(|r| request(r, true))
        .chain(o.subject_requests.due_soon.iter().map(|r| request(r, false)))
        .collect();
    let channels = o
        .channels
        .iter()
        .map(|ch| {
            let (state, ok) = match &ch.approval {
                None => (c.channel_unapproved.to_owned(), false),
                Some(a) if a.revoked_at.is_some() => (c.channel_revoked.to_owned(), false),
                Some(a) if a.review_at <= o.at => {
                    (format!("{} {}", c.channel_review_due, zone.date(lang, a.review_at)), false)
                }
                Some(a) => (format!("{} {}", c.channel_approved, zone.date(lang, a.review_at)), true),
            };
            ChannelRow { number: ch.display_phone_number.as_e164().to_owned(), state, ok }
        })
        .collect();
    let last_run = last_retention_run(&state, p.tenant, lang, o.at).await;
    let (chain, checkpoint) = chain_state(&state, p.tenant, lang).await;
    OverviewPage {
        last_run,
        chain,
        checkpoint,
        l: signed_layout(&state, &signed, client.path),
        c,
        requests,
        reviews_open: o.reviews_open,
        reviews_overdue: o.reviews_overdue,
        holds_due: o.legal_holds_due,
        channels,
    }
    .into_response()
}

/// Whether a role decides reviews (the navigation entry).
pub(crate) fn offered_to(role: Role) -> bool {
    hoheit_domain::access::Action::DecideReviews.allows(role)
}

struct Row {
    candidate: String,
    review: String,
    name: String,
    matched: String,
    opened: String,
    due: String,
    overdue: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "reviews.html")]
struct ReviewsPage {
    l: Layout,
    c: &'static ConsoleTexts,
    rows: Vec<Row>,
    notice: Option<&'static str>,
}

/// Query of the queue (a banner after a decision).
#[derive(Debug, Deserialize, Default)]
pub(crate) struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /console/reviews`: the open reviews, the earliest due first.
pub(crate) async fn reviews(State(state): State<WebState>, client: Client, Query(q): Query<DoneQuery>) -> Response {
    let Some(app) = state.app() else { return see_other("/signin") };
    let Some(signed) = signed_in(app, &client).await else { return see_other("/signin?notice=expired") };
    let lang = signed.lang();
    let c = texts(lang);
    let p = &signed.principal;
    let items = match app.review_queue(p.tenant, p.actor()).await {
        Ok(items) => items,
        Err(e) => return use_case_failure(&signed, client.path, &e),
    };
    let zone = &state.settings().time_zone;
    let x = inbox_texts(lang);
    let rows = items
        .iter()
        .map(|i| Row {
            candidate: i.candidate.id.to_string(),
            review: i.review.id.to_string(),
            name: display_name(&i.candidate, x),
            matched: i.review.matched.clone(),
            opened: zone.date_time(lang, i.review.opened_at),
            due: zone.date_time(lang, i.review.due_at),
            overdue: i.overdue,
        })
        .collect();
    let notice = match q.done.as_deref() {
        Some("confirmed") => Some(c.confirmed),
        Some("dismissed") => Some(c.dismissed),
        _ => None,
    };
    ReviewsPage { l: signed_layout(&state, &signed, client.path), c, rows, notice }.into_response()
}

struct ReasonOption {
    value: &'static str,
    label: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "review.html")]
struct ReviewPage {
    l: Layout,
    c: &'static ConsoleTexts,
    action: String,
    name: String,
    text: String,
    matched: String,
    opened: String,
    due: String,
    overdue: bool,
    further: usize,
    reasons: Vec<ReasonOption>,
}

/// `GET /console/reviews/{candidate}/{review}`: the message under review (an audited content
/// read) and the decision.
pub(crate) async fn review(
    State(state): State<WebState>,
    client: Client,
    Path((candidate, review)): Path<(String, String)>,
) -> Response {
    let Some(app) = state.app() else { return see_other("/signin") };
    let Some(signed) = signed_in(app, &client).await else { return see_other("/signin?notice=expired") };
    let lang = signed.lang();
    let c = texts(lang);
    let p = &signed.principal;
    let (Ok(candidate), Ok(review)) = (candidate.parse::<CandidateId>(), review.parse::<ReviewId>()) else {
        return not_found(lang, client.path);
    };
    if !offered_to(p.role) {
        return forbidden(lang);
    }
    let (found, pending) = match app.review(p.tenant, candidate, review).await {
        Ok(found) => found,
        Err(e) => return use_case_failure(&signed, client.path, &e),
    };
    let read = match app.read_review_message(p.tenant, p.actor(), candidate, review).await {
        Ok(m) => m,
        Err(e) => return use_case_failure(&signed, client.path, &e),
    };
    let zone = &state.settings().time_zone;
    let now = app.clock().now();
    let page = ReviewPage {
        l: signed_layout(&state, &signed, client.path),
        c,
        action: format!("/console/reviews/{candidate}/{review}/decision"),
        name: display_name(&found, inbox_texts(lang)),
        text: message_text(&read, inbox_texts(lang)),
        matched: pending.matched.clone(),
        opened: zone.date_time(lang, pending.opened_at),
        due: zone.date_time(lang, pending.due_at),
        overdue: now >= pending.due_at,
        further: pending.further.len(),
        reasons: DismissReason::ALL.iter().map(|r| ReasonOption { value: r.as_str(), label: (c.reason)(*r) }).collect(),
    };
    page.into_response()
}

/// The decision form.
#[derive(Debug, Deserialize)]
pub(crate) struct DecisionForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

/// `POST /console/reviews/{candidate}/{review}/decision`: "Widerspruch" (confirm) or "kein
/// Widerspruch" with a reason (dismiss); the domain decides who may, and audits it.
pub(crate) async fn decide(
    State(state): State<WebState>,
    client: Client,
    Path((candidate, review)): Path<(String, String)>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let signed = match signed_post(&state, &client, &form.csrf_token).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(app) = state.app() else { return see_other("/signin") };
    let lang = signed.lang();
    let path = format!("/console/reviews/{candidate}/{review}");
    let (Ok(candidate), Ok(review)) = (candidate.parse::<CandidateId>(), review.parse::<ReviewId>()) else {
        return not_found(lang, path);
    };
    let decision = match (form.decision.as_str(), DismissReason::parse(&form.reason)) {
        ("confirm", _) => ReviewDecision::Confirm,
        ("dismiss", Ok(reason)) => ReviewDecision::Dismiss(reason),
        _ => {
            let t = lang.messages();
            return message(lang, path, StatusCode::UNPROCESSABLE_ENTITY, texts(lang).review_title, t.err_invalid);
        }
    };
    let p = &signed.principal;
    match app.decide_review(p.tenant, p.actor(), candidate, review, decision).await {
        Ok(_) => {
            let done = if decision == ReviewDecision::Confirm { "confirmed" } else { "dismissed" };
            see_other(&format!("/console/reviews?done={done}"))
        }
        Err(e) => use_case_failure(&signed, path, &e),
    }
}

// ---------------------------------------------------------------------------------------------
// Shared by the console's pages

/// A console page's entry: signed in, and the role may do `action` (else 403). `Err` is the
/// response to give.
pub(super) async fn enter(state: &WebState, client: &Client, action: Action) -> Result<Signed, Response> {
    let Some(app) = state.app() else { return Err(see_other("/signin")) };
    let Some(signed) = signed_in(app, client).await else { return Err(see_other("/signin?notice=expired")) };
    if !action.allows(signed.principal.role) {
        return Err(forbidden(signed.lang()));
    }
    Ok(signed)
}

/// Why the domain refused, in words.
#[derive(Debug)]
pub(crate) struct RefusalTexts {
    pub title: &'static str,
    pub invalid: &'static str,
    pub conflict: &'static str,
    pub dpo_not_independent: &'static str,
    pub unavailable: &'static str,
    pub code: &'static str,
    pub back: &'static str,
}

const REFUSAL_DE: RefusalTexts = RefusalTexts {
    title: "Nicht ausgeführt",
    invalid: "Die Angaben sind unvollständig oder ungültig.",
    conflict: "Das ist im jetzigen Zustand nicht möglich.",
    dpo_not_independent: "Die Freigabe muss eine Datenschutzbeauftragte Person erteilen, deren Zugang nicht von der Administratorin oder dem Administrator angelegt wurde, die oder der den Kanal registriert hat (Trennung der Aufgaben, R1).",
    unavailable: "Ein externer Dienst ist gerade nicht erreichbar. Bitte versuchen Sie es später erneut.",
    code: "Code",
    back: "Zurück",
};

const REFUSAL_EN: RefusalTexts = RefusalTexts {
    title: "Not done",
    invalid: "The details are incomplete or invalid.",
    conflict: "This is not possible in the current state.",
    dpo_not_independent: "The approval must come from a data-protection officer whose account was not created by the admin who registered the channel (separation of duties, R1).",
    unavailable: "An outside service cannot be reached right now. Please try again later.",
    code: "Code",
    back: "Back",
};

#[derive(Template, WebTemplate)]
#[template(path = "console_refused.html")]
struct RefusedPage {
    l: Layout,
    r: &'static RefusalTexts,
    text: &'static str,
    detail: String,
    code: &'static str,
    back: String,
}

/// A refused console action as a page: 403 and 404 as everywhere; a refusal, invalid input or
/// a conflict with the domain's reason and its stable code (the same codes as the API), and a
/// way back to `back`.
pub(super) fn refused(state: &WebState, signed: &Signed, path: String, back: &str, e: &UseCaseError) -> Response {
    let r = match signed.lang() {
        Lang::De => &REFUSAL_DE,
        Lang::En => &REFUSAL_EN,
    };
    let (status, text, code, detail) = match e {
        UseCaseError::Forbidden(_) | UseCaseError::NotFound(_) | UseCaseError::Store(_) => {
            return use_case_failure(signed, path, e);
        }
        UseCaseError::Invalid(why) => (StatusCode::UNPROCESSABLE_ENTITY, r.invalid, "invalid_input", why.clone()),
        UseCaseError::Conflict(why) => (StatusCode::CONFLICT, r.conflict, "conflict", (*why).to_owned()),
        UseCaseError::DpoNotIndependent => {
            (StatusCode::FORBIDDEN, r.dpo_not_independent, "dpo_not_independent", String::new())
        }
        UseCaseError::Refused(refusal) => {
            (StatusCode::CONFLICT, r.conflict, refusal.code.as_str(), refusal.code.message().to_owned())
        }
        UseCaseError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, r.unavailable, "unavailable", String::new()),
    };
    let page = RefusedPage { l: signed_layout(state, signed, path), r, text, detail, code, back: back.to_owned() };
    (status, page).into_response()
}

/// A refusal the server gave for an action it does outside the domain (the desk): its status,
/// stable code and message.
pub(super) fn refused_by_server(
    state: &WebState,
    signed: &Signed,
    back: &str,
    refusal: &crate::desk::Refused,
) -> Response {
    let r = match signed.lang() {
        Lang::De => &REFUSAL_DE,
        Lang::En => &REFUSAL_EN,
    };
    let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::CONFLICT);
    if status == StatusCode::FORBIDDEN {
        return forbidden(signed.lang());
    }
    let text = if status.is_client_error() && status != StatusCode::CONFLICT { r.invalid } else { r.conflict };
    let page = RefusedPage {
        l: signed_layout(state, signed, back.to_owned()),
        r,
        text,
        detail: refusal.message.clone(),
        code: refusal.code,
        back: back.to_owned(),
    };
    (status, page).into_response()
}

/// A download: the body with its content type, as an attachment named `filename` (the pages'
/// `Cache-Control: no-store` applies as everywhere).
pub(super) fn attachment(body: impl IntoResponse, content_type: &'static str, filename: &str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static(content_type));
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    response
}

/// A console form's POST about the object named in the path: signed in with origin and CSRF
/// checked, and the id parsed (a malformed one is 404 on `back`). `Err` is the response to give.
pub(super) async fn posted<I: std::str::FromStr>(
    state: &WebState,
    client: &Client,
    csrf: &str,
    id: &str,
    back: &str,
) -> Result<(Signed, I), Response> {
    let signed = signed_post(state, client, csrf).await?;
    match id.parse::<I>() {
        Ok(id) => Ok((signed, id)),
        Err(_) => Err(not_found(signed.lang(), back.to_owned())),
    }
}
