//! `hoheit-360sim`: the fake 360Dialog, standalone.
//!
//! ```text
//! hoheit-360sim [--port 8360] [--api-key KEY] [--webhook URL] [--header NAME=VALUE]...
//!               [--hmac-key KEY] [--enforce-window] [--out-of-order] [--duplicate]
//! ```
//! The key may also come from `HOHEIT_360SIM_API_KEY`. Stops on Ctrl-C.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;

use hoheit_dialog360::SecretString;
use hoheit_dialog360::simulator::{Simulator, SimulatorConfig, WebhookTarget};

#[derive(Debug, Default)]
struct Args {
    port: u16,
    api_key: Option<String>,
    webhook: Option<String>,
    headers: Vec<(String, String)>,
    hmac_key: Option<String>,
    enforce_window: bool,
    out_of_order: bool,
    duplicate: bool,
}

const USAGE: &str = "usage: hoheit-360sim [--port N] [--api-key KEY] [--webhook URL] [--header NAME=VALUE]... \
[--hmac-key KEY] [--enforce-window] [--out-of-order] [--duplicate]";

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args { port: 8360, ..Args::default() };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--port" => parsed.port = value("--port")?.parse().map_err(|_| "--port needs a number".to_owned())?,
            "--api-key" => parsed.api_key = Some(value("--api-key")?),
            "--webhook" => parsed.webhook = Some(value("--webhook")?),
            "--header" => {
                let header = value("--header")?;
                let (name, v) = header.split_once('=').ok_or("--header needs NAME=VALUE")?;
                parsed.headers.push((name.to_owned(), v.to_owned()));
            }
            "--hmac-key" => parsed.hmac_key = Some(value("--hmac-key")?),
            "--enforce-window" => parsed.enforce_window = true,
            "--out-of-order" => parsed.out_of_order = true,
            "--duplicate" => parsed.duplicate = true,
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "{message}");
            return ExitCode::from(2);
        }
    };
    let mut config =
        SimulatorConfig { bind: SocketAddr::from(([127, 0, 0, 1], args.port)), ..SimulatorConfig::default() };
    if let Some(key) = args.api_key.or_else(|| std::env::var("HOHEIT_360SIM_API_KEY").ok()) {
        config.api_key = SecretString::from(key);
    }
    config.enforce_window = args.enforce_window;
    config.status_webhooks.out_of_order = args.out_of_order;
    config.status_webhooks.duplicate = args.duplicate;
    let sim = match Simulator::start(config).await {
        Ok(sim) => sim,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "hoheit-360sim: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(url) = args.webhook {
        let mut target = WebhookTarget::new(url);
        target.headers = args.headers;
        target.hmac_key = args.hmac_key.map(String::into_bytes);
        sim.set_webhook(target);
    }
    let _ = writeln!(
        std::io::stdout(),
        "hoheit-360sim listening on {} (phone_number_id {})",
        sim.base_url(),
        sim.phone_number_id()
    );
    let _ = tokio::signal::ctrl_c().await;
    sim.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, String> {
        parse_args(list.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn parses_flags() {
        let a = args(&["--port", "9000", "--header", "X-S=abc", "--out-of-order"]).unwrap();
        assert_eq!(a.port, 9000);
        assert_eq!(a.headers, vec![("X-S".to_owned(), "abc".to_owned())]);
        assert!(a.out_of_order);
        assert!(args(&["--port"]).is_err());
        assert!(args(&["--bogus"]).is_err());
    }
}
