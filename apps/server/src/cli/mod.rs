//! The `hoheit` command line: `serve`, `demo`, `migrate`, tenants, tokens, retention, the
//! audit log, the accountability documents, the subject-request register, templates, a tenant
//! admin's staff management (an API client) and the OpenAPI document. `main.rs` only calls [`run`].

mod documents;
mod staff;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use hoheit_domain::credential::{BreakGlassReason, InvitationOrigin};
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
    /// Staff accounts of your tenant, as its admin: a client of the JSON API at `--url` (or
    /// `HOHEIT_CLI_URL`, else the configured public URL) with your own token in `HOHEIT_CLI_TOKEN`.
    Staff {
        /// The server's base URL, e.g. https://hoheit.example.de.
        #[arg(long)]
        url: Option<String>,
        #[command(subcommand)]
        command: staff::StaffCommand,
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
    /// Create a tenant and print the invitation for its first admin (single use, 72 h): hand it
    /// to the employer's admin, who accepts it (`POST /api/v1/invitations/accept`). The operator
    /// never holds a tenant credential.
    Create {
        /// The employer's name.
        #[arg(long)]
        name: String,
        /// Also invite the first DPO (appointed independently of the admin, R1).
        #[arg(long)]
        invite_dpo: bool,
    },
    /// List tenants.
    List,
    /// Break glass: a new admin invitation for a tenant that lost its admin. Audited in the
    /// tenant's chain (`invitation.issued`, origin `break_glass`, with the reason) and listed to
    /// the tenant's admin and DPO (`GET /api/v1/invitations`).
    BreakGlass {
        /// Tenant id.
        #[arg(long)]
        tenant: String,
        /// lost_admin, admin_left or compromised.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an operator token (printed once; audited in the operator's chain). Tenant
    /// credentials are never minted by the operator: they come from invitations.
    Create {
        /// Refused: tenant credentials come from invitations (kept to say so clearly).
        #[arg(long)]
        tenant: Option<String>,
        /// operator (admin, dpo and recruiter are refused).
        #[arg(long)]
        role: String,
        /// Label.
        #[arg(long, default_value = "cli")]
        label: String,
        /// Lifetime in days (default 90).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List tokens without secrets: the operator's, or a tenant's (id, role, label, creator,
    /// times, state).
    List {
        /// Tenant id (default: the operator's tokens).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke a token (effective on every replica within 2 s; audited in the tenant's chain, or
    /// the operator's for an operator token).
    Revoke {
        /// Token id.
        #[arg(long)]
        id: String,
        /// The token's tenant (omit for an operator token).
        #[arg(long)]
        tenant: Option<String>,
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
            if passed {
                // a populated inbox for the newcomer who ran the demo (issue 17 item 7)
                let mut options = crate::harness::HarnessOptions::new(config.data_dir.clone());
                options.database_url = config.database_url.clone();
                let links = config.public_url.clone().unwrap_or_else(|| format!("http://{}", config.listen));
                // the journey passed: a database that cannot take the sample data is said, not failed
                match crate::devdata::leave(options, &links).await {
                    Ok(lines) => lines.iter().for_each(|line| say(line)),
                    Err(e) => say(&format!("the development tenant was not left in the configured database: {e}")),
                }
            }
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
        Command::Staff { url, command } => {
            let fallback = config.public_url.clone().unwrap_or_else(|| format!("http://{}", config.listen));
            let target = staff::ApiTarget::from_env(url, fallback)?;
            for line in staff::run(command, &target).await? {
                say(&line);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Tenant { command } => {
            let state = state(config).await?;
            match command {
                TenantCommand::Create { name, invite_dpo } => {
                    let tenant = state.app.create_tenant(Actor::System, &name).await.map_err(|e| e.to_string())?;
                    say(&format!("tenant {}", tenant.id));
                    let mut roles = vec![Role::Admin];
                    if invite_dpo {
                        roles.push(Role::Dpo);
                    }
                    for role in roles {
                        let (invitation, secret) = crate::credentials::invite(
                            &state,
                            tenant.id,
                            role,
                            InvitationOrigin::TenantCreated,
                            None,
                            Actor::System,
                        )
                        .await
                        .map_err(|e| e.message)?;
                        say(&format!(
                            "{} invitation (single use, until {}; shown once): {secret}",
                            role.as_str(),
                            crate::api::fmt_time(invitation.expires_at)
                        ));
                    }
                }
                TenantCommand::List => {
                    for t in state.queries.tenants().await.map_err(|e| e.to_string())? {
                        say(&format!("{}  {}  {}", t.id, t.name, t.created_at));
                    }
                }
                TenantCommand::BreakGlass { tenant, reason } => {
                    let t = tenant_id(&tenant)?;
                    let reason = BreakGlassReason::parse(&reason).map_err(|e| e.to_string())?;
                    if state.app.tenant_config(t).await.is_err() {
                        return Err(format!("tenant {t} does not exist"));
                    }
                    let (invitation, secret) = crate::credentials::invite(
                        &state,
                        t,
                        Role::Admin,
                        InvitationOrigin::BreakGlass,
                        Some(reason),
                        Actor::System,
                    )
                    .await
                    .map_err(|e| e.message)?;
                    say(&format!(
                        "break-glass admin invitation for {t} (audited, shown to the tenant's DPO; single use, until {}; \
                         shown once): {secret}",
                        crate::api::fmt_time(invitation.expires_at)
                    ));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Token { command } => token_command(command, config).await,
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
                    // the operator's own chain (operator credentials)
                    match state
                        .platform
                        .verify_platform_audit(&state.signer.public_key())
                        .await
                        .map_err(|e| e.to_string())?
                    {
                        Ok(r) => say(&format!("platform: OK, {} entries", r.entries_verified)),
                        Err(b) => {
                            ok = false;
                            say(&format!("platform: BROKEN: {b}"));
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
    if let Some(dev) = existing.iter().find(|t| t.name == crate::devdata::DEV_TENANT) {
        say(
            "the dev tenant exists already; its admin issues tokens (POST /api/v1/tokens); a lost admin: `hoheit tenant break-glass`",
        );
        say(&format!("  sign in:   {}/signin?tenant={}", h.base, dev.id));
    } else {
        for line in crate::devdata::set_up(&h, &h.base).await? {
            say(&line);
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    h.stop().await;
    Ok(ExitCode::SUCCESS)
}

async fn token_command(command: TokenCommand, config: Config) -> Result<ExitCode, String> {
    let state = state(config).await?;
    match command {
        TokenCommand::Create { tenant, role, label, expires_in_days } => {
            let role = Role::parse(&role).map_err(|e| e.to_string())?;
            let tenant = tenant.as_deref().map(tenant_id).transpose()?;
            crate::credentials::operator_mint_allowed(role, tenant)?;
            let issued = crate::credentials::issue(&state, None, role, &label, Actor::System, expires_in_days)
                .await
                .map_err(|e| e.message)?;
            let until = issued.expires_at.map(crate::api::fmt_time).unwrap_or_default();
            say(&format!("token {} ({}, until {until}), shown once: {}", issued.id, role.as_str(), issued.secret));
        }
        TokenCommand::List { tenant } => {
            let tenant = tenant.as_deref().map(tenant_id).transpose()?;
            let now = state.clock.now();
            for r in state.platform.tokens(tenant).await.map_err(|e| e.to_string())? {
                let state = hoheit_domain::credential::TokenState::at(r.revoked_at, r.token.expires_at, now);
                let time = |t: Option<time::OffsetDateTime>| t.map_or_else(|| "-".to_owned(), crate::api::fmt_time);
                say(&format!(
                    "{}  {:<9}  {:<7}  created {}  by {}  expires {}  last used {}  {}",
                    r.token.id,
                    r.token.role.as_str(),
                    state.as_str(),
                    crate::api::fmt_time(r.created_at),
                    r.token.created_by.map_or_else(|| "-".to_owned(), |s| s.to_string()),
                    time(r.token.expires_at),
                    time(r.last_used_at),
                    r.token.label,
                ));
            }
        }
        TokenCommand::Revoke { id, tenant } => {
            let tenant = tenant.as_deref().map(tenant_id).transpose()?;
            let id: hoheit_domain::ids::StaffId = id.parse().map_err(|_| format!("'{id}' is not a token id"))?;
            crate::credentials::revoke(&state, tenant, id, Actor::System).await.map_err(|e| e.message)?;
            say(&format!("token {id} revoked"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn all_tenants(state: &AppState) -> Result<Vec<TenantId>, String> {
    Ok(state.queries.tenants().await.map_err(|e| e.to_string())?.into_iter().map(|t| t.id).collect())
}
