//! # hoheit-web — the browser UI (a driving adapter)
//!
//! Server-rendered HTML pages for the people who use hoheit (recruiters, DPOs, admins), next to
//! the JSON API: compiled askama templates (escaping by default), progressively enhanced with
//! htmx served from the binary ([`assets`]), German first and English second ([`i18n`]). It
//! depends on `hoheit-domain` only (use cases and ports), never on persistence or 360Dialog:
//! the domain decides every rule, the pages only ask it. `apps/server` mounts [`router`] under
//! `/` (the JSON API stays under `/api/v1`).
//!
//! Every response carries the security headers of [`security`] (the CSP of
//! `shared/design/UI.md`, `nosniff`, `no-referrer`, `frame-ancestors 'none'`; pages are
//! `Cache-Control: no-store`). docs/ui.md describes pages, headers, i18n and how the tests run
//! (HTML tests with `scraper`, browser journeys with chromium + chromedriver via the `browser`
//! feature's [`testing`] harness).

pub mod assets;
pub mod i18n;
pub mod security;
#[cfg(feature = "browser")]
pub mod testing;

mod pages;

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};

pub use i18n::{Lang, Messages, Zone};

/// The UI's settings (from the server's `[web]` configuration).
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// The language before a person chose one.
    pub default_language: Lang,
    /// The time zone dates are shown in.
    pub time_zone: Zone,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings { default_language: Lang::De, time_zone: Zone::berlin() }
    }
}

/// What the pages need: settings (and, as the identity pages arrive, the domain's use cases).
#[derive(Debug, Clone)]
pub struct WebState {
    settings: Arc<WebSettings>,
}

impl WebState {
    /// A state from settings.
    pub fn new(settings: WebSettings) -> WebState {
        WebState { settings: Arc::new(settings) }
    }

    /// The settings.
    pub fn settings(&self) -> &WebSettings {
        &self.settings
    }
}

/// The UI's routes, with their security headers, ready to be merged into the server's router.
/// It has a fallback (the 404 page), so it must be the only merged router with one.
pub fn router<S>(state: WebState) -> Router<S> {
    Router::new()
        .route("/", get(pages::welcome))
        .route("/language", post(pages::set_language))
        .route("/assets/{hash}/{name}", get(assets::serve))
        .fallback(pages::not_found)
        .layer(middleware::from_fn(security::headers))
        .with_state(state)
}
