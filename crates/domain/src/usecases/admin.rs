//! Tenant administration: the tenant, its channels and the DPO's approval (R1), legal texts
//! (R5-R7), settings (R23-R28, R36) and templates (R21).

use super::permitted;
use super::{Hoheit, Recorder, UseCaseError};
use crate::access::Action;
use crate::actor::Actor;
use crate::credential::{CredentialSettings, check_dpo_independence};
use crate::events::DomainEvent;
use crate::ids::{ChannelId, LegalTextId, StaffId, TenantId};
use crate::legal::{LegalTextKind, LegalTextVersion};
use crate::ports::{ChangeSet, ConfigChange, TenantConfig};
use crate::retention::RetentionSettings;
use crate::rules::Rule;
use crate::template::{Template, notice_in_text, rendered_consent_body};
use crate::tenant::{
    ApprovalError, ApprovalInput, Channel, ChannelApproval, ConsentTemplate, MessagingSettings, Tenant,
};
use crate::values::{LanguageCode, PhoneNumber, TemplateName};

/// A channel to register.
#[derive(Debug, Clone)]
pub struct ChannelInput {
    /// The business number.
    pub display_phone_number: PhoneNumber,
    /// Meta's phone number id.
    pub phone_number_id: String,
    /// The consent-request template.
    pub consent_template: ConsentTemplate,
}

/// A legal text to publish.
#[derive(Debug, Clone)]
pub struct LegalTextInput {
    /// Kind.
    pub kind: LegalTextKind,
    /// Version label.
    pub version: LegalTextVersion,
    /// Language.
    pub language: LanguageCode,
    /// The exact text.
    pub body: String,
    /// Where it is published.
    pub url: Option<String>,
    /// Whether consents on earlier versions must be renewed (R7). Default true.
    pub material: bool,
}

impl Hoheit {
    /// Creates a tenant with privacy-by-default settings (R36).
    pub async fn create_tenant(&self, actor: Actor, name: &str) -> Result<Tenant, UseCaseError> {
        let now = self.now();
        let tenant = Tenant::new(self.new_id(), name, now)?;
        let events = vec![Recorder::new(tenant.id, None, actor, now).rule(Rule::R36, DomainEvent::TenantCreated)];
        self.commit_config(tenant.id, ConfigChange::Tenant(Box::new(tenant.clone())), events).await?;
        Ok(tenant)
    }

    /// The tenant's configuration.
    pub async fn tenant_config(&self, tenant: TenantId) -> Result<std::sync::Arc<TenantConfig>, UseCaseError> {
        self.config(tenant).await
    }

    /// Changes retention and messaging settings (validated against the ranges of RULES.md). Every
    /// candidate becomes due for a retention check under the new settings.
    pub async fn update_settings(
        &self,
        tenant: TenantId,
        actor: Actor,
        retention: RetentionSettings,
        messaging: MessagingSettings,
        privacy_contact: Option<String>,
        privacy_notice_url: Option<String>,
    ) -> Result<Tenant, UseCaseError> {
        retention.validate()?;
        messaging.validate()?;
        let (privacy_contact, privacy_notice_url) =
            crate::tenant::privacy_details(privacy_contact, privacy_notice_url)?;
        let config = self.config(tenant).await?;
        let mut updated = config.tenant.clone();
        let now = self.now();
        updated.retention = retention;
        updated.messaging = messaging;
        updated.privacy_contact = privacy_contact;
        updated.privacy_notice_url = privacy_notice_url;
        let mut config_changes =
            vec![ConfigChange::Tenant(Box::new(updated.clone())), ConfigChange::RescheduleRetention];
        // a consent-request template that renders the link as a parameter carries the notice only
        // with a link configured: its mark follows the settings (R15)
        for channel in &config.channels {
            let consent = &channel.consent_template;
            let mut templates: Vec<Template> =
                config.templates.templates().iter().filter(|t| t.channel == channel.id).cloned().collect();
            let mut changed = false;
            for t in &mut templates {
                if t.name == consent.name && t.language == consent.language {
                    let derived = rendered_consent_body(t, &updated.name, updated.privacy_notice_url.as_deref())
                        .is_some_and(|body| notice_in_text(&body, updated.privacy_notice_url.as_deref()));
                    changed |= derived != t.carries_notice;
                    t.carries_notice = derived;
                }
            }
            if changed {
                config_changes.push(ConfigChange::Templates { channel: channel.id, templates });
            }
        }
        let changes = ChangeSet {
            config: config_changes,
            events: vec![Recorder::new(tenant, None, actor, now).rule(Rule::R23, DomainEvent::SettingsChanged)],
            ..ChangeSet::default()
        };
        self.store.commit(tenant, changes).await?;
        Ok(updated)
    }

