//! Staff accounts, recovery codes, sign-in throttles and browser sessions (issue 16): the
//! domain's [`AccountStore`] port. E-mail, name, TOTP secret and identity-provider subject are
//! sealed with the tenant key (AEAD bound to table, row and column); e-mail and subject are found
//! by the tenant's blind index (HMAC), so nothing about a staff member is stored in clear.
//! Throttle keys (e-mail, source address, account) are stored only as blind indexes; session
//! cookie values and recovery codes only as SHA-256. All state is in the database, so it holds
//! on every replica.

use async_trait::async_trait;
use hoheit_domain::credential::Invitation;
use hoheit_domain::ids::{StaffId, TenantId};
use hoheit_domain::ports::{AccountStore, DuplicateKey, StoreError};
use hoheit_domain::staff::{
    Email, IdpBinding, PasswordHash, SecretText, Session, SessionHash, SessionStage, SignInMethod, StaffAccount,
    StaffLanguage, StaffStatus, Throttle, ThrottleKey, TotpEnrolment,
};
use hoheit_domain::tenant::Role;
use hoheit_domain::values::Pii;
use sea_orm::{ConnectionTrait, QueryResult, TransactionTrait, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::codec::{db_error, from_micros, id_bytes, is_unique_violation, micros, uuid_from};
use crate::crypto::TenantKey;
use crate::shared::stmt;
use crate::store::SeaStore;

const TABLE: &str = "staff_accounts";

/// Failures older than this start the count again.
const THROTTLE_MEMORY: time::Duration = time::Duration::hours(24);

const ACCOUNT_COLUMNS: &str = "id, tenant_id, role, status, email_sealed, name_sealed, language, created_by, \
                               appointed_by, created_at, password_hash, totp_sealed, totp_confirmed, totp_last_step, \
                               idp_issuer, idp_subject_sealed, version";

const SESSION_COLUMNS: &str =
    "id, hash, tenant_id, staff_id, stage, method, created_at, last_seen_at, expires_at, user_agent, revoked_at";

fn get<T: sea_orm::TryGetable>(row: &QueryResult, col: &str) -> Result<T, StoreError> {
    row.try_get("", col).map_err(|e| db_error(&e))
}

fn opt_id(row: &QueryResult, col: &str) -> Result<Option<Uuid>, StoreError> {
    let v: Option<Vec<u8>> = get(row, col)?;
    v.as_deref().map(uuid_from).transpose()
}

fn opt_time(row: &QueryResult, col: &str) -> Result<Option<OffsetDateTime>, StoreError> {
    let v: Option<i64> = get(row, col)?;
    v.map(from_micros).transpose()
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("staff account {what}"))
}

fn duplicate_or(e: &sea_orm::DbErr) -> StoreError {
    if is_unique_violation(e) { StoreError::Duplicate(DuplicateKey::Id) } else { db_error(e) }
}

fn email_index(key: &TenantKey, email: &Email) -> Vec<u8> {
    key.blind_index(&format!("staff-email:{}", email.as_str())).to_vec()
}

fn subject_index(key: &TenantKey, issuer: &str, subject: &str) -> Vec<u8> {
    key.blind_index(&format!("idp-subject:{issuer}\u{0}{subject}")).to_vec()
}

fn throttle_index(key: &TenantKey, throttle: &ThrottleKey) -> Vec<u8> {
    let text = match throttle {
        ThrottleKey::Email(_, email) => format!("throttle-email:{}", email.as_str()),
        ThrottleKey::Source(_, source) => format!("throttle-source:{}", source.expose()),
        ThrottleKey::SecondFactor(_, staff) => format!("throttle-2fa:{}", staff.as_uuid()),
    };
    key.blind_index(&text).to_vec()
}

const fn throttle_tenant(key: &ThrottleKey) -> TenantId {
    match key {
        ThrottleKey::Email(t, _) | ThrottleKey::Source(t, _) | ThrottleKey::SecondFactor(t, _) => *t,
    }
}

fn open_text(key: &TenantKey, row: Uuid, column: &str, sealed: &[u8]) -> Result<String, StoreError> {
    let plain = key.open(TABLE, row, column, sealed).map_err(|_| corrupt(column))?;
    String::from_utf8(plain.to_vec()).map_err(|_| corrupt(column))
}

