//! `/console/retention`: the retention policy with its allowed ranges (RULES.md R23-R28), the
//! dry run as a list (what the runs of the coming days would restrict or erase, when, and by
//! which rule; pseudonymous ids only), "run now" after a confirmation, and the past runs with
//! their counts (from the audit log).

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use hoheit_domain::access::Action;
use hoheit_domain::candidate::{ErasureReason, RestrictionReason};
use hoheit_domain::retention::{RetentionDecision, RetentionSettings};
use hoheit_domain::usecases::UseCaseError;
use serde::Deserialize;

use super::{enter, refused};
use crate::WebState;
use crate::desk::AuditFilter;
use crate::i18n::Lang;
use crate::identity::{Client, Signed, forbidden, see_other, signed_layout, signed_post};
use crate::pages::Layout;

#[derive(Debug)]
pub(crate) struct Texts {
    title: &'static str,
    intro: &'static str,
    policy: &'static str,
    erase_after: &'static str,
    claims_window: &'static str,
    talent_pool: &'static str,
    archive_after: &'static str,
    inactive_end: &'static str,
    range: &'static str,
    save: &'static str,
    saved: &'static str,
    preview: &'static str,
    preview_intro: &'static str,
    days: &'static str,
    show: &'static str,
    nothing: &'static str,
    col_person: &'static str,
    col_action: &'static str,
    col_when: &'static str,
    col_rule: &'static str,
    next_run: &'static str,
    run: &'static str,
    run_what: &'static str,
    run_confirm: &'static str,
    ran: &'static str,
    runs: &'static str,
    no_runs: &'static str,
    col_at: &'static str,
    col_counts: &'static str,
    dry: &'static str,
    must_confirm: &'static str,
    decision: fn(RetentionDecision) -> &'static str,
}

const DE: Texts = Texts {
    title: "Aufbewahrung und Löschung",
    intro: "hoheit wendet die Fristen selbst an: täglich, und wann immer Sie es hier anstoßen. Eingeschränkte Daten kann niemand mehr lesen oder nutzen; gelöschte sind fort.",
    policy: "Fristen",
    erase_after: "Löschen, Monate nach Ende des Verfahrens (R24)",
    claims_window: "Frist für Ansprüche nach einer Absage (AGG), Monate (R31)",
    talent_pool: "Talentpool-Einwilligung gilt, Monate (R9)",
    archive_after: "Einschränken nach Tagen ohne Aktivität (R25; leer: aus)",
    inactive_end: "Verfahren gilt als beendet nach Monaten ohne Aktivität (R24)",
    range: "erlaubt",
    save: "Fristen speichern",
    saved: "Die Fristen sind gespeichert; jede Person wird beim nächsten Lauf neu bewertet.",
    preview: "Probelauf",
    preview_intro: "Was die Läufe der kommenden Tage einschränken oder löschen würden, wann und nach welcher Regel. Es wird nichts verändert.",
    days: "Tage voraus",
    show: "Anzeigen",
    nothing: "In diesem Zeitraum wird nichts eingeschränkt oder gelöscht.",
    col_person: "Person (pseudonyme ID)",
    col_action: "Was",
    col_when: "Wann",
    col_rule: "Regel",
    next_run: "beim nächsten Lauf",
    run: "Jetzt ausführen",
    run_what: "Schränkt ein und löscht jetzt alles, was fällig ist. Gelöschte Daten lassen sich nicht wiederherstellen.",
    run_confirm: "Ich habe die Liste geprüft und möchte jetzt ausführen.",
    ran: "Der Lauf ist abgeschlossen: geprüft / eingeschränkt / gelöscht / wegen Legal Hold behalten:",
    runs: "Bisherige Läufe",
    no_runs: "Im letzten Jahr lief keine Löschung.",
    col_at: "Zeit",
    col_counts: "geprüft / eingeschränkt / gelöscht / behalten",
    dry: "Probelauf",
    must_confirm: "Bitte bestätigen Sie, dass Sie die Liste geprüft haben.",
    decision: decision_de,
};

const EN: Texts = Texts {
    title: "Retention and erasure",
    intro: "hoheit applies the periods itself: daily, and whenever you start a run here. Restricted data can no longer be read or used by anyone; erased data is gone.",
    policy: "Periods",
    erase_after: "Erase, months after the process ended (R24)",
    claims_window: "Window for claims after a rejection (AGG), months (R31)",
    talent_pool: "Talent-pool consent lasts, months (R9)",
    archive_after: "Restrict after days without activity (R25; empty: off)",
    inactive_end: "A process counts as ended after months without activity (R24)",
    range: "allowed",
    save: "Save the periods",
    saved: "The periods are saved; every person is evaluated again at the next run.",
    preview: "Dry run",
    preview_intro: "What the runs of the coming days would restrict or erase, when, and by which rule. Nothing is changed.",
    days: "Days ahead",
    show: "Show",
    nothing: "Nothing is restricted or erased in this period.",
    col_person: "Person (pseudonymous id)",
    col_action: "What",
    col_when: "When",
    col_rule: "Rule",
    next_run: "at the next run",
    run: "Run now",
    run_what: "Restricts and erases everything that is due, now. Erased data cannot be restored.",
    run_confirm: "I have checked the list and want to run now.",
    ran: "The run is done: examined / restricted / erased / kept for a legal hold:",
    runs: "Past runs",
    no_runs: "No retention run in the last year.",
    col_at: "Time",
    col_counts: "examined / restricted / erased / kept",
    dry: "dry run",
    must_confirm: "Please confirm that you checked the list.",
    decision: decision_en,
};

