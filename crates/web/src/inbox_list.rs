//! The inbox's conversation list (issue 17 items 1 and 2): the views All / Mine / Unassigned /
//! Needs reply, the filters (window open, waiting for consent, objected, review pending, process
//! ended), one search box for a phone number (exact, through the blind index) or a name (every
//! word, also its beginning, "Müller" = "Mueller" = "Muller", through keyed hashes of the name's
//! tokens; [`hoheit_domain::names`]), 25 per page; and taking a conversation on ("Mir zuweisen")
//! or giving it back, audited. The domain decides what each view holds
//! ([`hoheit_domain::usecases::InboxRow::shown_in`]) and who may see restricted candidates (R25).
//!
//! Each row shows the signed-in staff member's own unread count (inbound messages after their
//! own read marker, which opening the thread moves; no one sees another's: no per-recruiter
//! figures, § 87(1) Nr. 6 BetrVG) and a summary of the last message: who (the candidate, your
//! team, hoheit automatically), the kind in words, the time and, outbound, the delivery state in
//! words. Deliberately never the message's words: the list reads no content, and showing it
//! here would be a content read without the audit entry opening the thread writes (R33).

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use hoheit_domain::conversation::{Direction, Intent};
use hoheit_domain::ids::CandidateId;
use hoheit_domain::inbound::MediaKind;
use hoheit_domain::message::MessageKind;
use hoheit_domain::ports::{ActivityCursor, ConversationSummary, LastMessage};
use hoheit_domain::usecases::{InboxFilter, InboxQuery, InboxRow, InboxView, UseCaseError};
use serde::Deserialize;

use crate::WebState;
use crate::i18n::Lang;
use crate::identity::{Client, see_other, signed_in, signed_layout, signed_post};
use crate::inbox::{
    InboxTexts, PAGE, badges, display_name, may_add, not_found, texts as inbox_texts, use_case_failure,
};
use crate::pages::Layout;

/// The list's texts beyond the inbox's.
#[derive(Debug)]
pub(crate) struct ListTexts {
    pub views: &'static str,
    pub view: fn(InboxView) -> &'static str,
    pub filter_label: &'static str,
    pub filter_none: &'static str,
    pub filter: fn(InboxFilter) -> &'static str,
    pub phone: &'static str,
    pub search_hint: &'static str,
    pub search: &'static str,
    pub col_unread: &'static str,
    pub col_last: &'static str,
    pub unread: &'static str,
    pub all_read: &'static str,
    pub no_message: &'static str,
    pub by_candidate: &'static str,
    pub by_team: &'static str,
    pub by_hoheit: &'static str,
    pub kind: fn(&LastMessage) -> &'static str,
    pub reset: &'static str,
    pub col_assigned: &'static str,
    pub to_you: &'static str,
    pub to_other: &'static str,
    pub nobody: &'static str,
    pub needs_reply: &'static str,
    pub bad_phone: &'static str,
    pub assign_me: &'static str,
    pub assign_to: &'static str,
    pub not_assignable: &'static str,
    pub unassign: &'static str,
    pub done_assigned: &'static str,
    pub done_unassigned: &'static str,
}

const DE: ListTexts = ListTexts {
    views: "Ansichten",
    view: view_de,
    filter_label: "Nur",
    filter_none: "alle Zustände",
    filter: filter_de,
    phone: "Telefonnummer oder Name",
    search_hint: "Ganze Wörter oder deren Anfang (ab drei Buchstaben), z. B. „Must“ für Mustermann.",
    search: "Anzeigen",
    col_unread: "Ungelesen",
    col_last: "Letzte Nachricht",
    unread: "ungelesen",
    all_read: "alles gelesen",
    no_message: "noch keine Nachricht",
    by_candidate: "Bewerbende Person",
    by_team: "Ihr Team",
    by_hoheit: "hoheit (automatisch)",
    kind: kind_de,
    reset: "Zurücksetzen",
    col_assigned: "Zugewiesen",
    to_you: "Ihnen",
    to_other: "jemand anderem",
    nobody: "niemandem",
    needs_reply: "wartet auf Antwort",
    bad_phone: "Diese Telefonnummer kann es nicht geben.",
    assign_me: "Mir zuweisen",
    assign_to: "Zuweisen an",
    not_assignable: "Gespräche werden aktiven Recruiting- oder Administrationskonten zugewiesen.",
    unassign: "Zuweisung aufheben",
    done_assigned: "Das Gespräch ist Ihnen zugewiesen.",
    done_unassigned: "Die Zuweisung ist aufgehoben.",
};

