//! Identity provider settings and pending OpenID Connect sign-ins (issue 16, migration m0010).
//! Both are sealed with the tenant key: the settings because they carry the client secret, the
//! pending sign-ins because they carry the PKCE verifier, the nonce and possibly an invitation
//! secret. A pending sign-in is found by the SHA-256 of its `state` and deleted as it is read
//! (`DELETE ... RETURNING`), so it is handed out once across all replicas.

use hoheit_domain::idp::IdpSettings;
use hoheit_domain::ids::TenantId;
use hoheit_domain::ports::StoreError;
use sea_orm::ConnectionTrait as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::codec::{db_error, from_json, from_micros, id_bytes, micros, uuid_from};
use crate::credentials::token_hash;
use crate::shared::stmt;
use crate::store::SeaStore;

/// The settings as sealed: the domain's settings plus the client secret.
#[derive(Serialize, Deserialize)]
struct SealedSettings {
    settings: IdpSettings,
    client_secret: Option<String>,
}

/// A tenant's identity provider settings with the client secret (exposed to the caller, which
/// wraps it as a secret type at once).
pub struct StoredIdpSettings {
    /// The settings.
    pub settings: IdpSettings,
    /// The client secret, if one was stored.
    pub client_secret: Option<Zeroizing<String>>,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

impl std::fmt::Debug for StoredIdpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredIdpSettings")
            .field("settings", &self.settings)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "<redacted>"))
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

impl SeaStore {
    /// A tenant's identity provider settings, if any.
    pub async fn idp_settings(&self, tenant: TenantId) -> Result<Option<StoredIdpSettings>, StoreError> {
        let t = tenant.as_uuid();
        let row = self
            .shared
            .db
            .query_one_raw(stmt(
                self.shared.backend,
                "SELECT data, updated_at FROM idp_settings WHERE tenant_id = $1",
                vec![id_bytes(t).into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        let Some(row) = row else { return Ok(None) };
        let data: Vec<u8> = row.try_get("", "data").map_err(|e| db_error(&e))?;
        let updated_at: i64 = row.try_get("", "updated_at").map_err(|e| db_error(&e))?;
        let key = self.shared.tenant_key(&self.shared.db, t).await?;
        let plain = key
            .open("idp_settings", t, "data", &data)
            .map_err(|e| StoreError::Corrupt(format!("identity provider settings: {e}")))?;
        let sealed: SealedSettings = from_json("identity provider settings", &plain)?;
        Ok(Some(StoredIdpSettings {
            settings: sealed.settings,
            client_secret: sealed.client_secret.map(Zeroizing::new),
            updated_at: from_micros(updated_at)?,
        }))
    }

    /// Stores a tenant's settings. `client_secret`: `Some` replaces the stored secret, `None`
    /// keeps it.
    pub async fn save_idp_settings(
        &self,
        tenant: TenantId,
        settings: &IdpSettings,
        client_secret: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let t = tenant.as_uuid();
        let kept = match client_secret {
            Some(secret) => Some(Zeroizing::new(secret.to_owned())),
            None => self.idp_settings(tenant).await?.and_then(|s| s.client_secret),
        };
        let json = Zeroizing::new(
            serde_json::to_vec(&SealedSettings {
                settings: settings.clone(),
                client_secret: kept.as_ref().map(|s| s.as_str().to_owned()),
            })
            .map_err(|_| StoreError::Corrupt("identity provider settings".into()))?,
        );
        let key = self.shared.tenant_key(&self.shared.db, t).await?;
        let sealed = key.seal("idp_settings", t, "data", &json);
        self.shared
            .db
            .execute_raw(stmt(
                self.shared.backend,
                "INSERT INTO idp_settings (tenant_id, data, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (tenant_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
                vec![id_bytes(t).into(), sealed.into(), micros(now).into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        Ok(())
    }

    /// Keeps a pending sign-in (`data`: the caller's serialised record) under its state.
    pub async fn put_pending_login(
        &self,
        tenant: TenantId,
        state: &str,
        data: &[u8],
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let t = tenant.as_uuid();
        let hash = token_hash(state);
        let key = self.shared.tenant_key(&self.shared.db, t).await?;
        // bound to the state's hash, so a row cannot be moved under another state
        let row = uuid::Uuid::from_slice(hash.get(..16).unwrap_or_default()).unwrap_or_default();
        let sealed = key.seal("oidc_pending_logins", row, "data", data);
        self.shared
            .db
            .execute_raw(stmt(
                self.shared.backend,
                "INSERT INTO oidc_pending_logins (state_hash, tenant_id, data, created_at) VALUES ($1, $2, $3, $4)",
                vec![hash.into(), id_bytes(t).into(), sealed.into(), micros(now).into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        Ok(())
    }

    /// Takes the pending sign-in with this state: deleted as it is read, so a second call (on any
    /// replica) finds nothing. Returns the tenant and the caller's record.
    pub async fn take_pending_login(
        &self,
        state: &str,
    ) -> Result<Option<(TenantId, Zeroizing<Vec<u8>>, OffsetDateTime)>, StoreError> {
        let hash = token_hash(state);
        let row = self
            .shared
            .db
            .query_one_raw(stmt(
                self.shared.backend,
                "DELETE FROM oidc_pending_logins WHERE state_hash = $1 RETURNING tenant_id, data, created_at",
                vec![hash.clone().into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        let Some(row) = row else { return Ok(None) };
        let tenant: Vec<u8> = row.try_get("", "tenant_id").map_err(|e| db_error(&e))?;
        let data: Vec<u8> = row.try_get("", "data").map_err(|e| db_error(&e))?;
        let created_at: i64 = row.try_get("", "created_at").map_err(|e| db_error(&e))?;
        let t = uuid_from(&tenant)?;
        let key = self.shared.tenant_key(&self.shared.db, t).await?;
        let bound = uuid::Uuid::from_slice(hash.get(..16).unwrap_or_default()).unwrap_or_default();
        let plain = key
            .open("oidc_pending_logins", bound, "data", &data)
            .map_err(|e| StoreError::Corrupt(format!("pending sign-in: {e}")))?;
        Ok(Some((TenantId::from_uuid(t), plain, from_micros(created_at)?)))
    }

    /// Deletes pending sign-ins started before `before`; how many.
    pub async fn purge_pending_logins(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let r = self
            .shared
            .db
            .execute_raw(stmt(
                self.shared.backend,
                "DELETE FROM oidc_pending_logins WHERE created_at < $1",
                vec![micros(before).into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        Ok(r.rows_affected())
    }
}
