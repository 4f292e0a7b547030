//! The subject-request register with deadlines, extensions and fulfilment (R29-R31), the Art. 15/20 export and Art. 17 erasure.

use std::collections::HashMap;

use axum::Json;
use axum::extract::Query;
use axum::http::StatusCode;
use hoheit_domain::consent::CaptureChannel;
use hoheit_domain::ids::{CandidateId, SubjectRequestId, TenantId};
use hoheit_domain::ports::Clock;
use hoheit_domain::ports::StoreError;
use hoheit_domain::subject_request::{
    ExportRefusal, Fulfilment, SubjectRequest, SubjectRequestKind, SubjectRequestStatus, export_sha256,
};
use hoheit_domain::tenant::Actor;
use hoheit_domain::usecases::{Answer, ErasureOutcome, UseCaseError};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, Caller, Id, IdResponse, can, fmt_time, parse_time, path_id};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// The routes of this resource (relative to `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(subject_requests, open_subject_request))
        .routes(routes!(due_subject_requests))
        .routes(routes!(subject_request))
        .routes(routes!(extend_subject_request))
        .routes(routes!(fulfil_subject_request))
        .routes(routes!(close_subject_request))
        .routes(routes!(export))
        .routes(routes!(erasure))
}

/// "Due soon" in the register and the gauge: due within this many days.
pub const DUE_SOON_DAYS: i64 = 7;

/// The subject-request register (R29): every request with its due date.
#[utoipa::path(get, path = "/subject-requests", tag = "subject rights",
    responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn subject_requests(caller: Caller<can::HandleSubjectRequests>) -> ApiResult<Json<serde_json::Value>> {
    let now = caller.state.clock.now();
    let requests = caller.state.app.subject_requests(caller.tenant, None).await?;
    let items: Vec<serde_json::Value> = requests
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("overdue".into(), serde_json::json!(r.is_overdue(now)));
            }
            v
        })
        .collect();
    Ok(Json(serde_json::json!({ "subject_requests": items })))
}

/// Records a subject request received by any channel; due in one calendar month.
#[utoipa::path(post, path = "/subject-requests", tag = "subject rights", request_body = OpenSubjectRequest,
    responses((status = 201, body = IdResponse), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn open_subject_request(
    caller: Caller<can::HandleSubjectRequests>,
    ApiJson(body): ApiJson<OpenSubjectRequest>,
) -> ApiResult<(StatusCode, Json<IdResponse>)> {
    let kind = SubjectRequestKind::parse(&body.kind)?;
    let candidate = body.candidate_id.as_deref().map(|c| path_id(c, "candidate")).transpose()?;
    let request = caller
        .state
        .app
        .open_subject_request(
            caller.tenant,
            caller.actor,
            candidate,
            kind,
            CaptureChannel::parse(&body.channel)?,
            parse_time(body.received_at.as_deref(), "received_at")?,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(IdResponse { id: request.id.to_string() })))
}

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
    /// Candidates with a legal hold due for review (R26): list them with
    /// `GET /legal-holds?due=true`.
    pub legal_hold_reviews_due: usize,
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
#[utoipa::path(get, path = "/subject-requests/due", tag = "subject rights",
    params(("within_days" = Option<i64>, Query, description = "due-soon horizon in days (default 7)")),
    responses((status = 200, body = DueSubjectRequests), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn due_subject_requests(
    caller: Caller<can::HandleSubjectRequests>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Json<DueSubjectRequests>> {
    let within = match query.get("within_days") {
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=90).contains(d))
            .ok_or_else(|| ApiError::invalid("within_days must be a whole number of days from 1 to 90"))?,
        None => DUE_SOON_DAYS,
    };
    let now = caller.state.clock.now();
    let mut requests = caller.state.app.subject_requests(caller.tenant, None).await?;
    requests.sort_by_key(|r| r.due_at);
    let overdue = requests.iter().filter(|r| r.is_overdue(now)).map(|r| request_view(r, now)).collect();
    let due_soon =
        requests.iter().filter(|r| r.is_due_soon(now, Duration::days(within))).map(|r| request_view(r, now)).collect();
    let legal_hold_reviews_due = caller.state.queries.due_legal_holds(caller.tenant, now).await?.len();
    Ok(Json(DueSubjectRequests { within_days: within, overdue, due_soon, legal_hold_reviews_due }))
}

