//! Credentials of a tenant's staff (issue 13): who may hold which credential, for how long, who
//! created it, and the rules that keep the platform operator away from tenant data and keep the
//! DPO independent of the admin (R1, R33).
//!
//! - A tenant's first admin (and, on request, its first DPO) gets in through an [`Invitation`]:
//!   single-use, expiring (default [`INVITATION_TTL`]), its secret shown once and stored only as
//!   a hash by the adapter. Accepting it creates the credential. The operator hands the
//!   invitation over but never holds a tenant credential; that an invitation was used (and by
//!   whom it was created) is visible to the tenant. Staff accounts (issue 16) extend this type.
//! - API tokens expire ([`CredentialSettings::token_expiry`]: default [`DEFAULT_TOKEN_DAYS`] days,
//!   per token up to the tenant's maximum).
//! - [`operator_may_mint`]: the operator mints operator credentials only; a tenant credential
//!   comes from an invitation (or a tenant admin).
//! - [`check_dpo_independence`]: a channel approval by a DPO whose credential the channel's
//!   registering admin created is refused, unless the tenant configured "DPO appointed by the
//!   admin" ([`CredentialSettings::dpo_appointed_by_admin`], audited, in the Art. 30 record).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::actor::Role;
use crate::ids::{StaffId, TenantId};
use crate::values::InvalidValue;

/// How long an invitation can be accepted (72 hours).
pub const INVITATION_TTL: Duration = Duration::hours(72);

/// Default lifetime of an API token in days.
pub const DEFAULT_TOKEN_DAYS: u32 = 90;

/// The largest tenant maximum for token lifetimes (days).
pub const TOKEN_MAX_DAYS_LIMIT: u32 = 730;

/// A tenant's credential rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialSettings {
    /// Whether the tenant explicitly allows a DPO whose credential the admin created to approve
    /// that admin's channels ("DPO appointed by the admin"). Default `false`: refused with
    /// `dpo_not_independent`.
    #[serde(default)]
    pub dpo_appointed_by_admin: bool,
    /// The longest lifetime (days) a token of this tenant may be given (default 90, 1-730).
    #[serde(default = "default_token_max_days")]
    pub token_max_days: u32,
    /// Whether recruiters must set up a second factor too (admins and DPOs always must; issue
    /// 16). Default `false`.
    #[serde(default)]
    pub recruiter_second_factor: bool,
}

const fn default_token_max_days() -> u32 {
    DEFAULT_TOKEN_DAYS
}

impl Default for CredentialSettings {
    fn default() -> Self {
        Self { dpo_appointed_by_admin: false, token_max_days: DEFAULT_TOKEN_DAYS, recruiter_second_factor: false }
    }
}

impl CredentialSettings {
    /// Checks the ranges.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        if !(1..=TOKEN_MAX_DAYS_LIMIT).contains(&self.token_max_days) {
            return Err(InvalidValue::new("token_max_days", "must be 1 to 730"));
        }
        Ok(())
    }

    /// When a token issued at `now` expires: after `requested_days` (default
    /// [`DEFAULT_TOKEN_DAYS`], but never beyond the tenant's maximum); a request above the
    /// maximum is refused rather than silently shortened.
    pub fn token_expiry(
        &self,
        requested_days: Option<u32>,
        now: OffsetDateTime,
    ) -> Result<OffsetDateTime, InvalidValue> {
        let days = match requested_days {
            Some(d) if d == 0 || d > self.token_max_days => {
                return Err(InvalidValue::new("expires_in_days", "must be 1 to the tenant's token_max_days"));
            }
            Some(d) => d,
            None => DEFAULT_TOKEN_DAYS.min(self.token_max_days),
        };
        Ok(now + Duration::days(i64::from(days)))
    }
}

/// Whether the platform operator may mint a credential of `role` directly: only operator
/// credentials. Tenant credentials come from an invitation accepted by the tenant's own people.
pub const fn operator_may_mint(role: Role) -> bool {
    matches!(role, Role::Operator)
}

