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
    /// `channel_not_available`, `dpo_not_independent`, `invitation_invalid`, `invitation_used`,
    /// `invitation_expired`; issue 16: `sign_in_failed`, `sign_in_throttled` (with
    /// `retry_after`), `second_factor_invalid`, `session_invalid`, `csrf_failed`, `cross_origin`,
    /// `email_taken`, `identity_taken`, `last_active_admin`, `account_disabled`, `invalid_role`,
    /// `password_too_short`, `password_too_long`, `password_common`,
    /// `password_contains_personal_data`.
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
            UseCaseError::DpoNotIndependent => {
                Self::new(StatusCode::FORBIDDEN, "dpo_not_independent", UseCaseError::DpoNotIndependent.to_string())
            }
            UseCaseError::Unavailable(message) => Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message),
            UseCaseError::Store(e) => e.into(),
        }
    }
}

/// An account use case's error (issue 16) as an API error: the domain's stable code, a status
/// that fits. Sign-in failures are one generic answer; a throttled one carries `retry_after`
/// (seconds).
pub fn account_error(e: hoheit_domain::usecases::AccountError) -> ApiError {
    use hoheit_domain::usecases::AccountError as E;
    let status = match &e {
        E::Rule(r) if r.code() == "forbidden" => StatusCode::FORBIDDEN,
        E::Rule(hoheit_domain::staff::StaffRuleError::DpoNotIndependent) | E::Forbidden(_) => StatusCode::FORBIDDEN,
        E::Rule(_) | E::EmailTaken | E::IdentityTaken => StatusCode::CONFLICT,
        E::NotFound(_) | E::InvitationInvalid => StatusCode::NOT_FOUND,
        E::WeakPassword(_) | E::Invalid(_) | E::SecondFactorInvalid => StatusCode::BAD_REQUEST,
        E::SignInFailed | E::SessionInvalid => StatusCode::UNAUTHORIZED,
        E::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        E::Invitation(_) => StatusCode::GONE,
        E::NotConfigured => StatusCode::SERVICE_UNAVAILABLE,
        E::Store(s) => return ApiError::from(s.clone()),
    };
    let code = if matches!(e, E::Invalid(_)) { "invalid_input" } else { e.code() };
    let mut error = ApiError::new(status, code, e.to_string());
    if let E::Throttled { retry_after } = e {
        error.extra = Some(serde_json::json!({ "retry_after": retry_after.whole_seconds().max(1) }));
    }
    error
}

impl From<hoheit_domain::usecases::AccountError> for ApiError {
    fn from(e: hoheit_domain::usecases::AccountError) -> Self {
        account_error(e)
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
