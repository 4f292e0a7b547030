//! The recruiter inbox (issue 17, first part): the conversation list, a thread, and a composer
//! that offers exactly what the domain allows now ([`ComposerOptions`]); every send is decided
//! again by the domain's send policy when it is submitted. Opening a thread is an audited content
//! read (R33). Restricted candidates are listed and opened only for admin and DPO (R25).

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hoheit_domain::access::Action;
use hoheit_domain::actor::{Actor, Role};
use hoheit_domain::candidate::{Candidate, HoldReason, Lifecycle, Process, ProcessEndReason};
use hoheit_domain::composer::{ComposerOptions, render_body};
use hoheit_domain::consent::{CaptureChannel, ConsentEntry, ConsentMethod, ConsentState, Purpose, WithdrawalVia};
use hoheit_domain::conversation::{Direction, Message, MessageBody, OutboundContent, StatusTimeline};
use hoheit_domain::ids::{CandidateId, ChannelId, HoldId, MediaId, StaffId};
use hoheit_domain::inbound::{InboundContent, MediaKind};
use hoheit_domain::legal::{LegalTextKind, LegalTextRef};
use hoheit_domain::media::{MediaLimits, MediaRecord, MediaRejection, MediaStatus, OutboundDocument};
use hoheit_domain::message::DeliveryStatus;
use hoheit_domain::objection::ObjectionSource;
use hoheit_domain::policy::RefusalCode;
use hoheit_domain::template::Template as WaTemplate;
use hoheit_domain::usecases::{ConsentInput, InboxRow, MessageRequest, NewCandidate, ObjectionInput, UseCaseError};
use hoheit_domain::values::{LanguageCode, PhoneNumber, PhoneNumberError, Pii, TemplateName, Wamid};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::WebState;
use crate::i18n::{Lang, Zone};
use crate::identity::{Client, Signed, forbidden, see_other, signed_in, signed_layout, signed_post};
use crate::pages::{Layout, message};

/// Conversations per page of the list.
pub(crate) const PAGE: u32 = 25;

/// The inbox's texts (German first, English second).
#[derive(Debug)]
pub(crate) struct InboxTexts {
    /// The composer's document form (PDF).
    pub doc: DocumentTexts,
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
    pub left_prefix: &'static str,
    pub hours_left: &'static str,
    pub minutes_left: &'static str,
    pub enter_hint: &'static str,
    pub buttons_label: &'static str,
    pub preview_label: &'static str,
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
    pub p: &'static PanelTexts,
    pub m: &'static ContentTexts,
}

/// The texts of message content beyond text: quoted replies, media, structured types.
#[derive(Debug)]
pub(crate) struct ContentTexts {
    pub reply_to: &'static str,
    pub reply_to_unknown: &'static str,
    pub image: &'static str,
    pub image_alt: &'static str,
    pub document: &'static str,
    pub audio: &'static str,
    pub video: &'static str,
    pub sticker: &'static str,
    pub download: &'static str,
    pub pending: &'static str,
    pub rejected: &'static str,
    pub integrity_mismatch: &'static str,
    pub too_large: &'static str,
    pub type_not_allowed: &'static str,
    pub refused_url: &'static str,
    pub unavailable: &'static str,
    pub location: &'static str,
    pub contact: &'static str,
    pub reaction: &'static str,
    pub reaction_removed: &'static str,
    pub not_shown: &'static str,
    pub unsupported: &'static str,
}

const CONTENT_DE: ContentTexts = ContentTexts {
    reply_to: "Antwort auf",
    reply_to_unknown: "Antwort auf eine Nachricht, die hier nicht vorliegt.",
    image: "Bild",
    image_alt: "Bild der bewerbenden Person",
    document: "Dokument",
    audio: "Sprachnachricht",
    video: "Video",
    sticker: "Sticker",
    download: "herunterladen",
    pending: "wird noch von WhatsApp abgerufen",
    rejected: "nicht gespeichert",
    integrity_mismatch: "die Prüfsumme stimmt nicht",
    too_large: "zu groß",
    type_not_allowed: "Dateityp nicht erlaubt",
    refused_url: "unzulässige Download-Adresse",
    unavailable: "bei WhatsApp nicht mehr verfügbar",
    location: "Standort",
    contact: "Kontakt",
    reaction: "Reaktion",
    reaction_removed: "Reaktion entfernt",
    not_shown: "hier nicht darstellbar",
    unsupported: "Nachrichtentyp, den WhatsApp nicht unterstützt",
};

const CONTENT_EN: ContentTexts = ContentTexts {
    reply_to: "Reply to",
    reply_to_unknown: "Reply to a message that is not available here.",
    image: "Image",
    image_alt: "Image from the candidate",
    document: "Document",
    audio: "Voice message",
    video: "Video",
    sticker: "Sticker",
    download: "download",
    pending: "still being fetched from WhatsApp",
    rejected: "not stored",
    integrity_mismatch: "the checksum does not match",
    too_large: "too large",
    type_not_allowed: "file type not allowed",
    refused_url: "download address not allowed",
    unavailable: "no longer available at WhatsApp",
    location: "Location",
    contact: "Contact",
    reaction: "Reaction",
    reaction_removed: "Reaction removed",
    not_shown: "cannot be shown here",
    unsupported: "message type WhatsApp does not support",
};

const DE: InboxTexts = InboxTexts {
    doc: DocumentTexts {
        label: "PDF-Dokument anhängen",
        caption: "Begleittext (freiwillig)",
        send: "Dokument senden",
        hint: "Nur PDF, höchstens",
        not_pdf: "Bitte wählen Sie eine PDF-Datei.",
        too_large: "Die Datei ist größer als erlaubt, höchstens",
    },
    title: "Posteingang",
    intro: "Gespräche mit Bewerbenden, neueste Aktivität zuerst. Was Sie senden können, entscheiden Einwilligung, Widerspruch und das Antwortfenster.",
    empty: "Noch keine Gespräche.",
    col_person: "Bewerbende Person",
    col_state: "Stand",
    col_since: "Letzte Aktivität",
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
    left_prefix: "noch ",
    hours_left: " Std.",
    minutes_left: " Min.",
    enter_hint: "Die Eingabetaste sendet, Umschalt+Eingabe beginnt eine neue Zeile.",
    buttons_label: "Schaltflächen",
    preview_label: "Vorschau",
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
    p: &PANEL_DE,
    m: &CONTENT_DE,
};

const EN: InboxTexts = InboxTexts {
    doc: DocumentTexts {
        label: "Attach a PDF document",
        caption: "Accompanying text (optional)",
        send: "Send document",
        hint: "PDF only, at most",
        not_pdf: "Please choose a PDF file.",
        too_large: "The file is larger than allowed, at most",
    },
    title: "Inbox",
    intro: "Conversations with candidates, newest activity first. Consent, objection and the reply window decide what you can send.",
    empty: "No conversations yet.",
    col_person: "Candidate",
    col_state: "State",
    col_since: "Last activity",
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
    left_prefix: "",
    hours_left: " h left",
    minutes_left: " min left",
    enter_hint: "Enter sends, Shift+Enter starts a new line.",
    buttons_label: "Buttons",
    preview_label: "Preview",
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
    p: &PANEL_EN,
    m: &CONTENT_EN,
};
/// The candidate panel's texts (German first, English second).
#[derive(Debug)]
pub(crate) struct PanelTexts {
    pub title: &'static str,
    pub consent: &'static str,
    pub purpose_channel: &'static str,
    pub purpose_pool: &'static str,
    pub state_none: &'static str,
    pub state_requested: &'static str,
    pub state_granted: &'static str,
    pub state_declined: &'static str,
    pub state_withdrawn: &'static str,
    pub state_expired: &'static str,
    pub since: &'static str,
    pub until: &'static str,
    pub evidence: &'static str,
    pub no_evidence: &'static str,
    pub entry_requested: &'static str,
    pub entry_granted: &'static str,
    pub entry_declined: &'static str,
    pub entry_withdrawn: &'static str,
    pub recorded_on: &'static str,
    pub texts_shown: &'static str,
    pub method_button: &'static str,
    pub method_keyword: &'static str,
    pub method_web: &'static str,
    pub method_signed: &'static str,
    pub method_verbal: &'static str,
    pub via_whatsapp: &'static str,
    pub via_objection: &'static str,
    pub via_staff: &'static str,
    pub via_expiry: &'static str,
    pub text_terms: &'static str,
    pub text_notice: &'static str,
    pub text_request: &'static str,
    pub channel_whatsapp: &'static str,
    pub channel_web: &'static str,
    pub channel_phone: &'static str,
    pub channel_in_person: &'static str,
    pub channel_email: &'static str,
    pub channel_paper: &'static str,
    pub objections: &'static str,
    pub no_objection: &'static str,
    pub objection_active: &'static str,
    pub objection_lifted: &'static str,
    pub review_open: &'static str,
    pub process: &'static str,
    pub process_running: &'static str,
    pub process_ended: &'static str,
    pub reason_rejected: &'static str,
    pub reason_withdrawn: &'static str,
    pub reason_hired: &'static str,
    pub reason_vacancy_closed: &'static str,
    pub erasure: &'static str,
    pub erasure_on: &'static str,
    pub erasure_next_run: &'static str,
    pub erasure_none: &'static str,
    pub holds: &'static str,
    pub no_holds: &'static str,
    pub hold_claim: &'static str,
    pub hold_authority: &'static str,
    pub hold_other: &'static str,
    pub hold_set_on: &'static str,
    pub hold_review_on: &'static str,
    pub hold_released_on: &'static str,
    pub hold_reference: &'static str,
    pub actions: &'static str,
    pub record_consent: &'static str,
    pub record_consent_hint: &'static str,
    pub purpose: &'static str,
    pub received_by: &'static str,
    pub received_on: &'static str,
    pub received_on_hint: &'static str,
    pub evidence_note: &'static str,
    pub evidence_note_hint: &'static str,
    pub record_objection: &'static str,
    pub objection_note: &'static str,
    pub end_process: &'static str,
    pub end_reason: &'static str,
    pub set_hold: &'static str,
    pub hold_reason: &'static str,
    pub release_hold: &'static str,
    pub save: &'static str,
    pub done_consent: &'static str,
    pub done_objection: &'static str,
    pub done_end: &'static str,
    pub done_hold: &'static str,
    pub done_release: &'static str,
    pub done_added: &'static str,
    pub code: &'static str,
    pub forbidden_hold: &'static str,
    pub forbidden_create: &'static str,
    pub forbidden_other: &'static str,
    pub conflict_ended: &'static str,
    pub conflict_objected: &'static str,
    pub conflict_texts: &'static str,
    pub conflict_released: &'static str,
    pub conflict_exists: &'static str,
    pub conflict_other: &'static str,
    pub add: &'static str,
    pub add_intro: &'static str,
    pub name: &'static str,
    pub phone: &'static str,
    pub phone_hint: &'static str,
    pub channel: &'static str,
    pub add_button: &'static str,
    pub invalid_phone: &'static str,
    pub no_channel: &'static str,
}

