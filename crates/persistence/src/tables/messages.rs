//! `messages` (the body sealed with the candidate key; direction, kind, intent, provider ids,
//! times and the status timeline in clear) and `message_statuses` (delivery statuses by provider
//! id, merged into the timeline when read: statuses can arrive before the message is known).

use std::sync::LazyLock;

use hoheit_domain::conversation::{DeliveryStatus, Direction, Message, MessageBody, StatusObservation, StatusTimeline};
use hoheit_domain::ids::{CandidateId, ChannelId, MessageId, TenantId};
use hoheit_domain::ports::{CommitReport, DuplicateKey, MessageChange, StoreError};
use hoheit_domain::values::{Pii, Wamid};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, QueryFilter, QueryOrder, Value};
use uuid::Uuid;

use crate::batch::{Write, placeholders};
use crate::codec::{
    db_error, direction_from, direction_str, from_json, from_micros, id_bytes, intent_from, is_unique_violation,
    kind_from, micros, status_from, to_json, to_json_bytes, uuid_from, wamid_from,
};
use crate::entity::{self, message_statuses, messages::Model, scoped};
use crate::shared::{Shared, stmt};

/// `INSERT INTO messages (…) VALUES `: the column list, written once.
pub(crate) const INSERT: &str = "INSERT INTO messages (id, tenant_id, candidate_id, channel_id, direction, kind, \
     intent, provider_id, reply_to, created_at, provider_at, status, timeline, body) VALUES ";
const WIDTH: usize = 14;
static INSERT_ONE: LazyLock<String> = LazyLock::new(|| format!("{INSERT}{}", placeholders(WIDTH)));

/// `INSERT INTO message_statuses (…) VALUES `, and the merge on conflict (the earliest time of
/// a status wins).
pub(crate) const INSERT_STATUS: &str =
    "INSERT INTO message_statuses (tenant_id, provider_id, status, at, error_code) VALUES ";
pub(crate) const STATUS_CONFLICT: &str = " ON CONFLICT (tenant_id, provider_id, status) DO UPDATE SET at = excluded.at, \
     error_code = excluded.error_code WHERE excluded.at < message_statuses.at";
static INSERT_STATUS_ONE: LazyLock<String> =
    LazyLock::new(|| format!("{INSERT_STATUS}{}{STATUS_CONFLICT}", placeholders(5)));

/// Applies a change set's message changes.
pub(crate) async fn apply(
    w: &mut Write<'_>,
    changes: &[MessageChange],
    report: &mut CommitReport,
) -> Result<(), StoreError> {
    let (b, txn, tenant) = (w.backend(), w.txn, w.tenant);
    for change in changes {
        match change {
            MessageChange::Insert(m) => insert(w, m).await?,
            MessageChange::Accepted { id, provider_id, at } => {
                let observation = StatusObservation { status: DeliveryStatus::Accepted, at: *at, error_code: None };
                if !update_timeline(b, txn, tenant, id.as_uuid(), observation, Some(provider_id.as_str())).await? {
                    report.statuses_unmatched += 1;
                }
            }
            MessageChange::Status { id, observation } => {
                if !update_timeline(b, txn, tenant, id.as_uuid(), *observation, None).await? {
                    report.statuses_unmatched += 1;
                }
            }
            MessageChange::StatusByProviderId { provider_id, observation } => {
                let values = vec![
                    w.t(),
                    provider_id.as_str().into(),
                    observation.status.as_str().into(),
                    micros(observation.at).into(),
                    observation.error_code.into(),
                ];
                if w.ctx.defer {
                    w.ctx.deferred.statuses.push(values);
                } else {
                    w.exec(&INSERT_STATUS_ONE, values).await.map_err(|e| db_error(&e))?;
                }
            }
        }
    }
    Ok(())
}

