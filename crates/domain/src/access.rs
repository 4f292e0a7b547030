//! Who may do what: the role set of every action of the API, decided once here (the HTTP
//! layer only maps a refusal to 403), and the visibility of restricted candidates (R25).
//!
//! The use cases check the same role sets, through [`staff_for`] and [`reads_restricted`], and
//! have no lists of their own: an embedder calling the domain directly gets the same answer as a
//! caller of the API. Where a use case once allowed more than the API (the DPO creating
//! candidates or sending documents), the set here is the rule.

use crate::actor::{Actor, Role};
use crate::ids::StaffId;

const STAFF: &[Role] = &[Role::Admin, Role::Dpo, Role::Recruiter];
const RECRUITING: &[Role] = &[Role::Admin, Role::Recruiter];
const ADMIN_DPO: &[Role] = &[Role::Admin, Role::Dpo];
const ADMIN: &[Role] = &[Role::Admin];
const DPO: &[Role] = &[Role::Dpo];
const OPERATOR: &[Role] = &[Role::Operator];

/// Declares [`Action`] and its marker types in [`can`] from one list, so the two cannot drift.
macro_rules! actions {
    ($($(#[doc = $doc:literal])* $name:ident,)*) => {
        /// Every action the API offers.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action {
            $($(#[doc = $doc])* $name,)*
        }

        impl Action {
            /// Every action, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$name),*];
        }

        /// One marker type per [`Action`], for APIs that name the action in a type
        /// (`Caller<can::ReadCandidates>` in the server).
        pub mod can {
            $(
                #[doc = concat!("[`Action::", stringify!($name), "`](super::Action::", stringify!($name), ").")]
                #[derive(Debug, Clone, Copy)]
                pub struct $name;

                impl super::Permission for $name {
                    const ACTION: super::Action = super::Action::$name;
                }
            )*
        }
    };
}

/// An action as a type (the markers in [`can`]).
pub trait Permission {
    /// The action (its role set decides).
    const ACTION: Action;
}

actions! {
    /// Create a tenant, list tenants (the platform operator).
    ManageTenants,
    /// Issue a token for a tenant role.
    IssueToken,
    /// List the tenant's tokens and invitations (no secrets).
    ListCredentials,
    /// Revoke a token of the tenant.
    RevokeToken,
    /// Change the tenant's credential rules ("DPO appointed by the admin", token lifetimes).
    ChangeCredentialSettings,
    /// Read the tenant's settings.
    ReadSettings,
    /// Change the tenant's settings.
    ChangeSettings,
    /// Read the retention policy.
    ReadRetentionPolicy,
    /// Change the retention policy.
    ChangeRetentionPolicy,
    /// Run retention now.
    RunRetention,
    /// Register a channel.
    RegisterChannel,
    /// List channels, templates and legal texts.
    ReadConfiguration,
    /// Approve a channel (R1): the DPO only.
    ApproveChannel,
    /// Revoke a channel's approval.
    RevokeApproval,
    /// Sync a channel's templates now.
    SyncTemplates,
    /// Mark a template as carrying the notice (R15).
    MarkTemplate,
    /// Publish a legal text.
    PublishLegalText,
    /// Create a candidate.
    CreateCandidate,
    /// Read a candidate's status, list candidates, the review queue.
    ReadCandidates,
    /// Send a message, request consent, send a document.
    SendMessages,
    /// Read the conversation and media (audited, R33).
    ReadContent,
    /// Record consent, withdrawal, objection, process end, restriction.
    RecordOnBehalf,
    /// Set or release a legal hold (R26).
    ManageLegalHolds,
    /// Lift a restriction.
    LiftRestriction,
    /// Decide an objection review (R16).
    DecideReviews,
    /// The subject-request register, exports and erasure (R29-R31).
    HandleSubjectRequests,
    /// The audit log: verify, checkpoints, entries.
    ReadAudit,
    /// The accountability documents (R2, R35).
    ReadAccountability,
    /// Invite staff, change their roles, disable them, reset their second factor (issue 16).
    ManageStaff,
    /// List the tenant's staff accounts.
    ListStaff,
}

impl Action {
    /// The roles that may do it. The operator has no tenant and may only manage tenants.
    pub const fn roles(self) -> &'static [Role] {
        match self {
            Self::ManageTenants => OPERATOR,
            Self::IssueToken
            | Self::RevokeToken
            | Self::ChangeSettings
            | Self::RegisterChannel
            | Self::SyncTemplates
            | Self::PublishLegalText
            | Self::ManageStaff => ADMIN,
            Self::ApproveChannel => DPO,
            Self::ReadSettings
            | Self::ListCredentials
            | Self::ChangeCredentialSettings
            | Self::DecideReviews
            | Self::ReadRetentionPolicy
            | Self::ChangeRetentionPolicy
            | Self::RunRetention
            | Self::RevokeApproval
            | Self::MarkTemplate
            | Self::ManageLegalHolds
            | Self::LiftRestriction
            | Self::HandleSubjectRequests
            | Self::ReadAudit
            | Self::ReadAccountability
            | Self::ListStaff => ADMIN_DPO,
            Self::CreateCandidate | Self::SendMessages => RECRUITING,
            Self::ReadConfiguration | Self::ReadCandidates | Self::ReadContent | Self::RecordOnBehalf => STAFF,
        }
    }

    /// Whether `role` may do it.
    pub fn allows(self, role: Role) -> bool {
        self.roles().contains(&role)
    }
}

/// Whether `role` sees restricted candidates in lists and queues (R25: restricted data is kept
/// for storage and legal defence only; admin and DPO see it, recruiters do not).
pub const fn sees_restricted(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Dpo)
}

/// The staff member doing `action`, if the actor's role may do it; `None` for the platform
/// operator (outside its action), other roles, the system and the candidate.
pub fn staff_for(actor: Actor, action: Action) -> Option<StaffId> {
    match actor {
        Actor::Staff { id, role } => action.allows(role).then_some(id),
        Actor::System | Actor::Candidate => None,
    }
}

/// Whether the actor may read a restricted candidate's content ([`sees_restricted`]).
pub const fn reads_restricted(actor: Actor) -> bool {
    match actor {
        Actor::Staff { role, .. } => sees_restricted(role),
        Actor::System | Actor::Candidate => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operator_only_manages_tenants_and_recruiters_never_see_restricted_data() {
        assert!(Action::ManageTenants.allows(Role::Operator));
        assert!(!Action::ReadCandidates.allows(Role::Operator));
        assert!(!Action::ManageLegalHolds.allows(Role::Recruiter));
        assert!(Action::ApproveChannel.allows(Role::Dpo) && !Action::ApproveChannel.allows(Role::Admin));
        assert!(Action::SendMessages.allows(Role::Recruiter) && !Action::SendMessages.allows(Role::Dpo));
        assert!(sees_restricted(Role::Dpo) && sees_restricted(Role::Admin));
        // objection reviews are decided by admin or DPO, never by the recruiter whose
        // conversation it is (issue 13)
        assert!(Action::DecideReviews.allows(Role::Admin) && Action::DecideReviews.allows(Role::Dpo));
        assert!(!Action::DecideReviews.allows(Role::Recruiter));
        assert!(!sees_restricted(Role::Recruiter) && !sees_restricted(Role::Operator));
    }

    #[test]
    fn every_action_has_a_role_and_only_managing_tenants_is_the_operators() {
        assert_eq!(Action::ALL.len(), 30);
        for action in Action::ALL {
            assert!(!action.roles().is_empty(), "{action:?}");
            assert_eq!(action.allows(Role::Operator), *action == Action::ManageTenants, "{action:?}");
        }
        assert_eq!(<can::DecideReviews as Permission>::ACTION, Action::DecideReviews);
    }

    #[test]
    fn only_staff_of_the_actions_roles_act_and_only_admin_and_dpo_read_restricted_content() {
        let staff = |role| Actor::Staff { id: StaffId::from_uuid(uuid::Uuid::from_u128(7)), role };
        assert!(staff_for(staff(Role::Recruiter), Action::RecordOnBehalf).is_some());
        assert!(staff_for(staff(Role::Dpo), Action::CreateCandidate).is_none());
        assert!(staff_for(staff(Role::Operator), Action::ReadContent).is_none());
        assert!(staff_for(Actor::System, Action::HandleSubjectRequests).is_none());
        assert!(staff_for(Actor::Candidate, Action::ReadContent).is_none());
        assert!(reads_restricted(staff(Role::Dpo)) && reads_restricted(staff(Role::Admin)));
        assert!(!reads_restricted(staff(Role::Recruiter)) && !reads_restricted(Actor::System));
    }
}
