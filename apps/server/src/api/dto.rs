//! Request and response bodies. Converted to domain types at the edge: parse, don't validate.

use hoheit_domain::candidate::{Candidate, Lifecycle, Process};
use hoheit_domain::consent::{ConsentState, Purpose};
use hoheit_domain::retention::next_due;
use hoheit_domain::tenant::Tenant;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::error::ApiError;

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

/// `POST /api/v1/tenants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// The employer's name as candidates know it.
    pub name: String,
    /// Privacy contact (the DPO's mailbox), used in help answers and confirmations.
    pub privacy_contact: Option<String>,
    /// Link to the privacy notice, used in the first-message notice.
    pub privacy_notice_url: Option<String>,
}

/// The new tenant and its first admin token (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantCreated {
    /// Tenant id.
    pub id: String,
    /// Bearer token of the tenant's first admin. Store it now: it is shown only once.
    pub admin_token: String,
}

/// A tenant as the operator sees it (no personal data).
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantSummary {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Created.
    pub created_at: String,
}

/// `POST /api/v1/tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// `admin`, `dpo` or `recruiter`.
    pub role: String,
    /// A label (not a person's name, e.g. "recruiting team Berlin").
    pub label: String,
}

/// A new token (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCreated {
    /// The identity the token acts as.
    pub id: String,
    /// The role.
    pub role: String,
    /// The bearer token. Shown only once.
    pub token: String,
}

/// Template reference.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateRef {
    /// Template name.
    pub name: String,
    /// Language code (`de`, `en_US`).
    pub language: String,
}

/// `POST /api/v1/channels`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChannel {
    /// The business number (E.164).
    pub display_phone_number: String,
    /// Meta's phone number id.
    pub phone_number_id: String,
    /// The channel's 360Dialog API key (stored encrypted, never shown again).
    pub api_key: String,
    /// API base URL (default 360Dialog's production Cloud API).
    pub base_url: Option<String>,
    /// The consent-request template (must carry the Art. 13 / 21(4) notice).
    pub consent_template: TemplateRef,
    /// Optional HMAC secret for `x-360dialog-signature` (partner webhooks).
    pub webhook_hmac_secret: Option<String>,
}

/// The new channel and how 360Dialog must call us.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelCreated {
    /// Channel id.
    pub id: String,
    /// Path of the webhook URL (append to the public base URL).
    pub webhook_url_path: String,
    /// Value of the `x-hoheit-webhook-secret` header 360Dialog must send (shown once).
    pub webhook_secret: String,
    /// Name of that header.
    pub webhook_secret_header: String,
    /// Whether the webhook was registered with 360Dialog automatically (needs `public_url`).
    pub webhook_registered: bool,
    /// Templates synced from 360Dialog.
    pub templates_synced: u32,
}

/// A channel as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelView {
    /// Id.
    pub id: String,
    /// Business number.
    pub display_phone_number: String,
    /// Meta's phone number id.
    pub phone_number_id: String,
    /// Consent template.
    pub consent_template: TemplateRef,
    /// Whether a valid DPO approval exists now.
    pub approved: bool,
    /// When the approval must be reviewed.
    pub approval_review_at: Option<String>,
}

/// A reviewed document.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentDto {
    /// What it is (`privacy_notice`, `dpa_360dialog`, `dpia`).
    pub name: String,
    /// Which version.
    pub version: String,
}

/// `POST /api/v1/channels/{id}/approval`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Approve {
    /// The DPO's name.
    pub approver_name: String,
    /// DPIA or threshold-analysis reference.
    pub dpia_reference: String,
    /// Documents reviewed. Accepts objects `{name, version}` or strings `"name@version"`.
    pub documents: Vec<DocumentInput>,
    /// Review date (default: in 12 months).
    pub review_at: Option<String>,
}

/// A document as object or `"name@version"` string.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum DocumentInput {
    /// `{name, version}`.
    Object(DocumentDto),
    /// `"privacy_notice@v3"` (without `@`, the version is `"unversioned"`).
    Text(String),
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

