//! The pages without a browser: the router called with `tower::ServiceExt::oneshot`, the HTML
//! parsed with `scraper`; structure, headers, language, escaping.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hoheit_web::{Lang, WebSettings, WebState, Zone};
use scraper::{Html, Selector};
use tower::ServiceExt as _;

struct Page {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Page {
    fn html(&self) -> Html {
        Html::parse_document(&self.body)
    }
    fn select(&self, css: &str) -> Vec<String> {
        let html = self.html();
        let sel = Selector::parse(css).unwrap();
        html.select(&sel).map(|e| e.text().collect::<String>().trim().to_owned()).collect()
    }
    fn attr(&self, css: &str, name: &str) -> Option<String> {
        let html = self.html();
        let sel = Selector::parse(css).unwrap();
        html.select(&sel).next().and_then(|e| e.value().attr(name)).map(str::to_owned)
    }
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or_default()
    }
}

fn app() -> Router {
    hoheit_web::router(WebState::new(WebSettings::default()))
}

async fn send(app: Router, req: Request<Body>) -> Page {
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), 4 << 20).await.unwrap();
    Page { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

async fn get(path: &str) -> Page {
    send(app(), Request::get(path).body(Body::empty()).unwrap()).await
}

async fn get_with_cookie(path: &str, cookie: &str) -> Page {
    send(app(), Request::get(path).header(header::COOKIE, cookie).body(Body::empty()).unwrap()).await
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; \
                   frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

fn assert_security_headers(page: &Page, what: &str) {
    assert_eq!(page.header("content-security-policy"), CSP, "{what}");
    assert_eq!(page.header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(page.header("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(page.header("x-frame-options"), "DENY", "{what}");
}

#[tokio::test]
async fn the_layout_has_landmarks_skip_link_and_german_by_default() {
    let page = get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header("content-type").starts_with("text/html"), "{}", page.header("content-type"));
    assert_eq!(page.attr("html", "lang").as_deref(), Some("de"));
    // the skip link is the first focusable element and points at the main landmark
    assert_eq!(page.attr("body > a:first-child", "href").as_deref(), Some("#main"));
    assert_eq!(page.select("a.skip-link"), ["Zum Inhalt springen"]);
    assert_eq!(page.select("main#main").len(), 1);
    assert_eq!(page.select("header").len(), 1);
    assert_eq!(page.select("footer").len(), 1);
    assert_eq!(page.select("h1"), ["Willkommen bei hoheit"]);
    assert!(page.select("title")[0].starts_with("Willkommen bei hoheit"));
    // viewport for narrow screens
    assert!(page.attr("meta[name=viewport]", "content").unwrap().contains("width=device-width"));
}

#[tokio::test]
async fn htmx_is_configured_without_eval_or_inline_styles_and_served_locally() {
    let page = get("/").await;
    let config: serde_json::Value =
        serde_json::from_str(&page.attr("meta[name=htmx-config]", "content").unwrap()).unwrap();
    assert_eq!(config["allowEval"], false);
    assert_eq!(config["includeIndicatorStyles"], false);
    assert_eq!(config["allowScriptTags"], false);
    let html = page.html();
    let scripts: Vec<String> = html
        .select(&Selector::parse("script").unwrap())
        .map(|s| {
            assert_eq!(s.text().collect::<String>().trim(), "", "no inline script");
            s.value().attr("src").unwrap().to_owned()
        })
        .collect();
    assert_eq!(scripts.len(), 3);
    assert!(scripts.iter().all(|s| s.starts_with("/assets/")), "{scripts:?}");
    assert!(scripts[0].ends_with("/htmx-2.0.11.min.js"));
    assert!(scripts[1].ends_with("/htmx-ext-sse-2.2.4.min.js"));
    // hoheit's own script (the session warnings), served like the others
    assert!(scripts[2].ends_with("/hoheit.js"));
    // no inline style anywhere (the CSP has no 'unsafe-inline')
    assert_eq!(html.select(&Selector::parse("[style], style").unwrap()).count(), 0);
    // every referenced asset is served, with a long cache, and its ETag answers 304
    let css = page.attr("link[rel=stylesheet]", "href").unwrap();
    for url in scripts.iter().chain([&css]) {
        let asset = get(url).await;
        assert_eq!(asset.status, StatusCode::OK, "{url}");
        assert_eq!(asset.header("cache-control"), "public, max-age=31536000, immutable", "{url}");
        assert_security_headers(&asset, url);
        let etag = asset.header("etag").to_owned();
        assert!(etag.starts_with('"'), "{etag}");
        let again =
            send(app(), Request::get(url).header(header::IF_NONE_MATCH, &etag).body(Body::empty()).unwrap()).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{url}");
        assert!(again.body.is_empty());
    }
    assert!(get(&css).await.header("content-type").starts_with("text/css"));
    assert!(get(&scripts[0]).await.header("content-type").starts_with("text/javascript"));
}

#[tokio::test]
async fn assets_with_a_stale_hash_are_served_without_the_long_cache_and_unknown_ones_are_404() {
    let stale = get("/assets/0000000000000000/hoheit.css").await;
    assert_eq!(stale.status, StatusCode::OK);
    assert_eq!(stale.header("cache-control"), "no-cache");
    assert_eq!(get("/assets/0000000000000000/axe-core-4.14.1.min.js").await.status, StatusCode::NOT_FOUND, "test-only");
    assert_eq!(get("/assets/x/../../Cargo.toml").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_page_has_the_security_headers_and_no_store() {
    for path in ["/", "/no-such-page"] {
        let page = get(path).await;
        assert_security_headers(&page, path);
        assert_eq!(page.header("cache-control"), "no-store", "{path}");
    }
    let missing = get("/no-such-page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.select("h1"), ["Seite nicht gefunden"]);
}

#[tokio::test]
async fn the_language_follows_the_persons_choice() {
    let page = get_with_cookie("/", "hoheit_lang=en").await;
    assert_eq!(page.attr("html", "lang").as_deref(), Some("en"));
    assert_eq!(page.select("h1"), ["Welcome to hoheit"]);
    assert_eq!(page.select("a.skip-link"), ["Skip to content"]);
    // an unknown choice falls back to German
    assert_eq!(get_with_cookie("/", "hoheit_lang=xx").await.attr("html", "lang").as_deref(), Some("de"));
    // the switch offers both languages, each labelled in its own language, the current one pressed
    let page = get("/").await;
    assert_eq!(page.select(".lang-switch button"), ["Deutsch", "English"]);
    assert_eq!(page.attr(".lang-switch button[value=en]", "lang").as_deref(), Some("en"));
    assert_eq!(page.attr(".lang-switch button[value=de]", "aria-pressed").as_deref(), Some("true"));
    assert_eq!(page.attr(".lang-switch form, form.lang-switch", "method").as_deref(), Some("post"));
}

#[tokio::test]
async fn an_english_default_is_configurable() {
    let app = hoheit_web::router(WebState::new(WebSettings {
        default_language: Lang::En,
        time_zone: Zone::berlin(),
        ..WebSettings::default()
    }));
    let page = send(app, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(page.attr("html", "lang").as_deref(), Some("en"));
}

async fn post_language(body: &str, extra: &[(&str, &str)]) -> Page {
    let mut req = Request::post("/language").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    send(app(), req.body(Body::from(body.to_owned())).unwrap()).await
}

#[tokio::test]
async fn switching_the_language_sets_a_cookie_and_returns_to_the_page() {
    let res = post_language("lang=en&next=%2Fsessions%3Fa%3D1", &[("sec-fetch-site", "same-origin")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.header("location"), "/sessions?a=1");
    let cookie = res.header("set-cookie");
    assert!(cookie.starts_with("hoheit_lang=en;"), "{cookie}");
    for attr in ["Path=/", "SameSite=Lax", "HttpOnly", "Max-Age=31536000"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    // open redirects are refused: another host becomes the start page
    for next in ["https%3A%2F%2Fevil.example%2F", "%2F%2Fevil.example", "%2F%5Cevil.example"] {
        let res = post_language(&format!("lang=de&next={next}"), &[("sec-fetch-site", "same-origin")]).await;
        assert_eq!(res.header("location"), "/", "{next}");
    }
}

#[tokio::test]
async fn a_cross_site_language_switch_is_refused() {
    let res = post_language("lang=en&next=%2F", &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.header("set-cookie").is_empty());
    assert_eq!(res.select("h1"), ["Anfrage abgelehnt"]);
    let res =
        post_language("lang=en&next=%2F", &[("origin", "https://evil.example"), ("host", "hoheit.example")]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res =
        post_language("lang=en&next=%2F", &[("origin", "https://hoheit.example"), ("host", "hoheit.example")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn reflected_input_is_escaped() {
    // the page's own path and query are reflected into the language switch's hidden field
    let page = get("/?a='1'&b=2").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.attr("input[name=next]", "value").as_deref(), Some("/?a='1'&b=2"));
    assert!(
        page.body.contains("value=\"/?a=&#39;1&#39;&#38;b=2\""),
        "escaped in the attribute: {}",
        page.body.lines().find(|l| l.contains("name=\"next\"")).unwrap_or_default()
    );
    // the 404 page does not reflect the path at all
    let page = get("/%22%3E%3Cb%3Ex").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.body.contains("%3Cb%3E") && !page.body.contains("<b>"));
}
