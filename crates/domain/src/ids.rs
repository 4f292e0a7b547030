//! Identifiers. Every id is a UUID newtype: opaque, pseudonymous, safe to log and to put into
//! audit entries (unlike phone numbers or names).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The text given to an id parser was not a UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind} id")]
pub struct InvalidId {
    kind: &'static str,
}

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID (from the id generator or from storage).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim()).map(Self).map_err(|_| InvalidId { kind: $kind })
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }
    };
}

uuid_id!(
    /// An employer (controller) using hoheit.
    TenantId,
    "tenant"
);
uuid_id!(
    /// A job candidate (data subject) of one tenant.
    CandidateId,
    "candidate"
);
uuid_id!(
    /// One WhatsApp business number of a tenant, connected through 360Dialog.
    ChannelId,
    "channel"
);
uuid_id!(
    /// A message stored by hoheit, inbound or outbound.
    MessageId,
    "message"
);
uuid_id!(
    /// An entry of the transactional outbox.
    OutboxId,
    "outbox"
);
uuid_id!(
    /// A legal hold on a candidate.
    HoldId,
    "legal hold"
);
uuid_id!(
    /// A data-subject request (Art. 15-21).
    SubjectRequestId,
    "subject request"
);
uuid_id!(
    /// A human review of a possible objection (R16).
    ReviewId,
    "review"
);
uuid_id!(
    /// A consent request sent to a candidate; quoted in the reply buttons' payload.
    ConsentRequestId,
    "consent request"
);
uuid_id!(
    /// A published legal text version (terms, privacy notice, consent request).
    LegalTextId,
    "legal text"
);
uuid_id!(
    /// A person acting through the API: admin, DPO, recruiter or platform operator.
    StaffId,
    "staff"
);
uuid_id!(
    /// A media file (image, document, audio, video) stored by hoheit.
    MediaId,
    "media"
);
