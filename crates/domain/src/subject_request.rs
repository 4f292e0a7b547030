//! Data-subject requests (Art. 12, 15-21; R18, R29-R32): kind, deadline by calendar month,
//! extension only when the candidate was told within the first month, and the outcome.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

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

stable_names!(
    SubjectRequestStatus,
    /// Stable name.
    fn as_str(&self) {
        Open => "open",
        Extended => "extended",
        Fulfilled => "fulfilled",
        RefusedInPart => "refused_in_part",
    }
);

impl SubjectRequestStatus {
    /// Whether work is still due.
    pub const fn is_open(&self) -> bool {
        matches!(self, Self::Open | Self::Extended { .. })
    }
}

/// What a closed request produced: the register links each request to the export or erasure
/// that answered it (R29-R31).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fulfilment {
    /// An Art. 15/20 export was produced (its read is audited as `content.read`/`export`).
    Export {
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        /// SHA-256 (hex) of the exact document handed out.
        sha256: String,
    },
    /// The candidate's data was erased (audited as `candidate.erased`).
    Erasure {
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// Erasure deferred by the legal-claims window: restricted now, erased at `erase_at` (R31).
    ErasureDeferred {
        /// When it was decided.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        /// When retention erases.
        #[serde(with = "time::serde::rfc3339")]
        erase_at: OffsetDateTime,
    },
    /// The objection in effect since `at` (audited as `objection.recorded`).
    Objection {
        /// Since when it is in effect.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// Processing restricted since `at` (audited as `candidate.restricted`).
    Restriction {
        /// Since when.
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
}

stable_names!(
    Fulfilment,
    /// Stable name (the request's outcome code).
    fn as_str(&self) {
        Export => "export",
        Erasure => "erasure",
        ErasureDeferred => "erasure_deferred",
        Objection => "objection",
        Restriction => "restriction",
    }
);

impl Fulfilment {
    /// Whether it answers a request of this kind.
    pub const fn answers(&self, kind: SubjectRequestKind) -> bool {
        matches!(
            (self, kind),
            (Self::Export { .. }, SubjectRequestKind::Access | SubjectRequestKind::Portability)
                | (Self::Erasure { .. } | Self::ErasureDeferred { .. }, SubjectRequestKind::Erasure)
                | (Self::Objection { .. }, SubjectRequestKind::Objection)
                | (Self::Restriction { .. }, SubjectRequestKind::Restriction)
        )
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
    /// The fulfilment does not answer this kind of request (an export for an erasure request).
    #[error("this fulfilment does not answer the request's kind")]
    WrongFulfilment,
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
    /// What answered it, once closed by an export, erasure, objection or restriction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfilment: Option<Fulfilment>,
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
            fulfilment: None,
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

    /// Closes the request with what answered it: fulfilled, or refused in part with reason
    /// `legal_claims_window` for a deferred erasure (R31). The fulfilment must fit the kind.
    pub fn close_with(&mut self, fulfilment: Fulfilment) -> Result<(), SubjectRequestError> {
        if !fulfilment.answers(self.kind) {
            return Err(SubjectRequestError::WrongFulfilment);
        }
        match &fulfilment {
            Fulfilment::ErasureDeferred { at, .. } => self.refuse_in_part(*at, "legal_claims_window")?,
            Fulfilment::Export { at, .. }
            | Fulfilment::Erasure { at }
            | Fulfilment::Objection { at }
            | Fulfilment::Restriction { at } => self.fulfil(*at, fulfilment.as_str())?,
        }
        self.fulfilment = Some(fulfilment);
        Ok(())
    }

    /// Whether it is overdue at `now`.
    pub fn is_overdue(&self, now: OffsetDateTime) -> bool {
        self.status.is_open() && now >= self.due_at
    }

    /// Whether it is open, not yet overdue, and due within `within` of `now`.
    pub fn is_due_soon(&self, now: OffsetDateTime, within: Duration) -> bool {
        self.status.is_open() && now < self.due_at && self.due_at <= now + within
    }
}

/// Why a request cannot be answered with an export (Art. 15/20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExportRefusal {
    /// The request is closed or already extended.
    #[error("the request is closed or already extended")]
    NotOpen,
    /// Only access and portability requests are answered with an export.
    #[error("an export answers access and portability requests")]
    WrongKind,
    /// The request names no candidate.
    #[error("the request names no candidate")]
    NoCandidate,
}

impl SubjectRequest {
    /// The candidate whose export answers this request, if an export may answer it: the request
    /// is open, of kind access or portability, and names a candidate.
    pub fn export_subject(&self) -> Result<CandidateId, ExportRefusal> {
        if !self.status.is_open() {
            return Err(ExportRefusal::NotOpen);
        }
        if !matches!(self.kind, SubjectRequestKind::Access | SubjectRequestKind::Portability) {
            return Err(ExportRefusal::WrongKind);
        }
        self.candidate.ok_or(ExportRefusal::NoCandidate)
    }
}

/// The SHA-256 (lower-case hex) of an export document as handed out (its compact JSON bytes),
/// recorded with the fulfilment so the DPO can later prove what was handed out.
pub fn export_sha256(document: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(document))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_export_hash_is_lower_hex_sha256() {
        assert_eq!(super::export_sha256(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

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
    fn only_open_access_or_portability_requests_of_a_candidate_are_answered_by_an_export() {
        let at = datetime!(2025-01-31 10:00 UTC);
        let candidate = CandidateId::from_uuid(Uuid::from_u128(7));
        assert_eq!(request(at).export_subject(), Err(ExportRefusal::NoCandidate));
        let mut r = request(at);
        r.candidate = Some(candidate);
        assert_eq!(r.export_subject(), Ok(candidate));
        r.kind = SubjectRequestKind::Portability;
        assert_eq!(r.export_subject(), Ok(candidate));
        r.kind = SubjectRequestKind::Erasure;
        assert_eq!(r.export_subject(), Err(ExportRefusal::WrongKind));
        r.kind = SubjectRequestKind::Access;
        r.fulfil(at, "exported").unwrap();
        assert_eq!(r.export_subject(), Err(ExportRefusal::NotOpen));
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
    fn due_soon_is_open_and_not_yet_overdue() {
        let r = request(datetime!(2025-01-01 00:00 UTC));
        let week = Duration::days(7);
        assert!(!r.is_due_soon(datetime!(2025-01-24 23:59 UTC), week));
        assert!(r.is_due_soon(datetime!(2025-01-25 00:00 UTC), week));
        assert!(r.is_due_soon(datetime!(2025-01-31 23:59 UTC), week));
        assert!(!r.is_due_soon(datetime!(2025-02-01 00:00 UTC), week)); // overdue now
        let mut done = r.clone();
        done.fulfil(datetime!(2025-01-20 00:00 UTC), "export").unwrap();
        assert!(!done.is_due_soon(datetime!(2025-01-28 00:00 UTC), week));
    }

    #[test]
    fn fulfilment_must_answer_the_kind_and_links_the_outcome() {
        let at = datetime!(2025-01-10 00:00 UTC);
        let mut access = request(datetime!(2025-01-01 00:00 UTC));
        assert_eq!(access.close_with(Fulfilment::Erasure { at }), Err(SubjectRequestError::WrongFulfilment));
        access.close_with(Fulfilment::Export { at, sha256: "ab".repeat(32) }).unwrap();
        assert_eq!(access.status, SubjectRequestStatus::Fulfilled { at, outcome: "export".into() });
        assert!(matches!(access.fulfilment, Some(Fulfilment::Export { .. })));
        assert_eq!(
            access.close_with(Fulfilment::Export { at, sha256: String::new() }),
            Err(SubjectRequestError::Closed)
        );

        let mut erasure = request(datetime!(2025-01-01 00:00 UTC));
        erasure.kind = SubjectRequestKind::Erasure;
        let erase_at = datetime!(2025-04-01 00:00 UTC);
        erasure.close_with(Fulfilment::ErasureDeferred { at, erase_at }).unwrap();
        assert_eq!(erasure.status, SubjectRequestStatus::RefusedInPart { at, reason: "legal_claims_window".into() });
        assert_eq!(erasure.fulfilment, Some(Fulfilment::ErasureDeferred { at, erase_at }));
    }

    #[test]
    fn stored_requests_without_a_fulfilment_still_read() {
        let r = request(datetime!(2025-01-01 00:00 UTC));
        let json = serde_json::to_value(&r).unwrap();
        assert!(json.get("fulfilment").is_none());
        let back: SubjectRequest = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
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
