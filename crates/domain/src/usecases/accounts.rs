//! Staff accounts, invitations, sign-in and sessions (issue 16). The rules are in
//! [`crate::staff`]; this module loads through the [`AccountStore`], hashes and verifies through
//! [`Passwords`] and [`SecondFactor`], and audits every change in the tenant's chain (staff named
//! by id only).
//!
//! Sign-in never tells why it failed: an unknown e-mail, a wrong password and a disabled account
//! get the same [`AccountError::SignInFailed`], after the same work (a password verification
//! against a dummy hash when there is no account). Failures are throttled per e-mail and per
//! source address ([`crate::staff::Throttle`]), in the store, so on every replica.

use std::sync::Arc;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::Hoheit;
use crate::actor::{Actor, Role};
use crate::credential::{Invitation, InvitationError, InvitationOrigin};
use crate::events::DomainEvent;
use crate::ids::{StaffId, TenantId};
use crate::ports::{AccountStore, Passwords, SecondFactor, StoreError, TotpSetup, recovery_code_hash};
use crate::staff::{
    self, Email, INVITATION_PREFIX, IdpBinding, PasswordHash, RECOVERY_CODES, SecondFactorChange, SecretText, Session,
    SessionEnd, SessionHash, SessionSettings, SessionStage, SessionState, SignInFailure, SignInMethod, StaffAccount,
    StaffLanguage, StaffRuleError, StaffStatus, ThrottleKey, TotpEnrolment, WeakPassword,
};
use crate::values::Pii;

/// What the account use cases need beyond the domain's other ports.
pub struct AccountPorts {
    /// Accounts, sessions, throttles.
    pub store: Arc<dyn AccountStore>,
    /// argon2id.
    pub passwords: Arc<dyn Passwords>,
    /// TOTP, recovery codes, random secrets.
    pub second_factor: Arc<dyn SecondFactor>,
    /// Session time-outs.
    pub sessions: SessionSettings,
    /// The issuer name authenticator apps show (`hoheit`).
    pub totp_issuer: String,
}

impl std::fmt::Debug for AccountPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountPorts").field("sessions", &self.sessions).finish_non_exhaustive()
    }
}

/// Why an account use case did not do what was asked. Messages carry no personal data; the
/// sign-in errors are deliberately generic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// A staff-management rule refused (not an admin, last admin, R1, ...).
    #[error(transparent)]
    Rule(#[from] StaffRuleError),
    /// The actor may not do this.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// No such account (in this tenant).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The new password breaks a rule (the rule is named).
    #[error(transparent)]
    WeakPassword(#[from] WeakPassword),
    /// Input that does not fit.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// Sign-in failed (unknown e-mail, wrong password, inactive account: one answer).
    #[error("the e-mail address or password is wrong, or the account cannot sign in")]
    SignInFailed,
    /// Too many failures: try again after `retry_after`.
    #[error("too many failed attempts; try again later")]
    Throttled {
        /// How long to wait.
        retry_after: Duration,
    },
    /// The TOTP or recovery code is wrong (or was used already).
    #[error("the code is wrong or was used already")]
    SecondFactorInvalid,
    /// No session in force for this cookie (unknown, expired, revoked, account disabled, or not
    /// at the stage the request needs).
    #[error("no valid session; please sign in")]
    SessionInvalid,
    /// No such invitation.
    #[error("no such invitation")]
    InvitationInvalid,
    /// The invitation was used or expired.
    #[error(transparent)]
    Invitation(#[from] InvitationError),
    /// Another account of the tenant has this e-mail address.
    #[error("another account of the tenant has this e-mail address")]
    EmailTaken,
    /// Another account of the tenant is bound to this identity-provider subject.
    #[error("another account of the tenant is bound to this identity")]
    IdentityTaken,
    /// Accounts are not wired in this process.
    #[error("staff accounts are not configured")]
    NotConfigured,
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<super::UseCaseError> for AccountError {
    fn from(e: super::UseCaseError) -> Self {
        match e {
            super::UseCaseError::NotFound(what) => Self::NotFound(what),
            super::UseCaseError::Forbidden(why) => Self::Forbidden(why),
            super::UseCaseError::Store(s) => Self::Store(s),
            other @ (super::UseCaseError::Refused(_)
            | super::UseCaseError::Invalid(_)
            | super::UseCaseError::Conflict(_)
            | super::UseCaseError::DpoNotIndependent
            | super::UseCaseError::Unavailable(_)) => Self::Invalid(other.to_string()),
        }
    }
}

impl From<crate::values::InvalidValue> for AccountError {
    fn from(e: crate::values::InvalidValue) -> Self {
        Self::Invalid(e.to_string())
    }
}

impl AccountError {
    /// Stable error code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Rule(r) => r.code(),
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::WeakPassword(w) => w.code(),
            Self::Invalid(_) => "invalid",
            Self::SignInFailed => "sign_in_failed",
            Self::Throttled { .. } => "sign_in_throttled",
            Self::SecondFactorInvalid => "second_factor_invalid",
            Self::SessionInvalid => "session_invalid",
            Self::InvitationInvalid => "invitation_invalid",
            Self::Invitation(e) => e.code(),
            Self::EmailTaken => "email_taken",
            Self::IdentityTaken => "identity_taken",
            Self::NotConfigured => "accounts_not_configured",
            Self::Store(StoreError::Conflict) => "conflict",
            Self::Store(_) => "internal",
        }
    }
}

/// An invitation to create (`POST /staff/invitations`, `hoheit staff invite`).
#[derive(Debug, Clone)]
pub struct StaffInvite {
    /// `admin`, `dpo` or `recruiter`.
    pub role: Role,
    /// The person's e-mail (sealed; the invitation link is handed over outside hoheit).
    pub email: String,
    /// The person's name as shown in the UI (sealed).
    pub display_name: String,
    /// UI language (default German).
    pub language: Option<StaffLanguage>,
}

/// An invitation just created: the secret is shown once (the link is
/// `<public_url>/invitations/<secret>` or what the web crate makes of it).
#[derive(Debug, Clone)]
pub struct StaffInvitation {
    /// The invitation (its id is the account's id).
    pub invitation: Invitation,
    /// The secret (`hoi_...`).
    pub secret: SecretText,
    /// The invited account.
    pub account: StaffView,
}

/// An account as listed (no secrets; e-mail and name are personal data, shown to the tenant's
/// own admins in the UI, never logged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffView {
    /// Id.
    pub id: StaffId,
    /// Tenant.
    pub tenant: TenantId,
    /// Role.
    pub role: Role,
    /// Status.
    pub status: StaffStatus,
    /// Display name.
    pub display_name: Pii<String>,
    /// E-mail.
    pub email: Pii<Email>,
    /// UI language.
    pub language: StaffLanguage,
    /// Creator.
    pub created_by: Option<StaffId>,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Whether it has a local password.
    pub local_password: bool,
    /// Whether its TOTP is set up.
    pub totp: bool,
    /// The issuer it is bound to, if any.
    pub idp_issuer: Option<String>,
}

