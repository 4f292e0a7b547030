//! What the CLI prints for an operator's scripts: the accountability documents and the due
//! subject requests, the same as the API answers.

use hoheit_domain::accountability::{NoticeLanguage, RecordOfProcessing, privacy_notice_section};
use hoheit_domain::ids::TenantId;
use hoheit_domain::ports::Clock as _;
use time::Duration;

use crate::api::fmt_time;
use crate::state::AppState;

/// `hoheit records-of-processing`: the Art. 30 record of a tenant (JSON or Markdown).
pub async fn records_of_processing(state: &AppState, tenant: TenantId, markdown: bool) -> Result<String, String> {
    let config = state.app.tenant_config(tenant).await.map_err(|e| e.to_string())?;
    let record = RecordOfProcessing::generate(&config, state.clock.now());
    if markdown { Ok(record.to_markdown()) } else { serde_json::to_string_pretty(&record).map_err(|e| e.to_string()) }
}

/// `hoheit privacy-notice`: the WhatsApp section of a tenant's privacy notice.
pub async fn privacy_notice(state: &AppState, tenant: TenantId, language: &str) -> Result<String, String> {
    let language = NoticeLanguage::parse(language).map_err(|_| "language must be de or en".to_owned())?;
    let config = state.app.tenant_config(tenant).await.map_err(|e| e.to_string())?;
    Ok(privacy_notice_section(&config, language))
}

/// `hoheit subject-requests due`: overdue and due-soon requests of a tenant, one per line
/// (ids, kinds, dates; no personal data), by due date. Returns the lines and whether any is
/// overdue.
pub async fn due_subject_requests(
    state: &AppState,
    tenant: TenantId,
    within_days: i64,
) -> Result<(Vec<String>, bool), String> {
    let now = state.clock.now();
    let due = state
        .queries
        .due_subject_requests(tenant, now, Duration::days(within_days))
        .await
        .map_err(|e| e.to_string())?;
    let overdue = !due.overdue.is_empty();
    let mut labelled: Vec<_> =
        due.overdue.iter().map(|r| ("OVERDUE", r)).chain(due.due_soon.iter().map(|r| ("due soon", r))).collect();
    labelled.sort_by_key(|(_, r)| r.due_at);
    let lines = labelled
        .into_iter()
        .map(|(label, r)| {
            format!(
                "{label:8}  {}  {:12}  {:10}  due {}  received {}",
                r.id,
                r.kind.as_str(),
                r.status.as_str(),
                fmt_time(r.due_at),
                fmt_time(r.received_at)
            )
        })
        .collect();
    Ok((lines, overdue))
}
