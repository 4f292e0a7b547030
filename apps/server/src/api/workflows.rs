//! The workflows a DPO and a recruiting team need every week (issue 8): the objection review
//! queue with reasons and audited reads (R16, R33), the subject-request register with
//! deadlines, extensions and fulfilment links (R18, R29-R31), template governance (R15, R21),
//! media in and out (R27, R33), and the accountability documents generated from the
//! configuration (R2, R35). Paths are relative to `/api/v1`.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine as _;
use hoheit_domain::accountability::{NoticeLanguage, RecordOfProcessing, privacy_notice_section};
use hoheit_domain::ids::{CandidateId, ChannelId, MediaId, ReviewId, SubjectRequestId};
use hoheit_domain::media::{MediaLimits, MediaRecord, OutboundDocument};
use hoheit_domain::objection::DismissReason;
use hoheit_domain::ports::Clock;
use hoheit_domain::subject_request::{Fulfilment, SubjectRequest, SubjectRequestStatus};
use hoheit_domain::template::Template;
use hoheit_domain::tenant::{Actor, Role};
use hoheit_domain::usecases::{Answer, ErasureOutcome, ReviewDecision};
use hoheit_domain::values::{LanguageCode, Pii, TemplateName};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;

use super::dto::{CandidateView, QueuedResponse, fmt_time, parse_time};
use super::{ApiJson, path_id};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

const STAFF: &[Role] = &[Role::Admin, Role::Dpo, Role::Recruiter];
const RECRUITING: &[Role] = &[Role::Admin, Role::Recruiter];
const ADMIN_DPO: &[Role] = &[Role::Admin, Role::Dpo];

/// "Due soon" in the register and the gauge: due within this many days.
pub const DUE_SOON_DAYS: i64 = 7;

/// The workflow routes (relative to `/api/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/candidates/{id}/reviews/{review}", get(review))
        .route("/candidates/{id}/reviews/{review}/message", get(review_message))
        .route("/candidates/{id}/reviews/{review}/decision", post(decide_review))
        .route("/subject-requests/due", get(due_subject_requests))
        .route("/subject-requests/{request}", get(subject_request))
        .route("/subject-requests/{request}/extension", post(extend_subject_request))
        .route("/subject-requests/{request}/fulfilment", post(fulfil_subject_request))
        .route("/subject-requests/{request}/closure", post(close_subject_request))
        .route("/channels/{id}/templates", get(list_templates))
        .route("/channels/{id}/templates/{name}/{language}", put(mark_template))
        .route("/candidates/{id}/media", get(list_media))
        .route("/candidates/{id}/media/{media}", get(read_media))
        // documents carry their own, larger limit (checked while reading the body)
        .route("/candidates/{id}/documents", post(send_document).layer(DefaultBodyLimit::disable()))
        .route("/records-of-processing", get(records_of_processing))
        .route("/privacy-notice/whatsapp-section", get(privacy_notice))
}

fn candidate_id(raw: &str) -> Result<CandidateId, ApiError> {
    path_id(raw, "candidate")
}

fn request_id(raw: &str) -> Result<SubjectRequestId, ApiError> {
    path_id(raw, "subject request")
}

// ---------------------------------------------------------------- objection review (R16)