const fn decision_de(d: RetentionDecision) -> &'static str {
    match d {
        RetentionDecision::Keep => "behalten",
        RetentionDecision::Restrict { reason: RestrictionReason::Inactivity } => "einschränken: keine Aktivität",
        RetentionDecision::Restrict { reason: RestrictionReason::SubjectRequest } => {
            "einschränken: auf Verlangen der Person"
        }
        RetentionDecision::Restrict { reason: RestrictionReason::ErasureDeferred } => {
            "einschränken: Löschung nach Ablauf der AGG-Frist"
        }
        RetentionDecision::Erase { reason: ErasureReason::RetentionExpired } => {
            "löschen: Frist nach Verfahrensende abgelaufen"
        }
        RetentionDecision::Erase { reason: ErasureReason::SubjectRequest } => "löschen: auf Verlangen der Person",
        RetentionDecision::Erase { reason: ErasureReason::TalentPoolEnded } => {
            "löschen: Talentpool-Einwilligung beendet"
        }
    }
}

const fn decision_en(d: RetentionDecision) -> &'static str {
    match d {
        RetentionDecision::Keep => "keep",
        RetentionDecision::Restrict { reason: RestrictionReason::Inactivity } => "restrict: no activity",
        RetentionDecision::Restrict { reason: RestrictionReason::SubjectRequest } => {
            "restrict: at the person's request"
        }
        RetentionDecision::Restrict { reason: RestrictionReason::ErasureDeferred } => {
            "restrict: erased when the AGG window ends"
        }
        RetentionDecision::Erase { reason: ErasureReason::RetentionExpired } => "erase: period after the process ended",
        RetentionDecision::Erase { reason: ErasureReason::SubjectRequest } => "erase: at the person's request",
        RetentionDecision::Erase { reason: ErasureReason::TalentPoolEnded } => "erase: talent-pool consent ended",
    }
}

const fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::De => &DE,
        Lang::En => &EN,
    }
}

struct Field {
    name: &'static str,
    label: &'static str,
    value: String,
    min: u32,
    max: u32,
    required: bool,
}

struct Item {
    candidate: String,
    action: &'static str,
    when: String,
    rule: &'static str,
}

struct Run {
    at: String,
    actor: String,
    dry: bool,
    counts: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "console_retention.html")]
struct Page {
    l: Layout,
    t: &'static Texts,
    fields: Vec<Field>,
    may_change: bool,
    may_run: bool,
    days: i64,
    items: Vec<Item>,
    runs: Vec<Run>,
    notice: Option<String>,
}

/// `?days=` (the dry run's horizon, 0-365, default 30).
#[derive(Debug, Deserialize, Default)]
pub(crate) struct PreviewQuery {
    #[serde(default)]
    days: Option<i64>,
    #[serde(default)]
    done: Option<String>,
}

fn fields(t: &Texts, r: &RetentionSettings) -> Vec<Field> {
    let f = |name, label, value: String, min, max, required| Field { name, label, value, min, max, required };
    vec![
        f("erase_after_months", t.erase_after, r.erase_after_months.to_string(), 3, 6, true),
        f("claims_window_months", t.claims_window, r.claims_window_months.to_string(), 2, 6, true),
        f("talent_pool_months", t.talent_pool, r.talent_pool_months.to_string(), 1, 24, true),
        f(
            "archive_after_days",
            t.archive_after,
            r.archive_after_days.map(|d| d.to_string()).unwrap_or_default(),
            7,
            730,
            false,
        ),
        f(
            "process_end_after_inactive_months",
            t.inactive_end,
            r.process_end_after_inactive_months.to_string(),
            3,
            12,
            true,
        ),
    ]
}

