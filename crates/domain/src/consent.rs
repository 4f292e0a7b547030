//! Consent per purpose (R3-R10) as a state machine over an append-only evidence ledger.
//!
//! Only affirmative acts grant consent: a reply button of a consent request, the opt-in keyword,
//! a ticked web form, a signed form, or a recruiter recording a verbal consent. There is no way to
//! express "imported", "implied" or "has a phone number in the CV": such methods are rejected by
//! [`ConsentMethodKind::parse`] and have no variant in [`ConsentMethod`].

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::actor::Actor;
use crate::calendar::add_months;
use crate::ids::{ConsentRequestId, StaffId};
use crate::legal::{LegalTextCatalogue, LegalTextRef};
use crate::values::{LanguageCode, Pii, Wamid};

/// A purpose that needs consent. One record = one purpose of one controller (R3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Communication about the application over WhatsApp.
    WhatsAppChannel,
    /// Keeping the candidate in the talent pool for other vacancies.
    TalentPool,
}

stable_names!(
    Purpose,
    /// Stable name.
    fn as_str(self) {
        WhatsAppChannel => "whatsapp_channel",
        TalentPool => "talent_pool",
    }
    parse: "purpose", "expected whatsapp_channel or talent_pool"
);

impl Purpose {
    /// All purposes.
    pub const ALL: [Self; 2] = [Self::WhatsAppChannel, Self::TalentPool];
}

/// How consent was captured, with the method's own evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum ConsentMethod {
    /// The candidate tapped "agree" on our consent request.
    ButtonReply {
        /// The request the button belonged to.
        request: ConsentRequestId,
        /// The wamid of the reply. Personal data (WhatsApp builds it from the number): kept
        /// sealed while the candidate exists, dropped from the erasure tombstone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provider_id: Option<Wamid>,
        /// WhatsApp's timestamp of the reply.
        #[serde(with = "time::serde::rfc3339")]
        provider_at: OffsetDateTime,
    },
    /// The candidate sent the bare opt-in keyword while opted out (R14).
    OptInKeyword {
        /// The wamid of the message (personal data; dropped from the erasure tombstone).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provider_id: Option<Wamid>,
        /// WhatsApp's timestamp.
        #[serde(with = "time::serde::rfc3339")]
        provider_at: OffsetDateTime,
    },
    /// A ticked checkbox on a web form.
    WebForm {
        /// Which form (and version).
        form_id: String,
        /// Client IP address.
        ip: Pii<String>,
        /// Client user agent.
        user_agent: Pii<String>,
    },
    /// A signed paper or electronic form.
    SignedForm {
        /// Where the signed document is filed.
        document_ref: Pii<String>,
    },
    /// A recruiter records a verbal consent (phone, in person).
    RecordedVerbal {
        /// The recruiter.
        staff: StaffId,
        /// Their note (content; encrypted at rest).
        note: Option<Pii<String>>,
    },
}

impl ConsentMethod {
    /// The kind of method.
    pub const fn kind(&self) -> ConsentMethodKind {
        match self {
            Self::ButtonReply { .. } => ConsentMethodKind::ButtonReply,
            Self::OptInKeyword { .. } => ConsentMethodKind::OptInKeyword,
            Self::WebForm { .. } => ConsentMethodKind::WebForm,
            Self::SignedForm { .. } => ConsentMethodKind::SignedForm,
            Self::RecordedVerbal { .. } => ConsentMethodKind::RecordedVerbal,
        }
    }

    /// The method with all personal data removed (what survives erasure, R27).
    pub fn without_personal_data(&self) -> Self {
        match self {
            // the wamid is built from the candidate's number: not in the tombstone (issue 13)
            Self::ButtonReply { request, provider_at, .. } => {
                Self::ButtonReply { request: *request, provider_id: None, provider_at: *provider_at }
            }
            Self::OptInKeyword { provider_at, .. } => {
                Self::OptInKeyword { provider_id: None, provider_at: *provider_at }
            }
            Self::WebForm { form_id, .. } => {
                Self::WebForm { form_id: form_id.clone(), ip: Pii::default(), user_agent: Pii::default() }
            }
            Self::SignedForm { .. } => Self::SignedForm { document_ref: Pii::default() },
            Self::RecordedVerbal { staff, .. } => Self::RecordedVerbal { staff: *staff, note: None },
        }
    }
}

