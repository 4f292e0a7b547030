//! `messages` (the body and the provider ids sealed with the candidate key; direction, kind,
//! intent, times and the status timeline in clear) and `message_statuses` (delivery statuses,
//! merged into the timeline when read: statuses can arrive before the message is known).
//!
//! Provider ids (wamids) are personal data: WhatsApp builds them from the customer's number
//! (issue 13). Both tables key on [`TenantKey::provider_hash`] of the id (column `provider_id`,
//! `hmac:` + hex); the ids themselves are sealed in `messages.provider_ref` (to answer
//! 360Dialog: context, mark-read) and shredded with the candidate key. On erasure the hashes go
//! to `erased_provider_ids` for the replay window, so a redelivered pre-erasure webhook is still
//! a duplicate and a late status of an erased message is dropped (issue 14).

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
use crate::crypto::{CandidateKey, PROVIDER_HASH_PREFIX, TenantKey};
use crate::entity::{self, message_statuses, messages::Model, scoped};
use crate::shared::{Shared, stmt};

/// The provider ids of a message, sealed with the candidate key in `messages.provider_ref`.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct ProviderRef {
    /// The message's wamid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<String>,
    /// The wamid of our message an inbound one answers (`context.id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reply_to: Option<String>,
}

impl ProviderRef {
    pub(crate) fn seal(&self, key: &CandidateKey, message: Uuid) -> Result<Vec<u8>, StoreError> {
        Ok(key.seal("messages", message, "provider_ref", &to_json_bytes(self)?))
    }

    pub(crate) fn open(key: &CandidateKey, message: Uuid, sealed: &[u8]) -> Result<Self, StoreError> {
        let plain = key
            .open("messages", message, "provider_ref", sealed)
            .map_err(|e| StoreError::Corrupt(format!("message provider ids: {e}")))?;
        from_json("message provider ids", &plain)
    }
}

/// Whether a stored `provider_id` is a keyed hash (as opposed to a clear wamid written before
/// this version, which `SeaStore::migrate` converts).
pub(crate) fn is_hashed(stored: &str) -> bool {
    stored.starts_with(PROVIDER_HASH_PREFIX)
}

/// The keyed hash of a provider id in the change set's tenant.
async fn hash_of(w: &Write<'_>, provider_id: &Wamid) -> Result<String, StoreError> {
    Ok(w.tenant_key().await?.provider_hash(provider_id.as_str()))
}

/// Whether the hash belongs to an erased candidate's message (kept for the replay window).
async fn erased(w: &Write<'_>, hash: &str) -> Result<bool, StoreError> {
    let row = w
        .txn
        .query_one_raw(stmt(
            w.backend(),
            "SELECT 1 AS one FROM erased_provider_ids WHERE tenant_id = $1 AND provider_id = $2",
            vec![w.t(), hash.into()],
        ))
        .await
        .map_err(|e| db_error(&e))?;
    Ok(row.is_some())
}

/// Of these (tenant, hash) pairs, the ones that belong to erased candidates' messages: one query
/// per tenant and chunk (`provider_id IN (…) AND tenant_id = ?`, so the primary key serves it),
/// for the buffered multi-row inserts of a batch.
pub(crate) async fn erased_among(
    b: DbBackend,
    txn: &DatabaseTransaction,
    pairs: &[(Uuid, String)],
) -> Result<std::collections::HashSet<(Uuid, String)>, StoreError> {
    let mut by_tenant: std::collections::BTreeMap<Uuid, Vec<&str>> = std::collections::BTreeMap::new();
    for (tenant, hash) in pairs {
        by_tenant.entry(*tenant).or_default().push(hash.as_str());
    }
    let mut found = std::collections::HashSet::new();
    for (tenant, hashes) in by_tenant {
        for chunk in hashes.chunks(10_000) {
            let sql = format!(
                "SELECT provider_id FROM erased_provider_ids WHERE provider_id IN {} AND tenant_id = ${}",
                placeholders(chunk.len()),
                chunk.len() + 1
            );
            let mut values: Vec<Value> = chunk.iter().map(|h| Value::from(*h)).collect();
            values.push(id_bytes(tenant).into());
            let rows = txn.query_all_raw(stmt(b, &sql, values)).await.map_err(|e| db_error(&e))?;
            for row in rows {
                let hash: String = row.try_get("", "provider_id").map_err(|e| db_error(&e))?;
                found.insert((tenant, hash));
            }
        }
    }
    Ok(found)
}

/// `INSERT INTO messages (…) VALUES `: the column list, written once.
pub(crate) const INSERT: &str = "INSERT INTO messages (id, tenant_id, candidate_id, channel_id, direction, kind, \
     intent, provider_id, reply_to, created_at, provider_at, status, timeline, body, provider_ref) VALUES ";