impl From<&StaffAccount> for StaffView {
    fn from(a: &StaffAccount) -> Self {
        Self {
            id: a.id,
            tenant: a.tenant,
            role: a.role,
            status: a.status,
            display_name: a.display_name.clone(),
            email: a.email.clone(),
            language: a.language,
            created_by: a.created_by,
            created_at: a.created_at,
            local_password: a.password.is_some(),
            totp: a.has_totp(),
            idp_issuer: a.idp.as_ref().map(|b| b.issuer.clone()),
        }
    }
}

/// A session just created or rotated: the cookie value goes into `__Host-hoheit_session`
/// (Secure, HttpOnly, SameSite=Lax, Path=/), once. Any previous cookie is replaced.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The cookie value (256 random bits, base64url); stored only as its SHA-256.
    pub cookie: SecretText,
    /// The session's CSRF token (for forms and the `X-CSRF-Token` header).
    pub csrf_token: String,
    /// The public id (shown in the list of one's sessions).
    pub id: Uuid,
    /// Tenant.
    pub tenant: TenantId,
    /// The account.
    pub staff: StaffId,
    /// Its role.
    pub role: Role,
    /// Stage: `Full` is signed in; the others allow only the next sign-in step.
    pub stage: SessionStage,
    /// Absolute end.
    pub expires_at: OffsetDateTime,
    /// End if idle.
    pub idle_deadline: OffsetDateTime,
}

/// A request's session, validated: who, and the CSRF token it must carry for state changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPrincipal {
    /// The account.
    pub staff: StaffId,
    /// Tenant.
    pub tenant: TenantId,
    /// Role (read from the account on every request).
    pub role: Role,
    /// Creator of the account.
    pub created_by: Option<StaffId>,
    /// R1 appointer (what `check_dpo_independence` compares; see [`StaffAccount::appointed_by`]).
    pub appointed_by: Option<StaffId>,
    /// UI language.
    pub language: StaffLanguage,
    /// The CSRF token.
    pub csrf_token: String,
    /// Public session id.
    pub session_id: Uuid,
    /// How it signed in.
    pub method: SignInMethod,
    /// When the session ends if idle (for the time-out warning).
    pub idle_deadline: OffsetDateTime,
    /// Absolute end.
    pub expires_at: OffsetDateTime,
}

impl SessionPrincipal {
    /// The actor of the requests made in this session.
    pub const fn actor(&self) -> Actor {
        Actor::Staff { id: self.staff, role: self.role }
    }
}

/// A session between the password and the second factor (or its set-up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSession {
    /// The account.
    pub staff: StaffId,
    /// Tenant.
    pub tenant: TenantId,
    /// `SecondFactor` or `Enrolment`.
    pub stage: SessionStage,
    /// UI language.
    pub language: StaffLanguage,
    /// The CSRF token (the second-factor form posts with it).
    pub csrf_token: String,
    /// When it ends.
    pub expires_at: OffsetDateTime,
}

/// One of one's sessions, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    /// Public id.
    pub id: Uuid,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last request.
    pub last_seen_at: OffsetDateTime,
    /// Absolute end.
    pub expires_at: OffsetDateTime,
    /// Browser family.
    pub user_agent: String,
    /// How it signed in.
    pub method: SignInMethod,
    /// Whether it is the session asking.
    pub current: bool,
}

/// Accepting an invitation with a local password.
#[derive(Debug, Clone)]
pub struct AcceptLocal {
    /// The invitation secret.
    pub secret: SecretText,
    /// E-mail: required if the invitation has no account yet (a tenant's first admin from
    /// `hoheit tenant create`), ignored otherwise (the admin's invitation fixed it).
    pub email: Option<String>,
    /// Name: required like `email`; if given for an invited account, replaces the admin's
    /// spelling.
    pub display_name: Option<String>,
    /// The password.
    pub password: SecretText,
    /// UI language.
    pub language: Option<StaffLanguage>,
    /// The browser's `User-Agent` (only its family is kept).
    pub user_agent: Option<String>,
}

/// An accepted invitation.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The account.
    pub account: StaffView,
    /// The session: `Enrolment` when TOTP must be set up next (then `totp` is the set-up to
    /// show), `Full` otherwise.
    pub session: NewSession,
    /// The TOTP set-up to show, if one is required.
    pub totp: Option<TotpSetup>,
}

/// A sign-in with e-mail and password.
#[derive(Debug, Clone)]
pub struct SignIn {
    /// Tenant (the sign-in page is per tenant).
    pub tenant: TenantId,
    /// E-mail as typed.
    pub email: String,
    /// Password.
    pub password: SecretText,
    /// The client's address (throttled per address; stored only as a keyed hash).
    pub source: Option<String>,
    /// The browser's `User-Agent`.
    pub user_agent: Option<String>,
    /// The cookie the browser sent, if any: revoked (a session is never reused across sign-in).
    pub previous_cookie: Option<SecretText>,
}

/// The outcome of the password step.
#[derive(Debug, Clone)]
pub struct SignInStep {
    /// The new session (stage `SecondFactor`, `Enrolment` or `Full`).
    pub session: NewSession,
    /// For `Enrolment`: the TOTP set-up to show.
    pub totp: Option<TotpSetup>,
}

/// A second-factor code.
#[derive(Debug, Clone)]
pub enum SecondFactorCode {
    /// A 6-digit TOTP code.
    Totp(String),
    /// A recovery code (single use).
    Recovery(SecretText),
}

/// TOTP set up: the session (rotated to `Full`) and the recovery codes, shown once.
#[derive(Debug, Clone)]
pub struct TotpEnrolled {
    /// The rotated session.
    pub session: NewSession,
    /// 10 recovery codes.
    pub recovery_codes: Vec<SecretText>,
}

/// An identity the OIDC client verified (ID token signature, issuer, audience, nonce, expiry).
#[derive(Debug, Clone)]
pub struct VerifiedIdentity {
    /// The tenant whose identity provider it came from.
    pub tenant: TenantId,
    /// Issuer URL.
    pub issuer: String,
    /// `sub`.
    pub subject: Pii<String>,
    /// `email`, if given.
    pub email: Option<Pii<String>>,
    /// `name`, if given.
    pub name: Option<Pii<String>>,
    /// Group claims (for a claim-to-role mapping; roles are managed in hoheit for now).
    pub groups: Vec<String>,
    /// The browser's `User-Agent`.
    pub user_agent: Option<String>,
    /// The client's address.
    pub source: Option<String>,
}

