//! The `hoheit` command line: `serve`, `demo`, `migrate`, tenants, tokens, retention, the
//! audit log, the accountability documents, the subject-request register, templates and the
//! OpenAPI document. `main.rs` only calls [`run`].

mod documents;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hoheit_domain::ids::TenantId;
use hoheit_domain::ports::Clock as _;
use hoheit_domain::tenant::{Actor, Role};
use hoheit_persistence::VerifyOutcome;

pub use documents::{due_subject_requests, privacy_notice, records_of_processing};

use crate::config::Config;
use crate::state::AppState;
use crate::wiring::{self, Schema};

#[derive(Debug, Parser)]
#[command(name = "hoheit", version, about = "GDPR-safe WhatsApp messaging with job candidates through 360Dialog")]
struct Cli {
    /// Configuration file (TOML); also HOHEIT_CONFIG. Environment variables HOHEIT_* override it.
    #[arg(long, global = true, env = "HOHEIT_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The API, the webhook endpoint, the outbox dispatcher and the retention scheduler.
    Serve {
        /// Also start the 360Dialog simulator, point new channels at it, create a dev tenant and
        /// print its tokens. No real WhatsApp message leaves the machine.
        #[arg(long)]
        dev: bool,
        /// Apply pending migrations before starting.
        #[arg(long)]
        migrate: bool,
    },
    /// The whole candidate journey on the embedded default against a simulated 360Dialog.
    Demo,
    /// Apply pending database migrations.
    Migrate,
    /// Tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Retention.
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Print a tenant's Art. 30 record of processing activities, generated from its
    /// configuration (R35).
    RecordsOfProcessing {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// `json` or `markdown`.
        #[arg(long, default_value = "json")]
        format: String,
    },
    /// Print the WhatsApp section of a tenant's privacy notice (R2).
    PrivacyNotice {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// `de` or `en`.
        #[arg(long, default_value = "de")]
        language: String,
    },
    /// The subject-request register (R29).
    SubjectRequests {
        #[command(subcommand)]
        command: SubjectRequestCommand,
    },
    /// WhatsApp templates.
    Templates {
        #[command(subcommand)]
        command: TemplatesCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
}

#[derive(Debug, Subcommand)]
enum SubjectRequestCommand {
    /// List overdue and due-soon requests (no personal data); exit code 2 if any is overdue.
    Due {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// Due-soon horizon in days.
        #[arg(long, default_value_t = 7)]
        within_days: i64,
    },
}

#[derive(Debug, Subcommand)]
enum TemplatesCommand {
    /// Sync the templates of every channel (of one tenant) from 360Dialog now.
    Sync {
        /// Tenant id.
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Create a tenant and print its first admin token.
    Create {
        /// The employer's name.
        #[arg(long)]
        name: String,
    },
    /// List tenants.
    List,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token (printed once). Without --tenant only the operator role is allowed.
    Create {
        /// Tenant id.
        #[arg(long)]
        tenant: Option<String>,
        /// operator, admin, dpo or recruiter.
        #[arg(long)]
        role: String,
        /// Label.
        #[arg(long, default_value = "cli")]
        label: String,
    },
}

#[derive(Debug, Subcommand)]
enum RetentionCommand {
    /// Run retention now (all tenants, or one).
    Run {
        /// Tenant id.
        #[arg(long)]
        tenant: Option<String>,
        /// Only count.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Verify the audit chains (all tenants, or one) against the stored checkpoints.
    Verify {
        /// Tenant id.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Print a signed checkpoint of a tenant's chain (and keep it).
    Checkpoint {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
    },
}

#[allow(clippy::print_stdout)]
fn say(line: &str) {
    println!("{line}");
}

#[allow(clippy::print_stderr)]
fn fail(line: &str) -> ExitCode {
    eprintln!("hoheit: {line}");
    ExitCode::FAILURE
}

fn tenant_id(raw: &str) -> Result<TenantId, String> {
    raw.parse().map_err(|_| format!("'{raw}' is not a tenant id"))
}

/// Parses the command line and runs the command: what the `hoheit` binary does.
pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string()),
    };
    // the demo prints its own steps; its temporary key files need no warning
    let level =
        if matches!(cli.command, Command::Demo | Command::Openapi) { "error" } else { config.log.level.as_str() };
    crate::telemetry::init(config.log.format, level, std::io::stderr);
    match Box::pin(execute(cli.command, config)).await {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

async fn state(config: Config) -> Result<AppState, String> {
    wiring::open(config, None, Schema::CreateIfNew).await
}

#[allow(clippy::too_many_lines)]
async fn execute(command: Command, config: Config) -> Result<ExitCode, String> {
    match command {
        Command::Demo => {
            let passed = crate::demo::run(Box::new(say)).await?;
            Ok(if passed { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Openapi => {
            say(&crate::openapi::spec_json());
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            wiring::migrate(&config).await?;
            say("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { dev, migrate } => serve(config, dev, migrate).await,
        Command::Tenant { command } => {
            let state = state(config).await?;
            match command {
                TenantCommand::Create { name } => {
                    let tenant = state.app.create_tenant(Actor::System, &name).await.map_err(|e| e.to_string())?;
                    let (_, token) =
                        crate::api::tokens::issue_token(&state, Some(tenant.id), Role::Admin, "first admin")
                            .await
                            .map_err(|e| e.message)?;
                    say(&format!("tenant {}\nadmin token (shown once): {token}", tenant.id));
                }
                TenantCommand::List => {
                    for t in state.queries.tenants().await.map_err(|e| e.to_string())? {
                        say(&format!("{}  {}  {}", t.id, t.name, t.created_at));
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Token { command: TokenCommand::Create { tenant, role, label } } => {
            let state = state(config).await?;
            let role = Role::parse(&role).map_err(|e| e.to_string())?;
            let tenant = tenant.as_deref().map(tenant_id).transpose()?;
            match (role, tenant) {
                (Role::Operator, Some(_)) => return Err("the operator role has no tenant".into()),
                (Role::Admin | Role::Dpo | Role::Recruiter, None) => {
                    return Err("--tenant is required for this role".into());
                }
                (Role::Operator, None) | (Role::Admin | Role::Dpo | Role::Recruiter, Some(_)) => {}
            }
            if let Some(t) = tenant
                && state.app.tenant_config(t).await.is_err()
            {
                return Err(format!("tenant {t} does not exist"));
            }
            let (id, token) =
                crate::api::tokens::issue_token(&state, tenant, role, &label).await.map_err(|e| e.message)?;
            say(&format!("token {id} ({}), shown once: {token}", role.as_str()));
            Ok(ExitCode::SUCCESS)
        }
        Command::Retention { command: RetentionCommand::Run { tenant, dry_run } } => {
            let state = state(config).await?;
            let tenants = match tenant {
                Some(t) => vec![tenant_id(&t)?],
                None => all_tenants(&state).await?,
            };
            for t in tenants {
                let c = state.app.run_retention(t, Actor::System, dry_run).await.map_err(|e| e.to_string())?;
                say(&format!(
                    "{t}: examined {} restricted {} erased {} held {}{}",
                    c.examined,
                    c.restricted,
                    c.erased,
                    c.held,
                    if dry_run { " (dry run)" } else { "" }
                ));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::RecordsOfProcessing { tenant, format } => {
            let markdown = match format.as_str() {
                "json" => false,
                "markdown" | "md" => true,
                _ => return Err("--format must be json or markdown".into()),
            };
            let state = state(config).await?;
            say(&records_of_processing(&state, tenant_id(&tenant)?, markdown).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::PrivacyNotice { tenant, language } => {
            let state = state(config).await?;
            say(&privacy_notice(&state, tenant_id(&tenant)?, &language).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::SubjectRequests { command: SubjectRequestCommand::Due { tenant, within_days } } => {
            if !(1..=90).contains(&within_days) {
                return Err("--within-days must be 1 to 90".into());
            }
            let state = state(config).await?;
            let (lines, overdue) = due_subject_requests(&state, tenant_id(&tenant)?, within_days).await?;
            for line in &lines {
                say(line);
            }
            Ok(if overdue { ExitCode::from(2) } else { ExitCode::SUCCESS })
        }
        Command::Templates { command: TemplatesCommand::Sync { tenant } } => {
            let state = state(config).await?;
            let only = tenant.as_deref().map(tenant_id).transpose()?;
            let mut failed = false;
            for (t, channel) in state.channels.all().await.map_err(|e| e.to_string())? {
                if only.is_some_and(|o| o != t) {
                    continue;
                }
                match crate::api::templates::sync(&state, t, channel).await {
                    Ok(n) => say(&format!("{t} channel {channel}: {n} templates")),
                    Err(e) => {
                        failed = true;
                        say(&format!("{t} channel {channel}: sync failed: {e}"));
                    }
                }
            }
            Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
        Command::Audit { command } => {
            let state = state(config).await?;
            match command {
                AuditCommand::Verify { tenant } => {
                    let tenants = match tenant {
                        Some(t) => vec![tenant_id(&t)?],
                        None => all_tenants(&state).await?,
                    };
                    let mut ok = true;
                    for t in tenants {
                        match state
                            .platform
                            .verify_audit(t, &state.signer.public_key())
                            .await
                            .map_err(|e| e.to_string())?
                        {
                            VerifyOutcome::Ok(r) => {
                                say(&format!(
                                    "{t}: OK, {} entries, {} checkpoints matched",
                                    r.entries_verified, r.checkpoints_matched
                                ));
                            }
                            VerifyOutcome::Broken(b) => {
                                ok = false;
                                say(&format!("{t}: BROKEN: {b}"));
                            }
                        }
                    }
                    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
                }
                AuditCommand::Checkpoint { tenant } => {
                    let t = tenant_id(&tenant)?;
                    let signed = state
                        .platform
                        .checkpoint(t, &state.signer, state.clock.now())
                        .await
                        .map_err(|e| e.to_string())?;
                    say(&signed.to_json().map_err(|e| e.to_string())?);
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
    }
}

async fn serve(config: Config, dev: bool, migrate: bool) -> Result<ExitCode, String> {
    if dev {
        return serve_dev(config).await;
    }
    if migrate {
        wiring::migrate(&config).await?;
    }
    let listen = config.listen;
    let state = state(config).await?;
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let running = crate::start(state, listener, true).await.map_err(|e| e.to_string())?;
    tracing::info!(addr = %running.addr, "hoheit serving");
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down: finishing in-flight requests and sends");
    running.stop().await;
    Ok(ExitCode::SUCCESS)
}

async fn serve_dev(config: Config) -> Result<ExitCode, String> {
    tracing::warn!("DEVELOPMENT MODE: a simulated 360Dialog answers; no real WhatsApp message leaves this machine");
    let mut options = crate::harness::HarnessOptions::new(config.data_dir.clone());
    options.listen = config.listen.to_string();
    options.database_url = config.database_url.clone();
    let h = crate::harness::Harness::start(options).await?;
    let existing = h.state.queries.tenants().await.map_err(|e| e.to_string())?;
    say(&format!("hoheit --dev at {} (simulator at {})", h.base, h.sim.base_url()));
    if existing.iter().any(|t| t.name == "Dev GmbH") {
        say("the dev tenant exists already; create tokens with `hoheit token create --tenant <id> --role <role>`");
    } else {
        let tenant = h.state.app.create_tenant(Actor::System, "Dev GmbH").await.map_err(|e| e.to_string())?;
        // no channel sends without a privacy-notice link and a privacy contact (R15)
        h.state
            .app
            .update_settings(
                tenant.id,
                Actor::System,
                tenant.retention.clone(),
                tenant.messaging.clone(),
                Some("datenschutz@dev.example".to_owned()),
                Some("https://dev.example/datenschutz".to_owned()),
            )
            .await
            .map_err(|e| e.to_string())?;
        say(&format!("dev tenant {} (tokens are shown once):", tenant.id));
        say(&format!("  operator:  {}", h.token(None, Role::Operator).await?));
        for role in [Role::Admin, Role::Dpo, Role::Recruiter] {
            say(&format!("  {:<9}  {}", format!("{}:", role.as_str()), h.token(Some(tenant.id), role).await?));
        }
        say(&format!("  simulator phone_number_id for POST /api/v1/channels: {}", h.sim.phone_number_id()));
    }
    let _ = tokio::signal::ctrl_c().await;
    h.stop().await;
    Ok(ExitCode::SUCCESS)
}

async fn all_tenants(state: &AppState) -> Result<Vec<TenantId>, String> {
    Ok(state.queries.tenants().await.map_err(|e| e.to_string())?.into_iter().map(|t| t.id).collect())
}
