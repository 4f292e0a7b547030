//! The employer (tenant, the controller) and its WhatsApp channels with the DPO's approval
//! (R1, R2). No approval, no sending; an approval expires at its review date or when revoked.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use crate::actor::{Actor, Role};
use crate::calendar::add_months;
pub use crate::credential::CredentialSettings;
use crate::ids::{ChannelId, StaffId, TenantId};
use crate::retention::RetentionSettings;
use crate::values::{InvalidValue, LanguageCode, PhoneNumber, RegionCode, TemplateName};

/// Tenant-wide settings beyond retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagingSettings {
    /// How many consent-request messages may be sent before consent (R10: 1-2, default 2).
    pub consent_request_limit: u8,
    /// Business days until an objection review is due (R16, default 1).
    pub objection_review_business_days: u32,
    /// Months until a legal hold must be reviewed (R26, default 6).
    pub legal_hold_review_months: u32,
    /// Months until a channel approval must be reviewed (R1, default 12).
    pub approval_review_months: u32,
    /// The region whose national format is assumed for numbers typed without `+`/`00`
    /// (`0170 1234567` with `DE`, the default; absent in settings stored before it existed).
    #[serde(default)]
    pub default_region: RegionCode,
    /// Whether opening a conversation in the inbox tells the candidate it was read (WhatsApp's
    /// blue ticks). Off by default: a read receipt is information about the recruiter's work
    /// the employer decides to share (issue 17).
    #[serde(default)]
    pub read_receipts: bool,
}

impl Default for MessagingSettings {
    fn default() -> Self {
        Self {
            consent_request_limit: 2,
            objection_review_business_days: 1,
            legal_hold_review_months: 6,
            approval_review_months: 12,
            default_region: RegionCode::DE,
            read_receipts: false,
        }
    }
}

impl MessagingSettings {
    /// Checks the ranges of RULES.md "Defaults".
    pub fn validate(&self) -> Result<(), InvalidValue> {
        if !(1..=2).contains(&self.consent_request_limit) {
            return Err(InvalidValue::new("consent_request_limit", "must be 1 or 2"));
        }
        if !(1..=10).contains(&self.objection_review_business_days) {
            return Err(InvalidValue::new("objection_review_business_days", "must be 1 to 10"));
        }
        if !(1..=12).contains(&self.legal_hold_review_months) {
            return Err(InvalidValue::new("legal_hold_review_months", "must be 1 to 12"));
        }
        if !(1..=24).contains(&self.approval_review_months) {
            return Err(InvalidValue::new("approval_review_months", "must be 1 to 24"));
        }
        Ok(())
    }
}

/// Checks and tidies the privacy contact and the privacy-notice link (R15): blank values are
/// none (an empty link is never stored); a link must be an `http(s)://` address.
pub fn privacy_details(
    contact: Option<String>,
    notice_url: Option<String>,
) -> Result<(Option<String>, Option<String>), InvalidValue> {
    let tidy = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let (contact, notice_url) = (tidy(contact), tidy(notice_url));
    if let Some(url) = &notice_url {
        let lower = url.to_ascii_lowercase();
        let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://")).unwrap_or_default();
        if rest.is_empty() || url.chars().any(char::is_whitespace) || url.chars().count() > 500 {
            return Err(InvalidValue::new(
                "privacy_notice_url",
                "must be an http(s):// link of at most 500 characters",
            ));
        }
    }
    if contact.as_ref().is_some_and(|c| c.chars().count() > 200) {
        return Err(InvalidValue::new("privacy_contact", "at most 200 characters"));
    }
    Ok((contact, notice_url))
}

