//! The inbox's own tables (issue 17, migration m0012):
//! - `thread_reads`: each staff member's read marker per conversation (ids and a time), upserted
//!   when they open the thread, never moved back; the unread counts of an inbox page are read in
//!   one statement for the page's candidates;
//! - `name_tokens`: keyed hashes of a candidate's name terms ([`hoheit_domain::names::index_terms`]),
//!   HMAC with the tenant's blind-index key over `name:` + term (the contact index hashes
//!   `phone:` / `user:` texts with the same key: the prefixes keep them apart). No plaintext name
//!   is stored or compared. Written by the candidate writer when a candidate is created or its
//!   name changes ([`index_names`]), backfilled for older candidates by `SeaStore::migrate`.
//!
//! Both go with the candidate's erasure (`tables::candidates`, in the erasure's transaction).
//! The summary of a conversation's last message reads only clear columns of `messages`, `media`
//! and `message_statuses`: no key is unwrapped, no content leaves the store.

use std::collections::{BTreeSet, HashMap};

use hoheit_domain::candidate::Candidate;
use hoheit_domain::conversation::{Direction, StatusObservation, StatusTimeline};
use hoheit_domain::ids::{CandidateId, StaffId, TenantId};
use hoheit_domain::inbound::MediaKind;
use hoheit_domain::ports::{ConversationSummary, LastMessage, NameSearch, StoreError};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::batch::{Write, insert_rows};
use crate::codec::{
    db_error, direction_from, from_json, from_micros, id_bytes, intent_from, kind_from, micros, status_from, uuid_from,
};
use crate::crypto::TenantKey;
use crate::shared::{Shared, numbered, stmt, tenant_term};

/// The keyed hash of one name term.
pub(crate) fn term_hash(key: &TenantKey, term: &str) -> [u8; 32] {
    key.blind_index(&format!("name:{term}"))
}

/// A candidate's name terms ([`hoheit_domain::names::index_terms`]) and one keyed fingerprint of
/// all of them: what the writer's cache compares to tell whether the name changed (one HMAC; the
/// terms' own hashes, [`term_hashes`], only when it did).
pub(crate) fn name_terms(key: &TenantKey, candidate: &Candidate) -> (BTreeSet<String>, [u8; 32]) {
    let terms: BTreeSet<String> = hoheit_domain::names::index_terms(candidate);
    let joined = terms.iter().map(String::as_str).collect::<Vec<_>>().join("\u{1f}");
    let fingerprint = key.blind_index(&format!("names:{joined}"));
    (terms, fingerprint)
}

/// The keyed hashes of name terms, as `name_tokens.hash` keeps them.
pub(crate) fn term_hashes(key: &TenantKey, terms: &BTreeSet<String>) -> Vec<[u8; 32]> {
    terms.iter().map(|t| term_hash(key, t)).collect()
}

/// Writes a candidate's name hashes: a new candidate's are inserted (one statement, none without
/// a name, or buffered with the batch's other new candidates); otherwise the stored ones are
/// replaced (two statements). Called only when the name may have changed (see
/// `tables::candidates`).
pub(crate) async fn index_names(
    w: &mut Write<'_>,
    candidate: Uuid,
    hashes: &[[u8; 32]],
    fresh: bool,
) -> Result<(), StoreError> {
    if fresh && w.ctx.defer_candidates {
        let rows = name_rows(w.tenant, candidate, hashes);
        w.ctx.deferred.names.extend(rows);
        return Ok(());
    }
    if !fresh {
        w.exec(
            "DELETE FROM name_tokens WHERE tenant_id = $1 AND candidate_id = $2",
            vec![w.t(), id_bytes(candidate).into()],
        )
        .await
        .map_err(|e| db_error(&e))?;
    }
    insert_names(w.backend(), w.txn, w.tenant, candidate, hashes).await
}

/// `INSERT INTO name_tokens (…) VALUES `, existing rows kept.
pub(crate) const INSERT_NAMES: &str = "INSERT INTO name_tokens (tenant_id, hash, candidate_id) VALUES ";
pub(crate) const NAMES_CONFLICT: &str = " ON CONFLICT (tenant_id, hash, candidate_id) DO NOTHING";

