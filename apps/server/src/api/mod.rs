//! The HTTP API under `/api/v1`: DTOs at the edge, converted to domain types, then one use case.
//! Paths, fields and error codes are a contract (see docs/api.md and `/openapi.json`).

pub mod admin;
pub mod audit;
pub mod candidates;
pub mod dto;
pub mod workflows;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// JSON body extractor whose rejections are API errors (`invalid_input`, `payload_too_large`).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

#[allow(clippy::wildcard_enum_match_arm)] // JsonRejection is axum's non-exhaustive enum
fn json_rejection(rejection: &JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the request body is too large");
    }
    match rejection {
        // Only the field path is repeated: serde's messages can quote the rejected value, and a
        // value can be personal data.
        JsonRejection::JsonDataError(e) => match field_path(&e.body_text()) {
            Some(path) => ApiError::invalid(format!("invalid or missing field `{path}`")),
            None => ApiError::invalid("a field is invalid or missing"),
        },
        JsonRejection::JsonSyntaxError(_) => ApiError::invalid("the body is not valid JSON"),
        JsonRejection::MissingJsonContentType(_) => ApiError::invalid("expected Content-Type: application/json"),
        _ => ApiError::invalid("the body could not be read"),
    }
}

fn field_path(text: &str) -> Option<String> {
    let rest = text.split_once("target type: ")?.1;
    let path = rest.split_once(": ")?.0;
    let ok =
        !path.is_empty() && path.len() <= 100 && path.chars().all(|c| c.is_ascii_alphanumeric() || "._[]".contains(c));
    ok.then(|| path.to_owned())
}

/// Parses an id from the path (404 for anything that is not an id: it cannot exist).
pub fn path_id<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found(what))
}