/// An employer using hoheit. Its name is that of a company, not personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Id.
    pub id: TenantId,
    /// The employer's name as candidates know it (R19: the opt-in names the business).
    pub name: String,
    /// Contact for privacy questions (the DPO's mailbox), given in HELP answers.
    pub privacy_contact: Option<String>,
    /// Link to the privacy notice, used in the first-message notice (R15).
    pub privacy_notice_url: Option<String>,
    /// Retention settings (R23-R28).
    pub retention: RetentionSettings,
    /// Messaging settings.
    pub messaging: MessagingSettings,
    /// Credential rules: token lifetimes, "DPO appointed by the admin" (absent in tenants stored
    /// before they existed: the defaults).
    #[serde(default)]
    pub credentials: CredentialSettings,
    /// When the tenant was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Tenant {
    /// A tenant with privacy-by-default settings (R36).
    pub fn new(id: TenantId, name: &str, now: OffsetDateTime) -> Result<Self, InvalidValue> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(InvalidValue::new("tenant name", "1-200 characters"));
        }
        Ok(Self {
            id,
            name: name.to_owned(),
            privacy_contact: None,
            privacy_notice_url: None,
            retention: RetentionSettings::default(),
            messaging: MessagingSettings::default(),
            credentials: CredentialSettings::default(),
            created_at: now,
        })
    }

    /// Whether the privacy-notice link and the privacy contact are both configured (R15): no
    /// channel of the tenant can send without them.
    pub fn has_notice_details(&self) -> bool {
        let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
        set(&self.privacy_notice_url) && set(&self.privacy_contact)
    }

    /// The Art. 13 / Art. 21(4) notice appended to the first free-form message of a conversation
    /// (R15), in German or English.
    pub fn first_message_notice(&self, language: &LanguageCode) -> String {
        let link = self.privacy_notice_url.as_deref().unwrap_or("");
        if language.primary() == "en" {
            format!(
                "\n\n{}: you can object to messages on WhatsApp at any time, informally: just reply STOP. Privacy notice: {}",
                self.name, link
            )
        } else {
            format!(
                "\n\n{}: Sie können Nachrichten über WhatsApp jederzeit formlos widersprechen: antworten Sie einfach STOPP. Datenschutzhinweise: {}",
                self.name, link
            )
        }
    }
}

/// The consent-request template of a channel (R10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentTemplate {
    /// Template name at 360Dialog.
    pub name: TemplateName,
    /// Its language.
    pub language: LanguageCode,
}

/// A document the DPO reviewed for the approval (privacy notice version, DPA, DPIA, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewedDocument {
    /// What it is (`privacy_notice`, `dpa_360dialog`, ...).
    pub name: String,
    /// Which version.
    pub version: String,
}

/// The DPO's sign-off of WhatsApp as a channel (R1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelApproval {
    /// Who approved (the DPO, by name: the approval is the DPO's professional act).
    pub approver_name: String,
    /// The staff account that recorded it.
    pub recorded_by: StaffId,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub approved_at: OffsetDateTime,
    /// The DPIA or threshold-analysis reference.
    pub dpia_reference: String,
    /// Documents reviewed, with versions.
    pub documents: Vec<ReviewedDocument>,
    /// When it must be reviewed again; the approval lapses then.
    #[serde(with = "time::serde::rfc3339")]
    pub review_at: OffsetDateTime,
    /// When it was revoked, if it was.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// Who created the approving DPO's credential (separation of duties, R1); `None` for
    /// approvals recorded before this was kept, or a credential of unknown origin.
    #[serde(default)]
    pub dpo_credential_created_by: Option<StaffId>,
}

/// Why an approval cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    /// Only a DPO may approve.
    #[error("only the data-protection officer can approve a channel")]
    NotDpo,
    /// Missing approver name or DPIA reference, or no documents.
    #[error("approval needs approver name, DPIA reference and at least one reviewed document")]
    Incomplete,
    /// The review date is in the past.
    #[error("review date must be in the future")]
    ReviewInPast,
}

/// The DPO's approval as entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalInput {
    /// The DPO's name.
    pub approver_name: String,
    /// DPIA or threshold-analysis reference.
    pub dpia_reference: String,
    /// Documents reviewed.
    pub documents: Vec<ReviewedDocument>,
    /// Review date (default: approval + the tenant's review period).
    pub review_at: Option<OffsetDateTime>,
}

