//! Candidates: creation, the list, status, consent, withdrawal, objection, process end, legal holds, restriction.

use axum::Json;
use axum::extract::Query;
use axum::http::StatusCode;
use hoheit_domain::access::sees_restricted;
use hoheit_domain::candidate::{Candidate, HoldReason, Lifecycle, Process, ProcessEndReason};
use hoheit_domain::consent::{
    CaptureChannel, ConsentMethod, ConsentMethodError, ConsentMethodKind, ConsentState, Purpose,
};
use hoheit_domain::ids::{CandidateId, ChannelId, HoldId, TenantId};
use hoheit_domain::ports::{CandidatePage, Clock};
use hoheit_domain::retention::next_due;
use hoheit_domain::tenant::Tenant;
use hoheit_domain::usecases::{ConsentInput, NewCandidate, ObjectionInput};
use hoheit_domain::values::{LanguageCode, PhoneNumber, PhoneNumberError, Pii, RegionCode};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use super::{ApiJson, Caller, Id, IdResponse, can, fmt_time, parse_field, parse_time};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// The routes of this resource (relative to `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    resource_routes![
        (create, list),
        get,
        record_consent,
        record_withdrawal,
        record_objection,
        end_process,
        set_hold,
        release_hold,
        (restrict, lift_restriction)
    ]
}

fn nonempty(value: Option<String>) -> Option<Pii<String>> {
    value.filter(|v| !v.trim().is_empty()).map(Pii::new)
}

/// The candidate's status as the API shows it.
pub(super) async fn view(state: &AppState, tenant: TenantId, id: CandidateId) -> ApiResult<Json<CandidateView>> {
    let config = state.app.tenant_config(tenant).await?;
    let candidate = state.app.candidate(tenant, id).await?;
    Ok(Json(CandidateView::new(&candidate, &config.tenant, state.clock.now())))
}

/// Creates a candidate (recruiter, admin). A number on the suppression list brings its objection.
#[utoipa::path(post, path = "/candidates", tag = "candidates", request_body = CreateCandidate,
    responses((status = 201, body = IdResponse), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    caller: Caller<can::CreateCandidate>,
    ApiJson(body): ApiJson<CreateCandidate>,
) -> ApiResult<(StatusCode, Json<IdResponse>)> {
    let region = parse_field(body.region.as_deref(), "region", RegionCode::parse)?;
    // a national number ("0170 1234567") is read in the request's or the tenant's region
    let phone = match PhoneNumber::parse(&body.phone) {
        Err(PhoneNumberError::MissingCountryCode) => {
            let region = match region {
                Some(region) => region,
                None => caller.state.app.tenant_config(caller.tenant).await?.tenant.messaging.default_region,
            };
            PhoneNumber::parse_in(&body.phone, region)
        }
        parsed => parsed,
    }
    .map_err(|e| ApiError::invalid(format!("phone: {e}")))?;
    let channel: ChannelId = body.channel_id.parse().map_err(|_| ApiError::invalid("channel_id is not an id"))?;
    let language = parse_field(body.language.as_deref(), "language", LanguageCode::parse)?;
    let input = NewCandidate { phone, name: nonempty(body.name), channel, language };
    let candidate = caller.state.app.create_candidate(caller.tenant, caller.actor, input).await?;
    Ok((StatusCode::CREATED, Json(IdResponse { id: candidate.id.to_string() })))
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
#[utoipa::path(get, path = "/candidates", tag = "candidates", params(ListQuery),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    caller: Caller<can::ReadCandidates>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    if q.include_restricted && !sees_restricted(caller.role) {
        return Err(ApiError::forbidden("restricted candidates are listed for admin and DPO only (R25)"));
    }
    let after = q
        .after
        .as_deref()
        .map(|a| a.parse::<CandidateId>().map_err(|_| ApiError::invalid("after is not a candidate id")))
        .transpose()?;
    let limit = u32::try_from(q.limit.unwrap_or(100).clamp(1, 500)).unwrap_or(500);
    let page = caller
        .state
        .queries
        .candidate_page(caller.tenant, CandidatePage { include_restricted: q.include_restricted, after, limit })
        .await?;
    let full = u32::try_from(page.len()).unwrap_or(u32::MAX) == limit;
    let next_after = page.last().filter(|_| full).map(|c| c.id.to_string());
    let items: Vec<serde_json::Value> = page
        .iter()
        .map(|c| {
            serde_json::json!({
                "id": c.id.to_string(),
                "lifecycle": c.lifecycle.as_str(),
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

/// The candidate's status: consent per purpose, objection, window, process, erase date, holds.
#[utoipa::path(get, path = "/candidates/{id}", tag = "candidates",
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 200, body = CandidateView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get(caller: Caller<can::ReadCandidates>, Id(id): Id<CandidateId>) -> ApiResult<Json<CandidateView>> {
    view(&caller.state, caller.tenant, id).await
}

/// Records consent captured outside WhatsApp, with evidence (R4, R5).
#[utoipa::path(post, path = "/candidates/{id}/consents", tag = "candidates", request_body = RecordConsent,
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 200, body = CandidateView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn record_consent(
    caller: Caller<can::RecordOnBehalf>,
    Id(id): Id<CandidateId>,
    ApiJson(body): ApiJson<RecordConsent>,
) -> ApiResult<Json<CandidateView>> {
    let purpose = Purpose::parse(&body.purpose)?;
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
            ConsentMethod::RecordedVerbal { staff: caller.id, note: nonempty(body.note) }
        }
        ConsentMethodKind::ButtonReply | ConsentMethodKind::OptInKeyword => {
            return Err(ApiError::invalid("WhatsApp consents are recorded from the candidate's reply"));
        }
    };
    let input = ConsentInput {
        purpose,
        method,
        capture_channel: CaptureChannel::parse(&body.capture_channel)?,
        texts_shown: None,
        given_at: parse_time(body.given_at.as_deref(), "given_at")?,
    };
    caller.state.app.record_consent(caller.tenant, caller.actor, id, input).await?;
    view(&caller.state, caller.tenant, id).await
}

/// Records a withdrawal received by mail or phone (R8).
#[utoipa::path(post, path = "/candidates/{id}/withdrawals", tag = "candidates", request_body = RecordWithdrawal,
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 200, body = CandidateView)), security(("bearer" = [])))]
pub async fn record_withdrawal(
    caller: Caller<can::RecordOnBehalf>,
    Id(id): Id<CandidateId>,
    ApiJson(body): ApiJson<RecordWithdrawal>,
) -> ApiResult<Json<CandidateView>> {
    let purpose = Purpose::parse(&body.purpose)?;
    caller
        .state
        .app
        .record_withdrawal(caller.tenant, caller.actor, id, purpose, CaptureChannel::parse(&body.channel)?)
        .await?;
    view(&caller.state, caller.tenant, id).await
}