const EN: ListTexts = ListTexts {
    views: "Views",
    view: view_en,
    filter_label: "Only",
    filter_none: "every state",
    filter: filter_en,
    phone: "Phone number or name",
    search_hint: "Whole words or their beginning (three letters or more), e.g. “Must” for Mustermann.",
    search: "Show",
    col_unread: "Unread",
    col_last: "Last message",
    unread: "unread",
    all_read: "all read",
    no_message: "no message yet",
    by_candidate: "The candidate",
    by_team: "Your team",
    by_hoheit: "hoheit (automatic)",
    kind: kind_en,
    reset: "Reset",
    col_assigned: "Assigned to",
    to_you: "you",
    to_other: "someone else",
    nobody: "nobody",
    needs_reply: "waiting for a reply",
    bad_phone: "This phone number cannot exist.",
    assign_me: "Assign to me",
    assign_to: "Assign to",
    not_assignable: "Conversations are assigned to active recruiting or admin accounts.",
    unassign: "Lift the assignment",
    done_assigned: "The conversation is assigned to you.",
    done_unassigned: "The assignment is lifted.",
};

const fn view_de(v: InboxView) -> &'static str {
    match v {
        InboxView::All => "Alle",
        InboxView::Mine => "Meine",
        InboxView::Unassigned => "Nicht zugewiesen",
        InboxView::NeedsReply => "Antwort nötig",
    }
}

const fn view_en(v: InboxView) -> &'static str {
    match v {
        InboxView::All => "All",
        InboxView::Mine => "Mine",
        InboxView::Unassigned => "Unassigned",
        InboxView::NeedsReply => "Needs reply",
    }
}

const fn filter_de(f: InboxFilter) -> &'static str {
    match f {
        InboxFilter::WindowOpen => "Antwortfenster offen",
        InboxFilter::WaitingForConsent => "wartet auf Einwilligung",
        InboxFilter::Objected => "Widerspruch",
        InboxFilter::ReviewPending => "Prüfung offen",
        InboxFilter::ProcessEnded => "Verfahren beendet",
    }
}

const fn filter_en(f: InboxFilter) -> &'static str {
    match f {
        InboxFilter::WindowOpen => "reply window open",
        InboxFilter::WaitingForConsent => "waiting for consent",
        InboxFilter::Objected => "objected",
        InboxFilter::ReviewPending => "review pending",
        InboxFilter::ProcessEnded => "process ended",
    }
}

/// The kind of a message in words (from its clear kind and, for media, the file's kind).
const fn kind_de(m: &LastMessage) -> &'static str {
    match (m.kind, m.media, m.direction) {
        (MessageKind::Text, _, _) => "Textnachricht",
        (MessageKind::Template, _, _) => "Vorlage",
        (MessageKind::Interactive, _, Direction::Inbound) => "Schaltfläche",
        (MessageKind::Interactive, _, Direction::Outbound) => "Nachricht mit Schaltflächen",
        (MessageKind::Media, Some(MediaKind::Image), _) => "Bild",
        (MessageKind::Media, Some(MediaKind::Document), _) => "Dokument",
        (MessageKind::Media, Some(MediaKind::Audio), _) => "Sprachnachricht oder Audio",
        (MessageKind::Media, Some(MediaKind::Video), _) => "Video",
        (MessageKind::Media, Some(MediaKind::Sticker), _) => "Sticker",
        (MessageKind::Media, None, _) => "Datei",
        (MessageKind::Structured, _, _) => "Standort, Kontakt oder Reaktion",
        (MessageKind::Unsupported, _, _) => "nicht unterstützter Nachrichtentyp",
    }
}