/// The kind of an affirmative consent method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentMethodKind {
    /// Reply button.
    ButtonReply,
    /// Opt-in keyword.
    OptInKeyword,
    /// Web form.
    WebForm,
    /// Signed form.
    SignedForm,
    /// Verbal, recorded by a recruiter.
    RecordedVerbal,
}

/// Why a consent method was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentMethodError {
    /// Import, silence, an implied consent: not an affirmative act (R4).
    #[error("'{0}' is not an affirmative act and cannot grant consent")]
    NotAffirmative(String),
    /// Unknown method name.
    #[error("unknown consent method")]
    Unknown,
}

impl ConsentMethodKind {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ButtonReply => "button_reply",
            Self::OptInKeyword => "opt_in_keyword",
            Self::WebForm => "web_form",
            Self::SignedForm => "signed_form",
            Self::RecordedVerbal => "recorded_verbal",
        }
    }

    /// Parses a method name given by an API caller; rejects non-affirmative methods by name.
    pub fn parse(value: &str) -> Result<Self, ConsentMethodError> {
        let normalised = value.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        match normalised.as_str() {
            "button_reply" => Ok(Self::ButtonReply),
            "opt_in_keyword" => Ok(Self::OptInKeyword),
            "web_form" => Ok(Self::WebForm),
            "signed_form" => Ok(Self::SignedForm),
            "recorded_verbal" | "verbal" => Ok(Self::RecordedVerbal),
            "import"
            | "imported"
            | "silence"
            | "implied"
            | "implicit"
            | "cv"
            | "phone_in_cv"
            | "pre_ticked"
            | "opt_out"
            | "legitimate_interest"
            | "bulk" => Err(ConsentMethodError::NotAffirmative(normalised)),
            _ => Err(ConsentMethodError::Unknown),
        }
    }
}

impl FromStr for ConsentMethodKind {
    type Err = ConsentMethodError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Where the consent was captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureChannel {
    /// In WhatsApp.
    WhatsApp,
    /// On a web page.
    Web,
    /// By phone.
    Phone,
    /// In person.
    InPerson,
    /// By e-mail.
    Email,
    /// On paper.
    Paper,
}

stable_names!(
    CaptureChannel,
    /// Stable name.
    fn as_str(self) {
        WhatsApp => "whatsapp",
        Web => "web",
        Phone => "phone",
        InPerson => "in_person",
        Email => "email",
        Paper => "paper",
    }
    parse: "channel", "expected whatsapp, web, phone, in_person, email or paper"
);

/// The complete evidence of one consent (R5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentEvidence {
    /// Purpose.
    pub purpose: Purpose,
    /// Method with its own evidence.
    pub method: ConsentMethod,
    /// Where it was captured.
    pub capture_channel: CaptureChannel,
    /// Exact texts shown (version + SHA-256).
    pub texts_shown: Vec<LegalTextRef>,
    /// Language of the texts.
    pub language: LanguageCode,
    /// Server UTC time of recording: always the server's clock when the evidence was stored.
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    /// When the candidate gave the consent, as far as known: the provider timestamp of a
    /// WhatsApp reply, or the time staff state for a consent captured elsewhere (never later
    /// than `recorded_at` for staff). Evidence stored before this field existed has none.
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub given_at: Option<OffsetDateTime>,
    /// Who recorded it.
    pub recorded_by: Actor,
}

