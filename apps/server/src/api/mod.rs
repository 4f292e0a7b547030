//! The HTTP API under `/api/v1`, one module per resource, each with its `routes()` and its DTOs
//! beside the handlers. Every route is declared once, in its handler's `#[utoipa::path]`; the
//! router and the OpenAPI document are both generated from it (utoipa-axum). Paths, fields and
//! error codes are a contract (see docs/api.md and `/openapi.json`).
//!
//! Handlers do not repeat preambles: [`Caller`] authenticates, checks the action's role set
//! ([`hoheit_domain::access::Action`]) and yields tenant, actor and the server's state; [`Id`] parses path ids
//! (404 for anything that is not an id); [`ApiJson`] maps body errors to `invalid_input`.

/// A resource's router: one entry per path, the path's handlers (one per method) in parentheses
/// when it has more than one, `resource_routes![(create, list), get]` for
/// `OpenApiRouter::new().routes(routes!(create, list)).routes(routes!(get))`.
macro_rules! resource_routes {
    (@path ($($handler:ident),+)) => { utoipa_axum::routes!($($handler),+) };
    (@path $handler:ident) => { utoipa_axum::routes!($handler) };
    ($($path:tt),+ $(,)?) => {
        utoipa_axum::router::OpenApiRouter::new()$(.routes(resource_routes!(@path $path)))+
    };
}

pub mod accountability;
pub mod audit;
pub mod candidates;
pub mod channels;
pub mod invitations;
pub mod legal_holds;
pub mod legal_texts;
pub mod media;
pub mod messages;
pub mod oidc_settings;
pub mod retention;
pub mod reviews;
pub mod session;
pub mod staff;
pub mod subject_requests;
pub mod templates;
pub mod tenants;
pub mod tokens;

use std::marker::PhantomData;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use hoheit_domain::access::Action;
use hoheit_domain::ids::{CandidateId, ChannelId, HoldId, MediaId, ReviewId, StaffId, SubjectRequestId, TenantId};
use hoheit_domain::tenant::{Actor, Role};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::{Auth, Principal};
use crate::error::ApiError;
use crate::state::AppState;

/// Every resource's routes (relative to `/api/v1`).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(tenants::routes())
        .merge(tokens::routes())
        .merge(invitations::routes())
        .merge(channels::routes())
        .merge(templates::routes())
        .merge(legal_texts::routes())
        .merge(candidates::routes())
        .merge(legal_holds::routes())
        .merge(messages::routes())
        .merge(media::routes())
        .merge(reviews::routes())
        .merge(subject_requests::routes())
        .merge(retention::routes())
        .merge(audit::routes())
        .merge(accountability::routes())
        .merge(staff::routes())
        .merge(session::routes())
        .merge(oidc_settings::routes())
}

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

/// Parses an id (404 for anything that is not an id: it cannot exist).
pub fn path_id<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found(what))
}

/// The actions as types, `Caller<can::ReadCandidates>`: declared with [`Action`] from one list in
/// the domain.
pub use hoheit_domain::access::{Permission, can};

/// A tenant's staff member allowed to do `P`: authenticated (401), of one of the action's roles
/// and bound to a tenant (403); with the server's state, so a handler needs no `State` beside it.
#[derive(Debug)]
pub struct Caller<P> {
    /// The server's state: the use cases and the ports.
    pub state: AppState,
    /// The caller's tenant.
    pub tenant: TenantId,
    /// The actor for the domain's events.
    pub actor: Actor,
    /// The token's identity.
    pub id: StaffId,
    /// The token's role.
    pub role: Role,
    /// Who created the caller's credential (separation of duties, R1).
    pub created_by: Option<StaffId>,
    permission: PhantomData<P>,
}

impl<S, P> FromRequestParts<S> for Caller<P>
where
    P: Permission,
    Arc<Auth>: FromRef<S>,
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        let tenant = principal.tenant_for(P::ACTION.roles())?;
        Ok(Self {
            state: AppState::from_ref(state),
            tenant,
            actor: principal.actor(),
            id: principal.id,
            role: principal.role,
            created_by: principal.created_by,
            permission: PhantomData,
        })
    }
}

/// The platform operator (tenant management).
#[derive(Debug)]
pub struct Operator {
    /// The actor for the domain's events.
    pub actor: Actor,
}

impl<S> FromRequestParts<S> for Operator
where
    Arc<Auth>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        if !Action::ManageTenants.allows(principal.role) {
            return Err(ApiError::forbidden("only the platform operator may do this"));
        }
        Ok(Self { actor: principal.actor() })
    }
}

/// An id that can appear in a path, with the name a 404 gives.
pub trait PathId: std::str::FromStr {
    /// What is not found (`candidate`, ...).
    const WHAT: &'static str;
}

/// What [`Id`] takes from the path: one id, or two (`/candidates/{id}/reviews/{review}`).
pub trait PathIds: Sized {
    /// The path segments as text.
    type Raw: DeserializeOwned + Send;
    /// What is not found when the path cannot be read at all (the first id's name).
    const WHAT: &'static str;
    /// Parses the segments; anything that is not an id is `404 not_found`.
    fn parse(raw: Self::Raw) -> Result<Self, ApiError>;
}

macro_rules! path_ids {
    ($($t:ty => $what:literal),* $(,)?) => {$(
        impl PathId for $t {
            const WHAT: &'static str = $what;
        }

        impl PathIds for $t {
            type Raw = String;
            const WHAT: &'static str = $what;
            fn parse(raw: String) -> Result<Self, ApiError> {
                path_id(&raw, $what)
            }
        }
    )*};
}

path_ids!(
    CandidateId => "candidate",
    ChannelId => "channel",
    HoldId => "legal hold",
    MediaId => "media",
    ReviewId => "review",
    SubjectRequestId => "subject request",
    StaffId => "token",
);

impl<A: PathId, B: PathId> PathIds for (A, B) {
    type Raw = (String, String);
    const WHAT: &'static str = A::WHAT;
    fn parse((a, b): (String, String)) -> Result<Self, ApiError> {
        Ok((path_id(&a, A::WHAT)?, path_id(&b, B::WHAT)?))
    }
}

/// Ids from the path, `Id<CandidateId>` or `Id<(CandidateId, ReviewId)>`; anything that is not
/// an id answers 404.
#[derive(Debug)]
pub struct Id<T>(pub T);

impl<S, T> FromRequestParts<S> for Id<T>
where
    T: PathIds,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) =
            Path::<T::Raw>::from_request_parts(parts, state).await.map_err(|_| ApiError::not_found(T::WHAT))?;
        T::parse(raw).map(Self)
    }
}

/// An optional field read with `parse`; a value it refuses is `invalid_input` naming the field
/// and the reason (`region: ...`).
pub fn parse_field<T, E: std::fmt::Display>(
    value: Option<&str>,
    field: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<Option<T>, ApiError> {
    value.map(parse).transpose().map_err(|e| ApiError::invalid(format!("{field}: {e}")))
}

/// RFC 3339 parsing for optional times in requests.
pub fn parse_time(value: Option<&str>, field: &str) -> Result<Option<OffsetDateTime>, ApiError> {
    value
        .map(|v| {
            OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
                .map_err(|_| ApiError::invalid(format!("{field} must be an RFC 3339 time")))
        })
        .transpose()
}

/// RFC 3339 formatting.
pub fn fmt_time(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// An id.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdResponse {
    /// The id.
    pub id: String,
}
