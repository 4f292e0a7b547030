//! The pages and the layout every page shares.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::WebState;
use crate::assets::{AssetUrls, URLS};
use crate::i18n::{Lang, Messages};
use crate::security::same_origin;

/// The cookie that keeps the chosen language (not personal data; readable by the server only).
pub(crate) const LANG_COOKIE: &str = "hoheit_lang";

/// What the layout (`base.html`) needs on every page.
#[derive(Debug)]
pub(crate) struct Layout {
    /// The page's language.
    pub lang: Lang,
    /// Its texts.
    pub t: &'static Messages,
    /// Stylesheet and script URLs.
    pub assets: &'static AssetUrls,
    /// The page's own path and query (where the language switch returns to).
    pub path: String,
    /// The session's CSRF token, when signed in.
    pub csrf: Option<String>,
    /// The languages the switch offers.
    pub languages: [Lang; 2],
    /// The navigation of a signed-in person.
    pub nav: Option<Nav>,
}

/// The navigation of a signed-in person.
#[derive(Debug)]
pub(crate) struct Nav {
    /// Admins see the staff page.
    pub is_admin: bool,
    /// The role reads candidates: the inbox is offered.
    pub inbox: bool,
    /// The role decides objection reviews: the console is offered.
    pub console: bool,
    /// Signed in with a local password (the password page is offered).
    pub local_password: bool,
    /// The role's name.
    pub role: &'static str,
    /// When the session ends if idle (local time).
    pub idle_until: String,
    /// When it ends at the latest (local time).
    pub expires: String,
    /// Seconds until the idle warning applies (`hoheit.js` shows it then; 0: at once).
    pub idle_warn_in: i64,
    /// Seconds until the absolute time-out's warning applies.
    pub absolute_warn_in: i64,
}

impl Layout {
    pub(crate) fn new(lang: Lang, path: String) -> Layout {
        Layout {
            lang,
            t: lang.messages(),
            assets: &URLS,
            path: safe_next(&path),
            csrf: None,
            languages: Lang::ALL,
            nav: None,
        }
    }
}

/// The language of a request: the person's choice (cookie), else the configured default.
pub(crate) fn language(state: &WebState, headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE).and_then(|v| Lang::parse(&v)).unwrap_or(state.settings().default_language)
}

/// A cookie's value from the `Cookie` headers.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A local path to return to; anything else (another host, `//host`, `/\host`, control
/// characters, overlong) becomes `/`.
pub(crate) fn safe_next(next: &str) -> String {
    let local = next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\");
    if local && next.len() <= 2048 && !next.chars().any(char::is_control) { next.to_owned() } else { "/".to_owned() }
}

#[derive(Template, WebTemplate)]
#[template(path = "welcome.html")]
struct Welcome {
    l: Layout,
}

/// The public start page.
pub(crate) fn welcome_page(state: &WebState, headers: &HeaderMap, path: String) -> Response {
    let lang = language(state, headers);
    Welcome { l: Layout::new(lang, path) }.into_response()
}

#[derive(Template, WebTemplate)]
#[template(path = "message.html")]
struct Message {
    l: Layout,
    title: &'static str,
    text: &'static str,
}

/// A page with a title and one paragraph, with a status.
pub(crate) fn message(
    lang: Lang,
    path: String,
    status: StatusCode,
    title: &'static str,
    text: &'static str,
) -> Response {
    (status, Message { l: Layout::new(lang, path), title, text }).into_response()
}

/// The fallback: 404 page.
pub(crate) async fn not_found(State(state): State<WebState>, req: Request) -> Response {
    let lang = language(&state, req.headers());
    let t = lang.messages();
    message(lang, "/".to_owned(), StatusCode::NOT_FOUND, t.not_found_title, t.not_found_text)
}

/// The language switch's form.
#[derive(Debug, Deserialize)]
pub(crate) struct LanguageForm {
    lang: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    csrf_token: String,
}

/// `POST /language`: remembers the choice (cookie, a year) and returns to the page.
pub(crate) async fn set_language(
    State(state): State<WebState>,
    client: crate::identity::Client,
    Form(form): Form<LanguageForm>,
) -> Response {
    let headers = &client.headers;
    let current = language(&state, headers);
    if !same_origin(headers, state.settings().public_origin.as_deref()) {
        let t = current.messages();
        return message(current, "/".to_owned(), StatusCode::FORBIDDEN, t.forbidden_title, t.forbidden_text);
    }
    let lang = Lang::parse(&form.lang).unwrap_or(current);
    // signed in: the choice is the account's (CSRF checked)
    if let Err(refused) = crate::identity::remember_language(&state, &client, &form.csrf_token, lang).await {
        return refused;
    }
    let mut response = Redirect::to(&safe_next(&form.next)).into_response();
    let cookie = format!("{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly", lang.code());
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(safe_next("/sessions?x=1"), "/sessions?x=1");
        for bad in ["//evil.example", "/\\evil.example", "https://evil.example", "", "evil", "/a\nb"] {
            assert_eq!(safe_next(bad), "/", "{bad:?}");
        }
        assert_eq!(safe_next(&format!("/{}", "a".repeat(3000))), "/");
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("xhoheit_lang=fr; hoheit_lang=en"));
        assert_eq!(cookie(&h, LANG_COOKIE).as_deref(), Some("en"));
        assert_eq!(cookie(&h, "missing"), None);
    }
}
