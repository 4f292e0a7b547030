//! Legal holds across the tenant's candidates: the list of holds due for review (R26).

use std::collections::HashMap;

use axum::Json;
use axum::extract::Query;
use hoheit_domain::ports::Clock;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::{Caller, can, fmt_time};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// The routes of this resource (relative to `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    resource_routes![due_legal_holds]
}

/// A hold in force whose review date is reached (the case reference is not shown here).
#[derive(Debug, Serialize, ToSchema)]
pub struct DueHoldView {
    /// Hold id (release it with `DELETE /candidates/{id}/legal-holds/{hold}`).
    pub id: String,
    /// `claim_asserted`, `authority_inquiry` or `other`.
    pub reason: String,
    /// Set.
    pub set_at: String,
    /// Review date (reached).
    pub review_at: String,
}

/// A candidate with legal holds due for review.
#[derive(Debug, Serialize, ToSchema)]
pub struct DueLegalHoldView {
    /// Candidate.
    pub candidate_id: String,
    /// The earliest review date among its holds in force.
    pub review_at: String,
    /// Its holds in force whose review date is reached.
    pub holds: Vec<DueHoldView>,
}

/// `GET /api/v1/legal-holds?due=true`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DueLegalHolds {
    /// The time the list was made.
    pub now: String,
    /// Candidates with holds due for review, earliest review first.
    pub legal_holds: Vec<DueLegalHoldView>,
}

/// Legal holds due for review (R26; admin, DPO): every candidate with a hold in force whose
/// review date is reached, earliest first. Only `due=true` is supported: without it, or with
/// another value, 400 `invalid_input`.
#[utoipa::path(get, path = "/legal-holds", tag = "candidates",
    params(("due" = bool, Query, description = "must be `true`: list the holds due for review")),
    responses((status = 200, body = DueLegalHolds), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn due_legal_holds(
    caller: Caller<can::ManageLegalHolds>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<DueLegalHolds>> {
    if query.get("due").map(String::as_str) != Some("true") {
        return Err(ApiError::invalid("only due=true is supported: GET /api/v1/legal-holds?due=true"));
    }
    let now = caller.state.clock.now();
    let mut legal_holds = Vec::new();
    for due in caller.state.queries.due_legal_holds(caller.tenant, now).await? {
        // admin and DPO may read the candidate; the hold ids are in its sealed state
        let candidate = caller.state.app.candidate(caller.tenant, due.candidate).await?;
        let mut holds: Vec<_> = candidate.holds.iter().filter(|h| h.is_active() && h.review_at <= now).collect();
        holds.sort_by_key(|h| h.review_at);
        // the stored date is truncated to microseconds: the sealed one is exact
        let Some(first) = holds.first() else { continue };
        legal_holds.push(DueLegalHoldView {
            candidate_id: due.candidate.to_string(),
            review_at: fmt_time(first.review_at),
            holds: holds
                .iter()
                .map(|h| DueHoldView {
                    id: h.id.to_string(),
                    reason: h.reason.as_str().to_owned(),
                    set_at: fmt_time(h.set_at),
                    review_at: fmt_time(h.review_at),
                })
                .collect(),
        });
    }
    Ok(Json(DueLegalHolds { now: fmt_time(now), legal_holds }))
}