/// Why an invitation was issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationOrigin {
    /// With the tenant (its first admin or DPO).
    TenantCreated,
    /// The operator's break-glass path (the tenant lost its admin), audited and shown to the DPO.
    BreakGlass,
}

stable_names!(
    InvitationOrigin,
    /// Stable name.
    fn as_str(self) {
        TenantCreated => "tenant_created",
        BreakGlass => "break_glass",
    }
    parse: "invitation origin", "unknown"
);

/// Why a break-glass invitation was issued (a code: the audit log holds no free text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakGlassReason {
    /// The admin's credential is lost.
    LostAdmin,
    /// The admin left the employer.
    AdminLeft,
    /// The admin's credential is compromised.
    Compromised,
}

stable_names!(
    BreakGlassReason,
    /// Stable name.
    fn as_str(self) {
        LostAdmin => "lost_admin",
        AdminLeft => "admin_left",
        Compromised => "compromised",
    }
    parse: "reason", "expected lost_admin, admin_left or compromised"
);

/// A single-use, expiring invitation to become a tenant's staff member. Its id is the staff id
/// the accepted credential acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Id (also the id of the credential it becomes).
    pub id: StaffId,
    /// Tenant.
    pub tenant: TenantId,
    /// The role it grants.
    pub role: Role,
    /// Why it was issued.
    pub origin: InvitationOrigin,
    /// For a break-glass invitation, why.
    pub reason: Option<BreakGlassReason>,
    /// Who created it (`None`: the operator's CLI or the system).
    pub created_by: Option<StaffId>,
    /// When.
    pub created_at: OffsetDateTime,
    /// Until when it can be accepted.
    pub expires_at: OffsetDateTime,
    /// When it was accepted, if it was.
    pub accepted_at: Option<OffsetDateTime>,
}

/// Why an invitation cannot be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvitationError {
    /// It was accepted already (single use).
    #[error("the invitation was used already")]
    Used,
    /// It expired.
    #[error("the invitation expired")]
    Expired,
}

impl InvitationError {
    /// Stable error code.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Used => "invitation_used",
            Self::Expired => "invitation_expired",
        }
    }
}

impl Invitation {
    /// A new invitation, valid for [`INVITATION_TTL`].
    pub fn new(
        id: StaffId,
        tenant: TenantId,
        role: Role,
        origin: InvitationOrigin,
        created_by: Option<StaffId>,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            tenant,
            role,
            origin,
            reason: None,
            created_by,
            created_at: now,
            expires_at: now + INVITATION_TTL,
            accepted_at: None,
        }
    }

    /// Accepts it at `now`: once, before it expires.
    pub fn accept(&mut self, now: OffsetDateTime) -> Result<(), InvitationError> {
        if self.accepted_at.is_some() {
            return Err(InvitationError::Used);
        }
        if now >= self.expires_at {
            return Err(InvitationError::Expired);
        }
        self.accepted_at = Some(now);
        Ok(())
    }
}

/// The state of a token when it is presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenState {
    /// Valid.
    Active,
    /// Revoked.
    Revoked,
    /// Past its expiry.
    Expired,
}

impl TokenState {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }

    /// The state of a token at `now`.
    pub fn at(revoked_at: Option<OffsetDateTime>, expires_at: Option<OffsetDateTime>, now: OffsetDateTime) -> Self {
        if revoked_at.is_some_and(|r| r <= now) {
            Self::Revoked
        } else if expires_at.is_some_and(|e| e <= now) {
            Self::Expired
        } else {
            Self::Active
        }
    }
}

/// A channel approval by a DPO whose credential was created by the channel's registering admin
/// would let one person approve their own processing (R1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the approving DPO's credential was created by the admin who registered the channel; a DPO appointed \
     independently must approve, or the tenant must configure dpo_appointed_by_admin"
)]
pub struct DpoNotIndependent;

