//! `/console/legal-texts`: the terms, the privacy notice and the consent request, per language,
//! each version with its SHA-256. The admin publishes a version with a preview and the R6 check
//! of a consent request shown while typing (htmx; without JavaScript, the "Prüfen" button shows
//! the same); what publishing a material change does (consent renewal, R7) is said before and
//! after.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use hoheit_domain::access::Action;
use hoheit_domain::legal::{ConsentRequestElement, LegalTextKind, LegalTextVersion, missing_consent_request_elements};
use hoheit_domain::usecases::{LegalTextInput, UseCaseError};
use hoheit_domain::values::LanguageCode;
use serde::Deserialize;
use sha2::Digest as _;

use super::{enter, refused};
use crate::WebState;
use crate::i18n::Lang;
use crate::identity::{Client, Signed, forbidden, see_other, signed_layout, signed_post};
use crate::pages::Layout;

#[derive(Debug)]
pub(crate) struct Texts {
    title: &'static str,
    intro: &'static str,
    none: &'static str,
    col_kind: &'static str,
    col_language: &'static str,
    col_version: &'static str,
    col_published: &'static str,
    col_material: &'static str,
    current: &'static str,
    yes: &'static str,
    no: &'static str,
    publish: &'static str,
    body: &'static str,
    url: &'static str,
    material: &'static str,
    material_hint: &'static str,
    check: &'static str,
    preview: &'static str,
    r6_ok: &'static str,
    r6_missing: &'static str,
    r6_other: &'static str,
    published: &'static str,
    published_material: &'static str,
    admin_only: &'static str,
    kind_name: fn(LegalTextKind) -> &'static str,
    element: fn(ConsentRequestElement) -> &'static str,
}

const DE: Texts = Texts {
    title: "Rechtstexte",
    intro: "Nutzungsbedingungen, Datenschutzhinweise und der Text der Einwilligungsanfrage. Veröffentlichte Fassungen bleiben unverändert; jede Einwilligung verweist auf die Fassungen, die die Person gesehen hat (mit SHA-256).",
    none: "Noch keine Texte veröffentlicht.",
    col_kind: "Text",
    col_language: "Sprache",
    col_version: "Fassung",
    col_published: "Veröffentlicht",
    col_material: "Wesentlich",
    current: "gilt",
    yes: "ja",
    no: "nein",
    publish: "Neue Fassung veröffentlichen",
    body: "Text",
    url: "Veröffentlicht unter (optional)",
    material: "Wesentliche Änderung",
    material_hint: "Eine wesentliche Änderung der Nutzungsbedingungen oder Datenschutzhinweise bedeutet: Einwilligungen auf frühere Fassungen müssen erneuert werden (R7). Bis die Person der neuen Fassung zustimmt, wird ihr nur die erneute Einwilligungsanfrage gesendet. Redaktionelle Korrekturen sind nicht wesentlich.",
    check: "Prüfen und Vorschau",
    preview: "Vorschau",
    r6_ok: "Alle Pflichtangaben einer Einwilligungsanfrage (R6) sind enthalten.",
    r6_missing: "Es fehlen Pflichtangaben (R6):",
    r6_other: "Für diesen Text gibt es keine Pflichtangaben-Prüfung.",
    published: "Die Fassung ist veröffentlicht.",
    published_material: "Die Fassung ist veröffentlicht. Weil sie wesentlich ist, müssen Einwilligungen auf frühere Fassungen erneuert werden (R7): Bis dahin wird den Personen nur die erneute Einwilligungsanfrage gesendet.",
    admin_only: "Neue Fassungen veröffentlicht die Administration.",
    kind_name: kind_de,
    element: element_de,
};

const EN: Texts = Texts {
    title: "Legal texts",
    intro: "Terms, privacy notice and the text of the consent request. Published versions never change; every consent refers to the versions the person saw (with SHA-256).",
    none: "No texts published yet.",
    col_kind: "Text",
    col_language: "Language",
    col_version: "Version",
    col_published: "Published",
    col_material: "Material",
    current: "in force",
    yes: "yes",
    no: "no",
    publish: "Publish a new version",
    body: "Text",
    url: "Published at (optional)",
    material: "Material change",
    material_hint: "A material change of the terms or the privacy notice means: consents given on earlier versions must be renewed (R7). Until the person agrees to the new version, only the renewed consent request is sent to them. Editorial fixes are not material.",
    check: "Check and preview",
    preview: "Preview",
    r6_ok: "Everything a consent request must say (R6) is there.",
    r6_missing: "Required elements are missing (R6):",
    r6_other: "This text has no check of required elements.",
    published: "The version is published.",
    published_material: "The version is published. As it is material, consents on earlier versions must be renewed (R7): until then, only the renewed consent request is sent to the people.",
    admin_only: "New versions are published by an admin.",
    kind_name: kind_en,
    element: element_en,
};

