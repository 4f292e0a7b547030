//! The accountability documents generated from the configuration: the Art. 30 record and the privacy-notice section (R2, R35).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use hoheit_domain::accountability::{NoticeLanguage, RecordOfProcessing, privacy_notice_section};
use hoheit_domain::ports::Clock;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Caller, can};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// The routes of this resource (relative to `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(records_of_processing)).routes(routes!(privacy_notice))
}

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
#[utoipa::path(get, path = "/records-of-processing", tag = "accountability",
    params(("format" = Option<String>, Query, description = "json (default) or markdown")),
    responses((status = 200, description = "the record (JSON, or text/markdown)", body = Object),
        (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn records_of_processing(
    State(state): State<AppState>,
    caller: Caller<can::ReadAccountability>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let tenant = caller.tenant;
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
#[utoipa::path(get, path = "/privacy-notice/whatsapp-section", tag = "accountability",
    params(("language" = Option<String>, Query, description = "de (default) or en"),
        ("format" = Option<String>, Query, description = "json (default) or markdown")),
    responses((status = 200, body = PrivacyNoticeSection), (status = 400, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn privacy_notice(
    State(state): State<AppState>,
    caller: Caller<can::ReadAccountability>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let tenant = caller.tenant;
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