const fn kind_en(m: &LastMessage) -> &'static str {
    match (m.kind, m.media, m.direction) {
        (MessageKind::Text, _, _) => "text message",
        (MessageKind::Template, _, _) => "template",
        (MessageKind::Interactive, _, Direction::Inbound) => "button",
        (MessageKind::Interactive, _, Direction::Outbound) => "message with buttons",
        (MessageKind::Media, Some(MediaKind::Image), _) => "image",
        (MessageKind::Media, Some(MediaKind::Document), _) => "document",
        (MessageKind::Media, Some(MediaKind::Audio), _) => "voice message or audio",
        (MessageKind::Media, Some(MediaKind::Video), _) => "video",
        (MessageKind::Media, Some(MediaKind::Sticker), _) => "sticker",
        (MessageKind::Media, None, _) => "file",
        (MessageKind::Structured, _, _) => "location, contact or reaction",
        (MessageKind::Unsupported, _, _) => "unsupported message type",
    }
}

/// The last message without its words: who, what kind, when, and outbound how far it got
/// ("Ihr Team · Vorlage · 07.12.2026, 14:05 Uhr · zugestellt").
fn last_message(x: &InboxTexts, t: &ListTexts, zone: &crate::i18n::Zone, lang: Lang, m: &LastMessage) -> String {
    let who = match (m.direction, m.intent) {
        (Direction::Inbound, _) => t.by_candidate,
        (Direction::Outbound, Some(Intent::ObjectionConfirmation | Intent::HelpReply)) => t.by_hoheit,
        (Direction::Outbound, _) => t.by_team,
    };
    let mut words = format!("{who} · {} · {}", (t.kind)(m), zone.date_time(lang, m.at));
    if let Some(status) = m.status.filter(|_| m.direction == Direction::Outbound) {
        words.push_str(" · ");
        words.push_str(crate::inbox::delivery_word(x, status));
    }
    words
}

pub(crate) const fn texts(lang: Lang) -> &'static ListTexts {
    match lang {
        Lang::De => &DE,
        Lang::En => &EN,
    }
}

struct Row {
    id: String,
    name: String,
    badges: Vec<&'static str>,
    assigned: &'static str,
    activity: String,
    /// The viewer's unread count (0: all read).
    unread: u32,
    /// The last message in words, without its content.
    last: String,
}

struct ViewLink {
    href: String,
    label: &'static str,
    current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "inbox.html")]
struct ListPage {
    l: Layout,
    x: &'static InboxTexts,
    t: &'static ListTexts,
    rows: Vec<Row>,
    next: Option<String>,
    may_add: bool,
    views: Vec<ViewLink>,
    view: &'static str,
    filters: Vec<(&'static str, &'static str, bool)>,
    search: String,
    error: Option<&'static str>,
    /// The live stream's start, on the first page only (a later page stays as it was read).
    live: Option<String>,
    /// This page's own address, which the live refresh reloads.
    refresh: String,
}

/// The list's query: `view`, `filter`, `q` (a phone number or a name; `phone` is its older
/// name), `after`.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct ListQuery {
    #[serde(default)]
    view: Option<String>,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    after: Option<String>,
}

/// Who a conversation is assigned to, in words.
pub(crate) fn assigned(t: &ListTexts, row: &InboxRow, me: hoheit_domain::ids::StaffId) -> &'static str {
    match row.candidate.assignee {
        Some(a) if a == me => t.to_you,
        Some(_) => t.to_other,
        None => t.nobody,
    }
}