fn display_name(input: &str) -> Result<String, AccountError> {
    let name = input.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(AccountError::Invalid("display_name: 1 to 200 characters, no control characters".into()));
    }
    Ok(name.to_owned())
}

fn map_duplicate(e: StoreError, taken: AccountError) -> AccountError {
    match e {
        StoreError::Duplicate(_) => taken,
        other @ (StoreError::Conflict
        | StoreError::NotFound(_)
        | StoreError::Corrupt(_)
        | StoreError::Unavailable(_)) => AccountError::Store(other),
    }
}

impl Hoheit {
    /// Wires staff accounts and sessions.
    #[must_use]
    pub fn with_accounts(mut self, ports: AccountPorts) -> Self {
        self.accounts = Some(Arc::new(ports));
        self
    }

    /// The session settings in force (defaults if accounts are not wired).
    pub fn session_settings(&self) -> SessionSettings {
        self.accounts.as_ref().map(|a| a.sessions).unwrap_or_default()
    }

    fn acc(&self) -> Result<&AccountPorts, AccountError> {
        self.accounts.as_deref().ok_or(AccountError::NotConfigured)
    }

    /// Whether `id` is an active staff account of the tenant whose role writes to candidates
    /// (recruiter, admin): who a conversation can be assigned to.
    pub(super) async fn writes_to_candidates(
        &self,
        tenant: TenantId,
        id: StaffId,
    ) -> Result<bool, super::UseCaseError> {
        let Ok(acc) = self.acc() else { return Ok(false) };
        Ok(acc.store.account_by_id(id).await?.is_some_and(|a| {
            a.tenant == tenant && a.status == StaffStatus::Active && crate::access::Action::SendMessages.allows(a.role)
        }))
    }

    async fn audit_account(
        &self,
        tenant: TenantId,
        actor: Actor,
        events: Vec<DomainEvent>,
    ) -> Result<(), AccountError> {
        self.record_credential_events(tenant, actor, events).await.map_err(AccountError::from)
    }

    async fn check_password(
        &self,
        password: &SecretText,
        email: &Email,
        name: &str,
    ) -> Result<PasswordHash, AccountError> {
        let acc = self.acc()?;
        staff::check_password_shape(password, email, name)?;
        if acc.passwords.is_common(password) {
            return Err(WeakPassword::Common.into());
        }
        Ok(acc.passwords.hash(password).await?)
    }

    async fn new_session(
        &self,
        account: &StaffAccount,
        stage: SessionStage,
        method: SignInMethod,
        user_agent: Option<&str>,
        replaces: Option<&SessionHash>,
    ) -> Result<NewSession, AccountError> {
        let acc = self.acc()?;
        let now = self.now();
        let cookie = SecretText::new(acc.second_factor.random_secret());
        let session = Session::new(
            self.new_id(),
            SessionHash::of(&cookie),
            account.tenant,
            account.id,
            stage,
            method,
            user_agent,
            &acc.sessions,
            now,
        );
        match replaces {
            Some(old) => {
                if !acc.store.rotate_session(old, &session, now).await? {
                    return Err(AccountError::SessionInvalid);
                }
            }
            None => acc.store.create_session(&session).await?,
        }
        Ok(NewSession {
            csrf_token: staff::csrf_token(&cookie),
            cookie,
            id: session.id,
            tenant: account.tenant,
            staff: account.id,
            role: account.role,
            stage,
            expires_at: session.expires_at,
            idle_deadline: session.idle_deadline(&acc.sessions),
        })
    }

    fn actor_of(account: &StaffAccount) -> Actor {
        Actor::Staff { id: account.id, role: account.role }
    }

    async fn second_factor_required(&self, account: &StaffAccount) -> Result<bool, AccountError> {
        let settings = self.config(account.tenant).await?.tenant.credentials;
        Ok(staff::second_factor_required(account.role, settings.recruiter_second_factor))
    }

    /// Makes sure the account has an unconfirmed TOTP secret (keeping one already there) and
    /// returns its set-up.
    async fn pending_totp(&self, account: &mut StaffAccount) -> Result<TotpSetup, AccountError> {
        let acc = self.acc()?;
        let secret = match &account.totp {
            Some(t) if !t.confirmed => t.secret.clone(),
            _ => {
                let secret = acc.second_factor.new_totp_secret();
                account.totp = Some(TotpEnrolment { secret: secret.clone(), confirmed: false, last_step: None });
                acc.store.save_account(account).await?;
                account.version += 1;
                secret
            }
        };
        acc.second_factor
            .totp_setup(&secret, account.email.expose().as_str(), &acc.totp_issuer)
            .map_err(|e| AccountError::Invalid(e.to_string()))
    }

    // ----- staff management -----------------------------------------------------------------

    /// Invites a staff member (admins; `Actor::System` for the CLI and the development accounts
    /// of `hoheit serve --dev`): creates the account (status `invited`) and a single-use
    /// invitation valid 72 hours whose secret is returned once. Audited `invitation.issued`.
    pub async fn invite_staff(
        &self,
        actor: Actor,
        tenant: TenantId,
        input: StaffInvite,
    ) -> Result<StaffInvitation, AccountError> {
        let acc = self.acc()?;
        let created_by = match actor {
            Actor::Staff { id, role } => {
                staff::check_manage(role)?;
                Some(id)
            }
            Actor::System => None,
            Actor::Candidate => return Err(AccountError::Forbidden("only an admin may invite staff")),
        };
        if input.role == Role::Operator {
            return Err(StaffRuleError::NotAStaffRole.into());
        }
        self.config(tenant).await?;
        let email = Email::parse(&input.email)?;
        let name = display_name(&input.display_name)?;
        let now = self.now();
        let id: StaffId = self.new_id();
        let account = StaffAccount::invited(
            id,
            tenant,
            input.role,
            email,
            name,
            input.language.unwrap_or_default(),
            created_by,
            now,
        );
        let invitation = Invitation::new(id, tenant, input.role, InvitationOrigin::TenantCreated, created_by, now);
        let secret = SecretText::new(format!("{INVITATION_PREFIX}{}", acc.second_factor.random_secret()));
        acc.store
            .create_invited_account(&account, &invitation, secret.expose())
            .await
            .map_err(|e| map_duplicate(e, AccountError::EmailTaken))?;
        self.audit_account(
            tenant,
            actor,
            vec![DomainEvent::InvitationIssued {
                staff: id,
                role: input.role,
                origin: invitation.origin,
                reason: None,
            }],
        )
        .await?;
        Ok(StaffInvitation { invitation, secret, account: StaffView::from(&account) })
    }