/// Records an objection received by any channel (R11, R22). Takes effect at once.
#[utoipa::path(post, path = "/candidates/{id}/objections", tag = "candidates", request_body = RecordObjection,
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 200, body = CandidateView)), security(("bearer" = [])))]
pub async fn record_objection(
    caller: Caller<can::RecordOnBehalf>,
    Id(id): Id<CandidateId>,
    ApiJson(body): ApiJson<RecordObjection>,
) -> ApiResult<Json<CandidateView>> {
    let input = ObjectionInput {
        channel: CaptureChannel::parse(&body.channel)?,
        note: nonempty(body.note),
        received_at: parse_time(body.received_at.as_deref(), "received_at")?,
    };
    caller.state.app.record_objection(caller.tenant, caller.actor, id, input).await?;
    view(&caller.state, caller.tenant, id).await
}

/// Ends the application process; the retention clock starts (R24).
#[utoipa::path(post, path = "/candidates/{id}/process-end", tag = "candidates", request_body = EndProcess,
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 200, body = CandidateView), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn end_process(
    caller: Caller<can::RecordOnBehalf>,
    Id(id): Id<CandidateId>,
    ApiJson(body): ApiJson<EndProcess>,
) -> ApiResult<Json<CandidateView>> {
    let reason = ProcessEndReason::parse(&body.reason)?;
    caller
        .state
        .app
        .end_process(caller.tenant, caller.actor, id, reason, parse_time(body.at.as_deref(), "at")?)
        .await?;
    view(&caller.state, caller.tenant, id).await
}

/// Restricts processing on the candidate's request (Art. 18, R32).
#[utoipa::path(post, path = "/candidates/{id}/restriction", tag = "subject rights",
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 200, body = CandidateView), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn restrict(caller: Caller<can::RecordOnBehalf>, Id(id): Id<CandidateId>) -> ApiResult<Json<CandidateView>> {
    caller.state.app.restrict(caller.tenant, caller.actor, id).await?;
    view(&caller.state, caller.tenant, id).await
}

/// Lifts a restriction whose reason no longer applies (admin, DPO).
#[utoipa::path(delete, path = "/candidates/{id}/restriction", tag = "subject rights",
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 200, body = CandidateView), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn lift_restriction(
    caller: Caller<can::LiftRestriction>,
    Id(id): Id<CandidateId>,
) -> ApiResult<Json<CandidateView>> {
    caller.state.app.lift_restriction(caller.tenant, caller.actor, id).await?;
    view(&caller.state, caller.tenant, id).await
}

