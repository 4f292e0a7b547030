//! Candidates: creation, status, consent, objection, process end, legal holds, messages,
//! export (Art. 15/20), erasure (Art. 17), objection reviews and subject requests.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use hoheit_domain::candidate::{HoldReason, Lifecycle, ProcessEndReason};
use hoheit_domain::consent::{CaptureChannel, ConsentMethod, ConsentMethodError, ConsentMethodKind, Purpose};
use hoheit_domain::ids::{CandidateId, ChannelId, HoldId};
use hoheit_domain::ports::Clock;
use hoheit_domain::subject_request::SubjectRequestKind;
use hoheit_domain::tenant::Role;
use hoheit_domain::usecases::{ConsentInput, ErasureOutcome, MessageRequest, NewCandidate, ObjectionInput};
use hoheit_domain::values::{LanguageCode, PhoneNumber, PhoneNumberError, Pii, RegionCode, TemplateName};

use super::dto::{
    CandidateView, CreateCandidate, EndProcess, ErasureResponse, IdResponse, OpenSubjectRequest, QueuedResponse,
    RecordConsent, RecordObjection, RecordWithdrawal, SendMessage, SetHold, fmt_time, parse_time,
};
use super::{ApiJson, path_id};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;
use serde::Deserialize;
use utoipa::IntoParams;

const STAFF: &[Role] = &[Role::Admin, Role::Dpo, Role::Recruiter];
const RECRUITING: &[Role] = &[Role::Admin, Role::Recruiter];
const ADMIN_DPO: &[Role] = &[Role::Admin, Role::Dpo];

fn candidate_id(raw: &str) -> Result<CandidateId, ApiError> {
    path_id(raw, "candidate")
}

fn capture(value: &str) -> Result<CaptureChannel, ApiError> {
    CaptureChannel::parse(value).map_err(|e| ApiError::invalid(e.to_string()))
}

fn nonempty(value: Option<String>) -> Option<Pii<String>> {
    value.filter(|v| !v.trim().is_empty()).map(Pii::new)
}

async fn view(state: &AppState, principal: &Principal, id: CandidateId) -> ApiResult<Json<CandidateView>> {
    let tenant = principal.tenant_for(STAFF)?;
    let config = state.app.tenant_config(tenant).await?;
    let candidate = state.app.candidate(tenant, id).await?;
    Ok(Json(CandidateView::new(&candidate, &config.tenant, state.clock.now())))
}

/// Creates a candidate (recruiter, admin). A number on the suppression list brings its objection.
#[utoipa::path(post, path = "/api/v1/candidates", tag = "candidates", request_body = CreateCandidate,
    responses((status = 201, body = IdResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateCandidate>,
) -> ApiResult<(StatusCode, Json<IdResponse>)> {
    let tenant = principal.tenant_for(RECRUITING)?;
    let region = body
        .region
        .as_deref()
        .map(RegionCode::parse)
        .transpose()
        .map_err(|e| ApiError::invalid(format!("region: {e}")))?;
    // a national number ("0170 1234567") is read in the request's or the tenant's region
    let phone = match PhoneNumber::parse(&body.phone) {
        Err(PhoneNumberError::MissingCountryCode) => {
            let region = match region {
                Some(region) => region,
                None => state.app.tenant_config(tenant).await?.tenant.messaging.default_region,
            };
            PhoneNumber::parse_in(&body.phone, region)
        }
        parsed => parsed,
    }
    .map_err(|e| ApiError::invalid(format!("phone: {e}")))?;
    let channel: ChannelId = body.channel_id.parse().map_err(|_| ApiError::invalid("channel_id is not an id"))?;
    let language = body
        .language
        .as_deref()
        .map(LanguageCode::parse)
        .transpose()
        .map_err(|e| ApiError::invalid(format!("language: {e}")))?;
    let input = NewCandidate { phone, name: nonempty(body.name), channel, language };
    let candidate = state.app.create_candidate(tenant, principal.actor(), input).await?;
    Ok((StatusCode::CREATED, Json(IdResponse { id: candidate.id.to_string() })))
}

/// The candidate's status: consent per purpose, objection, window, process, erase date, holds.
#[utoipa::path(get, path = "/api/v1/candidates/{id}", tag = "candidates",
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 200, body = CandidateView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<CandidateView>> {
    view(&state, &principal, candidate_id(&id)?).await
}

/// Sends the consent-request template (R10): 202, or 409 with the refusal code.
#[utoipa::path(post, path = "/api/v1/candidates/{id}/consent-request", tag = "candidates",
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 202, body = QueuedResponse), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn consent_request(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<QueuedResponse>)> {
    let tenant = principal.tenant_for(RECRUITING)?;
    let result = state.app.request_consent(tenant, principal.actor(), candidate_id(&id)?).await;
    queued(&state, result)
}