/// Retention policy (R23-R28).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionPolicyDto {
    /// Erase this many months after the process ended (3-6).
    pub erase_after_months: u32,
    /// Legal-claims window after a rejection, in months (2-6, at most erase_after_months).
    pub claims_window_months: u32,
    /// Talent-pool consent duration in months (1-24).
    pub talent_pool_months: u32,
    /// Restrict after this many days without activity (7-730), or null for off.
    pub archive_after_days: Option<u32>,
    /// A process with no recorded end counts as ended this many months after the last activity
    /// (3-12, default 6); the erase period then runs (R24). Omitted in a `PUT`: unchanged.
    #[serde(default)]
    pub process_end_after_inactive_months: Option<u32>,
}

/// Tenant settings.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsDto {
    /// Privacy contact.
    pub privacy_contact: Option<String>,
    /// Privacy notice link.
    pub privacy_notice_url: Option<String>,
    /// Consent-request messages before consent (1-2).
    pub consent_request_limit: u8,
    /// Business days until an objection review is due.
    pub objection_review_business_days: u32,
    /// Months until a legal hold must be reviewed.
    pub legal_hold_review_months: u32,
    /// Months until a channel approval must be reviewed.
    pub approval_review_months: u32,
    /// Region (ISO 3166-1 alpha-2) assumed for candidate numbers typed without `+`/`00`, e.g.
    /// `0170 1234567`. Default `DE`; omitted in a PUT it stays as it is.
    #[serde(default)]
    pub default_region: Option<String>,
}

impl SettingsDto {
    /// From the tenant.
    pub fn from_tenant(t: &Tenant) -> Self {
        Self {
            privacy_contact: t.privacy_contact.clone(),
            privacy_notice_url: t.privacy_notice_url.clone(),
            consent_request_limit: t.messaging.consent_request_limit,
            objection_review_business_days: t.messaging.objection_review_business_days,
            legal_hold_review_months: t.messaging.legal_hold_review_months,
            approval_review_months: t.messaging.approval_review_months,
            default_region: Some(t.messaging.default_region.as_str().to_owned()),
        }
    }
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

/// An id.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdResponse {
    /// The id.
    pub id: String,
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
                let state = c.consents.state(*p, now, tp);
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
                objected: c.objection.is_objected(),
                since: c.objection.active.as_ref().map(|o| fmt_time(o.at)),
                source: c.objection.active.as_ref().map(|o| o.source.as_str().to_owned()),
                review: c.objection.review.as_ref().map(|r| ReviewView {
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

/// `POST /api/v1/candidates/{id}/messages`: `{text}` or `{template}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    /// Free text (inside the 24-hour window).
    pub text: Option<String>,
    /// A template.
    pub template: Option<SendTemplate>,
}

/// A template to send.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendTemplate {
    /// Name.
    pub name: String,
    /// Language.
    pub language: String,
    /// Body parameters.
    #[serde(default)]
    pub parameters: Vec<String>,
}

/// A queued message.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuedResponse {
    /// Message id.
    pub message_id: String,
    /// Always `queued`.
    pub status: String,
}

/// Answer to an erasure request.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureResponse {
    /// `erased` (also when it was erased before).
    pub status: String,
}

/// Retention run counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetentionRunResponse {
    /// Whether it only previewed.
    pub dry_run: bool,
    /// Candidates examined.
    pub examined: u64,
    /// Restricted.
    pub restricted: u64,
    /// Erased.
    pub erased: u64,
    /// Kept because of a legal hold.
    pub held: u64,
}

/// `POST /api/v1/subject-requests`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenSubjectRequest {
    /// `access`, `erasure`, `restriction`, `objection`, `portability`.
    pub kind: String,
    /// The candidate, if identified.
    pub candidate_id: Option<String>,
    /// How it arrived.
    pub channel: String,
    /// When it was received (default now).
    pub received_at: Option<String>,
}
