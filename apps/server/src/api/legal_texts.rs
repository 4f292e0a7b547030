//! Legal texts and their versions (R5-R7).

use axum::Json;
use axum::http::StatusCode;
use hoheit_domain::legal::{LegalTextKind, LegalTextVersion};
use hoheit_domain::usecases::LegalTextInput;
use hoheit_domain::values::LanguageCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::{ApiJson, Caller, can, fmt_time};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

/// The routes of this resource (relative to `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    resource_routes![(publish_legal_text, list_legal_texts)]
}

/// Publishes a legal text version (admin). Consent-request texts must satisfy R6.
#[utoipa::path(post, path = "/legal-texts", tag = "legal texts", request_body = PublishLegalText,
    responses((status = 201, body = LegalTextView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn publish_legal_text(
    caller: Caller<can::PublishLegalText>,
    ApiJson(body): ApiJson<PublishLegalText>,
) -> ApiResult<(StatusCode, Json<LegalTextView>)> {
    let input = LegalTextInput {
        kind: LegalTextKind::parse(&body.kind)?,
        version: LegalTextVersion::parse(&body.version)?,
        language: LanguageCode::parse(&body.language).map_err(|e| ApiError::invalid(format!("language: {e}")))?,
        body: body.body,
        url: body.url,
        material: body.material.unwrap_or(true),
    };
    let text = caller.state.app.publish_legal_text(caller.tenant, caller.actor, input).await?;
    Ok((StatusCode::CREATED, Json(legal_view(&text))))
}

fn legal_view(t: &hoheit_domain::legal::LegalText) -> LegalTextView {
    LegalTextView {
        id: t.id.to_string(),
        kind: t.kind.as_str().into(),
        version: t.version.as_str().into(),
        language: t.language.as_str().into(),
        sha256: t.sha256.to_hex(),
        material: t.material,
        published_at: fmt_time(t.published_at),
        url: t.url.clone(),
        body: t.body.clone(),
    }
}

/// The tenant's legal texts.
#[utoipa::path(get, path = "/legal-texts", tag = "legal texts",
    responses((status = 200, body = [LegalTextView])), security(("bearer" = [])))]
pub async fn list_legal_texts(caller: Caller<can::ReadConfiguration>) -> ApiResult<Json<Vec<LegalTextView>>> {
    let config = caller.state.app.tenant_config(caller.tenant).await?;
    Ok(Json(config.legal_texts.texts().iter().map(legal_view).collect()))
}

/// `POST /api/v1/legal-texts`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishLegalText {
    /// `terms`, `privacy_notice` or `consent_request`.
    pub kind: String,
    /// Version label.
    pub version: String,
    /// Language (`de`, `en`).
    pub language: String,
    /// The exact text.
    pub body: String,
    /// Where it is published.
    pub url: Option<String>,
    /// Whether consents given on earlier versions must be renewed (default true).
    pub material: Option<bool>,
}

/// A legal text.
#[derive(Debug, Serialize, ToSchema)]
pub struct LegalTextView {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Version.
    pub version: String,
    /// Language.
    pub language: String,
    /// SHA-256 of the body.
    pub sha256: String,
    /// Material change.
    pub material: bool,
    /// Published.
    pub published_at: String,
    /// URL.
    pub url: Option<String>,
    /// Body.
    pub body: String,
}