const PANEL_DE: PanelTexts = PanelTexts {
    title: "Bewerbende Person",
    consent: "Einwilligungen",
    purpose_channel: "WhatsApp-Nachrichten",
    purpose_pool: "Talentpool",
    state_none: "keine",
    state_requested: "angefragt",
    state_granted: "erteilt",
    state_declined: "abgelehnt",
    state_withdrawn: "widerrufen",
    state_expired: "abgelaufen",
    since: "seit",
    until: "bis",
    evidence: "Nachweise",
    no_evidence: "Noch keine Einträge.",
    entry_requested: "angefragt am",
    entry_granted: "erteilt am",
    entry_declined: "abgelehnt am",
    entry_withdrawn: "widerrufen am",
    recorded_on: "erfasst am",
    texts_shown: "gezeigte Texte",
    method_button: "per Schaltfläche „Zustimmen“ in WhatsApp",
    method_keyword: "per Schlüsselwort in WhatsApp",
    method_web: "per Webformular",
    method_signed: "schriftlich (Nachweis abgelegt)",
    method_verbal: "mündlich, vom Team erfasst",
    via_whatsapp: "per WhatsApp",
    via_objection: "durch Widerspruch",
    via_staff: "vom Team erfasst",
    via_expiry: "durch Fristablauf",
    text_terms: "Nutzungsbedingungen",
    text_notice: "Datenschutzhinweis",
    text_request: "Einwilligungstext",
    channel_whatsapp: "WhatsApp",
    channel_web: "Website",
    channel_phone: "Telefon",
    channel_in_person: "persönlich",
    channel_email: "E-Mail",
    channel_paper: "Brief",
    objections: "Widersprüche",
    no_objection: "Kein Widerspruch.",
    objection_active: "in Kraft",
    objection_lifted: "durch erneute Anmeldung aufgehoben",
    review_open: "Eine Nachricht wird als möglicher Widerspruch geprüft, fällig am",
    process: "Bewerbungsverfahren",
    process_running: "läuft",
    process_ended: "beendet am",
    reason_rejected: "Absage",
    reason_withdrawn: "von der Person zurückgezogen",
    reason_hired: "eingestellt",
    reason_vacancy_closed: "Stelle geschlossen",
    erasure: "Löschung",
    erasure_on: "Löschung der Daten vorgesehen am",
    erasure_next_run: "Die Löschfrist ist erreicht: Die Daten werden beim nächsten Löschlauf gelöscht.",
    erasure_none: "Keine Löschung vorgesehen, solange eine Aufbewahrungspflicht besteht.",
    holds: "Aufbewahrungspflichten (Legal Hold)",
    no_holds: "Keine.",
    hold_claim: "Ansprüche geltend gemacht",
    hold_authority: "Anfrage einer Behörde",
    hold_other: "andere rechtliche Pflicht",
    hold_set_on: "gesetzt am",
    hold_review_on: "zu prüfen am",
    hold_released_on: "aufgehoben am",
    hold_reference: "Aktenzeichen",
    actions: "Erfassen",
    record_consent: "Einwilligung erfassen (per Telefon, E-Mail, Brief oder persönlich erhalten)",
    record_consent_hint: "Als gezeigte Texte gelten die aktuellen Nutzungsbedingungen, der Datenschutzhinweis und der Einwilligungstext in der Sprache der Person.",
    purpose: "Zweck",
    received_by: "Erhalten per",
    received_on: "Erhalten am",
    received_on_hint: "Leer lassen, wenn heute erhalten.",
    evidence_note: "Nachweis",
    evidence_note_hint: "Bei Telefon oder persönlich: Ihre Notiz (wer, wann, was gesagt wurde). Bei E-Mail oder Brief: wo das Dokument abgelegt ist.",
    record_objection: "Widerspruch erfassen (per Telefon, E-Mail, Brief oder persönlich erhalten)",
    objection_note: "Notiz (wörtlich, falls möglich)",
    end_process: "Verfahren beenden",
    end_reason: "Grund",
    set_hold: "Aufbewahrungspflicht setzen",
    hold_reason: "Grund",
    release_hold: "Aufheben",
    save: "Speichern",
    done_consent: "Die Einwilligung wurde mit ihrem Nachweis erfasst.",
    done_objection: "Der Widerspruch wurde erfasst: Es gehen keine Nachrichten mehr an die Person.",
    done_end: "Das Verfahren wurde beendet; die Löschfrist läuft.",
    done_hold: "Die Aufbewahrungspflicht wurde gesetzt.",
    done_release: "Die Aufbewahrungspflicht wurde aufgehoben.",
    done_added: "Die Person wurde angelegt. Fragen Sie jetzt ihre Einwilligung an.",
    code: "Code",
    forbidden_hold: "Aufbewahrungspflichten setzen und aufheben können nur die Administration oder die DSB.",
    forbidden_create: "Bewerbende anlegen können nur Recruiterinnen und Recruiter oder die Administration.",
    forbidden_other: "Das ist Ihrer Rolle nicht erlaubt.",
    conflict_ended: "Das Verfahren ist bereits beendet.",
    conflict_objected: "Die Person hat widersprochen: Eine neue Einwilligung entsteht nur durch ihr Schlüsselwort (START oder ANMELDEN) in WhatsApp.",
    conflict_texts: "Nutzungsbedingungen, Datenschutzhinweis und Einwilligungstext sind noch nicht veröffentlicht. Das erledigt die Administration.",
    conflict_released: "Die Aufbewahrungspflicht ist bereits aufgehoben.",
    conflict_exists: "Eine Person mit dieser Telefonnummer ist bereits angelegt.",
    conflict_other: "Das passt nicht zum aktuellen Stand.",
    add: "Bewerbende Person hinzufügen",
    add_intro: "hoheit schreibt der Person erst, wenn sie eingewilligt hat: Nach dem Anlegen fragen Sie die Einwilligung an.",
    name: "Name",
    phone: "Mobilnummer",
    phone_hint: "Mit Ländervorwahl (+49 170 1234567) oder national (0170 1234567).",
    channel: "WhatsApp-Nummer Ihres Unternehmens",
    add_button: "Anlegen",
    invalid_phone: "Das ist keine gültige Mobilnummer.",
    no_channel: "Es ist noch keine WhatsApp-Nummer eingerichtet. Das erledigt die Administration.",
};