/// How a withdrawal arrived (R8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum WithdrawalVia {
    /// A WhatsApp message or button.
    WhatsApp {
        /// Its wamid (personal data; dropped from the erasure tombstone).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provider_id: Option<Wamid>,
    },
    /// As part of an objection (R13).
    Objection,
    /// Recorded by staff from another channel (mail, phone).
    Staff {
        /// Who recorded it.
        staff: StaffId,
        /// The channel it came by.
        channel: CaptureChannel,
    },
    /// Talent-pool consent ran out (R9).
    Expiry,
}

/// One entry of the append-only ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
pub enum ConsentEntry {
    /// A consent request was queued for sending.
    Requested {
        /// Id, quoted in the button payloads.
        request: ConsentRequestId,
        /// Purpose asked for.
        purpose: Purpose,
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        /// Texts the request shows.
        texts_shown: Vec<LegalTextRef>,
        /// Language.
        language: LanguageCode,
    },
    /// Consent given.
    Granted(ConsentEvidence),
    /// The candidate said no to a request.
    Declined {
        /// Purpose.
        purpose: Purpose,
        /// The request answered.
        request: ConsentRequestId,
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// Consent withdrawn (effective at `at`, ex nunc).
    Withdrawn {
        /// Purpose.
        purpose: Purpose,
        /// Effective time (the message's timestamp for WhatsApp withdrawals).
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        /// How.
        via: WithdrawalVia,
    },
}

impl ConsentEntry {
    /// The purpose of the entry.
    pub const fn purpose(&self) -> Purpose {
        match self {
            Self::Requested { purpose, .. } | Self::Declined { purpose, .. } | Self::Withdrawn { purpose, .. } => {
                *purpose
            }
            Self::Granted(evidence) => evidence.purpose,
        }
    }
}

/// The state of one purpose at a point in time, derived from the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConsentState {
    /// Never asked, never given.
    None,
    /// Asked; no answer yet.
    Requested {
        /// Requests since the last decision.
        count: u8,
        /// The latest.
        #[serde(with = "time::serde::rfc3339")]
        last_at: OffsetDateTime,
    },
    /// Given.
    Granted {
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        /// Texts shown.
        texts_shown: Vec<LegalTextRef>,
        /// When it runs out (talent pool).
        #[serde(default, with = "time::serde::rfc3339::option")]
        expires_at: Option<OffsetDateTime>,
    },
    /// Refused.
    Declined {
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// Withdrawn.
    Withdrawn {
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// Ran out (R9); acts like withdrawal.
    Expired {
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
}

stable_names!(
    ConsentState,
    /// Stable name.
    fn as_str(&self) {
        None => "none",
        Requested => "requested",
        Granted => "granted",
        Declined => "declined",
        Withdrawn => "withdrawn",
        Expired => "expired",
    }
);

impl ConsentState {
    /// Whether consent is in effect.
    pub const fn is_granted(&self) -> bool {
        matches!(self, Self::Granted { .. })
    }
}

/// Why a consent operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    /// A button reply that quotes a request we never sent.
    #[error("the reply does not belong to a consent request of this candidate")]
    UnknownRequest,
    /// Evidence without the texts shown.
    #[error("consent evidence must name the texts shown (terms, privacy notice, consent request)")]
    MissingTexts,
    /// Consent can only be recorded for the present or past, not the future.
    #[error("consent cannot be recorded with a time in the future")]
    InFuture,
}

/// The append-only ledger of a candidate's consent entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentLedger {
    entries: Vec<ConsentEntry>,
}

impl ConsentLedger {
    /// All entries, in the order recorded.
    pub fn entries(&self) -> &[ConsentEntry] {
        &self.entries
    }

    /// Records a consent request.
    pub fn request(
        &mut self,
        request: ConsentRequestId,
        purpose: Purpose,
        texts_shown: Vec<LegalTextRef>,
        language: LanguageCode,
        at: OffsetDateTime,
    ) {
        self.entries.push(ConsentEntry::Requested { request, purpose, at, texts_shown, language });
    }

