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

/// Whether a state-changing request comes from one of our own pages. With a configured public
/// origin this is the domain's rule ([`hoheit_domain::staff::same_origin_request`]); without one,
/// the same rule with the request's own `Host` as the origin: `Sec-Fetch-Site` (sent by every
/// current browser) must be `same-origin` or `none` (typed by the user), an `Origin` must name
/// the host, and a request with neither header is refused (fail safe).
///
/// `Origin: null` next to a `Sec-Fetch-Site` header counts as no `Origin`: browsers send `null`
/// on every form POST of a page with `Referrer-Policy: no-referrer` (Fetch standard,
/// "serializing a request origin"), and `Sec-Fetch-Site`, which no page can set, still says
/// where the request came from.
pub fn same_origin(headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    let get = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    let origin = get(header::ORIGIN).filter(|o| !(*o == "null" && site.is_some()));
    if let Some(public) = public_origin {
        return hoheit_domain::staff::same_origin_request(origin, site, public);
    }
    if let Some(site) = site
        && !matches!(site, "same-origin" | "none")
    {
        return false;
    }
    match origin {
        Some(o) => {
            let origin_host = o.split_once("://").map(|(_, rest)| rest.trim_end_matches('/'));
            matches!((origin_host, get(header::HOST)), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
        }
        None => site.is_some(),
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
        let check = |pairs: &[(&'static str, &'static str)]| same_origin(&headers(pairs), None);
        assert!(check(&[("sec-fetch-site", "same-origin")]));
        assert!(check(&[("sec-fetch-site", "none")]));
        assert!(!check(&[("sec-fetch-site", "cross-site")]));
        assert!(!check(&[("sec-fetch-site", "same-site")]));
        // Sec-Fetch-Site wins over a matching Origin
        assert!(!check(&[("sec-fetch-site", "cross-site"), ("origin", "http://a.example"), ("host", "a.example")]));
        assert!(check(&[("origin", "http://a.example:8080"), ("host", "a.example:8080")]));
        assert!(!check(&[("origin", "https://evil.example"), ("host", "a.example")]));
        assert!(!check(&[("origin", "null"), ("host", "a.example")]));
        assert!(!check(&[("origin", "https://a.example")]));
        // the form POST of a no-referrer page: Origin null, Sec-Fetch-Site decides
        assert!(check(&[("origin", "null"), ("sec-fetch-site", "same-origin")]));
        assert!(!check(&[("origin", "null"), ("sec-fetch-site", "cross-site")]));
        // neither header: not from one of our pages (fail safe)
        assert!(!check(&[]));
        // a configured public origin is what Origin must be
        let public = |pairs: &[(&'static str, &'static str)]| same_origin(&headers(pairs), Some("https://h.example"));
        assert!(public(&[("origin", "https://h.example"), ("sec-fetch-site", "same-origin")]));
        assert!(!public(&[("origin", "https://evil.example"), ("host", "evil.example")]));
        assert!(!public(&[]));
        assert!(public(&[("origin", "null"), ("sec-fetch-site", "same-origin")]));
        assert!(!public(&[("origin", "null")]));
    }
}
