//! The OpenAPI document: the top-level description (info, security, the routes outside
//! `/api/v1`) here; the API's paths and schemas come from the resources' routers
//! ([`crate::api::routes`]), generated from the handlers' annotations.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use utoipa_axum::router::OpenApiRouter;

use crate::error::{ErrorBody, ErrorDetail};
use crate::state::AppState;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
        // the browser's session cookie (issue 16); state changes also need X-CSRF-Token
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Cookie(
                utoipa::openapi::security::ApiKeyValue::new(hoheit_domain::staff::SESSION_COOKIE),
            )),
        );
    }
}

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "hoheit",
        description = "GDPR-safe WhatsApp messaging with job candidates through 360Dialog. Errors are \
            {\"error\":{\"code\",\"message\"}} with stable codes: the send policy's refusal codes \
            (channel_not_approved, candidate_erased, candidate_restricted, legal_hold, objected, \
            objection_review_pending, consent_missing, consent_withdrawn, consent_outdated, \
            consent_request_limit, window_closed, template_not_approved, marketing_not_consented, \
            missing_notice) and unauthorized, forbidden, not_found, invalid_input, conflict, \
            payload_too_large, rate_limited, legal_claims_window, unavailable, internal, \
            base_url_not_allowed, channel_not_available."
    ),
    paths(crate::webhook::receive_doc, crate::health_doc, crate::ready_doc, crate::metrics_doc),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&Bearer),
)]
#[derive(Debug)]
pub struct ApiDoc;

/// The whole document: the top level plus every resource's routes under `/api/v1`.
pub fn document() -> utoipa::openapi::OpenApi {
    OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi()).nest("/api/v1", crate::api::routes()).into_openapi()
}

/// The document as pretty JSON.
pub fn spec_json() -> String {
    document().to_pretty_json().unwrap_or_else(|_| "{}".to_owned())
}
