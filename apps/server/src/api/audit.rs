//! Retention runs and the audit log for the DPO: verify, signed checkpoints, public key, entries.

use axum::Json;
use axum::extract::{Query, State};
use hoheit_domain::ports::Clock;
use hoheit_domain::tenant::Role;
use hoheit_persistence::VerifyOutcome;
use serde::Deserialize;
use utoipa::IntoParams;

use super::dto::{RetentionRunResponse, parse_time};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

const ADMIN_DPO: &[Role] = &[Role::Admin, Role::Dpo];
const DPO: &[Role] = &[Role::Dpo, Role::Admin];

/// `?dry_run=true|false`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct RunQuery {
    /// Only count (default false).
    #[serde(default)]
    pub dry_run: bool,
}

/// Runs retention now (R28): restricts and erases what is due; `dry_run=true` only counts.
#[utoipa::path(post, path = "/api/v1/retention/run", tag = "retention", params(RunQuery),
    responses((status = 200, body = RetentionRunResponse)), security(("bearer" = [])))]
pub async fn run_retention(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<RunQuery>,
) -> ApiResult<Json<RetentionRunResponse>> {
    let tenant = principal.tenant_for(ADMIN_DPO)?;
    let counts = state.app.run_retention(tenant, principal.actor(), q.dry_run).await?;
    if !q.dry_run {
        state.metrics.retention("restricted", counts.restricted);
        state.metrics.retention("erased", counts.erased);
    }
    Ok(Json(RetentionRunResponse {
        dry_run: q.dry_run,
        examined: counts.examined,
        restricted: counts.restricted,
        erased: counts.erased,
        held: counts.held,
    }))
}

/// Verifies the tenant's audit chain against every checkpoint handed out.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn verify(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<serde_json::Value>> {
    let tenant = principal.tenant_for(DPO)?;
    let checkpoints = state.store.checkpoints(tenant).await?;
    let outcome = state.store.verify_audit(tenant, checkpoints, &state.signer.public_key()).await?;
    let ok = matches!(outcome, VerifyOutcome::Ok(_));
    let mut body = serde_json::to_value(&outcome).map_err(|_| ApiError::internal())?;
    if let Some(o) = body.as_object_mut() {
        o.insert("ok".into(), serde_json::json!(ok));
    }
    Ok(Json(body))
}

/// A signed checkpoint of the current head (ed25519). Keep it: a later rewrite or truncation of
/// the log before it becomes detectable. Also stored.
#[utoipa::path(get, path = "/api/v1/audit/checkpoint", tag = "audit",
    responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn checkpoint(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<serde_json::Value>> {
    let tenant = principal.tenant_for(DPO)?;
    let head = state.store.audit_head(tenant).await?;
    let signed = state.signer.sign(&head, state.clock.now());
    state.store.save_checkpoint(&signed).await?;
    let json = signed.to_json().map_err(|_| ApiError::internal())?;
    serde_json::from_str(&json).map(Json).map_err(|_| ApiError::internal())
}

/// The public key that verifies checkpoints offline (base64, hex and PEM).
#[utoipa::path(get, path = "/api/v1/audit/public-key", tag = "audit",
    responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn public_key(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<serde_json::Value>> {
    principal.tenant_for(DPO)?;
    let key = state.signer.public_key();
    Ok(Json(serde_json::json!({
        "algorithm": "ed25519",
        "base64": key.to_base64(),
        "hex": key.to_hex(),
        "pem": key.to_pem(),
    })))
}

/// `?subject=&from=&to=&limit=`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct EntriesQuery {
    /// Candidate id.
    pub subject: Option<String>,
    /// From (RFC 3339, inclusive).
    pub from: Option<String>,
    /// To (RFC 3339, exclusive).
    pub to: Option<String>,
    /// At most (default 1000).
    pub limit: Option<u64>,
}

/// Audit entries by subject and/or time range (no personal data in them).
#[utoipa::path(get, path = "/api/v1/audit/entries", tag = "audit", params(EntriesQuery),
    responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn entries(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<EntriesQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let tenant = principal.tenant_for(DPO)?;
    let subject =
        q.subject.as_deref().map(|s| s.parse().map_err(|_| ApiError::invalid("subject is not an id"))).transpose()?;
    let read = state
        .store
        .audit_entries(
            tenant,
            subject,
            parse_time(q.from.as_deref(), "from")?,
            parse_time(q.to.as_deref(), "to")?,
            q.limit.unwrap_or(1000).min(100_000),
        )
        .await?;
    Ok(Json(serde_json::json!({ "entries": read.entries })))
}
