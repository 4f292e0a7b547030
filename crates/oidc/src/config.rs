//! One tenant's identity provider, as the relying party needs it, and the timing knobs.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::error::OidcError;

/// One tenant's OpenID Connect provider. Parsed once ([`ProviderConfig::new`]); a value that
/// exists has an https issuer (or a loopback one where [`ProviderConfig::allow_insecure_loopback`]
/// says so), a client id and a redirect URI.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    issuer: String,
    issuer_url: Url,
    client_id: String,
    client_secret: SecretString,
    redirect_uri: Url,
    allowed_email_domains: Vec<String>,
    scopes: Vec<String>,
    groups_claim: String,
    require_verified_email: bool,
    allow_insecure_loopback: bool,
}

impl ProviderConfig {
    /// A provider: `issuer` exactly as the provider spells it in its tokens (`https://login.
    /// microsoftonline.com/<tenant>/v2.0`, `https://sso.example.de/realms/acme`), the client
    /// registered there, and the redirect URI registered for it (hoheit's callback).
    ///
    /// Defaults: scopes `openid email profile`, groups from the `groups` claim, no e-mail domain
    /// restriction, a verified e-mail required when a domain restriction is set, https only.
    pub fn new(
        issuer: &str,
        client_id: &str,
        client_secret: SecretString,
        redirect_uri: &str,
    ) -> Result<Self, OidcError> {
        let issuer_url = Url::parse(issuer).map_err(|_| OidcError::InvalidConfig("issuer is not a URL"))?;
        if issuer_url.query().is_some() || issuer_url.fragment().is_some() {
            return Err(OidcError::InvalidConfig("issuer must not have a query or fragment"));
        }
        let redirect_uri =
            Url::parse(redirect_uri).map_err(|_| OidcError::InvalidConfig("redirect URI is not a URL"))?;
        if redirect_uri.fragment().is_some() {
            return Err(OidcError::InvalidConfig("redirect URI must not have a fragment"));
        }
        let client_id = client_id.trim();
        if client_id.is_empty() || client_id.len() > 255 {
            return Err(OidcError::InvalidConfig("client id is empty or too long"));
        }
        let config = Self {
            issuer: issuer.to_owned(),
            issuer_url,
            client_id: client_id.to_owned(),
            client_secret,
            redirect_uri,
            allowed_email_domains: Vec::new(),
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            groups_claim: "groups".into(),
            require_verified_email: true,
            allow_insecure_loopback: false,
        };
        // http to loopback passes here and is refused at use unless allowed (see
        // `with_insecure_loopback`); anything else must be https from the start.
        if config.issuer_url.scheme() != "https"
            && !(config.issuer_url.scheme() == "http" && is_loopback(&config.issuer_url))
        {
            return Err(OidcError::InvalidConfig("identity provider URLs must use https"));
        }
        Ok(config)
    }

    /// Only e-mail addresses in these domains may sign in (exact domain match, case-insensitive;
    /// `example.de` does not admit `sub.example.de`). Empty: any domain.
    pub fn with_allowed_email_domains<I, S>(mut self, domains: I) -> Result<Self, OidcError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut parsed = Vec::new();
        for domain in domains {
            let domain = domain.as_ref().trim().trim_start_matches('@').to_ascii_lowercase();
            let valid = !domain.is_empty()
                && domain.len() <= 253
                && domain.contains('.')
                && domain.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            if !valid {
                return Err(OidcError::InvalidConfig("allowed e-mail domain is not a domain name"));
            }
            parsed.push(domain);
        }
        self.allowed_email_domains = parsed;
        Ok(self)
    }

    /// The scopes requested (`openid` is always added).
    #[must_use]
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut list: Vec<String> = vec!["openid".into()];
        for scope in scopes {
            let scope = scope.into();
            if !scope.is_empty() && !scope.contains(' ') && !list.contains(&scope) {
                list.push(scope);
            }
        }
        self.scopes = list;
        self
    }

    /// The claim carrying group (or role) names: `groups` (Keycloak, Entra ID group ids) or
    /// `roles` (Entra ID app roles).
    #[must_use]
    pub fn with_groups_claim(mut self, claim: &str) -> Self {
        claim.clone_into(&mut self.groups_claim);
        self
    }

    /// Whether `email_verified: true` is required when a domain restriction is set (default
    /// yes). Entra ID sends no `email_verified`; a tenant that trusts its own directory turns it
    /// off.
    #[must_use]
    pub const fn with_require_verified_email(mut self, require: bool) -> Self {
        self.require_verified_email = require;
        self
    }

    /// Allows `http` to loopback addresses and `localhost` (development and tests, the stand-in).
    pub fn with_insecure_loopback(mut self, allow: bool) -> Result<Self, OidcError> {
        self.allow_insecure_loopback = allow;
        self.check_scheme(&self.issuer_url)?;
        Ok(self)
    }

    /// Whether the issuer itself may be used (https, or loopback http where allowed).
    pub(crate) fn check_issuer(&self) -> Result<(), OidcError> {
        self.check_scheme(&self.issuer_url)
    }

    /// The issuer, as configured.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub(crate) const fn client_secret(&self) -> &SecretString {
        &self.client_secret
    }

    /// The redirect URI.
    pub const fn redirect_uri(&self) -> &Url {
        &self.redirect_uri
    }

    /// The allowed e-mail domains (lower case; empty: any).
    pub fn allowed_email_domains(&self) -> &[String] {
        &self.allowed_email_domains
    }

    /// The scopes requested.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The claim read for groups.
    pub fn groups_claim(&self) -> &str {
        &self.groups_claim
    }

    /// Whether a verified e-mail is required when a domain restriction is set.
    pub const fn require_verified_email(&self) -> bool {
        self.require_verified_email
    }

    /// Whether http to loopback is allowed.
    pub const fn allows_insecure_loopback(&self) -> bool {
        self.allow_insecure_loopback
    }

    /// The discovery document's URL (`<issuer>/.well-known/openid-configuration`).
    pub(crate) fn discovery_url(&self) -> Result<Url, OidcError> {
        let base = self.issuer.trim_end_matches('/');
        Url::parse(&format!("{base}/.well-known/openid-configuration"))
            .map_err(|_| OidcError::InvalidConfig("issuer is not a URL"))
    }

    /// An endpoint the provider names must be https (or loopback http where allowed).
    pub(crate) fn check_scheme(&self, url: &Url) -> Result<(), OidcError> {
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.allow_insecure_loopback && is_loopback(url) => Ok(()),
            _ => Err(OidcError::InvalidConfig("identity provider URLs must use https")),
        }
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// How long things live, and how much clock skew is tolerated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OidcTimings {
    /// Clock skew tolerated on `exp`, `iat`, `nbf` (default 60 s).
    pub leeway: Duration,
    /// How long a pending sign-in may take, from `begin` to `complete` (default 10 min).
    pub pending_ttl: Duration,
    /// How long the discovery document is cached (default 1 h).
    pub discovery_ttl: Duration,
    /// How long the JWKS is cached (default 1 h).
    pub jwks_ttl: Duration,
    /// At most one JWKS refetch for an unknown key id in this interval (default 30 s), so tokens
    /// with invented key ids cannot make us hammer the provider.
    pub jwks_refetch_interval: Duration,
    /// Timeout of one HTTP request to the provider (default 10 s).
    pub request_timeout: Duration,
}