const fn kind_de(k: LegalTextKind) -> &'static str {
    match k {
        LegalTextKind::Terms => "Nutzungsbedingungen",
        LegalTextKind::PrivacyNotice => "Datenschutzhinweise",
        LegalTextKind::ConsentRequest => "Einwilligungsanfrage",
    }
}

const fn kind_en(k: LegalTextKind) -> &'static str {
    match k {
        LegalTextKind::Terms => "Terms",
        LegalTextKind::PrivacyNotice => "Privacy notice",
        LegalTextKind::ConsentRequest => "Consent request",
    }
}

const fn element_de(e: ConsentRequestElement) -> &'static str {
    match e {
        ConsentRequestElement::EmployerName => "der Name des Arbeitgebers",
        ConsentRequestElement::Purpose => "der Zweck (das Bewerbungsverfahren)",
        ConsentRequestElement::WhatsAppMeta => "dass WhatsApp und Meta beteiligt sind",
        ConsentRequestElement::UsTransfer => "dass Daten in die USA (ein Drittland) übermittelt werden können",
        ConsentRequestElement::WithdrawalInstruction => "wie man widerruft oder widerspricht (z. B. mit „STOPP“)",
    }
}

const fn element_en(e: ConsentRequestElement) -> &'static str {
    match e {
        ConsentRequestElement::EmployerName => "the employer's name",
        ConsentRequestElement::Purpose => "the purpose (the application process)",
        ConsentRequestElement::WhatsAppMeta => "that WhatsApp and Meta are involved",
        ConsentRequestElement::UsTransfer => "that data may be transferred to the US (a third country)",
        ConsentRequestElement::WithdrawalInstruction => "how to withdraw or object (e.g. with \"STOP\")",
    }
}

const fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::De => &DE,
        Lang::En => &EN,
    }
}

const KINDS: [LegalTextKind; 3] = [LegalTextKind::PrivacyNotice, LegalTextKind::Terms, LegalTextKind::ConsentRequest];

struct Row {
    kind: &'static str,
    language: String,
    version: String,
    published: String,
    material: bool,
    sha256: String,
    current: bool,
}

/// The draft being written: the form's fields, kept across a check.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct Draft {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    material: Option<String>,
}

/// The check of a draft: the R6 elements missing (consent request only), its SHA-256, the text.
struct Check {
    applies: bool,
    missing: Vec<&'static str>,
    sha256: String,
    body: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "console_legal_check.html")]
struct CheckFragment {
    t: &'static Texts,
    c: Check,
}

#[derive(Template, WebTemplate)]
#[template(path = "console_legal.html")]
struct Page {
    l: Layout,
    t: &'static Texts,
    rows: Vec<Row>,
    may_publish: bool,
    kinds: Vec<(&'static str, &'static str)>,
    draft: Draft,
    check: Option<Check>,
    notice: Option<&'static str>,
}

fn check(t: &'static Texts, draft: &Draft, employer: &str) -> Check {
    let applies = LegalTextKind::parse(&draft.kind) == Ok(LegalTextKind::ConsentRequest);
    let missing = if applies {
        missing_consent_request_elements(&draft.body, employer).into_iter().map(t.element).collect()
    } else {
        Vec::new()
    };
    Check {
        applies,
        missing,
        sha256: hex::encode(sha2::Sha256::digest(draft.body.as_bytes())),
        body: draft.body.clone(),
    }
}

