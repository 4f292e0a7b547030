//! `/console/requests`: the register of data-subject requests (Art. 15-21, R29-R31). Register a
//! request received by mail, phone, on paper or in person (the person found by their number
//! through the blind index); the deadline with a countdown; extend it with the date the person
//! was told; answer it: the Art. 15/20 export as a download (its SHA-256 kept and shown), the
//! erasure after a confirmation (with the AGG/ArbGG claims-window answer in words), the
//! objection or restriction in effect; or close it with a code.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use hoheit_domain::access::Action;
use hoheit_domain::consent::CaptureChannel;
use hoheit_domain::ids::SubjectRequestId;
use hoheit_domain::subject_request::{
    Fulfilment, SubjectRequest, SubjectRequestKind, SubjectRequestStatus, export_sha256,
};
use hoheit_domain::usecases::{Answer, ErasureOutcome, UseCaseError};
use serde::Deserialize;
use time::OffsetDateTime;

use super::{enter, posted, refused, texts as console_texts};
use crate::WebState;
use crate::i18n::{Lang, Zone};
use crate::identity::{Client, Signed, see_other, signed_layout, signed_post};
use crate::inbox::not_found;
use crate::pages::Layout;

#[derive(Debug)]
pub(crate) struct Texts {
    title: &'static str,
    intro: &'static str,
    none: &'static str,
    col_kind: &'static str,
    col_received: &'static str,
    col_due: &'static str,
    col_status: &'static str,
    open_link: &'static str,
    register: &'static str,
    kind: &'static str,
    channel: &'static str,
    received_on: &'static str,
    phone: &'static str,
    phone_hint: &'static str,
    not_found_phone: &'static str,
    no_candidate: &'static str,
    detail_title: &'static str,
    person: &'static str,
    days_left: &'static str,
    due_today: &'static str,
    days_over: &'static str,
    status_open: &'static str,
    status_extended: &'static str,
    status_fulfilled: &'static str,
    status_refused: &'static str,
    outcome: &'static str,
    sha: &'static str,
    extend: &'static str,
    months: &'static str,
    notified_on: &'static str,
    extend_hint: &'static str,
    export: &'static str,
    export_hint: &'static str,
    erase: &'static str,
    erase_what: &'static str,
    erase_confirm: &'static str,
    erased: &'static str,
    deferred: &'static str,
    link_objection: &'static str,
    link_restriction: &'static str,
    close: &'static str,
    close_fulfilled: &'static str,
    close_refused: &'static str,
    code: &'static str,
    code_hint: &'static str,
    back: &'static str,
    registered: &'static str,
    must_confirm: &'static str,
    channel_name: fn(CaptureChannel) -> &'static str,
}