    /// The tenant's accounts (admin and DPO).
    pub async fn staff_list(&self, actor: Actor, tenant: TenantId) -> Result<Vec<StaffView>, AccountError> {
        match actor {
            Actor::Staff { role: Role::Admin | Role::Dpo, .. } | Actor::System => {}
            Actor::Staff { .. } | Actor::Candidate => {
                return Err(AccountError::Forbidden("only an admin or the data-protection officer may list staff"));
            }
        }
        Ok(self.acc()?.store.accounts(tenant).await?.iter().map(StaffView::from).collect())
    }

    /// One account of the tenant (any staff member may read its own; admin and DPO any).
    pub async fn staff_member(&self, actor: Actor, tenant: TenantId, id: StaffId) -> Result<StaffView, AccountError> {
        match actor {
            Actor::Staff { role: Role::Admin | Role::Dpo, .. } | Actor::System => {}
            Actor::Staff { id: me, .. } if me == id => {}
            Actor::Staff { .. } | Actor::Candidate => {
                return Err(AccountError::Forbidden("only an admin or the data-protection officer may read staff"));
            }
        }
        let account = self.acc()?.store.account(tenant, id).await?.ok_or(AccountError::NotFound("staff"))?;
        Ok(StaffView::from(&account))
    }

    async fn manage_target(
        &self,
        actor: Actor,
        tenant: TenantId,
        id: StaffId,
    ) -> Result<(StaffId, Role, StaffAccount, Vec<StaffAccount>), AccountError> {
        let (me, role) = match actor {
            Actor::Staff { id, role } => (id, role),
            Actor::System => (StaffId::from_uuid(Uuid::nil()), Role::Admin),
            Actor::Candidate => return Err(StaffRuleError::NotAdmin.into()),
        };
        staff::check_manage(role)?;
        let accounts = self.acc()?.store.accounts(tenant).await?;
        let target = accounts.iter().find(|a| a.id == id).cloned().ok_or(AccountError::NotFound("staff"))?;
        Ok((me, role, target, accounts))
    }

    /// Changes an account's role (admins): the last active admin stays admin; an admin never
    /// makes itself DPO (R1). The account's sessions end (it signs in again with the new role).
    /// Audited `staff.role_changed` and `session.revoked`.
    pub async fn change_staff_role(
        &self,
        actor: Actor,
        tenant: TenantId,
        id: StaffId,
        role: Role,
    ) -> Result<StaffView, AccountError> {
        let acc = self.acc()?;
        let (me, my_role, mut target, accounts) = self.manage_target(actor, tenant, id).await?;
        let settings = self.config(tenant).await?.tenant.credentials;
        let appointed_by = staff::check_role_change((me, my_role), &target, role, &accounts, &settings)?;
        if target.role == role {
            return Ok(StaffView::from(&target));
        }
        let from = target.role;
        target.role = role;
        target.appointed_by = appointed_by;
        acc.store.save_account(&target).await?;
        target.version += 1;
        let now = self.now();
        let count = acc.store.revoke_sessions(id, now).await?;
        let mut events = vec![DomainEvent::StaffRoleChanged { staff: id, from, to: role }];
        if count > 0 {
            events.push(DomainEvent::SessionRevoked { staff: id, reason: SessionEnd::RoleChanged, count });
        }
        self.audit_account(tenant, actor, events).await?;
        Ok(StaffView::from(&target))
    }

    /// Disables an account (admins; never the last active admin): its sessions end at once and
    /// its tokens are refused from the next request on every replica. Audited `staff.disabled`.
    pub async fn disable_staff(&self, actor: Actor, tenant: TenantId, id: StaffId) -> Result<StaffView, AccountError> {
        let acc = self.acc()?;
        let (_, my_role, mut target, accounts) = self.manage_target(actor, tenant, id).await?;
        staff::check_disable(my_role, &target, &accounts)?;
        if target.status == StaffStatus::Disabled {
            return Ok(StaffView::from(&target));
        }
        target.status = StaffStatus::Disabled;
        acc.store.save_account(&target).await?;
        target.version += 1;
        let count = acc.store.revoke_sessions(id, self.now()).await?;
        let mut events = vec![DomainEvent::StaffDisabled { staff: id }];
        if count > 0 {
            events.push(DomainEvent::SessionRevoked { staff: id, reason: SessionEnd::AccountDisabled, count });
        }
        self.audit_account(tenant, actor, events).await?;
        Ok(StaffView::from(&target))
    }

    /// Resets an account's second factor (admins): TOTP and recovery codes are removed, its
    /// sessions end; at the next sign-in the person sets up TOTP again. Audited.
    pub async fn reset_second_factor(
        &self,
        actor: Actor,
        tenant: TenantId,
        id: StaffId,
    ) -> Result<StaffView, AccountError> {
        let acc = self.acc()?;
        let (_, _, mut target, _) = self.manage_target(actor, tenant, id).await?;
        target.totp = None;
        acc.store.save_account(&target).await?;
        target.version += 1;
        acc.store.set_recovery_codes(tenant, id, &[]).await?;
        let count = acc.store.revoke_sessions(id, self.now()).await?;
        let mut events = vec![DomainEvent::SecondFactorChanged { staff: id, change: SecondFactorChange::Reset }];
        if count > 0 {
            events.push(DomainEvent::SessionRevoked { staff: id, reason: SessionEnd::SecondFactorReset, count });
        }
        self.audit_account(tenant, actor, events).await?;
        Ok(StaffView::from(&target))
    }

    /// Whether the staff identity `id` may act now: `Some(false)` for an account that is not
    /// active (a disabled account's API tokens are refused), `None` when no account has this id
    /// (a token from before accounts, or an operator token).
    pub async fn staff_may_act(&self, id: StaffId) -> Result<Option<bool>, AccountError> {
        let Some(acc) = self.accounts.as_deref() else { return Ok(None) };
        Ok(acc.store.account_by_id(id).await?.map(|a| a.may_act()))
    }

    // ----- invitations ------------------------------------------------------------------------

    async fn open_invitation(&self, secret: &SecretText) -> Result<Invitation, AccountError> {
        let acc = self.acc()?;
        if !secret.expose().starts_with(INVITATION_PREFIX) || secret.expose().len() > 128 {
            return Err(AccountError::InvitationInvalid);
        }
        let mut invitation = acc.store.invitation(secret.expose()).await?.ok_or(AccountError::InvitationInvalid)?;
        // checks only: the store marks it accepted atomically with the account
        let mut probe = invitation.clone();
        probe.accept(self.now())?;
        invitation.accepted_at = probe.accepted_at;
        Ok(invitation)
    }

