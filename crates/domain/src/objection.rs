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
        /// The message's wamid (personal data; dropped from the erasure tombstone).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provider_id: Option<Wamid>,
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

stable_names!(
    ObjectionSource,
    /// Stable name.
    fn as_str(&self) {
        WhatsApp => "whatsapp",
        Staff => "staff",
        Review => "review",
        Suppression => "suppression",
    }
);

impl ObjectionSource {
    fn without_personal_data(&self) -> Self {
        match self {
            Self::Staff { staff, channel, .. } => Self::Staff { staff: *staff, channel: *channel, note: None },
            // the STOPP message's wamid is built from the number: not in the tombstone (issue 13)
            Self::WhatsApp { reason, .. } => Self::WhatsApp { provider_id: None, reason: reason.clone() },
            Self::Review { .. } | Self::Suppression => self.clone(),
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
    /// Further possible objections that arrived while the review was open (R14, R16): each
    /// extends the review, so the reviewer decides on all of them.
    #[serde(default)]
    pub further: Vec<MessageId>,
}

impl PendingReview {
    /// Adds a further possible objection to the open review and moves its due time to the later
    /// of the two (R14: a second possible objection during an open review extends it).
    pub fn extend(&mut self, message: MessageId, due_at: OffsetDateTime) {
        if self.message != message && !self.further.contains(&message) {
            self.further.push(message);
        }
        self.due_at = self.due_at.max(due_at);
    }
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
    /// The latest inbound user message with content after the objection: it may be answered
    /// inside the window (R14) without re-opening proactive messaging.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub inbound_after_objection_at: Option<OffsetDateTime>,
    /// Whether the latest such message is still unanswered: each inbound message with content
    /// permits exactly one reply (R14); a bare acknowledgement permits none. State stored before
    /// this field existed reads as `false` (no reply: fail safe).
    #[serde(default)]
    pub reply_open: bool,
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
        self.reply_open = false;
        self.review = None;
        true
    }

    /// Lifts the objection after an opt-in (R14), keeping it in the history.
    pub fn lift(&mut self) -> Option<Objection> {
        let lifted = self.active.take()?;
        self.history.push(lifted.clone());
        self.confirmation_sent = false;
        self.inbound_after_objection_at = None;
        self.reply_open = false;
        Some(lifted)
    }

    /// Notes an inbound user message. After an objection, a message with content permits one
    /// reply inside the window (R14); a bare acknowledgement (`substantive == false`: an emoji,
    /// "ok", "danke", a reaction) permits none.
    pub fn note_inbound(&mut self, at: OffsetDateTime, substantive: bool) {
        if let Some(objection) = &self.active
            && at > objection.at
            && substantive
        {
            self.inbound_after_objection_at = Some(self.inbound_after_objection_at.map_or(at, |t| t.max(at)));
            self.reply_open = true;
        }
    }

    /// Whether a reply to the candidate's latest message after the objection is still open
    /// (R14: one reply per inbound message with content).
    pub fn reply_permitted(&self) -> bool {
        self.active.as_ref().is_some_and(|objection| {
            self.reply_open && self.inbound_after_objection_at.is_some_and(|t| t > objection.at)
        })
    }

    /// Uses up the one reply the latest inbound message permitted (R14).
    pub const fn use_reply(&mut self) {
        self.reply_open = false;
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

/// Words that, alone or together, only acknowledge ("ok", "danke", "alles klar"): a message made
/// of them (or of emoji and punctuation only) has no content to answer after an objection (R14).
const ACKNOWLEDGEMENTS: &[&str] = &[
    "ok",
    "okay",
    "okey",
    "oki",
    "okidoki",
    "k",
    "kk",
    "jo",
    "ja",
    "yes",
    "yep",
    "yup",
    "jup",
    "gut",
    "super",
    "prima",
    "toll",
    "top",
    "perfekt",
    "perfect",
    "passt",
    "klar",
    "alles",
    "verstanden",
    "understood",
    "noted",
    "danke",
    "dankeschoen",
    "dankeschön",
    "schoen",
    "schön",
    "sehr",
    "vielen",
    "dank",
    "besten",
    "lieben",
    "thx",
    "thanks",
    "thank",
    "you",
    "ty",
    "cheers",
    "merci",
    "great",
    "fine",
    "cool",
    "nice",
    "good",
    "got",
    "it",
    "alright",
    "allright",
    "sure",
    "gerne",
    "ciao",
    "tschuess",
    "tschüss",
    "bye",
    "lg",
    "vg",
    "mfg",
    "gruss",
    "gruß",
    "gruesse",
    "grüße",
];

/// Whether an inbound text only acknowledges (R14): empty after removing emoji, punctuation and
/// whitespace, or made only of acknowledgement words ("ok", "danke", "alles klar", "thank you").
/// Anything else, including any question, counts as content.
pub fn is_bare_acknowledgement(text: &str) -> bool {
    if text.contains('?') {
        return false;
    }
    // stretched letters ("okkk", "dankeee") count like the word itself
    let collapse = |w: &str| {
        let mut out = String::with_capacity(w.len());
        for c in w.chars() {
            if !out.ends_with(c) {
                out.push(c);
            }
        }
        out
    };
    let lower = text.to_lowercase();
    lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .all(|w| ACKNOWLEDGEMENTS.iter().any(|a| collapse(a) == collapse(w)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_acknowledgements_are_recognised_and_questions_are_content() {
        for ack in ["ok", "OK!", "okkk", "danke", "Danke schön 🙏", "👍", "alles klar", "Thank you!", "  ", "🙂🙂"]
        {
            assert!(is_bare_acknowledgement(ack), "{ack:?}");
        }
        for content in ["ok?", "danke, wann ist der Termin", "Bekomme ich meine Unterlagen zurück", "nein", "morgen"] {
            assert!(!is_bare_acknowledgement(content), "{content:?}");
        }
    }
}