    /// Registers a WhatsApp number. It cannot send until the DPO approves it (R1).
    pub async fn register_channel(
        &self,
        tenant: TenantId,
        actor: Actor,
        input: ChannelInput,
    ) -> Result<Channel, UseCaseError> {
        permitted(actor, Action::RegisterChannel, "only an admin registers a number")?;
        let config = self.config(tenant).await?;
        let phone_number_id = input.phone_number_id.trim();
        if phone_number_id.is_empty() || phone_number_id.len() > 64 {
            return Err(UseCaseError::Invalid("phone_number_id must be 1-64 characters".into()));
        }
        if config.channels.iter().any(|c| c.phone_number_id == phone_number_id) {
            return Err(UseCaseError::Conflict("a channel with this phone_number_id exists"));
        }
        let now = self.now();
        let channel = Channel {
            id: self.new_id(),
            tenant,
            display_phone_number: input.display_phone_number,
            phone_number_id: phone_number_id.to_owned(),
            consent_template: input.consent_template,
            approval: None,
            created_at: now,
            registered_by: match actor {
                Actor::Staff { id, .. } => Some(id),
                Actor::System | Actor::Candidate => None,
            },
        };
        let events =
            vec![Recorder::new(tenant, None, actor, now).note(DomainEvent::ChannelRegistered { channel: channel.id })];
        self.commit_config(tenant, ConfigChange::Channel(Box::new(channel.clone())), events).await?;
        Ok(channel)
    }

    /// Records the DPO's approval of a channel (R1). Only the DPO role may do this. The creator
    /// of the approving credential is unknown here; [`Self::approve_channel_as`] checks it.
    pub async fn approve_channel(
        &self,
        tenant: TenantId,
        actor: Actor,
        channel: ChannelId,
        input: ApprovalInput,
    ) -> Result<Channel, UseCaseError> {
        self.approve_channel_as(tenant, actor, channel, input, None).await
    }

    /// Records the DPO's approval of a channel (R1), with the creator of the approving DPO's
    /// credential: if the channel's registering admin created it, the approval is refused with
    /// [`UseCaseError::DpoNotIndependent`] unless the tenant configured "DPO appointed by the
    /// admin". The creator is kept in the approval.
    pub async fn approve_channel_as(
        &self,
        tenant: TenantId,
        actor: Actor,
        channel: ChannelId,
        input: ApprovalInput,
        dpo_credential_created_by: Option<StaffId>,
    ) -> Result<Channel, UseCaseError> {
        let Actor::Staff { id: staff, role } = actor else {
            return Err(UseCaseError::Forbidden("only the data-protection officer can approve a channel"));
        };
        let config = self.config(tenant).await?;
        let mut channel = config.channel(channel).cloned().ok_or(UseCaseError::NotFound("channel"))?;
        let now = self.now();
        let approval =
            ChannelApproval::record(role, staff, input, &config.tenant.messaging, now).map_err(|e| match e {
                ApprovalError::NotDpo => {
                    UseCaseError::Forbidden("only the data-protection officer can approve a channel")
                }
                ApprovalError::Incomplete | ApprovalError::ReviewInPast => UseCaseError::Invalid(e.to_string()),
            })?;
        check_dpo_independence(channel.registered_by, dpo_credential_created_by, &config.tenant.credentials)
            .map_err(|_| UseCaseError::DpoNotIndependent)?;
        let mut approval = approval;
        approval.dpo_credential_created_by = dpo_credential_created_by;
        let review_at = approval.review_at;
        channel.approval = Some(approval);
        let events = vec![
            Recorder::new(tenant, None, actor, now)
                .rule(Rule::R1, DomainEvent::ChannelApproved { channel: channel.id, review_at }),
        ];
        self.commit_config(tenant, ConfigChange::Channel(Box::new(channel.clone())), events).await?;
        Ok(channel)
    }

