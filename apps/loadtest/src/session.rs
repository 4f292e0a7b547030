//! Signed-in staff browsers for the inbox benchmark: an admin (bearer token) invites a
//! recruiter, the invitation is accepted with a password (`POST
//! /api/v1/invitations/accept-account`, as the invitation page does), and the answer's session
//! cookie and CSRF token are what the browser then sends. Recruiters need no second factor.

use std::time::Duration;

use serde_json::{Value, json};

use crate::setup::Api;
use crate::util::{Context as _, Res, fail};

/// The password every benchmark account sets (long, not common, unrelated to the e-mail).
const PASSWORD: &str = "Leuchtturm-Insel-Nord-5";

/// A staff member's browser: its session cookie (`name=value`) and CSRF token.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) cookie: String,
    #[allow(dead_code)] // kept for state-changing requests; the benchmark only reads
    pub(crate) csrf: String,
}

/// The `name=value` part of a `Set-Cookie` header.
pub(crate) fn cookie_pair(set_cookie: &str) -> Option<String> {
    let pair = set_cookie.split(';').next()?.trim();
    pair.contains('=').then(|| pair.to_owned())
}

/// Invites `count` recruiters (e-mail `<prefix>-<n>@example.com`) through `admin` and signs each
/// in once, `parallel` at a time (each acceptance hashes a password with argon2id).
pub(crate) async fn recruiters(admin: &Api, prefix: &str, count: usize, parallel: usize) -> Res<Vec<Session>> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .build()?;
    let slots = std::sync::Arc::new(std::sync::Mutex::new(vec![None; count]));
    let (failed, first) = {
        let (admin, http, slots, prefix) = (admin.clone(), http.clone(), slots.clone(), prefix.to_owned());
        crate::setup::parallel(count as u64, parallel, move |n| {
            let (admin, http, slots, prefix) = (admin.clone(), http.clone(), slots.clone(), prefix.clone());
            async move {
                let session = recruiter(&admin, &http, &format!("{prefix}-{n}@example.com")).await?;
                if let Ok(mut s) = slots.lock()
                    && let Some(slot) = s.get_mut(usize::try_from(n).unwrap_or(usize::MAX))
                {
                    *slot = Some(session);
                }
                Ok(())
            }
        })
        .await
    };
    if failed > 0 {
        return Err(fail!("{failed} of {count} recruiters not signed in: {}", first.unwrap_or_default()));
    }
    let sessions = slots.lock().map(|s| s.iter().flatten().cloned().collect::<Vec<_>>()).unwrap_or_default();
    if sessions.len() == count { Ok(sessions) } else { Err(fail!("only {} of {count} sessions", sessions.len())) }
}

async fn recruiter(admin: &Api, http: &reqwest::Client, email: &str) -> Res<Session> {
    let invited = admin
        .expect(
            "/api/v1/staff/invitations",
            &json!({"role": "recruiter", "email": email, "display_name": "Rita Recruiting"}),
            201,
        )
        .await?;
    let invitation = invited.get("invitation").and_then(Value::as_str).context("no invitation in the answer")?;
    let answer = http
        .post(format!("{}/api/v1/invitations/accept-account", admin.base))
        .header("origin", &admin.base)
        .json(&json!({"invitation": invitation, "password": PASSWORD}))
        .send()
        .await?;
    let status = answer.status().as_u16();
    let cookie = answer
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(cookie_pair)
        .context("no session cookie");
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    if status != 201 {
        return Err(fail!("accept-account: {status} {body}"));
    }
    if body.get("stage").and_then(Value::as_str) != Some("full") {
        return Err(fail!("the recruiter's session is not signed in fully: {body}"));
    }
    let csrf = body.get("csrf_token").and_then(Value::as_str).context("no csrf_token")?.to_owned();
    Ok(Session { cookie: cookie?, csrf })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_pair_is_the_part_before_the_attributes() {
        assert_eq!(
            cookie_pair("__Host-hoheit_session=abc.def; Path=/; Secure; HttpOnly; SameSite=Lax").as_deref(),
            Some("__Host-hoheit_session=abc.def")
        );
        assert_eq!(cookie_pair("x=1").as_deref(), Some("x=1"));
        assert_eq!(cookie_pair("; Path=/"), None);
    }
}
