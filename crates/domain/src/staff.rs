//! Staff accounts and browser sessions (issue 16): who a tenant's people are (role, status,
//! second factor, identity-provider binding), the rules for managing them, sessions with idle
//! and absolute time-outs, and the throttle of failed sign-ins. Pure: the crypto (argon2id,
//! TOTP, random secrets) is behind the ports `Passwords` and `SecondFactor`, the storage behind
//! `AccountStore` (all in [`crate::ports`]); the use cases are in [`crate::usecases`].
//!
//! Rules decided here (unit-tested below):
//! - only admins invite and change roles ([`check_manage`]); the last active admin can be neither
//!   disabled nor demoted ([`check_role_change`], [`check_disable`]);
//! - R1's separation of duties (issue 13's [`crate::credential::DpoNotIndependent`]): an admin
//!   never appoints itself DPO; an account an admin turns into a DPO records that admin as its
//!   appointer ([`StaffAccount::appointed_by`]), which the channel approval checks with
//!   [`crate::credential::check_dpo_independence`];
//! - a second factor is required for admin and DPO, and for recruiters if the tenant says so
//!   ([`second_factor_required`]);
//! - a disabled account does nothing: its sessions and tokens are refused on the next request
//!   ([`StaffAccount::may_act`], checked per request from the store);
//! - sessions end after an idle time and an absolute time ([`SessionSettings`], [`Session::state`]);
//! - failed sign-ins are throttled with growing delays ([`Throttle`]).

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::actor::Role;
use crate::credential::{CredentialSettings, DpoNotIndependent};
use crate::ids::{StaffId, TenantId};
use crate::values::{InvalidValue, Pii};

/// Prefix of the invitation secrets (they are not bearer tokens and are refused as such).
pub const INVITATION_PREFIX: &str = "hoi_";

/// Name of the session cookie (the `__Host-` prefix: Secure, Path=/, no Domain).
pub const SESSION_COOKIE: &str = "__Host-hoheit_session";

/// Default idle time-out of a session.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::minutes(30);

/// Default absolute time-out of a session.
pub const DEFAULT_ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);

/// How long a pending session (password right, second factor missing or being set up) lives.
pub const PENDING_TIMEOUT: Duration = Duration::minutes(10);

/// How many recovery codes an account gets.
pub const RECOVERY_CODES: usize = 10;

/// Minimum password length.
pub const MIN_PASSWORD_LEN: usize = 12;

/// Maximum password length (argon2 input stays bounded).
pub const MAX_PASSWORD_LEN: usize = 256;

/// A staff account's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffStatus {
    /// Invited, the invitation not yet accepted.
    Invited,
    /// Active.
    Active,
    /// Disabled: its sessions and tokens are refused.
    Disabled,
}

impl StaffStatus {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Invited => "invited",
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }

    /// Parses the stable name.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        match value {
            "invited" => Ok(Self::Invited),
            "active" => Ok(Self::Active),
            "disabled" => Ok(Self::Disabled),
            _ => Err(InvalidValue::new("status", "expected invited, active or disabled")),
        }
    }
}

/// The language a staff member reads the UI in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffLanguage {
    /// German (default).
    #[default]
    De,
    /// English.
    En,
}

impl StaffLanguage {
    /// Stable name (`de`, `en`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::De => "de",
            Self::En => "en",
        }
    }

    /// Parses `de` or `en`.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        match value {
            "de" => Ok(Self::De),
            "en" => Ok(Self::En),
            _ => Err(InvalidValue::new("language", "expected de or en")),
        }
    }
}

/// A staff member's e-mail address, trimmed and lower-cased (the form its keyed hash is taken
/// of). Personal data: `Debug` prints nothing useful, there is no `Display`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Parses an address: one `@`, something on both sides, a dot in the domain, no whitespace
    /// or control characters, at most 254 bytes. Lower-cased (hoheit treats addresses as
    /// case-insensitive).
    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let value = input.trim().to_lowercase();
        let invalid = || InvalidValue::new("email", "not an e-mail address");
        if value.is_empty() || value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
        {
            return Err(invalid());
        }
        Ok(Self(value))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain part.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// The local part.
    pub fn local(&self) -> &str {
        self.0.split_once('@').map_or("", |(l, _)| l)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email(<redacted>)")
    }
}

