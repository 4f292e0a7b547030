//! Conversations: messages with their direction, kind and delivery-status timeline, the 24-hour
//! customer-service window (R20) and whether the first-message notice was sent (R15).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::ids::{CandidateId, ChannelId, MessageId, TenantId};
pub use crate::message::{DeliveryStatus, MessageKind};
use crate::values::{LanguageCode, Pii, TemplateName, Wamid};

/// The customer-service window after the candidate's last message (R20; fixed by WhatsApp).
pub const SERVICE_WINDOW: Duration = Duration::hours(24);

/// Direction of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the candidate.
    Inbound,
    /// To the candidate.
    Outbound,
}

/// Why an outbound message exists; the send policy's exceptions hinge on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// A recruiter's message (proactive or reply).
    Regular,
    /// The consent-request template (R10).
    ConsentRequest,
    /// The single confirmation after an objection (R14).
    ObjectionConfirmation,
    /// The answer to HELP / HILFE.
    HelpReply,
}

impl Intent {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Regular => "regular",
            Self::ConsentRequest => "consent_request",
            Self::ObjectionConfirmation => "objection_confirmation",
            Self::HelpReply => "help_reply",
        }
    }
}

/// A reply button offered to the candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyButton {
    /// Our payload, returned when tapped.
    pub id: String,
    /// Visible title (max. 20 characters at WhatsApp).
    pub title: String,
}

/// The content of an outbound message. Texts are personal data (they are about the candidate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutboundContent {
    /// Free text (only inside the window).
    Text {
        /// The text.
        body: Pii<String>,
    },
    /// An approved template with body parameters and quick-reply payloads.
    Template {
        /// Template name.
        name: TemplateName,
        /// Template language.
        language: LanguageCode,
        /// Body parameters `{{1}}`, `{{2}}`, ...
        body_parameters: Vec<Pii<String>>,
        /// Payloads for the template's quick-reply buttons, in order.
        button_payloads: Vec<String>,
    },
    /// Interactive reply buttons (only inside the window).
    Interactive {
        /// Body text.
        body: Pii<String>,
        /// Up to three buttons.
        buttons: Vec<ReplyButton>,
    },
    /// A document uploaded to the provider, sent by its media id, never as a public link (only
    /// inside the window).
    Document {
        /// The provider's media id of the upload.
        media_id: String,
        /// The file name the candidate sees.
        filename: Pii<String>,
        /// Caption (carries the first-message notice when it is appended).
        caption: Option<Pii<String>>,
    },
}

impl OutboundContent {
    /// The message kind.
    pub const fn kind(&self) -> MessageKind {
        match self {
            Self::Text { .. } => MessageKind::Text,
            Self::Template { .. } => MessageKind::Template,
            Self::Interactive { .. } => MessageKind::Interactive,
            Self::Document { .. } => MessageKind::Media,
        }
    }

    /// Whether WhatsApp allows it only inside the service window (everything but templates).
    pub const fn is_free_form(&self) -> bool {
        !matches!(self, Self::Template { .. })
    }
}

/// One observation of a status (from the API answer or a webhook).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StatusObservation {
    /// The status.
    pub status: DeliveryStatus,
    /// When the provider says it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// WhatsApp error code for `Failed`.
    pub error_code: Option<i64>,
}

/// The status history of one message: the earliest time of each status and the effective status.
/// Merging is commutative, associative and idempotent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusTimeline {
    entries: Vec<StatusObservation>,
}

impl StatusTimeline {
    /// A timeline with one observation.
    pub fn starting(status: DeliveryStatus, at: OffsetDateTime) -> Self {
        let mut t = Self::default();
        t.observe(StatusObservation { status, at, error_code: None });
        t
    }

    /// Adds an observation. Returns whether the effective status changed.
    pub fn observe(&mut self, obs: StatusObservation) -> bool {
        let before = self.effective();
        match self.entries.iter_mut().find(|e| e.status == obs.status) {
            Some(existing) => {
                // keep the earliest time; among equal times the lowest error code, so the
                // result does not depend on arrival order
                if (obs.at, obs.error_code) < (existing.at, existing.error_code) {
                    *existing = obs;
                }
            }
            None => {
                self.entries.push(obs);
                self.entries.sort_by_key(|e| e.status);
            }
        }
        self.effective() != before
    }

    /// The effective status (highest rank seen).
    pub fn effective(&self) -> Option<DeliveryStatus> {
        self.entries.last().map(|e| e.status)
    }

    /// The observation of a status, if seen.
    pub fn get(&self, status: DeliveryStatus) -> Option<&StatusObservation> {
        self.entries.iter().find(|e| e.status == status)
    }

    /// All observations, by rank.
    pub fn entries(&self) -> &[StatusObservation] {
        &self.entries
    }
}