const WIDTH: usize = 15;
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
                if !accepted(w, id.as_uuid(), provider_id, *at).await? {
                    report.statuses_unmatched += 1;
                }
            }
            MessageChange::Status { id, observation } => {
                if !update_timeline(b, txn, tenant, id.as_uuid(), *observation, None).await? {
                    report.statuses_unmatched += 1;
                }
            }
            MessageChange::StatusByProviderId { provider_id, observation } => {
                let hash = hash_of(w, provider_id).await?;
                let values = vec![
                    w.t(),
                    hash.as_str().into(),
                    observation.status.as_str().into(),
                    micros(observation.at).into(),
                    observation.error_code.into(),
                ];
                if w.ctx.defer {
                    // checked against erased_provider_ids when the buffer is written
                    w.ctx.deferred.status_ids.push((tenant, hash.clone()));
                    w.ctx.deferred.statuses.push(values);
                } else if !erased(w, &hash).await? {
                    w.exec(&INSERT_STATUS_ONE, values).await.map_err(|e| db_error(&e))?;
                }
                // for the live updates (writer::live_changes), which would hash it again
                w.ctx.status_hashes.push(hash);
            }
        }
    }
    Ok(())
}

/// Stores a message; an inbound one may be buffered for a multi-row insert. The provider id is
/// stored as its keyed hash and, with the reply context, sealed; an inbound id of an erased
/// candidate's message is a duplicate (a replay).
async fn insert(w: &mut Write<'_>, m: &Message) -> Result<(), StoreError> {
    w.own(m.tenant)?;
    let id = m.id.as_uuid();
    let ckey = w.candidate_key(m.candidate.as_uuid()).await?;
    let body = ckey.seal("messages", id, "body", &to_json_bytes(&m.body)?);
    let hash = match &m.provider_id {
        Some(p) => Some(hash_of(w, p).await?),
        None => None,
    };
    let refs = ProviderRef {
        id: m.provider_id.as_ref().map(|p| p.as_str().to_owned()),
        reply_to: m.reply_to.as_ref().map(|p| p.as_str().to_owned()),
    };
    let sealed_refs = if refs.id.is_some() || refs.reply_to.is_some() { Some(refs.seal(&ckey, id)?) } else { None };
    let values: Vec<Value> = vec![
        id_bytes(id).into(),
        w.t(),
        id_bytes(m.candidate.as_uuid()).into(),
        id_bytes(m.channel.as_uuid()).into(),
        direction_str(m.direction).into(),
        m.kind.as_str().into(),
        m.intent.map(|i| i.as_str().to_owned()).into(),
        hash.clone().into(),
        Option::<String>::None.into(),
        micros(m.created_at).into(),
        m.provider_at.map(micros).into(),
        m.status.effective().map(|s| s.as_str().to_owned()).into(),
        to_json(&m.status)?.into(),
        body.into(),
        sealed_refs.into(),
    ];
    let duplicate = StoreError::Duplicate(match m.direction {
        Direction::Inbound => DuplicateKey::InboundMessage,
        Direction::Outbound => DuplicateKey::Id,
    });
    if w.ctx.defer && m.direction == Direction::Inbound {
        if let Some(hash) = hash {
            // checked against erased_provider_ids when the buffer is written
            w.ctx.deferred.message_ids.push((w.tenant, hash));
        }
        w.ctx.deferred.messages.push(values);
        return Ok(());
    }
    if let Some(hash) = &hash
        && erased(w, hash).await?
    {
        return Err(duplicate);
    }
    w.exec(&INSERT_ONE, values).await.map_err(|e| if is_unique_violation(&e) { duplicate } else { db_error(&e) })?;
    Ok(())
}

/// 360Dialog accepted an outbound message: its provider id (hashed, and sealed with the reply
/// context) and the `accepted` observation. Returns whether the message exists.
async fn accepted(
    w: &Write<'_>,
    message: Uuid,
    provider_id: &Wamid,
    at: time::OffsetDateTime,
) -> Result<bool, StoreError> {
    let err = |e: sea_orm::DbErr| db_error(&e);
    let row = w
        .txn
        .query_one_raw(stmt(
            w.backend(),
            "SELECT candidate_id, provider_ref FROM messages WHERE tenant_id = $1 AND id = $2",
            vec![w.t(), id_bytes(message).into()],
        ))
        .await
        .map_err(err)?;
    let Some(row) = row else { return Ok(false) };
    let candidate: Vec<u8> = row.try_get("", "candidate_id").map_err(err)?;
    let sealed: Option<Vec<u8>> = row.try_get("", "provider_ref").map_err(err)?;
    let ckey = w.candidate_key(uuid_from(&candidate)?).await?;
    let mut refs = match sealed {
        Some(sealed) => ProviderRef::open(&ckey, message, &sealed)?,
        None => ProviderRef::default(),
    };
    refs.id = Some(provider_id.as_str().to_owned());
    let columns = ProviderColumns { hash: hash_of(w, provider_id).await?, sealed: refs.seal(&ckey, message)? };
    let observation = StatusObservation { status: DeliveryStatus::Accepted, at, error_code: None };
    update_timeline(w.backend(), w.txn, w.tenant, message, observation, Some(&columns)).await
}