/// One request of the register.
#[utoipa::path(get, path = "/subject-requests/{request}", tag = "subject rights",
    params(("request" = String, Path, description = "subject request id")),
    responses((status = 200, body = SubjectRequestView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn subject_request(
    caller: Caller<can::HandleSubjectRequests>,
    Id(id): Id<SubjectRequestId>,
) -> ApiResult<Json<SubjectRequestView>> {
    let request = caller.state.app.subject_request(caller.tenant, id).await?;
    Ok(Json(request_view(&request, caller.state.clock.now())))
}

/// Extends a request by 1 or 2 months; only with the candidate told inside the first month
/// (Art. 12(3), R29): otherwise 400 `invalid_input`.
#[utoipa::path(post, path = "/subject-requests/{request}/extension", tag = "subject rights",
    request_body = ExtendSubjectRequest, params(("request" = String, Path, description = "subject request id")),
    responses((status = 200, body = SubjectRequestView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn extend_subject_request(
    caller: Caller<can::HandleSubjectRequests>,
    Id(id): Id<SubjectRequestId>,
    ApiJson(body): ApiJson<ExtendSubjectRequest>,
) -> ApiResult<Json<SubjectRequestView>> {
    let notified_at =
        parse_time(body.notified_at.as_deref(), "notified_at")?.unwrap_or_else(|| caller.state.clock.now());
    let request =
        caller.state.app.extend_subject_request(caller.tenant, caller.actor, id, body.months, notified_at).await?;
    Ok(Json(request_view(&request, caller.state.clock.now())))
}

/// Answers a request and closes it with a link to what answered it: `export` produces the
/// Art. 15/20 document (audited read) and records its SHA-256; `erasure` erases (or, inside the
/// legal-claims window, restricts and records the request as refused in part with
/// `legal_claims_window`, R31); `objection` / `restriction` link the one in effect.
#[utoipa::path(post, path = "/subject-requests/{request}/fulfilment", tag = "subject rights",
    request_body = FulfilSubjectRequest, params(("request" = String, Path, description = "subject request id")),
    responses((status = 200, body = FulfilmentResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn fulfil_subject_request(
    caller: Caller<can::HandleSubjectRequests>,
    Id(id): Id<SubjectRequestId>,
    ApiJson(body): ApiJson<FulfilSubjectRequest>,
) -> ApiResult<Json<FulfilmentResponse>> {
    let (answer, export) = match body.answer.as_str() {
        "export" => {
            let request = caller.state.app.subject_request(caller.tenant, id).await?;
            let candidate = request.export_subject().map_err(|refusal| match refusal {
                ExportRefusal::WrongKind => ApiError::invalid(refusal.to_string()),
                ExportRefusal::NotOpen | ExportRefusal::NoCandidate => ApiError::conflict(refusal.to_string()),
            })?;
            let doc = build_export(&caller.state, caller.tenant, caller.actor, candidate).await?;
            let bytes = serde_json::to_vec(&doc).map_err(|_| ApiError::internal())?;
            let sha256 = export_sha256(&bytes);
            (Answer::Export { sha256 }, Some(doc))
        }
        "erasure" => (Answer::Erasure, None),
        "objection" => (Answer::Objection, None),
        "restriction" => (Answer::Restriction, None),
        _ => return Err(ApiError::invalid("answer must be export, erasure, objection or restriction")),
    };
    let answered = match caller.state.app.answer_subject_request(caller.tenant, caller.actor, id, answer).await {
        Ok(a) => a,
        Err(hoheit_domain::usecases::UseCaseError::Refused(r)) => {
            caller.state.metrics.refusal(r.code.as_str());
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
        subject_request: request_view(&answered.request, caller.state.clock.now()),
        export,
        erasure,
    }))
}

/// Closes a request with a code, without a linked export or erasure (an unidentified
/// requester: `no_data_held`; `refused_in_part` with a reason such as `manifestly_unfounded`).
#[utoipa::path(post, path = "/subject-requests/{request}/closure", tag = "subject rights",
    request_body = CloseSubjectRequest, params(("request" = String, Path, description = "subject request id")),
    responses((status = 200, body = SubjectRequestView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn close_subject_request(
    caller: Caller<can::HandleSubjectRequests>,
    Id(id): Id<SubjectRequestId>,
    ApiJson(body): ApiJson<CloseSubjectRequest>,
) -> ApiResult<Json<SubjectRequestView>> {
    let fulfilled = match body.status.as_str() {
        "fulfilled" => true,
        "refused_in_part" => false,
        _ => return Err(ApiError::invalid("status must be fulfilled or refused_in_part")),
    };
    let request =
        caller.state.app.close_subject_request(caller.tenant, caller.actor, id, fulfilled, &body.code).await?;
    Ok(Json(request_view(&request, caller.state.clock.now())))
}

/// The Art. 15/20 export document, as `GET /candidates/{id}/export` returns it (and the
/// console's download, [`crate::desk`]): the use case's export (its read audited) plus the
/// candidate's audit entries.
pub(crate) async fn export_document(
    state: &AppState,
    tenant: TenantId,
    actor: Actor,
    candidate: CandidateId,
) -> Result<serde_json::Value, UseCaseError> {
    let corrupt = |_| UseCaseError::Store(StoreError::Corrupt("export not serialisable".into()));
    let export = state.app.export_subject(tenant, actor, candidate).await?;
    let audit = state.platform.audit_entries(tenant, Some(candidate), None, None, 100_000).await?;
    let mut doc = serde_json::to_value(&export).map_err(corrupt)?;
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("audit_entries".into(), serde_json::to_value(&audit).map_err(corrupt)?);
        obj.insert("format".into(), serde_json::json!("hoheit-subject-export"));
    }
    Ok(doc)
}

async fn build_export(
    state: &AppState,
    tenant: TenantId,
    actor: Actor,
    candidate: CandidateId,
) -> ApiResult<serde_json::Value> {
    Ok(export_document(state, tenant, actor, candidate).await?)
}

/// The Art. 15/20 export: one schema-versioned JSON document with everything, including the
/// candidate's audit entries. The read is audited.
#[utoipa::path(get, path = "/candidates/{id}/export", tag = "subject rights",
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn export(
    caller: Caller<can::HandleSubjectRequests>,
    Id(id): Id<CandidateId>,
) -> ApiResult<Json<serde_json::Value>> {
    build_export(&caller.state, caller.tenant, caller.actor, id).await.map(Json)
}

/// An erasure request (Art. 17): 200 erased, or 409 `legal_claims_window` with the date when the
/// data will be erased (restricted meanwhile, R31); a legal hold answers 409 `legal_hold`.
#[utoipa::path(post, path = "/candidates/{id}/erasure", tag = "subject rights",
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 200, body = ErasureResponse), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn erasure(
    caller: Caller<can::HandleSubjectRequests>,
    Id(id): Id<CandidateId>,
) -> ApiResult<Json<ErasureResponse>> {
    match caller.state.app.request_erasure(caller.tenant, caller.actor, id).await? {
        ErasureOutcome::Erased | ErasureOutcome::AlreadyErased => Ok(Json(ErasureResponse { status: "erased".into() })),
        ErasureOutcome::Deferred { until } => {
            let mut e = ApiError::new(
                StatusCode::CONFLICT,
                "legal_claims_window",
                "the legal-claims window after the rejection is still open: the data is restricted now and erased when it ends",
            );
            e.extra = Some(serde_json::json!({ "erase_at": fmt_time(until) }));
            Err(e)
        }
    }
}

/// Answer to an erasure request.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureResponse {
    /// `erased` (also when it was erased before).
    pub status: String,
}

/// `POST /api/v1/subject-requests`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenSubjectRequest {
    /// `access`, `erasure`, `restriction`, `objection`, `portability`.
    pub kind: String,
    /// The candidate, if identified.
    pub candidate_id: Option<String>,
    /// How it arrived.
    pub channel: String,
    /// When it was received (default now).
    pub received_at: Option<String>,
}