const PANEL_EN: PanelTexts = PanelTexts {
    title: "Candidate",
    consent: "Consents",
    purpose_channel: "WhatsApp messages",
    purpose_pool: "Talent pool",
    state_none: "none",
    state_requested: "requested",
    state_granted: "given",
    state_declined: "declined",
    state_withdrawn: "withdrawn",
    state_expired: "expired",
    since: "since",
    until: "until",
    evidence: "Evidence",
    no_evidence: "No entries yet.",
    entry_requested: "requested on",
    entry_granted: "given on",
    entry_declined: "declined on",
    entry_withdrawn: "withdrawn on",
    recorded_on: "recorded on",
    texts_shown: "texts shown",
    method_button: "by the \"agree\" button in WhatsApp",
    method_keyword: "by keyword in WhatsApp",
    method_web: "by web form",
    method_signed: "in writing (document filed)",
    method_verbal: "verbally, recorded by the team",
    via_whatsapp: "by WhatsApp",
    via_objection: "by objection",
    via_staff: "recorded by the team",
    via_expiry: "by expiry",
    text_terms: "Terms of use",
    text_notice: "Privacy notice",
    text_request: "Consent text",
    channel_whatsapp: "WhatsApp",
    channel_web: "website",
    channel_phone: "phone",
    channel_in_person: "in person",
    channel_email: "e-mail",
    channel_paper: "letter",
    objections: "Objections",
    no_objection: "No objection.",
    objection_active: "in effect",
    objection_lifted: "lifted by a new opt-in",
    review_open: "A message is being reviewed as a possible objection, due on",
    process: "Application process",
    process_running: "running",
    process_ended: "ended on",
    reason_rejected: "rejected",
    reason_withdrawn: "withdrawn by the candidate",
    reason_hired: "hired",
    reason_vacancy_closed: "vacancy closed",
    erasure: "Erasure",
    erasure_on: "Data due for erasure on",
    erasure_next_run: "The retention period has passed: the data is erased at the next retention run.",
    erasure_none: "No erasure scheduled while a legal hold applies.",
    holds: "Legal holds",
    no_holds: "None.",
    hold_claim: "claim asserted",
    hold_authority: "authority inquiry",
    hold_other: "other legal obligation",
    hold_set_on: "set on",
    hold_review_on: "review on",
    hold_released_on: "released on",
    hold_reference: "Reference",
    actions: "Record",
    record_consent: "Record consent (received by phone, e-mail, letter or in person)",
    record_consent_hint: "The texts shown are taken to be the current terms of use, privacy notice and consent text in the candidate's language.",
    purpose: "Purpose",
    received_by: "Received by",
    received_on: "Received on",
    received_on_hint: "Leave empty if received today.",
    evidence_note: "Evidence",
    evidence_note_hint: "By phone or in person: your note (who, when, what was said). By e-mail or letter: where the document is filed.",
    record_objection: "Record an objection (received by phone, e-mail, letter or in person)",
    objection_note: "Note (verbatim if possible)",
    end_process: "End the process",
    end_reason: "Reason",
    set_hold: "Set a legal hold",
    hold_reason: "Reason",
    release_hold: "Release",
    save: "Save",
    done_consent: "The consent was recorded with its evidence.",
    done_objection: "The objection was recorded: no more messages go to the candidate.",
    done_end: "The process was ended; the retention period runs.",
    done_hold: "The legal hold was set.",
    done_release: "The legal hold was released.",
    done_added: "The candidate was added. Now ask for their consent.",
    code: "Code",
    forbidden_hold: "Only an admin or the DPO can set and release legal holds.",
    forbidden_create: "Only recruiters or an admin can add candidates.",
    forbidden_other: "Your role may not do this.",
    conflict_ended: "The process has already ended.",
    conflict_objected: "The candidate objected: only their keyword (START) in WhatsApp creates a new consent.",
    conflict_texts: "Terms of use, privacy notice and consent text are not published yet. An admin publishes them.",
    conflict_released: "The legal hold is already released.",
    conflict_exists: "A candidate with this phone number exists already.",
    conflict_other: "This does not fit the current state.",
    add: "Add a candidate",
    add_intro: "hoheit writes to the candidate only after they consented: after adding them, ask for consent.",
    name: "Name",
    phone: "Mobile number",
    phone_hint: "With the country code (+49 170 1234567) or national (0170 1234567).",
    channel: "Your company's WhatsApp number",
    add_button: "Add",
    invalid_phone: "This is not a valid mobile number.",
    no_channel: "No WhatsApp number is set up yet. An admin sets it up.",
};

/// Why a kind of message cannot be sent, and who can change it (German).
const fn refusal_de(code: RefusalCode) -> &'static str {
    match code {
        RefusalCode::ChannelNotApproved => {
            "Der WhatsApp-Kanal ist nicht freigegeben. Die Freigabe erteilt die oder der Datenschutzbeauftragte (DSB)."
        }
        RefusalCode::CandidateErased => {
            "Die Daten dieser Person wurden gelöscht; das lässt sich nicht rückgängig machen."
        }
        RefusalCode::CandidateRestricted => {
            "Die Verarbeitung der Daten ist eingeschränkt. Aufheben können die Administration oder die DSB."
        }
        RefusalCode::LegalHold => {
            "Eine Aufbewahrungspflicht (Legal Hold) sperrt Nachrichten. Zuständig sind die Administration oder die DSB."
        }
        RefusalCode::Objected => {
            "Die Person hat widersprochen: Es gehen keine Nachrichten mehr an sie. Erlaubt ist nur eine Antwort auf eine neue Nachricht der Person. Aufheben kann den Widerspruch nur sie selbst (mit START oder ANMELDEN)."
        }
        RefusalCode::ObjectionReviewPending => {
            "Eine Nachricht der Person könnte ein Widerspruch sein. Bis die Administration oder die DSB entschieden hat, wird nichts gesendet."
        }
        RefusalCode::ConsentMissing => {
            "Die Person hat WhatsApp-Nachrichten noch nicht zugestimmt. Fragen Sie die Einwilligung an, oder erfassen Sie unter „Bewerbende Person“ eine per Telefon, E-Mail oder Brief erhaltene."
        }
        RefusalCode::ConsentWithdrawn => {
            "Die Einwilligung wurde widerrufen oder ist abgelaufen. Nur die Person selbst kann erneut einwilligen."
        }
        RefusalCode::ConsentOutdated => {
            "Die Einwilligung bezieht sich auf ältere Nutzungsbedingungen oder Datenschutzhinweise. Bitte fragen Sie erneut an."
        }
        RefusalCode::ConsentRequestLimit => {
            "Es dürfen keine weiteren Einwilligungsanfragen gesendet werden. Eine anderswo erhaltene Einwilligung erfassen Sie unter „Bewerbende Person“."
        }
        RefusalCode::WindowClosed => {
            "Das Antwortfenster ist geschlossen: nur freigegebene Vorlagen, bis die Person wieder schreibt."
        }
        RefusalCode::TemplateNotApproved => {
            "Diese Vorlage ist nicht von WhatsApp freigegeben. Die Administration reicht Vorlagen ein und gleicht sie ab."
        }
        RefusalCode::MarketingNotConsented => {
            "Werbliche Vorlagen brauchen die Einwilligung der Person in den Talentpool."
        }
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
        RefusalCode::CandidateErased => "This person's data has been erased; this cannot be undone.",
        RefusalCode::CandidateRestricted => "Processing of the data is restricted. An admin or the DPO can lift it.",
        RefusalCode::LegalHold => "A legal hold blocks messages. An admin or the DPO is responsible.",
        RefusalCode::Objected => {
            "The person objected: no more messages go to them. Only one reply to a new message of theirs is allowed. Only they can lift the objection (with START)."
        }
        RefusalCode::ObjectionReviewPending => {
            "A message of the person may be an objection. Nothing is sent until an admin or the DPO has decided."
        }
        RefusalCode::ConsentMissing => {
            "The person has not agreed to WhatsApp messages yet. Ask for consent, or record one received by phone, e-mail or letter under \"Candidate\"."
        }
        RefusalCode::ConsentWithdrawn => "The consent was withdrawn or has expired. Only the person can consent again.",
        RefusalCode::ConsentOutdated => "The consent refers to older terms or privacy notice. Please ask again.",
        RefusalCode::ConsentRequestLimit => {
            "No further consent requests may be sent. Record a consent received elsewhere under \"Candidate\"."
        }
        RefusalCode::WindowClosed => {
            "The reply window is closed: approved templates only, until the person writes again."
        }
        RefusalCode::TemplateNotApproved => {
            "This template is not approved by WhatsApp. An admin submits and syncs templates."
        }
        RefusalCode::MarketingNotConsented => "Marketing templates need the person's talent-pool consent.",
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
pub(crate) fn badges(row: &InboxRow, x: &InboxTexts) -> Vec<&'static str> {
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
    /// The message id (the anchor of its delivery state, `st-<id>`).
    id: String,
    inbound: bool,
    who: &'static str,
    time: String,
    /// "Vorlage „name“" for a template.
    template: Option<String>,
    text: String,
    /// A template's buttons.
    buttons: Vec<String>,
    /// The quoted message of a reply (context), shortened.
    quote: Option<String>,
    /// An inbound file.
    media: Option<MediaView>,
    status: Option<String>,
}

/// An inbound file: an image shown inline, anything else a download; both through the
/// authenticated route (each read audited, R33). `href` is `None` while it is not stored.
struct MediaView {
    href: Option<String>,
    image: bool,
    label: String,
    alt: String,
}

struct TemplateView {
    key: String,
    value: String,
    label: String,
    parameters: Vec<u8>,
    /// The body with a placeholder for each value not typed yet.
    preview: Option<String>,
    /// The body as synced (`{{1}}` ...), which the script fills in as values are typed.
    body: Option<String>,
    buttons: Vec<String>,
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
    panel: PanelView,
    panel_error: Option<String>,
    panel_done: Option<&'static str>,
    lt: &'static crate::inbox_list::ListTexts,
    assigned: String,
    mine: bool,
    /// For admins: the colleagues a conversation can be given to (id, name).
    colleagues: Vec<(String, String)>,
    /// "Nur PDF, höchstens 16 MB."
    document_hint: String,
    /// The live stream's start (`None`: no live updates).
    live: Option<String>,
    /// The last message shown: the live refresh asks for what came after it.
    after: String,
}

/// A thread's messages after the last one shown (the live refresh, an audited content read):
/// appended to the log, so a screen reader announces only them.
#[derive(Template, WebTemplate)]
#[template(path = "thread_more.html")]
struct ThreadMore {
    x: &'static InboxTexts,
    bubbles: Vec<Bubble>,
    after: String,
}

/// The delivery states of a thread's outbound messages (out-of-band swaps of `st-<id>`).
#[derive(Template, WebTemplate)]
#[template(path = "thread_ticks.html")]
struct ThreadTicks {
    ticks: Vec<(String, String)>,
}

/// Query of a thread (a banner after a send or a panel action).
#[derive(Debug, Deserialize, Default)]
pub(crate) struct ThreadQuery {
    #[serde(default)]
    sent: Option<String>,
    #[serde(default)]
    done: Option<String>,
    /// A live refresh: `state` (badges, composer, panel; no messages read), `messages` (those
    /// after `after`) or `ticks` (delivery states only).
    #[serde(default)]
    part: Option<String>,
    #[serde(default)]
    after: Option<String>,
}

/// What a thread request renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Page,
    State,
}

/// The composer's document form.
#[derive(Debug)]
pub(crate) struct DocumentTexts {
    pub label: &'static str,
    pub caption: &'static str,
    pub send: &'static str,
    /// Followed by the limit ("10 MB").
    pub hint: &'static str,
    pub not_pdf: &'static str,
    /// Followed by the limit.
    pub too_large: &'static str,
}

