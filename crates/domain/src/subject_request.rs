//! Data-subject requests (Art. 12, 15-21; R18, R29-R32): kind, deadline by calendar month,
//! extension only when the candidate was told within the first month, and the outcome.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::calendar::add_months;
use crate::consent::CaptureChannel;
use crate::ids::{CandidateId, SubjectRequestId, TenantId};
use crate::values::InvalidValue;

/// What the candidate asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectRequestKind {
    /// Art. 15.
    Access,
    /// Art. 17.
    Erasure,
    /// Art. 18.
    Restriction,
    /// Art. 21.
    Objection,
    /// Art. 20.
    Portability,
}

impl SubjectRequestKind {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Erasure => "erasure",
            Self::Restriction => "restriction",
            Self::Objection => "objection",
            Self::Portability => "portability",
        }
    }

    /// Parses the stable name.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        match value {
            "access" => Ok(Self::Access),
            "erasure" => Ok(Self::Erasure),
            "restriction" => Ok(Self::Restriction),
            "objection" => Ok(Self::Objection),
            "portability" => Ok(Self::Portability),
            _ => Err(InvalidValue::new("kind", "expected access, erasure, restriction, objection or portability")),
        }
    }
}

/// Where a request stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SubjectRequestStatus {
    /// Open.
    Open,
    /// Extended by up to two months, the candidate notified.
    Extended {
        /// When the candidate was told.
        #[serde(with = "time::serde::rfc3339")]
        notified_at: OffsetDateTime,
    },
    /// Done.
    Fulfilled {
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        /// What it produced (`export`, `erasure`, `objection`, ...).
        outcome: String,
    },
    /// Partly refused with a reason (e.g. `legal_claims_window`).
    RefusedInPart {
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        /// Stable reason code.
        reason: String,
    },
}

impl SubjectRequestStatus {
    /// Stable name.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Extended { .. } => "extended",
            Self::Fulfilled { .. } => "fulfilled",
            Self::RefusedInPart { .. } => "refused_in_part",
        }
    }

    /// Whether work is still due.
    pub const fn is_open(&self) -> bool {
        matches!(self, Self::Open | Self::Extended { .. })
    }
}

/// Why a request transition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubjectRequestError {
    /// Art. 12(3): the extension must be notified within one month of receipt.
    #[error("an extension must be notified within one month of receipt")]
    ExtensionTooLate,
    /// Extensions are up to two months, once.
    #[error("the request was already extended or is closed")]
    NotExtendable,
    /// Extension is 1 or 2 months.
    #[error("an extension is 1 or 2 months")]
    InvalidExtension,
    /// Already closed.
    #[error("the request is already closed")]
    Closed,
}

/// A data-subject request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectRequest {
    /// Id.
    pub id: SubjectRequestId,
    /// Tenant.
    pub tenant: TenantId,
    /// The candidate, if identified.
    pub candidate: Option<CandidateId>,
    /// Kind.
    pub kind: SubjectRequestKind,
    /// How it arrived.
    pub channel: CaptureChannel,
    /// When it was received (starts the deadline).
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// When it is due (received + 1 calendar month, or extended).
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    /// Status.
    pub status: SubjectRequestStatus,
}

impl SubjectRequest {
    /// A new request, due one calendar month after receipt (R29).
    pub fn open(
        id: SubjectRequestId,
        tenant: TenantId,
        candidate: Option<CandidateId>,
        kind: SubjectRequestKind,
        channel: CaptureChannel,
        received_at: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            tenant,
            candidate,
            kind,
            channel,
            received_at,
            due_at: add_months(received_at, 1),
            status: SubjectRequestStatus::Open,
        }
    }

    /// Extends by `months` (1-2), only if the candidate was notified within the first month.
    pub fn extend(&mut self, months: u32, notified_at: OffsetDateTime) -> Result<(), SubjectRequestError> {
        if !(1..=2).contains(&months) {
            return Err(SubjectRequestError::InvalidExtension);
        }
        if !matches!(self.status, SubjectRequestStatus::Open) {
            return Err(SubjectRequestError::NotExtendable);
        }
        let first_month_ends = add_months(self.received_at, 1);
        if notified_at >= first_month_ends || notified_at < self.received_at {
            return Err(SubjectRequestError::ExtensionTooLate);
        }
        self.due_at = add_months(self.received_at, 1 + months);
        self.status = SubjectRequestStatus::Extended { notified_at };
        Ok(())
    }

    /// Marks the request fulfilled.
    pub fn fulfil(&mut self, at: OffsetDateTime, outcome: &str) -> Result<(), SubjectRequestError> {
        if !self.status.is_open() {
            return Err(SubjectRequestError::Closed);
        }
        self.status = SubjectRequestStatus::Fulfilled { at, outcome: outcome.to_owned() };
        Ok(())
    }

    /// Marks the request refused in part, with a stable reason code.
    pub fn refuse_in_part(&mut self, at: OffsetDateTime, reason: &str) -> Result<(), SubjectRequestError> {
        if !self.status.is_open() {
            return Err(SubjectRequestError::Closed);
        }
        self.status = SubjectRequestStatus::RefusedInPart { at, reason: reason.to_owned() };
        Ok(())
    }

    /// Whether it is overdue at `now`.
    pub fn is_overdue(&self, now: OffsetDateTime) -> bool {
        self.status.is_open() && now >= self.due_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use uuid::Uuid;

    fn request(received: OffsetDateTime) -> SubjectRequest {
        SubjectRequest::open(
            SubjectRequestId::from_uuid(Uuid::nil()),
            TenantId::from_uuid(Uuid::nil()),
            None,
            SubjectRequestKind::Access,
            CaptureChannel::Email,
            received,
        )
    }

    #[test]
    fn due_by_calendar_month() {
        assert_eq!(request(datetime!(2025-01-31 10:00 UTC)).due_at, datetime!(2025-02-28 10:00 UTC));
        assert_eq!(request(datetime!(2024-01-31 10:00 UTC)).due_at, datetime!(2024-02-29 10:00 UTC));
        assert_eq!(request(datetime!(2025-03-15 10:00 UTC)).due_at, datetime!(2025-04-15 10:00 UTC));
    }

    #[test]
    fn extension_only_with_notice_in_first_month() {
        let mut r = request(datetime!(2025-01-31 10:00 UTC));
        assert_eq!(r.extend(2, datetime!(2025-02-28 10:00 UTC)), Err(SubjectRequestError::ExtensionTooLate));
        assert_eq!(r.extend(3, datetime!(2025-02-10 10:00 UTC)), Err(SubjectRequestError::InvalidExtension));
        r.extend(2, datetime!(2025-02-27 10:00 UTC)).unwrap();
        assert_eq!(r.due_at, datetime!(2025-04-30 10:00 UTC));
        assert_eq!(r.status.as_str(), "extended");
        assert_eq!(r.extend(1, datetime!(2025-02-27 11:00 UTC)), Err(SubjectRequestError::NotExtendable));
    }

    #[test]
    fn overdue_and_closing() {
        let mut r = request(datetime!(2025-01-01 00:00 UTC));
        assert!(!r.is_overdue(datetime!(2025-01-31 23:59 UTC)));
        assert!(r.is_overdue(datetime!(2025-02-01 00:00 UTC)));
        r.fulfil(datetime!(2025-02-02 00:00 UTC), "export").unwrap();
        assert!(!r.is_overdue(datetime!(2025-03-01 00:00 UTC)));
        assert_eq!(r.fulfil(datetime!(2025-02-03 00:00 UTC), "export"), Err(SubjectRequestError::Closed));
    }
}
