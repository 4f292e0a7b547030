//! `hoheit staff ...`: a tenant admin's staff management from a shell (issue 16). The commands
//! are a client of the JSON API (`/api/v1/staff...`) with the admin's (or, for `list`, the DPO's)
//! own token from `HOHEIT_CLI_TOKEN`, never a token on the command line: the rules, the audit entries
//! and the operator-blind guarantee are the server's. The operator's database access gives no
//! way to invite, promote or reset anyone (a lost admin is `hoheit tenant break-glass`).

use clap::Subcommand;
use reqwest::Method;
use serde_json::{Value, json};

/// What a tenant admin does with staff accounts.
#[derive(Debug, Subcommand)]
pub(super) enum StaffCommand {
    /// List the tenant's staff accounts (admin, DPO).
    List,
    /// Invite a person (admin): prints the single-use invitation link (72 h), shown once.
    Invite {
        /// admin, dpo or recruiter.
        #[arg(long)]
        role: String,
        /// The person's e-mail address.
        #[arg(long)]
        email: String,
        /// The person's name as the UI shows it.
        #[arg(long)]
        name: String,
        /// de (default) or en.
        #[arg(long)]
        language: Option<String>,
    },
    /// Change an account's role (admin); its sessions end.
    Role {
        /// Staff id.
        #[arg(long)]
        id: String,
        /// admin, dpo or recruiter.
        #[arg(long)]
        role: String,
    },
    /// Disable an account (admin): its sessions end and its tokens are refused at once.
    Disable {
        /// Staff id.
        #[arg(long)]
        id: String,
    },
    /// Remove an account's TOTP and recovery codes (admin): it sets up a new second factor at its
    /// next sign-in; its sessions end.
    ResetSecondFactor {
        /// Staff id.
        #[arg(long)]
        id: String,
    },
}

/// Where the API is and whose token the command uses.
#[derive(Debug)]
pub(super) struct ApiTarget {
    /// The server's base URL (`--url`, `HOHEIT_CLI_URL`, or the configured public URL).
    pub(super) base: String,
    /// The caller's token (`HOHEIT_CLI_TOKEN`).
    pub(super) token: String,
}

impl ApiTarget {
    /// From `--url`/`HOHEIT_CLI_URL` (else `fallback`) and `HOHEIT_CLI_TOKEN`.
    pub(super) fn from_env(url: Option<String>, fallback: String) -> Result<Self, String> {
        let base = url.or_else(|| std::env::var("HOHEIT_CLI_URL").ok()).unwrap_or(fallback);
        let token = std::env::var("HOHEIT_CLI_TOKEN").ok().filter(|t| !t.trim().is_empty()).ok_or(
            "set HOHEIT_CLI_TOKEN to your own admin token (POST /api/v1/tokens); it is not taken from the command line",
        )?;
        Ok(Self { base: base.trim_end_matches('/').to_owned(), token: token.trim().to_owned() })
    }
}

/// Runs one staff command; returns the lines to print.
pub(super) async fn run(command: StaffCommand, target: &ApiTarget) -> Result<Vec<String>, String> {
    let api = Api::new(target)?;
    Ok(match command {
        StaffCommand::List => {
            let list = api.call(Method::GET, "/api/v1/staff", None).await?;
            let rows = list.as_array().cloned().unwrap_or_default();
            rows.iter()
                .map(|s| {
                    format!(
                        "{}  {:<9}  {:<8}  {}  <{}>{}",
                        text(s, "id"),
                        text(s, "role"),
                        text(s, "status"),
                        text(s, "display_name"),
                        text(s, "email"),
                        if s["totp"] == true { "  totp" } else { "" }
                    )
                })
                .collect()
        }
        StaffCommand::Invite { role, email, name, language } => {
            let body = json!({"role": role, "email": email, "display_name": name, "language": language});
            let invited = api.call(Method::POST, "/api/v1/staff/invitations", Some(body)).await?;
            vec![
                format!(
                    "staff {} ({}) invited until {}",
                    invited.get("staff").map_or_else(|| "-".to_owned(), |staff| text(staff, "id")),
                    role,
                    text(&invited, "expires_at")
                ),
                format!(
                    "invitation link (single use; shown once): {}/invitation/{}",
                    target.base,
                    text(&invited, "invitation")
                ),
            ]
        }
        StaffCommand::Role { id, role } => {
            let path = format!("/api/v1/staff/{}", segment(&id)?);
            let changed = api.call(Method::PATCH, &path, Some(json!({"role": role}))).await?;
            vec![format!("staff {} is now {}; its sessions ended", text(&changed, "id"), text(&changed, "role"))]
        }
        StaffCommand::Disable { id } => {
            api.call(Method::POST, &format!("/api/v1/staff/{}/disable", segment(&id)?), None).await?;
            vec![format!("staff {id} disabled; its sessions ended and its tokens are refused")]
        }
        StaffCommand::ResetSecondFactor { id } => {
            api.call(Method::POST, &format!("/api/v1/staff/{}/second-factor/reset", segment(&id)?), None).await?;
            vec![format!("staff {id}: second factor removed; set up again at the next sign-in")]
        }
    })
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("-").to_owned()
}

/// A staff id as a path segment: an id is a UUID, anything else is refused here.
fn segment(id: &str) -> Result<&str, String> {
    id.parse::<hoheit_domain::ids::StaffId>().map(|_| id).map_err(|_| format!("'{id}' is not a staff id"))
}

struct Api<'a> {
    http: reqwest::Client,
    target: &'a ApiTarget,
}

impl<'a> Api<'a> {
    fn new(target: &'a ApiTarget) -> Result<Self, String> {
        hoheit_dialog360::ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self { http, target })
    }

    /// One request; an API error is shown with its stable code and message.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut request =
            self.http.request(method, format!("{}{path}", self.target.base)).bearer_auth(&self.target.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.map_err(|e| format!("{}: {}", self.target.base, e.without_url()))?;
        let status = answer.status();
        let body: Value = if status == reqwest::StatusCode::NO_CONTENT {
            Value::Null
        } else {
            answer.json().await.unwrap_or(Value::Null)
        };
        if status.is_success() {
            return Ok(body);
        }
        let error = |key: &str| body.get("error").and_then(|e| e.get(key)).and_then(Value::as_str).map(str::to_owned);
        Err(format!(
            "{} {}: {}",
            status.as_u16(),
            error("code").unwrap_or_else(|| "error".to_owned()),
            error("message").unwrap_or_else(|| "the server refused the request".to_owned())
        ))
    }
}
