//! The accountability documents generated from the configuration: the Art. 30 record and the privacy-notice section (R2, R35).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{FromRequestParts, Query};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use hoheit_domain::accountability::{NoticeLanguage, RecordOfProcessing, privacy_notice_section};
use hoheit_domain::ports::Clock;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::{Caller, can};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// The routes of this resource (relative to `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    resource_routes![records_of_processing, privacy_notice]
}

/// How a generated document is answered: `format=json` (default) or `format=markdown`; an
/// extractor reading the query (400 `invalid_input` for anything else).
#[derive(Debug, Clone, Copy)]
pub enum Format {
    /// The document as JSON.
    Json,
    /// Its Markdown text.
    Markdown,
}

impl<S: Send + Sync> FromRequestParts<S> for Format {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(query) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        match query.get("format").map(String::as_str) {
            None | Some("json") => Ok(Self::Json),
            Some("markdown" | "md") => Ok(Self::Markdown),
            Some(_) => Err(ApiError::invalid("format must be json or markdown").into_response()),
        }
    }
}

impl Format {
    /// The document as JSON, or its Markdown text.
    fn answer(self, json: &impl Serialize, markdown: impl FnOnce() -> String) -> Response {
        match self {
            Self::Json => Json(json).into_response(),
            Self::Markdown => ([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], markdown()).into_response(),
        }
    }
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
pub async fn records_of_processing(caller: Caller<can::ReadAccountability>, format: Format) -> ApiResult<Response> {
    let config = caller.state.app.tenant_config(caller.tenant).await?;
    let record = RecordOfProcessing::generate(&config, caller.state.clock.now());
    Ok(format.answer(&record, || record.to_markdown()))
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
    caller: Caller<can::ReadAccountability>,
    format: Format,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let language = match query.get("language") {
        Some(l) => NoticeLanguage::parse(l).map_err(|_| ApiError::invalid("language must be de or en"))?,
        None => NoticeLanguage::German,
    };
    let config = caller.state.app.tenant_config(caller.tenant).await?;
    let text = privacy_notice_section(&config, language);
    let section = PrivacyNoticeSection { language: language.code().to_owned(), format: "markdown".into(), text };
    Ok(format.answer(&section, || section.text.clone()))
}