const DE: Texts = Texts {
    title: "Ersuchen betroffener Personen",
    intro: "Auskunft, Löschung, Einschränkung, Widerspruch und Datenübertragbarkeit (Art. 15–21 DSGVO). Frist: ein Monat ab Eingang; eine Verlängerung um bis zu zwei Monate nur, wenn die Person innerhalb des ersten Monats informiert wurde (Art. 12 Abs. 3).",
    none: "Keine Ersuchen erfasst.",
    col_kind: "Art",
    col_received: "Eingegangen",
    col_due: "Frist",
    col_status: "Stand",
    open_link: "Öffnen",
    register: "Ersuchen erfassen",
    kind: "Art des Ersuchens",
    channel: "Eingegangen per",
    received_on: "Eingegangen am",
    phone: "WhatsApp-Nummer der Person (optional)",
    phone_hint: "Wie die Person sie angibt, z. B. „0170 1234567“. Leer lassen, wenn die Person noch nicht zugeordnet werden kann.",
    not_found_phone: "Zu dieser Nummer gibt es keine bewerbende Person. Lassen Sie das Feld leer, um das Ersuchen ohne Zuordnung zu erfassen (es wird dann mit „no_data_held“ geschlossen).",
    no_candidate: "nicht zugeordnet",
    detail_title: "Ersuchen",
    person: "Person (pseudonyme ID)",
    days_left: "Tage verbleibend",
    due_today: "heute fällig",
    days_over: "Tage überfällig",
    status_open: "offen",
    status_extended: "verlängert, die Person wurde informiert am",
    status_fulfilled: "erledigt am",
    status_refused: "teilweise abgelehnt am",
    outcome: "Ergebnis",
    sha: "SHA-256 des herausgegebenen Dokuments",
    extend: "Frist verlängern",
    months: "Um Monate",
    notified_on: "Person informiert am",
    extend_hint: "Nur innerhalb des ersten Monats und nur einmal.",
    export: "Auskunft erstellen und herunterladen",
    export_hint: "Erstellt das vollständige JSON-Dokument (Art. 15/20), lädt es herunter und schließt das Ersuchen mit dessen SHA-256. Das Lesen wird protokolliert.",
    erase: "Löschen",
    erase_what: "Löscht alle Daten der Person unwiderruflich. Läuft nach einer Absage noch die Frist für Ansprüche nach AGG/ArbGG, werden die Daten bis zu deren Ende eingeschränkt und dann gelöscht.",
    erase_confirm: "Ich habe verstanden, dass die Löschung nicht rückgängig gemacht werden kann.",
    erased: "Die Daten der Person sind gelöscht. Das Ersuchen ist erledigt.",
    deferred: "Nach der Absage läuft noch die Frist, in der die Person Ansprüche nach dem AGG geltend machen kann (§ 15 Abs. 4 AGG, § 61b ArbGG). Die Daten sind jetzt eingeschränkt: niemand kann sie mehr lesen oder nutzen. Sie werden gelöscht am",
    link_objection: "Mit dem wirksamen Widerspruch schließen",
    link_restriction: "Mit der wirksamen Einschränkung schließen",
    close: "Mit Code schließen",
    close_fulfilled: "erledigt",
    close_refused: "teilweise abgelehnt",
    code: "Code",
    code_hint: "z. B. no_data_held, manifestly_unfounded, identity_not_confirmed (Kleinbuchstaben und _)",
    back: "Zurück zum Register",
    registered: "Das Ersuchen ist erfasst.",
    must_confirm: "Bitte bestätigen Sie die Löschung.",
    channel_name: channel_de,
};

const EN: Texts = Texts {
    title: "Data subject requests",
    intro: "Access, erasure, restriction, objection and portability (Art. 15-21 GDPR). Deadline: one month from receipt; an extension by up to two months only if the person was told within the first month (Art. 12(3)).",
    none: "No requests recorded.",
    col_kind: "Kind",
    col_received: "Received",
    col_due: "Deadline",
    col_status: "State",
    open_link: "Open",
    register: "Register a request",
    kind: "Kind of request",
    channel: "Received by",
    received_on: "Received on",
    phone: "The person's WhatsApp number (optional)",
    phone_hint: "As the person gives it, e.g. \"0170 1234567\". Leave it empty if the person cannot be identified yet.",
    not_found_phone: "No candidate has this number. Leave the field empty to register the request without a person (then close it with \"no_data_held\").",
    no_candidate: "not identified",
    detail_title: "Request",
    person: "Person (pseudonymous id)",
    days_left: "days left",
    due_today: "due today",
    days_over: "days overdue",
    status_open: "open",
    status_extended: "extended, the person was told on",
    status_fulfilled: "done on",
    status_refused: "refused in part on",
    outcome: "Outcome",
    sha: "SHA-256 of the document handed out",
    extend: "Extend the deadline",
    months: "By months",
    notified_on: "Person told on",
    extend_hint: "Only within the first month, and only once.",
    export: "Produce and download the export",
    export_hint: "Produces the complete JSON document (Art. 15/20), downloads it and closes the request with its SHA-256. The read is audited.",
    erase: "Erase",
    erase_what: "Erases all of the person's data for good. If the window for claims under the AGG/ArbGG after a rejection is still open, the data is restricted until it ends and erased then.",
    erase_confirm: "I understand that the erasure cannot be undone.",
    erased: "The person's data is erased. The request is done.",
    deferred: "After the rejection, the window in which the person can bring claims under the AGG is still open (§ 15(4) AGG, § 61b ArbGG). The data is restricted now: nobody can read or use it any more. It will be erased on",
    link_objection: "Close with the objection in effect",
    link_restriction: "Close with the restriction in effect",
    close: "Close with a code",
    close_fulfilled: "done",
    close_refused: "refused in part",
    code: "Code",
    code_hint: "e.g. no_data_held, manifestly_unfounded, identity_not_confirmed (lower-case letters and _)",
    back: "Back to the register",
    registered: "The request is registered.",
    must_confirm: "Please confirm the erasure.",
    channel_name: channel_en,
};