    /// The account an invitation sets up: the invited one, or a new one from the input (the
    /// first admin's invitation from `hoheit tenant create` has none).
    async fn invited_account(
        &self,
        invitation: &Invitation,
        email: Option<&str>,
        name: Option<&str>,
        language: Option<StaffLanguage>,
    ) -> Result<StaffAccount, AccountError> {
        let acc = self.acc()?;
        let mut account = match acc.store.account(invitation.tenant, invitation.id).await? {
            Some(a) if a.status == StaffStatus::Invited => a,
            Some(_) => return Err(InvitationError::Used.into()),
            None => {
                let email = Email::parse(email.ok_or_else(|| AccountError::Invalid("email is required".into()))?)?;
                let name = display_name(name.ok_or_else(|| AccountError::Invalid("display_name is required".into()))?)?;
                StaffAccount::invited(
                    invitation.id,
                    invitation.tenant,
                    invitation.role,
                    email,
                    name,
                    language.unwrap_or_default(),
                    invitation.created_by,
                    self.now(),
                )
            }
        };
        if let Some(name) = name {
            account.display_name = Pii::new(display_name(name)?);
        }
        if let Some(language) = language {
            account.language = language;
        }
        account.status = StaffStatus::Active;
        Ok(account)
    }

    /// Shows what an invitation is for before it is accepted (the accept page): its role and,
    /// for an invited account, the e-mail it was sent for. Does not use it up.
    pub async fn invitation_preview(
        &self,
        secret: &SecretText,
    ) -> Result<(Invitation, Option<StaffView>), AccountError> {
        let invitation = self.open_invitation(secret).await?;
        let account = self.acc()?.store.account(invitation.tenant, invitation.id).await?;
        Ok((invitation, account.as_ref().map(StaffView::from)))
    }

    /// Accepts an invitation with a local password: the account becomes active; if a second
    /// factor is required the session is at the `Enrolment` stage and the TOTP set-up is
    /// returned to show. Audited `invitation.accepted`, `staff.password_changed`.
    pub async fn accept_invitation_local(&self, input: AcceptLocal) -> Result<Accepted, AccountError> {
        let acc = self.acc()?;
        let invitation = self.open_invitation(&input.secret).await?;
        let mut account = self
            .invited_account(&invitation, input.email.as_deref(), input.display_name.as_deref(), input.language)
            .await?;
        account.password =
            Some(self.check_password(&input.password, account.email.expose(), account.display_name.expose()).await?);
        let required = self.second_factor_required(&account).await?;
        if required {
            account.totp =
                Some(TotpEnrolment { secret: acc.second_factor.new_totp_secret(), confirmed: false, last_step: None });
        }
        self.store_accepted(&invitation, &account, AccountError::EmailTaken).await?;
        account = acc.store.account(account.tenant, account.id).await?.ok_or(AccountError::NotFound("staff"))?;
        let actor = Self::actor_of(&account);
        let mut events = vec![
            DomainEvent::InvitationAccepted { staff: account.id, role: account.role },
            DomainEvent::PasswordChanged { staff: account.id },
        ];
        let (stage, totp) = if required {
            (SessionStage::Enrolment, Some(self.pending_totp(&mut account).await?))
        } else {
            events.push(DomainEvent::SignInSucceeded { staff: account.id, method: SignInMethod::Local });
            (SessionStage::Full, None)
        };
        self.audit_account(account.tenant, actor, events).await?;
        let session = self.new_session(&account, stage, SignInMethod::Local, input.user_agent.as_deref(), None).await?;
        Ok(Accepted { account: StaffView::from(&account), session, totp })
    }

    /// Stores the account of an accepted invitation: an e-mail or identity another account has is
    /// `taken`; an invitation accepted meanwhile is `Used`.
    async fn store_accepted(
        &self,
        invitation: &Invitation,
        account: &StaffAccount,
        taken: AccountError,
    ) -> Result<(), AccountError> {
        let accepted = self
            .acc()?
            .store
            .accept_invitation_account(invitation.id, account, self.now())
            .await
            .map_err(|e| map_duplicate(e, taken))?;
        if !accepted {
            return Err(InvitationError::Used.into());
        }
        Ok(())
    }

    /// Accepts an invitation by binding the account to a verified identity-provider subject;
    /// the e-mail and name come from the invited account or, for an invitation without one,
    /// from the identity's claims. Signs in (`Full`, method `oidc`).
    pub async fn accept_invitation_idp(
        &self,
        secret: &SecretText,
        identity: VerifiedIdentity,
    ) -> Result<(StaffView, NewSession), AccountError> {
        let invitation = self.open_invitation(secret).await?;
        if invitation.tenant != identity.tenant {
            return Err(AccountError::InvitationInvalid);
        }
        let mut account = self
            .invited_account(
                &invitation,
                identity.email.as_ref().map(|e| e.expose().as_str()),
                identity.name.as_ref().map(|n| n.expose().as_str()),
                None,
            )
            .await?;
        account.idp = Some(IdpBinding { issuer: identity.issuer.clone(), subject: identity.subject.clone() });
        self.store_accepted(&invitation, &account, AccountError::IdentityTaken).await?;
        let actor = Self::actor_of(&account);
        self.audit_account(
            account.tenant,
            actor,
            vec![
                DomainEvent::InvitationAccepted { staff: account.id, role: account.role },
                DomainEvent::SignInSucceeded { staff: account.id, method: SignInMethod::Oidc },
            ],
        )
        .await?;
        let session = self
            .new_session(&account, SessionStage::Full, SignInMethod::Oidc, identity.user_agent.as_deref(), None)
            .await?;
        Ok((StaffView::from(&account), session))
    }

    // ----- sign-in ----------------------------------------------------------------------------

    async fn throttled(&self, keys: &[ThrottleKey]) -> Result<Option<Duration>, AccountError> {
        let acc = self.acc()?;
        let now = self.now();
        let mut longest: Option<Duration> = None;
        for key in keys {
            if let Some(t) = acc.store.throttle(key).await?
                && let Some(wait) = t.retry_after(now)
            {
                longest = Some(longest.map_or(wait, |l| l.max(wait)));
            }
        }
        Ok(longest)
    }

    async fn fail(
        &self,
        tenant: TenantId,
        keys: &[ThrottleKey],
        staff: Option<&StaffAccount>,
        reason: SignInFailure,
    ) -> Result<(), AccountError> {
        let acc = self.acc()?;
        let now = self.now();
        for key in keys {
            acc.store.record_failure(key, now).await?;
        }
        let actor = staff.map_or(Actor::System, Self::actor_of);
        self.audit_account(tenant, actor, vec![DomainEvent::SignInFailed { staff: staff.map(|s| s.id), reason }]).await
    }