impl TryFrom<String> for Email {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

/// A string newtype whose `Debug` prints `$debug` instead of the value: the struct, `new` and
/// the one accessor. No `Display`, no `Serialize`.
macro_rules! undisclosed_string {
    ($(#[$meta:meta])* $name:ident, $accessor:ident, $debug:literal, $new_doc:literal, $get_doc:literal) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            #[doc = $new_doc]
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            #[doc = $get_doc]
            pub fn $accessor(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($debug)
            }
        }
    };
}

undisclosed_string!(
    /// A secret in clear for a moment (a password typed in, a TOTP secret, a recovery code, a
    /// session cookie value). `Debug` prints nothing; no `Display`, no `Serialize`.
    SecretText,
    expose,
    "SecretText(<redacted>)",
    "Wraps a secret.",
    "Reads the secret (where it is hashed, verified or shown once)."
);

impl From<&str> for SecretText {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl From<String> for SecretText {
    fn from(value: String) -> Self {
        Self(value)
    }
}

undisclosed_string!(
    /// A password hash in the PHC string format (`$argon2id$v=19$m=19456,t=2,p=1$...`).
    PasswordHash,
    as_str,
    "PasswordHash(..)",
    "Wraps a PHC string (the `Passwords` adapter makes them).",
    "The PHC string."
);

/// Why a password is refused (the rule is named so the person can fix it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    /// Fewer than [`MIN_PASSWORD_LEN`] characters.
    #[error("the password must have at least 12 characters")]
    TooShort,
    /// More than [`MAX_PASSWORD_LEN`] characters.
    #[error("the password must have at most 256 characters")]
    TooLong,
    /// On the list of common passwords.
    #[error("the password is on the list of common passwords")]
    Common,
    /// Contains the e-mail address or the name.
    #[error("the password must not contain your e-mail address or name")]
    ContainsPersonalData,
}

impl WeakPassword {
    /// Stable code of the rule.
    pub const fn code(self) -> &'static str {
        match self {
            Self::TooShort => "password_too_short",
            Self::TooLong => "password_too_long",
            Self::Common => "password_common",
            Self::ContainsPersonalData => "password_contains_personal_data",
        }
    }
}

/// A TOTP enrolment: the shared secret (base32; sealed at rest with the tenant key) and the last
/// time step used (a step is accepted once only).
#[derive(Clone, PartialEq, Eq)]
pub struct TotpEnrolment {
    /// The base32 secret.
    pub secret: SecretText,
    /// Whether the person has proven it with a code (enrolment complete).
    pub confirmed: bool,
    /// The last accepted time step (RFC 6238 counter), if any.
    pub last_step: Option<u64>,
}

impl fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpEnrolment")
            .field("confirmed", &self.confirmed)
            .field("last_step", &self.last_step)
            .finish_non_exhaustive()
    }
}

impl TotpEnrolment {
    /// Whether `step` may be used now: not at or before the last used one (RFC 6238 §5.2).
    pub fn step_unused(&self, step: u64) -> bool {
        self.last_step.is_none_or(|last| step > last)
    }
}

/// The binding of an account to a subject of the tenant's identity provider. The subject is a
/// pseudonymous id of a person: personal data (sealed at rest, found by keyed hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpBinding {
    /// The issuer URL (not personal data).
    pub issuer: String,
    /// The `sub` claim.
    pub subject: Pii<String>,
}

/// A staff account of one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffAccount {
    /// Id (also the id its audit entries and tokens act as).
    pub id: StaffId,
    /// Tenant.
    pub tenant: TenantId,
    /// Role.
    pub role: Role,
    /// Status.
    pub status: StaffStatus,
    /// Display name (sealed at rest).
    pub display_name: Pii<String>,
    /// E-mail (sealed at rest, found by keyed hash).
    pub email: Pii<Email>,
    /// UI language.
    pub language: StaffLanguage,
    /// Who created it (`None`: the operator's CLI or the system).
    pub created_by: Option<StaffId>,
    /// For R1: the admin who appointed it to its current role if that was a role change to DPO,
    /// otherwise its creator. What `check_dpo_independence` compares with a channel's registrant.
    pub appointed_by: Option<StaffId>,
    /// Created.
    pub created_at: OffsetDateTime,
    /// The local password, if it signs in locally.
    pub password: Option<PasswordHash>,
    /// The TOTP enrolment, if any.
    pub totp: Option<TotpEnrolment>,
    /// The identity-provider binding, if it signs in through OIDC.
    pub idp: Option<IdpBinding>,
    /// Optimistic-lock version (the store refuses a save of a stale version).
    pub version: u64,
}

impl StaffAccount {
    /// A new account in status [`StaffStatus::Invited`].
    #[allow(clippy::too_many_arguments)]
    pub fn invited(
        id: StaffId,
        tenant: TenantId,
        role: Role,
        email: Email,
        display_name: String,
        language: StaffLanguage,
        created_by: Option<StaffId>,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            tenant,
            role,
            status: StaffStatus::Invited,
            display_name: Pii::new(display_name),
            email: Pii::new(email),
            language,
            created_by,
            appointed_by: created_by,
            created_at: now,
            password: None,
            totp: None,
            idp: None,
            version: 0,
        }
    }

    /// Whether the account may act (sign in, use a session or a token): active only.
    pub const fn may_act(&self) -> bool {
        matches!(self.status, StaffStatus::Active)
    }

    /// Whether its TOTP enrolment is complete.
    pub fn has_totp(&self) -> bool {
        self.totp.as_ref().is_some_and(|t| t.confirmed)
    }
}