/// The columns of an account row (all but `version`), in [`ACCOUNT_COLUMNS`]' order.
fn account_values(key: &TenantKey, a: &StaffAccount) -> Vec<Value> {
    let id = a.id.as_uuid();
    let (idp_issuer, idp_hash, idp_sealed) = match &a.idp {
        Some(b) => (
            Some(b.issuer.clone()),
            Some(subject_index(key, &b.issuer, b.subject.expose())),
            Some(key.seal(TABLE, id, "idp_subject", b.subject.expose().as_bytes())),
        ),
        None => (None, None, None),
    };
    vec![
        id_bytes(id).into(),
        id_bytes(a.tenant.as_uuid()).into(),
        a.role.as_str().into(),
        a.status.as_str().into(),
        email_index(key, a.email.expose()).into(),
        key.seal(TABLE, id, "email", a.email.expose().as_str().as_bytes()).into(),
        key.seal(TABLE, id, "name", a.display_name.expose().as_bytes()).into(),
        a.language.as_str().into(),
        a.created_by.map(|s| id_bytes(s.as_uuid())).into(),
        a.appointed_by.map(|s| id_bytes(s.as_uuid())).into(),
        micros(a.created_at).into(),
        a.password.as_ref().map(|p| p.as_str().to_owned()).into(),
        a.totp.as_ref().map(|t| key.seal(TABLE, id, "totp", t.secret.expose().as_bytes())).into(),
        i64::from(a.totp.as_ref().is_some_and(|t| t.confirmed)).into(),
        a.totp.as_ref().and_then(|t| t.last_step).map(|s| i64::try_from(s).unwrap_or(i64::MAX)).into(),
        idp_issuer.into(),
        idp_hash.into(),
        idp_sealed.into(),
    ]
}

const INSERT_ACCOUNT: &str = "INSERT INTO staff_accounts (id, tenant_id, role, status, email_hash, email_sealed, \
                              name_sealed, language, created_by, appointed_by, created_at, password_hash, totp_sealed, \
                              totp_confirmed, totp_last_step, idp_issuer, idp_subject_hash, idp_subject_sealed, version) \
                              VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)";

/// Sets every column but tenant, created_by and created_at (the values of [`update_values`]):
/// `$1` is the id, `$16` the new version, `$17` the expected one.
const UPDATE_ACCOUNT: &str = "UPDATE staff_accounts SET role = $2, status = $3, email_hash = $4, email_sealed = $5, \
                              name_sealed = $6, language = $7, appointed_by = $8, password_hash = $9, \
                              totp_sealed = $10, totp_confirmed = $11, totp_last_step = $12, idp_issuer = $13, \
                              idp_subject_hash = $14, idp_subject_sealed = $15, version = $16 \
                              WHERE id = $1 AND version = $17";

/// [`account_values`] without tenant (1), created_by (8) and created_at (10).
fn update_values(key: &TenantKey, a: &StaffAccount, expected: u64) -> Vec<Value> {
    let mut values: Vec<Value> = account_values(key, a)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !matches!(i, 1 | 8 | 10))
        .map(|(_, v)| v)
        .collect();
    values.push(i64::try_from(expected + 1).unwrap_or(i64::MAX).into());
    values.push(i64::try_from(expected).unwrap_or(i64::MAX).into());
    values
}

fn account_from(key: &TenantKey, row: &QueryResult) -> Result<StaffAccount, StoreError> {
    let id = uuid_from(&get::<Vec<u8>>(row, "id")?)?;
    let tenant = uuid_from(&get::<Vec<u8>>(row, "tenant_id")?)?;
    let email = open_text(key, id, "email", &get::<Vec<u8>>(row, "email_sealed")?)?;
    let name = open_text(key, id, "name", &get::<Vec<u8>>(row, "name_sealed")?)?;
    let totp_sealed: Option<Vec<u8>> = get(row, "totp_sealed")?;
    let totp = match totp_sealed {
        Some(sealed) => Some(TotpEnrolment {
            secret: SecretText::new(open_text(key, id, "totp", &sealed)?),
            confirmed: get::<i64>(row, "totp_confirmed")? != 0,
            last_step: get::<Option<i64>>(row, "totp_last_step")?.map(|s| u64::try_from(s).unwrap_or(0)),
        }),
        None => None,
    };
    let issuer: Option<String> = get(row, "idp_issuer")?;
    let subject: Option<Vec<u8>> = get(row, "idp_subject_sealed")?;
    let idp = match (issuer, subject) {
        (Some(issuer), Some(sealed)) => {
            Some(IdpBinding { issuer, subject: Pii::new(open_text(key, id, "idp_subject", &sealed)?) })
        }
        _ => None,
    };
    Ok(StaffAccount {
        id: StaffId::from_uuid(id),
        tenant: TenantId::from_uuid(tenant),
        role: Role::parse(&get::<String>(row, "role")?).map_err(|_| corrupt("role"))?,
        status: StaffStatus::parse(&get::<String>(row, "status")?).map_err(|_| corrupt("status"))?,
        display_name: Pii::new(name),
        email: Pii::new(Email::parse(&email).map_err(|_| corrupt("email"))?),
        language: StaffLanguage::parse(&get::<String>(row, "language")?).map_err(|_| corrupt("language"))?,
        created_by: opt_id(row, "created_by")?.map(StaffId::from_uuid),
        appointed_by: opt_id(row, "appointed_by")?.map(StaffId::from_uuid),
        created_at: from_micros(get(row, "created_at")?)?,
        password: get::<Option<String>>(row, "password_hash")?.map(PasswordHash::new),
        totp,
        idp,
        version: u64::try_from(get::<i64>(row, "version")?).unwrap_or(0),
    })
}

