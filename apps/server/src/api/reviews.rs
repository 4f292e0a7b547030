//! The objection review queue with reasons, audited reads of the message, decisions (R16).

use axum::Json;
use hoheit_domain::access::sees_restricted;
use hoheit_domain::candidate::Lifecycle;
use hoheit_domain::ids::{CandidateId, ReviewId};
use hoheit_domain::objection::DismissReason;
use hoheit_domain::ports::Clock;
use hoheit_domain::usecases::ReviewDecision;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::candidates::CandidateView;
use super::{ApiJson, Caller, Id, can, fmt_time};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// The routes of this resource (relative to `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    resource_routes![reviews, review, review_message, decide_review]
}

/// Open objection reviews (R16), oldest due first, with overdue flags.
#[utoipa::path(get, path = "/reviews", tag = "objections",
    responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn reviews(caller: Caller<can::ReadCandidates>) -> ApiResult<Json<serde_json::Value>> {
    let now = caller.state.clock.now();
    let mut items = Vec::new();
    for open in caller.state.queries.open_reviews(caller.tenant).await? {
        let (candidate, due) = (open.candidate, open.due_at);
        let c = caller.state.app.candidate(caller.tenant, candidate).await?;
        // restricted candidates are hidden from normal lists (R25); admin and DPO see them
        if !matches!(c.lifecycle, Lifecycle::Active) && !sees_restricted(caller.role) {
            continue;
        }
        if let Some(review) = &c.objection().review {
            items.push(serde_json::json!({
                "candidate_id": candidate.to_string(),
                "review_id": review.id.to_string(),
                "matched": review.matched,
                "opened_at": fmt_time(review.opened_at),
                "due_at": fmt_time(due),
                "overdue": now >= due,
            }));
        }
    }
    Ok(Json(serde_json::json!({ "reviews": items })))
}

/// Why the classifier sent a message to review (never the text).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewReason {
    /// Always `possible_objection` (tier 2 of the classifier).
    pub classification: String,
    /// The classifier's pattern id, phrase or `keyword_in_sentence:<stem>` that matched (a fixed
    /// string, never the message text).
    pub matched: String,
}

/// An open objection review.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewDetail {
    /// Candidate.
    pub candidate_id: String,
    /// Review.
    pub review_id: String,
    /// The message under review (read it through `.../message`, audited).
    pub message_id: String,
    /// Why it is under review.
    pub reason: ReviewReason,
    /// When the candidate sent the message.
    pub opened_at: String,
    /// When the review is due.
    pub due_at: String,
    /// Whether it is past due.
    pub overdue: bool,
}

/// The message under review (content; the read is audited).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewMessage {
    /// Review.
    pub review_id: String,
    /// Message.
    pub message_id: String,
    /// When the candidate sent it.
    pub sent_at: Option<String>,
    /// Message kind.
    pub kind: String,
    /// The content as received.
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
}

/// `POST /api/v1/candidates/{id}/reviews/{review}/decision`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideReview {
    /// `confirm` (apply the objection, as if tier 1) or `dismiss` (unblock).
    pub decision: String,
    /// For `dismiss`, required: `negated_keyword`, `unrelated_meaning`, `candidate_confirmed` or
    /// `question_only`. Audited with the reviewer.
    pub reason: Option<String>,
}

/// One open review with its reason and due time (R16). No message text.
#[utoipa::path(get, path = "/candidates/{id}/reviews/{review}", tag = "objections",
    params(("id" = String, Path, description = "candidate id"), ("review" = String, Path, description = "review id")),
    responses((status = 200, body = ReviewDetail), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn review(
    caller: Caller<can::ReadCandidates>,
    Id((id, review)): Id<(CandidateId, ReviewId)>,
) -> ApiResult<Json<ReviewDetail>> {
    let (_, pending) = caller.state.app.review(caller.tenant, id, review).await?;
    let now = caller.state.clock.now();
    Ok(Json(ReviewDetail {
        candidate_id: id.to_string(),
        review_id: pending.id.to_string(),
        message_id: pending.message.to_string(),
        reason: ReviewReason { classification: "possible_objection".into(), matched: pending.matched.clone() },
        opened_at: fmt_time(pending.opened_at),
        due_at: fmt_time(pending.due_at),
        overdue: now >= pending.due_at,
    }))
}

/// The message under review; the read is audited with the reader (`content.read`,
/// `review_message`, R33). Restricted candidates: admin and DPO only.
#[utoipa::path(get, path = "/candidates/{id}/reviews/{review}/message", tag = "objections",
    params(("id" = String, Path, description = "candidate id"), ("review" = String, Path, description = "review id")),
    responses((status = 200, body = ReviewMessage), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn review_message(
    caller: Caller<can::ReadContent>,
    Id((id, review)): Id<(CandidateId, ReviewId)>,
) -> ApiResult<Json<ReviewMessage>> {
    let message = caller.state.app.read_review_message(caller.tenant, caller.actor, id, review).await?;
    Ok(Json(ReviewMessage {
        review_id: review.to_string(),
        message_id: message.id.to_string(),
        sent_at: message.provider_at.map(fmt_time),
        kind: message.kind.as_str().to_owned(),
        content: serde_json::to_value(message.body.expose()).map_err(|_| ApiError::internal())?,
    }))
}

/// Decides a review: `confirm` applies the objection (suppression, consent withdrawn, queued
/// messages cancelled, subject request opened); `dismiss` unblocks, audited with the reviewer
/// and the reason code.
#[utoipa::path(post, path = "/candidates/{id}/reviews/{review}/decision", tag = "objections",
    request_body = DecideReview,
    params(("id" = String, Path, description = "candidate id"), ("review" = String, Path, description = "review id")),
    responses((status = 200, body = CandidateView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn decide_review(
    caller: Caller<can::DecideReviews>,
    Id((id, review)): Id<(CandidateId, ReviewId)>,
    ApiJson(body): ApiJson<DecideReview>,
) -> ApiResult<Json<CandidateView>> {
    let decision = match (body.decision.as_str(), body.reason.as_deref()) {
        ("confirm", None) => ReviewDecision::Confirm,
        ("confirm", Some(_)) => return Err(ApiError::invalid("a confirmation takes no reason")),
        ("dismiss", Some(reason)) => ReviewDecision::Dismiss(DismissReason::parse(reason)?),
        ("dismiss", None) => return Err(ApiError::invalid("a dismissal needs a reason code")),
        _ => return Err(ApiError::invalid("decision must be confirm or dismiss")),
    };
    let candidate = caller.state.app.decide_review(caller.tenant, caller.actor, id, review, decision).await?;
    let config = caller.state.app.tenant_config(caller.tenant).await?;
    Ok(Json(CandidateView::new(&candidate, &config.tenant, caller.state.clock.now())))
}