/// Why a staff-management request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StaffRuleError {
    /// Only admins manage staff.
    #[error("only an admin may manage staff accounts")]
    NotAdmin,
    /// The last active admin cannot be disabled or demoted.
    #[error("the tenant's last active admin cannot be disabled or demoted")]
    LastAdmin,
    /// R1: an admin does not appoint itself DPO.
    #[error("{}", DpoNotIndependent)]
    DpoNotIndependent,
    /// The operator role is not a staff role.
    #[error("a staff account has the role admin, dpo or recruiter")]
    NotAStaffRole,
    /// A disabled account is not changed (only listed).
    #[error("the account is disabled")]
    Disabled,
}

impl StaffRuleError {
    /// Stable error code.
    pub const fn code(self) -> &'static str {
        match self {
            Self::NotAdmin => "forbidden",
            Self::LastAdmin => "last_active_admin",
            Self::DpoNotIndependent => "dpo_not_independent",
            Self::NotAStaffRole => "invalid_role",
            Self::Disabled => "account_disabled",
        }
    }
}

/// Only an admin manages staff (invite, change role, disable, reset a second factor).
pub fn check_manage(actor_role: Role) -> Result<(), StaffRuleError> {
    if actor_role == Role::Admin { Ok(()) } else { Err(StaffRuleError::NotAdmin) }
}

/// The number of active admins among `accounts`.
pub fn active_admins(accounts: &[StaffAccount]) -> usize {
    accounts.iter().filter(|a| a.role == Role::Admin && a.status == StaffStatus::Active).count()
}

fn is_last_admin(target: &StaffAccount, accounts: &[StaffAccount]) -> bool {
    target.role == Role::Admin && target.status == StaffStatus::Active && active_admins(accounts) <= 1
}

/// Checks a role change of `target` to `new_role` by the admin `actor` (`accounts`: all of the
/// tenant's accounts). On success, returns who appoints the account in its new role (see
/// [`StaffAccount::appointed_by`]): the actor for a change to DPO, otherwise unchanged.
pub fn check_role_change(
    actor: (StaffId, Role),
    target: &StaffAccount,
    new_role: Role,
    accounts: &[StaffAccount],
    _settings: &CredentialSettings,
) -> Result<Option<StaffId>, StaffRuleError> {
    check_manage(actor.1)?;
    if new_role == Role::Operator {
        return Err(StaffRuleError::NotAStaffRole);
    }
    if target.status == StaffStatus::Disabled {
        return Err(StaffRuleError::Disabled);
    }
    if new_role != Role::Admin && is_last_admin(target, accounts) {
        return Err(StaffRuleError::LastAdmin);
    }
    if new_role == Role::Dpo && target.role != Role::Dpo {
        // an admin appointing itself DPO would approve its own processing (R1), whatever the
        // tenant configured; any other appointment is recorded and checked at channel approval
        if target.id == actor.0 {
            return Err(StaffRuleError::DpoNotIndependent);
        }
        return Ok(Some(actor.0));
    }
    Ok(target.appointed_by)
}

/// Checks disabling `target` by `actor`.
pub fn check_disable(actor: Role, target: &StaffAccount, accounts: &[StaffAccount]) -> Result<(), StaffRuleError> {
    check_manage(actor)?;
    if is_last_admin(target, accounts) {
        return Err(StaffRuleError::LastAdmin);
    }
    Ok(())
}

/// Whether an account of `role` must have a second factor: admin and DPO always, recruiters if
/// the tenant requires it.
pub const fn second_factor_required(role: Role, tenant_requires_for_recruiters: bool) -> bool {
    match role {
        Role::Admin | Role::Dpo | Role::Operator => true,
        Role::Recruiter => tenant_requires_for_recruiters,
    }
}