/// A limit in bytes as people read it ("16 MB", "500 KB").
fn megabytes(bytes: u64) -> String {
    if bytes >= 1_000_000 { format!("{} MB", bytes / 1_000_000) } else { format!("{} KB", (bytes / 1000).max(1)) }
}

/// How much of a document post's body the server reads: twice the media limit and 1 MiB more. A
/// document over the limit but within this is read to its end and discarded (never kept beyond
/// the limit), so that the browser gets the refusal in words: a server that answers while the
/// browser is still sending and closes the connection makes the browser show a connection error
/// instead (or lose the answer). A body beyond this is cut off unread.
pub(crate) fn document_body_limit(max_document_bytes: u64) -> usize {
    let max = usize::try_from(max_document_bytes).unwrap_or(usize::MAX);
    max.saturating_mul(2).saturating_add(1024 * 1024)
}

/// `POST /inbox/{id}/document` (multipart: `csrf_token`, `document`, `caption`): a PDF to send
/// in the open window, decided by the send policy like any message (and again at dispatch).
/// Checked here first, in words: a PDF (by its first bytes, not its name) within the server's
/// media limit; no more of a larger document than the limit is kept (see
/// [`document_body_limit`]).
pub(crate) async fn send_document(
    State(state): State<WebState>,
    client: Client,
    Path(id): Path<String>,
    mut form: Multipart,
) -> Response {
    let (mut csrf, mut caption, mut file, mut oversized) = (String::new(), None, None, false);
    let max = state.settings().max_document_bytes;
    let max_len = usize::try_from(max).unwrap_or(usize::MAX);
    let lang = crate::pages::language(&state, &client.headers);
    let x = texts(lang);
    let too_large = || format!("{} {}.", x.doc.too_large, megabytes(max));
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return document_refused(&state, &client, &id, &csrf, too_large()).await;
            }
            Err(_) => return document_refused(&state, &client, &id, &csrf, x.invalid.to_owned()).await,
        };
        match field.name() {
            Some("csrf_token") => csrf = field.text().await.unwrap_or_default(),
            Some("caption") => caption = field.text().await.ok().filter(|c| !c.trim().is_empty()),
            Some("document") => {
                let filename = field.file_name().unwrap_or("dokument.pdf").to_owned();
                let mut content = Vec::new();
                loop {
                    match field.chunk().await {
                        // over the limit: read on to the end, keep nothing
                        Ok(Some(chunk)) if oversized || content.len().saturating_add(chunk.len()) > max_len => {
                            oversized = true;
                            content = Vec::new();
                        }
                        Ok(Some(chunk)) => content.extend_from_slice(&chunk),
                        Ok(None) => break,
                        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                            return document_refused(&state, &client, &id, &csrf, too_large()).await;
                        }
                        Err(_) => return document_refused(&state, &client, &id, &csrf, x.invalid.to_owned()).await,
                    }
                }
                if !oversized {
                    file = Some((filename, content));
                }
            }
            _ => {}
        }
    }
    if oversized {
        return document_refused(&state, &client, &id, &csrf, too_large()).await;
    }
    let Some((filename, content)) = file.filter(|(_, c)| !c.is_empty()) else {
        return document_refused(&state, &client, &id, &csrf, x.doc.not_pdf.to_owned()).await;
    };
    if !content.starts_with(b"%PDF-") {
        return document_refused(&state, &client, &id, &csrf, x.doc.not_pdf.to_owned()).await;
    }
    if u64::try_from(content.len()).unwrap_or(u64::MAX) > max {
        return document_refused(&state, &client, &id, &csrf, too_large()).await;
    }
    let document = OutboundDocument {
        content: Pii::new(content),
        mime_type: "application/pdf".to_owned(),
        filename: Pii::new(filename),
        caption: caption.map(Pii::new),
    };
    send(&state, &client, &id, &csrf, Outgoing::Document(document)).await
}

/// The thread with the document form's error (after the usual checks of a post).
async fn document_refused(state: &WebState, client: &Client, id: &str, csrf: &str, error: String) -> Response {
    let signed = match signed_post(state, client, csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let feedback = Feedback { error: Some(error), ..Feedback::default() };
    render_thread(state, &signed, id, format!("/inbox/{id}"), feedback, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// What the thread page says about the last action.
#[derive(Default)]
struct Feedback {
    notice: Option<&'static str>,
    error: Option<String>,
    panel_error: Option<String>,
    panel_done: Option<&'static str>,
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
    let x = texts(signed.lang());
    let panel_done = match q.done.as_deref() {
        Some("consent") => Some(x.p.done_consent),
        Some("objection") => Some(x.p.done_objection),
        Some("end") => Some(x.p.done_end),
        Some("hold") => Some(x.p.done_hold),
        Some("release") => Some(x.p.done_release),
        Some("added") => Some(x.p.done_added),
        Some("assigned") => Some(crate::inbox_list::texts(signed.lang()).done_assigned),
        Some("unassigned") => Some(crate::inbox_list::texts(signed.lang()).done_unassigned),
        _ => None,
    };
    match q.part.as_deref() {
        Some("messages") => return thread_more(&state, &signed, &id, client.path, q.after.as_deref()).await,
        Some("ticks") => return thread_ticks(&state, &signed, &id, client.path).await,
        _ => {}
    }
    let part = if q.part.as_deref() == Some("state") { Part::State } else { Part::Page };
    let feedback = Feedback { notice: q.sent.is_some().then_some(x.queued), panel_done, ..Feedback::default() };
    render_part(&state, &signed, &id, client.path, feedback, StatusCode::OK, part).await
}

/// The messages after `after` (all if it is not among them), as bubbles to append.
async fn thread_more(state: &WebState, signed: &Signed, id: &str, path: String, after: Option<&str>) -> Response {
    let Some(app) = state.app() else { return see_other("/signin") };
    let lang = signed.lang();
    let x = texts(lang);
    let Ok(id) = id.parse::<CandidateId>() else { return not_found(lang, path) };
    let p = &signed.principal;
    let messages = match app.read_messages(p.tenant, p.actor(), id).await {
        Ok(m) => m,
        Err(e) => return use_case_failure(signed, path, &e),
    };
    let start = after.and_then(|a| messages.iter().position(|m| m.id.to_string() == a)).map_or(0, |i| i + 1);
    let Some(channel) = messages.first().map(|m| m.channel) else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let bubbles = match bubbles(state, signed, id, channel, &messages, start).await {
        Ok(b) => b,
        Err(response) => return *response,
    };
    if bubbles.is_empty() {
        // nothing new (a state change): keep the log as it is
        return StatusCode::NO_CONTENT.into_response();
    }
    if let Err(e) = app.mark_thread_read(p.tenant, p.actor(), id, &messages).await {
        tracing::warn!(error = %e, "read receipt not sent");
    }
    let after = messages.last().map(|m| m.id.to_string()).unwrap_or_default();
    ThreadMore { x, bubbles, after }.into_response()
}

/// The delivery state of each outbound message (no content, not a content read).
async fn thread_ticks(state: &WebState, signed: &Signed, id: &str, path: String) -> Response {
    let Some(app) = state.app() else { return see_other("/signin") };
    let lang = signed.lang();
    let x = texts(lang);
    let Ok(id) = id.parse::<CandidateId>() else { return not_found(lang, path) };
    let p = &signed.principal;
    match app.delivery_states(p.tenant, p.actor(), id).await {
        Ok(states) => ThreadTicks {
            ticks: states
                .iter()
                .map(|(m, timeline)| (m.to_string(), status_word(timeline, x).unwrap_or_default()))
                .collect(),
        }
        .into_response(),
        Err(e) => use_case_failure(signed, path, &e),
    }
}

/// The bubbles of `messages[start..]`, with quotes (looked up in all of them) and files.
async fn bubbles(
    state: &WebState,
    signed: &Signed,
    id: CandidateId,
    channel: ChannelId,
    messages: &[Message],
    start: usize,
) -> Result<Vec<Bubble>, Box<Response>> {
    let Some(app) = state.app() else { return Err(Box::new(see_other("/signin"))) };
    let lang = signed.lang();
    let x = texts(lang);
    let p = &signed.principal;
    if messages.len() <= start {
        return Ok(Vec::new());
    }
    let failed = |e: UseCaseError| Box::new(use_case_failure(signed, String::new(), &e));
    let config = app.tenant_config(p.tenant).await.map_err(failed)?;
    let files = app.media_files(p.tenant, id).await.map_err(failed)?;
    let find = |name: &TemplateName, language: &LanguageCode| config.templates.find(channel, name, language);
    let zone = &state.settings().time_zone;
    Ok(messages
        .get(start..)
        .unwrap_or_default()
        .iter()
        .map(|m| {
            let mut b = bubble(m, lang, zone, x, &find);
            b.quote = m.reply_to.as_ref().map(|wamid| quote(messages, wamid, x));
            b.media = files.iter().find(|f| f.message == m.id).map(|f| media_view(f, m, id, x));
            b
        })
        .collect())
}

async fn render_thread(
    state: &WebState,
    signed: &Signed,
    id: &str,
    path: String,
    feedback: Feedback,
    status: StatusCode,
) -> Response {
    render_part(state, signed, id, path, feedback, status, Part::Page).await
}

async fn render_part(
    state: &WebState,
    signed: &Signed,
    id: &str,
    path: String,
    feedback: Feedback,
    status: StatusCode,
    part: Part,
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
    // the state alone (a live refresh) reads no messages: not a content read
    let messages = if part == Part::State {
        Vec::new()
    } else {
        match app.read_messages(p.tenant, p.actor(), id).await {
            Ok(m) => m,
            Err(e) => return use_case_failure(signed, path, &e),
        }
    };
    // WhatsApp's read receipts, if the tenant sends them (off by default); best effort
    if part == Part::Page
        && let Err(e) = app.mark_thread_read(p.tenant, p.actor(), id, &messages).await
    {
        tracing::warn!(error = %e, "read receipt not sent");
    }
    let config = match app.tenant_config(p.tenant).await {
        Ok(config) => config,
        Err(e) => return use_case_failure(signed, path, &e),
    };
    let channel = row.candidate.channel;
    let find = |name: &TemplateName, language: &LanguageCode| config.templates.find(channel, name, language);
    let zone = &state.settings().time_zone;
    let bubbles = match bubbles(state, signed, id, channel, &messages, 0).await {
        Ok(b) => b,
        Err(response) => return *response,
    };
    let may_send = Action::SendMessages.allows(p.role);
    // an admin gives conversations to colleagues: the active recruiters and admins
    let colleagues = if Action::ManageStaff.allows(p.role) {
        app.staff_list(p.actor(), p.tenant)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|v| v.status == hoheit_domain::staff::StaffStatus::Active && Action::SendMessages.allows(v.role))
            .map(|v| (v.id.to_string(), v.display_name.expose().clone()))
            .collect()
    } else {
        Vec::new()
    };
    let banner = banner(&options, lang, zone, x);
    let window = match options.window_until {
        Some(until) => window_text(until, row.at, lang, zone, x),
        None => x.window_closed.to_owned(),
    };
    let placeholder = |n: u8| format!("[{} {n}]", x.template_param);
    let templates = options
        .templates
        .iter()
        .map(|t| {
            let template = find(&t.name, &t.language);
            TemplateView {
                key: format!("tpl-{}-{}", t.name.as_str(), t.language.as_str()),
                value: format!("{}|{}", t.name.as_str(), t.language.as_str()),
                label: format!("{} ({})", t.name.as_str(), t.language.as_str()),
                parameters: (1..=t.body_parameters).collect(),
                preview: template.and_then(|t| render_body(t, &[], placeholder)),
                body: t.body_text.clone(),
                buttons: template.map(template_buttons).unwrap_or_default(),
            }
        })
        .collect();
    let lt = crate::inbox_list::texts(lang);
    let assigned = match row.candidate.assignee {
        Some(a) if a == p.staff => lt.to_you.to_owned(),
        Some(a) => colleagues
            .iter()
            .find(|(id, _)| *id == a.to_string())
            .map_or_else(|| lt.to_other.to_owned(), |(_, name)| name.clone()),
        None => lt.nobody.to_owned(),
    };
    let page = ThreadPage {
        l: signed_layout(state, signed, path),
        x,
        id: id.to_string(),
        name: display_name(&row.candidate, x),
        badges: badges(&row, x),
        bubbles,
        banner,
        notice: feedback.notice,
        error: feedback.error,
        text_allowed: options.text.is_ok(),
        needs_notice: row.candidate.conversation.needs_notice(),
        window,
        consent_left: options.consent_request,
        templates,
        nothing: !options.anything(),
        may_send,
        panel: panel(&row, p.role, lang, zone, x),
        panel_error: feedback.panel_error,
        panel_done: feedback.panel_done,
        lt,
        assigned,
        mine: row.candidate.assignee == Some(p.staff),
        colleagues,
        document_hint: format!("{} {}.", x.doc.hint, megabytes(state.settings().max_document_bytes)),
        live: crate::live::cursor(state, p.tenant),
        after: messages.last().map(|m| m.id.to_string()).unwrap_or_default(),
    };
    (status, page).into_response()
}

/// The banner above the composer: what stops regular messages, with the objection's date.
fn banner(options: &ComposerOptions, lang: Lang, zone: &Zone, x: &InboxTexts) -> Option<String> {
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
            InboundContent::Media { kind, caption, filename, .. } => {
                let name = filename.as_ref().or(caption.as_ref()).map(|n| n.expose().clone());
                match name {
                    Some(name) => format!("{}: {name}", media_kind(*kind, x)),
                    None => media_kind(*kind, x).to_owned(),
                }
            }
            InboundContent::Structured { type_name, json } => structured_text(type_name, json.expose(), x),
            InboundContent::Unsupported { type_name, error_code } => match error_code {
                Some(code) => format!("{} „{type_name}“ ({} {code})", x.m.unsupported, x.failed_reason),
                None => format!("{} „{type_name}“", x.m.unsupported),
            },
        },
    }
}