impl Default for OidcTimings {
    fn default() -> Self {
        Self {
            leeway: Duration::from_secs(60),
            pending_ttl: Duration::from_secs(600),
            discovery_ttl: Duration::from_secs(3_600),
            jwks_ttl: Duration::from_secs(3_600),
            jwks_refetch_interval: Duration::from_secs(30),
            request_timeout: Duration::from_secs(10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SecretString {
        SecretString::from("s")
    }

    #[test]
    fn issuer_must_be_https_unless_loopback_is_allowed() {
        assert!(ProviderConfig::new("http://idp.example.de", "c", secret(), "https://h.example/cb").is_err());
        assert!(ProviderConfig::new("https://idp.example.de", "c", secret(), "https://h.example/cb").is_ok());
        assert!(ProviderConfig::new("http://10.0.0.1", "c", secret(), "https://h.example/cb").is_err());
        let local = ProviderConfig::new("http://127.0.0.1:1", "c", secret(), "http://127.0.0.1:2/cb").unwrap();
        assert!(local.check_issuer().is_err(), "loopback http needs the explicit permission");
        assert!(local.check_scheme(&Url::parse("http://127.0.0.1:1/jwks").unwrap()).is_err());
        let local = local.with_insecure_loopback(true).unwrap();
        assert!(local.check_scheme(&Url::parse("http://127.0.0.1:1/jwks").unwrap()).is_ok());
        assert!(local.check_scheme(&Url::parse("http://10.0.0.1/jwks").unwrap()).is_err());
        assert!(ProviderConfig::new("not a url", "c", secret(), "https://h.example/cb").is_err());
        assert!(ProviderConfig::new("https://idp.example.de", " ", secret(), "https://h.example/cb").is_err());
    }

    #[test]
    fn email_domains_are_normalised_and_checked() {
        let config = ProviderConfig::new("https://idp.example.de", "c", secret(), "https://h.example/cb").unwrap();
        let config = config.with_allowed_email_domains(["@Example.DE"]).unwrap();
        assert_eq!(config.allowed_email_domains(), ["example.de"]);
        let config = ProviderConfig::new("https://idp.example.de", "c", secret(), "https://h.example/cb").unwrap();
        assert!(config.clone().with_allowed_email_domains(["no domain"]).is_err());
        assert!(config.with_allowed_email_domains(["localhost"]).is_err());
    }

    #[test]
    fn openid_scope_is_always_requested() {
        let config = ProviderConfig::new("https://idp.example.de", "c", secret(), "https://h.example/cb").unwrap();
        assert_eq!(config.with_scopes(["email", "openid", "bad scope"]).scopes(), ["openid", "email"]);
    }

    #[test]
    fn discovery_url_follows_the_issuer() {
        let config =
            ProviderConfig::new("https://idp.example.de/realms/acme/", "c", secret(), "https://h.example/cb").unwrap();
        assert_eq!(
            config.discovery_url().unwrap().as_str(),
            "https://idp.example.de/realms/acme/.well-known/openid-configuration"
        );
    }
}