    /// The request with this id, if it exists.
    pub fn find_request(&self, id: ConsentRequestId) -> Option<(&Purpose, &Vec<LegalTextRef>, &LanguageCode)> {
        self.entries.iter().find_map(|e| match e {
            ConsentEntry::Requested { request, purpose, texts_shown, language, .. } if *request == id => {
                Some((purpose, texts_shown, language))
            }
            ConsentEntry::Requested { .. }
            | ConsentEntry::Granted(_)
            | ConsentEntry::Declined { .. }
            | ConsentEntry::Withdrawn { .. } => None,
        })
    }

    /// Appends the evidence of a grant. Button replies must quote a request of this ledger.
    pub fn grant(&mut self, evidence: ConsentEvidence, now: OffsetDateTime) -> Result<(), ConsentError> {
        // the bare opt-in keyword shows no legal text: its evidence honestly lists none (R5), and
        // such a consent counts as outdated (R7) until the consent request is agreed to
        if evidence.texts_shown.is_empty() && !matches!(evidence.method, ConsentMethod::OptInKeyword { .. }) {
            return Err(ConsentError::MissingTexts);
        }
        if evidence.recorded_at > now {
            return Err(ConsentError::InFuture);
        }
        if let ConsentMethod::ButtonReply { request, .. } = &evidence.method
            && self.find_request(*request).is_none()
        {
            return Err(ConsentError::UnknownRequest);
        }
        self.entries.push(ConsentEntry::Granted(evidence));
        Ok(())
    }

    /// Records that the candidate declined a request.
    pub fn decline(&mut self, request: ConsentRequestId, at: OffsetDateTime) -> Result<Purpose, ConsentError> {
        let purpose = *self.find_request(request).ok_or(ConsentError::UnknownRequest)?.0;
        self.entries.push(ConsentEntry::Declined { purpose, request, at });
        Ok(purpose)
    }

    /// Withdraws consent for a purpose if it is granted at `at`. Returns whether anything changed.
    pub fn withdraw(
        &mut self,
        purpose: Purpose,
        at: OffsetDateTime,
        via: WithdrawalVia,
        talent_pool_months: u32,
    ) -> bool {
        if !self.state(purpose, at, talent_pool_months).is_granted() {
            return false;
        }
        self.entries.push(ConsentEntry::Withdrawn { purpose, at, via });
        true
    }

    /// The state of a purpose at `now`. Talent-pool consent expires `talent_pool_months` after
    /// it was granted (R9).
    pub fn state(&self, purpose: Purpose, now: OffsetDateTime, talent_pool_months: u32) -> ConsentState {
        let mut state = ConsentState::None;
        for entry in self.entries.iter().filter(|e| e.purpose() == purpose) {
            state = match (entry, state) {
                (ConsentEntry::Requested { at, .. }, ConsentState::Requested { count, last_at }) => {
                    ConsentState::Requested { count: count.saturating_add(1), last_at: last_at.max(*at) }
                }
                (ConsentEntry::Requested { at, .. }, ConsentState::Granted { at: g, texts_shown, expires_at }) => {
                    // a re-consent request while granted (outdated texts) keeps the grant
                    let _ = at;
                    ConsentState::Granted { at: g, texts_shown, expires_at }
                }
                (ConsentEntry::Requested { at, .. }, _) => ConsentState::Requested { count: 1, last_at: *at },
                (ConsentEntry::Granted(ev), _) => {
                    // effective from when it was given (R9 counts from there), else when recorded
                    let at = ev.given_at.unwrap_or(ev.recorded_at);
                    let expires_at = (purpose == Purpose::TalentPool).then(|| add_months(at, talent_pool_months));
                    ConsentState::Granted { at, texts_shown: ev.texts_shown.clone(), expires_at }
                }
                (ConsentEntry::Declined { at, .. }, ConsentState::Granted { at: g, texts_shown, expires_at }) => {
                    // a "no" to a re-consent request while granted: treat as withdrawal
                    let _ = (g, texts_shown, expires_at);
                    ConsentState::Withdrawn { at: *at }
                }
                (ConsentEntry::Declined { at, .. }, _) => ConsentState::Declined { at: *at },
                (ConsentEntry::Withdrawn { at, .. }, _) => ConsentState::Withdrawn { at: *at },
            };
        }
        match state {
            ConsentState::Granted { expires_at: Some(exp), .. } if exp <= now => ConsentState::Expired { at: exp },
            other @ (ConsentState::None
            | ConsentState::Requested { .. }
            | ConsentState::Granted { .. }
            | ConsentState::Declined { .. }
            | ConsentState::Withdrawn { .. }
            | ConsentState::Expired { .. }) => other,
        }
    }

