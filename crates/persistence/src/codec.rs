//! Conversions at the seam: ids, times, JSON and contact keys between domain types and columns.

use hoheit_domain::conversation::{DeliveryStatus, Direction, Intent, MessageKind};
use hoheit_domain::inbound::ContactKey;
use hoheit_domain::ports::StoreError;
use hoheit_domain::values::Wamid;
use sea_orm::DbErr;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use uuid::Uuid;

/// A UUID as its 16 bytes.
pub(crate) fn id_bytes(id: Uuid) -> Vec<u8> {
    id.as_bytes().to_vec()
}

/// 16 bytes back to a UUID.
pub(crate) fn uuid_from(bytes: &[u8]) -> Result<Uuid, StoreError> {
    Uuid::from_slice(bytes).map_err(|_| StoreError::Corrupt("malformed id column".into()))
}

/// Microseconds since the epoch (the column format for every time).
pub(crate) fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

/// Back from microseconds.
pub(crate) fn from_micros(value: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(value) * 1000)
        .map_err(|_| StoreError::Corrupt("time out of range".into()))
}

/// Serialises to JSON for a column.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode record: {}", e.classify_name())))
}

/// Serialises to JSON bytes (before sealing).
pub(crate) fn to_json_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(format!("cannot encode record: {}", e.classify_name())))
}

/// Parses a JSON column.
pub(crate) fn from_json<T: DeserializeOwned>(what: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|_| StoreError::Corrupt(format!("cannot decode {what}")))
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "data",
            serde_json::error::Category::Eof => "eof",
        }
    }
}

/// A value read from a row that this version does not know: the row is corrupt (or written by
/// a newer version); it is reported, never replaced by a default.
fn unknown(what: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {what} in a row"))
}

/// The column value of a direction.
pub(crate) const fn direction_str(direction: Direction) -> &'static str {
    match direction {
        Direction::Inbound => "inbound",
        Direction::Outbound => "outbound",
    }
}

/// A direction column.
pub(crate) fn direction_from(value: &str) -> Result<Direction, StoreError> {
    [Direction::Inbound, Direction::Outbound]
        .into_iter()
        .find(|d| direction_str(*d) == value)
        .ok_or_else(|| unknown("message direction"))
}

/// A message kind column.
pub(crate) fn kind_from(value: &str) -> Result<MessageKind, StoreError> {
    [
        MessageKind::Text,
        MessageKind::Template,
        MessageKind::Interactive,
        MessageKind::Media,
        MessageKind::Structured,
        MessageKind::Unsupported,
    ]
    .into_iter()
    .find(|k| k.as_str() == value)
    .ok_or_else(|| unknown("message kind"))
}

/// An intent column.
pub(crate) fn intent_from(value: &str) -> Result<Intent, StoreError> {
    [Intent::Regular, Intent::ConsentRequest, Intent::ObjectionConfirmation, Intent::HelpReply]
        .into_iter()
        .find(|i| i.as_str() == value)
        .ok_or_else(|| unknown("intent"))
}

/// A delivery status column.
pub(crate) fn status_from(value: &str) -> Result<DeliveryStatus, StoreError> {
    DeliveryStatus::parse(value).ok_or_else(|| unknown("delivery status"))
}

/// A provider id (wamid) column.
pub(crate) fn wamid_from(value: &str) -> Result<Wamid, StoreError> {
    Wamid::parse(value).map_err(|_| unknown("provider id format"))
}

/// The normalised text of a contact key that the blind index hashes.
pub(crate) fn contact_text(key: &ContactKey) -> String {
    match key {
        ContactKey::Phone(phone) => format!("phone:{}", phone.as_e164()),
        ContactKey::User(user) => format!("user:{}", user.as_str()),
    }
}

/// Maps a database error deliberately. The message names the kind of failure only: driver
/// messages can quote values, and values can be personal data.
#[allow(clippy::wildcard_enum_match_arm)] // DbErr is a foreign, non-exhaustive enum
pub(crate) fn db_error(e: &DbErr) -> StoreError {
    if is_deadlock(e) {
        return StoreError::Unavailable(DEADLOCK.to_owned());
    }
    let kind = match e {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => "connection",
        DbErr::Exec(_) => "statement failed",
        DbErr::Query(_) => "query failed",
        DbErr::RecordNotFound(_) | DbErr::RecordNotInserted | DbErr::RecordNotUpdated => "record missing",
        DbErr::Migration(_) => "migration",
        DbErr::Type(_) | DbErr::TryIntoErr { .. } | DbErr::Json(_) | DbErr::ConvertFromU64(_) => "type mismatch",
        _ => "database error",
    };
    StoreError::Unavailable(kind.to_owned())
}

/// The kind of [`StoreError::Unavailable`] for a statement PostgreSQL failed to break a deadlock
/// (40P01) or a serialization failure (40001): running the change set again helps.
pub(crate) const DEADLOCK: &str = "deadlock";

#[allow(clippy::wildcard_enum_match_arm)] // DbErr is a foreign, non-exhaustive enum
fn is_deadlock(e: &DbErr) -> bool {
    let (DbErr::Exec(sea_orm::RuntimeErr::SqlxError(inner)) | DbErr::Query(sea_orm::RuntimeErr::SqlxError(inner))) = e
    else {
        return false;
    };
    let code = inner.as_database_error().and_then(|d| d.code());
    matches!(code.as_deref(), Some("40P01" | "40001"))
}

/// Whether a database error is a unique-key violation.
pub(crate) fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}
