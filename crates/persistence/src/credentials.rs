//! Credentials (issue 13): API tokens (`api_tokens`: the secret only as SHA-256, with role,
//! label, creator, expiry, last use, revocation), invitations (`invitations`: single-use,
//! expiring, the secret only as SHA-256) and the operator's own audit chain
//! (`platform_audit_entries`), which records operator credentials and which no tenant's chain
//! or API can write to. The tenant's credential events go into the tenant's chain through the
//! domain (`Hoheit::record_credential_events`).

use hoheit_audit::{AuditDraft, ChainHead, EntryHash, StoredEntry, Verifier};
use hoheit_domain::credential::{BreakGlassReason, Invitation, InvitationOrigin};
use hoheit_domain::events::EventEnvelope;
use hoheit_domain::ids::{StaffId, TenantId};
use hoheit_domain::ports::StoreError;
use hoheit_domain::tenant::Role;
use sea_orm::{ConnectionTrait, QueryResult, TransactionTrait, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::codec::{db_error, from_micros, id_bytes, is_unique_violation, micros, uuid_from};
use crate::shared::stmt;
use crate::store::SeaStore;

/// The pseudo-tenant id of the platform operator's audit chain (the nil UUID: no tenant has it).
pub const PLATFORM_CHAIN: TenantId = TenantId::from_uuid(Uuid::nil());

/// A stored API token (the token itself is never stored, only its SHA-256).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// The identity acting with it.
    pub id: StaffId,
    /// Its tenant (`None` for the platform operator).
    pub tenant: Option<TenantId>,
    /// Its role.
    pub role: Role,
    /// A label (`"recruiting team Berlin"`); never personal data by convention.
    pub label: String,
    /// The identity that created it (`None`: the operator's CLI, the system).
    pub created_by: Option<StaffId>,
    /// When it stops working (`None`: never; only development tokens).
    pub expires_at: Option<OffsetDateTime>,
}

/// A token as listed and as presented: the record with its times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// The token.
    pub token: ApiToken,
    /// Issued.
    pub created_at: OffsetDateTime,
    /// Last used (updated at most once a minute).
    pub last_used_at: Option<OffsetDateTime>,
    /// Revoked.
    pub revoked_at: Option<OffsetDateTime>,
}

/// SHA-256 of a secret token (what is stored and looked up).
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn role_from(value: &str) -> Result<Role, StoreError> {
    Role::parse(value).map_err(|_| StoreError::Corrupt("token role".into()))
}

fn opt_id(row: &QueryResult, col: &str) -> Result<Option<Uuid>, StoreError> {
    let v: Option<Vec<u8>> = row.try_get("", col).map_err(|e| db_error(&e))?;
    v.as_deref().map(uuid_from).transpose()
}

fn opt_time(row: &QueryResult, col: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    let v: Option<i64> = row.try_get("", col).map_err(|e| db_error(&e))?;
    v.map(from_micros).transpose()
}

fn get<T: sea_orm::TryGetable>(row: &QueryResult, col: &str) -> Result<T, StoreError> {
    row.try_get("", col).map_err(|e| db_error(&e))
}

const TOKEN_COLUMNS: &str = "id, tenant_id, role, label, created_by, created_at, expires_at, last_used_at, revoked_at";

fn token_from(row: &QueryResult) -> Result<TokenRecord, StoreError> {
    let id: Vec<u8> = get(row, "id")?;
    Ok(TokenRecord {
        token: ApiToken {
            id: StaffId::from_uuid(uuid_from(&id)?),
            tenant: opt_id(row, "tenant_id")?.map(TenantId::from_uuid),
            role: role_from(&get::<String>(row, "role")?)?,
            label: get(row, "label")?,
            created_by: opt_id(row, "created_by")?.map(StaffId::from_uuid),
            expires_at: opt_time(row, "expires_at")?,
        },
        created_at: from_micros(get(row, "created_at")?)?,
        last_used_at: opt_time(row, "last_used_at")?,
        revoked_at: opt_time(row, "revoked_at")?,
    })
}

const INVITATION_COLUMNS: &str = "id, tenant_id, role, origin, reason, created_by, created_at, expires_at, accepted_at";

