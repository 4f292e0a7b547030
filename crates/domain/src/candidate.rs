//! The candidate (data subject) aggregate: contact details, lifecycle (Active -> Restricted ->
//! Erased), the application process, legal holds (R26), consents, objection and conversation.
//! Everything a send or retention decision needs about one person is here, so a use case loads
//! one aggregate, decides, and commits it back with an expected version (optimistic locking).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::consent::ConsentLedger;
use crate::conversation::ConversationState;
use crate::ids::{CandidateId, ChannelId, HoldId, StaffId, TenantId};
use crate::inbound::ContactKey;
use crate::objection::ObjectionState;
use crate::values::{InvalidValue, LanguageCode, PhoneNumber, Pii, WaUserId};

/// How to reach the candidate. All personal data.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Contact {
    /// The number, if known.
    pub phone: Option<PhoneNumber>,
    /// The business-scoped user id, if known.
    pub wa_user_id: Option<WaUserId>,
    /// Name as entered by the recruiter.
    pub name: Option<Pii<String>>,
    /// WhatsApp profile name.
    pub profile_name: Option<Pii<String>>,
}

impl Contact {
    /// The keys the store indexes (blind index) to find this candidate from a webhook.
    pub fn keys(&self) -> Vec<ContactKey> {
        let mut keys = Vec::with_capacity(2);
        if let Some(phone) = &self.phone {
            keys.push(ContactKey::Phone(phone.clone()));
        }
        if let Some(user) = &self.wa_user_id {
            keys.push(ContactKey::User(user.clone()));
        }
        keys
    }
}

/// Why processing is restricted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestrictionReason {
    /// Archived after inactivity (R25).
    Inactivity,
    /// The candidate asked for restriction (Art. 18, R32).
    SubjectRequest,
    /// Erasure requested inside the legal-claims window; erased when it ends (R31).
    ErasureDeferred,
}

impl RestrictionReason {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Inactivity => "inactivity",
            Self::SubjectRequest => "subject_request",
            Self::ErasureDeferred => "erasure_deferred",
        }
    }
}

/// Why a candidate was erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErasureReason {
    /// The retention period ran out (R24).
    RetentionExpired,
    /// The candidate asked for erasure (Art. 17).
    SubjectRequest,
    /// Consent for the talent pool ran out or was withdrawn after the process ended.
    TalentPoolEnded,
}

impl ErasureReason {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RetentionExpired => "retention_expired",
            Self::SubjectRequest => "subject_request",
            Self::TalentPoolEnded => "talent_pool_ended",
        }
    }
}

/// Lifecycle of a candidate's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Lifecycle {
    /// Normal processing.
    Active,
    /// Only storage and legal defence (R25, R31, R32).
    Restricted {
        /// Since.
        #[serde(with = "time::serde::rfc3339")]
        since: OffsetDateTime,
        /// Why.
        reason: RestrictionReason,
    },
    /// Personal data erased; only the content-free tombstone remains (R27).
    Erased {
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        /// Why.
        reason: ErasureReason,
    },
}

stable_names!(
    Lifecycle,
    /// Stable name.
    fn as_str(&self) {
        Active => "active",
        Restricted => "restricted",
        Erased => "erased",
    }
);

/// How an application process ended (R24).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessEndReason {
    /// The rejection was delivered.
    Rejected,
    /// The candidate withdrew.
    Withdrawn,
    /// The candidate was hired (data moves to the personnel file, outside hoheit).
    Hired,
    /// The vacancy closed.
    VacancyClosed,
}

impl ProcessEndReason {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
            Self::Hired => "hired",
            Self::VacancyClosed => "vacancy_closed",
        }
    }

    /// Parses the stable name.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        match value {
            "rejected" => Ok(Self::Rejected),
            "withdrawn" => Ok(Self::Withdrawn),
            "hired" => Ok(Self::Hired),
            "vacancy_closed" => Ok(Self::VacancyClosed),
            _ => Err(InvalidValue::new("reason", "expected rejected, withdrawn, hired or vacancy_closed")),
        }
    }

    /// Whether an AGG discrimination claim can follow (§15(4) AGG): after a rejection or when
    /// the vacancy closed without the candidate.
    pub const fn opens_claims_window(self) -> bool {
        matches!(self, Self::Rejected | Self::VacancyClosed)
    }
}

