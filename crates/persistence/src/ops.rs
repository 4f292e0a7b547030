//! Operations the server needs beyond the domain ports: API tokens, channel credentials and
//! webhook routes, the audit log's read side, verification and checkpoints, leases for work that
//! must not run twice across replicas, health, and master-key rotation. These are `SeaStore`'s
//! public methods; reads of the domain's tables (audit log, candidate list, review queue, media
//! fetch queue) are done by their table modules in [`crate::tables`], while `api_tokens`,
//! `channel_credentials`, `leases` and `tenant_keys` rotation are this module's own.

use hoheit_audit::{ChainBreak, ChainHead, CheckpointKey, DecodedEntry, SignedCheckpoint, VerifyReport};
use hoheit_domain::ids::{CandidateId, ChannelId, MediaId, TenantId};
use hoheit_domain::ports::StoreError;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Value};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::codec::{db_error, from_json, from_micros, id_bytes, micros, uuid_from};
use crate::credentials::token_hash;
use crate::crypto::MasterKey;
use crate::entity;
use crate::shared::stmt;
use crate::store::SeaStore;
use crate::tables;
pub use crate::tables::candidates::CandidateSummary;
use crate::tables::candidates::Listing;

/// What hoheit needs to talk to 360Dialog for one channel and to authenticate its webhooks.
/// Stored sealed with the tenant key.
#[derive(Clone)]
pub struct ChannelCredentials {
    /// The channel's `D360-API-KEY`.
    pub api_key: SecretString,
    /// API base URL (default 360Dialog's).
    pub base_url: Option<String>,
    /// The secret header value 360Dialog sends with each webhook.
    pub webhook_secret: SecretString,
    /// Optional HMAC secret for `x-360dialog-signature`.
    pub hmac_secret: Option<SecretString>,
}

impl std::fmt::Debug for ChannelCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelCredentials").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

/// Audit entries as the DPO reads them.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRead {
    /// Entries, decoded.
    pub entries: Vec<DecodedEntry>,
}

/// The result of verifying a tenant's chain.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum VerifyOutcome {
    /// The chain verifies.
    Ok(VerifyReport),
    /// The first break.
    Broken(ChainBreak),
}

/// Deadline counts across all tenants, for the metrics gauges (no personal data).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeadlineCounts {
    /// Open objection reviews (R16).
    pub reviews_open: u64,
    /// Open objection reviews past their due time.
    pub reviews_overdue: u64,
    /// Open or extended subject requests past their due date (R29).
    pub subject_requests_overdue: u64,
    /// Open or extended subject requests due within the "soon" horizon, not yet overdue.
    pub subject_requests_due_soon: u64,
    /// Media files waiting to be fetched.
    pub media_pending: u64,
    /// Candidates whose legal-hold review is due (R26).
    pub legal_hold_reviews_due: u64,
}