    /// Revokes the approval: the channel stops sending at once (R1), also for queued messages,
    /// because the dispatcher decides again.
    pub async fn revoke_approval(
        &self,
        tenant: TenantId,
        actor: Actor,
        channel: ChannelId,
    ) -> Result<Channel, UseCaseError> {
        permitted(
            actor,
            Action::RevokeApproval,
            "only the data-protection officer or an admin can revoke an approval",
        )?;
        let config = self.config(tenant).await?;
        let mut channel = config.channel(channel).cloned().ok_or(UseCaseError::NotFound("channel"))?;
        let now = self.now();
        match channel.approval.as_mut() {
            Some(approval) if approval.revoked_at.is_none() => approval.revoked_at = Some(now),
            Some(_) | None => {
                return Err(UseCaseError::Conflict("the channel has no approval in force"));
            }
        }
        let events = vec![
            Recorder::new(tenant, None, actor, now)
                .rule(Rule::R1, DomainEvent::ChannelApprovalRevoked { channel: channel.id }),
        ];
        self.commit_config(tenant, ConfigChange::Channel(Box::new(channel.clone())), events).await?;
        Ok(channel)
    }

    /// Publishes a legal text version. Consent-request texts are checked against R6; published
    /// versions are immutable.
    pub async fn publish_legal_text(
        &self,
        tenant: TenantId,
        actor: Actor,
        input: LegalTextInput,
    ) -> Result<crate::legal::LegalText, UseCaseError> {
        permitted(actor, Action::PublishLegalText, "only an admin publishes legal texts")?;
        let config = self.config(tenant).await?;
        let now = self.now();
        let id: LegalTextId = self.new_id();
        let text = config.legal_texts.prepare(
            id,
            input.kind,
            input.version,
            input.language,
            input.body,
            input.url,
            input.material,
            &config.tenant.name,
            now,
        )?;
        let rule = match input.kind {
            LegalTextKind::ConsentRequest => Rule::R6,
            LegalTextKind::Terms | LegalTextKind::PrivacyNotice => Rule::R7,
        };
        let events =
            vec![Recorder::new(tenant, None, actor, now).rule(
                rule,
                DomainEvent::LegalTextPublished { text: text.id, kind: text.kind, material: text.material },
            )];
        self.commit_config(tenant, ConfigChange::LegalText(Box::new(text.clone())), events).await?;
        Ok(text)
    }

    /// Replaces a channel's templates with a fresh sync from the provider, keeping the tenant's
    /// notice marks.
    pub async fn sync_templates(
        &self,
        tenant: TenantId,
        actor: Actor,
        channel: ChannelId,
        templates: Vec<Template>,
    ) -> Result<u32, UseCaseError> {
        let config = self.config(tenant).await?;
        config.channel(channel).ok_or(UseCaseError::NotFound("channel"))?;
        let consent = config.channel(channel).ok_or(UseCaseError::NotFound("channel"))?.consent_template.clone();
        let mut catalogue = config.templates.clone();
        let was_marked = catalogue.find(channel, &consent.name, &consent.language).is_some_and(|t| t.carries_notice);
        // the consent-request template's notice mark follows its synced text (R15)
        catalogue.replace_channel_with_consent(
            channel,
            templates.into_iter().filter(|t| t.channel == channel).collect(),
            (&consent.name, &consent.language),
            &config.tenant.name,
            config.tenant.privacy_notice_url.as_deref(),
        );
        let marked = catalogue.find(channel, &consent.name, &consent.language).is_some_and(|t| t.carries_notice);
        let synced: Vec<Template> = catalogue.templates().iter().filter(|t| t.channel == channel).cloned().collect();
        let count = u32::try_from(synced.len()).unwrap_or(u32::MAX);
        let now = self.now();
        let record = Recorder::new(tenant, None, actor, now);
        let mut events = vec![record.rule(Rule::R21, DomainEvent::TemplatesSynced { channel, count })];
        if marked != was_marked {
            events.push(record.rule(Rule::R15, DomainEvent::TemplateNoticeMarked { channel, carries_notice: marked }));
        }
        self.commit_config(tenant, ConfigChange::Templates { channel, templates: synced }, events).await?;
        Ok(count)
    }

