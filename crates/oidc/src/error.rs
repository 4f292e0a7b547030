//! Errors with stable codes. No message carries a token, an authorisation code, a state, a nonce
//! or an e-mail address: they are safe to log and to show.

/// Why a sign-in through the identity provider failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// The provider configuration is unusable (not https, no client id, ...).
    #[error("the OpenID Connect configuration is invalid: {0}")]
    InvalidConfig(&'static str),
    /// The discovery document or the ID token names another issuer than the configured one.
    #[error("the identity provider's issuer does not match the configured issuer")]
    WrongIssuer,
    /// The ID token was not issued for this client.
    #[error("the ID token was not issued for this client")]
    WrongAudience,
    /// The ID token has expired (or is not valid yet, or was issued in the future).
    #[error("the ID token has expired or is not valid at this time")]
    Expired,
    /// The ID token's signature does not verify, or uses an algorithm that is not accepted.
    #[error("the ID token's signature is invalid")]
    BadSignature,
    /// The token names a signing key the provider does not publish (even after a refetch).
    #[error("the ID token is signed with a key the identity provider does not publish")]
    UnknownKey,
    /// The `state` returned does not belong to a pending sign-in (unknown, used, or tampered).
    #[error("the sign-in state is unknown, already used or does not match")]
    StateMismatch,
    /// The pending sign-in is older than allowed.
    #[error("the sign-in took too long; please start again")]
    PendingExpired,
    /// The ID token's nonce is not the one sent.
    #[error("the ID token's nonce does not match the sign-in")]
    NonceMismatch,
    /// The ID token's `at_hash` does not match the access token.
    #[error("the ID token does not belong to the access token")]
    AtHashMismatch,
    /// The ID token or the provider's answer is malformed.
    #[error("the identity provider's answer is malformed")]
    InvalidToken,
    /// The provider refused the authorisation code (invalid, used, expired) or the client.
    #[error("the identity provider refused the authorisation code")]
    CodeRejected,
    /// The provider reported an error at the authorisation step (e.g. the user cancelled).
    #[error("the identity provider reported an error: {0}")]
    ProviderError(ProviderErrorCode),
    /// The provider could not be reached or answered with a server error.
    #[error("the identity provider is unavailable")]
    ProviderUnavailable,
    /// The verified e-mail address is outside the allowed domain(s), or there is none.
    #[error("the e-mail address is not in an allowed domain")]
    EmailDomainNotAllowed,
    /// The provider does not say the e-mail address is verified, and the configuration requires it.
    #[error("the identity provider has not verified the e-mail address")]
    EmailNotVerified,
}

/// An OAuth 2.0 error code from the authorisation redirect, reduced to the registered values so
/// that nothing the provider (or an attacker) puts into the redirect reaches a log verbatim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderErrorCode {
    /// `access_denied`: the user (or a policy) refused.
    AccessDenied,
    /// `login_required`, `interaction_required`, `consent_required`, `account_selection_required`.
    InteractionRequired,
    /// `temporarily_unavailable`, `server_error`.
    Unavailable,
    /// Any other value.
    Other,
}

impl ProviderErrorCode {
    /// Classifies the `error` parameter of an authorisation redirect.
    pub fn parse(value: &str) -> Self {
        match value {
            "access_denied" => Self::AccessDenied,
            "login_required" | "interaction_required" | "consent_required" | "account_selection_required" => {
                Self::InteractionRequired
            }
            "temporarily_unavailable" | "server_error" => Self::Unavailable,
            _ => Self::Other,
        }
    }

    /// Stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AccessDenied => "access_denied",
            Self::InteractionRequired => "interaction_required",
            Self::Unavailable => "temporarily_unavailable",
            Self::Other => "other",
        }
    }
}

impl std::fmt::Display for ProviderErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl OidcError {
    /// The stable error code (part of the public contract: HTTP answers and audit entries use it).
    pub const fn code(&self) -> &'static str {
        match self {
            Self::InvalidConfig(_) => "oidc_invalid_config",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::Expired => "expired",
            Self::BadSignature => "bad_signature",
            Self::UnknownKey => "unknown_key",
            Self::StateMismatch => "state_mismatch",
            Self::PendingExpired => "pending_expired",
            Self::NonceMismatch => "nonce_mismatch",
            Self::AtHashMismatch => "at_hash_mismatch",
            Self::InvalidToken => "invalid_token",
            Self::CodeRejected => "code_rejected",
            Self::ProviderError(_) => "provider_error",
            Self::ProviderUnavailable => "provider_unavailable",
            Self::EmailDomainNotAllowed => "email_domain_not_allowed",
            Self::EmailNotVerified => "email_not_verified",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_stable() {
        let all = [
            OidcError::InvalidConfig("x"),
            OidcError::WrongIssuer,
            OidcError::WrongAudience,
            OidcError::Expired,
            OidcError::BadSignature,
            OidcError::UnknownKey,
            OidcError::StateMismatch,
            OidcError::PendingExpired,
            OidcError::NonceMismatch,
            OidcError::AtHashMismatch,
            OidcError::InvalidToken,
            OidcError::CodeRejected,
            OidcError::ProviderError(ProviderErrorCode::AccessDenied),
            OidcError::ProviderUnavailable,
            OidcError::EmailDomainNotAllowed,
            OidcError::EmailNotVerified,
        ];
        let codes: std::collections::HashSet<_> = all.iter().map(OidcError::code).collect();
        assert_eq!(codes.len(), all.len());
        assert_eq!(OidcError::WrongIssuer.code(), "wrong_issuer");
        assert_eq!(OidcError::EmailDomainNotAllowed.code(), "email_domain_not_allowed");
    }

    #[test]
    fn provider_error_codes_are_reduced_to_known_values() {
        assert_eq!(ProviderErrorCode::parse("access_denied"), ProviderErrorCode::AccessDenied);
        assert_eq!(ProviderErrorCode::parse("login_required"), ProviderErrorCode::InteractionRequired);
        assert_eq!(ProviderErrorCode::parse("<script>alert(1)</script>").as_str(), "other");
    }
}
