//! A tenant's identity provider (OpenID Connect) for staff sign-in: which provider and client,
//! which e-mail domains may sign in, and where roles come from — the provider's groups mapped to
//! hoheit roles, or roles managed in hoheit. The protocol itself is an adapter's
//! (`hoheit-oidc`); the client secret never enters the domain (the adapters keep it sealed).
//!
//! The role rule is fail-safe: with a claim mapping, the groups must map to exactly one role;
//! none or several different roles (for example admin and DPO at once, which would defeat the
//! DPO's independence, R1) refuse the sign-in.

use serde::{Deserialize, Serialize};

use crate::actor::Role;

/// Why settings are invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid identity provider settings: {0}")]
pub struct IdpSettingsError(pub &'static str);

/// One group -> role line of a claim mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRole {
    /// The group name (or id, for Entra ID) as the provider sends it.
    pub group: String,
    /// The hoheit role of its members.
    pub role: Role,
}

/// Where a signed-in person's role comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RoleSource {
    /// Roles are managed in hoheit (invitation, role change by an admin); groups are ignored.
    Hoheit,
    /// The provider's groups decide, through this mapping, at every sign-in.
    Claims {
        /// The mapping.
        mapping: Vec<GroupRole>,
    },
}

/// What the role rule says for one sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleDecision {
    /// Roles are managed in hoheit: the account keeps its role.
    Managed,
    /// The groups map to exactly this role.
    Role(Role),
    /// No group maps to a role: refused.
    NoRole,
    /// The groups map to several different roles: refused (fail safe, R1).
    Ambiguous,
}

impl RoleSource {
    /// The role for a person in `groups`.
    pub fn decide(&self, groups: &[String]) -> RoleDecision {
        match self {
            Self::Hoheit => RoleDecision::Managed,
            Self::Claims { mapping } => {
                let mut found: Option<Role> = None;
                for line in mapping.iter().filter(|l| groups.contains(&l.group)) {
                    match found {
                        None => found = Some(line.role),
                        Some(role) if role == line.role => {}
                        Some(_) => return RoleDecision::Ambiguous,
                    }
                }
                found.map_or(RoleDecision::NoRole, RoleDecision::Role)
            }
        }
    }
}

/// Most lines a claim mapping may have.
pub const MAX_GROUP_ROLES: usize = 100;

/// A tenant's identity provider settings (without the client secret). A value that exists is
/// valid: see [`IdpSettings::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdpSettings {
    enabled: bool,
    issuer: String,
    client_id: String,
    allowed_email_domains: Vec<String>,
    role_source: RoleSource,
    groups_claim: String,
    require_verified_email: bool,
}

