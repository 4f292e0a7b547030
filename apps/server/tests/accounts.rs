//! Issue 16 through HTTP: staff accounts and browser sessions. An admin accepts the tenant's
//! invitation as an account (password rules, TOTP set-up, recovery codes), the session cookie's
//! attributes, rotation on every sign-in step (no fixation), CSRF (missing, wrong) and the
//! origin check (cross-site refused), the JSON API by session, invitations of staff, the
//! second-factor step with a single-use recovery code, no enumeration (one answer for an
//! unknown e-mail and a wrong password), throttling with `retry_after`, a disabled account's
//! session refused at once, the last active admin, the audit entries; idle and absolute
//! time-outs with short settings. On SQLite and (with `scripts/test`) PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use hoheit_domain::tenant::Role;
use hoheit_server::harness::{Harness, HarnessOptions};
use serde_json::{Value, json};

scenarios!(browser_accounts_and_sessions: true);

/// A browser: its cookie (set by hand from `Set-Cookie`) and the CSRF token it was given.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
    csrf: Option<String>,
}

struct Answer {
    status: u16,
    json: Value,
    set_cookie: Option<String>,
}

impl Browser {
    fn new(base: &str) -> Self {
        Self { http: reqwest::Client::new(), base: base.to_owned(), cookie: None, csrf: None }
    }

    /// A POST with only these headers (no automatic origin or CSRF token).
    async fn post_with(&mut self, path: &str, body: Option<Value>, headers: &[(&str, &str)]) -> Answer {
        self.send(reqwest::Method::POST, path, body, headers).await
    }