/// Until when the window is open, as text: the time alone when that is today ("bis 14:05 Uhr"),
/// and the time left in whole hours, or minutes in the last hour ("noch 3 Std.").
fn window_text(until: OffsetDateTime, now: OffsetDateTime, lang: Lang, zone: &Zone, x: &InboxTexts) -> String {
    let when = if zone.date(lang, until) == zone.date(lang, now) {
        zone.time(lang, until)
    } else {
        zone.date_time(lang, until)
    };
    let minutes = (until - now).whole_minutes().max(0);
    let left = if minutes >= 60 {
        format!("{}{}{}", x.left_prefix, minutes / 60, x.hours_left)
    } else {
        format!("{}{minutes}{}", x.left_prefix, x.minutes_left)
    };
    format!("{} {when}, {left}", x.window_open_until)
}

/// The texts of a template's buttons (quick replies, links, phone numbers) from its synced
/// components, in their order; none when they cannot be read.
fn template_buttons(template: &WaTemplate) -> Vec<String> {
    let Ok(serde_json::Value::Array(components)) = serde_json::from_str(&template.components_json) else {
        return Vec::new();
    };
    let is_buttons = |c: &serde_json::Value| {
        c.get("type").and_then(serde_json::Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("buttons"))
    };
    components
        .iter()
        .filter(|c| is_buttons(c))
        .filter_map(|c| c.get("buttons").and_then(serde_json::Value::as_array))
        .flatten()
        .filter_map(|b| b.get("text").and_then(serde_json::Value::as_str).map(str::to_owned))
        .collect()
}

fn bubble<'a>(
    m: &Message,
    lang: Lang,
    zone: &Zone,
    x: &InboxTexts,
    find: &impl Fn(&TemplateName, &LanguageCode) -> Option<&'a WaTemplate>,
) -> Bubble {
    let inbound = m.direction == Direction::Inbound;
    // a template as the candidate saw it: the synced body with the values sent, and its buttons
    let rendered = match m.body.expose() {
        MessageBody::Outbound(OutboundContent::Template { name, language, body_parameters, .. }) => {
            find(name, language).and_then(|t| {
                let values: Vec<&str> = body_parameters.iter().map(|v| v.expose().as_str()).collect();
                let body = render_body(t, &values, |_| String::new())?;
                Some((format!("{} „{}“", x.template_named, name.as_str()), body, template_buttons(t)))
            })
        }
        MessageBody::Outbound(_) | MessageBody::Inbound(_) => None,
    };
    let (template, text, buttons) = match rendered {
        Some((label, body, buttons)) => (Some(label), body, buttons),
        None => (None, message_text(m, x), Vec::new()),
    };
    let status = if inbound { None } else { Some(status_word(&m.status, x).unwrap_or_default()) };
    Bubble {
        id: m.id.to_string(),
        inbound,
        who: if inbound { x.from_candidate } else { x.from_team },
        time: zone.date_time(lang, m.provider_at.unwrap_or(m.created_at)),
        template,
        text,
        buttons,
        quote: None,
        media: None,
        status,
    }
}

/// A delivery state in words (the thread's and the list's).
pub(crate) const fn delivery_word(x: &InboxTexts, status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Queued => x.status_queued,
        DeliveryStatus::Cancelled => x.status_cancelled,
        DeliveryStatus::Unknown => x.status_unknown,
        DeliveryStatus::Accepted => x.status_accepted,
        DeliveryStatus::Sent => x.status_sent,
        DeliveryStatus::Failed => x.status_failed,
        DeliveryStatus::Delivered => x.status_delivered,
        DeliveryStatus::Read => x.status_read,
    }
}

/// An outbound message's delivery state in words, with WhatsApp's error code if it failed.
fn status_word(timeline: &StatusTimeline, x: &InboxTexts) -> Option<String> {
    timeline.effective().map(|s| {
        let word = delivery_word(x, s);
        match timeline.get(DeliveryStatus::Failed).and_then(|o| o.error_code) {
            Some(code) if s == DeliveryStatus::Failed => format!("{word} ({} {code})", x.failed_reason),
            _ => word.to_owned(),
        }
    })
}

/// The quoted message of a reply, shortened to 140 characters.
fn quote(messages: &[Message], wamid: &Wamid, x: &InboxTexts) -> String {
    match messages.iter().find(|m| m.provider_id.as_ref() == Some(wamid)) {
        Some(quoted) => {
            let text = message_text(quoted, x);
            let mut short: String = text.chars().take(140).collect();
            if short.len() < text.len() {
                short.push('…');
            }
            format!("{}: {short}", x.m.reply_to)
        }
        None => x.m.reply_to_unknown.to_owned(),
    }
}

const fn media_kind(kind: MediaKind, x: &InboxTexts) -> &'static str {
    match kind {
        MediaKind::Image => x.m.image,
        MediaKind::Document => x.m.document,
        MediaKind::Audio => x.m.audio,
        MediaKind::Video => x.m.video,
        MediaKind::Sticker => x.m.sticker,
    }
}

/// The raster image types a browser shows inline (never SVG: it can carry script).
fn inline_image(record: &MediaRecord) -> bool {
    record.kind == MediaKind::Image
        && matches!(record.mime_type.as_deref(), Some("image/jpeg" | "image/png" | "image/webp"))
}