/// Checks R1's separation of duties: the DPO credential's creator must not be the channel's
/// registering admin, unless the tenant configured "DPO appointed by the admin". Unknown
/// creators or registrants (records from before this rule) are not held against the approval.
pub fn check_dpo_independence(
    channel_registered_by: Option<StaffId>,
    dpo_credential_created_by: Option<StaffId>,
    settings: &CredentialSettings,
) -> Result<(), DpoNotIndependent> {
    match (channel_registered_by, dpo_credential_created_by) {
        (Some(admin), Some(creator)) if admin == creator && !settings.dpo_appointed_by_admin => Err(DpoNotIndependent),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use uuid::Uuid;

    fn staff(n: u128) -> StaffId {
        StaffId::from_uuid(Uuid::from_u128(n))
    }

    #[test]
    fn an_invitation_is_single_use_and_expires_after_72_hours() {
        let now = datetime!(2026-01-01 00:00 UTC);
        let tenant = TenantId::from_uuid(Uuid::from_u128(9));
        let mut inv = Invitation::new(staff(1), tenant, Role::Admin, InvitationOrigin::TenantCreated, None, now);
        assert_eq!(inv.expires_at, datetime!(2026-01-04 00:00 UTC));
        let mut late = inv.clone();
        assert_eq!(late.accept(datetime!(2026-01-04 00:00 UTC)), Err(InvitationError::Expired));
        assert_eq!(inv.accept(now + Duration::hours(71)), Ok(()));
        assert_eq!(inv.accept(now + Duration::hours(71)), Err(InvitationError::Used));
    }

    #[test]
    fn token_expiry_defaults_to_90_days_and_respects_the_tenant_maximum() {
        let now = datetime!(2026-01-01 00:00 UTC);
        let settings = CredentialSettings::default();
        assert_eq!(settings.token_expiry(None, now).unwrap(), now + Duration::days(90));
        assert_eq!(settings.token_expiry(Some(7), now).unwrap(), now + Duration::days(7));
        assert!(settings.token_expiry(Some(91), now).is_err());
        assert!(settings.token_expiry(Some(0), now).is_err());
        let short = CredentialSettings { token_max_days: 30, ..settings };
        assert_eq!(short.token_expiry(None, now).unwrap(), now + Duration::days(30));
        assert!(CredentialSettings { token_max_days: 731, ..settings }.validate().is_err());
    }

    #[test]
    fn the_operator_mints_only_operator_credentials() {
        assert!(operator_may_mint(Role::Operator));
        for role in [Role::Admin, Role::Dpo, Role::Recruiter] {
            assert!(!operator_may_mint(role), "{role:?}");
        }
    }

    #[test]
    fn a_dpo_minted_by_the_registering_admin_may_not_approve_unless_configured() {
        let strict = CredentialSettings::default();
        let allowed = CredentialSettings { dpo_appointed_by_admin: true, ..strict };
        assert_eq!(check_dpo_independence(Some(staff(1)), Some(staff(1)), &strict), Err(DpoNotIndependent));
        assert_eq!(check_dpo_independence(Some(staff(1)), Some(staff(1)), &allowed), Ok(()));
        assert_eq!(check_dpo_independence(Some(staff(1)), Some(staff(2)), &strict), Ok(()));
        assert_eq!(check_dpo_independence(Some(staff(1)), None, &strict), Ok(()));
    }

    #[test]
    fn token_state_revocation_wins_over_expiry() {
        let now = datetime!(2026-01-01 00:00 UTC);
        assert_eq!(TokenState::at(None, Some(now + Duration::days(1)), now), TokenState::Active);
        assert_eq!(TokenState::at(None, Some(now), now), TokenState::Expired);
        assert_eq!(TokenState::at(Some(now), Some(now), now), TokenState::Revoked);
        assert_eq!(TokenState::at(None, None, now), TokenState::Active);
    }
}
