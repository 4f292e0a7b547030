//! The browser test harness (feature `browser`): Debian's `chromium` driven by its matching
//! `chromedriver` over WebDriver ([`fantoccini`], plain HTTP to the local driver, so no TLS
//! stack), headless with the flags of `shared/design/UI.md`. It saves screenshots under
//! `target/ui-shots/` and runs the vendored axe-core (WCAG 2.1 A/AA tags), failing on serious or
//! critical findings.
//!
//! Without chromium or chromedriver, [`Browser::start`] returns `Ok(None)` after printing
//! "skipped: ..." so the test passes locally; under `CI=true` a missing browser is an error.
//! `HOHEIT_CHROMIUM` and `HOHEIT_CHROMEDRIVER` override the binaries' paths.
#![allow(clippy::print_stderr)] // the harness reports skips and artefact paths on stderr

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use serde_json::{Value, json};

/// axe-core, vendored for the tests only (`assets/VENDORED.md`).
pub const AXE_CORE: &str = include_str!("../assets/test/axe-core-4.14.1.min.js");

/// The chromium flags of `shared/design/UI.md`.
pub const CHROMIUM_FLAGS: [&str; 5] =
    ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=de-DE"];

/// How long to wait for an element.
pub const WAIT: Duration = Duration::from_secs(15);

/// chromedriver's pass-through to the Chrome DevTools Protocol:
/// `Emulation.setFocusEmulationEnabled`, so the page behaves as the focused window.
#[derive(Debug)]
struct FocusEmulation;

impl fantoccini::wd::WebDriverCompatibleCommand for FocusEmulation {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/goog/cdp/execute", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({"cmd": "Emulation.setFocusEmulationEnabled", "params": {"enabled": true}});
        (http::Method::POST, Some(body.to_string()))
    }
}

/// A running headless chromium session (the driver is killed when this is dropped).
#[derive(Debug)]
pub struct Browser {
    client: Client,
    driver: tokio::process::Child,
    profile: PathBuf,
    shots: PathBuf,
    journey: String,
    step: u32,
}

/// Whether this run is CI (`CI=true`), where a missing browser is a failure.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Finds a program: the environment override, else the first match on `PATH`.
fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env).map(PathBuf::from).filter(|p| p.is_file()) {
        return Some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).flat_map(|dir| names.iter().map(move |n| dir.join(n))).find(|p| p.is_file())
}

/// `target/ui-shots/` of the workspace (or of `CARGO_TARGET_DIR`).
pub fn shots_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir).join("ui-shots");
    }
    let start = std::env::current_dir().unwrap_or_default();
    let root = start.ancestors().find(|d| d.join("Cargo.lock").is_file()).map_or(start.clone(), Path::to_path_buf);
    root.join("target").join("ui-shots")
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| format!("no free port: {e}"))
}

