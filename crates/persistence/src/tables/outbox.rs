//! `outbox`: permitted messages waiting to be sent (the content sealed with the candidate key),
//! with leases so that one dispatcher sends each (`FOR UPDATE SKIP LOCKED` on PostgreSQL), and
//! the open send attempt (`attempt_at`, and `receipt`: the provider id a tagged status webhook
//! confirmed, sealed) that makes sends exactly-once across crashes.

use hoheit_domain::attempt::SendAttempt;
use hoheit_domain::conversation::{DeliveryStatus, StatusObservation};
use hoheit_domain::ids::{CandidateId, ChannelId, MessageId, OutboxId, TenantId};
use hoheit_domain::ports::{CommitReport, OutboxChange, OutboxEntry, StoreError};
use hoheit_domain::values::Wamid;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, FromQueryResult, QueryFilter, QueryOrder};
use time::{Duration, OffsetDateTime};

use crate::batch::Write;
use crate::codec::{db_error, from_json, from_micros, id_bytes, intent_from, micros, to_json_bytes, uuid_from};
use crate::crypto::CandidateKey;
use crate::entity::{self, outbox::Model, scoped};
use crate::shared::{Shared, stmt};

/// Applies a change set's outbox changes.
pub(crate) async fn apply(
    w: &mut Write<'_>,
    changes: &[OutboxChange],
    report: &mut CommitReport,
) -> Result<(), StoreError> {
    let err = |e: sea_orm::DbErr| db_error(&e);
    for change in changes {
        match change {
            OutboxChange::Enqueue(entry) => enqueue(w, entry).await?,
            OutboxChange::CancelPending { candidate } => {
                report.outbox_cancelled += cancel_pending(w, *candidate).await?;
            }
            OutboxChange::Complete { id } => {
                w.exec(
                    "DELETE FROM outbox WHERE tenant_id = $1 AND id = $2",
                    vec![w.t(), id_bytes(id.as_uuid()).into()],
                )
                .await
                .map_err(err)?;
            }
            OutboxChange::Attempt { id, expected, at, not_before } => {
                // compare and set: only the claimer that saw the current attempt records the next
                let (cas, mut values) = match expected {
                    Some(started) => ("attempt_at = $5", vec![micros(*started).into()]),
                    None => ("attempt_at IS NULL", Vec::new()),
                };
                let mut all =
                    vec![w.t(), id_bytes(id.as_uuid()).into(), micros(*at).into(), micros(*not_before).into()];
                all.append(&mut values);
                let n = w
                    .exec(
                        &format!(
                            "UPDATE outbox SET attempt_at = $3, not_before = $4, receipt = NULL \
                             WHERE tenant_id = $1 AND id = $2 AND {cas}"
                        ),
                        all,
                    )
                    .await
                    .map_err(err)?;
                if n == 0 {
                    let exists = w
                        .txn
                        .query_one_raw(stmt(
                            w.backend(),
                            "SELECT id FROM outbox WHERE tenant_id = $1 AND id = $2",
                            vec![w.t(), id_bytes(id.as_uuid()).into()],
                        ))
                        .await
                        .map_err(err)?
                        .is_some();
                    // cancelled since the decision, or taken over by another claimer: no send
                    return Err(if exists { StoreError::Conflict } else { StoreError::NotFound("outbox entry") });
                }
            }
            OutboxChange::Receipt { id, provider_id, at } => receipt(w, *id, provider_id, *at).await?,
            OutboxChange::AwaitStatus { id, until } => {
                w.exec(
                    "UPDATE outbox SET not_before = $3, lease_until = NULL WHERE tenant_id = $1 AND id = $2",
                    vec![w.t(), id_bytes(id.as_uuid()).into(), micros(*until).into()],
                )
                .await
                .map_err(err)?;
            }
            OutboxChange::Retry { id, not_before, attempts } => {
                w.exec(
                    "UPDATE outbox SET not_before = $3, attempts = $4, lease_until = NULL, attempt_at = NULL, \
                     receipt = NULL WHERE tenant_id = $1 AND id = $2",
                    vec![
                        w.t(),
                        id_bytes(id.as_uuid()).into(),
                        micros(*not_before).into(),
                        i32::try_from(*attempts).unwrap_or(i32::MAX).into(),
                    ],
                )
                .await
                .map_err(err)?;
            }
        }
    }
    Ok(())
}