/// Sets a legal hold (admin, DPO): blocks erasure and messaging (R26).
#[utoipa::path(post, path = "/candidates/{id}/legal-holds", tag = "candidates", request_body = SetHold,
    params(("id" = String, Path, description = "candidate id")),
    responses((status = 201, body = IdResponse), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn set_hold(
    caller: Caller<can::ManageLegalHolds>,
    Id(id): Id<CandidateId>,
    ApiJson(body): ApiJson<SetHold>,
) -> ApiResult<(StatusCode, Json<IdResponse>)> {
    let reason = HoldReason::parse(&body.reason)?;
    let hold =
        caller.state.app.set_legal_hold(caller.tenant, caller.actor, id, reason, nonempty(body.reference)).await?;
    Ok((StatusCode::CREATED, Json(IdResponse { id: hold.id.to_string() })))
}

/// Releases a legal hold (admin, DPO).
#[utoipa::path(delete, path = "/candidates/{id}/legal-holds/{hold}", tag = "candidates",
    params(("id" = String, Path, description = "candidate id"), ("hold" = String, Path, description = "hold id")),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn release_hold(
    caller: Caller<can::ManageLegalHolds>,
    Id((id, hold)): Id<(CandidateId, HoldId)>,
) -> ApiResult<StatusCode> {
    caller.state.app.release_legal_hold(caller.tenant, caller.actor, id, hold).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/candidates`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCandidate {
    /// The candidate's number: international (`+49 170 1234567`, `0049...`) or national in the
    /// `region` (`0170 1234567`). Numbers that cannot exist are refused.
    pub phone: String,
    /// Region for a national number (ISO 3166-1 alpha-2); default: the tenant's `default_region`.
    #[serde(default)]
    pub region: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Channel to contact them through.
    pub channel_id: String,
    /// Language for texts (`de` default, `en`).
    pub language: Option<String>,
}

/// Consent per purpose.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentView {
    /// `whatsapp_channel` or `talent_pool`.
    pub purpose: String,
    /// `none`, `requested`, `granted`, `declined`, `withdrawn`, `expired`.
    pub state: String,
    /// Since when the state holds.
    pub since: Option<String>,
    /// When it runs out (talent pool).
    pub expires_at: Option<String>,
}

/// Objection state.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectionView {
    /// Whether an objection is in effect.
    pub objected: bool,
    /// Since when.
    pub since: Option<String>,
    /// Source (`whatsapp`, `staff`, `review`, `suppression`).
    pub source: Option<String>,
    /// A pending review of a possible objection.
    pub review: Option<ReviewView>,
}

/// A pending review.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewView {
    /// Review id.
    pub id: String,
    /// The keyword or stem that matched.
    pub matched: String,
    /// Opened.
    pub opened_at: String,
    /// Due.
    pub due_at: String,
}

/// A legal hold.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldView {
    /// Id.
    pub id: String,
    /// Reason.
    pub reason: String,
    /// Set.
    pub set_at: String,
    /// Review date.
    pub review_at: String,
    /// Released.
    pub released_at: Option<String>,
}

/// The process.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProcessView {
    /// `running` or `ended`.
    pub state: String,
    /// Why it ended.
    pub reason: Option<String>,
    /// When it ended.
    pub ended_at: Option<String>,
}

/// `GET /api/v1/candidates/{id}`: the candidate's status, no message text.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateView {
    /// Id.
    pub id: String,
    /// Channel.
    pub channel_id: String,
    /// `active`, `restricted` or `erased`.
    pub lifecycle: String,
    /// Why restricted.
    pub restriction_reason: Option<String>,
    /// Consent per purpose.
    pub consents: Vec<ConsentView>,
    /// Objection.
    pub objection: ObjectionView,
    /// Free-form messages are allowed until then (24 h after the candidate's last message).
    pub window_open_until: Option<String>,
    /// Whether the Art. 13 / 21(4) notice was sent.
    pub notice_sent: bool,
    /// The application process.
    pub process: ProcessView,
    /// When retention will act next (erasure or restriction), if scheduled.
    pub erase_at: Option<String>,
    /// Legal holds.
    pub legal_holds: Vec<HoldView>,
    /// Created.
    pub created_at: String,
}

impl CandidateView {
    /// Builds the view at `now`.
    pub fn new(c: &Candidate, tenant: &Tenant, now: OffsetDateTime) -> Self {
        let tp = tenant.retention.talent_pool_months;
        let consents = Purpose::ALL
            .iter()
            .map(|p| {
                let state = c.consents().state(*p, now, tp);
                let (since, expires_at) = match &state {
                    ConsentState::None => (None, None),
                    ConsentState::Requested { last_at, .. } => (Some(*last_at), None),
                    ConsentState::Granted { at, expires_at, .. } => (Some(*at), *expires_at),
                    ConsentState::Declined { at } | ConsentState::Withdrawn { at } | ConsentState::Expired { at } => {
                        (Some(*at), None)
                    }
                };
                ConsentView {
                    purpose: p.as_str().to_owned(),
                    state: state.as_str().to_owned(),
                    since: since.map(fmt_time),
                    expires_at: expires_at.map(fmt_time),
                }
            })
            .collect();
        let (lifecycle, restriction_reason) = match c.lifecycle {
            Lifecycle::Active => ("active", None),
            Lifecycle::Restricted { reason, .. } => ("restricted", Some(reason.as_str().to_owned())),
            Lifecycle::Erased { .. } => ("erased", None),
        };
        let process = match c.process {
            Process::Running => ProcessView { state: "running".into(), reason: None, ended_at: None },
            Process::Ended { reason, at } => ProcessView {
                state: "ended".into(),
                reason: Some(reason.as_str().into()),
                ended_at: Some(fmt_time(at)),
            },
        };
        Self {
            id: c.id.to_string(),
            channel_id: c.channel.to_string(),
            lifecycle: lifecycle.to_owned(),
            restriction_reason,
            consents,
            objection: ObjectionView {
                objected: c.objection().is_objected(),
                since: c.objection().active.as_ref().map(|o| fmt_time(o.at)),
                source: c.objection().active.as_ref().map(|o| o.source.as_str().to_owned()),
                review: c.objection().review.as_ref().map(|r| ReviewView {
                    id: r.id.to_string(),
                    matched: r.matched.clone(),
                    opened_at: fmt_time(r.opened_at),
                    due_at: fmt_time(r.due_at),
                }),
            },
            window_open_until: c.conversation.window_open_until().filter(|_| !c.is_erased()).map(fmt_time),
            notice_sent: c.conversation.notice_sent_at().is_some(),
            process,
            erase_at: next_due(c, &tenant.retention, now).map(fmt_time),
            legal_holds: c
                .holds
                .iter()
                .map(|h| HoldView {
                    id: h.id.to_string(),
                    reason: h.reason.as_str().to_owned(),
                    set_at: fmt_time(h.set_at),
                    review_at: fmt_time(h.review_at),
                    released_at: h.released_at.map(fmt_time),
                })
                .collect(),
            created_at: fmt_time(c.created_at),
        }
    }
}

/// `POST /api/v1/candidates/{id}/consents`: consent captured outside WhatsApp.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordConsent {
    /// `whatsapp_channel` or `talent_pool`.
    pub purpose: String,
    /// `web_form`, `signed_form` or `recorded_verbal`. Non-affirmative methods are rejected.
    pub method: String,
    /// `web`, `phone`, `in_person`, `email`, `paper`.
    pub capture_channel: String,
    /// Web form: form id.
    pub form_id: Option<String>,
    /// Web form: client IP.
    pub ip: Option<String>,
    /// Web form: user agent.
    pub user_agent: Option<String>,
    /// Signed form: where it is filed.
    pub document_ref: Option<String>,
    /// Recorded verbal consent: a note.
    pub note: Option<String>,
    /// When it was given (default now).
    pub given_at: Option<String>,
}

/// `POST /api/v1/candidates/{id}/withdrawals`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordWithdrawal {
    /// Purpose.
    pub purpose: String,
    /// How it arrived (`email`, `phone`, `paper`, `in_person`, `web`).
    pub channel: String,
}

/// `POST /api/v1/candidates/{id}/objections`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordObjection {
    /// How it arrived (`email`, `phone`, `paper`, `in_person`, `web`).
    pub channel: String,
    /// Verbatim note (stored encrypted).
    pub note: Option<String>,
    /// When it was received (default now).
    pub received_at: Option<String>,
}

/// `POST /api/v1/candidates/{id}/process-end`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndProcess {
    /// `rejected`, `withdrawn`, `hired`, `vacancy_closed`.
    pub reason: String,
    /// When (default now).
    pub at: Option<String>,
}

/// `POST /api/v1/candidates/{id}/legal-holds`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetHold {
    /// `claim_asserted`, `authority_inquiry`, `other`.
    pub reason: String,
    /// Case reference (stored encrypted).
    pub reference: Option<String>,
}
