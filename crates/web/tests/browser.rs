//! Browser check of the layout alone (the identity journey is in apps/server/tests/browser.rs):
//! headless chromium loads the pages under the real CSP, htmx starts with its safe
//! configuration, the language switch works, axe-core finds no serious or critical WCAG 2.1
//! A/AA violation; screenshots under target/ui-shots/. Skipped (with a message) without chromium
//! unless CI=true.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use hoheit_web::testing::Browser;
use hoheit_web::{WebSettings, WebState};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layout_in_a_real_browser() -> Result<(), String> {
    let Some(mut browser) = Browser::start("layout").await? else { return Ok(()) };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let base = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let app = hoheit_web::router::<()>(WebState::new(WebSettings::default()));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let result = journey(&mut browser, &base).await;
    browser.close().await;
    server.abort();
    result
}

async fn journey(b: &mut Browser, base: &str) -> Result<(), String> {
    b.goto(&format!("{base}/")).await?;
    assert_eq!(b.text("h1").await?, "Willkommen bei hoheit");
    assert_eq!(b.attr("html", "lang").await?.as_deref(), Some("de"));
    // htmx ran under the CSP (script-src 'self') with eval off
    let config =
        b.eval("return window.htmx ? [htmx.config.allowEval, htmx.config.includeIndicatorStyles] : null").await?;
    assert_eq!(config, serde_json::json!([false, false]), "htmx loaded with the safe configuration");
    // the stylesheet applied (no CSP block): the skip link is moved off-screen until focused
    let top = b.eval("return getComputedStyle(document.querySelector('.skip-link')).top").await?;
    assert_eq!(top, serde_json::json!("-48px"));
    b.check_page("welcome-de").await?;

    // the skip link is the first Tab stop and becomes visible on focus
    b.eval("document.querySelector('.skip-link').focus(); return null").await?;
    let top = b.eval("return getComputedStyle(document.querySelector('.skip-link')).top").await?;
    assert_eq!(top, serde_json::json!("8px"));

    // switch to English and back
    b.click(".lang-switch button[value=en]").await?;
    if b.wait_for("html[lang=en]").await.is_err() {
        return Err(b.client().source().await.unwrap_or_default());
    }
    assert_eq!(b.text("h1").await?, "Welcome to hoheit");
    b.check_page("welcome-en").await?;
    b.goto(&format!("{base}/no-such-page")).await?;
    assert_eq!(b.text("h1").await?, "Page not found");
    b.check_page("not-found-en").await?;
    b.click(".lang-switch button[value=de]").await?;
    b.wait_for("html[lang=de]").await?;

    // narrow screens (320 px): nothing scrolls sideways
    b.client().set_window_size(320, 700).await.map_err(|e| e.to_string())?;
    b.goto(&format!("{base}/")).await?;
    let overflow = b.eval("return document.documentElement.scrollWidth > document.documentElement.clientWidth").await?;
    assert_eq!(overflow, serde_json::json!(false), "no horizontal scrolling at 320 px");
    b.check_page("welcome-320px").await?;
    Ok(())
}