/// Checks a password's strength offline, apart from the list of common passwords (the
/// `Passwords` adapter holds that list): length and not containing the e-mail's local part or a
/// name part of 4 or more characters (case-insensitive).
pub fn check_password_shape(password: &SecretText, email: &Email, name: &str) -> Result<(), WeakPassword> {
    let chars = password.expose().chars().count();
    if chars < MIN_PASSWORD_LEN {
        return Err(WeakPassword::TooShort);
    }
    if chars > MAX_PASSWORD_LEN {
        return Err(WeakPassword::TooLong);
    }
    let lower = password.expose().to_lowercase();
    let mut parts: Vec<String> = vec![email.as_str().to_owned(), email.local().to_owned()];
    parts.extend(email.local().split(['.', '_', '-', '+']).map(str::to_owned));
    parts.extend(name.to_lowercase().split_whitespace().map(str::to_owned));
    if parts.iter().any(|p| p.chars().count() >= 4 && lower.contains(p.as_str())) {
        return Err(WeakPassword::ContainsPersonalData);
    }
    Ok(())
}

/// Session time-outs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSettings {
    /// Idle time-out (default 30 min).
    pub idle: Duration,
    /// Absolute time-out (default 12 h).
    pub absolute: Duration,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self { idle: DEFAULT_IDLE_TIMEOUT, absolute: DEFAULT_ABSOLUTE_TIMEOUT }
    }
}

/// The stage of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStage {
    /// Password right, second factor still to be given. Not a session for anything else.
    SecondFactor,
    /// Password right (or invitation accepted), a required TOTP still to be set up. Not a
    /// session for anything else.
    Enrolment,
    /// Signed in.
    Full,
}

impl SessionStage {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SecondFactor => "second_factor",
            Self::Enrolment => "enrolment",
            Self::Full => "full",
        }
    }

    /// Parses the stable name.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        match value {
            "second_factor" => Ok(Self::SecondFactor),
            "enrolment" => Ok(Self::Enrolment),
            "full" => Ok(Self::Full),
            _ => Err(InvalidValue::new("session stage", "unknown")),
        }
    }
}

/// How a person signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInMethod {
    /// Password (and TOTP or a recovery code where required).
    Local,
    /// The tenant's identity provider (OpenID Connect).
    Oidc,
}

impl SignInMethod {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Oidc => "oidc",
        }
    }

    /// Parses the stable name.
    pub fn parse(value: &str) -> Result<Self, InvalidValue> {
        match value {
            "local" => Ok(Self::Local),
            "oidc" => Ok(Self::Oidc),
            _ => Err(InvalidValue::new("sign-in method", "unknown")),
        }
    }
}

/// The SHA-256 of a session's cookie value: what is stored and looked up (the value itself never
/// is).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionHash(pub [u8; 32]);

impl SessionHash {
    /// The hash of a cookie value.
    pub fn of(cookie_value: &SecretText) -> Self {
        Self(Sha256::digest(cookie_value.expose().as_bytes()).into())
    }
}

impl fmt::Debug for SessionHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionHash(..)")
    }
}

/// The CSRF token of a session: derived from its cookie value (HMAC-free: SHA-256 over a
/// domain-separated input), so it needs no storage, is the same on every replica, and cannot be
/// computed without the cookie.
pub fn csrf_token(cookie_value: &SecretText) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"hoheit-csrf-v1\0");
    hasher.update(cookie_value.expose().as_bytes());
    hex::encode(hasher.finalize())
}

/// The browser family from a `User-Agent` header (`Firefox`, `Chrome`, `Safari`, `Edge`,
/// `other`): what the list of one's sessions shows; the full header is never stored.
pub fn user_agent_family(user_agent: Option<&str>) -> &'static str {
    let Some(ua) = user_agent else { return "unknown" };
    // a family already (a rotated session keeps its family)
    if let Some(family) =
        ["Edge", "Firefox", "Chrome", "Safari", "curl", "other", "unknown"].into_iter().find(|f| *f == ua)
    {
        return family;
    }
    if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else if ua.contains("curl/") {
        "curl"
    } else {
        "other"
    }
}

/// The `Set-Cookie` value that sets the session cookie: `__Host-` prefix, `Secure`, `HttpOnly`,
/// `SameSite=Lax`, `Path=/`, no `Domain`, no `Max-Age` (a browser-session cookie; the server
/// decides the time-outs).
pub fn session_cookie(value: &SecretText) -> String {
    format!("{SESSION_COOKIE}={}; Path=/; Secure; HttpOnly; SameSite=Lax", value.expose())
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// The session cookie's value from a `Cookie` request header, if present.
pub fn session_cookie_value(cookie_header: &str) -> Option<SecretText> {
    cookie_header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| SecretText::new(value.trim()))
        .filter(|v| !v.expose().is_empty())
}

/// Whether a state-changing request authenticated by session comes from hoheit's own pages:
/// `Sec-Fetch-Site` must be `same-origin` (or `none`: typed by the user) when sent, and `Origin`,
/// when sent, must be `public_origin` (`scheme://host[:port]` of the public URL). A request with
/// neither header is refused (fail safe): every browser hoheit supports sends at least one.
pub fn same_origin_request(origin: Option<&str>, sec_fetch_site: Option<&str>, public_origin: &str) -> bool {
    if let Some(site) = sec_fetch_site
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    match origin {
        Some(o) => o.trim_end_matches('/').eq_ignore_ascii_case(public_origin.trim_end_matches('/')),
        None => sec_fetch_site.is_some(),
    }
}

