//! Who acts: the staff roles and the actor of every state change (candidate, staff, system).
//! A leaf module: consent, objection and events record the actor without depending on the
//! tenant model ([`crate::tenant`] re-exports both types).

use serde::{Deserialize, Serialize};

use crate::ids::StaffId;

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

stable_names!(
    Role,
    /// Stable name.
    fn as_str(self) {
        Operator => "operator",
        Admin => "admin",
        Dpo => "dpo",
        Recruiter => "recruiter",
    }
    parse: "role", "expected operator, admin, dpo or recruiter"
);

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