fn is_domain(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= 253
        && d.contains('.')
        && !d.starts_with('.')
        && !d.ends_with('.')
        && d.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

impl IdpSettings {
    /// Checks and normalises settings: an https issuer (http only for a loopback stand-in, which
    /// the adapter refuses unless configured), a client id, e-mail domains as lower-case domain
    /// names, a claim mapping of at most [`MAX_GROUP_ROLES`] lines to tenant roles (never the
    /// operator), a claim name.
    pub fn new(
        enabled: bool,
        issuer: &str,
        client_id: &str,
        allowed_email_domains: &[String],
        role_source: RoleSource,
        groups_claim: &str,
        require_verified_email: bool,
    ) -> Result<Self, IdpSettingsError> {
        let issuer = issuer.trim();
        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|p| issuer.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/'])));
        if !(issuer.starts_with("https://") || loopback) || issuer.len() > 2048 || issuer.contains(char::is_whitespace)
        {
            return Err(IdpSettingsError("issuer must be an https URL"));
        }
        let client_id = client_id.trim();
        if client_id.is_empty() || client_id.len() > 255 {
            return Err(IdpSettingsError("client id is empty or too long"));
        }
        let mut domains = Vec::new();
        for domain in allowed_email_domains {
            let domain = domain.trim().trim_start_matches('@').to_ascii_lowercase();
            if !is_domain(&domain) {
                return Err(IdpSettingsError("allowed e-mail domain is not a domain name"));
            }
            if !domains.contains(&domain) {
                domains.push(domain);
            }
        }
        if let RoleSource::Claims { mapping } = &role_source {
            if mapping.is_empty() || mapping.len() > MAX_GROUP_ROLES {
                return Err(IdpSettingsError("a claim mapping needs 1 to 100 lines"));
            }
            for line in mapping {
                if line.group.trim().is_empty() || line.group.len() > 256 {
                    return Err(IdpSettingsError("a group name is empty or too long"));
                }
                if line.role == Role::Operator {
                    return Err(IdpSettingsError("groups can map to admin, dpo or recruiter only"));
                }
            }
        }
        let groups_claim = groups_claim.trim();
        if groups_claim.is_empty() || groups_claim.len() > 64 || !groups_claim.chars().all(|c| c.is_ascii_graphic()) {
            return Err(IdpSettingsError("groups claim is not a claim name"));
        }
        Ok(Self {
            enabled,
            issuer: issuer.to_owned(),
            client_id: client_id.to_owned(),
            allowed_email_domains: domains,
            role_source,
            groups_claim: groups_claim.to_owned(),
            require_verified_email,
        })
    }

    /// Whether sign-in through the provider is switched on.
    pub const fn enabled(&self) -> bool {
        self.enabled
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Allowed e-mail domains (lower case; empty: any).
    pub fn allowed_email_domains(&self) -> &[String] {
        &self.allowed_email_domains
    }

    /// Where roles come from.
    pub const fn role_source(&self) -> &RoleSource {
        &self.role_source
    }

    /// The claim carrying groups.
    pub fn groups_claim(&self) -> &str {
        &self.groups_claim
    }

    /// Whether a verified e-mail is required (with allowed domains).
    pub const fn require_verified_email(&self) -> bool {
        self.require_verified_email
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(lines: &[(&str, Role)]) -> RoleSource {
        RoleSource::Claims {
            mapping: lines.iter().map(|(g, r)| GroupRole { group: (*g).to_owned(), role: *r }).collect(),
        }
    }

    fn groups(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn claim_mapping_needs_exactly_one_role() {
        let source = mapping(&[
            ("hr", Role::Recruiter),
            ("recruiting", Role::Recruiter),
            ("it", Role::Admin),
            ("dsb", Role::Dpo),
        ]);
        assert_eq!(source.decide(&groups(&["hr"])), RoleDecision::Role(Role::Recruiter));
        assert_eq!(source.decide(&groups(&["hr", "recruiting", "other"])), RoleDecision::Role(Role::Recruiter));
        assert_eq!(source.decide(&groups(&["other"])), RoleDecision::NoRole);
        assert_eq!(source.decide(&[]), RoleDecision::NoRole);
        assert_eq!(source.decide(&groups(&["it", "dsb"])), RoleDecision::Ambiguous, "admin and DPO at once (R1)");
        assert_eq!(source.decide(&groups(&["it", "hr"])), RoleDecision::Ambiguous);
        assert_eq!(RoleSource::Hoheit.decide(&groups(&["it"])), RoleDecision::Managed);
    }

    #[test]
    fn settings_are_checked_and_normalised() {
        let ok = IdpSettings::new(
            true,
            " https://login.microsoftonline.com/t/v2.0 ",
            "client",
            &["@Example.DE".to_owned(), "example.de".to_owned()],
            RoleSource::Hoheit,
            "groups",
            true,
        )
        .unwrap();
        assert_eq!(ok.issuer(), "https://login.microsoftonline.com/t/v2.0");
        assert_eq!(ok.allowed_email_domains(), ["example.de"]);
        let bad = |issuer: &str, client: &str, domains: &[&str], source: RoleSource, claim: &str| {
            let domains: Vec<String> = domains.iter().map(|d| (*d).to_owned()).collect();
            IdpSettings::new(true, issuer, client, &domains, source, claim, true).is_err()
        };
        assert!(bad("http://idp.example.de", "c", &[], RoleSource::Hoheit, "groups"));
        assert!(bad("http://127.0.0.1.evil.example", "c", &[], RoleSource::Hoheit, "groups"));
        assert!(!bad("http://127.0.0.1:8390", "c", &[], RoleSource::Hoheit, "groups"));
        assert!(bad("https://idp.example.de", "", &[], RoleSource::Hoheit, "groups"));
        assert!(bad("https://idp.example.de", "c", &["not a domain"], RoleSource::Hoheit, "groups"));
        assert!(bad("https://idp.example.de", "c", &[], mapping(&[]), "groups"));
        assert!(bad("https://idp.example.de", "c", &[], mapping(&[("ops", Role::Operator)]), "groups"));
        assert!(bad("https://idp.example.de", "c", &[], mapping(&[(" ", Role::Admin)]), "groups"));
        assert!(bad("https://idp.example.de", "c", &[], RoleSource::Hoheit, "bad claim"));
    }

    #[test]
    fn settings_round_trip_as_json() {
        let settings = IdpSettings::new(
            false,
            "https://sso.example.de/realms/acme",
            "hoheit",
            &[],
            mapping(&[("hr", Role::Recruiter)]),
            "roles",
            false,
        )
        .unwrap();
        let json = serde_json::to_string(&settings).unwrap();
        assert_eq!(serde_json::from_str::<IdpSettings>(&json).unwrap(), settings);
    }
}