async fn render(state: &WebState, signed: &Signed, path: String, days: i64, notice: Option<String>) -> Response {
    let Some(app) = state.app() else { return see_other("/signin") };
    let lang = signed.lang();
    let t = texts(lang);
    let p = &signed.principal;
    let config = match app.tenant_config(p.tenant).await {
        Ok(c) => c,
        Err(e) => return refused(state, signed, path, "/console", &e),
    };
    let preview = match app.retention_preview(p.tenant, p.actor(), time::Duration::days(days)).await {
        Ok(items) => items,
        Err(e) => return refused(state, signed, path, "/console", &e),
    };
    let now = app.clock().now();
    let zone = &state.settings().time_zone;
    let items = preview
        .iter()
        .map(|i| Item {
            candidate: i.candidate.to_string(),
            action: (t.decision)(i.decision),
            when: if i.at <= now { t.next_run.to_owned() } else { zone.date(lang, i.at) },
            rule: i.rule.as_str(),
        })
        .collect();
    let runs = match state.desk() {
        Some(desk) => {
            let filter = AuditFilter {
                from: Some(now - time::Duration::days(365)),
                action: Some("retention.run".to_owned()),
                limit: 20,
                ..AuditFilter::default()
            };
            desk.entries(p.tenant, &filter).await.unwrap_or_default()
        }
        None => Vec::new(),
    };
    let runs = runs
        .into_iter()
        .map(|e| {
            let value =
                |key: &str| e.details.iter().find(|(k, _)| k == key).map_or("0", |(_, v)| v.as_str()).to_owned();
            Run {
                at: zone.date_time(lang, e.at),
                dry: value("dry_run") == "true",
                counts: ["examined", "restricted", "erased", "held"].map(value).join(" / "),
                actor: e.actor,
            }
        })
        .collect();
    Page {
        l: signed_layout(state, signed, path),
        t,
        fields: fields(t, &config.tenant.retention),
        may_change: Action::ChangeRetentionPolicy.allows(p.role),
        may_run: Action::RunRetention.allows(p.role),
        days,
        items,
        runs,
        notice,
    }
    .into_response()
}

/// `GET /console/retention?days=30`.
pub(crate) async fn retention_page(
    State(state): State<WebState>,
    client: Client,
    Query(q): Query<PreviewQuery>,
) -> Response {
    let signed = match enter(&state, &client, Action::ReadRetentionPolicy).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let notice = (q.done.as_deref() == Some("saved")).then(|| texts(signed.lang()).saved.to_owned());
    render(&state, &signed, client.path, q.days.unwrap_or(30).clamp(0, 365), notice).await
}

/// The policy form.
#[derive(Debug, Deserialize)]
pub(crate) struct PolicyForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    erase_after_months: String,
    #[serde(default)]
    claims_window_months: String,
    #[serde(default)]
    talent_pool_months: String,
    #[serde(default)]
    archive_after_days: String,
    #[serde(default)]
    process_end_after_inactive_months: String,
}

/// `POST /console/retention/policy` (the domain checks role and ranges).
pub(crate) async fn retention_policy(
    State(state): State<WebState>,
    client: Client,
    Form(form): Form<PolicyForm>,
) -> Response {
    let signed = match signed_post(&state, &client, &form.csrf_token).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(app) = state.app() else { return see_other("/signin") };
    let back = "/console/retention";
    let number =
        |v: &str| v.trim().parse::<u32>().map_err(|_| UseCaseError::Invalid("a period is not a number".into()));
    let settings = (|| {
        Ok::<_, UseCaseError>(RetentionSettings {
            erase_after_months: number(&form.erase_after_months)?,
            claims_window_months: number(&form.claims_window_months)?,
            talent_pool_months: number(&form.talent_pool_months)?,
            archive_after_days: match form.archive_after_days.trim() {
                "" => None,
                v => Some(number(v)?),
            },
            process_end_after_inactive_months: number(&form.process_end_after_inactive_months)?,
        })
    })();
    let p = &signed.principal;
    let result = match settings {
        Ok(settings) => app.change_retention_policy(p.tenant, p.actor(), settings).await.map(|_| ()),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => see_other("/console/retention?done=saved"),
        Err(e) => refused(&state, &signed, back.to_owned(), back, &e),
    }
}

/// The run form.
#[derive(Debug, Deserialize)]
pub(crate) struct RunForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    understood: Option<String>,
}

/// `POST /console/retention/run`: a real run, after the confirmation; the page says what it did.
pub(crate) async fn retention_run(
    State(state): State<WebState>,
    client: Client,
    Form(form): Form<RunForm>,
) -> Response {
    let signed = match signed_post(&state, &client, &form.csrf_token).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(app) = state.app() else { return see_other("/signin") };
    let back = "/console/retention";
    let t = texts(signed.lang());
    // the scheduler runs as the system: the role is checked here, before the use case
    if !Action::RunRetention.allows(signed.principal.role) {
        return forbidden(signed.lang());
    }
    if form.understood.is_none() {
        return refused(&state, &signed, back.to_owned(), back, &UseCaseError::Invalid(t.must_confirm.into()));
    }
    let p = &signed.principal;
    match app.run_retention(p.tenant, p.actor(), false).await {
        Ok(c) => {
            let notice = format!("{} {} / {} / {} / {}", t.ran, c.examined, c.restricted, c.erased, c.held);
            render(&state, &signed, back.to_owned(), 30, Some(notice)).await
        }
        Err(e) => refused(&state, &signed, back.to_owned(), back, &e),
    }
}