    async fn send(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut req =
            self.http.request(method, format!("{}{path}", self.base)).header("user-agent", "Mozilla/5.0 Firefox/128.0");
        if let Some(cookie) = &self.cookie {
            req = req.header("cookie", format!("__Host-hoheit_session={cookie}"));
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let set_cookie = r.headers().get("set-cookie").map(|v| v.to_str().unwrap().to_owned());
        let text = r.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        if let Some(sc) = &set_cookie {
            let value = sc.split(';').next().unwrap().split_once('=').unwrap().1.to_owned();
            self.cookie = (!value.is_empty()).then_some(value);
        }
        if let Some(csrf) = json.get("csrf_token").and_then(Value::as_str) {
            self.csrf = Some(csrf.to_owned());
        }
        Answer { status, json, set_cookie }
    }

    /// A same-origin state change with the CSRF token.
    async fn post(&mut self, path: &str, body: Value) -> Answer {
        let origin = self.base.clone();
        let csrf = self.csrf.clone().unwrap_or_default();
        self.post_with(path, Some(body), &[("origin", &origin), ("x-csrf-token", &csrf)]).await
    }

    async fn get(&mut self, path: &str) -> Answer {
        self.send(reqwest::Method::GET, path, None, &[]).await
    }
}

fn code_now(h: &Harness, secret: &str) -> String {
    hoheit_identity::totp_code(secret, hoheit_domain::ports::Clock::now(h.state.clock.as_ref())).unwrap()
}

async fn sign_in(b: &mut Browser, tenant: &str, email: &str, password: &str) -> Answer {
    b.post("/api/v1/session/sign-in", json!({"tenant_id": tenant, "email": email, "password": password})).await
}

async fn browser_accounts_and_sessions(h: &Harness) {
    let r = operator_creates_tenant(h, json!({"name": "Konto GmbH"})).await;
    let tenant = r.str("/id").unwrap().to_owned();
    let invitation = r.str("/admin_invitation/invitation").unwrap().to_owned();

    // --- the first admin accepts as an account: password rules, then TOTP set-up
    let mut admin = Browser::new(&h.base);
    let accept = |password: &str| json!({"invitation": invitation, "email": "ada.admin@example.com", "display_name": "Ada Admin", "password": password});
    let r = admin.post("/api/v1/invitations/accept-account", accept("kurz")).await;
    assert_eq!((r.status, r.json["error"]["code"].as_str()), (400, Some("password_too_short")), "{:?}", r.json);
    let r = admin.post("/api/v1/invitations/accept-account", accept("Passwort2026!")).await;
    assert_eq!(r.json["error"]["code"], "password_common", "{:?}", r.json);
    let r = admin.post("/api/v1/invitations/accept-account", accept("ada-admin-secret!!")).await;
    assert_eq!(r.json["error"]["code"], "password_contains_personal_data", "{:?}", r.json);
    // from another site: refused before anything happens
    let evil = [("origin", "https://evil.example")];
    let r = admin.post_with("/api/v1/invitations/accept-account", Some(accept("Tisch-Lampe-Wolke-7")), &evil).await;
    assert_eq!((r.status, r.json["error"]["code"].as_str()), (403, Some("cross_origin")));
    let r = admin.post("/api/v1/invitations/accept-account", accept("Tisch-Lampe-Wolke-7")).await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    assert_eq!(r.json["stage"], "enrolment", "an admin must set up TOTP");
    let cookie = r.set_cookie.clone().unwrap();
    assert!(cookie.starts_with("__Host-hoheit_session="), "{cookie}");
    for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(cookie.contains(attribute), "{attribute} missing in {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    let secret = r.json["totp"]["secret"].as_str().unwrap().to_owned();
    assert!(r.json["totp"]["qr_svg"].as_str().unwrap().contains("<svg"));
    assert!(r.json["totp"]["uri"].as_str().unwrap().starts_with("otpauth://totp/"));
    // used again: single use
    let mut again = Browser::new(&h.base);
    let r = again.post("/api/v1/invitations/accept-account", accept("Tisch-Lampe-Wolke-7")).await;
    assert_eq!((r.status, r.json["error"]["code"].as_str()), (410, Some("invitation_used")), "{:?}", r.json);
    // the enrolment session is not a session for the API
    assert_eq!(admin.get("/api/v1/session").await.status, 401);
    assert_eq!(admin.get("/api/v1/staff").await.status, 401);
    let enrolment_cookie = admin.cookie.clone().unwrap();
    let r = admin.post("/api/v1/session/totp/confirm", json!({"code": "000000"})).await;
    assert_eq!(r.json["error"]["code"], "second_factor_invalid", "{:?}", r.json);
    let r = admin.post("/api/v1/session/totp/confirm", json!({"code": code_now(h, &secret)})).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    assert_eq!(r.json["stage"], "full");
    let recovery: Vec<String> =
        r.json["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    assert_eq!(recovery.len(), 10);
    assert_ne!(admin.cookie.as_deref(), Some(enrolment_cookie.as_str()), "rotated after the second factor");
    let mut stale = Browser::new(&h.base);
    stale.cookie = Some(enrolment_cookie);
    assert_eq!(stale.get("/api/v1/session").await.status, 401, "the old session id no longer works");
    let me = admin.get("/api/v1/session").await;
    assert_eq!((me.status, me.json["role"].as_str()), (200, Some("admin")), "{:?}", me.json);

    // --- CSRF and origin on state changes in a session
    let csrf = admin.csrf.clone().unwrap();
    let base = h.base.clone();
    let r = admin.post_with("/api/v1/session/extend", None, &[("origin", &base)]).await;
    assert_eq!((r.status, r.json["error"]["code"].as_str()), (403, Some("csrf_failed")), "missing token");
    let r = admin.post_with("/api/v1/session/extend", None, &[("origin", &base), ("x-csrf-token", "wrong")]).await;
    assert_eq!((r.status, r.json["error"]["code"].as_str()), (403, Some("csrf_failed")), "wrong token");
    let r = admin
        .post_with("/api/v1/session/extend", None, &[("origin", "https://evil.example"), ("x-csrf-token", &csrf)])
        .await;
    assert_eq!((r.status, r.json["error"]["code"].as_str()), (403, Some("cross_origin")));
    let r = admin
        .post_with("/api/v1/session/extend", None, &[("sec-fetch-site", "cross-site"), ("x-csrf-token", &csrf)])
        .await;
    assert_eq!(r.status, 403, "Sec-Fetch-Site: cross-site");
    assert_eq!(admin.post("/api/v1/session/extend", json!({})).await.status, 200);

    // --- the JSON API by session: invite a recruiter (CSRF applies there too)
    let invite = json!({"role": "recruiter", "email": "rita@example.com", "display_name": "Rita Recruiter"});
    let r = admin.post_with("/api/v1/staff/invitations", Some(invite.clone()), &[("origin", &base)]).await;
    assert_eq!((r.status, r.json["error"]["code"].as_str()), (403, Some("csrf_failed")));
    let r = admin.post("/api/v1/staff/invitations", invite.clone()).await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    let recruiter_id = r.json["staff"]["id"].as_str().unwrap().to_owned();
    let rita_invitation = r.json["invitation"].as_str().unwrap().to_owned();
    assert_eq!(admin.post("/api/v1/staff/invitations", invite).await.json["error"]["code"], "email_taken");
    let staff = admin.get("/api/v1/staff").await;
    assert_eq!(staff.json.as_array().unwrap().len(), 2, "{:?}", staff.json);
    let mut rita = Browser::new(&h.base);
    let r = rita
        .post(
            "/api/v1/invitations/accept-account",
            json!({"invitation": rita_invitation, "password": "Sonnen-Blumen-Feld-9"}),
        )
        .await;
    assert_eq!((r.status, r.json["stage"].as_str()), (201, Some("full")), "a recruiter needs no TOTP: {:?}", r.json);
    assert_eq!(rita.get("/api/v1/staff").await.status, 403, "recruiters do not list staff");

    // --- sign-in: a new session id at every step (fixation), the second factor, recovery codes
    let before = admin.cookie.clone().unwrap();
    let r = sign_in(&mut admin, &tenant, "Ada.Admin@example.com", "Tisch-Lampe-Wolke-7").await;
    assert_eq!((r.status, r.json["stage"].as_str()), (200, Some("second_factor")), "{:?}", r.json);
    let pending = admin.cookie.clone().unwrap();
    assert_ne!(pending, before, "sign-in gives a new session id");
    let mut old = Browser::new(&h.base);
    old.cookie = Some(before);
    assert_eq!(old.get("/api/v1/session").await.status, 401, "the browser's previous session ended");
    assert_eq!(admin.get("/api/v1/session").await.status, 401, "a pending session is no session");
    let r = admin.post("/api/v1/session/second-factor", json!({"recovery_code": "aaaa-bbbb-cccc-dddd"})).await;
    assert_eq!(r.json["error"]["code"], "second_factor_invalid");
    let r = admin.post("/api/v1/session/second-factor", json!({"recovery_code": recovery[0].to_uppercase()})).await;
    assert_eq!((r.status, r.json["stage"].as_str()), (200, Some("full")), "{:?}", r.json);
    assert_ne!(admin.cookie.as_deref(), Some(pending.as_str()));
    // the recovery code works once
    let mut second = Browser::new(&h.base);
    sign_in(&mut second, &tenant, "ada.admin@example.com", "Tisch-Lampe-Wolke-7").await;
    let r = second.post("/api/v1/session/second-factor", json!({"recovery_code": recovery[0]})).await;
    assert_eq!(r.json["error"]["code"], "second_factor_invalid");
    let r = second.post("/api/v1/session/second-factor", json!({"recovery_code": recovery[1]})).await;
    assert_eq!(r.status, 200);
    let list = admin.get("/api/v1/session/list").await;
    assert_eq!(list.json.as_array().unwrap().len(), 2, "{:?}", list.json);
    assert_eq!(list.json.as_array().unwrap().iter().filter(|s| s["current"] == true).count(), 1);
    assert_eq!(list.json[0]["user_agent"], "Firefox");
    assert_eq!(second.post("/api/v1/session/sign-out", json!({})).await.status, 204);
    assert_eq!(second.get("/api/v1/session").await.status, 401);

    // --- no enumeration: an unknown e-mail and a wrong password get the same answer
    let mut probe = Browser::new(&h.base);
    let started = Instant::now();
    let unknown = sign_in(&mut probe, &tenant, "nobody@example.com", "Tisch-Lampe-Wolke-7").await;
    let unknown_time = started.elapsed();
    let started = Instant::now();
    let wrong = sign_in(&mut probe, &tenant, "rita@example.com", "Tisch-Lampe-Wolke-8").await;
    let wrong_time = started.elapsed();
    assert_eq!((unknown.status, &unknown.json), (wrong.status, &wrong.json));
    assert_eq!(unknown.json["error"]["code"], "sign_in_failed");
    assert!(unknown_time * 4 > wrong_time, "an unknown e-mail is verified too: {unknown_time:?} vs {wrong_time:?}");

    // --- throttling: growing delays, with retry_after, then the right password works again
    // failures go on (waiting out each delay) until the delay is long enough to observe
    let mut throttled = None;
    for _ in 0..12 {
        let r = sign_in(&mut probe, &tenant, "rita@example.com", "Tisch-Lampe-Wolke-8").await;
        if r.status == 429 {
            assert_eq!(r.json["error"]["code"], "sign_in_throttled");
            let wait = r.json["error"]["retry_after"].as_i64().unwrap();
            assert!(wait >= 1, "{:?}", r.json);
            if wait >= 4 {
                throttled = Some(r);
                break;
            }
            tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap() * 1000 + 100)).await;
            continue;
        }
        assert_eq!(r.status, 401);
    }
    let throttled = throttled.expect("repeated failures are throttled with growing delays");
    let wait = throttled.json["error"]["retry_after"].as_i64().unwrap();
    let r = sign_in(&mut probe, &tenant, "rita@example.com", "Sonnen-Blumen-Feld-9").await;
    assert_eq!(r.status, 429, "even the right password waits");
    tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap() * 1000 + 300)).await;
    let r = sign_in(&mut probe, &tenant, "rita@example.com", "Sonnen-Blumen-Feld-9").await;
    assert_eq!((r.status, r.json["stage"].as_str()), (200, Some("full")), "{:?}", r.json);

    // --- a disabled account stops at once; the last active admin stays
    assert_eq!(rita.get("/api/v1/session").await.status, 200);
    let r = admin.post(&format!("/api/v1/staff/{recruiter_id}/disable"), json!({})).await;
    assert_eq!((r.status, r.json["status"].as_str()), (200, Some("disabled")), "{:?}", r.json);
    assert_eq!(rita.get("/api/v1/session").await.status, 401, "its session is refused at once");
    assert_eq!(probe.get("/api/v1/session").await.status, 401);
    let r = sign_in(&mut Browser::new(&h.base), &tenant, "rita@example.com", "Sonnen-Blumen-Feld-9").await;
    assert_eq!(r.json["error"]["code"], "sign_in_failed", "a disabled account cannot sign in");
    let admin_id = me.json["staff_id"].as_str().unwrap().to_owned();
    let r = admin.post(&format!("/api/v1/staff/{admin_id}/disable"), json!({})).await;
    assert_eq!((r.status, r.json["error"]["code"].as_str()), (409, Some("last_active_admin")), "{:?}", r.json);
    let r = admin
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/staff/{admin_id}"),
            Some(json!({"role": "dpo"})),
            &[("origin", &base), ("x-csrf-token", &admin.csrf.clone().unwrap())],
        )
        .await;
    assert_eq!(r.status, 409, "{:?}", r.json);

    // --- the audit log names staff by id only
    let entries = admin.get("/api/v1/audit/entries?limit=10000").await;
    assert_eq!(entries.status, 200, "{:?}", entries.json);
    let text = entries.json.to_string();
    for action in [
        "invitation.accepted",
        "staff.password_changed",
        "staff.second_factor_changed",
        "sign_in.succeeded",
        "sign_in.failed",
        "staff.disabled",
        "session.revoked",
    ] {
        assert!(text.contains(action), "{action} not audited");
    }
    for personal in ["ada.admin@example.com", "rita@example.com", "Ada Admin", "Rita Recruiter"] {
        assert!(!text.contains(personal), "{personal} in the audit log");
    }
    assert!(text.contains(&recruiter_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_end_after_the_idle_and_the_absolute_time_out() {
    let mut options = HarnessOptions::new(std::path::PathBuf::new());
    options.env.push(("HOHEIT_SESSIONS__IDLE_SECONDS".into(), "2".into()));
    options.env.push(("HOHEIT_SESSIONS__ABSOLUTE_SECONDS".into(), "4".into()));
    let (h, _dir) = start(options).await;
    let operator = h.client(&h.token(None, Role::Operator).await.unwrap());
    let r = operator.post("/api/v1/tenants", json!({"name": "Zeit GmbH"})).await;
    let tenant = r.str("/id").unwrap().to_owned();
    let invitation = r.str("/admin_invitation/invitation").unwrap().to_owned();
    let mut admin = Browser::new(&h.base);
    let r = admin
        .post(
            "/api/v1/invitations/accept-account",
            json!({"invitation": invitation, "email": "zeit@example.com", "display_name": "Zed", "password": "Regen-Bogen-Haus-42"}),
        )
        .await;
    let secret = r.json["totp"]["secret"].as_str().unwrap().to_owned();
    let r = admin.post("/api/v1/session/totp/confirm", json!({"code": code_now(&h, &secret)})).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    // idle: no request for 2 s ends it
    assert_eq!(admin.get("/api/v1/session").await.status, 200);
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert_eq!(admin.get("/api/v1/session").await.status, 401, "idle time-out");
    // absolute: requests every 0.7 s keep it from idling, it still ends after 4 s
    let codes: Vec<String> =
        r.json["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    let mut fresh = Browser::new(&h.base);
    let r = sign_in(&mut fresh, &tenant, "zeit@example.com", "Regen-Bogen-Haus-42").await;
    assert_eq!(r.json["stage"], "second_factor", "{:?}", r.json);
    let r = fresh.post("/api/v1/session/second-factor", json!({"recovery_code": codes[0]})).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let started = Instant::now();
    let mut ended = None;
    while started.elapsed() < Duration::from_secs(7) {
        if fresh.get("/api/v1/session").await.status == 401 {
            ended = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    let ended = ended.expect("the absolute time-out ends the session");
    assert!(ended >= Duration::from_millis(2500), "it lasted past the idle time-out thanks to requests: {ended:?}");
    h.stop().await;
}

/// `hoheit staff ...` (issue 16 item 1): the admin's staff management from a shell is a client of
/// the API with the admin's own token from `HOHEIT_CLI_TOKEN`, so the server's rules apply to it
/// (only admins, the last active admin, R1) and nothing takes a token from the command line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_cli_manages_accounts_through_the_api() {
    let (h, _dir) = sqlite().await;
    let r = operator_creates_tenant(&h, json!({"name": "Schale GmbH", "invite_dpo": true})).await;
    let admin_token = accept(&h, r.str("/admin_invitation/invitation").unwrap(), None).await;
    let dpo_token = accept(&h, r.str("/dpo_invitation/invitation").unwrap(), None).await;
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_hoheit"));
    let data = tempfile::tempdir().unwrap();
    let cli = |token: Option<&str>, args: &[&str]| {
        let mut command = std::process::Command::new(bin);
        command
            .arg("staff")
            .args(["--url", &h.base])
            .args(args)
            .env("HOHEIT_DATA_DIR", data.path())
            .env("HOHEIT_LOG__LEVEL", "error")
            .env_remove("HOHEIT_CLI_TOKEN");
        if let Some(token) = token {
            command.env("HOHEIT_CLI_TOKEN", token);
        }
        let out = command.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let (ok, _, err) = cli(None, &["list"]);
    assert!(!ok && err.contains("HOHEIT_CLI_TOKEN"), "no token, no call: {err}");
    let (ok, out, err) = cli(
        Some(&admin_token),
        &["invite", "--role", "recruiter", "--email", "rita@schale.example", "--name", "Rita Recruiterin"],
    );
    assert!(ok, "{err}");
    let link = out.lines().find_map(|l| l.split_once("shown once): ").map(|(_, link)| link.trim().to_owned())).unwrap();
    assert!(link.starts_with(&format!("{}/invitation/", h.base)), "{out}");
    // the link is the accept page of a valid invitation
    let page = reqwest::get(&link).await.unwrap();
    assert_eq!(page.status(), 200);
    let staff_id = out.split_whitespace().nth(1).unwrap().to_owned();

    let (ok, out, err) = cli(Some(&dpo_token), &["list"]);
    assert!(ok, "the DPO lists: {err}");
    let row = out.lines().find(|l| l.contains("rita@schale.example")).unwrap_or_else(|| panic!("{out}"));
    assert!(row.starts_with(&staff_id) && row.contains("recruiter") && row.contains("invited"), "{row}");
    // the DPO may not change anything: the server's answer, with its stable code
    let (ok, _, err) = cli(Some(&dpo_token), &["role", "--id", &staff_id, "--role", "admin"]);
    assert!(!ok && err.contains("403 forbidden"), "{err}");

    let (ok, out, err) = cli(Some(&admin_token), &["role", "--id", &staff_id, "--role", "admin"]);
    assert!(ok && out.contains("is now admin"), "{out}{err}");
    let (ok, _, err) = cli(Some(&admin_token), &["reset-second-factor", "--id", &staff_id]);
    assert!(ok, "{err}");
    let (ok, out, err) = cli(Some(&admin_token), &["disable", "--id", &staff_id]);
    assert!(ok && out.contains("disabled"), "{out}{err}");
    let (_, out, _) = cli(Some(&admin_token), &["list"]);
    assert!(out.lines().any(|l| l.starts_with(&staff_id) && l.contains("disabled")), "{out}");
    let (ok, _, err) = cli(Some(&admin_token), &["disable", "--id", "not-an-id"]);
    assert!(!ok && err.contains("not a staff id"), "{err}");
    // a revoked or made-up token is refused by the server
    let (ok, _, err) = cli(Some("hot_made-up"), &["list"]);
    assert!(!ok && err.contains("401"), "{err}");
    h.stop().await;
}

/// `hoheit serve --dev` prints sign-in links for a development admin, DPO and recruiter (issue 16):
/// each opens the accept page of its invitation, and the sign-in page of the dev tenant works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_dev_prints_sign_in_links() {
    use std::io::BufRead as _;
    // this test's own HTTP client: run alone, no other test installed the TLS provider
    hoheit_dialog360::ensure_crypto_provider();
    let data = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hoheit"))
        .args(["serve", "--dev"])
        .env("HOHEIT_DATA_DIR", data.path())
        .env("HOHEIT_LISTEN", "127.0.0.1:0")
        .env("HOHEIT_LOG__LEVEL", "error")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines = tokio::task::spawn_blocking(move || {
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let last = line.contains("then sign in at");
            lines.push(line);
            if last {
                break;
            }
        }
        lines
    });
    let lines = tokio::time::timeout(Duration::from_secs(60), lines).await;
    let checked = async {
        let lines = lines.expect("serve --dev printed its links within a minute").unwrap();
        let link = |role: &str| {
            lines
                .iter()
                .filter_map(|l| l.trim().strip_prefix(&format!("{role}:")).map(|rest| rest.trim().to_owned()))
                .find(|l| l.contains("/invitation/"))
                .unwrap_or_else(|| panic!("no {role} link in {lines:?}"))
        };
        for (role, shown) in
            [("admin", "Administration"), ("dpo", "Datenschutzbeauftragte Person (DSB)"), ("recruiter", "Recruiting")]
        {
            let page = reqwest::get(link(role)).await.unwrap();
            assert_eq!(page.status(), 200, "{role}");
            let html = page.text().await.unwrap();
            assert!(
                html.contains(&format!("<strong id=\"invited-role\">{shown}</strong>")),
                "{role}: the accept page names the role"
            );
        }
        let sign_in = lines.last().unwrap().split_whitespace().last().unwrap().to_owned();
        assert!(sign_in.contains("/signin?tenant="), "{sign_in}");
        let page = reqwest::get(&sign_in).await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("form method=\"post\" action=\"/signin\""));
    };
    let result = tokio::time::timeout(Duration::from_secs(60), checked).await;
    let _ = child.kill();
    let _ = child.wait();
    result.expect("the dev server answered");
}

/// A new tenant `name` with its first admin (a token client), and a recruiter the admin invited
/// who accepted with `password` in a new browser on `h` (signed in, stage `full`).
async fn recruiter_signed_up(
    h: &Harness,
    name: &str,
    email: &str,
    display_name: &str,
    password: &str,
) -> (String, hoheit_server::harness::Client, Browser) {
    let r = operator_creates_tenant(h, json!({"name": name})).await;
    let tenant = r.str("/id").unwrap().to_owned();
    let admin = h.client(&accept(h, r.str("/admin_invitation/invitation").unwrap(), None).await);
    let r = admin
        .post("/api/v1/staff/invitations", json!({"role": "recruiter", "email": email, "display_name": display_name}))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.json);
    let invitation = r.str("/invitation").unwrap().to_owned();
    let mut browser = Browser::new(&h.base);
    let r = browser
        .post("/api/v1/invitations/accept-account", json!({"invitation": invitation, "password": password}))
        .await;
    assert_eq!((r.status, r.json["stage"].as_str()), (201, Some("full")), "{:?}", r.json);
    (tenant, admin, browser)
}

/// Changing one's password (issue 16 item 3): the current password confirms it, the new one
/// passes the set-up's rules, the account's other sessions end, and it is audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_needs_the_current_one_and_ends_the_other_sessions() {
    let (h, _dir) = sqlite().await;
    let (tenant, admin, mut here) =
        recruiter_signed_up(&h, "Passwort GmbH", "paul@example.com", "Paul Personal", "Alter-Apfel-Baum-31").await;
    let mut elsewhere = Browser::new(&h.base);
    assert_eq!(sign_in(&mut elsewhere, &tenant, "paul@example.com", "Alter-Apfel-Baum-31").await.status, 200);
    assert_eq!(elsewhere.get("/api/v1/session").await.status, 200);

    let change = |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let r = here.post("/api/v1/session/password", change("falsch-falsch-falsch", "Neuer-Birn-Baum-42")).await;
    assert_eq!((r.status, r.json["error"]["code"].as_str()), (401, Some("sign_in_failed")), "{:?}", r.json);
    assert_eq!(here.get("/api/v1/session").await.status, 200, "a wrong current password keeps the session");
    let r = here.post("/api/v1/session/password", change("Alter-Apfel-Baum-31", "Passwort2026!")).await;
    assert_eq!((r.status, r.json["error"]["code"].as_str()), (400, Some("password_common")), "{:?}", r.json);
    let r = here.post("/api/v1/session/password", change("Alter-Apfel-Baum-31", "paul@example.com-2026")).await;
    assert_eq!(r.json["error"]["code"], "password_contains_personal_data", "{:?}", r.json);
    // without the CSRF token: refused
    let origin = h.base.clone();
    let r = here
        .post_with(
            "/api/v1/session/password",
            Some(change("Alter-Apfel-Baum-31", "Neuer-Birn-Baum-42")),
            &[("origin", &origin)],
        )
        .await;
    assert_eq!(r.json["error"]["code"], "csrf_failed", "{:?}", r.json);
    let r = here.post("/api/v1/session/password", change("Alter-Apfel-Baum-31", "Neuer-Birn-Baum-42")).await;
    assert_eq!(r.status, 204, "{:?}", r.json);
    assert_eq!(here.get("/api/v1/session").await.status, 200, "this session stays");
    assert_eq!(elsewhere.get("/api/v1/session").await.status, 401, "the other session ended");
    let r = sign_in(&mut Browser::new(&h.base), &tenant, "paul@example.com", "Alter-Apfel-Baum-31").await;
    assert_eq!(r.json["error"]["code"], "sign_in_failed", "the old password no longer works");
    let r = sign_in(&mut Browser::new(&h.base), &tenant, "paul@example.com", "Neuer-Birn-Baum-42").await;
    assert_eq!(r.status, 200, "{:?}", r.json);

    let entries = admin.get("/api/v1/audit/entries?limit=1000").await;
    assert_eq!(entries.status, 200, "{:?}", entries.json);
    let changes = entries.json.to_string().matches("staff.password_changed").count();
    assert_eq!(changes, 2, "set at acceptance, then changed: {}", entries.json);
    assert!(entries.json.to_string().contains("session.revoked"));
    h.stop().await;
}