const fn channel_de(c: CaptureChannel) -> &'static str {
    match c {
        CaptureChannel::Email => "E-Mail",
        CaptureChannel::Phone => "Telefon",
        CaptureChannel::Paper => "Brief",
        CaptureChannel::InPerson => "persönlich",
        CaptureChannel::Web => "Webformular",
        CaptureChannel::WhatsApp => "WhatsApp",
    }
}

const fn channel_en(c: CaptureChannel) -> &'static str {
    match c {
        CaptureChannel::Email => "e-mail",
        CaptureChannel::Phone => "phone",
        CaptureChannel::Paper => "letter",
        CaptureChannel::InPerson => "in person",
        CaptureChannel::Web => "web form",
        CaptureChannel::WhatsApp => "WhatsApp",
    }
}

const fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::De => &DE,
        Lang::En => &EN,
    }
}

/// The channels a request arrives by outside WhatsApp, as offered in the form.
const CHANNELS: [CaptureChannel; 5] = [
    CaptureChannel::Email,
    CaptureChannel::Phone,
    CaptureChannel::Paper,
    CaptureChannel::InPerson,
    CaptureChannel::Web,
];

const KINDS: [SubjectRequestKind; 5] = [
    SubjectRequestKind::Access,
    SubjectRequestKind::Erasure,
    SubjectRequestKind::Restriction,
    SubjectRequestKind::Objection,
    SubjectRequestKind::Portability,
];

struct Choice {
    value: &'static str,
    label: &'static str,
}

/// The deadline in words: "noch 12 Tage verbleibend", "heute fällig", "3 Tage überfällig".
fn countdown(t: &Texts, r: &SubjectRequest, now: OffsetDateTime) -> (String, bool) {
    let days = (r.due_at - now).whole_days();
    if now >= r.due_at {
        let over = (now - r.due_at).whole_days();
        if over == 0 { (t.due_today.to_owned(), true) } else { (format!("{over} {}", t.days_over), true) }
    } else if days == 0 {
        (t.due_today.to_owned(), false)
    } else {
        (format!("{days} {}", t.days_left), false)
    }
}

fn status_text(t: &Texts, zone: &Zone, lang: Lang, s: &SubjectRequestStatus) -> String {
    match s {
        SubjectRequestStatus::Open => t.status_open.to_owned(),
        SubjectRequestStatus::Extended { notified_at } => {
            format!("{} {}", t.status_extended, zone.date(lang, *notified_at))
        }
        SubjectRequestStatus::Fulfilled { at, outcome } => {
            format!("{} {} ({outcome})", t.status_fulfilled, zone.date(lang, *at))
        }
        SubjectRequestStatus::RefusedInPart { at, reason } => {
            format!("{} {} ({reason})", t.status_refused, zone.date(lang, *at))
        }
    }
}

struct Row {
    id: String,
    kind: &'static str,
    received: String,
    due: String,
    countdown: Option<(String, bool)>,
    status: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "console_requests.html")]
struct ListPage {
    l: Layout,
    t: &'static Texts,
    rows: Vec<Row>,
    kinds: Vec<Choice>,
    channels: Vec<Choice>,
    today: String,
}

fn kind_label(lang: Lang, kind: SubjectRequestKind) -> &'static str {
    (console_texts(lang).kind)(kind)
}

/// `GET /console/requests`: every request, the open ones first by deadline, and the form to
/// register one.
pub(crate) async fn requests_page(State(state): State<WebState>, client: Client) -> Response {
    let signed = match enter(&state, &client, Action::HandleSubjectRequests).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(app) = state.app() else { return see_other("/signin") };
    let lang = signed.lang();
    let t = texts(lang);
    let mut requests = match app.subject_requests(signed.principal.tenant, None).await {
        Ok(r) => r,
        Err(e) => return refused(&state, &signed, client.path, "/console", &e),
    };
    requests.sort_by_key(|r| (!r.status.is_open(), r.due_at));
    let now = app.clock().now();
    let zone = &state.settings().time_zone;
    let rows = requests
        .iter()
        .map(|r| Row {
            id: r.id.to_string(),
            kind: kind_label(lang, r.kind),
            received: zone.date(lang, r.received_at),
            due: zone.date(lang, r.due_at),
            countdown: r.status.is_open().then(|| countdown(t, r, now)),
            status: status_text(t, zone, lang, &r.status),
        })
        .collect();
    ListPage {
        l: signed_layout(&state, &signed, client.path),
        t,
        rows,
        kinds: KINDS.iter().map(|k| Choice { value: k.as_str(), label: kind_label(lang, *k) }).collect(),
        channels: CHANNELS.iter().map(|c| Choice { value: c.as_str(), label: (t.channel_name)(*c) }).collect(),
        today: zone.iso_date(now),
    }
    .into_response()
}

