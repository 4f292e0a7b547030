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
pub mod desk;
pub mod i18n;
pub mod live;
pub mod security;
#[cfg(feature = "browser")]
pub mod testing;

mod console;
mod identity;
mod inbox;
mod inbox_list;
mod pages;
mod people;

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};
use hoheit_domain::usecases::Hoheit;

pub use i18n::{Lang, Messages, Zone};

/// The UI's settings (from the server's `[web]` configuration).
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// The language before a person chose one.
    pub default_language: Lang,
    /// The time zone dates are shown in.
    pub time_zone: Zone,
    /// The public origin (`https://hoheit.example.com`) that state-changing requests must come
    /// from, and the base of the invitation links shown; unset, the request's `Host` is compared
    /// and links are relative.
    pub public_origin: Option<String>,
    /// How long before a session's idle or absolute time-out the page warns (and offers
    /// "extend" for the idle one).
    pub session_warning: time::Duration,
    /// The largest document the composer sends (the server's media limit).
    pub max_document_bytes: u64,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            default_language: Lang::De,
            time_zone: Zone::berlin(),
            public_origin: None,
            session_warning: time::Duration::minutes(5),
            max_document_bytes: 16 * 1024 * 1024,
        }
    }
}

/// What the pages need: settings and the domain's use cases.
#[derive(Clone)]
pub struct WebState {
    settings: Arc<WebSettings>,
    app: Option<Hoheit>,
    desk: Option<Arc<dyn desk::Desk>>,
    live: Option<Arc<dyn live::LiveFeed>>,
    streams: live::StreamCount,
}

impl std::fmt::Debug for WebState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebState").field("settings", &self.settings).field("app", &self.app.is_some()).finish()
    }
}

impl WebState {
    /// A state from settings, without use cases (the public pages only; sign-in answers that it
    /// is not set up).
    pub fn new(settings: WebSettings) -> WebState {
        WebState {
            settings: Arc::new(settings),
            app: None,
            desk: None,
            live: None,
            streams: live::StreamCount::default(),
        }
    }

    /// With the domain's use cases (accounts, sessions).
    #[must_use]
    pub fn with_app(mut self, app: Hoheit) -> WebState {
        self.app = Some(app);
        self
    }

    /// With the audit desk (the console's audit log, checkpoints and export downloads).
    #[must_use]
    pub fn with_desk(mut self, desk: Arc<dyn desk::Desk>) -> WebState {
        self.desk = Some(desk);
        self
    }

    /// With the source of live updates (the inbox's SSE stream, [`live`]).
    #[must_use]
    pub fn with_live(mut self, live: Arc<dyn live::LiveFeed>) -> WebState {
        self.live = Some(live);
        self
    }

    /// The settings.
    pub fn settings(&self) -> &WebSettings {
        &self.settings
    }

    pub(crate) fn app(&self) -> Option<&Hoheit> {
        self.app.as_ref()
    }

    pub(crate) fn desk(&self) -> Option<&dyn desk::Desk> {
        self.desk.as_deref()
    }

    pub(crate) fn live(&self) -> Option<&dyn live::LiveFeed> {
        self.live.as_deref()
    }
}

/// The UI's routes, with their security headers, ready to be merged into the server's router.
/// It has a fallback (the 404 page), so it must be the only merged router with one.
pub fn router<S>(state: WebState) -> Router<S> {
    Router::new()
        .route("/", get(identity::start))
        .route("/language", post(pages::set_language))
        .route("/signin", get(identity::signin_page).post(identity::signin))
        .route("/signin/code", get(identity::code_form).post(identity::code_submit))
        .route("/signin/recovery", get(identity::recovery_form).post(identity::recovery_submit))
        .route("/invitation/{secret}", get(identity::accept_page).post(identity::accept))
        .route("/setup/totp", get(identity::totp_page).post(identity::totp_confirm))
        .route("/setup/totp/qr.svg", get(identity::totp_qr))
        .route("/sessions", get(identity::sessions))
        .route("/password", get(identity::password_page).post(identity::change_password))
        .route("/sessions/extend", post(identity::extend))
        .route("/sessions/end-all", post(identity::end_all))
        .route("/sessions/{id}/end", post(identity::end_session))
        .route("/signout", post(identity::signout))
        .route("/inbox", get(inbox_list::list))
        .route("/inbox/live", get(live::stream))
        .route("/inbox/new", get(inbox::new_candidate).post(inbox::add_candidate))
        .route("/inbox/{id}", get(inbox::thread))
        .route("/inbox/{id}/assignment", post(inbox_list::assign))
        .route("/inbox/{id}/consent", post(inbox::record_consent))
        .route("/inbox/{id}/objection", post(inbox::record_objection))
        .route("/inbox/{id}/end", post(inbox::end_process))
        .route("/inbox/{id}/holds", post(inbox::set_hold))
        .route("/inbox/{id}/holds/{hold}/release", post(inbox::release_hold))
        .route("/inbox/{id}/media/{media}", get(inbox::media))
        .route("/inbox/{id}/text", post(inbox::send_text))
        .route(
            "/inbox/{id}/document",
            // the multipart body, read up to this much so that a document over the media limit
            // is answered in words (see `inbox::document_body_limit`)
            post(inbox::send_document).layer(axum::extract::DefaultBodyLimit::max(inbox::document_body_limit(
                state.settings().max_document_bytes,
            ))),
        )
        .route("/inbox/{id}/template", post(inbox::send_template))
        .route("/inbox/{id}/consent-request", post(inbox::consent_request))
        .route("/console", get(console::overview))
        .route("/console/reviews", get(console::reviews))
        .route("/console/reviews/{candidate}/{review}", get(console::review))
        .route("/console/reviews/{candidate}/{review}/decision", post(console::decide))
        .route("/console/channels", get(console::channels_page).post(console::register_channel))
        .route("/console/channels/{id}/approval", post(console::approve_channel))
        .route("/console/channels/{id}/revocation", post(console::revoke_channel))
        .route("/console/requests", get(console::requests_page).post(console::open_request))
        .route("/console/requests/{id}", get(console::request_page))
        .route("/console/requests/{id}/extension", post(console::extend_request))
        .route("/console/requests/{id}/answer", post(console::answer_request))
        .route("/console/requests/{id}/export", post(console::export_request))
        .route("/console/requests/{id}/closure", post(console::close_request))
        .route("/console/audit", get(console::audit_page))
        .route("/console/audit/checkpoint", post(console::audit_checkpoint))
        .route("/console/audit/public-key.pem", get(console::audit_public_key))
        .route("/console/legal-texts", get(console::legal_page).post(console::legal_publish))
        .route("/console/legal-texts/check", post(console::legal_check))
        .route("/console/retention", get(console::retention_page))
        .route("/console/retention/policy", post(console::retention_policy))
        .route("/console/retention/run", post(console::retention_run))
        .route("/console/records", get(console::record_page))
        .route("/console/records/privacy-notice", get(console::privacy_section))
        .route("/staff", get(identity::staff))
        .route("/staff/invite", post(identity::invite))
        .route("/staff/{id}/role", post(people::change_role))
        .route("/staff/{id}/disable", post(people::disable))
        .route("/staff/{id}/second-factor-reset", post(people::reset_second_factor))
        .route("/staff/tokens/{id}/revocation", post(people::revoke_token))
        .route("/assets/{hash}/{name}", get(assets::serve))
        .fallback(pages::not_found)
        .layer(middleware::from_fn(security::headers))
        .with_state(state)
}
