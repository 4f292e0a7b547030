//! API errors: `{"error": {"code": "...", "message": "..."}}` with stable codes. Causes are
//! logged (without personal data); internals never reach the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hoheit_domain::ports::StoreError;
use hoheit_domain::usecases::UseCaseError;
use hoheit_domain::values::InvalidValue;
use serde::Serialize;
use utoipa::ToSchema;

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code.
    pub code: &'static str,
    /// Human-readable message (no personal data).
    pub message: String,
    /// Extra fields (e.g. `erase_at` for `legal_claims_window`).
    pub extra: Option<serde_json::Value>,
}

/// The JSON body of an error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Code and message.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code: a refusal code of the send policy, or one of `unauthorized`, `forbidden`,
    /// `not_found`, `invalid_input`, `conflict`, `payload_too_large`, `rate_limited`,
    /// `legal_claims_window`, `unavailable`, `internal`, `base_url_not_allowed`,
    /// `channel_not_available`.
    pub code: String,
    /// Explanation.
    pub message: String,
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), extra: None }
    }

    /// 401.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "a valid bearer token is required")
    }

    /// 403.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404.
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    /// 400.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_input", message)
    }

    /// 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 503.
    pub fn unavailable() -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "storage is unavailable; retry later")
    }

    /// 500.
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => Self::conflict("the record changed concurrently; retry"),
            StoreError::Duplicate(key) => Self::conflict(format!("duplicate {key}")),
            StoreError::NotFound(what) => Self::not_found(what),
            StoreError::Corrupt(_) => {
                tracing::error!(error = %e, "stored data could not be read");
                Self::internal()
            }
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "storage unavailable");
                Self::unavailable()
            }
        }
    }
}

/// A value the domain refused to parse: `400 invalid_input` with the domain's message, which
/// names the kind of value and what is expected, never the value itself.
impl From<InvalidValue> for ApiError {
    fn from(e: InvalidValue) -> Self {
        Self::invalid(e.to_string())
    }
}

impl From<UseCaseError> for ApiError {
    fn from(e: UseCaseError) -> Self {
        match e {
            UseCaseError::NotFound(what) => Self::not_found(what),
            UseCaseError::Refused(refusal) => {
                Self::new(StatusCode::CONFLICT, refusal.code.as_str(), refusal.code.message())
            }
            UseCaseError::Invalid(message) => Self::invalid(message),
            UseCaseError::Conflict(message) => Self::conflict(message),
            UseCaseError::Forbidden(message) => Self::forbidden(message),
            UseCaseError::Unavailable(message) => Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message),
            UseCaseError::Store(e) => e.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        if let (Some(serde_json::Value::Object(extra)), Some(error)) = (self.extra, body.get_mut("error"))
            && let Some(obj) = error.as_object_mut()
        {
            obj.extend(extra);
        }
        (self.status, Json(body)).into_response()
    }
}

/// Handler result.
pub type ApiResult<T> = Result<T, ApiError>;