/// The application process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Process {
    /// Still running.
    Running,
    /// Ended.
    Ended {
        /// Why.
        reason: ProcessEndReason,
        /// When (delivery of the rejection, the withdrawal, the closing).
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
}

/// Why data is held (R26).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    /// The candidate asserted a claim (AGG, court).
    ClaimAsserted,
    /// An authority inquiry.
    AuthorityInquiry,
    /// Another legal obligation.
    Other,
}

impl HoldReason {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ClaimAsserted => "claim_asserted",
            Self::AuthorityInquiry => "authority_inquiry",
            Self::Other => "other",
        }
    }

    /// Parses the stable name.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        match value {
            "claim_asserted" => Ok(Self::ClaimAsserted),
            "authority_inquiry" => Ok(Self::AuthorityInquiry),
            "other" => Ok(Self::Other),
            _ => Err(InvalidValue::new("hold reason", "expected claim_asserted, authority_inquiry or other")),
        }
    }
}

/// A legal hold: blocks erasure and messaging until released (R26).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalHold {
    /// Id.
    pub id: HoldId,
    /// Why.
    pub reason: HoldReason,
    /// Case reference (may name people: encrypted at rest).
    pub reference: Option<Pii<String>>,
    /// Set when.
    #[serde(with = "time::serde::rfc3339")]
    pub set_at: OffsetDateTime,
    /// Set by.
    pub set_by: StaffId,
    /// When it must be reviewed.
    #[serde(with = "time::serde::rfc3339")]
    pub review_at: OffsetDateTime,
    /// Released when.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub released_at: Option<OffsetDateTime>,
    /// Released by whom.
    pub released_by: Option<StaffId>,
}

impl LegalHold {
    /// Whether the hold is in force.
    pub const fn is_active(&self) -> bool {
        self.released_at.is_none()
    }
}

/// Where the candidate record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CandidateSource {
    /// A recruiter created it.
    Recruiter,
    /// An unknown number wrote to the business number.
    Inbound,
}

impl CandidateSource {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Recruiter => "recruiter",
            Self::Inbound => "inbound",
        }
    }
}

/// The candidate aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// Id.
    pub id: CandidateId,
    /// Tenant.
    pub tenant: TenantId,
    /// The channel the candidate is contacted through.
    pub channel: ChannelId,
    /// Optimistic-locking version, incremented by every committed change.
    pub version: u64,
    /// Where the record came from.
    pub source: CandidateSource,
    /// Contact details.
    pub contact: Contact,
    /// Preferred language of legal texts and notices.
    pub language: LanguageCode,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Lifecycle.
    pub lifecycle: Lifecycle,
    /// Application process.
    pub process: Process,
    /// Legal holds, past and present.
    pub holds: Vec<LegalHold>,
    /// Consent ledger: read with [`Candidate::consents`], changed through the consent methods.
    pub(crate) consents: ConsentLedger,
    /// Objection state: read with [`Candidate::objection`], changed through the objection methods.
    pub(crate) objection: ObjectionState,
    /// Conversation state.
    pub conversation: ConversationState,
    /// An erasure request deferred by the legal-claims window (R31): erase at this time.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub erasure_deferred_until: Option<OffsetDateTime>,
    /// The staff member the conversation is assigned to in the inbox, if any (issue 17).
    #[serde(default)]
    pub assignee: Option<crate::ids::StaffId>,
}

impl Candidate {
    /// The consent ledger (R3-R9). It changes only through [`Candidate::request_consent`],
    /// [`Candidate::grant_consent`], [`Candidate::decline_consent`] and
    /// [`Candidate::withdraw_consent`].
    pub const fn consents(&self) -> &ConsentLedger {
        &self.consents
    }

    /// The objection state (R11-R16). It changes only through [`Candidate::apply_objection`],
    /// [`Candidate::note_inbound_after_objection`], [`Candidate::objection_confirmed`] and the
    /// review methods.
    pub const fn objection(&self) -> &ObjectionState {
        &self.objection
    }