/// Why the classifier sent a message to review (never the text).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewReason {
    /// Always `possible_objection` (tier 2 of the classifier).
    pub classification: String,
    /// The keyword, stem or phrase that matched.
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
#[utoipa::path(get, path = "/api/v1/candidates/{id}/reviews/{review}", tag = "objections",
    params(("id" = String, Path, description = "candidate id"), ("review" = String, Path, description = "review id")),
    responses((status = 200, body = ReviewDetail), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn review(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, review)): Path<(String, String)>,
) -> ApiResult<Json<ReviewDetail>> {
    let tenant = principal.tenant_for(STAFF)?;
    let id = candidate_id(&id)?;
    let review: ReviewId = path_id(&review, "review")?;
    let (_, pending) = state.app.review(tenant, id, review).await?;
    let now = state.clock.now();
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
#[utoipa::path(get, path = "/api/v1/candidates/{id}/reviews/{review}/message", tag = "objections",
    params(("id" = String, Path, description = "candidate id"), ("review" = String, Path, description = "review id")),
    responses((status = 200, body = ReviewMessage), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn review_message(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, review)): Path<(String, String)>,
) -> ApiResult<Json<ReviewMessage>> {
    let tenant = principal.tenant_for(STAFF)?;
    let id = candidate_id(&id)?;
    let review: ReviewId = path_id(&review, "review")?;
    let message = state.app.read_review_message(tenant, principal.actor(), id, review).await?;
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
#[utoipa::path(post, path = "/api/v1/candidates/{id}/reviews/{review}/decision", tag = "objections",
    request_body = DecideReview,
    params(("id" = String, Path, description = "candidate id"), ("review" = String, Path, description = "review id")),
    responses((status = 200, body = CandidateView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn decide_review(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, review)): Path<(String, String)>,
    ApiJson(body): ApiJson<DecideReview>,
) -> ApiResult<Json<CandidateView>> {
    let tenant = principal.tenant_for(STAFF)?;
    let id = candidate_id(&id)?;
    let review: ReviewId = path_id(&review, "review")?;
    let decision = match (body.decision.as_str(), body.reason.as_deref()) {
        ("confirm", None) => ReviewDecision::Confirm,
        ("confirm", Some(_)) => return Err(ApiError::invalid("a confirmation takes no reason")),
        ("dismiss", Some(reason)) => {
            ReviewDecision::Dismiss(DismissReason::parse(reason).map_err(|e| ApiError::invalid(e.to_string()))?)
        }
        ("dismiss", None) => return Err(ApiError::invalid("a dismissal needs a reason code")),
        _ => return Err(ApiError::invalid("decision must be confirm or dismiss")),
    };
    let candidate = state.app.decide_review(tenant, principal.actor(), id, review, decision).await?;
    let config = state.app.tenant_config(tenant).await?;
    Ok(Json(CandidateView::new(&candidate, &config.tenant, state.clock.now())))
}

// ---------------------------------------------------------------- subject requests (R29-R31)

/// What answered a closed request.
#[derive(Debug, Serialize, ToSchema)]
pub struct FulfilmentView {
    /// `export`, `erasure`, `erasure_deferred`, `objection` or `restriction`.
    pub kind: String,
    /// When (the objection's or restriction's own time for those).
    pub at: String,
    /// Export: SHA-256 of the document handed out (canonical compact JSON).
    pub sha256: Option<String>,
    /// Deferred erasure: when retention erases.
    pub erase_at: Option<String>,
}

/// A subject request in the register.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectRequestView {
    /// Id.
    pub id: String,
    /// The candidate, if identified.
    pub candidate_id: Option<String>,
    /// `access`, `erasure`, `restriction`, `objection`, `portability`.
    pub kind: String,
    /// How it arrived.
    pub channel: String,
    /// When it was received.
    pub received_at: String,
    /// When it is due (one calendar month, or extended).
    pub due_at: String,
    /// `open`, `extended`, `fulfilled`, `refused_in_part`.
    pub status: String,
    /// Extended: when the candidate was told.
    pub notified_at: Option<String>,
    /// Closed: when.
    pub closed_at: Option<String>,
    /// Fulfilled: the outcome code.
    pub outcome: Option<String>,
    /// Refused in part: the reason code.
    pub reason: Option<String>,
    /// What answered it.
    pub fulfilment: Option<FulfilmentView>,
    /// Open and past due.
    pub overdue: bool,
    /// Open and due within 7 days.
    pub due_soon: bool,
}

fn fulfilment_view(f: &Fulfilment) -> FulfilmentView {
    let (at, sha256, erase_at) = match f {
        Fulfilment::Export { at, sha256 } => (*at, Some(sha256.clone()), None),
        Fulfilment::ErasureDeferred { at, erase_at } => (*at, None, Some(fmt_time(*erase_at))),
        Fulfilment::Erasure { at } | Fulfilment::Objection { at } | Fulfilment::Restriction { at } => (*at, None, None),
    };
    FulfilmentView { kind: f.as_str().to_owned(), at: fmt_time(at), sha256, erase_at }
}

/// The register's view of a request at `now`.
pub fn request_view(r: &SubjectRequest, now: OffsetDateTime) -> SubjectRequestView {
    let (notified_at, closed_at, outcome, reason) = match &r.status {
        SubjectRequestStatus::Open => (None, None, None, None),
        SubjectRequestStatus::Extended { notified_at } => (Some(fmt_time(*notified_at)), None, None, None),
        SubjectRequestStatus::Fulfilled { at, outcome } => (None, Some(fmt_time(*at)), Some(outcome.clone()), None),
        SubjectRequestStatus::RefusedInPart { at, reason } => (None, Some(fmt_time(*at)), None, Some(reason.clone())),
    };
    SubjectRequestView {
        id: r.id.to_string(),
        candidate_id: r.candidate.map(|c| c.to_string()),
        kind: r.kind.as_str().to_owned(),
        channel: r.channel.as_str().to_owned(),
        received_at: fmt_time(r.received_at),
        due_at: fmt_time(r.due_at),
        status: r.status.as_str().to_owned(),
        notified_at,
        closed_at,
        outcome,
        reason,
        fulfilment: r.fulfilment.as_ref().map(fulfilment_view),
        overdue: r.is_overdue(now),
        due_soon: r.is_due_soon(now, Duration::days(DUE_SOON_DAYS)),
    }
}

