//! The retention policy and retention runs (R23-R28).

use axum::Json;
use axum::extract::Query;
use hoheit_domain::retention::RetentionSettings;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use super::{ApiJson, Caller, can};
use crate::error::{ApiResult, ErrorBody};
use crate::state::AppState;

/// The routes of this resource (relative to `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    resource_routes![(get_retention, put_retention), run_retention]
}

fn retention_dto(r: &RetentionSettings) -> RetentionPolicyDto {
    RetentionPolicyDto {
        erase_after_months: r.erase_after_months,
        claims_window_months: r.claims_window_months,
        talent_pool_months: r.talent_pool_months,
        archive_after_days: r.archive_after_days,
        process_end_after_inactive_months: Some(r.process_end_after_inactive_months),
    }
}

/// The retention policy.
#[utoipa::path(get, path = "/retention-policy", tag = "retention",
    responses((status = 200, body = RetentionPolicyDto)), security(("bearer" = [])))]
pub async fn get_retention(caller: Caller<can::ReadRetentionPolicy>) -> ApiResult<Json<RetentionPolicyDto>> {
    let config = caller.state.app.tenant_config(caller.tenant).await?;
    Ok(Json(retention_dto(&config.tenant.retention)))
}

/// Changes the retention policy (ranges of RULES.md); every candidate is re-evaluated at the next run.
#[utoipa::path(put, path = "/retention-policy", tag = "retention", request_body = RetentionPolicyDto,
    responses((status = 200, body = RetentionPolicyDto), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn put_retention(
    caller: Caller<can::ChangeRetentionPolicy>,
    ApiJson(body): ApiJson<RetentionPolicyDto>,
) -> ApiResult<Json<RetentionPolicyDto>> {
    let config = caller.state.app.tenant_config(caller.tenant).await?;
    let retention = RetentionSettings {
        erase_after_months: body.erase_after_months,
        claims_window_months: body.claims_window_months,
        talent_pool_months: body.talent_pool_months,
        archive_after_days: body.archive_after_days,
        process_end_after_inactive_months: body
            .process_end_after_inactive_months
            .unwrap_or(config.tenant.retention.process_end_after_inactive_months),
    };
    let t = &config.tenant;
    let updated = caller
        .state
        .app
        .update_settings(
            caller.tenant,
            caller.actor,
            retention,
            t.messaging.clone(),
            t.privacy_contact.clone(),
            t.privacy_notice_url.clone(),
        )
        .await?;
    Ok(Json(retention_dto(&updated.retention)))
}

/// `?dry_run=true|false`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct RunQuery {
    /// Only count (default false).
    #[serde(default)]
    pub dry_run: bool,
}

/// Runs retention now (R28): restricts and erases what is due; `dry_run=true` only counts.
#[utoipa::path(post, path = "/retention/run", tag = "retention", params(RunQuery),
    responses((status = 200, body = RetentionRunResponse)), security(("bearer" = [])))]
pub async fn run_retention(
    caller: Caller<can::RunRetention>,
    Query(q): Query<RunQuery>,
) -> ApiResult<Json<RetentionRunResponse>> {
    let counts = caller.state.app.run_retention(caller.tenant, caller.actor, q.dry_run).await?;
    if !q.dry_run {
        caller.state.metrics.retention("restricted", counts.restricted);
        caller.state.metrics.retention("erased", counts.erased);
    }
    Ok(Json(RetentionRunResponse {
        dry_run: q.dry_run,
        examined: counts.examined,
        restricted: counts.restricted,
        erased: counts.erased,
        held: counts.held,
    }))
}

/// Retention policy (R23-R28).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionPolicyDto {
    /// Erase this many months after the process ended (3-6).
    pub erase_after_months: u32,
    /// Legal-claims window after a rejection, in months (2-6, at most erase_after_months).
    pub claims_window_months: u32,
    /// Talent-pool consent duration in months (1-24).
    pub talent_pool_months: u32,
    /// Restrict after this many days without activity (7-730), or null for off.
    pub archive_after_days: Option<u32>,
    /// A process with no recorded end counts as ended this many months after the last activity
    /// (3-12, default 6); the erase period then runs (R24). Omitted in a `PUT`: unchanged.
    #[serde(default)]
    pub process_end_after_inactive_months: Option<u32>,
}

/// Retention run counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionRunResponse {
    /// Whether it only previewed.
    pub dry_run: bool,
    /// Candidates examined.
    pub examined: u64,
    /// Restricted.
    pub restricted: u64,
    /// Erased.
    pub erased: u64,
    /// Kept because of a legal hold.
    pub held: u64,
}