    /// Records that the consent request was sent, with the texts it showed.
    pub fn request_consent(
        &mut self,
        request: crate::ids::ConsentRequestId,
        purpose: crate::consent::Purpose,
        texts_shown: Vec<crate::legal::LegalTextRef>,
        language: LanguageCode,
        at: OffsetDateTime,
    ) {
        self.consents.request(request, purpose, texts_shown, language, at);
    }

    /// Records a consent with its evidence (R4, R5).
    ///
    /// # Errors
    /// The ledger's refusal (no texts shown, recorded in the future, ...).
    pub fn grant_consent(
        &mut self,
        evidence: crate::consent::ConsentEvidence,
        now: OffsetDateTime,
    ) -> Result<(), crate::consent::ConsentError> {
        self.consents.grant(evidence, now)
    }

    /// Records that the candidate declined a consent request; the purpose it asked for.
    ///
    /// # Errors
    /// The request is unknown.
    pub fn decline_consent(
        &mut self,
        request: crate::ids::ConsentRequestId,
        at: OffsetDateTime,
    ) -> Result<crate::consent::Purpose, crate::consent::ConsentError> {
        self.consents.decline(request, at)
    }

    /// Withdraws a granted consent (R8); false if there was none in force.
    pub fn withdraw_consent(
        &mut self,
        purpose: crate::consent::Purpose,
        at: OffsetDateTime,
        via: crate::consent::WithdrawalVia,
        talent_pool_months: u32,
    ) -> bool {
        self.consents.withdraw(purpose, at, via, talent_pool_months)
    }

    /// Applies an objection (R11); false if one is in force already.
    pub fn apply_objection(&mut self, objection: crate::objection::Objection) -> bool {
        self.objection.apply(objection)
    }

    /// Notes a message of the candidate after the objection (R14: it may be answered once).
    pub fn note_inbound_after_objection(&mut self, at: OffsetDateTime, substantive: bool) {
        self.objection.note_inbound(at, substantive);
    }

    /// Records that the single objection confirmation was sent (R13).
    pub fn objection_confirmed(&mut self) {
        self.objection.confirmation_sent = true;
    }

    /// Opens (or replaces) the pending review of a possible objection (R16).
    pub fn open_review(&mut self, review: crate::objection::PendingReview) {
        self.objection.review = Some(review);
    }

    /// Closes the pending review (decided).
    pub fn close_review(&mut self) {
        self.objection.review = None;
    }