/// Stores the receipt of an open attempt (a status webhook echoed the entry's tag), sealed with
/// the candidate key, and makes the entry due at `at` at the latest. No effect on an entry that
/// is gone, has no open attempt, or has a receipt already.
async fn receipt(w: &mut Write<'_>, id: OutboxId, provider_id: &Wamid, at: OffsetDateTime) -> Result<(), StoreError> {
    let err = |e: sea_orm::DbErr| db_error(&e);
    let row = w
        .txn
        .query_one_raw(stmt(
            w.backend(),
            "SELECT candidate_id FROM outbox WHERE tenant_id = $1 AND id = $2 AND attempt_at IS NOT NULL \
             AND receipt IS NULL",
            vec![w.t(), id_bytes(id.as_uuid()).into()],
        ))
        .await
        .map_err(err)?;
    let Some(row) = row else { return Ok(()) };
    let candidate: Vec<u8> = row.try_get("", "candidate_id").map_err(err)?;
    let ckey = match w.candidate_key(uuid_from(&candidate)?).await {
        Ok(key) => key,
        // erased meanwhile: the entry goes with the candidate
        Err(StoreError::NotFound(_)) => return Ok(()),
        Err(e) => return Err(e),
    };
    let sealed = ckey.seal("outbox", id.as_uuid(), "receipt", provider_id.as_str().as_bytes());
    let at = micros(at);
    w.exec(
        "UPDATE outbox SET receipt = $3, not_before = CASE WHEN not_before > $4 THEN $4 ELSE not_before END \
         WHERE tenant_id = $1 AND id = $2 AND receipt IS NULL",
        vec![w.t(), id_bytes(id.as_uuid()).into(), sealed.into(), at.into()],
    )
    .await
    .map_err(err)?;
    Ok(())
}

async fn enqueue(w: &mut Write<'_>, entry: &OutboxEntry) -> Result<(), StoreError> {
    w.own(entry.tenant)?;
    let id = entry.id.as_uuid();
    let ckey = w.candidate_key(entry.candidate.as_uuid()).await?;
    let content = ckey.seal("outbox", id, "content", &to_json_bytes(&entry.content)?);
    w.exec(
        "INSERT INTO outbox (id, tenant_id, candidate_id, channel_id, message_id, intent, notice_appended, \
         created_at, attempts, not_before, lease_until, content) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, $11)",
        vec![
            id_bytes(id).into(),
            w.t(),
            id_bytes(entry.candidate.as_uuid()).into(),
            id_bytes(entry.channel.as_uuid()).into(),
            id_bytes(entry.message.as_uuid()).into(),
            entry.intent.as_str().into(),
            entry.notice_appended.into(),
            micros(entry.created_at).into(),
            i32::try_from(entry.attempts).unwrap_or(i32::MAX).into(),
            micros(entry.not_before).into(),
            content.into(),
        ],
    )
    .await
    .map_err(|e| db_error(&e))?;
    Ok(())
}

