//! Inbound events as the messaging adapter delivers them: candidate messages, delivery statuses
//! and provider errors, already verified and parsed. The domain never sees raw webhook JSON.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::message::{DeliveryStatus, MessageKind};
use crate::values::{PhoneNumber, Pii, WaId, WaUserId, Wamid};

/// How the sender is identified. WhatsApp sends the number (`wa_id`) and, for users with a
/// username, a business-scoped user id instead of or in addition to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRef {
    /// The sender's WhatsApp id (their number without `+`), if disclosed.
    pub wa_id: Option<WaId>,
    /// The business-scoped user id, if present.
    pub user_id: Option<WaUserId>,
    /// The profile name the sender chose.
    pub profile_name: Option<Pii<String>>,
}

impl ContactRef {
    /// The key to look the candidate up by: the number if known, else the user id.
    pub fn key(&self) -> Option<ContactKey> {
        if let Some(number) = self.wa_id.as_ref().and_then(|w| PhoneNumber::from_wa_id(w).ok()) {
            return Some(ContactKey::Phone(number));
        }
        self.user_id.clone().map(ContactKey::User)
    }
}

/// How a candidate is found from an inbound message (the store looks it up by blind index).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum ContactKey {
    /// By phone number.
    Phone(PhoneNumber),
    /// By business-scoped user id.
    User(WaUserId),
}

/// Media types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    /// Image.
    Image,
    /// Document (PDF, ...).
    Document,
    /// Audio or voice note.
    Audio,
    /// Video.
    Video,
    /// Sticker.
    Sticker,
}

impl MediaKind {
    /// Stable name (the WhatsApp message type).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Document => "document",
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Sticker => "sticker",
        }
    }

    /// Parses the stable name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "image" => Some(Self::Image),
            "document" => Some(Self::Document),
            "audio" => Some(Self::Audio),
            "video" => Some(Self::Video),
            "sticker" => Some(Self::Sticker),
            _ => None,
        }
    }
}

/// What the candidate sent. Every text is personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InboundContent {
    /// A text message.
    Text {
        /// The text.
        body: Pii<String>,
    },
    /// A template quick-reply button (`type: button`).
    Button {
        /// Our payload.
        payload: Option<String>,
        /// The visible text.
        text: Pii<String>,
    },
    /// An interactive reply (`button_reply` or `list_reply`).
    InteractiveReply {
        /// Our id of the chosen option.
        id: String,
        /// Its title.
        title: Pii<String>,
    },
    /// Image, document, audio, video or sticker.
    Media {
        /// Which.
        kind: MediaKind,
        /// Provider media id (fetch it through the adapter).
        media_id: String,
        /// MIME type announced.
        mime_type: Option<String>,
        /// SHA-256 announced by WhatsApp.
        sha256: Option<Pii<String>>,
        /// Caption.
        caption: Option<Pii<String>>,
        /// File name.
        filename: Option<Pii<String>>,
    },
    /// Location, contacts, reaction, order and similar: kept as the provider's JSON.
    Structured {
        /// The WhatsApp type name.
        type_name: String,
        /// The JSON object of that type.
        json: Pii<String>,
    },
    /// A type WhatsApp marks unsupported, or one we do not know yet.
    Unsupported {
        /// The WhatsApp type name as received.
        type_name: String,
        /// Error code WhatsApp attached, if any.
        error_code: Option<i64>,
    },
}

impl InboundContent {
    /// The message kind.
    pub const fn kind(&self) -> MessageKind {
        match self {
            Self::Text { .. } => MessageKind::Text,
            Self::Button { .. } | Self::InteractiveReply { .. } => MessageKind::Interactive,
            Self::Media { .. } => MessageKind::Media,
            Self::Structured { .. } => MessageKind::Structured,
            Self::Unsupported { .. } => MessageKind::Unsupported,
        }
    }

    /// Stable name of the type, for metrics.
    pub fn type_name(&self) -> &str {
        match self {
            Self::Text { .. } => "text",
            Self::Button { .. } => "button",
            Self::InteractiveReply { .. } => "interactive",
            Self::Media { kind, .. } => kind.as_str(),
            Self::Structured { type_name, .. } | Self::Unsupported { type_name, .. } => type_name,
        }
    }
}

/// A message from a candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// The wamid (dedupe key).
    pub provider_id: Wamid,
    /// Who sent it.
    pub from: ContactRef,
    /// When the candidate sent it (the webhook's timestamp; R20 uses it).
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// What they sent.
    pub content: InboundContent,
    /// The wamid of our message this replies to (`context.id`).
    pub context: Option<Wamid>,
}

/// Pricing information of a status (kept for the operator's cost view; no personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pricing {
    /// Whether WhatsApp bills it.
    pub billable: Option<bool>,
    /// Pricing model (`PMP`, `CBP`).
    pub model: Option<String>,
    /// Category (`utility`, `marketing`, ...).
    pub category: Option<String>,
}

/// A WhatsApp error attached to a status or webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderError {
    /// Numeric code (logic is built on this).
    pub code: i64,
    /// Short title (no personal data by WhatsApp's design; still not logged verbatim).
    pub title: Option<String>,
}

/// A delivery status update for one of our messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusUpdate {
    /// The wamid of our message.
    pub provider_id: Wamid,
    /// The new status: only `Sent`, `Delivered`, `Read` or `Failed` come from webhooks.
    pub status: DeliveryStatus,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// The recipient, if disclosed.
    pub recipient: Option<WaId>,
    /// The recipient's business-scoped user id (`recipient_user_id`), sent instead of or besides
    /// the number for users with a username.
    #[serde(default)]
    pub recipient_user_id: Option<WaUserId>,
    /// Errors (for `Failed`).
    pub errors: Vec<ProviderError>,
    /// Pricing.
    pub pricing: Option<Pricing>,
    /// `biz_opaque_callback_data` as we sent it with the message, echoed by WhatsApp: our tag
    /// names the outbox entry ([`crate::attempt::callback_tag`]), which lets a status confirm an
    /// attempt whose answer was lost in a crash.
    #[serde(default)]
    pub callback_data: Option<String>,
}

/// One event from a verified webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum InboundEvent {
    /// A candidate's message.
    Message(InboundMessage),
    /// A status of one of our messages.
    Status(StatusUpdate),
    /// An error WhatsApp reports outside a message (top-level `errors`).
    Error(ProviderError),
}