fn media_view(record: &MediaRecord, m: &Message, candidate: CandidateId, x: &InboxTexts) -> MediaView {
    let caption = match m.body.expose() {
        MessageBody::Inbound(InboundContent::Media { caption, .. }) => caption.as_ref().map(|c| c.expose().clone()),
        MessageBody::Inbound(_) | MessageBody::Outbound(_) => None,
    };
    let kind = media_kind(record.kind, x);
    let name = record.filename.as_ref().map(|f| f.expose().clone());
    let (href, label) = match record.status {
        MediaStatus::Stored => {
            let size = record.size.map(|s| format!(", {}", file_size(s))).unwrap_or_default();
            let what = name.map_or_else(|| kind.to_owned(), |n| format!("{kind} „{n}“"));
            (Some(format!("/inbox/{candidate}/media/{}", record.id)), format!("{what} {}{size}", x.m.download))
        }
        MediaStatus::Pending => (None, format!("{kind}: {}", x.m.pending)),
        MediaStatus::Rejected => {
            let why = match record.rejection {
                Some(MediaRejection::IntegrityMismatch) => x.m.integrity_mismatch,
                Some(MediaRejection::TooLarge) => x.m.too_large,
                Some(MediaRejection::TypeNotAllowed) => x.m.type_not_allowed,
                Some(MediaRejection::RefusedUrl) => x.m.refused_url,
                Some(MediaRejection::Unavailable) | None => x.m.unavailable,
            };
            (None, format!("{kind}: {} ({why})", x.m.rejected))
        }
    };
    MediaView {
        image: href.is_some() && inline_image(record),
        href,
        label,
        alt: caption.unwrap_or_else(|| x.m.image_alt.to_owned()),
    }
}

fn file_size(bytes: u64) -> String {
    match bytes {
        0..1_024 => format!("{bytes} B"),
        1_024..1_048_576 => format!("{} KB", bytes.div_ceil(1_024)),
        _ => format!("{} MB", bytes.div_ceil(1_048_576)),
    }
}

/// Location, contacts and reactions in words; other structured types named.
fn structured_text(type_name: &str, json: &str, x: &InboxTexts) -> String {
    let value: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let text = |v: &serde_json::Value, key: &str| v.get(key).and_then(serde_json::Value::as_str).map(str::to_owned);
    match type_name {
        "location" => {
            let mut parts: Vec<String> = ["name", "address"].iter().filter_map(|k| text(&value, k)).collect();
            let coordinate = |key: &str| value.get(key).and_then(serde_json::Value::as_f64);
            if let (Some(lat), Some(long)) = (coordinate("latitude"), coordinate("longitude")) {
                parts.push(format!("{lat:.5}, {long:.5}"));
            }
            format!("{}: {}", x.m.location, parts.join(" · "))
        }
        "contacts" => {
            let contacts = value.as_array().cloned().unwrap_or_default();
            let shown: Vec<String> = contacts
                .iter()
                .map(|c| {
                    let name = c.get("name").and_then(|n| text(n, "formatted_name")).unwrap_or_default();
                    let list = |key: &str, field: &str| -> Vec<String> {
                        let items = c.get(key).and_then(serde_json::Value::as_array).cloned().unwrap_or_default();
                        items.iter().filter_map(|i| text(i, field)).collect()
                    };
                    let mut parts = vec![name];
                    parts.extend(list("phones", "phone"));
                    parts.extend(list("emails", "email"));
                    parts.retain(|p| !p.is_empty());
                    parts.join(", ")
                })
                .collect();
            format!("{}: {}", x.m.contact, shown.join(" · "))
        }
        "reaction" => match text(&value, "emoji").filter(|e| !e.is_empty()) {
            Some(emoji) => format!("{}: {emoji}", x.m.reaction),
            None => x.m.reaction_removed.to_owned(),
        },
        other => format!("{} {other} ({})", x.structured, x.m.not_shown),
    }
}

/// `GET /inbox/{id}/media/{media}`: an inbound file through the session (an audited content
/// read, R33; restricted candidates only for admin and DPO). Raster images are shown inline,
/// everything else is a download.
pub(crate) async fn media(
    State(state): State<WebState>,
    client: Client,
    Path((id, media)): Path<(String, String)>,
) -> Response {
    let Some(app) = state.app() else { return see_other("/signin") };
    let Some(signed) = signed_in(app, &client).await else { return see_other("/signin?notice=expired") };
    let lang = signed.lang();
    let (Ok(candidate), Ok(media)) = (id.parse::<CandidateId>(), media.parse::<MediaId>()) else {
        return not_found(lang, client.path);
    };
    let p = &signed.principal;
    let (record, content) = match app.read_media(p.tenant, p.actor(), candidate, media).await {
        Ok(found) => found,
        Err(UseCaseError::Conflict(_)) => {
            let t = lang.messages();
            return message(lang, client.path, StatusCode::CONFLICT, t.not_found_title, texts(lang).m.pending);
        }
        Err(e) => return use_case_failure(&signed, client.path, &e),
    };
    let inline = inline_image(&record);
    let mime = if inline || record.kind != MediaKind::Image {
        record.mime_type.clone().unwrap_or_else(|| "application/octet-stream".to_owned())
    } else {
        "application/octet-stream".to_owned()
    };
    let name = record
        .filename
        .as_ref()
        .map_or_else(|| format!("{}.{}", record.id, record.kind.as_str()), |f| f.expose().clone());
    let disposition = format!("{}; filename*=UTF-8''{}", if inline { "inline" } else { "attachment" }, rfc5987(&name));
    let mut response = content.into_inner().into_response();
    let headers = response.headers_mut();
    let octets = HeaderValue::from_static("application/octet-stream");
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(&mime).unwrap_or(octets));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An RFC 5987 `filename*` value: all but the unreserved characters percent-encoded.
fn rfc5987(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
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
    Document(OutboundDocument),
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
        Outgoing::Document(document) => {
            let limits = MediaLimits { max_bytes: state.settings().max_document_bytes };
            app.send_document(p.tenant, p.actor(), candidate, document, limits).await
        }
        Outgoing::Invalid => Err(UseCaseError::Invalid(String::new())),
    };
    match result {
        Ok(_) => see_other(&format!("/inbox/{candidate}?sent=1")),
        Err(UseCaseError::Refused(refusal)) => {
            let error = format!("{} ({}: {})", (x.refusal)(refusal.code), x.p.code, refusal.code.as_str());
            let feedback = Feedback { error: Some(error), ..Feedback::default() };
            render_thread(state, &signed, id, path, feedback, StatusCode::CONFLICT).await
        }
        Err(UseCaseError::Invalid(_)) => {
            let feedback = Feedback { error: Some(x.invalid.to_owned()), ..Feedback::default() };
            render_thread(state, &signed, id, path, feedback, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => use_case_failure(&signed, path, &e),
    }
}

// ---------------------------------------------------------------------------------------------
// The candidate panel: consents with their evidence, objections, the process, erasure, holds

struct HoldView {
    id: String,
    text: String,
    active: bool,
}

struct PanelView {
    consents: Vec<(&'static str, String)>,
    evidence: Vec<String>,
    objections: Vec<String>,
    review: Option<String>,
    process: String,
    running: bool,
    objected: bool,
    erasure: String,
    holds: Vec<HoldView>,
    may_record: bool,
    may_hold: bool,
    /// Today in the time zone of the pages (the latest day the date fields take).
    today: String,
    /// The options of the forms' choices: (form value, words).
    purposes: Vec<(&'static str, &'static str)>,
    channels: Vec<(&'static str, &'static str)>,
    end_reasons: Vec<(&'static str, &'static str)>,
    hold_reasons: Vec<(&'static str, &'static str)>,
}

fn purpose_name(purpose: Purpose, x: &InboxTexts) -> &'static str {
    match purpose {
        Purpose::WhatsAppChannel => x.p.purpose_channel,
        Purpose::TalentPool => x.p.purpose_pool,
    }
}

fn channel_name(channel: CaptureChannel, x: &InboxTexts) -> &'static str {
    match channel {
        CaptureChannel::WhatsApp => x.p.channel_whatsapp,
        CaptureChannel::Web => x.p.channel_web,
        CaptureChannel::Phone => x.p.channel_phone,
        CaptureChannel::InPerson => x.p.channel_in_person,
        CaptureChannel::Email => x.p.channel_email,
        CaptureChannel::Paper => x.p.channel_paper,
    }
}

fn texts_shown(shown: &[LegalTextRef], x: &InboxTexts) -> String {
    let names: Vec<String> = shown
        .iter()
        .map(|t| {
            let kind = match t.kind {
                LegalTextKind::Terms => x.p.text_terms,
                LegalTextKind::PrivacyNotice => x.p.text_notice,
                LegalTextKind::ConsentRequest => x.p.text_request,
            };
            format!("{kind} {} ({})", t.version.as_str(), t.language.as_str())
        })
        .collect();
    format!("{}: {}", x.p.texts_shown, names.join(", "))
}

fn consent_state(state: &ConsentState, lang: Lang, zone: &Zone, x: &InboxTexts) -> String {
    let on = |word: &str, at: OffsetDateTime| format!("{word} {} {}", x.p.since, zone.date_time(lang, at));
    match state {
        ConsentState::None => x.p.state_none.to_owned(),
        ConsentState::Requested { last_at, .. } => on(x.p.state_requested, *last_at),
        ConsentState::Granted { at, expires_at, .. } => match expires_at {
            Some(until) => format!("{}, {} {}", on(x.p.state_granted, *at), x.p.until, zone.date_time(lang, *until)),
            None => on(x.p.state_granted, *at),
        },
        ConsentState::Declined { at } => on(x.p.state_declined, *at),
        ConsentState::Withdrawn { at } => on(x.p.state_withdrawn, *at),
        ConsentState::Expired { at } => on(x.p.state_expired, *at),
    }
}

