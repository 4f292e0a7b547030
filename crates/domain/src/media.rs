//! Media files (R27, R30, R33): images, documents, audio and video a candidate sends, fetched
//! from the provider and kept encrypted like message text; and documents a recruiter sends,
//! uploaded to the provider and sent by its media id, never as a public link.
//!
//! A media file is personal data (content): stored sealed with the candidate key, erased with the
//! candidate, read only by tenant staff with the read audited. This module holds the record and
//! the pure checks; fetching and uploading are the adapter's, through the use cases.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::conversation::Direction;
use crate::ids::{CandidateId, ChannelId, MediaId, MessageId, TenantId};
pub use crate::inbound::MediaKind;
use crate::values::Pii;

/// Where a media file stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaStatus {
    /// Announced by a webhook; waiting to be fetched.
    Pending,
    /// Stored (sealed).
    Stored,
    /// Not stored: the checks refused it or fetching failed for good.
    Rejected,
}

impl MediaStatus {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Stored => "stored",
            Self::Rejected => "rejected",
        }
    }

    /// Parses the stable name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(Self::Pending),
            "stored" => Some(Self::Stored),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// Why a media file was not stored. Stable codes (audited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaRejection {
    /// The bytes do not match the SHA-256 WhatsApp announced.
    IntegrityMismatch,
    /// Larger than the configured limit.
    TooLarge,
    /// A MIME type not allowed for its kind.
    TypeNotAllowed,
    /// The download URL pointed outside the provider's hosts.
    RefusedUrl,
    /// The provider did not hand it out (gone, expired, or failing until we gave up).
    Unavailable,
}

impl MediaRejection {
    /// Stable code.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::IntegrityMismatch => "integrity_mismatch",
            Self::TooLarge => "too_large",
            Self::TypeNotAllowed => "type_not_allowed",
            Self::RefusedUrl => "refused_url",
            Self::Unavailable => "unavailable",
        }
    }
}

/// A media file's record. The content is stored (and read) separately; the whole record is
/// sealed at rest except kind, direction, status, size and times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRecord {
    /// Id.
    pub id: MediaId,
    /// Tenant.
    pub tenant: TenantId,
    /// The candidate it belongs to (erased with them).
    pub candidate: CandidateId,
    /// The channel it came or went through.
    pub channel: ChannelId,
    /// The message that carried it.
    pub message: MessageId,
    /// Inbound (from the candidate) or outbound (a recruiter's document).
    pub direction: Direction,
    /// Image, document, audio, video or sticker.
    pub kind: MediaKind,
    /// The provider's media id (lets the holder of the channel's API key fetch the file while
    /// the provider keeps it).
    pub provider_media_id: Pii<String>,
    /// MIME type (announced, then as served).
    pub mime_type: Option<String>,
    /// File name, if any.
    pub filename: Option<Pii<String>>,
    /// SHA-256 WhatsApp announced in the webhook (as received: base64 or hex).
    pub announced_sha256: Option<Pii<String>>,
    /// SHA-256 of the stored bytes (hex).
    pub sha256: Option<String>,
    /// Size of the stored bytes.
    pub size: Option<u64>,
    /// Status.
    pub status: MediaStatus,
    /// Why it was rejected.
    pub rejection: Option<MediaRejection>,
    /// Fetch attempts so far.
    pub attempts: u32,
    /// When a pending file is (tried) next.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Stored or rejected.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub settled_at: Option<OffsetDateTime>,
}

/// Limits for stored media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaLimits {
    /// Largest file stored, in bytes.
    pub max_bytes: u64,
}

impl Default for MediaLimits {
    /// WhatsApp's largest media (documents) is 100 MB.
    fn default() -> Self {
        Self { max_bytes: 100 * 1024 * 1024 }
    }
}

/// MIME types WhatsApp's Cloud API supports, by kind: nothing else is stored or uploaded.
const IMAGES: &[&str] = &["image/jpeg", "image/png"];
const STICKERS: &[&str] = &["image/webp"];
const AUDIO: &[&str] = &["audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"];
const VIDEO: &[&str] = &["video/mp4", "video/3gpp"];
const DOCUMENTS: &[&str] = &[
    "application/pdf",
    "text/plain",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
];

/// The bare MIME type (`audio/ogg; codecs=opus` -> `audio/ogg`), lowercase.
pub fn essence(mime_type: &str) -> String {
    mime_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// Whether a MIME type is allowed for a media kind.
pub fn mime_allowed(kind: MediaKind, mime_type: &str) -> bool {
    let essence = essence(mime_type);
    let list = match kind {
        MediaKind::Image => IMAGES,
        MediaKind::Sticker => STICKERS,
        MediaKind::Audio => AUDIO,
        MediaKind::Video => VIDEO,
        MediaKind::Document => DOCUMENTS,
    };
    list.contains(&essence.as_str())
}

/// Hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What fetching an announced media file gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaFetch {
    /// The bytes, already checked by the adapter against the provider's announced SHA-256.
    Fetched {
        /// The file.
        content: Pii<Vec<u8>>,
        /// MIME type as served.
        mime_type: Option<String>,
    },
    /// Refused for good (integrity, size, URL, gone).
    Refused(MediaRejection),
    /// Failed for now (network, 5xx, rate limit): try again later.
    Transient,
}