impl Browser {
    /// Starts chromedriver on a free port and a headless chromium session for the journey
    /// `journey` (screenshots are named after it). `Ok(None)`: no browser here (not CI), the
    /// caller returns early; the skip is printed.
    pub async fn start(journey: &str) -> Result<Option<Browser>, String> {
        let chromium = find_program("HOHEIT_CHROMIUM", &["chromium", "chromium-browser"]);
        let driver = find_program("HOHEIT_CHROMEDRIVER", &["chromedriver"]);
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            let msg = format!(
                "skipped: browser journey {journey:?} needs chromium and chromedriver (apt-get install -y chromium chromium-driver)"
            );
            if in_ci() {
                return Err(format!("{msg}; CI=true makes a missing browser a failure"));
            }
            eprintln!("{msg}");
            return Ok(None);
        };
        let port = free_port()?;
        let mut child = tokio::process::Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", driver.display()))?;
        // wait for the driver to listen
        let mut ready = false;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if !ready {
            let _ = child.kill().await;
            return Err(format!("chromedriver did not listen on port {port} within 10 s"));
        }
        let profile = std::env::temp_dir().join(format!("hoheit-chromium-{}-{port}", std::process::id()));
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| (*s).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.display().to_string(),
                "args": args,
                "prefs": {"intl.accept_languages": "de-DE,de"},
            },
        });
        let caps = if let Value::Object(map) = caps { map } else { serde_json::Map::new() };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client =
            match ClientBuilder::new(connector).capabilities(caps).connect(&format!("http://127.0.0.1:{port}")).await {
                Ok(c) => c,
                Err(e) => {
                    let _ = child.kill().await;
                    return Err(format!("cannot start a chromium session: {e}"));
                }
            };
        // headless chromium's window has no system focus, so `:focus` styles (what a keyboard
        // user sees) would never apply: emulate a focused page through chromedriver's CDP
        if let Err(e) = client.issue_cmd(FocusEmulation).await {
            let _ = child.kill().await;
            return Err(format!("cannot emulate focus: {e}"));
        }
        let shots = shots_dir();
        std::fs::create_dir_all(&shots).map_err(|e| format!("cannot create {}: {e}", shots.display()))?;
        Ok(Some(Browser { client, driver: child, profile, shots, journey: journey.to_owned(), step: 0 }))
    }

    /// The WebDriver client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens a URL.
    pub async fn goto(&self, url: &str) -> Result<(), String> {
        self.client.goto(url).await.map_err(|e| format!("goto {url}: {e}"))
    }

    /// Waits (up to [`WAIT`]) for an element matching a CSS selector.
    pub async fn wait_for(&self, css: &str) -> Result<Element, String> {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .map_err(|e| format!("no element {css:?} within {WAIT:?}: {e}"))
    }

    /// Types into the field matching `css` (after clearing it).
    pub async fn fill(&self, css: &str, text: &str) -> Result<(), String> {
        let field = self.wait_for(css).await?;
        field.clear().await.map_err(|e| format!("clear {css}: {e}"))?;
        field.send_keys(text).await.map_err(|e| format!("type into {css}: {e}"))
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) -> Result<(), String> {
        self.wait_for(css).await?.click().await.map_err(|e| format!("click {css}: {e}"))
    }

    /// The text of the element matching `css`.
    pub async fn text(&self, css: &str) -> Result<String, String> {
        self.wait_for(css).await?.text().await.map_err(|e| format!("text of {css}: {e}"))
    }

    /// An attribute of the element matching `css`.
    pub async fn attr(&self, css: &str, name: &str) -> Result<Option<String>, String> {
        self.wait_for(css).await?.attr(name).await.map_err(|e| format!("attribute {name} of {css}: {e}"))
    }

    /// Runs a script and returns its value.
    pub async fn eval(&self, script: &str) -> Result<Value, String> {
        self.client.execute(script, vec![]).await.map_err(|e| format!("script failed: {e}"))
    }

    /// Saves a screenshot `target/ui-shots/<journey>-<nn>-<name>.png` and returns its path.
    pub async fn screenshot(&mut self, name: &str) -> Result<PathBuf, String> {
        self.step += 1;
        let png = self.client.screenshot().await.map_err(|e| format!("screenshot: {e}"))?;
        let path = self.shots.join(format!("{}-{:02}-{name}.png", self.journey, self.step));
        std::fs::write(&path, png).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    }

    /// Saves a screenshot, then runs axe-core (WCAG 2.1 A and AA) on the current page: an error
    /// lists every serious or critical violation (the full result is written next to the
    /// screenshot as JSON).
    pub async fn check_page(&mut self, name: &str) -> Result<(), String> {
        let shot = self.screenshot(name).await?;
        self.client.execute(AXE_CORE, vec![]).await.map_err(|e| format!("cannot inject axe-core: {e}"))?;
        let script = r"
            const done = arguments[arguments.length - 1];
            axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
              .then(r => done({ ok: true, violations: r.violations.map(v => ({
                  id: v.id, impact: v.impact, help: v.help,
                  targets: v.nodes.map(n => n.target.join(' ')) })) }))
              .catch(e => done({ ok: false, error: String(e) }));";
        let result =
            self.client.execute_async(script, vec![]).await.map_err(|e| format!("axe-core did not run: {e}"))?;
        let report = shot.with_extension("axe.json");
        let _ = std::fs::write(&report, serde_json::to_vec_pretty(&result).unwrap_or_default());
        if result.get("ok") != Some(&Value::Bool(true)) {
            return Err(format!("axe-core failed on {name}: {result}"));
        }
        let empty = Vec::new();
        let violations = result.get("violations").and_then(Value::as_array).unwrap_or(&empty);
        let bad: Vec<&Value> = violations
            .iter()
            .filter(|v| matches!(v.get("impact").and_then(Value::as_str), Some("serious" | "critical")))
            .collect();
        if bad.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "axe-core: {} serious/critical WCAG 2.1 A/AA violation(s) on {name} (see {}): {}",
                bad.len(),
                report.display(),
                serde_json::to_string(&bad).unwrap_or_default()
            ))
        }
    }

    /// Prints the current page to PDF as Chromium's "print / save as PDF" does (the page's print
    /// stylesheet applies), saves it as `target/ui-shots/<journey>-<nn>-<name>.pdf`, renders its
    /// first page to `...-<name>.pdf.png` with `pdftoppm` and returns the PDF's text
    /// (`pdftotext`), for the test to check what is on paper. Needs poppler-utils: without it,
    /// `Ok(None)` after printing "skipped: ...", except under `CI=true`.
    pub async fn print_page(&mut self, name: &str) -> Result<Option<String>, String> {
        if find_program("HOHEIT_PDFTOPPM", &["pdftoppm"]).is_none() && !in_ci() {
            eprintln!("skipped: the print check needs pdftoppm and pdftotext (apt-get install -y poppler-utils)");
            return Ok(None);
        }
        self.step += 1;
        let pdf = self
            .client
            .print(fantoccini::wd::PrintConfiguration::default())
            .await
            .map_err(|e| format!("print to PDF: {e}"))?;
        let path = self.shots.join(format!("{}-{:02}-{name}.pdf", self.journey, self.step));
        std::fs::write(&path, &pdf).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let run = |program: &str, args: &[&std::ffi::OsStr]| {
            std::process::Command::new(program)
                .args(args)
                .output()
                .map_err(|e| format!("cannot run {program} (apt-get install -y poppler-utils): {e}"))
                .and_then(|o| {
                    if o.status.success() {
                        Ok(o.stdout)
                    } else {
                        Err(format!("{program} failed: {}", String::from_utf8_lossy(&o.stderr)))
                    }
                })
        };
        let png = path.with_extension("pdf.page");
        run(
            "pdftoppm",
            &["-png".as_ref(), "-r".as_ref(), "60".as_ref(), "-singlefile".as_ref(), path.as_os_str(), png.as_os_str()],
        )?;
        let text = run("pdftotext", &["-layout".as_ref(), path.as_os_str(), "-".as_ref()])?;
        Ok(Some(String::from_utf8_lossy(&text).into_owned()))
    }

    /// Ends the session and the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