impl ChannelApproval {
    /// Records an approval. `role` must be [`Role::Dpo`]; `review_at` defaults to approval plus the
    /// tenant's review period.
    pub fn record(
        role: Role,
        recorded_by: StaffId,
        input: ApprovalInput,
        settings: &MessagingSettings,
        now: OffsetDateTime,
    ) -> Result<Self, ApprovalError> {
        if role != Role::Dpo {
            return Err(ApprovalError::NotDpo);
        }
        let ApprovalInput { approver_name, dpia_reference, documents, review_at } = input;
        let approver_name = approver_name.trim();
        let dpia_reference = dpia_reference.trim();
        if approver_name.is_empty()
            || dpia_reference.is_empty()
            || documents.is_empty()
            || documents.iter().any(|d| d.name.trim().is_empty() || d.version.trim().is_empty())
        {
            return Err(ApprovalError::Incomplete);
        }
        let review_at = review_at.unwrap_or_else(|| add_months(now, settings.approval_review_months));
        if review_at <= now {
            return Err(ApprovalError::ReviewInPast);
        }
        Ok(Self {
            approver_name: approver_name.to_owned(),
            recorded_by,
            approved_at: now,
            dpia_reference: dpia_reference.to_owned(),
            documents,
            review_at,
            revoked_at: None,
            dpo_credential_created_by: None,
        })
    }

    /// Whether the approval allows sending at `now`.
    pub fn is_valid_at(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.approved_at <= now && now < self.review_at
    }
}

/// A tenant's WhatsApp business number, connected through 360Dialog. The API key lives in the
/// adapter's secret store, not here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// Id.
    pub id: ChannelId,
    /// Owner.
    pub tenant: TenantId,
    /// The business number (the employer's, not personal data of a candidate).
    pub display_phone_number: PhoneNumber,
    /// Meta's phone number id, used to route webhooks.
    pub phone_number_id: String,
    /// The template that asks for consent.
    pub consent_template: ConsentTemplate,
    /// The DPO's approval, if any.
    pub approval: Option<ChannelApproval>,
    /// When it was registered.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The staff identity that registered it (`None` for channels registered before this was
    /// kept); the DPO approving it must be independent of it (R1).
    #[serde(default)]
    pub registered_by: Option<StaffId>,
}

impl Channel {
    /// Whether the channel may send at `now` (R1).
    pub fn is_approved_at(&self, now: OffsetDateTime) -> bool {
        self.approval.as_ref().is_some_and(|a| a.is_valid_at(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;
    use uuid::Uuid;

    fn docs() -> Vec<ReviewedDocument> {
        vec![ReviewedDocument { name: "privacy_notice".into(), version: "v3".into() }]
    }

    /// An approval recorded by a person in `role` with the given DPIA reference.
    fn approve(role: Role, dpia_reference: &str, now: OffsetDateTime) -> Result<ChannelApproval, ApprovalError> {
        let input = ApprovalInput {
            approver_name: "Dr. Datenschutz".into(),
            dpia_reference: dpia_reference.into(),
            documents: docs(),
            review_at: None,
        };
        ChannelApproval::record(role, StaffId::from_uuid(Uuid::nil()), input, &MessagingSettings::default(), now)
    }

    #[test]
    fn only_a_dpo_can_approve_and_only_with_the_assessment_reference() {
        let refused =
            [(Role::Admin, "DSFA-2025-01", ApprovalError::NotDpo), (Role::Dpo, " ", ApprovalError::Incomplete)];
        for (role, reference, expected) in refused {
            assert_eq!(approve(role, reference, datetime!(2025-01-01 00:00 UTC)).unwrap_err(), expected);
        }
    }

    #[test]
    fn approval_expires_at_review_date_and_on_revocation() {
        let now = datetime!(2025-01-31 00:00 UTC);
        let mut approval = approve(Role::Dpo, "DSFA-2025-01", now).unwrap();
        assert_eq!(approval.review_at, datetime!(2026-01-31 00:00 UTC));
        assert!(approval.is_valid_at(now + Duration::days(300)));
        assert!(!approval.is_valid_at(datetime!(2026-01-31 00:00 UTC)));
        approval.revoked_at = Some(now + Duration::days(1));
        assert!(!approval.is_valid_at(now + Duration::days(2)));
    }

    #[test]
    fn messaging_settings_ranges() {
        assert!(MessagingSettings::default().validate().is_ok());
        let bad = MessagingSettings { consent_request_limit: 3, ..MessagingSettings::default() };
        assert!(bad.validate().is_err());
    }
}