/// Fetch attempts before an announced file is given up as [`MediaRejection::Unavailable`].
pub const MAX_FETCH_ATTEMPTS: u32 = 6;

/// A document a recruiter sends (e.g. an interview invitation PDF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundDocument {
    /// The bytes.
    pub content: Pii<Vec<u8>>,
    /// MIME type (one WhatsApp accepts for documents).
    pub mime_type: String,
    /// The file name the candidate sees (personal data: it may name them).
    pub filename: Pii<String>,
    /// Optional caption.
    pub caption: Option<Pii<String>>,
}

/// Why a document cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// No bytes.
    #[error("the document is empty")]
    Empty,
    /// Over the limit.
    #[error("the document is larger than {0} bytes")]
    TooLarge(u64),
    /// Not a document type WhatsApp accepts.
    #[error("documents must be PDF, text or an Office format")]
    Type,
    /// File name empty, too long or with path or control characters.
    #[error("filename must be 1-240 characters without path separators or control characters")]
    Filename,
    /// Caption over 1024 characters (with the notice, if appended).
    #[error("the caption must be at most 1024 characters")]
    Caption,
}

/// Longest caption WhatsApp accepts.
pub const MAX_CAPTION_CHARS: usize = 1024;

impl OutboundDocument {
    /// Checks the document before anything leaves hoheit.
    pub fn check(&self, limits: MediaLimits) -> Result<(), DocumentError> {
        let len = u64::try_from(self.content.expose().len()).unwrap_or(u64::MAX);
        if len == 0 {
            return Err(DocumentError::Empty);
        }
        if len > limits.max_bytes {
            return Err(DocumentError::TooLarge(limits.max_bytes));
        }
        if !mime_allowed(MediaKind::Document, &self.mime_type) {
            return Err(DocumentError::Type);
        }
        let name = self.filename.expose();
        let chars = name.chars().count();
        if chars == 0
            || chars > 240
            || name.trim() != name
            || name.chars().any(|c| c.is_control() || matches!(c, '/' | '\\'))
            || name.starts_with('.')
        {
            return Err(DocumentError::Filename);
        }
        if self.caption.as_ref().is_some_and(|c| c.expose().chars().count() > MAX_CAPTION_CHARS) {
            return Err(DocumentError::Caption);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(bytes: &[u8], mime: &str, name: &str, caption: Option<&str>) -> OutboundDocument {
        OutboundDocument {
            content: Pii::new(bytes.to_vec()),
            mime_type: mime.into(),
            filename: Pii::new(name.into()),
            caption: caption.map(|c| Pii::new(c.to_owned())),
        }
    }

    #[test]
    fn mime_types_by_kind() {
        assert!(mime_allowed(MediaKind::Image, "image/jpeg"));
        assert!(mime_allowed(MediaKind::Audio, "audio/ogg; codecs=opus"));
        assert!(mime_allowed(MediaKind::Document, "Application/PDF"));
        assert!(!mime_allowed(MediaKind::Image, "image/svg+xml"));
        assert!(!mime_allowed(MediaKind::Document, "application/x-msdownload"));
        assert!(!mime_allowed(MediaKind::Video, "image/png"));
        assert_eq!(essence(" text/plain ; charset=utf-8"), "text/plain");
    }

    #[test]
    fn documents_are_checked_before_upload() {
        let limits = MediaLimits { max_bytes: 10 };
        assert_eq!(doc(b"%PDF-1.7", "application/pdf", "Einladung.pdf", None).check(limits), Ok(()));
        assert_eq!(doc(b"", "application/pdf", "a.pdf", None).check(limits), Err(DocumentError::Empty));
        assert_eq!(
            doc(b"01234567890", "application/pdf", "a.pdf", None).check(limits),
            Err(DocumentError::TooLarge(10))
        );
        assert_eq!(doc(b"MZ", "application/x-msdownload", "a.exe", None).check(limits), Err(DocumentError::Type));
        for bad in ["", "../etc/passwd", "a\\b.pdf", ".hidden", " a.pdf", "a\n.pdf"] {
            assert_eq!(doc(b"x", "application/pdf", bad, None).check(limits), Err(DocumentError::Filename), "{bad:?}");
        }
        let long = "x".repeat(MAX_CAPTION_CHARS + 1);
        assert_eq!(doc(b"x", "application/pdf", "a.pdf", Some(&long)).check(limits), Err(DocumentError::Caption));
    }

    #[test]
    fn sha256_is_hex() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn statuses_round_trip() {
        for s in [MediaStatus::Pending, MediaStatus::Stored, MediaStatus::Rejected] {
            assert_eq!(MediaStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(MediaStatus::parse("x"), None);
    }
}