/// Stores a message; an inbound one may be buffered for a multi-row insert.
async fn insert(w: &mut Write<'_>, m: &Message) -> Result<(), StoreError> {
    w.own(m.tenant)?;
    let id = m.id.as_uuid();
    let ckey = w.candidate_key(m.candidate.as_uuid()).await?;
    let body = ckey.seal("messages", id, "body", &to_json_bytes(&m.body)?);
    let values: Vec<Value> = vec![
        id_bytes(id).into(),
        w.t(),
        id_bytes(m.candidate.as_uuid()).into(),
        id_bytes(m.channel.as_uuid()).into(),
        direction_str(m.direction).into(),
        m.kind.as_str().into(),
        m.intent.map(|i| i.as_str().to_owned()).into(),
        m.provider_id.as_ref().map(|p| p.as_str().to_owned()).into(),
        m.reply_to.as_ref().map(|p| p.as_str().to_owned()).into(),
        micros(m.created_at).into(),
        m.provider_at.map(micros).into(),
        m.status.effective().map(|s| s.as_str().to_owned()).into(),
        to_json(&m.status)?.into(),
        body.into(),
    ];
    if w.ctx.defer && m.direction == Direction::Inbound {
        w.ctx.deferred.messages.push(values);
        return Ok(());
    }
    w.exec(&INSERT_ONE, values).await.map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Duplicate(match m.direction {
                Direction::Inbound => DuplicateKey::InboundMessage,
                Direction::Outbound => DuplicateKey::Id,
            })
        } else {
            db_error(&e)
        }
    })?;
    Ok(())
}

/// Merges an observation into a message's local timeline; sets the provider id when given.
/// Returns whether the message exists.
pub(crate) async fn update_timeline(
    b: DbBackend,
    txn: &DatabaseTransaction,
    tenant: Uuid,
    message: Uuid,
    observation: StatusObservation,
    provider_id: Option<&str>,
) -> Result<bool, StoreError> {
    let row = txn
        .query_one_raw(stmt(
            b,
            "SELECT timeline FROM messages WHERE tenant_id = $1 AND id = $2",
            vec![id_bytes(tenant).into(), id_bytes(message).into()],
        ))
        .await
        .map_err(|e| db_error(&e))?;
    let Some(row) = row else { return Ok(false) };
    let json: String = row.try_get("", "timeline").map_err(|e| db_error(&e))?;
    let mut timeline: StatusTimeline = from_json("message timeline", json.as_bytes())?;
    timeline.observe(observation);
    let status = timeline.effective().map(|s| s.as_str().to_owned());
    let sql = if provider_id.is_some() {
        "UPDATE messages SET timeline = $3, status = $4, provider_id = $5 WHERE tenant_id = $1 AND id = $2"
    } else {
        "UPDATE messages SET timeline = $3, status = $4 WHERE tenant_id = $1 AND id = $2"
    };
    let mut values: Vec<Value> =
        vec![id_bytes(tenant).into(), id_bytes(message).into(), to_json(&timeline)?.into(), status.into()];
    if let Some(p) = provider_id {
        values.push(p.into());
    }
    txn.execute_raw(stmt(b, sql, values)).await.map_err(|e| db_error(&e))?;
    Ok(true)
}

/// Deletes the statuses recorded for a candidate's messages (erasure).
pub(crate) async fn delete_statuses_of(w: &Write<'_>, candidate: Uuid) -> Result<(), StoreError> {
    w.exec(
        "DELETE FROM message_statuses WHERE tenant_id = $1 AND provider_id IN \
         (SELECT provider_id FROM messages WHERE tenant_id = $1 AND candidate_id = $2 AND provider_id IS NOT NULL)",
        vec![w.t(), id_bytes(candidate).into()],
    )
    .await
    .map_err(|e| db_error(&e))?;
    Ok(())
}