/// Whether the CSRF token a request carries is the session's (constant-time comparison).
pub fn csrf_matches(expected: &str, presented: &str) -> bool {
    let (a, b) = (expected.as_bytes(), presented.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A server-side session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// A public id (to list and revoke one session; not the cookie value).
    pub id: uuid::Uuid,
    /// The cookie value's hash.
    pub hash: SessionHash,
    /// Tenant.
    pub tenant: TenantId,
    /// The account.
    pub staff: StaffId,
    /// Stage.
    pub stage: SessionStage,
    /// How it was signed in.
    pub method: SignInMethod,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last request seen (updated at most every [`TOUCH_EVERY`]).
    pub last_seen_at: OffsetDateTime,
    /// When it ends whatever happens (absolute time-out; for a pending one, [`PENDING_TIMEOUT`]).
    pub expires_at: OffsetDateTime,
    /// Browser family ([`user_agent_family`]).
    pub user_agent: String,
    /// When it was revoked (signed out, account disabled, role changed).
    pub revoked_at: Option<OffsetDateTime>,
}

/// How often a session's last-seen time is written (the idle time-out is that precise).
pub const TOUCH_EVERY: Duration = Duration::seconds(30);

/// The state of a session at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// In force.
    Active,
    /// No request for longer than the idle time-out.
    IdleExpired,
    /// Past its absolute time-out.
    Expired,
    /// Revoked.
    Revoked,
}

impl Session {
    /// A new session (stage `stage`) at `now`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: uuid::Uuid,
        hash: SessionHash,
        tenant: TenantId,
        staff: StaffId,
        stage: SessionStage,
        method: SignInMethod,
        user_agent: Option<&str>,
        settings: &SessionSettings,
        now: OffsetDateTime,
    ) -> Self {
        let lifetime = if stage == SessionStage::Full { settings.absolute } else { PENDING_TIMEOUT };
        Self {
            id,
            hash,
            tenant,
            staff,
            stage,
            method,
            created_at: now,
            last_seen_at: now,
            expires_at: now + lifetime,
            user_agent: user_agent_family(user_agent).to_owned(),
            revoked_at: None,
        }
    }

    /// Its state at `now`.
    pub fn state(&self, settings: &SessionSettings, now: OffsetDateTime) -> SessionState {
        if self.revoked_at.is_some_and(|r| r <= now) {
            SessionState::Revoked
        } else if now >= self.expires_at {
            SessionState::Expired
        } else if now >= self.last_seen_at + settings.idle {
            SessionState::IdleExpired
        } else {
            SessionState::Active
        }
    }

    /// When it ends if no request comes: the idle deadline or the absolute one, whichever first.
    pub fn idle_deadline(&self, settings: &SessionSettings) -> OffsetDateTime {
        (self.last_seen_at + settings.idle).min(self.expires_at)
    }

    /// Whether its last-seen time is due to be written at `now`: every [`TOUCH_EVERY`], or a
    /// quarter of the idle time-out if that is shorter.
    pub fn touch_due(&self, now: OffsetDateTime, settings: &SessionSettings) -> bool {
        now >= self.last_seen_at + TOUCH_EVERY.min(settings.idle / 4)
    }
}

/// Why a session ended (audit code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionEnd {
    /// Signed out here.
    SignedOut,
    /// Signed out everywhere.
    SignedOutEverywhere,
    /// One of one's sessions ended from the list.
    RevokedByOwner,
    /// The account was disabled.
    AccountDisabled,
    /// The role changed (the person signs in again).
    RoleChanged,
    /// The second factor was reset by an admin.
    SecondFactorReset,
    /// The password changed (the other sessions end).
    PasswordChanged,
}

impl SessionEnd {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SignedOut => "signed_out",
            Self::SignedOutEverywhere => "signed_out_everywhere",
            Self::RevokedByOwner => "revoked_by_owner",
            Self::AccountDisabled => "account_disabled",
            Self::RoleChanged => "role_changed",
            Self::SecondFactorReset => "second_factor_reset",
            Self::PasswordChanged => "password_changed",
        }
    }
}

/// Why a sign-in failed (audit code; the person always sees the same generic answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInFailure {
    /// No account with that e-mail (or identity-provider subject).
    UnknownAccount,
    /// Wrong password.
    WrongPassword,
    /// Wrong TOTP code or recovery code.
    WrongSecondFactor,
    /// The account is disabled or not yet active.
    AccountInactive,
    /// Throttled: too many failures.
    Throttled,
}

