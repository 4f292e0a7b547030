//! The tenant configuration: `tenants` (with the tenant key in `tenant_keys`, created with the
//! tenant), `channels` (sealed with the tenant key), `legal_texts` and `templates`.

use std::sync::Arc;

use hoheit_domain::ids::{ChannelId, TenantId};
use hoheit_domain::legal::{LegalText, LegalTextCatalogue};
use hoheit_domain::ports::{ConfigChange, DuplicateKey, StoreError, TenantConfig};
use hoheit_domain::template::{Template, TemplateCatalogue};
use hoheit_domain::tenant::{Channel, Tenant};
use sea_orm::{ConnectionTrait, EntityTrait};

use crate::batch::Write;
use crate::codec::{db_error, from_json, id_bytes, is_unique_violation, micros, to_json, to_json_bytes, uuid_from};
use crate::crypto::{KeyBytes, TenantKey};
use crate::entity::{self, scoped};
use crate::shared::{Shared, stmt};

/// Applies a change set's configuration changes.
pub(crate) async fn apply(w: &mut Write<'_>, changes: &[ConfigChange]) -> Result<(), StoreError> {
    for change in changes {
        w.ctx.config_changed.insert(w.tenant_id);
        match change {
            ConfigChange::Tenant(value) => save_tenant(w, value).await?,
            ConfigChange::Channel(channel) => save_channel(w, channel).await?,
            ConfigChange::LegalText(text) => publish_legal_text(w, text).await?,
            ConfigChange::Templates { channel, templates } => replace_templates(w, *channel, templates).await?,
            ConfigChange::RescheduleRetention => super::candidates::reschedule_retention(w).await?,
        }
    }
    Ok(())
}

/// Inserts or replaces the tenant; creates its key the first time.
async fn save_tenant(w: &mut Write<'_>, value: &Tenant) -> Result<(), StoreError> {
    w.own(value.id)?;
    let err = |e: sea_orm::DbErr| db_error(&e);
    w.exec(
        "INSERT INTO tenants (id, name, settings, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, settings = excluded.settings",
        vec![w.t(), value.name.clone().into(), to_json(value)?.into(), micros(value.created_at).into()],
    )
    .await
    .map_err(err)?;
    let has_key = w.ctx.tenant_keys.contains_key(&w.tenant)
        || w.txn
            .query_one_raw(stmt(w.backend(), "SELECT 1 AS one FROM tenant_keys WHERE tenant_id = $1", vec![w.t()]))
            .await
            .map_err(err)?
            .is_some();
    if !has_key {
        let key = KeyBytes::random();
        let wrapped = w.shared.master.wrap(w.tenant, &key);
        w.exec(
            "INSERT INTO tenant_keys (tenant_id, key_version, master_version, wrapped) VALUES ($1, 1, $2, $3)",
            vec![w.t(), i64::from(w.shared.master.version()).into(), wrapped.into()],
        )
        .await
        .map_err(err)?;
        w.ctx.tenant_keys.insert(w.tenant, Arc::new(TenantKey::new(w.tenant, key, 1)));
    }
    Ok(())
}

/// Inserts or replaces a channel (sealed with the tenant key: it holds the display number).
async fn save_channel(w: &mut Write<'_>, channel: &Channel) -> Result<(), StoreError> {
    w.own(channel.tenant)?;
    let key = w.tenant_key().await?;
    let id = channel.id.as_uuid();
    let sealed = key.seal("channels", id, "data", &to_json_bytes(channel)?);
    w.exec(
        "INSERT INTO channels (id, tenant_id, phone_number_id, data, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO UPDATE SET data = excluded.data, phone_number_id = excluded.phone_number_id \
         WHERE channels.tenant_id = excluded.tenant_id",
        vec![
            id_bytes(id).into(),
            w.t(),
            channel.phone_number_id.clone().into(),
            sealed.into(),
            micros(channel.created_at).into(),
        ],
    )
    .await
    .map_err(|e| if is_unique_violation(&e) { StoreError::Duplicate(DuplicateKey::Id) } else { db_error(&e) })?;
    Ok(())
}

/// Adds a legal text version; a published version is immutable.
async fn publish_legal_text(w: &mut Write<'_>, text: &LegalText) -> Result<(), StoreError> {
    w.exec(
        "INSERT INTO legal_texts (id, tenant_id, kind, version, language, data, published_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        vec![
            id_bytes(text.id.as_uuid()).into(),
            w.t(),
            text.kind.as_str().into(),
            text.version.as_str().into(),
            text.language.as_str().into(),
            to_json(text)?.into(),
            micros(text.published_at).into(),
        ],
    )
    .await
    .map_err(|e| {
        if is_unique_violation(&e) { StoreError::Duplicate(DuplicateKey::LegalTextVersion) } else { db_error(&e) }
    })?;
    Ok(())
}

/// Replaces a channel's synced templates.
async fn replace_templates(w: &mut Write<'_>, channel: ChannelId, templates: &[Template]) -> Result<(), StoreError> {
    let err = |e: sea_orm::DbErr| db_error(&e);
    w.exec(
        "DELETE FROM templates WHERE tenant_id = $1 AND channel_id = $2",
        vec![w.t(), id_bytes(channel.as_uuid()).into()],
    )
    .await
    .map_err(err)?;
    for template in templates {
        w.exec(
            "INSERT INTO templates (tenant_id, channel_id, name, language, data) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (channel_id, name, language) DO UPDATE SET data = excluded.data",
            vec![
                w.t(),
                id_bytes(channel.as_uuid()).into(),
                template.name.as_str().into(),
                template.language.as_str().into(),
                to_json(template)?.into(),
            ],
        )
        .await
        .map_err(err)?;
    }
    Ok(())
}

/// Reads a tenant's configuration, or `None` if the tenant does not exist.
pub(crate) async fn load(shared: &Shared, tenant: TenantId) -> Result<Option<TenantConfig>, StoreError> {
    let t = tenant.as_uuid();
    let db = &shared.db;
    let Some(row) = entity::tenants::Entity::find_by_id(id_bytes(t)).one(db).await.map_err(|e| db_error(&e))? else {
        return Ok(None);
    };
    let tenant_value: Tenant = from_json("tenant", row.settings.as_bytes())?;
    let key = shared.tenant_key(db, t).await?;
    let mut channels = Vec::new();
    for c in scoped::<entity::channels::Entity>(t).all(db).await.map_err(|e| db_error(&e))? {
        let id = uuid_from(&c.id)?;
        let plain =
            key.open("channels", id, "data", &c.data).map_err(|e| StoreError::Corrupt(format!("channel: {e}")))?;
        channels.push(from_json::<Channel>("channel", &plain)?);
    }
    channels.sort_by_key(|c| c.created_at);
    let mut texts = Vec::new();
    for l in scoped::<entity::legal_texts::Entity>(t).all(db).await.map_err(|e| db_error(&e))? {
        texts.push(from_json::<LegalText>("legal text", l.data.as_bytes())?);
    }
    let mut templates = Vec::new();
    for tpl in scoped::<entity::templates::Entity>(t).all(db).await.map_err(|e| db_error(&e))? {
        templates.push(from_json::<Template>("template", tpl.data.as_bytes())?);
    }
    Ok(Some(TenantConfig {
        tenant: tenant_value,
        channels,
        legal_texts: LegalTextCatalogue::new(texts),
        templates: TemplateCatalogue::new(templates),
    }))
}