impl SeaStore {
    /// Whether the database accepts writes (for `/readyz`). `SELECT 1` is not enough: a
    /// SQLite file that is read-only, locked by another process or failing with I/O errors, and a
    /// PostgreSQL standby, still answer reads. So the probe commits a real (tiny) write: a
    /// counter in the `leases` table under a name no lease uses.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.shared
            .db
            .execute_unprepared(
                "INSERT INTO leases (name, holder, until_at) VALUES ('readiness-probe', '-', 0) \
                 ON CONFLICT (name) DO UPDATE SET until_at = leases.until_at + 1",
            )
            .await
            .map(|_| ())
            .map_err(|e| db_error(&e))
    }

    /// Tenants for the operator: id, name, creation time. No personal data.
    pub async fn tenants(&self) -> Result<Vec<(TenantId, String, OffsetDateTime)>, StoreError> {
        let rows = entity::tenants::Entity::find()
            .order_by_asc(entity::tenants::Column::CreatedAt)
            .all(&self.shared.db)
            .await
            .map_err(|e| db_error(&e))?;
        rows.into_iter()
            .map(|r| Ok((TenantId::from_uuid(uuid_from(&r.id)?), r.name, from_micros(r.created_at)?)))
            .collect()
    }

    /// Stores a channel's credentials and webhook route (the route token is stored as a hash).
    pub async fn save_channel_credentials(
        &self,
        tenant: TenantId,
        channel: ChannelId,
        route_token: &str,
        credentials: &ChannelCredentials,
    ) -> Result<(), StoreError> {
        let t = tenant.as_uuid();
        let key = self.shared.tenant_key(&self.shared.db, t).await?;
        let json =
            serde_json::to_vec(&SerCreds::from(credentials)).map_err(|_| StoreError::Corrupt("credentials".into()))?;
        let sealed = key.seal("channel_credentials", channel.as_uuid(), "data", &json);
        self.shared
            .db
            .execute_raw(stmt(
                self.shared.backend,
                "INSERT INTO channel_credentials (channel_id, tenant_id, route_hash, data) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (channel_id) DO UPDATE SET route_hash = excluded.route_hash, data = excluded.data \
                 WHERE channel_credentials.tenant_id = excluded.tenant_id",
                vec![
                    id_bytes(channel.as_uuid()).into(),
                    id_bytes(t).into(),
                    token_hash(route_token).into(),
                    sealed.into(),
                ],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        Ok(())
    }

    /// The channel a webhook route token belongs to, with its credentials.
    pub async fn channel_by_route(
        &self,
        route_token: &str,
    ) -> Result<Option<(TenantId, ChannelId, ChannelCredentials)>, StoreError> {
        let row = entity::channel_credentials::Entity::find()
            .filter(entity::channel_credentials::Column::RouteHash.eq(token_hash(route_token)))
            .one(&self.shared.db)
            .await
            .map_err(|e| db_error(&e))?;
        let Some(row) = row else { return Ok(None) };
        self.decode_credentials(&row).await.map(Some)
    }

    /// Every channel's credentials (to build the gateway registry at start).
    pub async fn all_channel_credentials(&self) -> Result<Vec<(TenantId, ChannelId, ChannelCredentials)>, StoreError> {
        let rows = entity::channel_credentials::Entity::find().all(&self.shared.db).await.map_err(|e| db_error(&e))?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.decode_credentials(row).await?);
        }
        Ok(out)
    }

    async fn decode_credentials(
        &self,
        row: &entity::channel_credentials::Model,
    ) -> Result<(TenantId, ChannelId, ChannelCredentials), StoreError> {
        let tenant = uuid_from(&row.tenant_id)?;
        let channel = uuid_from(&row.channel_id)?;
        let key = self.shared.tenant_key(&self.shared.db, tenant).await?;
        let plain = key
            .open("channel_credentials", channel, "data", &row.data)
            .map_err(|e| StoreError::Corrupt(format!("channel credentials: {e}")))?;
        let creds: SerCreds = from_json("channel credentials", &plain)?;
        Ok((TenantId::from_uuid(tenant), ChannelId::from_uuid(channel), creds.into()))
    }

    /// The head of a tenant's audit chain.
    pub async fn audit_head(&self, tenant: TenantId) -> Result<ChainHead, StoreError> {
        tables::audit::head(&self.shared, tenant).await
    }

    /// Keeps a checkpoint that was handed out.
    pub async fn save_checkpoint(&self, checkpoint: &SignedCheckpoint) -> Result<(), StoreError> {
        tables::audit::save_checkpoint(&self.shared, checkpoint).await
    }

    /// The checkpoints handed out for a tenant, oldest first.
    pub async fn checkpoints(&self, tenant: TenantId) -> Result<Vec<SignedCheckpoint>, StoreError> {
        tables::audit::checkpoints(&self.shared, tenant).await
    }

    /// Audit entries of a tenant, optionally of one subject and/or a time range, oldest first.
    pub async fn audit_entries(
        &self,
        tenant: TenantId,
        subject: Option<CandidateId>,
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
        limit: u64,
    ) -> Result<AuditRead, StoreError> {
        let entries = tables::audit::entries(&self.shared, tenant, subject, from, to, limit).await?;
        Ok(AuditRead { entries })
    }

    /// Streams a tenant's chain through the verifier, page by page (bounded memory), against
    /// the given checkpoints (the stored ones plus any the DPO supplies).
    pub async fn verify_audit(
        &self,
        tenant: TenantId,
        checkpoints: Vec<SignedCheckpoint>,
        key: &CheckpointKey,
    ) -> Result<VerifyOutcome, StoreError> {
        Ok(match tables::audit::verify(&self.shared, tenant, checkpoints, key).await? {
            Ok(report) => VerifyOutcome::Ok(report),
            Err(chain_break) => VerifyOutcome::Broken(chain_break),
        })
    }

    /// Takes or renews a named lease (e.g. "retention") until `until` if it is free, expired or
    /// already ours. Works the same on SQLite and PostgreSQL; used so that work runs on one
    /// replica at a time.
    pub async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let r = self
            .shared
            .db
            .execute_raw(stmt(
                self.shared.backend,
                "INSERT INTO leases (name, holder, until_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_at = excluded.until_at \
                 WHERE leases.until_at <= $4 OR leases.holder = excluded.holder",
                vec![name.into(), holder.into(), micros(until).into(), micros(now).into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        Ok(r.rows_affected() > 0)
    }

    /// Gives a lease back.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.shared
            .db
            .execute_raw(stmt(
                self.shared.backend,
                "DELETE FROM leases WHERE name = $1 AND holder = $2",
                vec![name.into(), holder.into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        Ok(())
    }

    /// How many leases whose name starts with `prefix` are held at `now` (e.g. the live
    /// replicas, each holding `dispatcher:<instance>`).
    pub async fn live_leases(&self, prefix: &str, now: OffsetDateTime) -> Result<u64, StoreError> {
        let pattern = format!("{}%", prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let row = self
            .shared
            .db
            .query_one_raw(stmt(
                self.shared.backend,
                "SELECT COUNT(*) AS n FROM leases WHERE name LIKE $1 ESCAPE '\\' AND until_at > $2",
                vec![pattern.into(), micros(now).into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        let n: i64 = row.map(|r| r.try_get("", "n")).transpose().map_err(|e| db_error(&e))?.unwrap_or(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Entries waiting in the outbox (for metrics).
    pub async fn outbox_depth(&self) -> Result<u64, StoreError> {
        let row = self
            .shared
            .db
            .query_one_raw(stmt(self.shared.backend, "SELECT COUNT(*) AS n FROM outbox", vec![]))
            .await
            .map_err(|e| db_error(&e))?;
        let n: i64 = row.map(|r| r.try_get("", "n")).transpose().map_err(|e| db_error(&e))?.unwrap_or(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Media files due to be fetched (pending, next attempt reached), across tenants, oldest
    /// first: (tenant, media).
    pub async fn pending_media(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<(TenantId, MediaId)>, StoreError> {
        tables::media::pending(&self.shared, now, limit).await
    }

    /// Deadline counts across all tenants at `now`; "due soon" means due before `soon`.
    pub async fn deadline_counts(
        &self,
        now: OffsetDateTime,
        soon: OffsetDateTime,
    ) -> Result<DeadlineCounts, StoreError> {
        let count = |sql: &'static str, values: Vec<Value>| async move {
            let row =
                self.shared.db.query_one_raw(stmt(self.shared.backend, sql, values)).await.map_err(|e| db_error(&e))?;
            let n: i64 = row.map(|r| r.try_get("", "n")).transpose().map_err(|e| db_error(&e))?.unwrap_or(0);
            Ok::<u64, StoreError>(u64::try_from(n).unwrap_or(0))
        };
        let (now, soon) = (micros(now), micros(soon));
        Ok(DeadlineCounts {
            reviews_open: count("SELECT COUNT(*) AS n FROM candidates WHERE review_due_at IS NOT NULL", vec![]).await?,
            reviews_overdue: count(
                "SELECT COUNT(*) AS n FROM candidates WHERE review_due_at IS NOT NULL AND review_due_at <= $1",
                vec![now.into()],
            )
            .await?,
            subject_requests_overdue: count(
                "SELECT COUNT(*) AS n FROM subject_requests WHERE status IN ('open', 'extended') AND due_at <= $1",
                vec![now.into()],
            )
            .await?,
            subject_requests_due_soon: count(
                "SELECT COUNT(*) AS n FROM subject_requests WHERE status IN ('open', 'extended') \
                 AND due_at > $1 AND due_at <= $2",
                vec![now.into(), soon.into()],
            )
            .await?,
            media_pending: count("SELECT COUNT(*) AS n FROM media WHERE status = 'pending'", vec![]).await?,
            legal_hold_reviews_due: count(
                "SELECT COUNT(*) AS n FROM candidates WHERE hold_review_at IS NOT NULL AND hold_review_at <= $1",
                vec![now.into()],
            )
            .await?,
        })
    }

    /// A page of the tenant's candidates in creation order (ids are UUIDv7), starting after
    /// `after`; restricted ones (archived, R25; Art. 18) only if `include_restricted`, erased ones
    /// never. Reads clear columns only: no key is unwrapped.
    pub async fn list_candidates(
        &self,
        tenant: TenantId,
        include_restricted: bool,
        after: Option<CandidateId>,
        limit: u64,
    ) -> Result<Vec<CandidateSummary>, StoreError> {
        tables::candidates::list(&self.shared, tenant, include_restricted, Listing::Created(after), limit).await
    }

    /// A page of the tenant's candidates newest activity first, by (last activity, id) descending,
    /// starting after the position `after`; restricted ones only if `include_restricted`, erased
    /// ones never. Reads clear columns only: no key is unwrapped.
    pub async fn list_candidates_by_activity(
        &self,
        tenant: TenantId,
        include_restricted: bool,
        after: Option<(OffsetDateTime, CandidateId)>,
        only: Option<hoheit_domain::ports::ActivityFilter>,
        limit: u64,
    ) -> Result<Vec<CandidateSummary>, StoreError> {
        tables::candidates::list(&self.shared, tenant, include_restricted, Listing::Activity(after, only), limit).await
    }

    /// Candidates with an open objection review, for the review queue (R16): (candidate, due).
    pub async fn open_reviews(&self, tenant: TenantId) -> Result<Vec<(CandidateId, OffsetDateTime)>, StoreError> {
        tables::candidates::open_reviews(&self.shared, tenant).await
    }

    /// Candidates of the tenant whose legal-hold review is due at `now` (R26), earliest first:
    /// (candidate, review date). Clear columns only.
    pub async fn due_legal_holds(
        &self,
        tenant: TenantId,
        now: OffsetDateTime,
    ) -> Result<Vec<(CandidateId, OffsetDateTime)>, StoreError> {
        tables::candidates::due_holds(&self.shared, tenant, now).await
    }

    /// Re-wraps every tenant key from this store's master key to `new` (rotation). Message rows
    /// are not touched: they are sealed with candidate keys, which are sealed with tenant keys.
    /// Returns how many tenant keys were re-wrapped. Restart with the new key afterwards.
    pub async fn rotate_master_key(&self, new: &MasterKey) -> Result<u64, StoreError> {
        let rows = entity::tenant_keys::Entity::find().all(&self.shared.db).await.map_err(|e| db_error(&e))?;
        let mut count = 0;
        for row in rows {
            let tenant = uuid_from(&row.tenant_id)?;
            let key = self
                .shared
                .master
                .unwrap_key(tenant, &row.wrapped)
                .map_err(|e| StoreError::Corrupt(format!("tenant key: {e}")))?;
            let wrapped = new.wrap(tenant, &key);
            self.shared
                .db
                .execute_raw(stmt(
                    self.shared.backend,
                    "UPDATE tenant_keys SET wrapped = $2, master_version = $3 WHERE tenant_id = $1",
                    vec![id_bytes(tenant).into(), wrapped.into(), Value::from(i64::from(new.version()))],
                ))
                .await
                .map_err(|e| db_error(&e))?;
            count += 1;
        }
        self.shared.tenant_keys.clear();
        Ok(count)
    }
}

/// Serialisable form of the credentials (secrets exposed only into the sealed blob).
#[derive(Serialize, Deserialize)]
struct SerCreds {
    api_key: String,
    base_url: Option<String>,
    webhook_secret: String,
    hmac_secret: Option<String>,
}

impl From<&ChannelCredentials> for SerCreds {
    fn from(c: &ChannelCredentials) -> Self {
        Self {
            api_key: c.api_key.expose_secret().to_owned(),
            base_url: c.base_url.clone(),
            webhook_secret: c.webhook_secret.expose_secret().to_owned(),
            hmac_secret: c.hmac_secret.as_ref().map(|s| s.expose_secret().to_owned()),
        }
    }
}

impl From<SerCreds> for ChannelCredentials {
    fn from(c: SerCreds) -> Self {
        Self {
            api_key: SecretString::from(c.api_key),
            base_url: c.base_url,
            webhook_secret: SecretString::from(c.webhook_secret),
            hmac_secret: c.hmac_secret.map(SecretString::from),
        }
    }
}