/// Sessions and sign-in throttles live in the database (issue 16 item 5): a session started on
/// one replica works on another, signing out there ends it on the first at once, and failures
/// counted on one replica throttle the next attempt on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_and_throttles_hold_across_replicas() {
    let (one, two, _dir) = two_replicas().await;
    let (tenant, _, mut on_one) =
        recruiter_signed_up(&one, "Replika Konto GmbH", "paula@example.com", "Paula", "Ruder-Boot-Hafen-64").await;

    // the same browser session, sent to the other replica
    let mut on_two = Browser::new(&two.base);
    on_two.cookie.clone_from(&on_one.cookie);
    on_two.csrf.clone_from(&on_one.csrf);
    let me = on_two.get("/api/v1/session").await;
    assert_eq!((me.status, me.json["role"].as_str()), (200, Some("recruiter")), "{:?}", me.json);
    assert_eq!(on_two.post("/api/v1/session/sign-out", json!({})).await.status, 204);
    assert_eq!(on_one.get("/api/v1/session").await.status, 401, "signed out on two: ended on one");

    // failures on replica one throttle the next attempt on replica two
    let mut throttled_on_one = false;
    for _ in 0..8 {
        let r = sign_in(&mut Browser::new(&one.base), &tenant, "paula@example.com", "Falsches-Passwort-99").await;
        if r.status == 429 {
            throttled_on_one = true;
            break;
        }
        assert_eq!(r.status, 401, "{:?}", r.json);
    }
    assert!(throttled_on_one, "repeated failures are throttled");
    // replica two never saw a failure: only the database can tell it
    let r = sign_in(&mut Browser::new(&two.base), &tenant, "paula@example.com", "Ruder-Boot-Hafen-64").await;
    assert_eq!((r.status, r.json["error"]["code"].as_str()), (429, Some("sign_in_throttled")), "{:?}", r.json);
    two.stop().await;
    one.stop().await;
}