/// A row back to the message, with the statuses recorded for its provider id merged in.
async fn from_row(shared: &Shared, row: Model, statuses: &[message_statuses::Model]) -> Result<Message, StoreError> {
    let tenant = uuid_from(&row.tenant_id)?;
    let candidate = uuid_from(&row.candidate_id)?;
    let id = uuid_from(&row.id)?;
    let key = shared.candidate_key_by_id(&shared.db, tenant, candidate).await?;
    let plain =
        key.open("messages", id, "body", &row.body).map_err(|e| StoreError::Corrupt(format!("message body: {e}")))?;
    let body: MessageBody = from_json("message body", &plain)?;
    let mut timeline: StatusTimeline = from_json("message timeline", row.timeline.as_bytes())?;
    for s in statuses.iter().filter(|s| Some(&s.provider_id) == row.provider_id.as_ref()) {
        let status = status_from(&s.status)?;
        timeline.observe(StatusObservation { status, at: from_micros(s.at)?, error_code: s.error_code });
    }
    Ok(Message {
        id: MessageId::from_uuid(id),
        tenant: TenantId::from_uuid(tenant),
        candidate: CandidateId::from_uuid(candidate),
        channel: ChannelId::from_uuid(uuid_from(&row.channel_id)?),
        direction: direction_from(&row.direction)?,
        kind: kind_from(&row.kind)?,
        intent: row.intent.as_deref().map(intent_from).transpose()?,
        body: Pii::new(body),
        provider_id: row.provider_id.as_deref().map(wamid_from).transpose()?,
        reply_to: row.reply_to.as_deref().map(wamid_from).transpose()?,
        created_at: from_micros(row.created_at)?,
        provider_at: row.provider_at.map(from_micros).transpose()?,
        status: timeline,
    })
}

async fn statuses_for(
    shared: &Shared,
    tenant: Uuid,
    provider_ids: Vec<String>,
) -> Result<Vec<message_statuses::Model>, StoreError> {
    if provider_ids.is_empty() {
        return Ok(Vec::new());
    }
    scoped::<message_statuses::Entity>(tenant)
        .filter(message_statuses::Column::ProviderId.is_in(provider_ids))
        .all(&shared.db)
        .await
        .map_err(|e| db_error(&e))
}

/// The first message of the tenant matching `filter`.
async fn one(
    shared: &Shared,
    tenant: TenantId,
    filter: sea_orm::sea_query::SimpleExpr,
) -> Result<Option<Message>, StoreError> {
    let t = tenant.as_uuid();
    let Some(row) =
        scoped::<entity::messages::Entity>(t).filter(filter).one(&shared.db).await.map_err(|e| db_error(&e))?
    else {
        return Ok(None);
    };
    let statuses = statuses_for(shared, t, row.provider_id.iter().cloned().collect()).await?;
    from_row(shared, row, &statuses).await.map(Some)
}

/// A message by id.
pub(crate) async fn by_id(shared: &Shared, tenant: TenantId, id: MessageId) -> Result<Option<Message>, StoreError> {
    one(shared, tenant, entity::messages::Column::Id.eq(id_bytes(id.as_uuid()))).await
}

/// A message by provider id.
pub(crate) async fn by_provider_id(
    shared: &Shared,
    tenant: TenantId,
    provider_id: &Wamid,
) -> Result<Option<Message>, StoreError> {
    one(shared, tenant, entity::messages::Column::ProviderId.eq(provider_id.as_str())).await
}

/// A candidate's messages, oldest first.
pub(crate) async fn of_candidate(
    shared: &Shared,
    tenant: TenantId,
    candidate: CandidateId,
) -> Result<Vec<Message>, StoreError> {
    let t = tenant.as_uuid();
    let rows = scoped::<entity::messages::Entity>(t)
        .filter(entity::messages::Column::CandidateId.eq(id_bytes(candidate.as_uuid())))
        .order_by_asc(entity::messages::Column::CreatedAt)
        .order_by_asc(entity::messages::Column::Id)
        .all(&shared.db)
        .await
        .map_err(|e| db_error(&e))?;
    let ids: Vec<String> = rows.iter().filter_map(|r| r.provider_id.clone()).collect();
    let statuses = statuses_for(shared, t, ids).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(from_row(shared, row, &statuses).await?);
    }
    Ok(out)
}