/// Overdue and due-soon requests.
#[derive(Debug, Serialize, ToSchema)]
pub struct DueSubjectRequests {
    /// The horizon of "due soon", in days.
    pub within_days: i64,
    /// Open or extended, past due; oldest due first.
    pub overdue: Vec<SubjectRequestView>,
    /// Open or extended, due within the horizon; soonest first.
    pub due_soon: Vec<SubjectRequestView>,
}

/// `POST /api/v1/subject-requests/{request}/extension`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendSubjectRequest {
    /// 1 or 2 months (Art. 12(3)).
    pub months: u32,
    /// When the candidate was told of the extension and why (must be inside the first month;
    /// default now).
    pub notified_at: Option<String>,
}

/// `POST /api/v1/subject-requests/{request}/fulfilment`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FulfilSubjectRequest {
    /// `export` (access, portability: produces the export and records its SHA-256), `erasure`
    /// (erases now, or restricts and defers in the legal-claims window), `objection` or
    /// `restriction` (links the one in effect).
    pub answer: String,
}

/// The outcome of an erasure answering a request.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureView {
    /// `erased`, `already_erased` or `deferred`.
    pub status: String,
    /// Deferred: when retention erases.
    pub erase_at: Option<String>,
}

/// A request answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct FulfilmentResponse {
    /// The request, closed, with the link.
    pub subject_request: SubjectRequestView,
    /// `export`: the document handed out (its SHA-256 is in the request's fulfilment).
    #[schema(value_type = Option<Object>)]
    pub export: Option<serde_json::Value>,
    /// `erasure`: what happened.
    pub erasure: Option<ErasureView>,
}

/// `POST /api/v1/subject-requests/{request}/closure`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseSubjectRequest {
    /// `fulfilled` or `refused_in_part`.
    pub status: String,
    /// A code of `[a-z_]` (`no_data_held`, `identity_not_verified`, `manifestly_unfounded`, ...).
    pub code: String,
}

/// Overdue and due-soon requests (R29); `within_days` sets the horizon (default 7, 1-90).
#[utoipa::path(get, path = "/api/v1/subject-requests/due", tag = "subject rights",
    params(("within_days" = Option<i64>, Query, description = "due-soon horizon in days (default 7)")),
    responses((status = 200, body = DueSubjectRequests), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn due_subject_requests(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<DueSubjectRequests>> {
    let tenant = principal.tenant_for(ADMIN_DPO)?;
    let within = match query.get("within_days") {
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=90).contains(d))
            .ok_or_else(|| ApiError::invalid("within_days must be a whole number of days from 1 to 90"))?,
        None => DUE_SOON_DAYS,
    };
    let now = state.clock.now();
    let mut requests = state.app.subject_requests(tenant, None).await?;
    requests.sort_by_key(|r| r.due_at);
    let overdue = requests.iter().filter(|r| r.is_overdue(now)).map(|r| request_view(r, now)).collect();
    let due_soon =
        requests.iter().filter(|r| r.is_due_soon(now, Duration::days(within))).map(|r| request_view(r, now)).collect();
    Ok(Json(DueSubjectRequests { within_days: within, overdue, due_soon }))
}