    /// Marks whether a template carries the Art. 13 / Art. 21(4) notice (R15). The channel's
    /// consent-request template must carry it: unmarking it is refused.
    pub async fn mark_template_notice(
        &self,
        tenant: TenantId,
        actor: Actor,
        channel: ChannelId,
        name: &TemplateName,
        language: &LanguageCode,
        carries_notice: bool,
    ) -> Result<Template, UseCaseError> {
        let config = self.config(tenant).await?;
        let consent = &config.channel(channel).ok_or(UseCaseError::NotFound("channel"))?.consent_template;
        if consent.name == *name && consent.language == *language {
            // the consent-request template's mark is derived from its synced text, never set (R15)
            let derived = config.templates.find(channel, name, language).is_some_and(|t| {
                rendered_consent_body(t, &config.tenant.name, config.tenant.privacy_notice_url.as_deref())
                    .is_some_and(|body| notice_in_text(&body, config.tenant.privacy_notice_url.as_deref()))
            });
            if !carries_notice {
                return Err(UseCaseError::Conflict(
                    "the consent-request template must carry the Art. 13 / Art. 21(4) notice",
                ));
            }
            if !derived {
                return Err(UseCaseError::Conflict(
                    "the consent-request template's synced text lacks the privacy-notice link or the objection \
                     hint (STOPP); change the template at WhatsApp and sync again",
                ));
            }
        }
        let mut templates: Vec<Template> =
            config.templates.templates().iter().filter(|t| t.channel == channel).cloned().collect();
        let template = templates
            .iter_mut()
            .find(|t| t.name == *name && t.language == *language)
            .ok_or(UseCaseError::NotFound("template"))?;
        if template.carries_notice == carries_notice {
            return Ok(template.clone());
        }
        template.carries_notice = carries_notice;
        let updated = template.clone();
        let now = self.now();
        let events = vec![
            Recorder::new(tenant, None, actor, now)
                .rule(Rule::R15, DomainEvent::TemplateNoticeMarked { channel, carries_notice }),
        ];
        self.commit_config(tenant, ConfigChange::Templates { channel, templates }, events).await?;
        Ok(updated)
    }

    /// Changes the tenant's credential rules (token lifetime maximum, "DPO appointed by the
    /// admin"); audited as `credential.settings_changed` (R1), shown in the Art. 30 record.
    /// Admin or DPO.
    pub async fn update_credential_settings(
        &self,
        tenant: TenantId,
        actor: Actor,
        settings: CredentialSettings,
    ) -> Result<Tenant, UseCaseError> {
        permitted(
            actor,
            Action::ChangeCredentialSettings,
            "only an admin or the data-protection officer can change credential settings",
        )?;
        settings.validate()?;
        let config = self.config(tenant).await?;
        if config.tenant.credentials == settings {
            return Ok(config.tenant.clone());
        }
        let mut updated = config.tenant.clone();
        updated.credentials = settings;
        let event = DomainEvent::CredentialSettingsChanged {
            dpo_appointed_by_admin: settings.dpo_appointed_by_admin,
            token_max_days: settings.token_max_days,
        };
        let events = vec![Recorder::new(tenant, None, actor, self.now()).rule(Rule::R1, event)];
        self.commit_config(tenant, ConfigChange::Tenant(Box::new(updated.clone())), events).await?;
        Ok(updated)
    }

    /// Records credential events (a token issued, revoked, expired, refused; an invitation issued
    /// or accepted) in the tenant's audit chain (R33, R34). The credentials themselves live in
    /// the server's platform store; this is their audit trail.
    pub async fn record_credential_events(
        &self,
        tenant: TenantId,
        actor: Actor,
        events: Vec<DomainEvent>,
    ) -> Result<(), UseCaseError> {
        if events.iter().any(|e| !e.is_credential_event()) {
            return Err(UseCaseError::Invalid("not a credential event".into()));
        }
        let now = self.now();
        let record = Recorder::new(tenant, None, actor, now);
        self.commit_events(tenant, events.into_iter().map(|e| record.rule(Rule::R33, e)).collect()).await
    }
}