/// 202 with the queued message, or the refusal (counted in the metrics).
pub(super) fn queued(
    state: &AppState,
    result: Result<hoheit_domain::usecases::Queued, hoheit_domain::usecases::UseCaseError>,
) -> ApiResult<(StatusCode, Json<QueuedResponse>)> {
    match result {
        Ok(q) => {
            state.dispatch_wake.notify_one();
            Ok((
                StatusCode::ACCEPTED,
                Json(QueuedResponse { message_id: q.message.to_string(), status: "queued".into() }),
            ))
        }
        Err(hoheit_domain::usecases::UseCaseError::Refused(r)) => {
            state.metrics.refusal(r.code.as_str());
            Err(hoheit_domain::usecases::UseCaseError::Refused(r).into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Records consent captured outside WhatsApp, with evidence (R4, R5).
#[utoipa::path(post, path = "/api/v1/candidates/{id}/consents", tag = "candidates", request_body = RecordConsent,
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 200, body = CandidateView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn record_consent(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RecordConsent>,
) -> ApiResult<Json<CandidateView>> {
    let tenant = principal.tenant_for(STAFF)?;
    let id = candidate_id(&id)?;
    let purpose = Purpose::parse(&body.purpose).map_err(|e| ApiError::invalid(e.to_string()))?;
    let kind = ConsentMethodKind::parse(&body.method).map_err(|e| match e {
        ConsentMethodError::NotAffirmative(_) => ApiError::invalid(format!("method: {e} (R4)")),
        ConsentMethodError::Unknown => ApiError::invalid("method must be web_form, signed_form or recorded_verbal"),
    })?;
    let method = match kind {
        ConsentMethodKind::WebForm => ConsentMethod::WebForm {
            form_id: body
                .form_id
                .filter(|f| !f.trim().is_empty())
                .ok_or_else(|| ApiError::invalid("form_id is required for web_form"))?,
            ip: Pii::new(body.ip.ok_or_else(|| ApiError::invalid("ip is required for web_form"))?),
            user_agent: Pii::new(
                body.user_agent.ok_or_else(|| ApiError::invalid("user_agent is required for web_form"))?,
            ),
        },
        ConsentMethodKind::SignedForm => ConsentMethod::SignedForm {
            document_ref: Pii::new(
                body.document_ref.ok_or_else(|| ApiError::invalid("document_ref is required for signed_form"))?,
            ),
        },
        ConsentMethodKind::RecordedVerbal => {
            ConsentMethod::RecordedVerbal { staff: principal.id, note: nonempty(body.note) }
        }
        ConsentMethodKind::ButtonReply | ConsentMethodKind::OptInKeyword => {
            return Err(ApiError::invalid("WhatsApp consents are recorded from the candidate's reply"));
        }
    };
    let input = ConsentInput {
        purpose,
        method,
        capture_channel: capture(&body.capture_channel)?,
        texts_shown: None,
        given_at: parse_time(body.given_at.as_deref(), "given_at")?,
    };
    state.app.record_consent(tenant, principal.actor(), id, input).await?;
    view(&state, &principal, id).await
}

/// Records a withdrawal received by mail or phone (R8).
#[utoipa::path(post, path = "/api/v1/candidates/{id}/withdrawals", tag = "candidates", request_body = RecordWithdrawal,
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 200, body = CandidateView)), security(("bearer" = [])))]
pub async fn record_withdrawal(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RecordWithdrawal>,
) -> ApiResult<Json<CandidateView>> {
    let tenant = principal.tenant_for(STAFF)?;
    let id = candidate_id(&id)?;
    let purpose = Purpose::parse(&body.purpose).map_err(|e| ApiError::invalid(e.to_string()))?;
    state.app.record_withdrawal(tenant, principal.actor(), id, purpose, capture(&body.channel)?).await?;
    view(&state, &principal, id).await
}