/// The register form.
#[derive(Debug, Deserialize)]
pub(crate) struct OpenForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    received_on: String,
    #[serde(default)]
    phone: String,
}

/// `POST /console/requests`: registers a request; the person, if a number is given, must exist.
pub(crate) async fn open(State(state): State<WebState>, client: Client, Form(form): Form<OpenForm>) -> Response {
    let signed = match signed_post(&state, &client, &form.csrf_token).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(app) = state.app() else { return see_other("/signin") };
    let back = "/console/requests";
    let fail = |e: &UseCaseError| refused(&state, &signed, back.to_owned(), back, e);
    let (Ok(kind), Ok(channel)) = (SubjectRequestKind::parse(&form.kind), CaptureChannel::parse(&form.channel)) else {
        return fail(&UseCaseError::Invalid("kind or channel is not one of the offered values".into()));
    };
    let Some(received_at) = state.settings().time_zone.start_of_day(&form.received_on) else {
        return fail(&UseCaseError::Invalid("the date of receipt is not a date".into()));
    };
    let p = &signed.principal;
    let candidate = match form.phone.trim() {
        "" => None,
        phone => match app.find_candidate_by_phone(p.tenant, p.actor(), phone).await {
            Ok(Some(c)) => Some(c.id),
            Ok(None) => return fail(&UseCaseError::Invalid(texts(signed.lang()).not_found_phone.into())),
            Err(e) => return fail(&e),
        },
    };
    // a request received today is dated now, so that it is never "in the future"
    let now = app.clock().now();
    let received_at = if received_at > now { now } else { received_at };
    match app.open_subject_request(p.tenant, p.actor(), candidate, kind, channel, Some(received_at)).await {
        Ok(r) => see_other(&format!("/console/requests/{}?done=registered", r.id)),
        Err(e) => fail(&e),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "console_request.html")]
struct DetailPage {
    l: Layout,
    t: &'static Texts,
    id: String,
    kind: &'static str,
    channel: &'static str,
    person: Option<String>,
    received: String,
    due: String,
    countdown: Option<(String, bool)>,
    status: String,
    open: bool,
    extendable: bool,
    outcome: Option<String>,
    sha256: Option<String>,
    exportable: bool,
    erasable: bool,
    objection: bool,
    restriction: bool,
    notice: Option<String>,
    today: String,
}

fn outcome_text(t: &Texts, zone: &Zone, lang: Lang, f: &Fulfilment) -> (String, Option<String>) {
    match f {
        Fulfilment::Export { sha256, .. } => ("export".to_owned(), Some(sha256.clone())),
        Fulfilment::ErasureDeferred { erase_at, .. } => {
            (format!("{} {}", t.deferred, zone.date(lang, *erase_at)), None)
        }
        Fulfilment::Erasure { .. } => (t.erased.to_owned(), None),
        other @ (Fulfilment::Objection { .. } | Fulfilment::Restriction { .. }) => (other.as_str().to_owned(), None),
    }
}