/// One entry of the consent ledger in words, with its evidence.
fn evidence_entry(entry: &ConsentEntry, lang: Lang, zone: &Zone, x: &InboxTexts) -> String {
    let at = |t: OffsetDateTime| zone.date_time(lang, t);
    let purpose = purpose_name(entry.purpose(), x);
    match entry {
        ConsentEntry::Requested { at: when, texts_shown: shown, .. } => {
            format!("{purpose}: {} {}; {}", x.p.entry_requested, at(*when), texts_shown(shown, x))
        }
        ConsentEntry::Granted(e) => {
            let method = match &e.method {
                ConsentMethod::ButtonReply { .. } => x.p.method_button.to_owned(),
                ConsentMethod::OptInKeyword { .. } => x.p.method_keyword.to_owned(),
                ConsentMethod::WebForm { form_id, .. } => format!("{} ({form_id})", x.p.method_web),
                ConsentMethod::SignedForm { document_ref } => {
                    format!("{}: {}", x.p.method_signed, document_ref.expose())
                }
                ConsentMethod::RecordedVerbal { note, .. } => match note {
                    Some(note) => format!("{}: {}", x.p.method_verbal, note.expose()),
                    None => x.p.method_verbal.to_owned(),
                },
            };
            format!(
                "{purpose}: {} {}, {} ({}; {} {}); {}",
                x.p.entry_granted,
                at(e.given_at.unwrap_or(e.recorded_at)),
                method,
                channel_name(e.capture_channel, x),
                x.p.recorded_on,
                at(e.recorded_at),
                texts_shown(&e.texts_shown, x)
            )
        }
        ConsentEntry::Declined { at: when, .. } => format!("{purpose}: {} {}", x.p.entry_declined, at(*when)),
        ConsentEntry::Withdrawn { at: when, via, .. } => {
            let via = match via {
                WithdrawalVia::WhatsApp { .. } => x.p.via_whatsapp.to_owned(),
                WithdrawalVia::Objection => x.p.via_objection.to_owned(),
                WithdrawalVia::Staff { channel, .. } => format!("{} ({})", x.p.via_staff, channel_name(*channel, x)),
                WithdrawalVia::Expiry => x.p.via_expiry.to_owned(),
            };
            format!("{purpose}: {} {}, {via}", x.p.entry_withdrawn, at(*when))
        }
    }
}

fn objection_source(source: &ObjectionSource, x: &InboxTexts) -> String {
    match source {
        ObjectionSource::WhatsApp { .. } => x.objection_by_message.to_owned(),
        ObjectionSource::Staff { channel, .. } => format!("{}, {}", x.objection_by_staff, channel_name(*channel, x)),
        ObjectionSource::Review { .. } => x.objection_by_review.to_owned(),
        ObjectionSource::Suppression => x.objection_by_suppression.to_owned(),
    }
}

fn panel(row: &InboxRow, role: Role, lang: Lang, zone: &Zone, x: &InboxTexts) -> PanelView {
    let c = &row.candidate;
    let at = |t: OffsetDateTime| zone.date_time(lang, t);
    let consents = vec![
        (x.p.purpose_channel, consent_state(&row.consent, lang, zone, x)),
        (x.p.purpose_pool, consent_state(&row.talent_pool, lang, zone, x)),
    ];
    let evidence = c.consents().entries().iter().map(|e| evidence_entry(e, lang, zone, x)).collect();
    let objection = c.objection();
    let lifted = objection.history.iter().map(|o| (o, x.p.objection_lifted));
    let objections = lifted
        .chain(objection.active.iter().map(|o| (o, x.p.objection_active)))
        .map(|(o, state)| format!("{} ({}): {state}", at(o.at), objection_source(&o.source, x)))
        .collect();
    let review = objection.review.as_ref().map(|r| format!("{} {}", x.p.review_open, at(r.due_at)));
    let process = match c.process {
        Process::Running => x.p.process_running.to_owned(),
        Process::Ended { reason, at: ended } => {
            format!("{} {}: {}", x.p.process_ended, at(ended), end_reason(reason, x))
        }
    };
    let erasure = match row.erasure_due() {
        Some(due) if due <= row.at => x.p.erasure_next_run.to_owned(),
        Some(due) => format!("{} {}", x.p.erasure_on, zone.date(lang, due)),
        None => x.p.erasure_none.to_owned(),
    };
    let holds = c
        .holds
        .iter()
        .map(|h| {
            let mut text = format!("{}, {} {}", hold_reason(h.reason, x), x.p.hold_set_on, at(h.set_at));
            if let Some(reference) = &h.reference {
                text.push_str(&format!(", {} {}", x.p.hold_reference, reference.expose()));
            }
            match h.released_at {
                Some(released) => text.push_str(&format!(", {} {}", x.p.hold_released_on, at(released))),
                None => text.push_str(&format!(", {} {}", x.p.hold_review_on, zone.date(lang, h.review_at))),
            }
            HoldView { id: h.id.to_string(), text, active: h.released_at.is_none() }
        })
        .collect();
    PanelView {
        consents,
        evidence,
        objections,
        review,
        process,
        running: matches!(c.process, Process::Running),
        objected: objection.is_objected(),
        erasure,
        holds,
        may_record: Action::RecordOnBehalf.allows(role),
        may_hold: Action::ManageLegalHolds.allows(role),
        today: zone.iso_date(row.at),
        purposes: vec![("whatsapp_channel", x.p.purpose_channel), ("talent_pool", x.p.purpose_pool)],
        channels: OUTSIDE_CHANNELS.iter().map(|(value, channel)| (*value, channel_name(*channel, x))).collect(),
        end_reasons: [
            ProcessEndReason::Rejected,
            ProcessEndReason::Withdrawn,
            ProcessEndReason::Hired,
            ProcessEndReason::VacancyClosed,
        ]
        .into_iter()
        .map(|r| (r.as_str(), end_reason(r, x)))
        .collect(),
        hold_reasons: [HoldReason::ClaimAsserted, HoldReason::AuthorityInquiry, HoldReason::Other]
            .into_iter()
            .map(|r| (r.as_str(), hold_reason(r, x)))
            .collect(),
    }
}

const fn end_reason(reason: ProcessEndReason, x: &InboxTexts) -> &'static str {
    match reason {
        ProcessEndReason::Rejected => x.p.reason_rejected,
        ProcessEndReason::Withdrawn => x.p.reason_withdrawn,
        ProcessEndReason::Hired => x.p.reason_hired,
        ProcessEndReason::VacancyClosed => x.p.reason_vacancy_closed,
    }
}

/// The evidence form of a consent received outside WhatsApp.
#[derive(Debug, Deserialize)]
pub(crate) struct ConsentForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    received_on: String,
}

/// The form of an objection received outside WhatsApp.
#[derive(Debug, Deserialize)]
pub(crate) struct ObjectionForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    received_on: String,
}

/// A form with one reason (ending the process, a legal hold) and an optional reference.
#[derive(Debug, Deserialize)]
pub(crate) struct ReasonForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    reference: String,
}

/// The channels a consent or an objection can arrive by outside WhatsApp, by the form's value.
const OUTSIDE_CHANNELS: [(&str, CaptureChannel); 4] = [
    ("phone", CaptureChannel::Phone),
    ("email", CaptureChannel::Email),
    ("paper", CaptureChannel::Paper),
    ("in_person", CaptureChannel::InPerson),
];

fn outside_channel(value: &str) -> Option<CaptureChannel> {
    OUTSIDE_CHANNELS.iter().find(|(v, _)| *v == value).map(|(_, channel)| *channel)
}

const fn hold_reason(reason: HoldReason, x: &InboxTexts) -> &'static str {
    match reason {
        HoldReason::ClaimAsserted => x.p.hold_claim,
        HoldReason::AuthorityInquiry => x.p.hold_authority,
        HoldReason::Other => x.p.hold_other,
    }
}

/// The day a consent or an objection arrived, from the form's date field: empty or today is now
/// (`None`), an earlier day its start in the time zone of the pages (a later one the domain
/// refuses); `Err` for anything else.
fn received_on(state: &WebState, day: &str) -> Result<Option<OffsetDateTime>, ()> {
    let day = day.trim();
    let zone = &state.settings().time_zone;
    let today = state.app().map(|app| zone.iso_date(app.clock().now()));
    if day.is_empty() || today.as_deref() == Some(day) {
        return Ok(None);
    }
    zone.start_of_day(day).map(Some).ok_or(())
}

fn nonempty(value: &str) -> Option<Pii<String>> {
    let value = value.trim();
    (!value.is_empty()).then(|| Pii::new(value.to_owned()))
}

/// A panel action, built once the session is known (evidence names the staff member).
enum PanelAction {
    Consent(ConsentInput),
    Objection(ObjectionInput),
    End(ProcessEndReason),
    Hold(HoldReason, Option<Pii<String>>),
    Release(HoldId),
    Invalid,
}