/// Records an objection received by any channel (R11, R22). Takes effect at once.
#[utoipa::path(post, path = "/api/v1/candidates/{id}/objections", tag = "candidates", request_body = RecordObjection,
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 200, body = CandidateView)), security(("bearer" = [])))]
pub async fn record_objection(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RecordObjection>,
) -> ApiResult<Json<CandidateView>> {
    let tenant = principal.tenant_for(STAFF)?;
    let id = candidate_id(&id)?;
    let input = ObjectionInput {
        channel: capture(&body.channel)?,
        note: nonempty(body.note),
        received_at: parse_time(body.received_at.as_deref(), "received_at")?,
    };
    state.app.record_objection(tenant, principal.actor(), id, input).await?;
    view(&state, &principal, id).await
}

/// Ends the application process; the retention clock starts (R24).
#[utoipa::path(post, path = "/api/v1/candidates/{id}/process-end", tag = "candidates", request_body = EndProcess,
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 200, body = CandidateView), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn end_process(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EndProcess>,
) -> ApiResult<Json<CandidateView>> {
    let tenant = principal.tenant_for(STAFF)?;
    let id = candidate_id(&id)?;
    let reason = ProcessEndReason::parse(&body.reason).map_err(|e| ApiError::invalid(e.to_string()))?;
    state.app.end_process(tenant, principal.actor(), id, reason, parse_time(body.at.as_deref(), "at")?).await?;
    view(&state, &principal, id).await
}

/// Restricts processing on the candidate's request (Art. 18, R32).
#[utoipa::path(post, path = "/api/v1/candidates/{id}/restriction", tag = "subject rights",
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 200, body = CandidateView), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn restrict(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<CandidateView>> {
    let tenant = principal.tenant_for(STAFF)?;
    let id = candidate_id(&id)?;
    state.app.restrict(tenant, principal.actor(), id).await?;
    view(&state, &principal, id).await
}

/// Lifts a restriction whose reason no longer applies (admin, DPO).
#[utoipa::path(delete, path = "/api/v1/candidates/{id}/restriction", tag = "subject rights",
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 200, body = CandidateView), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn lift_restriction(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<CandidateView>> {
    let tenant = principal.tenant_for(ADMIN_DPO)?;
    let id = candidate_id(&id)?;
    state.app.lift_restriction(tenant, principal.actor(), id).await?;
    view(&state, &principal, id).await
}

/// Sets a legal hold (admin, DPO): blocks erasure and messaging (R26).
#[utoipa::path(post, path = "/api/v1/candidates/{id}/legal-holds", tag = "candidates", request_body = SetHold,
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 201, body = IdResponse), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn set_hold(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SetHold>,
) -> ApiResult<(StatusCode, Json<IdResponse>)> {
    let tenant = principal.tenant_for(STAFF)?;
    let reason = HoldReason::parse(&body.reason).map_err(|e| ApiError::invalid(e.to_string()))?;
    let hold = state
        .app
        .set_legal_hold(tenant, principal.actor(), candidate_id(&id)?, reason, nonempty(body.reference))
        .await?;
    Ok((StatusCode::CREATED, Json(IdResponse { id: hold.id.to_string() })))
}

