//! Error mapping: the provider's answer -> [`GatewayError`], built on WhatsApp's numeric codes
//! (never on titles). The table is DIALOG360.md's; see the crate docs for the summary.

use std::time::Duration;

use hoheit_domain::ports::GatewayError;
use serde_json::Value;

/// How an error code changes what the adapter does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// 131047: outside the 24-hour window. Permanent for this message.
    WindowClosed,
    /// 130429: the number's throughput is exhausted. Transient.
    Throughput,
    /// 131056: too many messages to the same recipient. Transient for that recipient.
    PairRate,
    /// 131048, 80007, 4: spam / account / app rate limits. Transient with a long back-off.
    LongRateLimit,
    /// 131026: the recipient cannot receive it. Permanent.
    Undeliverable,
    /// 131049, 131050, 131051: Meta refuses this message. Permanent.
    Rejected,
    /// 132000, 132001, 132005, 132007, 132012, 132015, 132016: template problems. Permanent.
    TemplateRejected,
    /// 368, 131031, 131042, 133010 and HTTP 401: the channel is broken. Permanent until fixed.
    ChannelFailure,
    /// 5xx, timeouts, connection errors. Transient.
    Transient,
}

impl ErrorClass {
    /// The class of a WhatsApp error code from the table, or `None` for codes outside it (those
    /// are classified by HTTP status).
    pub const fn of_code(code: i64) -> Option<Self> {
        Some(match code {
            131_047 => Self::WindowClosed,
            130_429 => Self::Throughput,
            131_056 => Self::PairRate,
            131_048 | 80_007 | 4 => Self::LongRateLimit,
            131_026 => Self::Undeliverable,
            131_049..=131_051 => Self::Rejected,
            132_000 | 132_001 | 132_005 | 132_007 | 132_012 | 132_015 | 132_016 => Self::TemplateRejected,
            368 | 131_031 | 131_042 | 133_010 => Self::ChannelFailure,
            _ => return None,
        })
    }

    /// Whether retrying later may succeed.
    pub const fn is_transient(self) -> bool {
        match self {
            Self::Throughput | Self::PairRate | Self::LongRateLimit | Self::Transient => true,
            Self::WindowClosed
            | Self::Undeliverable
            | Self::Rejected
            | Self::TemplateRejected
            | Self::ChannelFailure => false,
        }
    }
}

/// What a non-2xx answer said, reduced to what decisions need. Holds no text from the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderFailure {
    /// HTTP status.
    pub http_status: u16,
    /// WhatsApp's numeric code (Meta's `error.code`, or the first of `errors[].code`).
    pub code: Option<i64>,
    /// 360Dialog's own "You have exceeded the endpoint rate limit" (no numeric code).
    pub endpoint_rate_limit: bool,
    /// 360Dialog's own "Your WhatsApp for Business API has been disabled" (no numeric code).
    pub api_disabled: bool,
}

impl ProviderFailure {
    /// Reads an error answer. Accepts Meta's `{"error":{"code":..}}`, the older
    /// `{"errors":[{"code":..}]}` and 360Dialog's `{"meta":{"developer_message":..}}`; anything
    /// else (HTML from a proxy, empty bodies) leaves the code empty.
    pub fn from_response(http_status: u16, body: &[u8]) -> Self {
        let mut failure = Self { http_status, code: None, endpoint_rate_limit: false, api_disabled: false };
        let Ok(json) = serde_json::from_slice::<Value>(body) else {
            return failure;
        };
        failure.code = json.get("error").and_then(|e| e.get("code")).and_then(json_i64).or_else(|| {
            json.get("errors")
                .and_then(Value::as_array)
                .and_then(|errors| errors.iter().find_map(|e| e.get("code").and_then(json_i64)))
        });
        if failure.code.is_none() {
            // 360Dialog's own answers carry no numeric code: the only place where a text decides.
            let texts = [json.pointer("/meta/developer_message"), json.pointer("/error/message"), json.get("message")];
            for text in texts.into_iter().flatten().filter_map(Value::as_str) {
                let text = text.to_ascii_lowercase();
                failure.endpoint_rate_limit |= text.contains("rate limit");
                failure.api_disabled |= text.contains("has been disabled");
            }
        }
        failure
    }