/// `GET /inbox`: a page of conversations in a view, with a filter or found by number.
pub(crate) async fn list(State(state): State<WebState>, client: Client, Query(q): Query<ListQuery>) -> Response {
    let Some(app) = state.app() else { return see_other("/signin") };
    let Some(signed) = signed_in(app, &client).await else { return see_other("/signin?notice=expired") };
    let lang = signed.lang();
    let (x, t) = (inbox_texts(lang), texts(lang));
    let view = q.view.as_deref().and_then(|v| InboxView::parse(v).ok()).unwrap_or_default();
    let filter = q.filter.as_deref().and_then(|f| InboxFilter::parse(f).ok());
    let search = q.q.clone().or_else(|| q.phone.clone()).unwrap_or_default();
    let query = InboxQuery {
        view,
        filter,
        // the position is opaque to the user: one that does not read starts from the top
        after: q.after.as_deref().and_then(|a| a.parse::<ActivityCursor>().ok()),
        ..InboxQuery::default()
    }
    .searching(&search);
    let p = &signed.principal;
    let (page, error) = match app.inbox(p.tenant, p.actor(), &query, PAGE).await {
        Ok(page) => (page, None),
        Err(UseCaseError::Invalid(_)) => (hoheit_domain::usecases::InboxPage::default(), Some(t.bad_phone)),
        Err(e) => return use_case_failure(&signed, client.path, &e),
    };
    let zone = &state.settings().time_zone;
    let rows = page
        .rows
        .iter()
        .map(|r| {
            let summary: Option<&ConversationSummary> = page.summary(r.candidate.id);
            Row {
                id: r.candidate.id.to_string(),
                name: display_name(&r.candidate, x),
                badges: {
                    let mut b = badges(r, x);
                    if r.needs_reply() {
                        b.push(t.needs_reply);
                    }
                    b
                },
                assigned: assigned(t, r, p.staff),
                activity: zone.date_time(lang, hoheit_domain::retention::last_activity(&r.candidate)),
                unread: summary.map_or(0, |s| s.unread),
                last: summary
                    .and_then(|s| s.last.as_ref())
                    .map_or_else(|| t.no_message.to_owned(), |m| last_message(x, t, zone, lang, m)),
            }
        })
        .collect();
    let keep = |v: InboxView| match filter {
        Some(f) => format!("/inbox?view={}&filter={}", v.as_str(), f.as_str()),
        None => format!("/inbox?view={}", v.as_str()),
    };
    let next = page.next.map(|after| format!("{}&after={after}", keep(view)));
    let live = if q.after.is_none() { crate::live::cursor(&state, p.tenant) } else { None };
    let refresh = client.path.clone();
    ListPage {
        live,
        refresh,
        l: signed_layout(&state, &signed, client.path),
        x,
        t,
        rows,
        next,
        may_add: may_add(p.role),
        views: InboxView::ALL
            .iter()
            .map(|v| ViewLink { href: keep(*v), label: (t.view)(*v), current: *v == view })
            .collect(),
        view: view.as_str(),
        filters: InboxFilter::ALL.iter().map(|f| (f.as_str(), (t.filter)(*f), Some(*f) == filter)).collect(),
        search,
        error,
    }
    .into_response()
}

/// The assignment form.
#[derive(Debug, Deserialize)]
pub(crate) struct AssignForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    assign: String,
}

/// `POST /inbox/{id}/assignment`: `assign=me` takes the conversation on, `assign=none` gives it
/// back (recruiters and admins), `assign=<staff id>` gives it to a colleague (admins; the domain
/// checks the role and the colleague); audited.
pub(crate) async fn assign(
    State(state): State<WebState>,
    client: Client,
    Path(id): Path<String>,
    Form(form): Form<AssignForm>,
) -> Response {
    let signed = match signed_post(&state, &client, &form.csrf_token).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(app) = state.app() else { return see_other("/signin") };
    let path = format!("/inbox/{id}");
    let Ok(candidate) = id.parse::<CandidateId>() else { return not_found(signed.lang(), path) };
    let p = &signed.principal;
    let assignee = match form.assign.as_str() {
        "me" => Some(p.staff),
        "none" => None,
        other => match other.parse::<hoheit_domain::ids::StaffId>() {
            Ok(staff) => Some(staff),
            Err(_) => return not_found(signed.lang(), path),
        },
    };
    match app.assign(p.tenant, p.actor(), candidate, assignee).await {
        Ok(_) => see_other(&format!("{path}?done={}", if assignee.is_some() { "assigned" } else { "unassigned" })),
        Err(UseCaseError::Invalid(_)) => {
            let t = texts(signed.lang());
            crate::pages::message(
                signed.lang(),
                path,
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                t.assign_to,
                t.not_assignable,
            )
        }
        Err(e) => use_case_failure(&signed, path, &e),
    }
}