async fn render(
    state: &WebState,
    signed: &Signed,
    path: String,
    draft: Draft,
    checked: bool,
    notice: Option<&'static str>,
) -> Response {
    let Some(app) = state.app() else { return see_other("/signin") };
    let lang = signed.lang();
    let t = texts(lang);
    let p = &signed.principal;
    let config = match app.tenant_config(p.tenant).await {
        Ok(c) => c,
        Err(e) => return refused(state, signed, path, "/console", &e),
    };
    let zone = &state.settings().time_zone;
    let catalogue = &config.legal_texts;
    let mut rows: Vec<Row> = catalogue
        .texts()
        .iter()
        .map(|x| Row {
            kind: (t.kind_name)(x.kind),
            language: x.language.as_str().to_owned(),
            version: x.version.as_str().to_owned(),
            published: zone.date_time(lang, x.published_at),
            material: x.material,
            sha256: x.sha256.to_string(),
            current: catalogue.current(x.kind, &x.language).is_some_and(|c| c.id == x.id),
        })
        .collect();
    rows.reverse();
    let check = checked.then(|| check(t, &draft, &config.tenant.name));
    Page {
        l: signed_layout(state, signed, path),
        t,
        rows,
        may_publish: Action::PublishLegalText.allows(p.role),
        kinds: KINDS.iter().map(|k| (k.as_str(), (t.kind_name)(*k))).collect(),
        draft,
        check,
        notice,
    }
    .into_response()
}

/// `GET /console/legal-texts`.
pub(crate) async fn legal_page(
    State(state): State<WebState>,
    client: Client,
    Query(q): Query<super::DoneQuery>,
) -> Response {
    let signed = match enter(&state, &client, Action::ReadSettings).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let t = texts(signed.lang());
    let notice = match q.done.as_deref() {
        Some("published") => Some(t.published),
        Some("material") => Some(t.published_material),
        _ => None,
    };
    let draft = Draft { material: Some("yes".into()), language: "de".into(), ..Draft::default() };
    render(&state, &signed, client.path, draft, false, notice).await
}

/// `POST /console/legal-texts/check`: the R6 check and the preview of a draft; as an htmx
/// request only the fragment, else the whole page with the draft kept. Nothing is stored.
pub(crate) async fn legal_check(
    State(state): State<WebState>,
    client: Client,
    headers: HeaderMap,
    Form(draft): Form<Draft>,
) -> Response {
    let signed = match signed_post(&state, &client, &draft.csrf_token).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !Action::PublishLegalText.allows(signed.principal.role) {
        return forbidden(signed.lang());
    }
    if headers.contains_key("hx-request") {
        let Some(app) = state.app() else { return see_other("/signin") };
        let t = texts(signed.lang());
        return match app.tenant_config(signed.principal.tenant).await {
            Ok(config) => CheckFragment { t, c: check(t, &draft, &config.tenant.name) }.into_response(),
            Err(e) => refused(&state, &signed, "/console/legal-texts".into(), "/console/legal-texts", &e),
        };
    }
    render(&state, &signed, "/console/legal-texts".to_owned(), draft, true, None).await
}

/// `POST /console/legal-texts`: publishes the version (admin; the domain checks R6 again).
pub(crate) async fn legal_publish(State(state): State<WebState>, client: Client, Form(draft): Form<Draft>) -> Response {
    let signed = match signed_post(&state, &client, &draft.csrf_token).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(app) = state.app() else { return see_other("/signin") };
    let back = "/console/legal-texts";
    let fail = |e: &UseCaseError| refused(&state, &signed, back.to_owned(), back, e);
    if !Action::PublishLegalText.allows(signed.principal.role) {
        return forbidden(signed.lang());
    }
    let input = (|| {
        Ok::<_, UseCaseError>(LegalTextInput {
            kind: LegalTextKind::parse(&draft.kind)?,
            version: LegalTextVersion::parse(&draft.version)?,
            language: LanguageCode::parse(&draft.language)?,
            body: draft.body.clone(),
            url: Some(draft.url.trim().to_owned()).filter(|u| !u.is_empty()),
            material: draft.material.is_some(),
        })
    })();
    let input = match input {
        Ok(i) => i,
        Err(e) => return fail(&e),
    };
    let material = input.material && input.kind != LegalTextKind::ConsentRequest;
    let p = &signed.principal;
    match app.publish_legal_text(p.tenant, p.actor(), input).await {
        Ok(_) => see_other(if material {
            "/console/legal-texts?done=material"
        } else {
            "/console/legal-texts?done=published"
        }),
        Err(e) => fail(&e),
    }
}