    async fn revoke_previous(&self, previous: Option<&SecretText>) -> Result<(), AccountError> {
        let acc = self.acc()?;
        if let Some(cookie) = previous
            && let Some(old) = acc.store.session(&SessionHash::of(cookie)).await?
            && old.revoked_at.is_none()
        {
            acc.store.revoke_session(old.staff, old.id, self.now()).await?;
        }
        Ok(())
    }

    /// The password step. On success a new session (never the browser's old one, which is
    /// revoked): `SecondFactor` if the account has TOTP, `Enrolment` (with the set-up) if it
    /// must set it up, `Full` otherwise. Every failure is [`AccountError::SignInFailed`] (or
    /// `Throttled`), whatever the reason; audited `sign_in.failed` / `sign_in.succeeded`.
    pub async fn sign_in_password(&self, input: SignIn) -> Result<SignInStep, AccountError> {
        let acc = self.acc()?;
        let tenant = input.tenant;
        let email = Email::parse(&input.email).ok();
        let mut keys = Vec::new();
        if let Some(email) = &email {
            keys.push(ThrottleKey::Email(tenant, email.clone()));
        }
        if let Some(source) = &input.source {
            keys.push(ThrottleKey::Source(tenant, Pii::new(source.clone())));
        }
        if self.config(tenant).await.is_err() {
            // no such tenant: nothing to throttle or audit, the same answer
            let _ = acc.passwords.verify(&input.password, None).await;
            return Err(AccountError::SignInFailed);
        }
        if let Some(retry_after) = self.throttled(&keys).await? {
            // the same work as an attempt, so the answer's timing tells nothing either
            let _ = acc.passwords.verify(&input.password, None).await;
            let _ = self
                .audit_account(
                    tenant,
                    Actor::System,
                    vec![DomainEvent::SignInFailed { staff: None, reason: SignInFailure::Throttled }],
                )
                .await;
            return Err(AccountError::Throttled { retry_after });
        }
        let account = match &email {
            Some(e) => acc.store.account_by_email(tenant, e).await?,
            _ => None,
        };
        let verified = acc.passwords.verify(&input.password, account.as_ref().and_then(|a| a.password.as_ref())).await;
        let Some(mut account) = account else {
            self.fail(tenant, &keys, None, SignInFailure::UnknownAccount).await?;
            return Err(AccountError::SignInFailed);
        };
        if !verified {
            self.fail(tenant, &keys, Some(&account), SignInFailure::WrongPassword).await?;
            return Err(AccountError::SignInFailed);
        }
        if !account.may_act() {
            self.fail(tenant, &keys, Some(&account), SignInFailure::AccountInactive).await?;
            return Err(AccountError::SignInFailed);
        }
        if let Some(email_key) = keys.first() {
            acc.store.clear_throttle(email_key).await?;
        }
        self.revoke_previous(input.previous_cookie.as_ref()).await?;
        let ua = input.user_agent.as_deref();
        if account.has_totp() {
            let session = self.new_session(&account, SessionStage::SecondFactor, SignInMethod::Local, ua, None).await?;
            return Ok(SignInStep { session, totp: None });
        }
        if self.second_factor_required(&account).await? {
            let totp = self.pending_totp(&mut account).await?;
            let session = self.new_session(&account, SessionStage::Enrolment, SignInMethod::Local, ua, None).await?;
            return Ok(SignInStep { session, totp: Some(totp) });
        }
        self.audit_account(
            tenant,
            Self::actor_of(&account),
            vec![DomainEvent::SignInSucceeded { staff: account.id, method: SignInMethod::Local }],
        )
        .await?;
        let session = self.new_session(&account, SessionStage::Full, SignInMethod::Local, ua, None).await?;
        Ok(SignInStep { session, totp: None })
    }

    async fn load_session(&self, cookie: &SecretText) -> Result<(Session, StaffAccount), AccountError> {
        let acc = self.acc()?;
        if cookie.expose().is_empty() || cookie.expose().len() > 128 {
            return Err(AccountError::SessionInvalid);
        }
        let session = acc.store.session(&SessionHash::of(cookie)).await?.ok_or(AccountError::SessionInvalid)?;
        if session.state(&acc.sessions, self.now()) != SessionState::Active {
            return Err(AccountError::SessionInvalid);
        }
        let account = acc.store.account(session.tenant, session.staff).await?.ok_or(AccountError::SessionInvalid)?;
        if !account.may_act() {
            return Err(AccountError::SessionInvalid);
        }
        Ok((session, account))
    }

    /// The second-factor step of a `SecondFactor` session: a TOTP code (each time step once) or
    /// a recovery code (each once). On success the session is rotated to `Full` (new cookie).
    /// Throttled per account; audited.
    pub async fn sign_in_second_factor(
        &self,
        cookie: &SecretText,
        code: SecondFactorCode,
    ) -> Result<NewSession, AccountError> {
        let acc = self.acc()?;
        let (session, mut account) = self.load_session(cookie).await?;
        if session.stage != SessionStage::SecondFactor {
            return Err(AccountError::SessionInvalid);
        }
        let key = [ThrottleKey::SecondFactor(account.tenant, account.id)];
        if let Some(retry_after) = self.throttled(&key).await? {
            return Err(AccountError::Throttled { retry_after });
        }
        let now = self.now();
        let mut events = Vec::new();
        let ok = match &code {
            SecondFactorCode::Totp(code) => match account.totp.clone() {
                Some(mut t) if t.confirmed => match acc.second_factor.verify_totp(&t.secret, code.trim(), now) {
                    Some(step) if t.step_unused(step) => {
                        t.last_step = Some(step);
                        account.totp = Some(t);
                        // the version check makes a step usable once across replicas
                        acc.store.save_account(&account).await.is_ok()
                    }
                    _ => false,
                },
                _ => false,
            },
            SecondFactorCode::Recovery(code) => {
                let used = acc
                    .store
                    .use_recovery_code(account.tenant, account.id, &recovery_code_hash(code.expose()), now)
                    .await?;
                if used {
                    events.push(DomainEvent::SecondFactorChanged {
                        staff: account.id,
                        change: SecondFactorChange::RecoveryCodeUsed,
                    });
                }
                used
            }
        };
        if !ok {
            self.fail(account.tenant, &key, Some(&account), SignInFailure::WrongSecondFactor).await?;
            return Err(AccountError::SecondFactorInvalid);
        }
        acc.store.clear_throttle(&key[0]).await?;
        events.push(DomainEvent::SignInSucceeded { staff: account.id, method: SignInMethod::Local });
        self.audit_account(account.tenant, Self::actor_of(&account), events).await?;
        self.new_session(&account, SessionStage::Full, session.method, Some(&session.user_agent), Some(&session.hash))
            .await
    }