fn session_from(row: &QueryResult) -> Result<Session, StoreError> {
    let hash: Vec<u8> = get(row, "hash")?;
    Ok(Session {
        id: uuid_from(&get::<Vec<u8>>(row, "id")?)?,
        hash: SessionHash(hash.as_slice().try_into().map_err(|_| StoreError::Corrupt("session hash".into()))?),
        tenant: TenantId::from_uuid(uuid_from(&get::<Vec<u8>>(row, "tenant_id")?)?),
        staff: StaffId::from_uuid(uuid_from(&get::<Vec<u8>>(row, "staff_id")?)?),
        stage: SessionStage::parse(&get::<String>(row, "stage")?)
            .map_err(|_| StoreError::Corrupt("session stage".into()))?,
        method: SignInMethod::parse(&get::<String>(row, "method")?)
            .map_err(|_| StoreError::Corrupt("session method".into()))?,
        created_at: from_micros(get(row, "created_at")?)?,
        last_seen_at: from_micros(get(row, "last_seen_at")?)?,
        expires_at: from_micros(get(row, "expires_at")?)?,
        user_agent: get(row, "user_agent")?,
        revoked_at: opt_time(row, "revoked_at")?,
    })
}

fn session_values(s: &Session) -> Vec<Value> {
    vec![
        id_bytes(s.id).into(),
        s.hash.0.to_vec().into(),
        id_bytes(s.tenant.as_uuid()).into(),
        id_bytes(s.staff.as_uuid()).into(),
        s.stage.as_str().into(),
        s.method.as_str().into(),
        micros(s.created_at).into(),
        micros(s.last_seen_at).into(),
        micros(s.expires_at).into(),
        s.user_agent.clone().into(),
    ]
}

const INSERT_SESSION: &str = "INSERT INTO staff_sessions (id, hash, tenant_id, staff_id, stage, method, created_at, \
                              last_seen_at, expires_at, user_agent, revoked_at) \
                              VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL)";

impl SeaStore {
    async fn key(&self, tenant: TenantId) -> Result<std::sync::Arc<TenantKey>, StoreError> {
        self.shared.tenant_key(&self.shared.db, tenant.as_uuid()).await
    }

