//! `/console/audit`: the tenant's tamper-evident audit log. Browse it by time, action and
//! subject (entries hold pseudonymous ids only, no names, numbers or content; the DPO, and only
//! the DPO, sees the person's name next to the id, resolved inside the tenant); verify the chain
//! with the result in words; take a signed checkpoint and download it; download the public key
//! to keep outside hoheit, with which anyone can check a checkpoint later.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use hoheit_domain::access::Action;
use hoheit_domain::ids::CandidateId;
use hoheit_domain::usecases::UseCaseError;
use serde::Deserialize;

use super::{enter, refused};
use crate::WebState;
use crate::desk::{AuditFilter, ChainState};
use crate::i18n::Lang;
use crate::identity::{Client, TokenForm, see_other, signed_layout, signed_post};
use crate::pages::Layout;

/// How many entries one page shows at the most.
const PAGE: usize = 200;

#[derive(Debug)]
pub(crate) struct Texts {
    title: &'static str,
    intro: &'static str,
    filter: &'static str,
    from: &'static str,
    to: &'static str,
    action: &'static str,
    action_hint: &'static str,
    subject: &'static str,
    show: &'static str,
    none: &'static str,
    col_seq: &'static str,
    col_at: &'static str,
    col_actor: &'static str,
    col_action: &'static str,
    col_rule: &'static str,
    col_subject: &'static str,
    col_details: &'static str,
    limited: &'static str,
    verify: &'static str,
    intact: &'static str,
    entries_checked: &'static str,
    checkpoints: &'static str,
    anchored: &'static str,
    not_anchored: &'static str,
    broken: &'static str,
    checkpoint: &'static str,
    checkpoint_hint: &'static str,
    key: &'static str,
    key_hint: &'static str,
    key_download: &'static str,
}

const DE: Texts = Texts {
    title: "Audit-Protokoll",
    intro: "Jeder rechtlich relevante Schritt, manipulationssicher verkettet. Die Einträge nennen Personen nur mit pseudonymen IDs und enthalten keine Inhalte.",
    filter: "Einträge filtern",
    from: "Von (Tag)",
    to: "Bis (Tag, einschließlich)",
    action: "Aktion beginnt mit",
    action_hint: "z. B. consent., objection., retention.run",
    subject: "Person (pseudonyme ID)",
    show: "Anzeigen",
    none: "Keine Einträge in diesem Zeitraum.",
    col_seq: "Nr.",
    col_at: "Zeit",
    col_actor: "Wer",
    col_action: "Aktion",
    col_rule: "Regel",
    col_subject: "Person",
    col_details: "Angaben",
    limited: "Es werden die neuesten 200 Einträge gezeigt; schränken Sie den Zeitraum ein, um ältere zu sehen.",
    verify: "Kette prüfen",
    intact: "Die Protokollkette ist unverändert.",
    entries_checked: "Einträge geprüft",
    checkpoints: "signierte Prüfpunkte passen",
    anchored: "durch einen Prüfpunkt abgesichert bis Eintrag",
    not_anchored: "Noch kein Prüfpunkt: Nehmen Sie einen und bewahren Sie ihn außerhalb von hoheit auf.",
    broken: "Die Protokollkette ist beschädigt. Ab diesem Eintrag ist sie nicht mehr nachweisbar unverändert:",
    checkpoint: "Prüfpunkt nehmen und herunterladen",
    checkpoint_hint: "Ein mit Ed25519 signierter Stand der Kette. Bewahren Sie ihn außerhalb von hoheit auf: Eine spätere Änderung oder Kürzung des Protokolls davor wird damit erkennbar.",
    key: "Öffentlicher Schlüssel",
    key_hint: "Bewahren Sie ihn außerhalb von hoheit auf; mit ihm lässt sich jeder Prüfpunkt ohne hoheit prüfen.",
    key_download: "Schlüssel herunterladen (PEM)",
};

const EN: Texts = Texts {
    title: "Audit log",
    intro: "Every compliance-relevant step, chained so that tampering shows. Entries name people by pseudonymous ids only and hold no content.",
    filter: "Filter entries",
    from: "From (day)",
    to: "To (day, inclusive)",
    action: "Action starts with",
    action_hint: "e.g. consent., objection., retention.run",
    subject: "Person (pseudonymous id)",
    show: "Show",
    none: "No entries in this period.",
    col_seq: "No.",
    col_at: "Time",
    col_actor: "Who",
    col_action: "Action",
    col_rule: "Rule",
    col_subject: "Person",
    col_details: "Details",
    limited: "The newest 200 entries are shown; narrow the period to see older ones.",
    verify: "Verify the chain",
    intact: "The audit chain is unchanged.",
    entries_checked: "entries verified",
    checkpoints: "signed checkpoints match",
    anchored: "anchored by a checkpoint up to entry",
    not_anchored: "No checkpoint yet: take one and keep it outside hoheit.",
    broken: "The audit chain is broken. From this entry on it can no longer be shown to be unchanged:",
    checkpoint: "Take and download a checkpoint",
    checkpoint_hint: "A state of the chain signed with Ed25519. Keep it outside hoheit: a later change or truncation of the log before it becomes detectable.",
    key: "Public key",
    key_hint: "Keep it outside hoheit; with it, anyone can check a checkpoint without hoheit.",
    key_download: "Download the key (PEM)",
};

const fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::De => &DE,
        Lang::En => &EN,
    }
}

/// The filter (all optional) and `verify=1`.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    verify: Option<String>,
}

struct Row {
    seq: u64,
    at: String,
    actor: String,
    action: String,
    rule: String,
    subject: Option<String>,
    name: Option<String>,
    details: String,
}

/// The verification's result in words.
struct Verdict {
    ok: bool,
    text: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "console_audit.html")]
struct Page {
    l: Layout,
    t: &'static Texts,
    q: AuditQuery,
    rows: Vec<Row>,
    limited: bool,
    verdict: Option<Verdict>,
    key: String,
}

fn verdict(t: &Texts, state: &ChainState) -> Verdict {
    match state {
        ChainState::Intact { entries, checkpoints, anchored } => {
            let anchor = if *anchored == 0 { t.not_anchored.to_owned() } else { format!("{} {anchored}.", t.anchored) };
            Verdict {
                ok: true,
                text: format!(
                    "{} {entries} {}, {checkpoints} {}; {anchor}",
                    t.intact, t.entries_checked, t.checkpoints
                ),
            }
        }
        ChainState::Broken { seq, what } => Verdict { ok: false, text: format!("{} {seq} ({what}).", t.broken) },
    }
}

/// `GET /console/audit`: entries by time, action and subject; `verify=1` verifies the chain.
pub(crate) async fn audit_page(State(state): State<WebState>, client: Client, Query(q): Query<AuditQuery>) -> Response {
    let signed = match enter(&state, &client, Action::ReadAudit).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(desk) = state.desk() else { return see_other("/signin") };
    let lang = signed.lang();
    let t = texts(lang);
    let tenant = signed.principal.tenant;
    let zone = &state.settings().time_zone;
    let subject = match q.subject.trim() {
        "" => None,
        s => match s.parse::<CandidateId>() {
            Ok(id) => Some(id),
            Err(_) => {
                let e = UseCaseError::Invalid("the person is not a pseudonymous id".into());
                return refused(&state, &signed, client.path, "/console/audit", &e);
            }
        },
    };
    let filter = AuditFilter {
        subject,
        from: zone.start_of_day(&q.from),
        // inclusive: up to the start of the next day
        to: zone.start_of_day(&q.to).map(|d| d + time::Duration::days(1)),
        action: Some(q.action.trim().to_owned()).filter(|a| !a.is_empty()),
        limit: PAGE + 1,
    };
    let mut entries = match desk.entries(tenant, &filter).await {
        Ok(e) => e,
        Err(e) => return refused(&state, &signed, client.path, "/console", &e),
    };
    let limited = entries.len() > PAGE;
    entries.truncate(PAGE);
    let verdict = if q.verify.is_some() {
        match desk.verify(tenant).await {
            Ok(s) => Some(verdict(t, &s)),
            Err(e) => return refused(&state, &signed, client.path, "/console/audit", &e),
        }
    } else {
        None
    };
    // names only for the DPO, inside the tenant; an erased person stays a pseudonym
    let mut names = std::collections::HashMap::new();
    if signed.principal.role == hoheit_domain::actor::Role::Dpo
        && let Some(app) = state.app()
    {
        let x = crate::inbox::texts(lang);
        for subject in entries.iter().filter_map(|e| e.subject) {
            if names.contains_key(&subject) {
                continue;
            }
            let name = match app.candidate(tenant, subject).await {
                Ok(c) if !c.is_erased() => Some(crate::inbox::display_name(&c, x)),
                Ok(_) | Err(_) => None,
            };
            names.insert(subject, name);
        }
    }
    let rows = entries
        .into_iter()
        .map(|e| Row {
            name: e.subject.and_then(|s| names.get(&s).cloned().flatten()),
            seq: e.seq,
            at: zone.date_time(lang, e.at),
            actor: e.actor,
            action: e.action,
            rule: e.rule.unwrap_or_default(),
            subject: e.subject.map(|s| s.to_string()),
            details: e.details.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "),
        })
        .collect();
    Page { l: signed_layout(&state, &signed, client.path), t, q, rows, limited, verdict, key: desk.public_key_pem() }
        .into_response()
}

/// `POST /console/audit/checkpoint`: signs and keeps a checkpoint and downloads it.
pub(crate) async fn audit_checkpoint(
    State(state): State<WebState>,
    client: Client,
    Form(form): Form<TokenForm>,
) -> Response {
    let signed = match signed_post(&state, &client, &form.csrf_token).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !Action::ReadAudit.allows(signed.principal.role) {
        return crate::identity::forbidden(signed.lang());
    }
    let Some(desk) = state.desk() else { return see_other("/signin") };
    match desk.checkpoint(signed.principal.tenant).await {
        Ok(json) => super::attachment(json, "application/json", "hoheit-audit-checkpoint.json"),
        Err(e) => refused(&state, &signed, "/console/audit".to_owned(), "/console/audit", &e),
    }
}

/// `GET /console/audit/public-key.pem`.
pub(crate) async fn audit_public_key(State(state): State<WebState>, client: Client) -> Response {
    if let Err(r) = enter(&state, &client, Action::ReadAudit).await {
        return r;
    }
    let Some(desk) = state.desk() else { return see_other("/signin") };
    super::attachment(desk.public_key_pem(), "application/x-pem-file", "hoheit-audit-public-key.pem")
}