    /// The TOTP set-up to show: in an `Enrolment` session (required set-up), or in a `Full`
    /// session of an account without TOTP (a recruiter setting it up voluntarily). The same
    /// secret is shown again until it is confirmed.
    pub async fn start_totp_setup(&self, cookie: &SecretText) -> Result<TotpSetup, AccountError> {
        let (session, mut account) = self.load_session(cookie).await?;
        match session.stage {
            SessionStage::Enrolment => {}
            SessionStage::Full if !account.has_totp() => {}
            SessionStage::SecondFactor | SessionStage::Full => return Err(AccountError::SessionInvalid),
        }
        self.pending_totp(&mut account).await
    }

    /// Confirms the TOTP set-up with a code: the enrolment is complete, 10 recovery codes are
    /// made (shown once, stored hashed) and the session is rotated to `Full`. Audited.
    pub async fn confirm_totp(&self, cookie: &SecretText, code: &str) -> Result<TotpEnrolled, AccountError> {
        let acc = self.acc()?;
        let (session, mut account) = self.load_session(cookie).await?;
        match session.stage {
            SessionStage::Enrolment => {}
            SessionStage::Full if !account.has_totp() => {}
            SessionStage::SecondFactor | SessionStage::Full => return Err(AccountError::SessionInvalid),
        }
        let now = self.now();
        let Some(mut t) = account.totp.clone().filter(|t| !t.confirmed) else {
            return Err(AccountError::SecondFactorInvalid);
        };
        let Some(step) = acc.second_factor.verify_totp(&t.secret, code.trim(), now) else {
            return Err(AccountError::SecondFactorInvalid);
        };
        t.confirmed = true;
        t.last_step = Some(step);
        account.totp = Some(t);
        acc.store.save_account(&account).await?;
        let recovery_codes = self.renew_codes(&account).await?;
        let mut events =
            vec![DomainEvent::SecondFactorChanged { staff: account.id, change: SecondFactorChange::TotpEnrolled }];
        if session.stage == SessionStage::Enrolment {
            events.push(DomainEvent::SignInSucceeded { staff: account.id, method: session.method });
        }
        self.audit_account(account.tenant, Self::actor_of(&account), events).await?;
        let session = self
            .new_session(&account, SessionStage::Full, session.method, Some(&session.user_agent), Some(&session.hash))
            .await?;
        Ok(TotpEnrolled { session, recovery_codes })
    }