async fn render_detail(
    state: &WebState,
    signed: &Signed,
    id: SubjectRequestId,
    path: String,
    notice: Option<String>,
) -> Response {
    let Some(app) = state.app() else { return see_other("/signin") };
    let lang = signed.lang();
    let t = texts(lang);
    let r = match app.subject_request(signed.principal.tenant, id).await {
        Ok(r) => r,
        Err(e) => return refused(state, signed, path, "/console/requests", &e),
    };
    let now = app.clock().now();
    let zone = &state.settings().time_zone;
    let open = r.status.is_open();
    let (outcome, sha256) = match r.fulfilment.as_ref().map(|f| outcome_text(t, zone, lang, f)) {
        Some((o, s)) => (Some(o), s),
        None => (None, None),
    };
    let identified = r.candidate.is_some();
    let page = DetailPage {
        l: signed_layout(state, signed, path),
        t,
        id: r.id.to_string(),
        kind: kind_label(lang, r.kind),
        channel: (t.channel_name)(r.channel),
        person: r.candidate.map(|c| c.to_string()),
        received: zone.date(lang, r.received_at),
        due: zone.date(lang, r.due_at),
        countdown: open.then(|| countdown(t, &r, now)),
        status: status_text(t, zone, lang, &r.status),
        open,
        extendable: matches!(r.status, SubjectRequestStatus::Open),
        outcome,
        sha256,
        exportable: open
            && identified
            && matches!(r.kind, SubjectRequestKind::Access | SubjectRequestKind::Portability),
        erasable: open && identified && r.kind == SubjectRequestKind::Erasure,
        objection: open && identified && r.kind == SubjectRequestKind::Objection,
        restriction: open && identified && r.kind == SubjectRequestKind::Restriction,
        notice,
        today: zone.iso_date(now),
    };
    page.into_response()
}

/// `GET /console/requests/{id}`.
pub(crate) async fn request_page(
    State(state): State<WebState>,
    client: Client,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<super::DoneQuery>,
) -> Response {
    let signed = match enter(&state, &client, Action::HandleSubjectRequests).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<SubjectRequestId>() else { return not_found(signed.lang(), client.path) };
    let notice = (q.done.as_deref() == Some("registered")).then(|| texts(signed.lang()).registered.to_owned());
    render_detail(&state, &signed, id, client.path, notice).await
}

/// The extension form.
#[derive(Debug, Deserialize)]
pub(crate) struct ExtendForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    months: String,
    #[serde(default)]
    notified_on: String,
}

/// `POST /console/requests/{id}/extension`.
pub(crate) async fn extend(
    State(state): State<WebState>,
    client: Client,
    Path(id): Path<String>,
    Form(form): Form<ExtendForm>,
) -> Response {
    let path = format!("/console/requests/{id}");
    let (signed, id) = match posted::<SubjectRequestId>(&state, &client, &form.csrf_token, &id, &path).await {
        Ok(posted) => posted,
        Err(r) => return r,
    };
    let Some(app) = state.app() else { return see_other("/signin") };
    let (Ok(months), Some(notified_at)) =
        (form.months.trim().parse::<u32>(), state.settings().time_zone.start_of_day(&form.notified_on))
    else {
        return refused(
            &state,
            &signed,
            path.clone(),
            &path,
            &UseCaseError::Invalid("months and date are required".into()),
        );
    };
    let notified_at = notified_at.min(app.clock().now());
    let p = &signed.principal;
    match app.extend_subject_request(p.tenant, p.actor(), id, months, notified_at).await {
        Ok(_) => see_other(&path),
        Err(e) => refused(&state, &signed, path.clone(), &path, &e),
    }
}

/// The answer form.
#[derive(Debug, Deserialize)]
pub(crate) struct AnswerForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    understood: Option<String>,
}

/// `POST /console/requests/{id}/answer`: `erasure` (after "understood"), `objection` or
/// `restriction`; the page says what happened, the claims window in words.
pub(crate) async fn answer(
    State(state): State<WebState>,
    client: Client,
    Path(id): Path<String>,
    Form(form): Form<AnswerForm>,
) -> Response {
    let path = format!("/console/requests/{id}");
    let (signed, id) = match posted::<SubjectRequestId>(&state, &client, &form.csrf_token, &id, &path).await {
        Ok(posted) => posted,
        Err(r) => return r,
    };
    let Some(app) = state.app() else { return see_other("/signin") };
    let lang = signed.lang();
    let t = texts(lang);
    let answer = match form.answer.as_str() {
        "erasure" if form.understood.is_some() => Answer::Erasure,
        "erasure" => {
            return refused(&state, &signed, path.clone(), &path, &UseCaseError::Invalid(t.must_confirm.into()));
        }
        "objection" => Answer::Objection,
        "restriction" => Answer::Restriction,
        _ => return refused(&state, &signed, path.clone(), &path, &UseCaseError::Invalid("unknown answer".into())),
    };
    let p = &signed.principal;
    match app.answer_subject_request(p.tenant, p.actor(), id, answer).await {
        Ok(answered) => {
            let zone = &state.settings().time_zone;
            let notice = answered.erasure.map(|o| match o {
                ErasureOutcome::Erased | ErasureOutcome::AlreadyErased => t.erased.to_owned(),
                ErasureOutcome::Deferred { until } => format!("{} {}.", t.deferred, zone.date(lang, until)),
            });
            render_detail(&state, &signed, id, path, notice).await
        }
        Err(e) => refused(&state, &signed, path.clone(), &path, &e),
    }
}

