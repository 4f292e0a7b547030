//! Who acts: the staff roles and the actor of every state change (candidate, staff, system).
//! A leaf module: consent, objection and events record the actor without depending on the
//! tenant model ([`crate::tenant`] re-exports both types).

use serde::{Deserialize, Serialize};

use crate::ids::StaffId;
use crate::values::InvalidValue;

/// Who acts through the API. Each role except `Operator` is bound to one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The platform operator (processor): manages tenants, never sees content.
    Operator,
    /// The tenant's administrator.
    Admin,
    /// The tenant's data-protection officer.
    Dpo,
    /// A recruiter of the tenant.
    Recruiter,
}

impl Role {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Admin => "admin",
            Self::Dpo => "dpo",
            Self::Recruiter => "recruiter",
        }
    }

    /// Parses the stable name.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        match value {
            "operator" => Ok(Self::Operator),
            "admin" => Ok(Self::Admin),
            "dpo" => Ok(Self::Dpo),
            "recruiter" => Ok(Self::Recruiter),
            _ => Err(InvalidValue::new("role", "expected operator, admin, dpo or recruiter")),
        }
    }
}

/// Who caused a state change. Goes into every domain event and audit entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    /// hoheit itself (scheduler, dispatcher, policy).
    System,
    /// A person using the API.
    Staff {
        /// The person's id.
        id: StaffId,
        /// The role they acted in.
        role: Role,
    },
    /// The candidate, through a WhatsApp message or button.
    Candidate,
}