fn invitation_from(row: &QueryResult) -> Result<Invitation, StoreError> {
    let id: Vec<u8> = get(row, "id")?;
    let tenant: Vec<u8> = get(row, "tenant_id")?;
    let reason: Option<String> = get(row, "reason")?;
    Ok(Invitation {
        id: StaffId::from_uuid(uuid_from(&id)?),
        tenant: TenantId::from_uuid(uuid_from(&tenant)?),
        role: role_from(&get::<String>(row, "role")?)?,
        origin: InvitationOrigin::parse(&get::<String>(row, "origin")?)
            .map_err(|_| StoreError::Corrupt("invitation origin".into()))?,
        reason: reason
            .as_deref()
            .map(BreakGlassReason::parse)
            .transpose()
            .map_err(|_| StoreError::Corrupt("invitation reason".into()))?,
        created_by: opt_id(row, "created_by")?.map(StaffId::from_uuid),
        created_at: from_micros(get(row, "created_at")?)?,
        expires_at: from_micros(get(row, "expires_at")?)?,
        accepted_at: opt_time(row, "accepted_at")?,
    })
}

fn insert_token_stmt(
    backend: sea_orm::DbBackend,
    token: &ApiToken,
    secret: &str,
    now: OffsetDateTime,
) -> sea_orm::Statement {
    stmt(
        backend,
        "INSERT INTO api_tokens (id, tenant_id, role, token_hash, label, created_at, revoked_at, expires_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8)",
        vec![
            id_bytes(token.id.as_uuid()).into(),
            token.tenant.map(|t| id_bytes(t.as_uuid())).into(),
            token.role.as_str().into(),
            token_hash(secret).into(),
            token.label.clone().into(),
            micros(now).into(),
            token.expires_at.map(micros).into(),
            token.created_by.map(|s| id_bytes(s.as_uuid())).into(),
        ],
    )
}

/// The statement that stores an invitation (its secret only as SHA-256); also used by the staff
/// accounts, which store an invited account and its invitation in one transaction.
pub(crate) fn insert_invitation_stmt(
    backend: sea_orm::DbBackend,
    invitation: &Invitation,
    secret: &str,
) -> sea_orm::Statement {
    stmt(
        backend,
        "INSERT INTO invitations (id, tenant_id, role, origin, reason, secret_hash, created_by, created_at, \
         expires_at, accepted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)",
        vec![
            id_bytes(invitation.id.as_uuid()).into(),
            id_bytes(invitation.tenant.as_uuid()).into(),
            invitation.role.as_str().into(),
            invitation.origin.as_str().into(),
            invitation.reason.map(BreakGlassReason::as_str).into(),
            token_hash(secret).into(),
            invitation.created_by.map(|s| id_bytes(s.as_uuid())).into(),
            micros(invitation.created_at).into(),
            micros(invitation.expires_at).into(),
        ],
    )
}

fn duplicate_or(e: &sea_orm::DbErr) -> StoreError {
    if is_unique_violation(e) { StoreError::Duplicate(hoheit_domain::ports::DuplicateKey::Id) } else { db_error(e) }
}

impl SeaStore {
    /// Stores a new API token (by hash).
    pub async fn create_token(&self, token: &ApiToken, secret: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        self.shared
            .db
            .execute_raw(insert_token_stmt(self.shared.backend, token, secret, now))
            .await
            .map_err(|e| duplicate_or(&e))?;
        Ok(())
    }

