//! The audit log for the DPO: verify, signed checkpoints, the public key, entries (R34).

use axum::Json;
use axum::extract::{Query, State};
use hoheit_domain::ports::Clock;
use hoheit_persistence::VerifyOutcome;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;

use super::{Caller, can, parse_time};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// The routes of this resource (relative to `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    resource_routes![verify, checkpoint, public_key, entries]
}

/// Verifies the tenant's audit chain against every checkpoint handed out.
#[utoipa::path(get, path = "/audit/verify", tag = "audit",
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn verify(caller: Caller<can::ReadAudit>) -> ApiResult<Json<serde_json::Value>> {
    let outcome = caller.state.platform.verify_audit(caller.tenant, &caller.state.signer.public_key()).await?;
    let ok = matches!(outcome, VerifyOutcome::Ok(_));
    let mut body = serde_json::to_value(&outcome).map_err(|_| ApiError::internal())?;
    if let Some(o) = body.as_object_mut() {
        o.insert("ok".into(), serde_json::json!(ok));
    }
    Ok(Json(body))
}

/// A signed checkpoint of the current head (ed25519). Keep it: a later rewrite or truncation of
/// the log before it becomes detectable. Also stored.
#[utoipa::path(get, path = "/audit/checkpoint", tag = "audit",
    responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn checkpoint(caller: Caller<can::ReadAudit>) -> ApiResult<Json<serde_json::Value>> {
    let signed =
        caller.state.platform.checkpoint(caller.tenant, &caller.state.signer, caller.state.clock.now()).await?;
    let json = signed.to_json().map_err(|_| ApiError::internal())?;
    serde_json::from_str(&json).map(Json).map_err(|_| ApiError::internal())
}

/// The public key that verifies checkpoints offline (base64, hex and PEM).
#[utoipa::path(get, path = "/audit/public-key", tag = "audit",
    responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn public_key(
    State(state): State<AppState>,
    _caller: Caller<can::ReadAudit>,
) -> ApiResult<Json<serde_json::Value>> {
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
#[utoipa::path(get, path = "/audit/entries", tag = "audit", params(EntriesQuery),
    responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn entries(
    caller: Caller<can::ReadAudit>,
    Query(q): Query<EntriesQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let subject =
        q.subject.as_deref().map(|s| s.parse().map_err(|_| ApiError::invalid("subject is not an id"))).transpose()?;
    let entries = caller
        .state
        .platform
        .audit_entries(
            caller.tenant,
            subject,
            parse_time(q.from.as_deref(), "from")?,
            parse_time(q.to.as_deref(), "to")?,
            q.limit.unwrap_or(1000).min(100_000),
        )
        .await?;
    Ok(Json(serde_json::json!({ "entries": entries })))
}