fn name_rows(tenant: Uuid, candidate: Uuid, hashes: &[[u8; 32]]) -> Vec<Vec<Value>> {
    hashes.iter().map(|h| vec![id_bytes(tenant).into(), h.to_vec().into(), id_bytes(candidate).into()]).collect()
}

/// Inserts name hashes (multi-row, existing ones kept).
pub(crate) async fn insert_names(
    backend: DbBackend,
    txn: &sea_orm::DatabaseTransaction,
    tenant: Uuid,
    candidate: Uuid,
    hashes: &[[u8; 32]],
) -> Result<(), StoreError> {
    if hashes.is_empty() {
        return Ok(());
    }
    insert_rows(backend, txn, INSERT_NAMES, NAMES_CONFLICT, name_rows(tenant, candidate, hashes)).await?;
    Ok(())
}

/// The tenant's candidates whose name hashes include every search term's, newest activity first.
pub(crate) async fn by_name(
    shared: &Shared,
    tenant: TenantId,
    search: &NameSearch,
) -> Result<Vec<CandidateId>, StoreError> {
    let t = tenant.as_uuid();
    if search.tokens.is_empty() || search.limit == 0 {
        return Ok(Vec::new());
    }
    let key = match shared.tenant_key(&shared.db, t).await {
        Ok(key) => key,
        Err(StoreError::NotFound(_)) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let hashes: BTreeSet<[u8; 32]> = search.tokens.iter().map(|token| term_hash(&key, token)).collect();
    let restricted = if search.include_restricted { "" } else { "AND c.lifecycle = 'active' " };
    let sql = format!(
        "SELECT t.candidate_id AS candidate_id, COALESCE(c.last_activity_at, c.created_at) AS activity \
         FROM name_tokens t JOIN candidates c ON c.tenant_id = t.tenant_id AND c.id = t.candidate_id \
         WHERE t.tenant_id = $1 AND c.tombstone IS NULL {restricted}AND t.hash IN ({}) \
         GROUP BY t.candidate_id, c.last_activity_at, c.created_at HAVING COUNT(*) = $2 \
         ORDER BY activity DESC, t.candidate_id DESC LIMIT $3",
        numbered(4, hashes.len())
    );
    let mut values: Vec<Value> = vec![
        id_bytes(t).into(),
        i64::try_from(hashes.len()).unwrap_or(i64::MAX).into(),
        i64::from(search.limit).into(),
    ];
    values.extend(hashes.iter().map(|h| Value::from(h.to_vec())));
    let rows = shared.db.query_all_raw(stmt(shared.backend, &sql, values)).await.map_err(|e| db_error(&e))?;
    rows.iter().map(|r| Ok(CandidateId::from_uuid(uuid_from(&get::<Vec<u8>>(r, "candidate_id")?)?))).collect()
}

fn get<T: sea_orm::TryGetable>(row: &QueryResult, column: &str) -> Result<T, StoreError> {
    row.try_get("", column).map_err(|e| db_error(&e))
}

/// Records a staff member's read marker (upsert, never moved back); nothing for a candidate that
/// is not the tenant's or is erased. On PostgreSQL the candidate row is share-locked, so an
/// erasure committing meanwhile is waited for and then seen (no marker outlives it).
pub(crate) async fn mark_read(
    shared: &Shared,
    tenant: TenantId,
    staff: StaffId,
    candidate: CandidateId,
    at: OffsetDateTime,
) -> Result<(), StoreError> {
    let lock = if shared.backend == DbBackend::Postgres { " FOR SHARE" } else { "" };
    let sql = format!(
        "INSERT INTO thread_reads (tenant_id, staff_id, candidate_id, read_at) \
         SELECT tenant_id, $2, id, $4 FROM candidates WHERE tenant_id = $1 AND id = $3 AND tombstone IS NULL{lock} \
         ON CONFLICT (tenant_id, staff_id, candidate_id) DO UPDATE SET read_at = excluded.read_at \
         WHERE excluded.read_at > thread_reads.read_at"
    );
    shared
        .execute(
            &sql,
            vec![
                id_bytes(tenant.as_uuid()).into(),
                id_bytes(staff.as_uuid()).into(),
                id_bytes(candidate.as_uuid()).into(),
                micros(at).into(),
            ],
        )
        .await?;
    Ok(())
}

/// The viewer's summaries of the listed conversations (see
/// [`hoheit_domain::ports::Queries::conversation_summaries`]): which candidates are listed, the
/// unread counts, the last messages and their delivery statuses, one statement each.
pub(crate) async fn summaries(
    shared: &Shared,
    tenant: TenantId,
    viewer: StaffId,
    candidates: &[CandidateId],
) -> Result<Vec<ConversationSummary>, StoreError> {
    let mut asked: Vec<CandidateId> = Vec::with_capacity(candidates.len());
    for id in candidates {
        if !asked.contains(id) {
            asked.push(*id);
        }
    }
    if asked.is_empty() {
        return Ok(Vec::new());
    }
    let t = tenant.as_uuid();
    let ids = || asked.iter().map(|c| Value::from(id_bytes(c.as_uuid())));
    let query = |sql: String, mut values: Vec<Value>| {
        values.extend(ids());
        shared.db.query_all_raw(stmt(shared.backend, &sql, values))
    };
    let listed = query(
        format!(
            "SELECT id FROM candidates WHERE {} = $1 AND tombstone IS NULL AND id IN ({})",
            tenant_term(shared.backend),
            numbered(2, asked.len())
        ),
        vec![id_bytes(t).into()],
    )
    .await
    .map_err(|e| db_error(&e))?;
    let listed: Vec<Uuid> = listed.iter().map(|r| uuid_from(&get::<Vec<u8>>(r, "id")?)).collect::<Result<_, _>>()?;
    let unread_rows = query(
        format!(
            "SELECT m.candidate_id AS candidate_id, COUNT(*) AS n FROM messages m \
             LEFT JOIN thread_reads r ON r.tenant_id = m.tenant_id AND r.candidate_id = m.candidate_id AND r.staff_id = $2 \
             WHERE m.tenant_id = $1 AND m.direction = 'inbound' AND (r.read_at IS NULL OR m.created_at > r.read_at) \
             AND m.candidate_id IN ({}) GROUP BY m.candidate_id",
            numbered(3, asked.len())
        ),
        vec![id_bytes(t).into(), id_bytes(viewer.as_uuid()).into()],
    )
    .await
    .map_err(|e| db_error(&e))?;
    let mut unread: HashMap<Uuid, u32> = HashMap::new();
    for r in &unread_rows {
        let n: i64 = get(r, "n")?;
        unread.insert(uuid_from(&get::<Vec<u8>>(r, "candidate_id")?)?, u32::try_from(n).unwrap_or(u32::MAX));
    }
    let last_rows = query(
        format!(
            "SELECT m.candidate_id AS candidate_id, m.direction AS direction, m.kind AS kind, m.intent AS intent, \
             m.created_at AS created_at, m.timeline AS timeline, m.provider_id AS provider_id, \
             (SELECT md.kind FROM media md WHERE md.tenant_id = m.tenant_id AND md.candidate_id = m.candidate_id \
             AND md.message_id = m.id ORDER BY md.created_at LIMIT 1) AS media_kind \
             FROM messages m WHERE m.tenant_id = $1 AND m.candidate_id IN ({}) AND m.id = (SELECT m2.id FROM messages m2 \
             WHERE m2.tenant_id = m.tenant_id AND m2.candidate_id = m.candidate_id \
             ORDER BY m2.created_at DESC, m2.id DESC LIMIT 1)",
            numbered(2, asked.len())
        ),
        vec![id_bytes(t).into()],
    )
    .await
    .map_err(|e| db_error(&e))?;
    let provider_ids: Vec<String> = last_rows
        .iter()
        .filter(|r| get::<String>(r, "direction").is_ok_and(|d| d == "outbound"))
        .filter_map(|r| get::<Option<String>>(r, "provider_id").ok().flatten())
        .collect();
    let statuses = super::messages::statuses_for(shared, t, provider_ids).await?;
    let mut last: HashMap<Uuid, LastMessage> = HashMap::new();
    for r in &last_rows {
        let direction = direction_from(&get::<String>(r, "direction")?)?;
        let outbound = direction == Direction::Outbound;
        let status = if outbound {
            let mut timeline: StatusTimeline = from_json("message timeline", get::<String>(r, "timeline")?.as_bytes())?;
            let provider_id: Option<String> = get(r, "provider_id")?;
            for s in statuses.iter().filter(|s| Some(&s.provider_id) == provider_id.as_ref()) {
                let observation = StatusObservation {
                    status: status_from(&s.status)?,
                    at: from_micros(s.at)?,
                    error_code: s.error_code,
                };
                timeline.observe(observation);
            }
            timeline.effective()
        } else {
            None
        };
        let media = get::<Option<String>>(r, "media_kind")?
            .map(|k| MediaKind::parse(&k).ok_or_else(|| StoreError::Corrupt("media kind".into())))
            .transpose()?;
        let intent = get::<Option<String>>(r, "intent")?.map(|i| intent_from(&i)).transpose()?;
        last.insert(
            uuid_from(&get::<Vec<u8>>(r, "candidate_id")?)?,
            LastMessage {
                direction,
                kind: kind_from(&get::<String>(r, "kind")?)?,
                media,
                intent: intent.filter(|_| outbound),
                at: from_micros(get(r, "created_at")?)?,
                status,
            },
        );
    }
    Ok(asked
        .into_iter()
        .filter(|c| listed.contains(&c.as_uuid()))
        .map(|c| ConversationSummary {
            candidate: c,
            unread: unread.get(&c.as_uuid()).copied().unwrap_or(0),
            last: last.get(&c.as_uuid()).copied(),
        })
        .collect())
}

/// Candidates written before m0012, whose names are indexed by [`backfill_names`] per batch.
const BACKFILL_BATCH: u64 = 500;

/// Indexes the names of candidates flagged `names_pending` (written before migration m0012), in
/// batches of [`BACKFILL_BATCH`] per transaction, and clears the flag; idempotent, and a row
/// changed meanwhile (another version) is taken again by the next batch. A candidate whose state
/// cannot be opened is left unindexed (and unflagged, so the run ends). Returns how many were
/// indexed.
pub(crate) async fn backfill_names(shared: &Shared) -> Result<u64, StoreError> {
    use sea_orm::FromQueryResult as _;
    let mut done = 0;
    loop {
        let select = format!(
            "SELECT * FROM candidates WHERE names_pending = $1 AND tombstone IS NULL ORDER BY tenant_id, id LIMIT {BACKFILL_BATCH}"
        );
        let ticket = shared.candidate_keys.ticket();
        let rows = shared
            .db
            .query_all_raw(stmt(shared.backend, &select, vec![true.into()]))
            .await
            .map_err(|e| db_error(&e))?;
        if rows.is_empty() {
            return Ok(done);
        }
        let txn = shared.begin_immediate().await?;
        for row in &rows {
            let model = crate::entity::candidates::Model::from_query_result(row, "").map_err(|e| db_error(&e))?;
            let tenant = uuid_from(&model.tenant_id)?;
            let id = uuid_from(&model.id)?;
            let key = shared.tenant_key(&txn, tenant).await?;
            let hashes = match super::candidates::from_row(shared, &key, &model, ticket) {
                Ok(candidate) => Some(term_hashes(&key, &name_terms(&key, &candidate).0)),
                Err(StoreError::Corrupt(_)) => None,
                Err(e) => return Err(e),
            };
            let cleared = txn
                .execute_raw(stmt(
                    shared.backend,
                    "UPDATE candidates SET names_pending = $4 WHERE tenant_id = $1 AND id = $2 AND version = $3",
                    vec![id_bytes(tenant).into(), id_bytes(id).into(), model.version.into(), false.into()],
                ))
                .await
                .map_err(|e| db_error(&e))?
                .rows_affected();
            if cleared == 1
                && let Some(hashes) = hashes
            {
                txn.execute_raw(stmt(
                    shared.backend,
                    "DELETE FROM name_tokens WHERE tenant_id = $1 AND candidate_id = $2",
                    vec![id_bytes(tenant).into(), id_bytes(id).into()],
                ))
                .await
                .map_err(|e| db_error(&e))?;
                insert_names(shared.backend, &txn, tenant, id, &hashes).await?;
                shared.forget_indexed(id);
                done += 1;
            }
        }
        txn.commit().await.map_err(|e| db_error(&e))?;
    }
}