/// Releases a legal hold (admin, DPO).
#[utoipa::path(delete, path = "/api/v1/candidates/{id}/legal-holds/{hold}", tag = "candidates",
    params(("id" = String, Path, description = "candidate id"), ("hold" = String, Path, description = "hold id")),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn release_hold(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, hold)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let tenant = principal.tenant_for(STAFF)?;
    let hold: HoldId = path_id(&hold, "legal hold")?;
    state.app.release_legal_hold(tenant, principal.actor(), candidate_id(&id)?, hold).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The conversation (content; the read is audited with the reader, R33).
#[utoipa::path(get, path = "/api/v1/candidates/{id}/messages", tag = "messages",
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn messages(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let tenant = principal.tenant_for(STAFF)?;
    let messages = state.app.read_messages(tenant, principal.actor(), candidate_id(&id)?).await?;
    let items: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| {
            serde_json::json!({
                "id": m.id.to_string(),
                "direction": match m.direction { hoheit_domain::conversation::Direction::Inbound => "inbound", hoheit_domain::conversation::Direction::Outbound => "outbound" },
                "kind": m.kind.as_str(),
                "intent": m.intent.map(|i| i.as_str()),
                "status": m.status.effective().map(|s| s.as_str()),
                "error_code": m.status.get(hoheit_domain::conversation::DeliveryStatus::Failed).and_then(|o| o.error_code),
                "created_at": fmt_time(m.created_at),
                "provider_at": m.provider_at.map(fmt_time),
                "content": m.body.expose(),
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "messages": items })))
}

/// Sends a message: `{text}` or `{template:{name, language, parameters}}` -> 202 or 409 with the
/// refusal code of the send policy.
#[utoipa::path(post, path = "/api/v1/candidates/{id}/messages", tag = "messages", request_body = SendMessage,
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 202, body = QueuedResponse), (status = 409, body = ErrorBody), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn send(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SendMessage>,
) -> ApiResult<(StatusCode, Json<QueuedResponse>)> {
    let tenant = principal.tenant_for(RECRUITING)?;
    let request = match (body.text, body.template) {
        (Some(text), None) => MessageRequest::Text(Pii::new(text)),
        (None, Some(t)) => MessageRequest::Template {
            name: TemplateName::parse(&t.name).map_err(|e| ApiError::invalid(format!("template.name: {e}")))?,
            language: LanguageCode::parse(&t.language)
                .map_err(|e| ApiError::invalid(format!("template.language: {e}")))?,
            parameters: t.parameters.into_iter().map(Pii::new).collect(),
        },
        _ => return Err(ApiError::invalid("give exactly one of text or template")),
    };
    let result = state.app.send_message(tenant, principal.actor(), candidate_id(&id)?, request).await;
    queued(&state, result)
}

/// The Art. 15/20 export: one schema-versioned JSON document with everything, including the
/// candidate's audit entries. The read is audited.
#[utoipa::path(get, path = "/api/v1/candidates/{id}/export", tag = "subject rights",
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn export(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let tenant = principal.tenant_for(ADMIN_DPO)?;
    let id = candidate_id(&id)?;
    let export = state.app.export_subject(tenant, principal.actor(), id).await?;
    let audit = state.store.audit_entries(tenant, Some(id), None, None, 100_000).await?;
    let mut doc = serde_json::to_value(&export).map_err(|_| ApiError::internal())?;
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("audit_entries".into(), serde_json::to_value(&audit.entries).map_err(|_| ApiError::internal())?);
        obj.insert("format".into(), serde_json::json!("hoheit-subject-export"));
    }
    Ok(Json(doc))
}

