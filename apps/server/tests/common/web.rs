//! A browser's view of hoheit's pages for HTML tests: a signed-in session (cookie + CSRF token),
//! form posts from hoheit's own origin, and the text of an element by id.

use hoheit_server::harness::{Client, Harness};
use serde_json::{Value, json};

use super::Tenant;

/// A signed-in staff member's browser.
pub struct Session {
    pub http: reqwest::Client,
    pub base: String,
    pub cookie: String,
    pub csrf: String,
}

/// A response as the browser sees it.
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub content_type: String,
    pub disposition: Option<String>,
    pub html: String,
}

impl Session {
    /// An account of `role` that `inviter` (an admin's API client) invites, accepted with a
    /// password; admin and DPO set up TOTP (the code computed from the key the server shows).
    pub async fn invited_by(h: &Harness, inviter: &Client, role: &str, email: &str) -> Self {
        let r = inviter
            .post("/api/v1/staff/invitations", json!({"role": role, "email": email, "display_name": "Dana DSB"}))
            .await;
        assert_eq!(r.status, 201, "{:?}", r.json);
        Self::accept(h, r.str("/invitation").unwrap()).await
    }

    /// An account of `role` invited by the tenant's admin.
    pub async fn staff(h: &Harness, t: &Tenant, role: &str, email: &str) -> Self {
        Self::invited_by(h, &t.admin, role, email).await
    }

    /// Accepts an invitation as an account with a password (and TOTP where the role needs it).
    pub async fn accept(h: &Harness, invitation: &str) -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let call = |path: &str, cookie: Option<&str>, csrf: Option<&str>, body: Value| {
            let mut req = http.post(format!("{}{path}", h.base)).header("origin", &h.base).json(&body);
            if let Some(cookie) = cookie {
                req = req.header("cookie", cookie);
            }
            if let Some(csrf) = csrf {
                req = req.header("x-csrf-token", csrf);
            }
            req.send()
        };
        let cookie_of =
            |r: &reqwest::Response| r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let answer = call(
            "/api/v1/invitations/accept-account",
            None,
            None,
            json!({"invitation": invitation, "password": "Leuchtturm-Insel-Nord-5"}),
        )
        .await
        .unwrap();
        assert_eq!(answer.status(), 201);
        let mut cookie = cookie_of(&answer);
        let mut body: Value = answer.json().await.unwrap();
        if body["stage"] == "enrolment" {
            let code = hoheit_identity::totp_code(
                body["totp"]["secret"].as_str().unwrap(),
                hoheit_domain::ports::Clock::now(h.state.clock.as_ref()),
            )
            .unwrap();
            let answer =
                call("/api/v1/session/totp/confirm", Some(&cookie), body["csrf_token"].as_str(), json!({"code": code}))
                    .await
                    .unwrap();
            assert_eq!(answer.status(), 200);
            cookie = cookie_of(&answer);
            body = answer.json().await.unwrap();
        }
        assert_eq!(body["stage"], "full", "{body}");
        Self { http, base: h.base.clone(), cookie, csrf: body["csrf_token"].as_str().unwrap().to_owned() }
    }

    pub async fn get(&self, path: &str) -> Page {
        let r = self.http.get(format!("{}{path}", self.base)).header("cookie", &self.cookie).send().await.unwrap();
        Self::page(r).await
    }

    /// A form post from hoheit's own origin; `csrf: false` leaves the token out.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)], csrf: bool) -> Page {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        if csrf {
            form.push(("csrf_token", &self.csrf));
        }
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("origin", &self.base)
            .form(&form)
            .send()
            .await
            .unwrap();
        Self::page(r).await
    }

    async fn page(r: reqwest::Response) -> Page {
        let header = |name: &str| r.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
        let status = r.status().as_u16();
        let location = header("location");
        let content_type = header("content-type").unwrap_or_default();
        let disposition = header("content-disposition");
        Page { status, location, content_type, disposition, html: r.text().await.unwrap() }
    }
}

/// The text of the element with this id (tags stripped, white space collapsed), if present.
pub fn by_id(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let open_end = html[start..].find('>')? + start + 1;
    let tag_start = html[..start].rfind('<')?;
    let name: String = html[tag_start + 1..].chars().take_while(char::is_ascii_alphanumeric).collect();
    let close = html[open_end..].find(&format!("</{name}>"))? + open_end;
    let mut text = String::new();
    let mut in_tag = false;
    for ch in html[open_end..close].chars() {
        match ch {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// How many audited content reads the tenant's log holds.
pub async fn content_reads(t: &Tenant) -> usize {
    let entries = t.admin.get("/api/v1/audit/entries?limit=10000").await;
    assert_eq!(entries.status, 200, "{:?}", entries.json);
    entries.json.to_string().matches("content.read").count()
}

/// Runs a browser journey on a fresh SQLite hoheit: chromium started (or the skip printed), the
/// journey run, browser and server stopped, then its result asserted.
pub async fn browser_journey(
    name: &str,
    journey: impl AsyncFnOnce(&Harness, &mut hoheit_web::testing::Browser) -> Result<(), String>,
) {
    let Some(mut b) = hoheit_web::testing::Browser::start(name).await.unwrap() else { return };
    let (h, _dir) = super::sqlite().await;
    let result = journey(&h, &mut b).await;
    b.close().await;
    h.stop().await;
    result.unwrap();
}

/// The TOTP code of `secret` (base32 as the set-up page shows it), `offset_steps` periods of 30 s
/// ahead: what the authenticator app shows.
pub fn totp(secret: &str, offset_steps: u64) -> String {
    let key = totp_rs::Secret::Encoded(secret.replace(' ', "")).to_bytes().unwrap();
    let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, key).unwrap();
    #[allow(clippy::disallowed_methods)] // the authenticator app's clock
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    totp.generate(now + 30 * offset_steps)
}

/// `inviter` (an admin's API client) invites a staff member; the invitation page in the browser
/// sets the password (admin and DPO continue with the TOTP set-up).
pub async fn invited_sets_password(
    b: &hoheit_web::testing::Browser,
    base: &str,
    inviter: &Client,
    invitation: Value,
    password: &str,
) -> Result<(), String> {
    let r = inviter.post("/api/v1/staff/invitations", invitation).await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    b.goto(&format!("{base}/invitation/{}", r.str("/invitation").unwrap())).await?;
    b.fill("#password", password).await?;
    b.fill("#password_repeat", password).await?;
    b.click("form[action^='/invitation/'] button[type=submit]").await
}

/// Signs out with the navigation's button and waits for the sign-in form.
pub async fn signs_out(b: &hoheit_web::testing::Browser) -> Result<(), String> {
    b.click("form.signout button").await?;
    b.wait_for("form.signin").await?;
    Ok(())
}

/// Opens the inbox's "add a candidate" form and fills in name and number (not yet sent).
pub async fn fills_new_candidate(b: &hoheit_web::testing::Browser, name: &str, phone: &str) -> Result<(), String> {
    b.click("nav a[href='/inbox']").await?;
    b.click("#add-candidate").await?;
    b.fill("#name", name).await?;
    b.fill("#phone", phone).await
}

/// The TOTP set-up page after an invitation: the code from the key shown, then past the
/// recovery codes to the start page.
pub async fn sets_up_totp(b: &hoheit_web::testing::Browser) -> Result<(), String> {
    let secret = b.text("#totp-secret").await?;
    b.fill("#code", &totp(&secret, 0)).await?;
    b.click("form[action='/setup/totp'] button[type=submit]").await?;
    b.wait_for("#recovery-codes").await?;
    b.click("main a.button").await
}