/// Cancels every pending entry of the candidate (R12); their messages get status `Cancelled`.
/// Entries with an open attempt (it may have reached the provider) stay: their status webhook
/// confirms them, or the dispatcher decides again after the wait. Returns how many were cancelled.
async fn cancel_pending(w: &mut Write<'_>, candidate: CandidateId) -> Result<u32, StoreError> {
    let err = |e: sea_orm::DbErr| db_error(&e);
    let c = id_bytes(candidate.as_uuid());
    let rows = w
        .txn
        .query_all_raw(stmt(
            w.backend(),
            "SELECT message_id FROM outbox WHERE tenant_id = $1 AND candidate_id = $2 AND attempt_at IS NULL",
            vec![w.t(), c.clone().into()],
        ))
        .await
        .map_err(err)?;
    for row in rows {
        let message: Vec<u8> = row.try_get("", "message_id").map_err(err)?;
        let observation = StatusObservation { status: DeliveryStatus::Cancelled, at: w.at, error_code: None };
        super::messages::update_timeline(w.backend(), w.txn, w.tenant, uuid_from(&message)?, observation, None).await?;
    }
    let n = w
        .exec(
            "DELETE FROM outbox WHERE tenant_id = $1 AND candidate_id = $2 AND attempt_at IS NULL",
            vec![w.t(), c.into()],
        )
        .await
        .map_err(err)?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// A row back to the entry.
pub(crate) fn from_row(key: &CandidateKey, row: &Model) -> Result<OutboxEntry, StoreError> {
    let tenant = uuid_from(&row.tenant_id)?;
    let candidate = uuid_from(&row.candidate_id)?;
    let id = uuid_from(&row.id)?;
    let plain = key
        .open("outbox", id, "content", &row.content)
        .map_err(|e| StoreError::Corrupt(format!("outbox content: {e}")))?;
    Ok(OutboxEntry {
        id: OutboxId::from_uuid(id),
        tenant: TenantId::from_uuid(tenant),
        candidate: CandidateId::from_uuid(candidate),
        channel: ChannelId::from_uuid(uuid_from(&row.channel_id)?),
        message: MessageId::from_uuid(uuid_from(&row.message_id)?),
        content: from_json("outbox content", &plain)?,
        intent: intent_from(&row.intent)?,
        notice_appended: row.notice_appended,
        created_at: from_micros(row.created_at)?,
        attempts: u32::try_from(row.attempts).unwrap_or(0),
        not_before: from_micros(row.not_before)?,
        attempt: attempt_from_row(key, id, row)?,
    })
}

/// The open attempt of a row, with its receipt unsealed.
fn attempt_from_row(key: &CandidateKey, id: uuid::Uuid, row: &Model) -> Result<Option<SendAttempt>, StoreError> {
    let Some(started) = row.attempt_at else { return Ok(None) };
    let receipt = match &row.receipt {
        None => None,
        Some(sealed) => {
            let plain = key
                .open("outbox", id, "receipt", sealed)
                .map_err(|e| StoreError::Corrupt(format!("outbox receipt: {e}")))?;
            let text = std::str::from_utf8(&plain).map_err(|_| StoreError::Corrupt("outbox receipt".into()))?;
            Some(Wamid::parse(text).map_err(|_| StoreError::Corrupt("outbox receipt".into()))?)
        }
    };
    Ok(Some(SendAttempt { started_at: from_micros(started)?, receipt }))
}

/// A candidate's pending entries, oldest first.
pub(crate) async fn of_candidate(
    shared: &Shared,
    tenant: TenantId,
    candidate: CandidateId,
) -> Result<Vec<OutboxEntry>, StoreError> {
    let t = tenant.as_uuid();
    let rows = scoped::<entity::outbox::Entity>(t)
        .filter(entity::outbox::Column::CandidateId.eq(id_bytes(candidate.as_uuid())))
        .order_by_asc(entity::outbox::Column::CreatedAt)
        .all(&shared.db)
        .await
        .map_err(|e| db_error(&e))?;
    let mut out = Vec::with_capacity(rows.len());
    if rows.is_empty() {
        return Ok(out);
    }
    let key = shared.candidate_key_by_id(&shared.db, t, candidate.as_uuid()).await?;
    for row in &rows {
        out.push(from_row(&key, row)?);
    }
    Ok(out)
}

/// Claims due entries across tenants for `lease`; drops entries that cannot be decrypted any
/// more (their candidate was erased in between).
pub(crate) async fn claim(
    shared: &Shared,
    now: OffsetDateTime,
    lease: Duration,
    limit: u32,
) -> Result<Vec<OutboxEntry>, StoreError> {
    let lock = if shared.backend == DbBackend::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE outbox SET lease_until = $1 WHERE id IN (\
           SELECT id FROM outbox WHERE not_before <= $2 AND (lease_until IS NULL OR lease_until <= $2) \
           ORDER BY not_before LIMIT $3 {lock}) \
         RETURNING *"
    );
    let txn = shared.begin_immediate().await?;
    let rows = txn
        .query_all_raw(stmt(
            shared.backend,
            &sql,
            vec![micros(now + lease).into(), micros(now).into(), i64::from(limit).into()],
        ))
        .await
        .map_err(|e| db_error(&e))?;
    txn.commit().await.map_err(|e| db_error(&e))?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        let model = Model::from_query_result(&row, "").map_err(|e| db_error(&e))?;
        let tenant = uuid_from(&model.tenant_id)?;
        let candidate = uuid_from(&model.candidate_id)?;
        let decoded = async {
            let key = shared.candidate_key_by_id(&shared.db, tenant, candidate).await?;
            from_row(&key, &model)
        }
        .await;
        match decoded {
            Ok(entry) => entries.push(entry),
            // an entry whose candidate was erased in between: drop it
            Err(StoreError::NotFound(_) | StoreError::Corrupt(_)) => {
                tracing::warn!(outbox = %uuid_from(&model.id).unwrap_or_default(), "dropping an undecryptable outbox entry");
                let _ = shared
                    .db
                    .execute_raw(stmt(
                        shared.backend,
                        "DELETE FROM outbox WHERE id = $1",
                        vec![model.id.clone().into()],
                    ))
                    .await;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(entries)
}

/// The earliest time an entry becomes claimable: `not_before`, or the lease's end if later.
pub(crate) async fn next_due(shared: &Shared) -> Result<Option<OffsetDateTime>, StoreError> {
    let row = shared
        .db
        .query_one_raw(stmt(
            shared.backend,
            "SELECT MIN(CASE WHEN lease_until IS NOT NULL AND lease_until > not_before THEN lease_until \
             ELSE not_before END) AS due FROM outbox",
            vec![],
        ))
        .await
        .map_err(|e| db_error(&e))?;
    let due: Option<i64> = row.map(|r| r.try_get("", "due")).transpose().map_err(|e| db_error(&e))?.flatten();
    due.map(from_micros).transpose()
}

/// Releases leases (graceful shutdown).
pub(crate) async fn release(shared: &Shared, ids: &[OutboxId]) -> Result<(), StoreError> {
    for id in ids {
        shared
            .db
            .execute_raw(stmt(
                shared.backend,
                "UPDATE outbox SET lease_until = NULL WHERE id = $1",
                vec![id_bytes(id.as_uuid()).into()],
            ))
            .await
            .map_err(|e| db_error(&e))?;
    }
    Ok(())
}