    /// A new, active candidate with a running process.
    pub fn new(
        id: CandidateId,
        tenant: TenantId,
        channel: ChannelId,
        source: CandidateSource,
        contact: Contact,
        language: LanguageCode,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            tenant,
            channel,
            version: 0,
            source,
            contact,
            language,
            created_at: now,
            lifecycle: Lifecycle::Active,
            process: Process::Running,
            holds: Vec::new(),
            consents: ConsentLedger::default(),
            objection: ObjectionState::default(),
            conversation: ConversationState::default(),
            erasure_deferred_until: None,
            assignee: None,
        }
    }

    /// Whether any legal hold is in force.
    pub fn is_held(&self) -> bool {
        self.holds.iter().any(LegalHold::is_active)
    }

    /// The earliest review date of the holds in force, `None` when none is (R26). Stores keep
    /// it in clear so due reviews are found without unsealing candidates.
    pub fn hold_review_at(&self) -> Option<OffsetDateTime> {
        self.holds.iter().filter(|h| h.is_active()).map(|h| h.review_at).min()
    }

    /// Whether the data is erased.
    pub const fn is_erased(&self) -> bool {
        matches!(self.lifecycle, Lifecycle::Erased { .. })
    }

    /// When the process ended, if it did.
    pub const fn process_ended_at(&self) -> Option<OffsetDateTime> {
        match self.process {
            Process::Ended { at, .. } => Some(at),
            Process::Running => None,
        }
    }

    /// The content-free tombstone left after erasure (R27): no contact, no notes, no IPs; the
    /// consent and objection evidence without personal data; holds without references.
    pub fn erased(&self, at: OffsetDateTime, reason: ErasureReason) -> Self {
        Self {
            contact: Contact::default(),
            lifecycle: Lifecycle::Erased { at, reason },
            consents: self.consents.without_personal_data(),
            objection: self.objection.without_personal_data(),
            holds: self.holds.iter().map(|h| LegalHold { reference: None, ..h.clone() }).collect(),
            erasure_deferred_until: None,
            assignee: None,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::Actor;
    use crate::consent::{CaptureChannel, ConsentEvidence, ConsentMethod, Purpose};
    use time::macros::datetime;
    use uuid::Uuid;

    #[test]
    fn tombstone_holds_no_personal_data() {
        let now = datetime!(2025-01-01 00:00 UTC);
        let mut c = Candidate::new(
            CandidateId::from_uuid(Uuid::from_u128(1)),
            TenantId::from_uuid(Uuid::from_u128(2)),
            ChannelId::from_uuid(Uuid::from_u128(3)),
            CandidateSource::Recruiter,
            Contact {
                phone: Some(PhoneNumber::parse("+49 170 1234567").unwrap()),
                wa_user_id: None,
                name: Some("Erika Mustermann".into()),
                profile_name: Some("Erika".into()),
            },
            LanguageCode::german(),
            now,
        );
        c.consents
            .grant(
                ConsentEvidence {
                    purpose: Purpose::WhatsAppChannel,
                    method: ConsentMethod::WebForm {
                        form_id: "f1".into(),
                        ip: "198.51.100.7".into(),
                        user_agent: "UA-canary".into(),
                    },
                    capture_channel: CaptureChannel::Web,
                    texts_shown: vec![crate::legal::terms_v1_shown()],
                    language: LanguageCode::german(),
                    recorded_at: now,
                    given_at: None,
                    recorded_by: Actor::System,
                },
                now,
            )
            .unwrap();
        c.holds.push(LegalHold {
            id: HoldId::from_uuid(Uuid::from_u128(9)),
            reason: HoldReason::ClaimAsserted,
            reference: Some("Az. 12 Ca 345/25 Mustermann".into()),
            set_at: now,
            set_by: StaffId::from_uuid(Uuid::nil()),
            review_at: now,
            released_at: Some(now),
            released_by: Some(StaffId::from_uuid(Uuid::nil())),
        });
        // WhatsApp evidence: an opt-in keyword, a withdrawal and an objection, each naming the
        // message's wamid, which WhatsApp builds from the number (issue 13)
        let wamid = crate::values::Wamid::parse("wamid.HBgNNDkxNzAxMjM0NTY3FQIAEhggQUFBQQA=").unwrap();
        c.consents
            .grant(
                ConsentEvidence {
                    purpose: Purpose::TalentPool,
                    method: ConsentMethod::OptInKeyword { provider_id: Some(wamid.clone()), provider_at: now },
                    capture_channel: CaptureChannel::WhatsApp,
                    texts_shown: Vec::new(),
                    language: LanguageCode::german(),
                    recorded_at: now,
                    given_at: Some(now),
                    recorded_by: Actor::Candidate,
                },
                now,
            )
            .unwrap();
        c.consents.withdraw(
            Purpose::TalentPool,
            now,
            crate::consent::WithdrawalVia::WhatsApp { provider_id: Some(wamid.clone()) },
            12,
        );
        c.objection.apply(crate::objection::Objection {
            at: now,
            source: crate::objection::ObjectionSource::WhatsApp {
                provider_id: Some(wamid.clone()),
                reason: crate::classifier::ObjectionReason::OptOutButton,
            },
            scope: crate::objection::ObjectionScope::AllWhatsApp,
        });
        let tomb = c.erased(now, ErasureReason::RetentionExpired);
        // serialise everything that is left and look for any personal value
        let dump = serde_json::to_string(&tomb).unwrap();
        assert!(serde_json::to_string(&c).unwrap().contains(wamid.as_str()), "the wamid check can fail");
        assert!(tomb.objection.is_objected(), "objection history kept");
        for needle in ["1701234567", "Erika", "198.51.100.7", "UA-canary", "Mustermann", "wamid.", "NDkxNzAx"] {
            assert!(!dump.contains(needle), "{needle} survived erasure");
        }
        assert!(serde_json::to_string(&c).unwrap().contains("UA-canary"), "the check can fail");
        assert!(tomb.is_erased());
        assert!(tomb.consents.state(Purpose::WhatsAppChannel, now, 12).is_granted(), "evidence kept");
    }
}