/// A stored message. Only `body` is content; everything else is metadata that stays readable
/// to the system (and is encrypted-at-rest or not according to the persistence adapter's rules).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Id.
    pub id: MessageId,
    /// Tenant.
    pub tenant: TenantId,
    /// Candidate.
    pub candidate: CandidateId,
    /// Channel it went through.
    pub channel: ChannelId,
    /// Direction.
    pub direction: Direction,
    /// Kind.
    pub kind: MessageKind,
    /// For outbound messages: why it was sent.
    pub intent: Option<Intent>,
    /// The content, as JSON-able data (text, template parameters, media reference).
    pub body: Pii<MessageBody>,
    /// Provider id (wamid), once known.
    pub provider_id: Option<Wamid>,
    /// The wamid this message replies to (`context.id`).
    pub reply_to: Option<Wamid>,
    /// Server time of creation.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Provider timestamp (inbound: when the candidate sent it).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub provider_at: Option<OffsetDateTime>,
    /// Delivery status history (outbound).
    pub status: StatusTimeline,
}

/// The content of a stored message, inbound or outbound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "direction", content = "content", rename_all = "snake_case")]
pub enum MessageBody {
    /// Outbound content as sent.
    Outbound(OutboundContent),
    /// Inbound content as received.
    Inbound(crate::inbound::InboundContent),
}

/// Conversation state kept on the candidate: the window and the notice. Its fields are private:
/// it changes only through its methods (an inbound message, a send, activity), so the window can
/// never move backwards and the notice is recorded only once it went out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationState {
    /// Provider timestamp of the last inbound *user* message (not templates, not receipts).
    #[serde(default, with = "time::serde::rfc3339::option")]
    last_inbound_at: Option<OffsetDateTime>,
    /// When the Art. 13 / Art. 21(4) notice was last sent (R15).
    #[serde(default, with = "time::serde::rfc3339::option")]
    notice_sent_at: Option<OffsetDateTime>,
    /// Last activity in either direction (for archiving, R25).
    #[serde(default, with = "time::serde::rfc3339::option")]
    last_activity_at: Option<OffsetDateTime>,
    /// Outbound messages sent (accepted by the API) so far.
    outbound_count: u32,
}

impl ConversationState {
    /// A state as it was stored (for adapters and tests that rebuild one); everything else goes
    /// through the methods.
    pub const fn restored(
        last_inbound_at: Option<OffsetDateTime>,
        notice_sent_at: Option<OffsetDateTime>,
        last_activity_at: Option<OffsetDateTime>,
        outbound_count: u32,
    ) -> Self {
        Self { last_inbound_at, notice_sent_at, last_activity_at, outbound_count }
    }

    /// Provider timestamp of the last inbound *user* message (not templates, not receipts).
    pub const fn last_inbound_at(&self) -> Option<OffsetDateTime> {
        self.last_inbound_at
    }

    /// When the Art. 13 / Art. 21(4) notice was sent (R15).
    pub const fn notice_sent_at(&self) -> Option<OffsetDateTime> {
        self.notice_sent_at
    }

    /// Last activity in either direction (for archiving, R25).
    pub const fn last_activity_at(&self) -> Option<OffsetDateTime> {
        self.last_activity_at
    }

    /// Outbound messages sent (accepted by the API) so far.
    pub const fn outbound_count(&self) -> u32 {
        self.outbound_count
    }

    /// Records a message the provider accepted at `at`: counts it, records the notice if the
    /// message carried it and none was recorded before (R15), and notes the activity.
    pub fn record_sent(&mut self, at: OffsetDateTime, carries_notice: bool) {
        if carries_notice && self.notice_sent_at.is_none() {
            self.notice_sent_at = Some(at);
        }
        self.outbound_count = self.outbound_count.saturating_add(1);
        self.touch(at);
    }

    /// Records an inbound user message at the provider's timestamp. Out-of-order arrivals never
    /// move the window backwards.
    pub fn record_inbound(&mut self, provider_at: OffsetDateTime) {
        self.last_inbound_at = Some(self.last_inbound_at.map_or(provider_at, |t| t.max(provider_at)));
        self.touch(provider_at);
    }

    /// Records activity.
    pub fn touch(&mut self, at: OffsetDateTime) {
        self.last_activity_at = Some(self.last_activity_at.map_or(at, |t| t.max(at)));
    }

    /// End of the customer-service window, if it was ever opened.
    pub fn window_open_until(&self) -> Option<OffsetDateTime> {
        self.last_inbound_at.map(|t| t + SERVICE_WINDOW)
    }

    /// Whether free-form messages are allowed at `now` (R20).
    pub fn window_open_at(&self, now: OffsetDateTime) -> bool {
        self.window_open_until().is_some_and(|until| now < until)
    }

