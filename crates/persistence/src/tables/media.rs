//! `media`: files sent and received, the record and the bytes sealed with the candidate key
//! (which fails for an erased candidate); kind, direction, status, size and times in clear.

use hoheit_domain::ids::{CandidateId, MediaId, TenantId};
use hoheit_domain::media::MediaRecord;
use hoheit_domain::ports::{DuplicateKey, MediaChange, StoreError};
use hoheit_domain::values::Pii;
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, Value};

use crate::batch::Write;
use crate::codec::{
    db_error, direction_str, from_json, id_bytes, is_unique_violation, micros, to_json_bytes, uuid_from,
};
use crate::entity::{self, media::Model, scoped};
use crate::shared::Shared;

/// Applies a change set's media changes.
pub(crate) async fn apply(w: &mut Write<'_>, changes: &[MediaChange]) -> Result<(), StoreError> {
    for change in changes {
        let (record, content, insert) = match change {
            MediaChange::Insert { record, content } => (record, content, true),
            MediaChange::Update { record, content } => (record, content, false),
        };
        w.own(record.tenant)?;
        save(w, record, content.as_ref().map(|c| c.expose().as_slice()), insert).await?;
    }
    Ok(())
}

/// Inserts or updates a media row.
async fn save(w: &Write<'_>, record: &MediaRecord, content: Option<&[u8]>, insert: bool) -> Result<(), StoreError> {
    let id = record.id.as_uuid();
    let ckey = w.candidate_key(record.candidate.as_uuid()).await?;
    let sealed_record = ckey.seal("media", id, "record", &to_json_bytes(record)?);
    let sealed_content = content.map(|c| ckey.seal("media", id, "content", c));
    let size = record.size.map(|s| i64::try_from(s).unwrap_or(i64::MAX));
    let attempts = i32::try_from(record.attempts).unwrap_or(i32::MAX);
    if insert {
        w.exec(
            "INSERT INTO media (id, tenant_id, candidate_id, message_id, channel_id, direction, kind, status, size, \
             attempts, next_attempt_at, created_at, settled_at, record, content) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            vec![
                id_bytes(id).into(),
                w.t(),
                id_bytes(record.candidate.as_uuid()).into(),
                id_bytes(record.message.as_uuid()).into(),
                id_bytes(record.channel.as_uuid()).into(),
                direction_str(record.direction).into(),
                record.kind.as_str().into(),
                record.status.as_str().into(),
                size.into(),
                attempts.into(),
                record.next_attempt_at.map(micros).into(),
                micros(record.created_at).into(),
                record.settled_at.map(micros).into(),
                sealed_record.into(),
                sealed_content.into(),
            ],
        )
        .await
        .map_err(|e| if is_unique_violation(&e) { StoreError::Duplicate(DuplicateKey::Id) } else { db_error(&e) })?;
        return Ok(());
    }
    let mut values: Vec<Value> = vec![
        w.t(),
        id_bytes(id).into(),
        id_bytes(record.candidate.as_uuid()).into(),
        record.status.as_str().into(),
        size.into(),
        attempts.into(),
        record.next_attempt_at.map(micros).into(),
        record.settled_at.map(micros).into(),
        sealed_record.into(),
    ];
    let set_content = if let Some(sealed) = sealed_content {
        values.push(sealed.into());
        ", content = $10"
    } else {
        ""
    };
    let updated = w
        .exec(
            &format!(
                "UPDATE media SET status = $4, size = $5, attempts = $6, next_attempt_at = $7, settled_at = $8, \
                 record = $9{set_content} WHERE tenant_id = $1 AND id = $2 AND candidate_id = $3"
            ),
            values,
        )
        .await
        .map_err(|e| db_error(&e))?;
    if updated == 0 {
        return Err(StoreError::NotFound("media"));
    }
    Ok(())
}

/// A row back to the record.
pub(crate) async fn from_row(shared: &Shared, row: &Model) -> Result<MediaRecord, StoreError> {
    let tenant = uuid_from(&row.tenant_id)?;
    let id = uuid_from(&row.id)?;
    let key = shared.candidate_key_by_id(&shared.db, tenant, uuid_from(&row.candidate_id)?).await?;
    let plain =
        key.open("media", id, "record", &row.record).map_err(|e| StoreError::Corrupt(format!("media record: {e}")))?;
    let record: MediaRecord = from_json("media record", &plain)?;
    if record.id.as_uuid() != id || record.tenant.as_uuid() != tenant {
        return Err(StoreError::Corrupt("media record belongs to another row".into()));
    }
    Ok(record)
}

async fn row(shared: &Shared, tenant: TenantId, id: MediaId) -> Result<Option<Model>, StoreError> {
    scoped::<entity::media::Entity>(tenant.as_uuid())
        .filter(entity::media::Column::Id.eq(id_bytes(id.as_uuid())))
        .one(&shared.db)
        .await
        .map_err(|e| db_error(&e))
}

/// A media record.
pub(crate) async fn by_id(shared: &Shared, tenant: TenantId, id: MediaId) -> Result<Option<MediaRecord>, StoreError> {
    match row(shared, tenant, id).await? {
        Some(row) => from_row(shared, &row).await.map(Some),
        None => Ok(None),
    }
}

/// A stored file's bytes.
pub(crate) async fn content(
    shared: &Shared,
    tenant: TenantId,
    id: MediaId,
) -> Result<Option<Pii<Vec<u8>>>, StoreError> {
    let Some(row) = row(shared, tenant, id).await? else { return Ok(None) };
    let Some(sealed) = &row.content else { return Ok(None) };
    let key = shared.candidate_key_by_id(&shared.db, tenant.as_uuid(), uuid_from(&row.candidate_id)?).await?;
    let plain = key
        .open("media", uuid_from(&row.id)?, "content", sealed)
        .map_err(|e| StoreError::Corrupt(format!("media content: {e}")))?;
    Ok(Some(Pii::new(plain.to_vec())))
}

/// A candidate's media records, oldest first.
pub(crate) async fn of_candidate(
    shared: &Shared,
    tenant: TenantId,
    candidate: CandidateId,
) -> Result<Vec<MediaRecord>, StoreError> {
    let rows = scoped::<entity::media::Entity>(tenant.as_uuid())
        .filter(entity::media::Column::CandidateId.eq(id_bytes(candidate.as_uuid())))
        .order_by_asc(entity::media::Column::CreatedAt)
        .order_by_asc(entity::media::Column::Id)
        .all(&shared.db)
        .await
        .map_err(|e| db_error(&e))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(from_row(shared, row).await?);
    }
    Ok(out)
}