/// `POST /inbox/{id}/consent`: a consent received by phone, mail, letter or in person, with its
/// evidence (a note for a verbal one, where the document is filed for a written one).
pub(crate) async fn record_consent(
    State(state): State<WebState>,
    client: Client,
    Path(id): Path<String>,
    Form(form): Form<ConsentForm>,
) -> Response {
    let purpose = match form.purpose.as_str() {
        "whatsapp_channel" => Some(Purpose::WhatsAppChannel),
        "talent_pool" => Some(Purpose::TalentPool),
        _ => None,
    };
    let (channel, note) = (outside_channel(&form.channel), nonempty(&form.note));
    let given_at = received_on(&state, &form.received_on);
    panel_action(&state, &client, &id, &form.csrf_token, "consent", move |staff| {
        let (Some(purpose), Some(capture_channel), Some(note), Ok(given_at)) = (purpose, channel, note, given_at)
        else {
            return PanelAction::Invalid;
        };
        let method = match capture_channel {
            CaptureChannel::Phone | CaptureChannel::InPerson => {
                ConsentMethod::RecordedVerbal { staff, note: Some(note) }
            }
            CaptureChannel::Email | CaptureChannel::Paper | CaptureChannel::Web | CaptureChannel::WhatsApp => {
                ConsentMethod::SignedForm { document_ref: note }
            }
        };
        PanelAction::Consent(ConsentInput { purpose, method, capture_channel, texts_shown: None, given_at })
    })
    .await
}

/// `POST /inbox/{id}/objection`: an objection received by phone, mail, letter or in person.
pub(crate) async fn record_objection(
    State(state): State<WebState>,
    client: Client,
    Path(id): Path<String>,
    Form(form): Form<ObjectionForm>,
) -> Response {
    let (channel, note) = (outside_channel(&form.channel), nonempty(&form.note));
    let received_at = received_on(&state, &form.received_on);
    panel_action(&state, &client, &id, &form.csrf_token, "objection", move |_| match (channel, received_at) {
        (Some(channel), Ok(received_at)) => PanelAction::Objection(ObjectionInput { channel, note, received_at }),
        (None, _) | (_, Err(())) => PanelAction::Invalid,
    })
    .await
}

/// `POST /inbox/{id}/end`: ends the application process with its reason (R24).
pub(crate) async fn end_process(
    State(state): State<WebState>,
    client: Client,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Response {
    let reason = ProcessEndReason::parse(&form.reason).ok();
    panel_action(&state, &client, &id, &form.csrf_token, "end", move |_| {
        reason.map_or(PanelAction::Invalid, PanelAction::End)
    })
    .await
}

/// `POST /inbox/{id}/holds`: sets a legal hold (R26; admin and DPO, decided by the domain).
pub(crate) async fn set_hold(
    State(state): State<WebState>,
    client: Client,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Response {
    let reason = HoldReason::parse(&form.reason).ok();
    let reference = nonempty(&form.reference);
    panel_action(&state, &client, &id, &form.csrf_token, "hold", move |_| match reason {
        Some(reason) => PanelAction::Hold(reason, reference),
        None => PanelAction::Invalid,
    })
    .await
}

/// `POST /inbox/{id}/holds/{hold}/release`: releases a legal hold (admin and DPO).
pub(crate) async fn release_hold(
    State(state): State<WebState>,
    client: Client,
    Path((id, hold)): Path<(String, String)>,
    Form(form): Form<TokenOnly>,
) -> Response {
    let hold = hold.parse::<HoldId>().ok();
    panel_action(&state, &client, &id, &form.csrf_token, "release", move |_| {
        hold.map_or(PanelAction::Invalid, PanelAction::Release)
    })
    .await
}

async fn panel_action(
    state: &WebState,
    client: &Client,
    id: &str,
    csrf: &str,
    done: &str,
    build: impl FnOnce(StaffId) -> PanelAction,
) -> Response {
    let signed = match signed_post(state, client, csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(app) = state.app() else { return see_other("/signin") };
    let x = texts(signed.lang());
    let path = format!("/inbox/{id}");
    let Ok(candidate) = id.parse::<CandidateId>() else { return not_found(signed.lang(), path) };
    let (tenant, actor) = (signed.principal.tenant, signed.principal.actor());
    let Actor::Staff { id: staff, .. } = actor else { return forbidden(signed.lang()) };
    let hold_action = matches!(done, "hold" | "release");
    let result = match build(staff) {
        PanelAction::Consent(input) => app.record_consent(tenant, actor, candidate, input).await.map(drop),
        PanelAction::Objection(input) => app.record_objection(tenant, actor, candidate, input).await.map(drop),
        PanelAction::End(reason) => app.end_process(tenant, actor, candidate, reason, None).await.map(drop),
        PanelAction::Hold(reason, reference) => {
            app.set_legal_hold(tenant, actor, candidate, reason, reference).await.map(drop)
        }
        PanelAction::Release(hold) => app.release_legal_hold(tenant, actor, candidate, hold).await.map(drop),
        PanelAction::Invalid => Err(UseCaseError::Invalid(String::new())),
    };
    let (status, text) = match result {
        Ok(()) => return see_other(&format!("/inbox/{candidate}?done={done}#panel")),
        Err(UseCaseError::Forbidden(_)) if hold_action => (StatusCode::FORBIDDEN, x.p.forbidden_hold),
        Err(UseCaseError::Forbidden(_)) => (StatusCode::FORBIDDEN, x.p.forbidden_other),
        Err(UseCaseError::Conflict(reason)) => (StatusCode::CONFLICT, conflict_text(reason, x)),
        Err(UseCaseError::Invalid(_)) => (StatusCode::UNPROCESSABLE_ENTITY, x.invalid),
        Err(e) => return use_case_failure(&signed, path, &e),
    };
    let code = match status {
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::CONFLICT => "conflict",
        _ => "invalid",
    };
    let feedback = Feedback { panel_error: Some(format!("{text} ({}: {code})", x.p.code)), ..Feedback::default() };
    render_thread(state, &signed, id, path, feedback, status).await
}

/// The domain's reason for a conflict in words (its known reasons; others generally).
fn conflict_text(reason: &str, x: &InboxTexts) -> &'static str {
    match reason {
        "the process has already ended" => x.p.conflict_ended,
        "the legal hold is already released" => x.p.conflict_released,
        "publish terms, privacy notice and consent request first" => x.p.conflict_texts,
        "a candidate with this phone number exists" => x.p.conflict_exists,
        r if r.starts_with("the candidate objected") => x.p.conflict_objected,
        _ => x.p.conflict_other,
    }
}

// ---------------------------------------------------------------------------------------------
// Adding a candidate

struct ChannelOption {
    id: String,
    number: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "inbox_new.html")]
struct NewCandidatePage {
    l: Layout,
    x: &'static InboxTexts,
    channels: Vec<ChannelOption>,
    name: String,
    phone: String,
    error: Option<String>,
}

/// The form to add a candidate.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct NewCandidateForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    channel: String,
}

/// Whether a role may add candidates (the link on the list; the domain decides on submit).
pub(crate) fn may_add(role: Role) -> bool {
    Action::CreateCandidate.allows(role)
}

/// `GET /inbox/new`: the form to add a candidate (recruiter, admin).
pub(crate) async fn new_candidate(State(state): State<WebState>, client: Client) -> Response {
    let Some(app) = state.app() else { return see_other("/signin") };
    let Some(signed) = signed_in(app, &client).await else { return see_other("/signin?notice=expired") };
    if !may_add(signed.principal.role) {
        return forbidden(signed.lang());
    }
    render_new(&state, &signed, client.path, NewCandidateForm::default(), None, StatusCode::OK).await
}

async fn render_new(
    state: &WebState,
    signed: &Signed,
    path: String,
    form: NewCandidateForm,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let Some(app) = state.app() else { return see_other("/signin") };
    let x = texts(signed.lang());
    let config = match app.tenant_config(signed.principal.tenant).await {
        Ok(c) => c,
        Err(e) => return use_case_failure(signed, path, &e),
    };
    let channels = config
        .channels
        .iter()
        .map(|c| ChannelOption { id: c.id.to_string(), number: c.display_phone_number.as_e164().to_owned() })
        .collect();
    let page = NewCandidatePage {
        l: signed_layout(state, signed, path),
        x,
        channels,
        name: form.name,
        phone: form.phone,
        error,
    };
    (status, page).into_response()
}

/// `POST /inbox/new`: adds the candidate (a national number is read in the tenant's region) and
/// opens the conversation, where consent is asked for next.
pub(crate) async fn add_candidate(
    State(state): State<WebState>,
    client: Client,
    Form(form): Form<NewCandidateForm>,
) -> Response {
    let signed = match signed_post(&state, &client, &form.csrf_token).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(app) = state.app() else { return see_other("/signin") };
    let x = texts(signed.lang());
    let path = "/inbox/new".to_owned();
    let (tenant, actor) = (signed.principal.tenant, signed.principal.actor());
    let region = match app.tenant_config(tenant).await {
        Ok(config) => config.tenant.messaging.default_region,
        Err(e) => return use_case_failure(&signed, path, &e),
    };
    let phone = match PhoneNumber::parse(&form.phone) {
        Err(PhoneNumberError::MissingCountryCode) => PhoneNumber::parse_in(&form.phone, region),
        parsed => parsed,
    };
    let (Ok(phone), Ok(channel)) = (phone, form.channel.parse::<ChannelId>()) else {
        let error = Some(x.p.invalid_phone.to_owned());
        return render_new(&state, &signed, path, form, error, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let input = NewCandidate { phone, name: nonempty(&form.name), channel, language: None };
    let (status, text) = match app.create_candidate(tenant, actor, input).await {
        Ok(c) => return see_other(&format!("/inbox/{}?done=added", c.id)),
        Err(UseCaseError::Forbidden(_)) => (StatusCode::FORBIDDEN, x.p.forbidden_create),
        Err(UseCaseError::Conflict(reason)) => (StatusCode::CONFLICT, conflict_text(reason, x)),
        Err(UseCaseError::NotFound(_) | UseCaseError::Invalid(_)) => (StatusCode::UNPROCESSABLE_ENTITY, x.invalid),
        Err(e) => return use_case_failure(&signed, path, &e),
    };
    render_new(&state, &signed, path, form, Some(text.to_owned()), status).await
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
    Action::ReadCandidates.allows(role)
}