/// One request of the register.
#[utoipa::path(get, path = "/api/v1/subject-requests/{request}", tag = "subject rights",
    params(("request" = String, Path, description = "subject request id")),
    responses((status = 200, body = SubjectRequestView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn subject_request(
    State(state): State<AppState>,
    principal: Principal,
    Path(request): Path<String>,
) -> ApiResult<Json<SubjectRequestView>> {
    let tenant = principal.tenant_for(ADMIN_DPO)?;
    let request = state.app.subject_request(tenant, request_id(&request)?).await?;
    Ok(Json(request_view(&request, state.clock.now())))
}

/// Extends a request by 1 or 2 months; only with the candidate told inside the first month
/// (Art. 12(3), R29): otherwise 400 `invalid_input`.
#[utoipa::path(post, path = "/api/v1/subject-requests/{request}/extension", tag = "subject rights",
    request_body = ExtendSubjectRequest, params(("request" = String, Path, description = "subject request id")),
    responses((status = 200, body = SubjectRequestView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn extend_subject_request(
    State(state): State<AppState>,
    principal: Principal,
    Path(request): Path<String>,
    ApiJson(body): ApiJson<ExtendSubjectRequest>,
) -> ApiResult<Json<SubjectRequestView>> {
    let tenant = principal.tenant_for(ADMIN_DPO)?;
    let id = request_id(&request)?;
    let notified_at = parse_time(body.notified_at.as_deref(), "notified_at")?.unwrap_or_else(|| state.clock.now());
    let request = state.app.extend_subject_request(tenant, principal.actor(), id, body.months, notified_at).await?;
    Ok(Json(request_view(&request, state.clock.now())))
}

/// Answers a request and closes it with a link to what answered it: `export` produces the
/// Art. 15/20 document (audited read) and records its SHA-256; `erasure` erases (or, inside the
/// legal-claims window, restricts and records the request as refused in part with
/// `legal_claims_window`, R31); `objection` / `restriction` link the one in effect.
#[utoipa::path(post, path = "/api/v1/subject-requests/{request}/fulfilment", tag = "subject rights",
    request_body = FulfilSubjectRequest, params(("request" = String, Path, description = "subject request id")),
    responses((status = 200, body = FulfilmentResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn fulfil_subject_request(
    State(state): State<AppState>,
    principal: Principal,
    Path(request): Path<String>,
    ApiJson(body): ApiJson<FulfilSubjectRequest>,
) -> ApiResult<Json<FulfilmentResponse>> {
    let tenant = principal.tenant_for(ADMIN_DPO)?;
    let id = request_id(&request)?;
    let (answer, export) = match body.answer.as_str() {
        "export" => {
            let request = state.app.subject_request(tenant, id).await?;
            if !request.status.is_open() {
                return Err(ApiError::conflict("the request is closed or already extended"));
            }
            if !matches!(
                request.kind,
                hoheit_domain::subject_request::SubjectRequestKind::Access
                    | hoheit_domain::subject_request::SubjectRequestKind::Portability
            ) {
                return Err(ApiError::invalid("an export answers access and portability requests"));
            }
            let candidate = request.candidate.ok_or_else(|| ApiError::conflict("the request names no candidate"))?;
            let doc = build_export(&state, tenant, principal.actor(), candidate).await?;
            let bytes = serde_json::to_vec(&doc).map_err(|_| ApiError::internal())?;
            let sha256 = hex::encode(Sha256::digest(&bytes));
            (Answer::Export { sha256 }, Some(doc))
        }
        "erasure" => (Answer::Erasure, None),
        "objection" => (Answer::Objection, None),
        "restriction" => (Answer::Restriction, None),
        _ => return Err(ApiError::invalid("answer must be export, erasure, objection or restriction")),
    };
    let answered = match state.app.answer_subject_request(tenant, principal.actor(), id, answer).await {
        Ok(a) => a,
        Err(hoheit_domain::usecases::UseCaseError::Refused(r)) => {
            state.metrics.refusal(r.code.as_str());
            return Err(hoheit_domain::usecases::UseCaseError::Refused(r).into());
        }
        Err(e) => return Err(e.into()),
    };
    let erasure = answered.erasure.map(|o| match o {
        ErasureOutcome::Erased => ErasureView { status: "erased".into(), erase_at: None },
        ErasureOutcome::AlreadyErased => ErasureView { status: "already_erased".into(), erase_at: None },
        ErasureOutcome::Deferred { until } => {
            ErasureView { status: "deferred".into(), erase_at: Some(fmt_time(until)) }
        }
    });
    Ok(Json(FulfilmentResponse {
        subject_request: request_view(&answered.request, state.clock.now()),
        export,
        erasure,
    }))
}

/// Closes a request with a code, without a linked export or erasure (an unidentified
/// requester: `no_data_held`; `refused_in_part` with a reason such as `manifestly_unfounded`).
#[utoipa::path(post, path = "/api/v1/subject-requests/{request}/closure", tag = "subject rights",
    request_body = CloseSubjectRequest, params(("request" = String, Path, description = "subject request id")),
    responses((status = 200, body = SubjectRequestView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn close_subject_request(
    State(state): State<AppState>,
    principal: Principal,
    Path(request): Path<String>,
    ApiJson(body): ApiJson<CloseSubjectRequest>,
) -> ApiResult<Json<SubjectRequestView>> {
    let tenant = principal.tenant_for(ADMIN_DPO)?;
    let id = request_id(&request)?;
    let fulfilled = match body.status.as_str() {
        "fulfilled" => true,
        "refused_in_part" => false,
        _ => return Err(ApiError::invalid("status must be fulfilled or refused_in_part")),
    };
    let request = state.app.close_subject_request(tenant, principal.actor(), id, fulfilled, &body.code).await?;
    Ok(Json(request_view(&request, state.clock.now())))
}

/// The Art. 15/20 export document, as `GET /candidates/{id}/export` returns it: the use case's
/// export (its read audited) plus the candidate's audit entries.
async fn build_export(
    state: &AppState,
    tenant: hoheit_domain::ids::TenantId,
    actor: Actor,
    candidate: CandidateId,
) -> ApiResult<serde_json::Value> {
    let export = state.app.export_subject(tenant, actor, candidate).await?;
    let audit = state.store.audit_entries(tenant, Some(candidate), None, None, 100_000).await?;
    let mut doc = serde_json::to_value(&export).map_err(|_| ApiError::internal())?;
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("audit_entries".into(), serde_json::to_value(&audit.entries).map_err(|_| ApiError::internal())?);
        obj.insert("format".into(), serde_json::json!("hoheit-subject-export"));
    }
    Ok(doc)
}

// ---------------------------------------------------------------- templates (R15, R21)

/// A synced template.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    /// Channel.
    pub channel_id: String,
    /// Name.
    pub name: String,
    /// Language.
    pub language: String,
    /// `MARKETING`, `UTILITY`, `AUTHENTICATION`.
    pub category: String,
    /// WhatsApp's status at the last sync (`APPROVED`, `PAUSED`, ...). Only `APPROVED` is sent,
    /// checked when asked and again at dispatch.
    pub status: String,
    /// Positional body placeholders.
    pub body_parameters: u8,
    /// Quick-reply buttons.
    pub quick_replies: u8,
    /// Whether the tenant marked it as carrying the Art. 13 / Art. 21(4) notice.
    pub carries_notice: bool,
    /// Whether it is the channel's consent-request template (which must carry the notice).
    pub consent_template: bool,
    /// What it needs that hoheit does not send (named parameters, header or button
    /// parameters); empty when it can be sent.
    pub unsupported: Vec<String>,
    /// The components as WhatsApp returned them.
    #[schema(value_type = Object)]
    pub components: serde_json::Value,
    /// When it was synced.
    pub synced_at: String,
}

/// `PUT /api/v1/channels/{id}/templates/{name}/{language}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkTemplate {
    /// Whether the template's text carries the Art. 13 / Art. 21(4) notice (privacy notice
    /// link and the objection hint).
    pub carries_notice: bool,
}

fn template_view(t: &Template, consent: bool) -> TemplateView {
    let mut unsupported = Vec::new();
    if t.shape.named_body_parameters {
        unsupported.push("named_body_parameters".to_owned());
    }
    if t.shape.header_parameter {
        unsupported.push("header_parameter".to_owned());
    }
    if t.shape.dynamic_buttons > 0 {
        unsupported.push("button_parameters".to_owned());
    }
    TemplateView {
        channel_id: t.channel.to_string(),
        name: t.name.as_str().to_owned(),
        language: t.language.as_str().to_owned(),
        category: t.category.as_str().to_owned(),
        status: t.status.as_str().to_owned(),
        body_parameters: t.body_parameters,
        quick_replies: t.quick_replies,
        carries_notice: t.carries_notice,
        consent_template: consent,
        unsupported,
        components: serde_json::from_str(&t.components_json).unwrap_or(serde_json::Value::Null),
        synced_at: fmt_time(t.synced_at),
    }
}

/// The channel's templates as last synced from 360Dialog (on channel creation, on schedule and
/// with `POST .../templates/sync`).
#[utoipa::path(get, path = "/api/v1/channels/{id}/templates", tag = "channels",
    params(("id" = String, Path, description = "channel id")),
    responses((status = 200, body = [TemplateView]), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_templates(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<TemplateView>>> {
    let tenant = principal.tenant_for(STAFF)?;
    let channel: ChannelId = path_id(&id, "channel")?;
    let config = state.app.tenant_config(tenant).await?;
    let consent = &config.channel(channel).ok_or_else(|| ApiError::not_found("channel"))?.consent_template;
    let mut templates: Vec<TemplateView> = config
        .templates
        .templates()
        .iter()
        .filter(|t| t.channel == channel)
        .map(|t| template_view(t, t.name == consent.name && t.language == consent.language))
        .collect();
    templates.sort_by(|a, b| (&a.name, &a.language).cmp(&(&b.name, &b.language)));
    Ok(Json(templates))
}

/// Marks whether a template carries the Art. 13 / Art. 21(4) notice (admin, DPO; audited as
/// `template.notice_marked`). The consent-request template cannot be unmarked (409). The mark
/// survives syncs.
#[utoipa::path(put, path = "/api/v1/channels/{id}/templates/{name}/{language}", tag = "channels",
    request_body = MarkTemplate,
    params(("id" = String, Path, description = "channel id"), ("name" = String, Path, description = "template name"),
        ("language" = String, Path, description = "template language (de, en_US)")),
    responses((status = 200, body = TemplateView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn mark_template(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, name, language)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<MarkTemplate>,
) -> ApiResult<Json<TemplateView>> {
    let tenant = principal.tenant_for(ADMIN_DPO)?;
    let channel: ChannelId = path_id(&id, "channel")?;
    let name = TemplateName::parse(&name).map_err(|_| ApiError::not_found("template"))?;
    let language = LanguageCode::parse(&language).map_err(|_| ApiError::not_found("template"))?;
    let template = state
        .app
        .mark_template_notice(tenant, principal.actor(), channel, &name, &language, body.carries_notice)
        .await?;
    let config = state.app.tenant_config(tenant).await?;
    let consent = config
        .channel(channel)
        .is_some_and(|c| c.consent_template.name == name && c.consent_template.language == language);
    Ok(Json(template_view(&template, consent)))
}

// ---------------------------------------------------------------- media (R27, R33)

/// A media file (no content).
#[derive(Debug, Serialize, ToSchema)]
pub struct MediaView {
    /// Id (read the file at `.../media/{id}`, audited).
    pub id: String,
    /// The message that carried it.
    pub message_id: String,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// `image`, `document`, `audio`, `video`, `sticker`.
    pub kind: String,
    /// MIME type.
    pub mime_type: Option<String>,
    /// Size in bytes, once stored.
    pub size: Option<u64>,
    /// SHA-256 (hex) of the stored bytes.
    pub sha256: Option<String>,
    /// `pending` (announced, to be fetched), `stored` or `rejected`.
    pub status: String,
    /// Why it was rejected (`integrity_mismatch`, `too_large`, `type_not_allowed`,
    /// `refused_url`, `unavailable`).
    pub rejection: Option<String>,
    /// Created.
    pub created_at: String,
    /// Stored or rejected.
    pub settled_at: Option<String>,
}

fn media_view(m: &MediaRecord) -> MediaView {
    MediaView {
        id: m.id.to_string(),
        message_id: m.message.to_string(),
        direction: match m.direction {
            hoheit_domain::conversation::Direction::Inbound => "inbound",
            hoheit_domain::conversation::Direction::Outbound => "outbound",
        }
        .to_owned(),
        kind: m.kind.as_str().to_owned(),
        mime_type: m.mime_type.clone(),
        size: m.size,
        sha256: m.sha256.clone(),
        status: m.status.as_str().to_owned(),
        rejection: m.rejection.map(|r| r.as_str().to_owned()),
        created_at: fmt_time(m.created_at),
        settled_at: m.settled_at.map(fmt_time),
    }
}

/// `POST /api/v1/candidates/{id}/documents`: a document to send (JSON, the file base64-encoded).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendDocument {
    /// The file name the candidate sees.
    pub filename: String,
    /// `application/pdf`, `text/plain` or an Office format.
    pub mime_type: String,
    /// The file, base64 (standard alphabet).
    pub content_base64: String,
    /// Optional caption (the first message of a conversation gets the notice appended).
    pub caption: Option<String>,
}

/// The candidate's media files, in both directions (metadata only; not a content read).
#[utoipa::path(get, path = "/api/v1/candidates/{id}/media", tag = "messages",
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 200, body = [MediaView]), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_media(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<MediaView>>> {
    let tenant = principal.tenant_for(STAFF)?;
    let files = state.app.media_files(tenant, candidate_id(&id)?).await?;
    Ok(Json(files.iter().map(media_view).collect()))
}

/// A stored media file, as an attachment with its MIME type. The read is audited with the
/// reader (`content.read`, `media`, R33) before the bytes go out; restricted candidates: admin
/// and DPO only. 409 while the file is pending or after it was rejected.
#[utoipa::path(get, path = "/api/v1/candidates/{id}/media/{media}", tag = "messages",
    params(("id" = String, Path, description = "candidate id"), ("media" = String, Path, description = "media id")),
    responses((status = 200, description = "the file", content_type = "application/octet-stream"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn read_media(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, media)): Path<(String, String)>,
) -> ApiResult<Response> {
    let tenant = principal.tenant_for(STAFF)?;
    let media: MediaId = path_id(&media, "media")?;
    let (record, content) = state.app.read_media(tenant, principal.actor(), candidate_id(&id)?, media).await?;
    let mime = record.mime_type.clone().unwrap_or_else(|| "application/octet-stream".to_owned());
    let content_type = HeaderValue::from_str(&mime).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let name = record
        .filename
        .as_ref()
        .map_or_else(|| format!("{}.{}", record.id, record.kind.as_str()), |f| f.expose().clone());
    let disposition = HeaderValue::from_str(&format!("attachment; filename*=UTF-8''{}", percent_encode(&name)))
        .unwrap_or(HeaderValue::from_static("attachment"));
    let mut response = Response::new(Body::from(content.into_inner()));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(response)
}

/// RFC 5987 `filename*` value: everything but the unreserved characters percent-encoded.
const RFC5987: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

fn percent_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, RFC5987).to_string()
}

/// Sends a document (e.g. an interview invitation PDF): decided by the send policy first
/// (202, or 409 with the refusal code and nothing uploaded), then uploaded to 360Dialog's
/// `/media` and sent by its media id, never as a public link; decided again at dispatch. A
/// sealed copy is kept with the candidate's data.
#[utoipa::path(post, path = "/api/v1/candidates/{id}/documents", tag = "messages", request_body = SendDocument,
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 202, body = QueuedResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn send_document(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult<(StatusCode, Json<QueuedResponse>)> {
    let tenant = principal.tenant_for(RECRUITING)?;
    let id = candidate_id(&id)?;
    let max = state.config.media.max_bytes;
    // base64 grows by 4/3, plus room for the other fields
    let limit = usize::try_from(max.saturating_mul(4) / 3 + 16 * 1024).unwrap_or(usize::MAX);
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the document is larger than the limit")
    })?;
    let body: SendDocument = serde_json::from_slice(&bytes)
        .map_err(|_| ApiError::invalid("expected {filename, mime_type, content_base64, caption?} as JSON"))?;
    let content = base64::engine::general_purpose::STANDARD
        .decode(body.content_base64.trim())
        .map_err(|_| ApiError::invalid("content_base64 is not base64"))?;
    let document = OutboundDocument {
        content: Pii::new(content),
        mime_type: body.mime_type,
        filename: Pii::new(body.filename),
        caption: body.caption.filter(|c| !c.trim().is_empty()).map(Pii::new),
    };
    let result = state.app.send_document(tenant, principal.actor(), id, document, MediaLimits { max_bytes: max }).await;
    super::candidates::queued(&state, result)
}

// ---------------------------------------------------------------- accountability (R2, R35)

fn wants_markdown(query: &HashMap<String, String>) -> Result<bool, ApiError> {
    match query.get("format").map(String::as_str) {
        None | Some("json") => Ok(false),
        Some("markdown" | "md") => Ok(true),
        Some(_) => Err(ApiError::invalid("format must be json or markdown")),
    }
}

fn markdown(text: String) -> Response {
    ([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], text).into_response()
}

/// The WhatsApp section of the privacy notice.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrivacyNoticeSection {
    /// `de` or `en`.
    pub language: String,
    /// Always `markdown`.
    pub format: String,
    /// The text.
    pub text: String,
}

/// The tenant's Art. 30 record of processing activities, generated from its configuration:
/// purposes and legal bases, categories of data and data subjects, recipients (the hoheit
/// operator, 360dialog, Meta) with locations and transfer mechanisms, retention rules from the
/// tenant's settings, security measures, and the channels with the DPO's approval. JSON, or
/// Markdown with `format=markdown`.
#[utoipa::path(get, path = "/api/v1/records-of-processing", tag = "accountability",
    params(("format" = Option<String>, Query, description = "json (default) or markdown")),
    responses((status = 200, description = "the record (JSON, or text/markdown)", body = Object),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn records_of_processing(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let tenant = principal.tenant_for(ADMIN_DPO)?;
    let md = wants_markdown(&query)?;
    let config = state.app.tenant_config(tenant).await?;
    let record = RecordOfProcessing::generate(&config, state.clock.now());
    if md {
        return Ok(markdown(record.to_markdown()));
    }
    Ok(Json(record).into_response())
}

/// The WhatsApp paragraph of the tenant's privacy notice (Art. 13, the Art. 21(4) hint),
/// generated from the same configuration: controller, purposes, 360dialog and Meta as
/// processors, the possible US transfer under the Data Privacy Framework, retention periods,
/// the informal right to object and how, withdrawal of consent. `language=de|en`.
#[utoipa::path(get, path = "/api/v1/privacy-notice/whatsapp-section", tag = "accountability",
    params(("language" = Option<String>, Query, description = "de (default) or en"),
        ("format" = Option<String>, Query, description = "json (default) or markdown")),
    responses((status = 200, body = PrivacyNoticeSection), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn privacy_notice(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let tenant = principal.tenant_for(ADMIN_DPO)?;
    let md = wants_markdown(&query)?;
    let language = match query.get("language") {
        Some(l) => NoticeLanguage::parse(l).map_err(|_| ApiError::invalid("language must be de or en"))?,
        None => NoticeLanguage::German,
    };
    let config = state.app.tenant_config(tenant).await?;
    let text = privacy_notice_section(&config, language);
    if md {
        return Ok(markdown(text));
    }
    Ok(Json(PrivacyNoticeSection { language: language.code().to_owned(), format: "markdown".into(), text })
        .into_response())
}

// ---------------------------------------------------------------- metrics and CLI

/// The deadline gauges for `/metrics` (all tenants; no labels, no personal data).
pub async fn gauges(state: &AppState) -> Vec<(&'static str, &'static str, u64)> {
    let now = state.clock.now();
    let counts = match state.store.deadline_counts(now, now + Duration::days(DUE_SOON_DAYS)).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "deadline gauges unavailable");
            return Vec::new();
        }
    };
    vec![
        ("hoheit_objection_reviews_open", "Objection reviews waiting for a decision (R16).", counts.reviews_open),
        ("hoheit_objection_reviews_overdue", "Objection reviews past their due time (R16).", counts.reviews_overdue),
        (
            "hoheit_subject_requests_overdue",
            "Open or extended subject requests past their due date (R29).",
            counts.subject_requests_overdue,
        ),
        (
            "hoheit_subject_requests_due_soon",
            "Open or extended subject requests due within 7 days (R29).",
            counts.subject_requests_due_soon,
        ),
        ("hoheit_media_pending", "Announced media files not fetched yet.", counts.media_pending),
    ]
}

/// `hoheit records-of-processing`: the Art. 30 record of a tenant (JSON or Markdown).
pub async fn cli_records_of_processing(
    state: &AppState,
    tenant: hoheit_domain::ids::TenantId,
    markdown: bool,
) -> Result<String, String> {
    let config = state.app.tenant_config(tenant).await.map_err(|e| e.to_string())?;
    let record = RecordOfProcessing::generate(&config, state.clock.now());
    if markdown { Ok(record.to_markdown()) } else { serde_json::to_string_pretty(&record).map_err(|e| e.to_string()) }
}

/// `hoheit privacy-notice`: the WhatsApp section of a tenant's privacy notice.
pub async fn cli_privacy_notice(
    state: &AppState,
    tenant: hoheit_domain::ids::TenantId,
    language: &str,
) -> Result<String, String> {
    let language = NoticeLanguage::parse(language).map_err(|_| "language must be de or en".to_owned())?;
    let config = state.app.tenant_config(tenant).await.map_err(|e| e.to_string())?;
    Ok(privacy_notice_section(&config, language))
}

/// `hoheit subject-requests due`: overdue and due-soon requests of a tenant, one per line
/// (ids, kinds, dates; no personal data). Returns the lines and whether any is overdue.
pub async fn cli_due_subject_requests(
    state: &AppState,
    tenant: hoheit_domain::ids::TenantId,
    within_days: i64,
) -> Result<(Vec<String>, bool), String> {
    let now = state.clock.now();
    let mut requests = state.app.subject_requests(tenant, None).await.map_err(|e| e.to_string())?;
    requests.sort_by_key(|r| r.due_at);
    let mut lines = Vec::new();
    let mut overdue = false;
    for r in &requests {
        let label = if r.is_overdue(now) {
            overdue = true;
            "OVERDUE"
        } else if r.is_due_soon(now, Duration::days(within_days)) {
            "due soon"
        } else {
            continue;
        };
        lines.push(format!(
            "{label:8}  {}  {:12}  {:10}  due {}  received {}",
            r.id,
            r.kind.as_str(),
            r.status.as_str(),
            fmt_time(r.due_at),
            fmt_time(r.received_at)
        ));
    }
    Ok((lines, overdue))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_percent_encoded_for_content_disposition() {
        assert_eq!(percent_encode("Einladung_Gespräch 1.pdf"), "Einladung_Gespr%C3%A4ch%201.pdf");
        assert_eq!(percent_encode("a-b.c_d~e"), "a-b.c_d~e");
        assert_eq!(percent_encode("\"x\";\r\n/%"), "%22x%22%3B%0D%0A%2F%25");
    }
}