    async fn one_account(
        &self,
        tenant: TenantId,
        sql: &str,
        values: Vec<Value>,
    ) -> Result<Option<StaffAccount>, StoreError> {
        let key = match self.key(tenant).await {
            Ok(k) => k,
            Err(StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let row =
            self.shared.db.query_one_raw(stmt(self.shared.backend, sql, values)).await.map_err(|e| db_error(&e))?;
        row.as_ref().map(|r| account_from(&key, r)).transpose()
    }

    /// Inserts `account` (version 0), or updates it if its stored version is `expected`;
    /// whether a row was written.
    async fn write_account<C: ConnectionTrait>(
        &self,
        conn: &C,
        account: &StaffAccount,
        expected: Option<u64>,
    ) -> Result<bool, StoreError> {
        let key = self.key(account.tenant).await?;
        let b = self.shared.backend;
        let Some(expected) = expected else {
            let mut values = account_values(&key, account);
            values.push(0_i64.into());
            conn.execute_raw(stmt(b, INSERT_ACCOUNT, values)).await.map_err(|e| duplicate_or(&e))?;
            return Ok(true);
        };
        let r = conn
            .execute_raw(stmt(b, UPDATE_ACCOUNT, update_values(&key, account, expected)))
            .await
            .map_err(|e| duplicate_or(&e))?;
        Ok(r.rows_affected() == 1)
    }
}

#[async_trait]
impl AccountStore for SeaStore {
    async fn create_invited_account(
        &self,
        account: &StaffAccount,
        invitation: &Invitation,
        secret: &str,
    ) -> Result<(), StoreError> {
        let txn = self.shared.db.begin().await.map_err(|e| db_error(&e))?;
        self.write_account(&txn, account, None).await?;
        txn.execute_raw(crate::credentials::insert_invitation_stmt(self.shared.backend, invitation, secret))
            .await
            .map_err(|e| duplicate_or(&e))?;
        txn.commit().await.map_err(|e| db_error(&e))
    }

    async fn invitation(&self, secret: &str) -> Result<Option<Invitation>, StoreError> {
        SeaStore::invitation(self, secret).await
    }

    async fn accept_invitation_account(
        &self,
        invitation: StaffId,
        account: &StaffAccount,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let b = self.shared.backend;
        let txn = self.shared.db.begin().await.map_err(|e| db_error(&e))?;
        if !crate::credentials::claim_invitation(b, &txn, invitation, now).await? {
            txn.rollback().await.map_err(|e| db_error(&e))?;
            return Ok(false);
        }
        let exists = txn
            .query_one_raw(stmt(
                b,
                "SELECT version FROM staff_accounts WHERE id = $1",
                vec![id_bytes(account.id.as_uuid()).into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        match exists {
            Some(row) => {
                let version = u64::try_from(get::<i64>(&row, "version")?).unwrap_or(0);
                if !self.write_account(&txn, account, Some(version)).await? {
                    txn.rollback().await.map_err(|e| db_error(&e))?;
                    return Err(StoreError::Conflict);
                }
            }
            None => {
                self.write_account(&txn, account, None).await?;
            }
        }
        txn.commit().await.map_err(|e| db_error(&e))?;
        Ok(true)
    }

    async fn account(&self, tenant: TenantId, id: StaffId) -> Result<Option<StaffAccount>, StoreError> {
        self.one_account(
            tenant,
            &format!("SELECT {ACCOUNT_COLUMNS} FROM staff_accounts WHERE id = $1 AND tenant_id = $2"),
            vec![id_bytes(id.as_uuid()).into(), id_bytes(tenant.as_uuid()).into()],
        )
        .await
    }

    async fn account_by_id(&self, id: StaffId) -> Result<Option<StaffAccount>, StoreError> {
        let row = self
            .shared
            .db
            .query_one_raw(stmt(
                self.shared.backend,
                "SELECT tenant_id FROM staff_accounts WHERE id = $1",
                vec![id_bytes(id.as_uuid()).into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        let Some(row) = row else { return Ok(None) };
        let tenant = TenantId::from_uuid(uuid_from(&get::<Vec<u8>>(&row, "tenant_id")?)?);
        self.account(tenant, id).await
    }

    async fn account_by_email(&self, tenant: TenantId, email: &Email) -> Result<Option<StaffAccount>, StoreError> {
        let key = match self.key(tenant).await {
            Ok(k) => k,
            Err(StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        self.one_account(
            tenant,
            &format!("SELECT {ACCOUNT_COLUMNS} FROM staff_accounts WHERE tenant_id = $1 AND email_hash = $2"),
            vec![id_bytes(tenant.as_uuid()).into(), email_index(&key, email).into()],
        )
        .await
    }

    async fn account_by_idp(
        &self,
        tenant: TenantId,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<StaffAccount>, StoreError> {
        let key = match self.key(tenant).await {
            Ok(k) => k,
            Err(StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        self.one_account(
            tenant,
            &format!(
                "SELECT {ACCOUNT_COLUMNS} FROM staff_accounts WHERE tenant_id = $1 AND idp_subject_hash = $2 \
                 AND idp_issuer = $3"
            ),
            vec![
                id_bytes(tenant.as_uuid()).into(),
                subject_index(&key, issuer, subject).into(),
                issuer.to_owned().into(),
            ],
        )
        .await
    }

    async fn accounts(&self, tenant: TenantId) -> Result<Vec<StaffAccount>, StoreError> {
        let key = match self.key(tenant).await {
            Ok(k) => k,
            Err(StoreError::NotFound(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let rows = self
            .shared
            .db
            .query_all_raw(stmt(
                self.shared.backend,
                &format!("SELECT {ACCOUNT_COLUMNS} FROM staff_accounts WHERE tenant_id = $1 ORDER BY created_at, id"),
                vec![id_bytes(tenant.as_uuid()).into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        rows.iter().map(|r| account_from(&key, r)).collect()
    }

    async fn save_account(&self, account: &StaffAccount) -> Result<(), StoreError> {
        if self.write_account(&self.shared.db, account, Some(account.version)).await? {
            Ok(())
        } else {
            Err(StoreError::Conflict)
        }
    }

    async fn set_recovery_codes(
        &self,
        tenant: TenantId,
        staff: StaffId,
        hashes: &[[u8; 32]],
    ) -> Result<(), StoreError> {
        let b = self.shared.backend;
        let txn = self.shared.db.begin().await.map_err(|e| db_error(&e))?;
        txn.execute_raw(stmt(
            b,
            "DELETE FROM staff_recovery_codes WHERE staff_id = $1 AND tenant_id = $2",
            vec![id_bytes(staff.as_uuid()).into(), id_bytes(tenant.as_uuid()).into()],
        ))
        .await
        .map_err(|e| db_error(&e))?;
        for hash in hashes {
            txn.execute_raw(stmt(
                b,
                "INSERT INTO staff_recovery_codes (staff_id, tenant_id, code_hash, used_at) VALUES ($1, $2, $3, NULL)",
                vec![id_bytes(staff.as_uuid()).into(), id_bytes(tenant.as_uuid()).into(), hash.to_vec().into()],
            ))
            .await
            .map_err(|e| duplicate_or(&e))?;
        }
        txn.commit().await.map_err(|e| db_error(&e))
    }

    async fn use_recovery_code(
        &self,
        tenant: TenantId,
        staff: StaffId,
        hash: &[u8; 32],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let affected = self
            .shared
            .execute(
                "UPDATE staff_recovery_codes SET used_at = $4 WHERE staff_id = $1 AND tenant_id = $2 AND code_hash = $3 \
                 AND used_at IS NULL",
                vec![
                    id_bytes(staff.as_uuid()).into(),
                    id_bytes(tenant.as_uuid()).into(),
                    hash.to_vec().into(),
                    micros(now).into(),
                ],
            )
            .await?;
        Ok(affected == 1)
    }

    async fn recovery_codes_left(&self, tenant: TenantId, staff: StaffId) -> Result<u32, StoreError> {
        let row = self
            .shared
            .db
            .query_one_raw(stmt(
                self.shared.backend,
                "SELECT COUNT(*) AS n FROM staff_recovery_codes WHERE staff_id = $1 AND tenant_id = $2 AND used_at IS NULL",
                vec![id_bytes(staff.as_uuid()).into(), id_bytes(tenant.as_uuid()).into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        let n: i64 = row.map(|r| get(&r, "n")).transpose()?.unwrap_or(0);
        Ok(u32::try_from(n).unwrap_or(0))
    }

    async fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        self.shared
            .db
            .execute_raw(stmt(self.shared.backend, INSERT_SESSION, session_values(session)))
            .await
            .map_err(|e| duplicate_or(&e))?;
        Ok(())
    }

    async fn session(&self, hash: &SessionHash) -> Result<Option<Session>, StoreError> {
        let row = self
            .shared
            .db
            .query_one_raw(stmt(
                self.shared.backend,
                &format!("SELECT {SESSION_COLUMNS} FROM staff_sessions WHERE hash = $1"),
                vec![hash.0.to_vec().into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        row.as_ref().map(session_from).transpose()
    }

    async fn rotate_session(&self, old: &SessionHash, new: &Session, now: OffsetDateTime) -> Result<bool, StoreError> {
        let b = self.shared.backend;
        let txn = self.shared.db.begin().await.map_err(|e| db_error(&e))?;
        let r = txn
            .execute_raw(stmt(
                b,
                "UPDATE staff_sessions SET revoked_at = $2 WHERE hash = $1 AND revoked_at IS NULL",
                vec![old.0.to_vec().into(), micros(now).into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        if r.rows_affected() != 1 {
            txn.rollback().await.map_err(|e| db_error(&e))?;
            return Ok(false);
        }
        txn.execute_raw(stmt(b, INSERT_SESSION, session_values(new))).await.map_err(|e| duplicate_or(&e))?;
        txn.commit().await.map_err(|e| db_error(&e))?;
        Ok(true)
    }

    async fn touch_session(&self, hash: &SessionHash, now: OffsetDateTime) -> Result<(), StoreError> {
        self.shared
            .db
            .execute_raw(stmt(
                self.shared.backend,
                "UPDATE staff_sessions SET last_seen_at = $2 WHERE hash = $1 AND last_seen_at < $2",
                vec![hash.0.to_vec().into(), micros(now).into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        Ok(())
    }

    async fn revoke_session(&self, staff: StaffId, id: Uuid, now: OffsetDateTime) -> Result<bool, StoreError> {
        let affected = self
            .shared
            .execute(
                "UPDATE staff_sessions SET revoked_at = $3 WHERE id = $1 AND staff_id = $2 AND revoked_at IS NULL",
                vec![id_bytes(id).into(), id_bytes(staff.as_uuid()).into(), micros(now).into()],
            )
            .await?;
        Ok(affected == 1)
    }

    async fn revoke_sessions(&self, staff: StaffId, now: OffsetDateTime) -> Result<u64, StoreError> {
        let affected = self
            .shared
            .execute(
                "UPDATE staff_sessions SET revoked_at = $2 WHERE staff_id = $1 AND revoked_at IS NULL AND expires_at > $2",
                vec![id_bytes(staff.as_uuid()).into(), micros(now).into()],
            )
            .await?;
        Ok(affected)
    }

    async fn sessions(&self, staff: StaffId, now: OffsetDateTime) -> Result<Vec<Session>, StoreError> {
        let rows = self
            .shared
            .db
            .query_all_raw(stmt(
                self.shared.backend,
                &format!(
                    "SELECT {SESSION_COLUMNS} FROM staff_sessions WHERE staff_id = $1 AND revoked_at IS NULL \
                     AND expires_at > $2 ORDER BY created_at DESC, id"
                ),
                vec![id_bytes(staff.as_uuid()).into(), micros(now).into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        rows.iter().map(session_from).collect()
    }

    async fn throttle(&self, key: &ThrottleKey) -> Result<Option<Throttle>, StoreError> {
        let tkey = match self.key(throttle_tenant(key)).await {
            Ok(k) => k,
            Err(StoreError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let row = self
            .shared
            .db
            .query_one_raw(stmt(
                self.shared.backend,
                "SELECT failures, last_failure FROM sign_in_throttles WHERE key_hash = $1",
                vec![throttle_index(&tkey, key).into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        row.map(|r| {
            Ok(Throttle {
                failures: u32::try_from(get::<i64>(&r, "failures")?).unwrap_or(u32::MAX),
                last_failure: from_micros(get(&r, "last_failure")?)?,
            })
        })
        .transpose()
    }

    async fn record_failure(&self, key: &ThrottleKey, now: OffsetDateTime) -> Result<Throttle, StoreError> {
        let tenant = throttle_tenant(key);
        let tkey = self.key(tenant).await?;
        let hash = throttle_index(&tkey, key);
        self.shared
            .db
            .execute_raw(stmt(
                self.shared.backend,
                "INSERT INTO sign_in_throttles (key_hash, tenant_id, failures, last_failure) VALUES ($1, $2, 1, $3) \
                 ON CONFLICT (key_hash) DO UPDATE SET \
                 failures = CASE WHEN sign_in_throttles.last_failure < $4 THEN 1 ELSE sign_in_throttles.failures + 1 END, \
                 last_failure = $3",
                vec![
                    hash.into(),
                    id_bytes(tenant.as_uuid()).into(),
                    micros(now).into(),
                    micros(now - THROTTLE_MEMORY).into(),
                ],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        self.throttle(key).await?.ok_or(StoreError::NotFound("throttle"))
    }

    async fn clear_throttle(&self, key: &ThrottleKey) -> Result<(), StoreError> {
        let tkey = match self.key(throttle_tenant(key)).await {
            Ok(k) => k,
            Err(StoreError::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        self.shared
            .db
            .execute_raw(stmt(
                self.shared.backend,
                "DELETE FROM sign_in_throttles WHERE key_hash = $1",
                vec![throttle_index(&tkey, key).into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
        Ok(())
    }
}