    /// The class of this failure: the code table first, then 360Dialog's own answers, then the
    /// HTTP status (401/403 channel, 408/429/5xx transient, other 4xx rejected).
    pub fn class(&self) -> ErrorClass {
        if let Some(class) = self.code.and_then(ErrorClass::of_code) {
            return class;
        }
        if self.http_status == 401 || self.http_status == 403 || self.api_disabled {
            return ErrorClass::ChannelFailure;
        }
        if self.endpoint_rate_limit || self.http_status == 429 {
            return ErrorClass::Throughput;
        }
        if self.http_status >= 500 || self.http_status == 408 {
            return ErrorClass::Transient;
        }
        ErrorClass::Rejected
    }

    /// The code to report: WhatsApp's, else the HTTP status (except for 360Dialog's own
    /// text-only answers, which have none).
    pub fn reported_code(&self) -> Option<i64> {
        match self.code {
            Some(code) => Some(code),
            None if self.endpoint_rate_limit || self.api_disabled => None,
            None => Some(i64::from(self.http_status)),
        }
    }

    /// The domain error. `retry_after` is the provider's hint (Retry-After) or the adapter's
    /// default for the class.
    pub fn to_gateway_error(&self, retry_after: Option<Duration>) -> GatewayError {
        gateway_error(self.class(), self.reported_code(), retry_after)
    }
}

/// Builds the domain error for a class.
pub(crate) const fn gateway_error(class: ErrorClass, code: Option<i64>, retry_after: Option<Duration>) -> GatewayError {
    match class {
        ErrorClass::WindowClosed => GatewayError::WindowClosed { code },
        ErrorClass::Throughput | ErrorClass::PairRate | ErrorClass::LongRateLimit => {
            GatewayError::RateLimited { retry_after, code }
        }
        ErrorClass::Undeliverable => GatewayError::Undeliverable { code },
        ErrorClass::Rejected => GatewayError::Rejected { code },
        ErrorClass::TemplateRejected => GatewayError::TemplateRejected { code },
        ErrorClass::ChannelFailure => GatewayError::ChannelFailure { code },
        ErrorClass::Transient => GatewayError::Transient { code },
    }
}

/// A number or a numeric string (`"131047"`) as i64.
pub(crate) fn json_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Null | Value::Bool(_) | Value::Array(_) | Value::Object(_) => None,
    }
}

