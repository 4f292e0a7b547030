//! The OpenAPI document, generated from the handlers' annotations and the DTO types.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::{admin, audit, candidates, dto, workflows};
use crate::error::{ErrorBody, ErrorDetail};

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
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
            payload_too_large, rate_limited, legal_claims_window, unavailable, internal."
    ),
    paths(
        admin::create_tenant, admin::list_tenants, admin::create_token, admin::get_settings, admin::put_settings,
        admin::get_retention, admin::put_retention, admin::create_channel, admin::list_channels,
        admin::approve_channel, admin::revoke_approval, admin::sync_templates, admin::publish_legal_text,
        admin::list_legal_texts,
        candidates::create, candidates::list, candidates::get, candidates::consent_request, candidates::record_consent,
        candidates::record_withdrawal, candidates::record_objection, candidates::end_process, candidates::set_hold,
        candidates::release_hold, candidates::messages, candidates::send, candidates::export, candidates::erasure, candidates::restrict, candidates::lift_restriction,
        candidates::reviews, candidates::subject_requests, candidates::open_subject_request,
        audit::run_retention, audit::verify, audit::checkpoint, audit::public_key, audit::entries,
        crate::webhook::receive_doc, crate::health_doc, crate::ready_doc, crate::metrics_doc,
        workflows::review, workflows::review_message, workflows::decide_review, workflows::due_subject_requests,
        workflows::subject_request, workflows::extend_subject_request, workflows::fulfil_subject_request,
        workflows::close_subject_request, workflows::list_templates, workflows::mark_template, workflows::list_media,
        workflows::read_media, workflows::send_document, workflows::records_of_processing, workflows::privacy_notice,
    ),
    components(schemas(
        ErrorBody, ErrorDetail, dto::CreateTenant, dto::TenantCreated, dto::TenantSummary, dto::CreateToken,
        dto::TokenCreated, dto::TemplateRef, dto::CreateChannel, dto::ChannelCreated, dto::ChannelView,
        dto::DocumentDto, dto::DocumentInput, dto::Approve, dto::PublishLegalText, dto::LegalTextView,
        dto::RetentionPolicyDto, dto::SettingsDto, dto::CreateCandidate, dto::IdResponse, dto::ConsentView,
        dto::ObjectionView, dto::ReviewView, dto::HoldView, dto::ProcessView, dto::CandidateView,
        dto::RecordConsent, dto::RecordWithdrawal, dto::RecordObjection, dto::EndProcess, dto::SetHold,
        dto::SendMessage, dto::SendTemplate, dto::QueuedResponse, dto::ErasureResponse,
        dto::RetentionRunResponse, dto::OpenSubjectRequest,
        workflows::ReviewReason, workflows::ReviewDetail, workflows::ReviewMessage, workflows::DecideReview,
        workflows::FulfilmentView, workflows::SubjectRequestView, workflows::DueSubjectRequests,
        workflows::ExtendSubjectRequest, workflows::FulfilSubjectRequest, workflows::ErasureView,
        workflows::FulfilmentResponse, workflows::CloseSubjectRequest, workflows::TemplateView, workflows::MarkTemplate,
        workflows::MediaView, workflows::SendDocument, workflows::PrivacyNoticeSection,
    )),
    modifiers(&Bearer),
)]
#[derive(Debug)]
pub struct ApiDoc;

/// The document as pretty JSON.
pub fn spec_json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_else(|_| "{}".to_owned())
}