    /// Consent-request messages sent since the last decision (grant, decline, withdrawal).
    pub fn requests_pending(&self, purpose: Purpose) -> u8 {
        let mut count: u8 = 0;
        for entry in self.entries.iter().filter(|e| e.purpose() == purpose) {
            match entry {
                ConsentEntry::Requested { .. } => count = count.saturating_add(1),
                ConsentEntry::Granted(_) | ConsentEntry::Declined { .. } | ConsentEntry::Withdrawn { .. } => count = 0,
            }
        }
        count
    }

    /// Whether the granted consent was given on the current texts (R7). `true` when not granted.
    pub fn is_current(
        &self,
        purpose: Purpose,
        catalogue: &LegalTextCatalogue,
        now: OffsetDateTime,
        months: u32,
    ) -> bool {
        match self.state(purpose, now, months) {
            ConsentState::Granted { texts_shown, .. } => catalogue.consent_is_current(&texts_shown),
            ConsentState::None
            | ConsentState::Requested { .. }
            | ConsentState::Declined { .. }
            | ConsentState::Withdrawn { .. }
            | ConsentState::Expired { .. } => true,
        }
    }

    /// The ledger with personal data removed from every entry (R27).
    pub fn without_personal_data(&self) -> Self {
        let entries = self
            .entries
            .iter()
            .map(|e| match e {
                ConsentEntry::Granted(ev) => {
                    ConsentEntry::Granted(ConsentEvidence { method: ev.method.without_personal_data(), ..ev.clone() })
                }
                ConsentEntry::Withdrawn { purpose, at, via: WithdrawalVia::WhatsApp { .. } } => {
                    ConsentEntry::Withdrawn {
                        purpose: *purpose,
                        at: *at,
                        via: WithdrawalVia::WhatsApp { provider_id: None },
                    }
                }
                ConsentEntry::Requested { .. } | ConsentEntry::Declined { .. } | ConsentEntry::Withdrawn { .. } => {
                    e.clone()
                }
            })
            .collect();
        Self { entries }
    }
}

/// The payload of the consent request's reply buttons: ties a tap to the request that was shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentReply {
    /// "Zustimmen" / "Agree".
    Agree(ConsentRequestId),
    /// "Ablehnen" / "Decline".
    Decline(ConsentRequestId),
}

impl ConsentReply {
    const AGREE: &'static str = "hoheit:consent:yes:";
    const DECLINE: &'static str = "hoheit:consent:no:";

    /// Payload of the agree button of a request.
    pub fn agree_payload(request: ConsentRequestId) -> String {
        format!("{}{}", Self::AGREE, request)
    }

    /// Payload of the decline button of a request.
    pub fn decline_payload(request: ConsentRequestId) -> String {
        format!("{}{}", Self::DECLINE, request)
    }

