//! Objection (Art. 21, R11-R18): how it arrived, what it covers, the single confirmation it
//! allows, the human review of possible objections, and the suppression entry that outlives
//! erasure.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::classifier::ObjectionReason;
use crate::consent::CaptureChannel;
use crate::ids::{MessageId, ReviewId, StaffId};
use crate::values::{Pii, Wamid};

/// Where an objection came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum ObjectionSource {
    /// A WhatsApp message or the opt-out button, classified as tier 1.
    WhatsApp {
        /// The message's wamid.
        provider_id: Wamid,
        /// Why it was classified so.
        reason: ObjectionReason,
    },
    /// Recorded by staff from another channel (R11, R22).
    Staff {
        /// Who recorded it.
        staff: StaffId,
        /// By which channel it arrived.
        channel: CaptureChannel,
        /// Verbatim note (content; encrypted at rest, removed on erasure).
        note: Option<Pii<String>>,
    },
    /// A human review confirmed a possible objection (R16).
    Review {
        /// The review.
        review: ReviewId,
        /// Who confirmed.
        staff: StaffId,
    },
    /// Inherited from the suppression list when the number was added again (R17).
    Suppression,
}

impl ObjectionSource {
    /// Stable name.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::WhatsApp { .. } => "whatsapp",
            Self::Staff { .. } => "staff",
            Self::Review { .. } => "review",
            Self::Suppression => "suppression",
        }
    }

    fn without_personal_data(&self) -> Self {
        match self {
            Self::Staff { staff, channel, .. } => Self::Staff { staff: *staff, channel: *channel, note: None },
            Self::WhatsApp { .. } | Self::Review { .. } | Self::Suppression => self.clone(),
        }
    }
}

/// What an objection covers (R13). The default and only scope for now: all WhatsApp
/// communication of the tenant, on all its numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectionScope {
    /// Every WhatsApp message of the tenant.
    AllWhatsApp,
}

impl ObjectionScope {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AllWhatsApp => "all_whatsapp",
        }
    }
}

/// An objection in effect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objection {
    /// Effective time (the message's timestamp, or `received_at` of an off-channel objection).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Where it came from.
    pub source: ObjectionSource,
    /// What it covers.
    pub scope: ObjectionScope,
}

/// A possible objection waiting for a human (R16).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingReview {
    /// Id.
    pub id: ReviewId,
    /// The message that triggered it.
    pub message: MessageId,
    /// The keyword/stem that matched.
    pub matched: String,
    /// Opened.
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    /// Due (1 business day by default).
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
}

/// Why a reviewer dismissed a possible objection (R16): a code from a fixed list, so the
/// decision's "why" can be audited without free text (which could be personal data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DismissReason {
    /// The keyword is negated ("Ich will meine Bewerbung nicht stoppen").
    NegatedKeyword,
    /// The keyword means something else here ("Bushaltestelle", "stop by the office").
    UnrelatedMeaning,
    /// The candidate was asked and confirmed they want to continue.
    CandidateConfirmed,
    /// A question about the right to object, not an objection ("Wie kann ich widersprechen?").
    QuestionOnly,
}

impl DismissReason {
    /// Every reason.
    pub const ALL: [Self; 4] =
        [Self::NegatedKeyword, Self::UnrelatedMeaning, Self::CandidateConfirmed, Self::QuestionOnly];

    /// Stable code.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NegatedKeyword => "negated_keyword",
            Self::UnrelatedMeaning => "unrelated_meaning",
            Self::CandidateConfirmed => "candidate_confirmed",
            Self::QuestionOnly => "question_only",
        }
    }

    /// Parses the stable code.
    pub fn parse(value: &str) -> Result<Self, crate::values::InvalidValue> {
        Self::ALL.into_iter().find(|r| r.as_str() == value).ok_or_else(|| {
            crate::values::InvalidValue::new(
                "reason",
                "expected negated_keyword, unrelated_meaning, candidate_confirmed or question_only",
            )
        })
    }
}

/// The objection state of a candidate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectionState {
    /// The objection in effect, if any.
    pub active: Option<Objection>,
    /// Whether the one confirmation after the objection was queued (R14).
    pub confirmation_sent: bool,
    /// The latest inbound user message after the objection: it may be answered inside the window
    /// (R14) without re-opening proactive messaging.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub inbound_after_objection_at: Option<OffsetDateTime>,
    /// A possible objection waiting for review.
    pub review: Option<PendingReview>,
    /// Past objections lifted by an opt-in (kept as evidence).
    pub history: Vec<Objection>,
}

impl ObjectionState {
    /// Whether an objection is in effect.
    pub const fn is_objected(&self) -> bool {
        self.active.is_some()
    }

    /// Applies an objection. Returns `false` when one is already in effect (idempotent).
    pub fn apply(&mut self, objection: Objection) -> bool {
        if self.active.is_some() {
            return false;
        }
        self.active = Some(objection);
        self.confirmation_sent = false;
        self.inbound_after_objection_at = None;
        self.review = None;
        true
    }

    /// Lifts the objection after an opt-in (R14), keeping it in the history.
    pub fn lift(&mut self) -> Option<Objection> {
        let lifted = self.active.take()?;
        self.history.push(lifted.clone());
        self.confirmation_sent = false;
        self.inbound_after_objection_at = None;
        Some(lifted)
    }

    /// Notes an inbound user message; after an objection it allows one kind of reply.
    pub fn note_inbound(&mut self, at: OffsetDateTime) {
        if let Some(objection) = &self.active
            && at > objection.at
        {
            self.inbound_after_objection_at = Some(self.inbound_after_objection_at.map_or(at, |t| t.max(at)));
        }
    }

    /// The state with personal data removed (R27).
    pub fn without_personal_data(&self) -> Self {
        let strip = |o: &Objection| Objection { source: o.source.without_personal_data(), ..o.clone() };
        Self {
            active: self.active.as_ref().map(strip),
            history: self.history.iter().map(strip).collect(),
            ..self.clone()
        }
    }
}

/// The suppression entry that survives erasure (R17). The number itself is never stored: the
/// store keys it by a keyed hash (blind index) of the E.164 number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// What it covers.
    pub scope: ObjectionScope,
    /// Since when.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}