    async fn renew_codes(&self, account: &StaffAccount) -> Result<Vec<SecretText>, AccountError> {
        let acc = self.acc()?;
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| acc.second_factor.recovery_code()).collect();
        let hashes: Vec<[u8; 32]> = codes.iter().map(|c| recovery_code_hash(c)).collect();
        acc.store.set_recovery_codes(account.tenant, account.id, &hashes).await?;
        Ok(codes.into_iter().map(SecretText::new).collect())
    }

    /// New recovery codes (the old ones stop working), confirmed with a current TOTP code.
    pub async fn renew_recovery_codes(&self, cookie: &SecretText, code: &str) -> Result<Vec<SecretText>, AccountError> {
        let acc = self.acc()?;
        let (_, mut account) = self.full_session(cookie).await?;
        let Some(mut t) = account.totp.clone().filter(|t| t.confirmed) else {
            return Err(AccountError::SecondFactorInvalid);
        };
        match acc.second_factor.verify_totp(&t.secret, code.trim(), self.now()) {
            Some(step) if t.step_unused(step) => t.last_step = Some(step),
            _ => return Err(AccountError::SecondFactorInvalid),
        }
        account.totp = Some(t);
        acc.store.save_account(&account).await.map_err(|_| AccountError::SecondFactorInvalid)?;
        let codes = self.renew_codes(&account).await?;
        self.audit_account(
            account.tenant,
            Self::actor_of(&account),
            vec![DomainEvent::SecondFactorChanged {
                staff: account.id,
                change: SecondFactorChange::RecoveryCodesRenewed,
            }],
        )
        .await?;
        Ok(codes)
    }

    /// How many unused recovery codes the session's account has.
    pub async fn recovery_codes_left(&self, cookie: &SecretText) -> Result<u32, AccountError> {
        let (_, account) = self.full_session(cookie).await?;
        Ok(self.acc()?.store.recovery_codes_left(account.tenant, account.id).await?)
    }

    /// Signs in through the tenant's identity provider: the account bound to (issuer, subject)
    /// in the tenant, if active. `SignInFailed` otherwise (audited). A new `Full` session.
    pub async fn sign_in_idp(
        &self,
        identity: VerifiedIdentity,
        previous_cookie: Option<&SecretText>,
    ) -> Result<NewSession, AccountError> {
        let acc = self.acc()?;
        let tenant = identity.tenant;
        self.config(tenant).await.map_err(|_| AccountError::SignInFailed)?;
        let account = acc.store.account_by_idp(tenant, &identity.issuer, identity.subject.expose()).await?;
        let Some(account) = account else {
            self.fail(tenant, &[], None, SignInFailure::UnknownAccount).await?;
            return Err(AccountError::SignInFailed);
        };
        if !account.may_act() {
            self.fail(tenant, &[], Some(&account), SignInFailure::AccountInactive).await?;
            return Err(AccountError::SignInFailed);
        }
        self.revoke_previous(previous_cookie).await?;
        self.audit_account(
            tenant,
            Self::actor_of(&account),
            vec![DomainEvent::SignInSucceeded { staff: account.id, method: SignInMethod::Oidc }],
        )
        .await?;
        self.new_session(&account, SessionStage::Full, SignInMethod::Oidc, identity.user_agent.as_deref(), None).await
    }

    // ----- sessions ---------------------------------------------------------------------------

    /// Validates a session cookie for a request: a `Full` session in force of an active account
    /// (checked in the store on every call, so a disabled account or a revoked session stops at
    /// once on every replica). Records the request for the idle time-out (at most every 30 s).
    pub async fn session(&self, cookie: &SecretText) -> Result<SessionPrincipal, AccountError> {
        let acc = self.acc()?;
        let (mut session, account) = self.full_session(cookie).await?;
        let now = self.now();
        if session.touch_due(now, &acc.sessions) {
            acc.store.touch_session(&session.hash, now).await?;
            session.last_seen_at = now;
        }
        Ok(Self::principal(&session, &account, cookie, &acc.sessions))
    }

    /// Validates a session cookie like [`Hoheit::session`] but records no activity: for the
    /// inbox's live stream, which stays open without the person doing anything, so it must not
    /// keep the session from its idle time-out.
    pub async fn session_untouched(&self, cookie: &SecretText) -> Result<SessionPrincipal, AccountError> {
        let acc = self.acc()?;
        let (session, account) = self.full_session(cookie).await?;
        Ok(Self::principal(&session, &account, cookie, &acc.sessions))
    }

    /// The cookie's session and account, if the sign-in is complete (`Full`).
    async fn full_session(&self, cookie: &SecretText) -> Result<(Session, StaffAccount), AccountError> {
        let (session, account) = self.load_session(cookie).await?;
        if session.stage != SessionStage::Full {
            return Err(AccountError::SessionInvalid);
        }
        Ok((session, account))
    }

    fn principal(
        session: &Session,
        account: &StaffAccount,
        cookie: &SecretText,
        settings: &SessionSettings,
    ) -> SessionPrincipal {
        SessionPrincipal {
            staff: account.id,
            tenant: account.tenant,
            role: account.role,
            created_by: account.created_by,
            appointed_by: account.appointed_by,
            language: account.language,
            csrf_token: staff::csrf_token(cookie),
            session_id: session.id,
            method: session.method,
            idle_deadline: session.idle_deadline(settings),
            expires_at: session.expires_at,
        }
    }

    /// A session between password and second factor (for the second-factor and set-up pages).
    pub async fn pending_session(&self, cookie: &SecretText) -> Result<PendingSession, AccountError> {
        let (session, account) = self.load_session(cookie).await?;
        if session.stage == SessionStage::Full {
            return Err(AccountError::SessionInvalid);
        }
        Ok(PendingSession {
            staff: account.id,
            tenant: account.tenant,
            stage: session.stage,
            language: account.language,
            csrf_token: staff::csrf_token(cookie),
            expires_at: session.expires_at,
        })
    }

    /// "Extend": records a request now, so the idle time-out starts again (never beyond the
    /// absolute one).
    pub async fn extend_session(&self, cookie: &SecretText) -> Result<SessionPrincipal, AccountError> {
        let acc = self.acc()?;
        let (mut session, account) = self.full_session(cookie).await?;
        let now = self.now();
        acc.store.touch_session(&session.hash, now).await?;
        session.last_seen_at = now;
        Ok(Self::principal(&session, &account, cookie, &acc.sessions))
    }

    /// Signs out here (any stage). Unknown or ended sessions are fine (nothing to do).
    pub async fn sign_out(&self, cookie: &SecretText) -> Result<(), AccountError> {
        let acc = self.acc()?;
        let Some(session) = acc.store.session(&SessionHash::of(cookie)).await? else { return Ok(()) };
        if acc.store.revoke_session(session.staff, session.id, self.now()).await? {
            let role = acc.store.account(session.tenant, session.staff).await?.map_or(Role::Recruiter, |a| a.role);
            self.audit_account(
                session.tenant,
                Actor::Staff { id: session.staff, role },
                vec![DomainEvent::SessionRevoked { staff: session.staff, reason: SessionEnd::SignedOut, count: 1 }],
            )
            .await?;
        }
        Ok(())
    }

    /// Signs out everywhere: every session of the account ends. Returns how many.
    pub async fn sign_out_everywhere(&self, cookie: &SecretText) -> Result<u64, AccountError> {
        let acc = self.acc()?;
        let (_, account) = self.load_session(cookie).await?;
        let count = acc.store.revoke_sessions(account.id, self.now()).await?;
        self.audit_account(
            account.tenant,
            Self::actor_of(&account),
            vec![DomainEvent::SessionRevoked { staff: account.id, reason: SessionEnd::SignedOutEverywhere, count }],
        )
        .await?;
        Ok(count)
    }

    /// One's own sessions in force, newest first (the current one marked).
    pub async fn my_sessions(&self, cookie: &SecretText) -> Result<Vec<SessionView>, AccountError> {
        let acc = self.acc()?;
        let (current, account) = self.full_session(cookie).await?;
        let now = self.now();
        Ok(acc
            .store
            .sessions(account.id, now)
            .await?
            .into_iter()
            .filter(|s| s.state(&acc.sessions, now) == SessionState::Active)
            .map(|s| SessionView {
                id: s.id,
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                expires_at: s.expires_at,
                user_agent: s.user_agent.clone(),
                method: s.method,
                current: s.id == current.id,
            })
            .collect())
    }

    /// Ends one of one's own sessions (from the list).
    pub async fn revoke_my_session(&self, cookie: &SecretText, id: Uuid) -> Result<(), AccountError> {
        let acc = self.acc()?;
        let (_, account) = self.full_session(cookie).await?;
        if !acc.store.revoke_session(account.id, id, self.now()).await? {
            return Err(AccountError::NotFound("session"));
        }
        self.audit_account(
            account.tenant,
            Self::actor_of(&account),
            vec![DomainEvent::SessionRevoked { staff: account.id, reason: SessionEnd::RevokedByOwner, count: 1 }],
        )
        .await
    }

    /// Changes one's password (the current one confirms it); the other sessions end.
    pub async fn change_password(
        &self,
        cookie: &SecretText,
        current: &SecretText,
        new: &SecretText,
    ) -> Result<(), AccountError> {
        let acc = self.acc()?;
        let (session, mut account) = self.full_session(cookie).await?;
        if !acc.passwords.verify(current, account.password.as_ref()).await {
            return Err(AccountError::SignInFailed);
        }
        account.password = Some(self.check_password(new, account.email.expose(), account.display_name.expose()).await?);
        acc.store.save_account(&account).await?;
        let now = self.now();
        let mut ended = 0;
        for other in acc.store.sessions(account.id, now).await? {
            if other.id != session.id && acc.store.revoke_session(account.id, other.id, now).await? {
                ended += 1;
            }
        }
        let mut events = vec![DomainEvent::PasswordChanged { staff: account.id }];
        if ended > 0 {
            events.push(DomainEvent::SessionRevoked {
                staff: account.id,
                reason: SessionEnd::PasswordChanged,
                count: ended,
            });
        }
        self.audit_account(account.tenant, Self::actor_of(&account), events).await
    }

    /// Changes one's UI language.
    pub async fn set_language(&self, cookie: &SecretText, language: StaffLanguage) -> Result<(), AccountError> {
        let acc = self.acc()?;
        let (_, mut account) = self.load_session(cookie).await?;
        account.language = language;
        Ok(acc.store.save_account(&account).await?)
    }
}