    /// The token with this secret, whatever its state (the caller decides: a revoked or expired
    /// token presented is an audit entry).
    pub async fn token(&self, secret: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row = self
            .shared
            .db
            .query_one_raw(stmt(
                self.shared.backend,
                &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1"),
                vec![token_hash(secret).into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        row.as_ref().map(token_from).transpose()
    }

    /// The tokens of a tenant (`None`: the operator's), oldest first. No secrets.
    pub async fn tokens(&self, tenant: Option<TenantId>) -> Result<Vec<TokenRecord>, StoreError> {
        let (sql, values): (String, Vec<Value>) = match tenant {
            Some(t) => (
                format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE tenant_id = $1 ORDER BY created_at, id"),
                vec![id_bytes(t.as_uuid()).into()],
            ),
            None => (
                format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE tenant_id IS NULL ORDER BY created_at, id"),
                vec![],
            ),
        };
        let rows =
            self.shared.db.query_all_raw(stmt(self.shared.backend, &sql, values)).await.map_err(|e| db_error(&e))?;
        rows.iter().map(token_from).collect()
    }

    /// Revokes a token of `tenant` (`None`: an operator token). Whether it was active.
    pub async fn revoke_token(
        &self,
        tenant: Option<TenantId>,
        id: StaffId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (sql, mut values): (&str, Vec<Value>) = match tenant {
            Some(t) => (
                "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL AND tenant_id = $3",
                vec![id_bytes(t.as_uuid()).into()],
            ),
            None => (
                "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL AND tenant_id IS NULL",
                vec![],
            ),
        };
        values.insert(0, micros(now).into());
        values.insert(0, id_bytes(id.as_uuid()).into());
        let r = self.shared.db.execute_raw(stmt(self.shared.backend, sql, values)).await.map_err(|e| db_error(&e))?;
        Ok(r.rows_affected() > 0)
    }

    /// Records that the token was used at `now`, unless that was recorded less than a minute ago.
    pub async fn touch_token(&self, id: StaffId, now: OffsetDateTime) -> Result<(), StoreError> {
        let minute_ago = micros(now - time::Duration::minutes(1));
        self.shared
            .db
            .execute_raw(stmt(
                self.shared.backend,
                "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $3)",
                vec![id_bytes(id.as_uuid()).into(), micros(now).into(), minute_ago.into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        Ok(())
    }

    /// Marks the token's expiry as recorded; `true` only for the first caller (across replicas),
    /// which writes the `token.expired` audit entry.
    pub async fn record_token_expiry(&self, id: StaffId, now: OffsetDateTime) -> Result<bool, StoreError> {
        let r = self
            .shared
            .db
            .execute_raw(stmt(
                self.shared.backend,
                "UPDATE api_tokens SET expiry_recorded_at = $2 WHERE id = $1 AND expiry_recorded_at IS NULL",
                vec![id_bytes(id.as_uuid()).into(), micros(now).into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        Ok(r.rows_affected() > 0)
    }

    /// Whether the tenant has an admin credential in force at `now`.
    pub async fn has_active_admin(&self, tenant: TenantId, now: OffsetDateTime) -> Result<bool, StoreError> {
        let row = self
            .shared
            .db
            .query_one_raw(stmt(
                self.shared.backend,
                "SELECT COUNT(*) AS n FROM api_tokens WHERE tenant_id = $1 AND role = 'admin' AND revoked_at IS NULL \
                 AND (expires_at IS NULL OR expires_at > $2)",
                vec![id_bytes(tenant.as_uuid()).into(), micros(now).into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        let n: i64 = row.map(|r| r.try_get("", "n")).transpose().map_err(|e| db_error(&e))?.unwrap_or(0);
        Ok(n > 0)
    }

    /// Stores an invitation (its secret only as SHA-256).
    pub async fn create_invitation(&self, invitation: &Invitation, secret: &str) -> Result<(), StoreError> {
        self.shared
            .db
            .execute_raw(insert_invitation_stmt(self.shared.backend, invitation, secret))
            .await
            .map_err(|e| duplicate_or(&e))?;
        Ok(())
    }

    /// The invitation with this secret, whatever its state.
    pub async fn invitation(&self, secret: &str) -> Result<Option<Invitation>, StoreError> {
        let row = self
            .shared
            .db
            .query_one_raw(stmt(
                self.shared.backend,
                &format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE secret_hash = $1"),
                vec![token_hash(secret).into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        row.as_ref().map(invitation_from).transpose()
    }

    /// The invitations of a tenant, oldest first. No secrets.
    pub async fn invitations(&self, tenant: TenantId) -> Result<Vec<Invitation>, StoreError> {
        let rows = self
            .shared
            .db
            .query_all_raw(stmt(
                self.shared.backend,
                &format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE tenant_id = $1 ORDER BY created_at, id"),
                vec![id_bytes(tenant.as_uuid()).into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        rows.iter().map(invitation_from).collect()
    }

    /// Accepts an invitation and stores its credential in one transaction: `false` (nothing
    /// stored) if it was accepted meanwhile or has expired (single use, also across replicas).
    pub async fn accept_invitation(
        &self,
        invitation: StaffId,
        token: &ApiToken,
        secret: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let b = self.shared.backend;
        let txn = self.shared.db.begin().await.map_err(|e| db_error(&e))?;
        if !crate::credentials::claim_invitation(b, &txn, invitation, now).await? {
            txn.rollback().await.map_err(|e| db_error(&e))?;
            return Ok(false);
        }
        txn.execute_raw(insert_token_stmt(b, token, secret, now)).await.map_err(|e| duplicate_or(&e))?;
        txn.commit().await.map_err(|e| db_error(&e))?;
        Ok(true)
    }

    /// Appends an event to the operator's audit chain (operator credentials). A concurrent
    /// append (another replica) collides on the sequence number and is retried.
    pub async fn append_platform_audit(&self, envelope: &EventEnvelope) -> Result<(), StoreError> {
        let b = self.shared.backend;
        for _ in 0..10 {
            let head = self.platform_head().await?;
            let Some(draft) = AuditDraft::from_event(&EventEnvelope { tenant: PLATFORM_CHAIN, ..envelope.clone() })
            else {
                return Ok(());
            };
            let (entry, _) = hoheit_audit::append(&head, draft, envelope.at)
                .map_err(|e| StoreError::Corrupt(format!("audit: {e}")))?;
            let r = self
                .shared
                .db
                .execute_raw(stmt(
                    b,
                    "INSERT INTO platform_audit_entries (seq, at, action, canonical, hash) VALUES ($1, $2, $3, $4, $5)",
                    vec![
                        i64::try_from(entry.seq()).unwrap_or(i64::MAX).into(),
                        micros(entry.at()).into(),
                        entry.action().into(),
                        entry.canonical_bytes().to_vec().into(),
                        entry.hash().as_bytes().to_vec().into(),
                    ],
                ))
                .await;
            match r {
                Ok(_) => return Ok(()),
                Err(e) if is_unique_violation(&e) => {}
                Err(e) => return Err(db_error(&e)),
            }
        }
        Err(StoreError::Conflict)
    }

    async fn platform_head(&self) -> Result<ChainHead, StoreError> {
        let row = self
            .shared
            .db
            .query_one_raw(stmt(
                self.shared.backend,
                "SELECT seq, hash FROM platform_audit_entries ORDER BY seq DESC LIMIT 1",
                vec![],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        let Some(row) = row else { return Ok(ChainHead::genesis(PLATFORM_CHAIN)) };
        let seq: i64 = get(&row, "seq")?;
        let hash: Vec<u8> = get(&row, "hash")?;
        let hash = EntryHash::from_slice(&hash).map_err(|_| StoreError::Corrupt("platform audit hash".into()))?;
        ChainHead::new(PLATFORM_CHAIN, u64::try_from(seq).unwrap_or(0), hash)
            .map_err(|_| StoreError::Corrupt("platform audit head".into()))
    }

    /// The operator's audit chain, decoded, oldest first.
    pub async fn platform_audit_entries(&self, limit: u64) -> Result<Vec<hoheit_audit::DecodedEntry>, StoreError> {
        let rows = self
            .shared
            .db
            .query_all_raw(stmt(
                self.shared.backend,
                &format!("SELECT canonical FROM platform_audit_entries ORDER BY seq LIMIT {}", limit.min(100_000)),
                vec![],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        rows.iter()
            .map(|r| {
                let canonical: Vec<u8> = get(r, "canonical")?;
                hoheit_audit::decode(&canonical).map_err(|_| StoreError::Corrupt("platform audit entry".into()))
            })
            .collect()
    }

    /// Verifies the operator's audit chain (links and hashes; it has no checkpoints). The number
    /// of entries, or the first break.
    pub async fn verify_platform_audit(
        &self,
        key: &hoheit_audit::CheckpointKey,
    ) -> Result<Result<hoheit_audit::VerifyReport, hoheit_audit::ChainBreak>, StoreError> {
        let rows = self
            .shared
            .db
            .query_all_raw(stmt(
                self.shared.backend,
                "SELECT seq, canonical, hash FROM platform_audit_entries ORDER BY seq",
                vec![],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        let mut verifier = Verifier::new(PLATFORM_CHAIN, vec![], key);
        for row in &rows {
            let seq: i64 = get(row, "seq")?;
            let entry = StoredEntry {
                seq: u64::try_from(seq).unwrap_or(0),
                canonical: get(row, "canonical")?,
                hash: get(row, "hash")?,
            };
            if verifier.push(&entry) == hoheit_audit::Flow::Stop {
                break;
            }
        }
        Ok(verifier.finish())
    }
}

/// Marks an invitation accepted inside `txn` if it is still open (not accepted, not expired):
/// `false` if another request or replica used it first. The caller rolls back then.
pub(crate) async fn claim_invitation(
    backend: sea_orm::DbBackend,
    txn: &sea_orm::DatabaseTransaction,
    invitation: StaffId,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let r = txn
        .execute_raw(stmt(
            backend,
            "UPDATE invitations SET accepted_at = $2 WHERE id = $1 AND accepted_at IS NULL AND expires_at > $2",
            vec![id_bytes(invitation.as_uuid()).into(), micros(now).into()],
        ))
        .await
        .map_err(|e| db_error(&e))?;
    Ok(r.rows_affected() == 1)
}
