//! `/console/records`: the tenant's Art. 30 record of processing activities, generated from its
//! configuration, as a page to print (the stylesheet's print rules leave out navigation and
//! controls; the DPO prints it or saves it as PDF) and as a Markdown download; and
//! `/console/records/privacy-notice`: the WhatsApp section of the privacy notice (DE/EN) to
//! copy into the employer's notice, also as a download.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use hoheit_domain::access::Action;
use hoheit_domain::accountability::{NoticeLanguage, RecordOfProcessing, privacy_notice_section};
use serde::Deserialize;

use super::{enter, refused};
use crate::WebState;
use crate::i18n::Lang;
use crate::identity::{Client, see_other, signed_layout};
use crate::pages::Layout;

#[derive(Debug)]
pub(crate) struct Texts {
    title: &'static str,
    intro: &'static str,
    download: &'static str,
    generated: &'static str,
    controller: &'static str,
    name: &'static str,
    contact: &'static str,
    notice: &'static str,
    not_set: &'static str,
    purposes: &'static str,
    legal_basis: &'static str,
    consent: &'static str,
    yes: &'static str,
    no: &'static str,
    subjects: &'static str,
    categories: &'static str,
    storage: &'static str,
    recipients: &'static str,
    location: &'static str,
    transfers: &'static str,
    retention: &'static str,
    trigger: &'static str,
    period: &'static str,
    security: &'static str,
    channels: &'static str,
    approved: &'static str,
    not_approved: &'static str,
    dpo: &'static str,
    section_title: &'static str,
    section_intro: &'static str,
    other_language: &'static str,
}

const DE: Texts = Texts {
    title: "Verzeichnis von Verarbeitungstätigkeiten (Art. 30 DSGVO)",
    intro: "Aus der Konfiguration dieses Mandanten erzeugt. Zum Drucken oder Speichern als PDF nutzen Sie die Druckfunktion des Browsers. Die Einträge sind englisch, wie sie auch die API liefert.",
    download: "Als Markdown herunterladen",
    generated: "Erzeugt am",
    controller: "Verantwortlicher",
    name: "Name",
    contact: "Datenschutzkontakt",
    notice: "Datenschutzhinweise",
    not_set: "nicht hinterlegt",
    purposes: "Zwecke und Rechtsgrundlagen",
    legal_basis: "Rechtsgrundlage",
    consent: "Einwilligung",
    yes: "ja",
    no: "nein",
    subjects: "Kategorien betroffener Personen",
    categories: "Kategorien personenbezogener Daten",
    storage: "Speicherung",
    recipients: "Empfänger",
    location: "Ort",
    transfers: "Übermittlungen in Drittländer",
    retention: "Löschfristen",
    trigger: "Auslöser",
    period: "Frist",
    security: "Technische und organisatorische Maßnahmen",
    channels: "WhatsApp-Nummern und ihre Freigabe",
    approved: "freigegeben",
    not_approved: "nicht freigegeben",
    dpo: "Bestellung der oder des Datenschutzbeauftragten",
    section_title: "WhatsApp-Abschnitt der Datenschutzhinweise",
    section_intro: "Zum Übernehmen in Ihre Datenschutzhinweise (Art. 13 DSGVO, mit dem Hinweis auf das Widerspruchsrecht nach Art. 21 Abs. 4). Aus derselben Konfiguration erzeugt wie das Verzeichnis.",
    other_language: "English version",
};

const EN: Texts = Texts {
    title: "Record of processing activities (Art. 30 GDPR)",
    intro: "Generated from this tenant's configuration. To print it or save it as PDF, use the browser's print function.",
    download: "Download as Markdown",
    generated: "Generated on",
    controller: "Controller",
    name: "Name",
    contact: "Privacy contact",
    notice: "Privacy notice",
    not_set: "not configured",
    purposes: "Purposes and legal bases",
    legal_basis: "Legal basis",
    consent: "Consent",
    yes: "yes",
    no: "no",
    subjects: "Categories of data subjects",
    categories: "Categories of personal data",
    storage: "Storage",
    recipients: "Recipients",
    location: "Location",
    transfers: "Transfers to third countries",
    retention: "Retention periods",
    trigger: "Trigger",
    period: "Period",
    security: "Technical and organisational measures",
    channels: "WhatsApp numbers and their approval",
    approved: "approved",
    not_approved: "not approved",
    dpo: "Appointment of the data-protection officer",
    section_title: "The privacy notice's WhatsApp section",
    section_intro: "To take into your privacy notice (Art. 13 GDPR, with the hint at the right to object under Art. 21(4)). Generated from the same configuration as the record.",
    other_language: "Deutsche Fassung",
};

const fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::De => &DE,
        Lang::En => &EN,
    }
}

/// `?format=markdown` for the download.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct Format {
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    language: Option<String>,
}

fn markdown(text: String, filename: &str) -> Response {
    super::attachment(text, "text/markdown; charset=utf-8", filename)
}

#[derive(Template, WebTemplate)]
#[template(path = "console_record.html")]
struct RecordPage {
    l: Layout,
    t: &'static Texts,
    r: RecordOfProcessing,
    generated: String,
    channels: Vec<(String, String)>,
}

/// `GET /console/records`: the Art. 30 record (`?format=markdown`: as a download).
pub(crate) async fn record_page(State(state): State<WebState>, client: Client, Query(q): Query<Format>) -> Response {
    let signed = match enter(&state, &client, Action::ReadAccountability).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(app) = state.app() else { return see_other("/signin") };
    let config = match app.tenant_config(signed.principal.tenant).await {
        Ok(c) => c,
        Err(e) => return refused(&state, &signed, client.path, "/console", &e),
    };
    let record = RecordOfProcessing::generate(&config, app.clock().now());
    if q.format.as_deref() == Some("markdown") {
        return markdown(record.to_markdown(), "verarbeitungsverzeichnis-art30.md");
    }
    let lang = signed.lang();
    let t = texts(lang);
    let zone = &state.settings().time_zone;
    let channels = record
        .channels
        .iter()
        .map(|c| {
            let state = match (c.approved, c.approved_at, c.review_at) {
                (true, Some(at), Some(review)) => {
                    format!("{} {} – {}", t.approved, zone.date(lang, at), zone.date(lang, review))
                }
                (true, ..) => t.approved.to_owned(),
                (false, ..) => t.not_approved.to_owned(),
            };
            (c.display_phone_number.clone(), state)
        })
        .collect();
    RecordPage {
        l: signed_layout(&state, &signed, client.path),
        t,
        generated: zone.date_time(lang, record.generated_at),
        r: record,
        channels,
    }
    .into_response()
}

#[derive(Template, WebTemplate)]
#[template(path = "console_privacy_section.html")]
struct SectionPage {
    l: Layout,
    t: &'static Texts,
    code: &'static str,
    other: &'static str,
    text: String,
}

/// `GET /console/records/privacy-notice?language=de|en` (`&format=markdown`: as a download).
pub(crate) async fn privacy_section(
    State(state): State<WebState>,
    client: Client,
    Query(q): Query<Format>,
) -> Response {
    let signed = match enter(&state, &client, Action::ReadAccountability).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(app) = state.app() else { return see_other("/signin") };
    let lang = signed.lang();
    let language = match q.language.as_deref().map(NoticeLanguage::parse) {
        Some(Ok(l)) => l,
        Some(Err(_)) | None if lang == Lang::En => NoticeLanguage::English,
        Some(Err(_)) | None => NoticeLanguage::German,
    };
    let config = match app.tenant_config(signed.principal.tenant).await {
        Ok(c) => c,
        Err(e) => return refused(&state, &signed, client.path, "/console", &e),
    };
    let text = privacy_notice_section(&config, language);
    let (code, other) = match language {
        NoticeLanguage::German => ("de", "en"),
        NoticeLanguage::English => ("en", "de"),
    };
    if q.format.as_deref() == Some("markdown") {
        return markdown(text, &format!("datenschutzhinweise-whatsapp-{code}.md"));
    }
    SectionPage { l: signed_layout(&state, &signed, client.path), t: texts(lang), code, other, text }.into_response()
}