/// Errors of the adapter's non-messaging calls (templates, webhook settings, media). Messages
/// carry no personal data, no URL and no key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Dialog360Error {
    /// The provider refused or failed (classified like a send).
    #[error("provider error: {0}")]
    Provider(#[from] GatewayError),
    /// A media URL points at a host that is neither 360Dialog's nor the configured base URL's.
    #[error("refused to fetch media from a host that is not 360Dialog's")]
    RefusedUrl,
    /// A media id that cannot be a path segment.
    #[error("invalid media id")]
    InvalidMediaId,
    /// The media is larger than the configured limit.
    #[error("media exceeds the size limit")]
    TooLarge,
    /// The downloaded bytes do not match the announced SHA-256.
    #[error("media does not match its announced SHA-256")]
    IntegrityMismatch,
    /// The provider's answer does not have the expected shape.
    #[error("unexpected answer from 360Dialog: {0}")]
    InvalidResponse(&'static str),
    /// The request could not be built (an invalid header name in the webhook settings, ...).
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// The outbound allow-list refused the destination (the URL, or an address its host
    /// resolves to). Nothing was sent.
    #[error("destination not allowed")]
    NotAllowed,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(status: u16, code: i64) -> GatewayError {
        let body = format!(r#"{{"error":{{"message":"x","type":"OAuthException","code":{code},"fbtrace_id":"A"}}}}"#);
        ProviderFailure::from_response(status, body.as_bytes()).to_gateway_error(None)
    }

    #[test]
    fn the_code_table_maps_each_code() {
        assert_eq!(meta(400, 131_047), GatewayError::WindowClosed { code: Some(131_047) });
        for code in [130_429, 131_056, 131_048, 80_007, 4] {
            assert_eq!(meta(400, code), GatewayError::RateLimited { retry_after: None, code: Some(code) }, "{code}");
        }
        assert_eq!(meta(400, 131_026), GatewayError::Undeliverable { code: Some(131_026) });
        for code in [131_049, 131_050, 131_051] {
            assert_eq!(meta(400, code), GatewayError::Rejected { code: Some(code) }, "{code}");
        }
        for code in [132_000, 132_001, 132_005, 132_007, 132_012, 132_015, 132_016] {
            assert_eq!(meta(400, code), GatewayError::TemplateRejected { code: Some(code) }, "{code}");
        }
        for code in [368, 131_031, 131_042, 133_010] {
            assert_eq!(meta(403, code), GatewayError::ChannelFailure { code: Some(code) }, "{code}");
        }
    }

    #[test]
    fn codes_win_over_http_status_and_unknown_codes_fall_back_to_it() {
        assert_eq!(meta(500, 131_047), GatewayError::WindowClosed { code: Some(131_047) });
        assert_eq!(meta(500, 131_000), GatewayError::Transient { code: Some(131_000) });
        assert_eq!(meta(400, 100), GatewayError::Rejected { code: Some(100) });
        assert_eq!(meta(401, 190), GatewayError::ChannelFailure { code: Some(190) });
    }

    #[test]
    fn dialog360_own_answers() {
        let unauthorized = br#"{"meta":{"success":false,"http_code":401,"developer_message":"Invalid api_key"}}"#;
        assert_eq!(
            ProviderFailure::from_response(401, unauthorized).to_gateway_error(None),
            GatewayError::ChannelFailure { code: Some(401) }
        );
        let limited = br#"{"meta":{"success":false,"http_code":400,"developer_message":"You have exceeded the endpoint rate limit"}}"#;
        assert_eq!(
            ProviderFailure::from_response(400, limited).to_gateway_error(None),
            GatewayError::RateLimited { retry_after: None, code: None }
        );
        let disabled = br#"{"meta":{"success":false,"http_code":400,"developer_message":"Your WhatsApp for Business API has been disabled"}}"#;
        assert_eq!(
            ProviderFailure::from_response(400, disabled).to_gateway_error(None),
            GatewayError::ChannelFailure { code: None }
        );
        let unavailable = br#"{"meta":{"success":false,"http_code":502,"developer_message":"WhatsApp for Business API not available"}}"#;
        assert_eq!(
            ProviderFailure::from_response(502, unavailable).to_gateway_error(None),
            GatewayError::Transient { code: Some(502) }
        );
    }

    #[test]
    fn odd_bodies_fall_back_to_the_status() {
        assert_eq!(
            ProviderFailure::from_response(503, b"<html>bad gateway</html>").to_gateway_error(None),
            GatewayError::Transient { code: Some(503) }
        );
        assert_eq!(
            ProviderFailure::from_response(429, b"").to_gateway_error(None),
            GatewayError::RateLimited { retry_after: None, code: Some(429) }
        );
        assert_eq!(
            ProviderFailure::from_response(400, br#"{"errors":[{"code":"131026","title":"x"}]}"#)
                .to_gateway_error(None),
            GatewayError::Undeliverable { code: Some(131_026) }
        );
        assert_eq!(
            ProviderFailure::from_response(404, b"{}").to_gateway_error(None),
            GatewayError::Rejected { code: Some(404) }
        );
    }

    #[test]
    fn transient_classes() {
        for class in [ErrorClass::Throughput, ErrorClass::PairRate, ErrorClass::LongRateLimit, ErrorClass::Transient] {
            assert!(class.is_transient());
            assert!(gateway_error(class, None, None).is_transient());
        }
        for class in [
            ErrorClass::WindowClosed,
            ErrorClass::Undeliverable,
            ErrorClass::Rejected,
            ErrorClass::TemplateRejected,
            ErrorClass::ChannelFailure,
        ] {
            assert!(!class.is_transient());
            assert!(!gateway_error(class, None, None).is_transient());
        }
    }
}
