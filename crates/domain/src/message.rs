//! The vocabulary every message shares, inbound or outbound: its kind and its delivery status.
//! A leaf module, so that the webhook input ([`crate::inbound`]) and the conversation model
//! ([`crate::conversation`], which re-exports both) can use it without depending on each other.

use serde::{Deserialize, Serialize};

/// What kind of message, without its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Free text.
    Text,
    /// An approved template.
    Template,
    /// Interactive (reply buttons, lists) or a button reply.
    Interactive,
    /// Image, document, audio, video or sticker.
    Media,
    /// Location, contacts, reaction and other structured types.
    Structured,
    /// A type WhatsApp marks unsupported, or one this version does not know.
    Unsupported,
}

impl MessageKind {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Template => "template",
            Self::Interactive => "interactive",
            Self::Media => "media",
            Self::Structured => "structured",
            Self::Unsupported => "unsupported",
        }
    }
}

/// Delivery status of an outbound message, ordered as a join-semilattice by rank: the effective
/// status is the highest rank seen, so any order (and any duplicates) of status updates converge
/// to the same result. `Failed` ranks above `Sent` but below `Delivered`/`Read`: a failure report
/// loses against evidence of delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// In the outbox.
    Queued,
    /// Refused by the policy at dispatch time, or cancelled by an objection; never sent.
    Cancelled,
    /// The API call timed out after sending: it may or may not have reached WhatsApp.
    Unknown,
    /// Accepted by the API (we have a wamid).
    Accepted,
    /// WhatsApp sent it.
    Sent,
    /// Failed (with a WhatsApp error code).
    Failed,
    /// Delivered to the device.
    Delivered,
    /// Read.
    Read,
}

impl DeliveryStatus {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Cancelled => "cancelled",
            Self::Unknown => "unknown",
            Self::Accepted => "accepted",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Delivered => "delivered",
            Self::Read => "read",
        }
    }

    /// Parses the stable name.
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "queued" => Self::Queued,
            "cancelled" => Self::Cancelled,
            "unknown" => Self::Unknown,
            "accepted" => Self::Accepted,
            "sent" => Self::Sent,
            "failed" => Self::Failed,
            "delivered" => Self::Delivered,
            "read" => Self::Read,
            _ => return None,
        })
    }
}