/// `POST /console/requests/{id}/export`: produces the Art. 15/20 document (the read audited),
/// closes the request with its SHA-256 and hands the exact bytes out as a download.
pub(crate) async fn export(
    State(state): State<WebState>,
    client: Client,
    Path(id): Path<String>,
    Form(form): Form<crate::identity::TokenForm>,
) -> Response {
    let path = format!("/console/requests/{id}");
    let (signed, id) = match posted::<SubjectRequestId>(&state, &client, &form.csrf_token, &id, &path).await {
        Ok(posted) => posted,
        Err(r) => return r,
    };
    let (Some(app), Some(desk)) = (state.app(), state.desk()) else { return see_other("/signin") };
    if !Action::HandleSubjectRequests.allows(signed.principal.role) {
        return crate::identity::forbidden(signed.lang());
    }
    let p = &signed.principal;
    let fail = |e: &UseCaseError| refused(&state, &signed, path.clone(), &path, e);
    let request = match app.subject_request(p.tenant, id).await {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let candidate = match request.export_subject() {
        Ok(c) => c,
        Err(refusal) => return fail(&UseCaseError::Invalid(refusal.to_string())),
    };
    let bytes = match desk.subject_export(p.tenant, p.actor(), candidate).await {
        Ok(b) => b,
        Err(e) => return fail(&e),
    };
    let sha256 = export_sha256(&bytes);
    if let Err(e) = app.answer_subject_request(p.tenant, p.actor(), id, Answer::Export { sha256 }).await {
        return fail(&e);
    }
    super::attachment(bytes, "application/json", &format!("hoheit-export-{id}.json"))
}

/// The closing form.
#[derive(Debug, Deserialize)]
pub(crate) struct CloseForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    code: String,
}

/// `POST /console/requests/{id}/closure`: done or refused in part, with a code.
pub(crate) async fn close(
    State(state): State<WebState>,
    client: Client,
    Path(id): Path<String>,
    Form(form): Form<CloseForm>,
) -> Response {
    let path = format!("/console/requests/{id}");
    let (signed, id) = match posted::<SubjectRequestId>(&state, &client, &form.csrf_token, &id, &path).await {
        Ok(posted) => posted,
        Err(r) => return r,
    };
    let Some(app) = state.app() else { return see_other("/signin") };
    let fulfilled = match form.status.as_str() {
        "fulfilled" => true,
        "refused_in_part" => false,
        _ => return refused(&state, &signed, path.clone(), &path, &UseCaseError::Invalid("unknown status".into())),
    };
    let p = &signed.principal;
    match app.close_subject_request(p.tenant, p.actor(), id, fulfilled, &form.code).await {
        Ok(_) => see_other(&path),
        Err(e) => refused(&state, &signed, path.clone(), &path, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoheit_domain::ids::TenantId;
    use time::macros::datetime;

    fn request(due_at: OffsetDateTime) -> SubjectRequest {
        let mut r = SubjectRequest::open(
            uuid::Uuid::nil().into(),
            TenantId::from(uuid::Uuid::nil()),
            None,
            SubjectRequestKind::Access,
            CaptureChannel::Email,
            due_at - time::Duration::days(31),
        );
        r.due_at = due_at;
        r
    }

    #[test]
    fn the_deadline_is_counted_down_in_days() {
        let due = datetime!(2026-12-20 0:00 UTC);
        assert_eq!(
            countdown(&DE, &request(due), datetime!(2026-12-08 0:00 UTC)),
            ("12 Tage verbleibend".into(), false)
        );
        assert_eq!(countdown(&DE, &request(due), datetime!(2026-12-19 12:00 UTC)), ("heute fällig".into(), false));
        assert_eq!(countdown(&DE, &request(due), datetime!(2026-12-20 6:00 UTC)), ("heute fällig".into(), true));
        assert_eq!(countdown(&EN, &request(due), datetime!(2026-12-23 1:00 UTC)), ("3 days overdue".into(), true));
    }
}
