//! `oidc-stand-in`: the OpenID Connect provider stand-in, standalone (manual and browser use).
//!
//! ```text
//! oidc-stand-in [--port 8390] [--client-id hoheit] [--client-secret SECRET]
//!               [--redirect-uri URI]... [--user SUBJECT,EMAIL,NAME[,GROUP...]]...
//!               [--auto-approve SUBJECT] [--es256]
//! ```
//! Without `--user`, three users (admin, dpo, recruiter at example.de) are offered. The secret
//! may also come from `HOHEIT_OIDC_STAND_IN_SECRET`. Stops on Ctrl-C.

use std::io::Write as _;
use std::process::ExitCode;

use hoheit_oidc::stand_in::{SigningAlgorithm, StandIn, StandInConfig, StandInUser};

const USAGE: &str = "usage: oidc-stand-in [--port N] [--client-id ID] [--client-secret SECRET] \
[--redirect-uri URI]... [--user SUBJECT,EMAIL,NAME[,GROUP...]]... [--auto-approve SUBJECT] [--es256]";

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<StandInConfig, String> {
    let secret = std::env::var("HOHEIT_OIDC_STAND_IN_SECRET").unwrap_or_else(|_| "stand-in-secret".to_owned());
    let mut config = StandInConfig::new("hoheit", &secret, "http://127.0.0.1:8080/auth/oidc/callback");
    config.port = 8390;
    let mut redirect_uris = Vec::new();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let client = config.clients.first_mut().ok_or("no client")?;
        match arg.as_str() {
            "--port" => config.port = value("--port")?.parse().map_err(|_| "--port needs a number".to_owned())?,
            "--client-id" => client.client_id = value("--client-id")?,
            "--client-secret" => client.client_secret = value("--client-secret")?,
            "--redirect-uri" => redirect_uris.push(value("--redirect-uri")?),
            "--user" => {
                let spec = value("--user")?;
                let mut parts = spec.split(',');
                let (Some(subject), Some(email), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
                    return Err("--user needs SUBJECT,EMAIL,NAME[,GROUP...]".to_owned());
                };
                let groups: Vec<&str> = parts.collect();
                config.users.push(StandInUser::new(subject, email, name, &groups));
            }
            "--auto-approve" => config.auto_approve = Some(value("--auto-approve")?),
            "--es256" => config.algorithm = SigningAlgorithm::Es256,
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if !redirect_uris.is_empty()
        && let Some(client) = config.clients.first_mut()
    {
        client.redirect_uris = redirect_uris;
    }
    if config.users.is_empty() {
        config.users = vec![
            StandInUser::new("admin-1", "admin@example.de", "Ada Admin", &["hoheit-admins"]),
            StandInUser::new("dpo-1", "dsb@example.de", "Dora Datenschutz", &["hoheit-dpo"]),
            StandInUser::new("recruiter-1", "recruiting@example.de", "Rita Recruiting", &["hoheit-recruiters"]),
        ];
    }
    Ok(config)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(config) => config,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "{message}");
            return ExitCode::from(2);
        }
    };
    let client_id = config.clients.first().map(|c| c.client_id.clone()).unwrap_or_default();
    let stand_in = match StandIn::start(config).await {
        Ok(stand_in) => stand_in,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "{e}");
            return ExitCode::FAILURE;
        }
    };
    let _ = writeln!(std::io::stdout(), "OIDC stand-in: issuer {} client id {client_id}", stand_in.issuer());
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}
