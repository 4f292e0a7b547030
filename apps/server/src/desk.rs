//! The browser console's desk ([`hoheit_web::desk::Desk`]): the tenant's audit log, its
//! verification and signed checkpoints, the Art. 15/20 export document and the API tokens,
//! served from the same ports, signer and credential code as the JSON API, so that both hand out
//! the same bytes and audit the same way.

use async_trait::async_trait;
use hoheit_audit::{DecodedActor, DecodedEntry};
use hoheit_domain::actor::Actor;
use hoheit_domain::credential::TokenState;
use hoheit_domain::ids::StaffId;
use hoheit_domain::ids::{CandidateId, TenantId};
use hoheit_domain::ports::StoreError;
use hoheit_domain::staff::SecretText;
use hoheit_domain::usecases::UseCaseError;
use hoheit_persistence::VerifyOutcome;
use hoheit_web::desk::{AuditFilter, AuditLine, ChainState, NewChannel, Refused, RegisteredChannel, TokenLine};

use crate::api::channels::{CreateChannel, TemplateRef};

use crate::state::AppState;

/// The desk over the server's state.
pub struct Desk(pub AppState);

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Desk")
    }
}

/// How many entries one read looks at before the action filter (the console's pages are small).
const SCAN: u64 = 20_000;

fn line(e: DecodedEntry) -> AuditLine {
    let (actor, staff) = match e.actor {
        DecodedActor::System => ("system".to_owned(), None),
        DecodedActor::Candidate => ("candidate".to_owned(), None),
        DecodedActor::Staff { id, role } => (role, Some(id.to_string())),
    };
    let details = e
        .details
        .into_iter()
        .map(|(k, v)| {
            let v = match serde_json::to_value(&v) {
                Ok(serde_json::Value::String(s)) => s,
                Ok(other) => other.to_string(),
                Err(_) => String::new(),
            };
            (k, v)
        })
        .collect();
    AuditLine { seq: e.seq, at: e.at, actor, staff, action: e.action, subject: e.subject, rule: e.rule, details }
}

#[async_trait]
impl hoheit_web::desk::Desk for Desk {
    async fn entries(&self, tenant: TenantId, filter: &AuditFilter) -> Result<Vec<AuditLine>, UseCaseError> {
        let entries = self.0.platform.audit_entries(tenant, filter.subject, filter.from, filter.to, SCAN).await?;
        let action = filter.action.as_deref().unwrap_or_default();
        Ok(entries.into_iter().rev().filter(|e| e.action.starts_with(action)).take(filter.limit).map(line).collect())
    }

    async fn verify(&self, tenant: TenantId) -> Result<ChainState, UseCaseError> {
        Ok(match self.0.platform.verify_audit(tenant, &self.0.signer.public_key()).await? {
            VerifyOutcome::Ok(r) => ChainState::Intact {
                entries: r.entries_verified,
                checkpoints: r.checkpoints_matched,
                anchored: r.anchored_seq,
            },
            VerifyOutcome::Broken(b) => ChainState::Broken { seq: b.position(), what: b.to_string() },
        })
    }

    async fn checkpoint(&self, tenant: TenantId) -> Result<String, UseCaseError> {
        let now = hoheit_domain::ports::Clock::now(self.0.clock.as_ref());
        let signed = self.0.platform.checkpoint(tenant, &self.0.signer, now).await?;
        signed.to_json().map_err(|_| UseCaseError::Store(StoreError::Corrupt("checkpoint not serialisable".into())))
    }

    async fn last_checkpoint(&self, tenant: TenantId) -> Result<Option<(u64, time::OffsetDateTime)>, UseCaseError> {
        let all = self.0.platform.checkpoints(tenant).await?;
        Ok(all.last().map(|c| (c.checkpoint().seq(), c.checkpoint().at())))
    }

    fn public_key_pem(&self) -> String {
        self.0.signer.public_key().to_pem()
    }

    async fn subject_export(
        &self,
        tenant: TenantId,
        actor: Actor,
        candidate: CandidateId,
    ) -> Result<Vec<u8>, UseCaseError> {
        let doc = crate::api::subject_requests::export_document(&self.0, tenant, actor, candidate).await?;
        serde_json::to_vec(&doc).map_err(|_| UseCaseError::Store(StoreError::Corrupt("export not serialisable".into())))
    }

    async fn register_channel(
        &self,
        tenant: TenantId,
        actor: Actor,
        channel: NewChannel,
    ) -> Result<RegisteredChannel, Refused> {
        let body = CreateChannel {
            display_phone_number: channel.display_phone_number,
            phone_number_id: channel.phone_number_id,
            api_key: channel.api_key.expose().to_owned(),
            base_url: None,
            consent_template: TemplateRef {
                name: channel.consent_template,
                language: channel.consent_template_language,
            },
            webhook_hmac_secret: None,
        };
        match crate::api::channels::register(&self.0, tenant, actor, body).await {
            Ok(c) => Ok(RegisteredChannel {
                webhook_url_path: c.webhook_url_path,
                webhook_secret_header: c.webhook_secret_header,
                webhook_secret: SecretText::from(c.webhook_secret),
                webhook_registered: c.webhook_registered,
                templates_synced: c.templates_synced,
            }),
            Err(e) => Err(Refused { status: e.status.as_u16(), code: e.code, message: e.message }),
        }
    }

    async fn tokens(&self, tenant: TenantId) -> Result<Vec<TokenLine>, UseCaseError> {
        let now = hoheit_domain::ports::Clock::now(self.0.clock.as_ref());
        let mut tokens: Vec<TokenLine> = self
            .0
            .platform
            .tokens(Some(tenant))
            .await?
            .into_iter()
            .map(|r| TokenLine {
                id: r.token.id,
                role: r.token.role,
                label: r.token.label.clone(),
                created_at: r.created_at,
                expires_at: r.token.expires_at,
                last_used_at: r.last_used_at,
                state: TokenState::at(r.revoked_at, r.token.expires_at, now),
            })
            .collect();
        tokens.sort_by_key(|t| std::cmp::Reverse(t.created_at));
        Ok(tokens)
    }

    async fn revoke_token(&self, tenant: TenantId, actor: Actor, token: StaffId) -> Result<(), UseCaseError> {
        crate::credentials::revoke(&self.0, Some(tenant), token, actor).await.map_err(|e| {
            if e.status == axum::http::StatusCode::NOT_FOUND {
                UseCaseError::NotFound("token")
            } else {
                UseCaseError::Conflict("the token could not be revoked")
            }
        })
    }
}