/// A message's provider id as stored: its keyed hash and the sealed [`ProviderRef`].
#[derive(Debug)]
pub(crate) struct ProviderColumns {
    pub(crate) hash: String,
    pub(crate) sealed: Vec<u8>,
}

/// Merges an observation into a message's local timeline; sets the provider id when given.
/// Returns whether the message exists.
pub(crate) async fn update_timeline(
    b: DbBackend,
    txn: &DatabaseTransaction,
    tenant: Uuid,
    message: Uuid,
    observation: StatusObservation,
    provider: Option<&ProviderColumns>,
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
    let sql = if provider.is_some() {
        "UPDATE messages SET timeline = $3, status = $4, provider_id = $5, provider_ref = $6, reply_to = NULL \
         WHERE tenant_id = $1 AND id = $2"
    } else {
        "UPDATE messages SET timeline = $3, status = $4 WHERE tenant_id = $1 AND id = $2"
    };
    let mut values: Vec<Value> =
        vec![id_bytes(tenant).into(), id_bytes(message).into(), to_json(&timeline)?.into(), status.into()];
    if let Some(p) = provider {
        values.push(p.hash.as_str().into());
        values.push(p.sealed.clone().into());
    }
    txn.execute_raw(stmt(b, sql, values)).await.map_err(|e| db_error(&e))?;
    Ok(true)
}

/// Erasure: keeps the keyed hashes of the candidate's provider ids for the replay window (no
/// content: a hash, the tenant and a time), so a redelivered pre-erasure webhook stays a duplicate
/// and a late status is dropped; forgets hashes whose window has passed; deletes the statuses
/// recorded for the candidate's messages. Runs before the messages are deleted.
pub(crate) async fn delete_statuses_of(w: &Write<'_>, candidate: Uuid) -> Result<(), StoreError> {
    let err = |e: sea_orm::DbErr| db_error(&e);
    let keep =
        time::Duration::try_from(w.shared.replay_window).unwrap_or(time::Duration::days(7)) + time::Duration::days(1);
    w.exec("DELETE FROM erased_provider_ids WHERE tenant_id = $1 AND until_at < $2", vec![w.t(), micros(w.at).into()])
        .await
        .map_err(err)?;
    w.exec(
        "INSERT INTO erased_provider_ids (tenant_id, provider_id, until_at) \
         SELECT tenant_id, provider_id, $3 FROM messages \
         WHERE tenant_id = $1 AND candidate_id = $2 AND provider_id IS NOT NULL \
         ON CONFLICT (tenant_id, provider_id) DO UPDATE SET until_at = excluded.until_at",
        vec![w.t(), id_bytes(candidate).into(), micros(w.at + keep).into()],
    )
    .await
    .map_err(err)?;
    w.exec(
        "DELETE FROM message_statuses WHERE tenant_id = $1 AND provider_id IN \
         (SELECT provider_id FROM messages WHERE tenant_id = $1 AND candidate_id = $2 AND provider_id IS NOT NULL)",
        vec![w.t(), id_bytes(candidate).into()],
    )
    .await
    .map_err(err)?;
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
    let refs = match &row.provider_ref {
        Some(sealed) => ProviderRef::open(&key, id, sealed)?,
        // written before provider ids were hashed and not converted yet (`SeaStore::migrate`)
        None => ProviderRef { id: row.provider_id.clone().filter(|p| !is_hashed(p)), reply_to: row.reply_to.clone() },
    };
    Ok(Message {
        id: MessageId::from_uuid(id),
        tenant: TenantId::from_uuid(tenant),
        candidate: CandidateId::from_uuid(candidate),
        channel: ChannelId::from_uuid(uuid_from(&row.channel_id)?),
        direction: direction_from(&row.direction)?,
        kind: kind_from(&row.kind)?,
        intent: row.intent.as_deref().map(intent_from).transpose()?,
        body: Pii::new(body),
        provider_id: refs.id.as_deref().map(wamid_from).transpose()?,
        reply_to: refs.reply_to.as_deref().map(wamid_from).transpose()?,
        created_at: from_micros(row.created_at)?,
        provider_at: row.provider_at.map(from_micros).transpose()?,
        status: timeline,
    })
}

pub(crate) async fn statuses_for(
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

/// A message by provider id: the one lookup by a raw provider id, which hashes it with the
/// tenant's key inside (no provider id is compared or stored in clear).
pub(crate) async fn by_provider_id(
    shared: &Shared,
    tenant: TenantId,
    provider_id: &Wamid,
) -> Result<Option<Message>, StoreError> {
    let key: std::sync::Arc<TenantKey> = match shared.tenant_key(&shared.db, tenant.as_uuid()).await {
        Ok(key) => key,
        Err(StoreError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let hash = key.provider_hash(provider_id.as_str());
    one(shared, tenant, entity::messages::Column::ProviderId.eq(hash)).await
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