    /// Parses a button payload; `None` for anything that is not one of ours.
    pub fn parse(payload: &str) -> Option<Self> {
        if let Some(id) = payload.strip_prefix(Self::AGREE) {
            return id.parse().ok().map(Self::Agree);
        }
        payload.strip_prefix(Self::DECLINE).and_then(|id| id.parse().ok()).map(Self::Decline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::legal::LegalTextKind;
    use crate::values::{LanguageCode, Sha256Digest};
    use proptest::prelude::*;
    use time::Duration;
    use time::macros::datetime;
    use uuid::Uuid;

    fn texts() -> Vec<LegalTextRef> {
        vec![LegalTextRef {
            kind: LegalTextKind::ConsentRequest,
            version: crate::legal::LegalTextVersion::parse("v1").unwrap(),
            sha256: Sha256Digest::of(b"text"),
            language: LanguageCode::german(),
        }]
    }

    fn verbal(purpose: Purpose, at: OffsetDateTime) -> ConsentEvidence {
        ConsentEvidence {
            purpose,
            method: ConsentMethod::RecordedVerbal {
                staff: StaffId::from_uuid(Uuid::nil()),
                note: Some("am Telefon".into()),
            },
            capture_channel: CaptureChannel::Phone,
            texts_shown: texts(),
            language: LanguageCode::german(),
            recorded_at: at,
            given_at: None,
            recorded_by: Actor::System,
        }
    }

    const T0: OffsetDateTime = datetime!(2025-01-10 12:00 UTC);

    #[test]
    fn non_affirmative_methods_are_rejected_by_name() {
        for name in ["import", "silence", "implied", "cv", "pre-ticked"] {
            assert!(matches!(ConsentMethodKind::parse(name), Err(ConsentMethodError::NotAffirmative(_))), "{name}");
        }
        assert_eq!(ConsentMethodKind::parse("web_form"), Ok(ConsentMethodKind::WebForm));
        assert_eq!(ConsentMethodKind::parse("telepathy"), Err(ConsentMethodError::Unknown));
    }

    #[test]
    fn purposes_are_independent() {
        let mut ledger = ConsentLedger::default();
        ledger.grant(verbal(Purpose::WhatsAppChannel, T0), T0).unwrap();
        assert!(ledger.state(Purpose::WhatsAppChannel, T0, 12).is_granted());
        assert_eq!(ledger.state(Purpose::TalentPool, T0, 12), ConsentState::None);
    }

    #[test]
    fn button_reply_must_quote_a_known_request() {
        let mut ledger = ConsentLedger::default();
        let request = ConsentRequestId::from_uuid(Uuid::from_u128(7));
        let evidence = ConsentEvidence {
            method: ConsentMethod::ButtonReply {
                request,
                provider_id: Some(Wamid::parse("wamid.1").unwrap()),
                provider_at: T0,
            },
            capture_channel: CaptureChannel::WhatsApp,
            ..verbal(Purpose::WhatsAppChannel, T0)
        };
        assert_eq!(ledger.grant(evidence.clone(), T0), Err(ConsentError::UnknownRequest));
        ledger.request(request, Purpose::WhatsAppChannel, texts(), LanguageCode::german(), T0 - Duration::hours(1));
        assert_eq!(ledger.state(Purpose::WhatsAppChannel, T0, 12).as_str(), "requested");
        ledger.grant(evidence, T0).unwrap();
        assert!(ledger.state(Purpose::WhatsAppChannel, T0, 12).is_granted());
        assert_eq!(ledger.requests_pending(Purpose::WhatsAppChannel), 0);
    }

    #[test]
    fn evidence_without_the_texts_shown_is_refused() {
        let mut ledger = ConsentLedger::default();
        let incomplete = ConsentEvidence { texts_shown: vec![], ..verbal(Purpose::WhatsAppChannel, T0) };
        assert_eq!(ledger.grant(incomplete, T0), Err(ConsentError::MissingTexts));
        assert!(ledger.entries().is_empty());
    }

    #[test]
    fn talent_pool_consent_expires() {
        let mut ledger = ConsentLedger::default();
        ledger.grant(verbal(Purpose::TalentPool, T0), T0).unwrap();
        assert!(ledger.state(Purpose::TalentPool, T0 + Duration::days(364), 12).is_granted());
        assert_eq!(
            ledger.state(Purpose::TalentPool, datetime!(2026-01-10 12:00 UTC), 12),
            ConsentState::Expired { at: datetime!(2026-01-10 12:00 UTC) }
        );
        // WhatsApp consent does not expire
        ledger.grant(verbal(Purpose::WhatsAppChannel, T0), T0).unwrap();
        assert!(ledger.state(Purpose::WhatsAppChannel, T0 + Duration::days(3000), 12).is_granted());
    }

    #[test]
    fn withdrawal_is_ex_nunc_and_idempotent() {
        let mut ledger = ConsentLedger::default();
        ledger.grant(verbal(Purpose::WhatsAppChannel, T0), T0).unwrap();
        let later = T0 + Duration::days(2);
        assert!(ledger.withdraw(Purpose::WhatsAppChannel, later, WithdrawalVia::Objection, 12));
        assert!(!ledger.withdraw(Purpose::WhatsAppChannel, later, WithdrawalVia::Objection, 12));
        assert_eq!(ledger.state(Purpose::WhatsAppChannel, later, 12), ConsentState::Withdrawn { at: later });
        // the earlier grant stays on record
        assert!(matches!(ledger.entries().first(), Some(ConsentEntry::Granted(_))));
    }

    #[test]
    fn erasure_strips_personal_data_from_evidence() {
        let mut ledger = ConsentLedger::default();
        let mut ev = verbal(Purpose::WhatsAppChannel, T0);
        ev.method = ConsentMethod::WebForm {
            form_id: "apply-v2".into(),
            ip: "203.0.113.9".into(),
            user_agent: "Mozilla".into(),
        };
        ledger.grant(ev, T0).unwrap();
        let stripped = ledger.without_personal_data();
        let ConsentEntry::Granted(ev) = stripped.entries().first().unwrap().clone() else { panic!() };
        let ConsentMethod::WebForm { form_id, ip, user_agent } = ev.method else { panic!() };
        assert_eq!(form_id, "apply-v2");
        assert!(ip.expose().is_empty() && user_agent.expose().is_empty());
        assert!(stripped.state(Purpose::WhatsAppChannel, T0, 12).is_granted());
    }

    #[test]
    fn consent_reply_payload_round_trip() {
        let id = ConsentRequestId::from_uuid(Uuid::from_u128(42));
        assert_eq!(ConsentReply::parse(&ConsentReply::agree_payload(id)), Some(ConsentReply::Agree(id)));
        assert_eq!(ConsentReply::parse(&ConsentReply::decline_payload(id)), Some(ConsentReply::Decline(id)));
        assert_eq!(ConsentReply::parse("hoheit:consent:yes:nonsense"), None);
        assert_eq!(ConsentReply::parse("Ja"), None);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Request,
        Grant,
        Withdraw,
    }

    proptest! {
        #[test]
        fn state_is_granted_only_after_an_affirmative_grant(ops in proptest::collection::vec(
            prop_oneof![Just(Op::Request), Just(Op::Grant), Just(Op::Withdraw)], 0..10)
        ) {
            let mut ledger = ConsentLedger::default();
            let mut at = T0;
            let mut expect_granted = false;
            for op in ops {
                at += Duration::minutes(1);
                match op {
                    Op::Request => ledger.request(ConsentRequestId::from_uuid(Uuid::nil()), Purpose::WhatsAppChannel, texts(), LanguageCode::german(), at),
                    Op::Grant => { ledger.grant(verbal(Purpose::WhatsAppChannel, at), at).unwrap(); expect_granted = true; }
                    Op::Withdraw => { ledger.withdraw(Purpose::WhatsAppChannel, at, WithdrawalVia::Objection, 12); expect_granted = false; }
                }
                prop_assert_eq!(ledger.state(Purpose::WhatsAppChannel, at, 12).is_granted(), expect_granted);
            }
        }
    }
}