impl SignInFailure {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UnknownAccount => "unknown_account",
            Self::WrongPassword => "wrong_password",
            Self::WrongSecondFactor => "wrong_second_factor",
            Self::AccountInactive => "account_inactive",
            Self::Throttled => "throttled",
        }
    }
}

/// A change of an account's second factor (audit code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecondFactorChange {
    /// TOTP set up.
    TotpEnrolled,
    /// New recovery codes (the old ones no longer work).
    RecoveryCodesRenewed,
    /// A recovery code was used to sign in.
    RecoveryCodeUsed,
    /// Reset by an admin (the person sets up TOTP again at the next sign-in).
    Reset,
}

impl SecondFactorChange {
    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TotpEnrolled => "totp_enrolled",
            Self::RecoveryCodesRenewed => "recovery_codes_renewed",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::Reset => "reset",
        }
    }
}

/// What a throttle counts failures of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThrottleKey {
    /// An e-mail address in a tenant (known or not: unknown addresses are throttled alike, so
    /// the throttle tells nothing).
    Email(TenantId, Email),
    /// A source address (the client's IP) in a tenant; personal data: the adapter stores a keyed
    /// hash.
    Source(TenantId, Pii<String>),
    /// An account's second-factor step.
    SecondFactor(TenantId, StaffId),
}

/// Failures counted for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    /// Consecutive failures.
    pub failures: u32,
    /// The last failure.
    pub last_failure: OffsetDateTime,
}

/// Failures allowed before delays start.
pub const FREE_FAILURES: u32 = 3;

/// The longest delay between attempts.
pub const MAX_DELAY: Duration = Duration::minutes(15);

impl Throttle {
    /// The delay imposed after `failures` consecutive failures: none for the first
    /// [`FREE_FAILURES`], then 1 s doubling with each further failure, at most [`MAX_DELAY`].
    pub fn delay(failures: u32) -> Duration {
        if failures <= FREE_FAILURES {
            return Duration::ZERO;
        }
        let exponent = (failures - FREE_FAILURES - 1).min(20);
        Duration::seconds(1_i64 << exponent).min(MAX_DELAY)
    }

    /// Until when further attempts are refused.
    pub fn blocked_until(&self) -> OffsetDateTime {
        self.last_failure + Self::delay(self.failures)
    }