/// An erasure request (Art. 17): 200 erased, or 409 `legal_claims_window` with the date when the
/// data will be erased (restricted meanwhile, R31); a legal hold answers 409 `legal_hold`.
#[utoipa::path(post, path = "/api/v1/candidates/{id}/erasure", tag = "subject rights",
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 200, body = ErasureResponse), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn erasure(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<ErasureResponse>> {
    let tenant = principal.tenant_for(ADMIN_DPO)?;
    match state.app.request_erasure(tenant, principal.actor(), candidate_id(&id)?).await? {
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

/// `GET /candidates` paging and filter.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Also list restricted candidates (archived for inactivity R25, erasure deferred R31,
    /// Art. 18 restriction): admin and DPO only. Default false.
    #[serde(default)]
    pub include_restricted: bool,
    /// Continue after this candidate id (the previous page's `next_after`).
    pub after: Option<String>,
    /// Page size, 1-500 (default 100).
    pub limit: Option<u64>,
}

/// The tenant's candidates in creation order, a page at a time: ids, lifecycle, objection flag
/// and dates, no number and no name (open a candidate for its status). Restricted candidates are
/// hidden from this list (R25) unless an admin or DPO asks for them; erased ones are never listed.
#[utoipa::path(get, path = "/api/v1/candidates", tag = "candidates", params(ListQuery),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let tenant = principal.tenant_for(STAFF)?;
    if q.include_restricted && !ADMIN_DPO.contains(&principal.role) {
        return Err(ApiError::forbidden("restricted candidates are listed for admin and DPO only (R25)"));
    }
    let after = q
        .after
        .as_deref()
        .map(|a| a.parse::<CandidateId>().map_err(|_| ApiError::invalid("after is not a candidate id")))
        .transpose()?;
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let page = state.store.list_candidates(tenant, q.include_restricted, after, limit).await?;
    let full = u64::try_from(page.len()).unwrap_or(u64::MAX) == limit;
    let next_after = page.last().filter(|_| full).map(|c| c.id.to_string());
    let items: Vec<serde_json::Value> = page
        .iter()
        .map(|c| {
            serde_json::json!({
                "id": c.id.to_string(),
                "lifecycle": c.lifecycle,
                "objected": c.objected,
                "process_ended_at": c.process_ended_at.map(fmt_time),
                "retention_due_at": c.retention_due_at.map(fmt_time),
                "created_at": fmt_time(c.created_at),
                "updated_at": fmt_time(c.updated_at),
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "candidates": items, "next_after": next_after })))
}

/// Open objection reviews (R16), oldest due first, with overdue flags.
#[utoipa::path(get, path = "/api/v1/reviews", tag = "objections",
    responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn reviews(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<serde_json::Value>> {
    let tenant = principal.tenant_for(STAFF)?;
    let now = state.clock.now();
    let mut items = Vec::new();
    for (candidate, due) in state.store.open_reviews(tenant).await? {
        let c = state.app.candidate(tenant, candidate).await?;
        // restricted candidates are hidden from normal lists (R25); admin and DPO see them
        if !matches!(c.lifecycle, Lifecycle::Active) && !ADMIN_DPO.contains(&principal.role) {
            continue;
        }
        if let Some(review) = &c.objection.review {
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

/// The subject-request register (R29): every request with its due date.
#[utoipa::path(get, path = "/api/v1/subject-requests", tag = "subject rights",
    responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn subject_requests(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<serde_json::Value>> {
    let tenant = principal.tenant_for(ADMIN_DPO)?;
    let now = state.clock.now();
    let requests = state.app.subject_requests(tenant, None).await?;
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
#[utoipa::path(post, path = "/api/v1/subject-requests", tag = "subject rights", request_body = OpenSubjectRequest,
    responses((status = 201, body = IdResponse), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
pub async fn open_subject_request(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<OpenSubjectRequest>,
) -> ApiResult<(StatusCode, Json<IdResponse>)> {
    let tenant = principal.tenant_for(ADMIN_DPO)?;
    let kind = SubjectRequestKind::parse(&body.kind).map_err(|e| ApiError::invalid(e.to_string()))?;
    let candidate = body.candidate_id.as_deref().map(candidate_id).transpose()?;
    let request = state
        .app
        .open_subject_request(
            tenant,
            principal.actor(),
            candidate,
            kind,
            capture(&body.channel)?,
            parse_time(body.received_at.as_deref(), "received_at")?,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(IdResponse { id: request.id.to_string() })))
}
