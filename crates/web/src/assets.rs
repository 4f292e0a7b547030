//! Static assets compiled into the binary: the stylesheet and the vendored htmx files
//! (`assets/VENDORED.md` records their origin, version and SHA-384). Each is served under a
//! content-hashed path, `/assets/<hash>/<name>`, cached for a year as immutable; an `ETag` answers
//! revalidation with 304. A request with an outdated hash (a page rendered by another release)
//! still gets the current file, but without the long cache.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One file served from the binary.
#[derive(Debug)]
pub struct Asset {
    /// File name in the URL.
    pub name: &'static str,
    /// The bytes.
    pub bytes: &'static [u8],
    /// `Content-Type`.
    pub content_type: &'static str,
}

/// The hoheit stylesheet (design tokens, layout, print).
pub const STYLESHEET: &str = "hoheit.css";
/// hoheit's own script: shows the session time-out warnings.
pub const SCRIPT: &str = "hoheit.js";
/// htmx (vendored).
pub const HTMX: &str = "htmx-2.0.11.min.js";
/// htmx's SSE extension (vendored).
pub const HTMX_SSE: &str = "htmx-ext-sse-2.2.4.min.js";

/// Every asset the UI serves (axe-core is test-only and not among them).
pub static ASSETS: [Asset; 4] = [
    Asset { name: STYLESHEET, bytes: include_bytes!("../assets/hoheit.css"), content_type: "text/css; charset=utf-8" },
    Asset {
        name: SCRIPT,
        bytes: include_bytes!("../assets/hoheit.js"),
        content_type: "text/javascript; charset=utf-8",
    },
    Asset {
        name: HTMX,
        bytes: include_bytes!("../assets/vendor/htmx-2.0.11.min.js"),
        content_type: "text/javascript; charset=utf-8",
    },
    Asset {
        name: HTMX_SSE,
        bytes: include_bytes!("../assets/vendor/htmx-ext-sse-2.2.4.min.js"),
        content_type: "text/javascript; charset=utf-8",
    },
];

/// Content hash (first 16 hex digits of SHA-256) of each asset, in the order of [`ASSETS`].
static HASHES: LazyLock<Vec<String>> =
    LazyLock::new(|| ASSETS.iter().map(|a| hex::encode(Sha256::digest(a.bytes)).chars().take(16).collect()).collect());

/// The URL of an asset: `/assets/<hash>/<name>` (`/assets/missing/<name>` for an unknown name,
/// which answers 404).
pub fn url(name: &str) -> String {
    let hash = ASSETS.iter().position(|a| a.name == name).and_then(|i| HASHES.get(i)).map_or("missing", String::as_str);
    format!("/assets/{hash}/{name}")
}

/// The asset URLs every page links.
#[derive(Debug)]
pub struct AssetUrls {
    /// The stylesheet.
    pub css: String,
    /// hoheit's script.
    pub js: String,
    /// htmx.
    pub htmx: String,
    /// The SSE extension.
    pub sse: String,
}

/// Computed once.
pub static URLS: LazyLock<AssetUrls> =
    LazyLock::new(|| AssetUrls { css: url(STYLESHEET), js: url(SCRIPT), htmx: url(HTMX), sse: url(HTMX_SSE) });

/// `GET /assets/{hash}/{name}`.
pub(crate) async fn serve(Path((hash, name)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let Some((asset, current)) = ASSETS.iter().zip(HASHES.iter()).find(|(a, _)| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"{current}\"");
    let cache = if hash == *current { "public, max-age=31536000, immutable" } else { "no-cache" };
    let mut response = if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(',')
            .map(str::trim)
            .any(|tag| tag == etag || tag == "*" || tag.strip_prefix("W/") == Some(etag.as_str()))
    }) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, asset.content_type)], asset.bytes).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    response
}