    /// Whether an attempt at `now` is refused, and for how long.
    pub fn retry_after(&self, now: OffsetDateTime) -> Option<Duration> {
        let until = self.blocked_until();
        (now < until).then(|| until - now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use uuid::Uuid;

    const NOW: OffsetDateTime = datetime!(2026-12-07 10:00 UTC);

    fn staff(n: u128) -> StaffId {
        StaffId::from_uuid(Uuid::from_u128(n))
    }

    fn account(n: u128, role: Role, status: StaffStatus) -> StaffAccount {
        let mut a = StaffAccount::invited(
            staff(n),
            TenantId::from_uuid(Uuid::from_u128(99)),
            role,
            Email::parse(&format!("person{n}@example.com")).unwrap(),
            format!("Person {n}"),
            StaffLanguage::De,
            None,
            NOW,
        );
        a.status = status;
        a
    }

    #[test]
    fn only_admins_manage_staff() {
        assert_eq!(check_manage(Role::Admin), Ok(()));
        for role in [Role::Dpo, Role::Recruiter, Role::Operator] {
            assert_eq!(check_manage(role), Err(StaffRuleError::NotAdmin), "{role:?}");
        }
        let accounts =
            vec![account(1, Role::Admin, StaffStatus::Active), account(2, Role::Recruiter, StaffStatus::Active)];
        let settings = CredentialSettings::default();
        assert_eq!(
            check_role_change((staff(2), Role::Recruiter), &accounts[1], Role::Admin, &accounts, &settings),
            Err(StaffRuleError::NotAdmin)
        );
        assert_eq!(check_disable(Role::Dpo, &accounts[1], &accounts), Err(StaffRuleError::NotAdmin));
    }

    #[test]
    fn the_last_active_admin_is_neither_disabled_nor_demoted() {
        let settings = CredentialSettings::default();
        let mut accounts = vec![
            account(1, Role::Admin, StaffStatus::Active),
            account(2, Role::Admin, StaffStatus::Disabled),
            account(3, Role::Admin, StaffStatus::Invited),
        ];
        let me = (staff(1), Role::Admin);
        assert_eq!(check_disable(Role::Admin, &accounts[0], &accounts), Err(StaffRuleError::LastAdmin));
        assert_eq!(
            check_role_change(me, &accounts[0], Role::Recruiter, &accounts, &settings),
            Err(StaffRuleError::LastAdmin)
        );
        // staying admin is no demotion
        assert!(check_role_change(me, &accounts[0], Role::Admin, &accounts, &settings).is_ok());
        // with a second active admin both are possible
        accounts[1].status = StaffStatus::Active;
        assert_eq!(check_disable(Role::Admin, &accounts[0], &accounts), Ok(()));
        assert!(check_role_change(me, &accounts[0], Role::Recruiter, &accounts, &settings).is_ok());
        // a disabled account is not given a role
        accounts[1].status = StaffStatus::Disabled;
        assert_eq!(
            check_role_change(me, &accounts[1], Role::Recruiter, &accounts, &settings),
            Err(StaffRuleError::Disabled)
        );
        assert_eq!(
            check_role_change(me, &accounts[2], Role::Operator, &accounts, &settings),
            Err(StaffRuleError::NotAStaffRole)
        );
    }

    #[test]
    fn an_admin_never_appoints_itself_dpo_and_is_recorded_as_appointer_of_others() {
        let strict = CredentialSettings::default();
        let accounts = vec![
            account(1, Role::Admin, StaffStatus::Active),
            account(2, Role::Admin, StaffStatus::Active),
            account(3, Role::Recruiter, StaffStatus::Active),
        ];
        let me = (staff(1), Role::Admin);
        assert_eq!(
            check_role_change(me, &accounts[0], Role::Dpo, &accounts, &strict),
            Err(StaffRuleError::DpoNotIndependent)
        );
        let allowed = CredentialSettings { dpo_appointed_by_admin: true, ..strict };
        assert_eq!(
            check_role_change(me, &accounts[0], Role::Dpo, &accounts, &allowed),
            Err(StaffRuleError::DpoNotIndependent),
            "self-appointment defeats R1 whatever the tenant configured"
        );
        // appointing someone else records the appointer, so the channel approval's existing
        // rule refuses the appointing admin's own channels unless configured
        let appointer = check_role_change(me, &accounts[2], Role::Dpo, &accounts, &strict).unwrap();
        assert_eq!(appointer, Some(staff(1)));
        assert_eq!(
            crate::credential::check_dpo_independence(Some(staff(1)), appointer, &strict),
            Err(DpoNotIndependent)
        );
        assert_eq!(crate::credential::check_dpo_independence(Some(staff(2)), appointer, &strict), Ok(()));
        // other role changes keep the appointer
        assert_eq!(check_role_change(me, &accounts[2], Role::Admin, &accounts, &strict), Ok(None));
    }

    #[test]
    fn a_second_factor_is_required_for_admin_and_dpo_and_for_recruiters_if_the_tenant_says_so() {
        assert!(second_factor_required(Role::Admin, false));
        assert!(second_factor_required(Role::Dpo, false));
        assert!(!second_factor_required(Role::Recruiter, false));
        assert!(second_factor_required(Role::Recruiter, true));
    }

    #[test]
    fn only_an_active_account_acts() {
        assert!(account(1, Role::Admin, StaffStatus::Active).may_act());
        assert!(!account(1, Role::Admin, StaffStatus::Disabled).may_act());
        assert!(!account(1, Role::Admin, StaffStatus::Invited).may_act());
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(Email::parse("  Anna.Berg@Example.COM ").unwrap().as_str(), "anna.berg@example.com");
        for bad in ["", "anna", "anna@", "@example.com", "anna@example", "a b@example.com", "a@b@example.com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert!(!format!("{:?}", Email::parse("anna@example.com").unwrap()).contains("anna"));
    }

    #[test]
    fn passwords_are_long_enough_and_free_of_the_persons_data() {
        let email = Email::parse("anna.berg@example.com").unwrap();
        assert_eq!(check_password_shape(&"short-pass1".into(), &email, "Anna Berg"), Err(WeakPassword::TooShort));
        assert_eq!(check_password_shape(&"x".repeat(257).into(), &email, "Anna Berg"), Err(WeakPassword::TooLong));
        assert_eq!(
            check_password_shape(&"my-BERG-is-a-castle".into(), &email, "Anna Berg"),
            Err(WeakPassword::ContainsPersonalData)
        );
        assert_eq!(
            check_password_shape(&"Anna.Berg-2026!".into(), &email, "Someone Else"),
            Err(WeakPassword::ContainsPersonalData)
        );
        assert_eq!(check_password_shape(&"correct horse battery".into(), &email, "Anna Berg"), Ok(()));
    }

    #[test]
    fn sessions_end_after_idle_and_absolute_time_and_on_revocation() {
        let settings = SessionSettings::default();
        let s = Session::new(
            Uuid::from_u128(1),
            SessionHash::of(&"v".into()),
            TenantId::from_uuid(Uuid::from_u128(9)),
            staff(1),
            SessionStage::Full,
            SignInMethod::Local,
            Some("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"),
            &settings,
            NOW,
        );
        assert_eq!(s.user_agent, "Firefox");
        assert_eq!(user_agent_family(Some(&s.user_agent)), "Firefox", "a rotated session keeps its family");
        assert_eq!(s.state(&settings, NOW + Duration::minutes(29)), SessionState::Active);
        assert_eq!(s.state(&settings, NOW + Duration::minutes(30)), SessionState::IdleExpired);
        let mut seen = s.clone();
        for hour in 1..12 {
            seen.last_seen_at = NOW + Duration::hours(hour);
            assert_eq!(seen.state(&settings, seen.last_seen_at + Duration::minutes(1)), SessionState::Active);
        }
        assert_eq!(seen.state(&settings, NOW + Duration::hours(12)), SessionState::Expired);
        assert_eq!(seen.idle_deadline(&settings), NOW + Duration::hours(11) + Duration::minutes(30));
        let mut revoked = s.clone();
        revoked.revoked_at = Some(NOW);
        assert_eq!(revoked.state(&settings, NOW), SessionState::Revoked);
        let pending = Session::new(
            Uuid::from_u128(2),
            SessionHash::of(&"w".into()),
            s.tenant,
            staff(1),
            SessionStage::SecondFactor,
            SignInMethod::Local,
            None,
            &settings,
            NOW,
        );
        assert_eq!(pending.expires_at, NOW + PENDING_TIMEOUT);
        assert_eq!(pending.user_agent, "unknown");
    }

    #[test]
    fn csrf_tokens_differ_per_session_and_are_not_the_cookie() {
        let a = csrf_token(&"cookie-a".into());
        assert_eq!(a, csrf_token(&"cookie-a".into()));
        assert_ne!(a, csrf_token(&"cookie-b".into()));
        assert!(!a.contains("cookie-a"));
        assert_ne!(SessionHash::of(&"cookie-a".into()), SessionHash::of(&"cookie-b".into()));
    }

    #[test]
    fn throttling_starts_after_three_failures_and_doubles_up_to_15_minutes() {
        assert_eq!(Throttle::delay(3), Duration::ZERO);
        assert_eq!(Throttle::delay(4), Duration::seconds(1));
        assert_eq!(Throttle::delay(5), Duration::seconds(2));
        assert_eq!(Throttle::delay(8), Duration::seconds(16));
        assert_eq!(Throttle::delay(30), MAX_DELAY);
        assert_eq!(Throttle::delay(u32::MAX), MAX_DELAY);
        let t = Throttle { failures: 5, last_failure: NOW };
        assert_eq!(t.retry_after(NOW), Some(Duration::seconds(2)));
        assert_eq!(t.retry_after(NOW + Duration::seconds(2)), None);
    }

    #[test]
    fn the_session_cookie_is_host_prefixed_secure_http_only_lax() {
        let header = session_cookie(&"abc".into());
        assert_eq!(header, "__Host-hoheit_session=abc; Path=/; Secure; HttpOnly; SameSite=Lax");
        assert!(!header.contains("Domain"));
        assert!(clear_session_cookie().contains("Max-Age=0"));
        assert_eq!(
            session_cookie_value("a=1; __Host-hoheit_session=xyz ; b=2").map(|v| v.expose().to_owned()),
            Some("xyz".to_owned())
        );
        assert!(session_cookie_value("hoheit_session=xyz").is_none());
        assert!(session_cookie_value("__Host-hoheit_session=").is_none());
    }

    #[test]
    fn only_same_origin_state_changes_pass() {
        let me = "https://hoheit.example";
        assert!(same_origin_request(Some("https://hoheit.example"), Some("same-origin"), me));
        assert!(same_origin_request(Some("https://hoheit.example"), None, me));
        assert!(same_origin_request(None, Some("same-origin"), me));
        assert!(!same_origin_request(Some("https://evil.example"), Some("same-origin"), me));
        assert!(!same_origin_request(Some("https://hoheit.example"), Some("cross-site"), me));
        assert!(!same_origin_request(None, Some("same-site"), me));
        assert!(!same_origin_request(None, None, me), "no header at all: refused");
        assert!(csrf_matches("abc", "abc") && !csrf_matches("abc", "abd") && !csrf_matches("abc", "ab"));
    }

    #[test]
    fn a_totp_step_is_used_once() {
        let mut e = TotpEnrolment { secret: "S".into(), confirmed: true, last_step: None };
        assert!(e.step_unused(10));
        e.last_step = Some(10);
        assert!(!e.step_unused(10) && !e.step_unused(9) && e.step_unused(11));
    }
}
