//! Security headers on every response of the UI, and the same-origin check of its
//! state-changing requests.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The Content-Security-Policy of `shared/design/UI.md`, exactly.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; \
                       connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// `Cache-Control` of pages: they may show personal data, so no cache keeps them. Assets set their
/// own (long, immutable) caching.
pub const NO_STORE: &str = "no-store";

/// Adds the security headers to every response; `Cache-Control: no-store` unless the handler set
/// a caching policy (only the static assets do).
pub(crate) async fn headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // for browsers that predate frame-ancestors
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
    }
    response
}

/// Whether a state-changing request comes from one of our own pages: `Sec-Fetch-Site` (sent by
/// every current browser) must be `same-origin` (or `none`: typed by the user); without it, an
/// `Origin` header must name the request's own host. A request with neither is not from a
/// browser page (a script or curl cannot ride on someone's cookies) and passes this check; the
/// CSRF token guards session-authenticated requests in addition.
pub fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    match headers.get(header::ORIGIN) {
        None => true,
        Some(origin) => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
            let origin_host = origin.to_str().ok().and_then(|o| o.split_once("://")).map(|(_, rest)| rest);
            matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cross_site_requests_are_refused() {
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(same_origin(&headers(&[("sec-fetch-site", "none")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "same-site")])));
        // Sec-Fetch-Site wins over a matching Origin
        assert!(!same_origin(&headers(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://a.example"),
            ("host", "a.example")
        ])));
        assert!(same_origin(&headers(&[("origin", "http://a.example:8080"), ("host", "a.example:8080")])));
        assert!(!same_origin(&headers(&[("origin", "https://evil.example"), ("host", "a.example")])));
        assert!(!same_origin(&headers(&[("origin", "null"), ("host", "a.example")])));
        assert!(!same_origin(&headers(&[("origin", "https://a.example")])));
        assert!(same_origin(&HeaderMap::new()));
    }
}