    /// Whether the next business message is the first of a conversation and must carry the notice
    /// (R15): no notice was ever sent.
    pub fn needs_notice(&self) -> bool {
        self.notice_sent_at.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn status() -> impl Strategy<Value = DeliveryStatus> {
        proptest::sample::select(vec![
            DeliveryStatus::Queued,
            DeliveryStatus::Accepted,
            DeliveryStatus::Sent,
            DeliveryStatus::Delivered,
            DeliveryStatus::Read,
            DeliveryStatus::Failed,
        ])
    }

    fn observation() -> impl Strategy<Value = StatusObservation> {
        (status(), 0i64..1000, proptest::option::of(prop_oneof![Just(131_026i64), Just(131_047), Just(131_049)]))
            .prop_map(|(status, secs, code)| StatusObservation {
                status,
                at: datetime!(2025-01-01 00:00 UTC) + Duration::seconds(secs),
                error_code: if status == DeliveryStatus::Failed { code } else { None },
            })
    }

    #[test]
    fn a_send_counts_and_records_the_notice_only_the_first_time() {
        let (t1, t2) = (datetime!(2025-01-01 10:00 UTC), datetime!(2025-01-02 10:00 UTC));
        let mut c = ConversationState::default();
        c.record_sent(t1, false);
        assert!(c.needs_notice());
        c.record_sent(t1, true);
        c.record_sent(t2, true);
        assert_eq!(c.notice_sent_at(), Some(t1));
        assert_eq!(c.outbound_count(), 3);
        assert_eq!(c.last_activity_at(), Some(t2));
        assert_eq!(c.last_inbound_at(), None, "our own messages never open the window");
    }

    #[test]
    fn read_without_delivered_still_converges_to_read() {
        let mut t = StatusTimeline::starting(DeliveryStatus::Queued, datetime!(2025-01-01 00:00 UTC));
        assert!(t.observe(StatusObservation {
            status: DeliveryStatus::Read,
            at: datetime!(2025-01-01 00:05 UTC),
            error_code: None
        }));
        assert!(!t.observe(StatusObservation {
            status: DeliveryStatus::Sent,
            at: datetime!(2025-01-01 00:01 UTC),
            error_code: None
        }));
        assert_eq!(t.effective(), Some(DeliveryStatus::Read));
    }

    #[test]
    fn failure_beats_sent_but_not_delivery() {
        let mut t = StatusTimeline::default();
        t.observe(StatusObservation {
            status: DeliveryStatus::Sent,
            at: datetime!(2025-01-01 00:00 UTC),
            error_code: None,
        });
        t.observe(StatusObservation {
            status: DeliveryStatus::Failed,
            at: datetime!(2025-01-01 00:01 UTC),
            error_code: Some(131_026),
        });
        assert_eq!(t.effective(), Some(DeliveryStatus::Failed));
        assert_eq!(t.get(DeliveryStatus::Failed).and_then(|o| o.error_code), Some(131_026));
        t.observe(StatusObservation {
            status: DeliveryStatus::Delivered,
            at: datetime!(2025-01-01 00:02 UTC),
            error_code: None,
        });
        assert_eq!(t.effective(), Some(DeliveryStatus::Delivered));
    }

    #[test]
    fn window_is_24h_from_last_inbound_and_never_moves_back() {
        let mut c = ConversationState::default();
        assert!(!c.window_open_at(datetime!(2025-01-01 00:00 UTC)));
        c.record_inbound(datetime!(2025-01-02 10:00 UTC));
        c.record_inbound(datetime!(2025-01-01 10:00 UTC)); // late arrival of an older message
        assert_eq!(c.window_open_until(), Some(datetime!(2025-01-03 10:00 UTC)));
        assert!(c.window_open_at(datetime!(2025-01-03 09:59:59 UTC)));
        assert!(!c.window_open_at(datetime!(2025-01-03 10:00 UTC)));
    }

    proptest! {
        #[test]
        fn status_order_and_duplicates_do_not_matter(
            observations in proptest::collection::vec(observation(), 1..12),
            seed in any::<u64>(),
            dup in any::<prop::sample::Index>(),
        ) {
            let mut reference = StatusTimeline::default();
            for o in &observations { reference.observe(*o); }

            let mut shuffled = observations.clone();
            shuffled.push(*dup.get(&observations));
            // deterministic Fisher-Yates with an LCG
            let mut state = seed;
            for i in (1..shuffled.len()).rev() {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let j = usize::try_from(state >> 33).unwrap() % (i + 1);
                shuffled.swap(i, j);
            }
            let mut other = StatusTimeline::default();
            for o in &shuffled { other.observe(*o); }
            prop_assert_eq!(&other, &reference);
            let max = observations.iter().map(|o| o.status).max();
            prop_assert_eq!(reference.effective(), max);
        }
    }
}
