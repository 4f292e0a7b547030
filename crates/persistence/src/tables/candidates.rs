//! `candidates` (the aggregate sealed with the candidate key, which is wrapped with the tenant
//! key; lifecycle, due times and the objection flag in clear) and `contact_index` (the blind
//! index of phone numbers and user ids). Erasure deletes the candidate's content rows in every
//! table and destroys its key, keeping a content-free tombstone.

use std::sync::{Arc, LazyLock};

use hoheit_domain::candidate::Candidate;
use hoheit_domain::ids::{CandidateId, TenantId};
use hoheit_domain::inbound::ContactKey;
use hoheit_domain::ports::{CandidateChange, DuplicateKey, StoreError};
use hoheit_domain::retention::last_activity;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Value};
use time::OffsetDateTime;

use crate::batch::{Write, placeholders};
use crate::codec::{
    contact_text, db_error, from_json, from_micros, id_bytes, is_unique_violation, micros, to_json, to_json_bytes,
    uuid_from,
};
use crate::crypto::{CacheTicket, CandidateKey, KeyBytes, TenantKey};
use crate::entity::{self, candidates::Model, scoped};
use crate::shared::{Shared, stmt, tenant_term};

/// Tables whose rows belong to one candidate and go with its erasure (besides the statuses of
/// its messages, which are keyed by provider id): content, the contact index, the name index
/// and the staff's read markers (issue 17).
const CONTENT_TABLES: [&str; 6] = ["media", "messages", "outbox", "contact_index", "name_tokens", "thread_reads"];

/// `INSERT INTO candidates (…) VALUES `: a new candidate's columns (the tombstone is NULL, the
/// version 0, `updated_at` its creation), written once for the single and the multi-row insert.
pub(crate) const INSERT: &str = "INSERT INTO candidates (id, tenant_id, version, lifecycle, process_ended_at, \
     retention_due_at, review_due_at, objected, created_at, updated_at, wrapped_key, state, hold_review_at, \
     last_activity_at) VALUES ";
const WIDTH: usize = 14;
static INSERT_ONE: LazyLock<String> = LazyLock::new(|| format!("{INSERT}{}", placeholders(WIDTH)));

/// `INSERT INTO contact_index (…) VALUES `, and the conflict rule: inserted, or already the
/// candidate's: one row affected; another candidate's: none.
pub(crate) const INSERT_CONTACT: &str = "INSERT INTO contact_index (tenant_id, blind, candidate_id) VALUES ";
pub(crate) const CONTACT_CONFLICT: &str = " ON CONFLICT (tenant_id, blind) DO UPDATE SET candidate_id = excluded.candidate_id \
     WHERE contact_index.candidate_id = excluded.candidate_id";
static INSERT_CONTACT_ONE: LazyLock<String> =
    LazyLock::new(|| format!("{INSERT_CONTACT}{}{CONTACT_CONFLICT}", placeholders(3)));

/// Applies a change set's candidate changes.
pub(crate) async fn apply(w: &mut Write<'_>, changes: &[CandidateChange]) -> Result<(), StoreError> {
    for change in changes {
        match change {
            CandidateChange::Insert { candidate, retention_due } => insert(w, candidate, *retention_due).await?,
            CandidateChange::Update { candidate, expected_version, retention_due } => {
                update(w, candidate, *expected_version, *retention_due).await?;
            }
            CandidateChange::Erase { tombstone, expected_version } => erase(w, tombstone, *expected_version).await?,
        }
    }
    Ok(())
}

/// Version column value of an expected version, and of the next one.
fn versions(expected: u64) -> (i64, i64) {
    let expected = i64::try_from(expected).unwrap_or(i64::MAX);
    (expected, expected.saturating_add(1))
}

async fn insert(
    w: &mut Write<'_>,
    candidate: &Candidate,
    retention_due: Option<OffsetDateTime>,
) -> Result<(), StoreError> {
    w.own(candidate.tenant)?;
    let tkey = w.tenant_key().await?;
    let id = candidate.id.as_uuid();
    let ckey = Arc::new(CandidateKey::new(w.tenant, id, KeyBytes::random()));
    let wrapped = tkey.wrap_candidate_key(id, ckey.key_bytes());
    let state = ckey.seal("candidates", id, "state", &to_json_bytes(candidate)?);
    let row: Vec<Value> = vec![
        id_bytes(id).into(),
        w.t(),
        0i64.into(),
        candidate.lifecycle.as_str().into(),
        candidate.process_ended_at().map(micros).into(),
        retention_due.map(micros).into(),
        candidate.objection().review.as_ref().map(|r| micros(r.due_at)).into(),
        candidate.objection().is_objected().into(),
        micros(candidate.created_at).into(),
        micros(candidate.created_at).into(),
        wrapped.into(),
        state.into(),
        candidate.hold_review_at().map(micros).into(),
        micros(last_activity(candidate)).into(),
    ];
    if w.ctx.defer_candidates {
        // written with the batch's other new candidates (a duplicate id fails that statement,
        // and the batch is run again with a savepoint per change set, which attributes it)
        w.ctx.deferred.candidates.push(row);
    } else {
        w.exec(&INSERT_ONE, row).await.map_err(|e| {
            if is_unique_violation(&e) { StoreError::Duplicate(DuplicateKey::Id) } else { db_error(&e) }
        })?;
    }
    w.ctx.candidate_keys.insert((w.tenant, id), ckey);
    index_contacts(w, &tkey, candidate, true).await
}

async fn update(
    w: &mut Write<'_>,
    candidate: &Candidate,
    expected_version: u64,
    retention_due: Option<OffsetDateTime>,
) -> Result<(), StoreError> {
    w.own(candidate.tenant)?;
    let id = candidate.id.as_uuid();
    let ckey = w.candidate_key(id).await?;
    let state = ckey.seal("candidates", id, "state", &to_json_bytes(candidate)?);
    let (expected, next) = versions(expected_version);
    let updated = w
        .exec(
            "UPDATE candidates SET version = $3, lifecycle = $4, process_ended_at = $5, retention_due_at = $6, \
             review_due_at = $7, objected = $8, updated_at = $9, state = $10, hold_review_at = $12, \
             last_activity_at = $13 \
             WHERE tenant_id = $1 AND id = $2 AND version = $11 AND tombstone IS NULL",
            vec![
                w.t(),
                id_bytes(id).into(),
                next.into(),
                candidate.lifecycle.as_str().into(),
                candidate.process_ended_at().map(micros).into(),
                retention_due.map(micros).into(),
                candidate.objection().review.as_ref().map(|r| micros(r.due_at)).into(),
                candidate.objection().is_objected().into(),
                micros(w.at).into(),
                state.into(),
                expected.into(),
                candidate.hold_review_at().map(micros).into(),
                micros(last_activity(candidate)).into(),
            ],
        )
        .await
        .map_err(|e| db_error(&e))?;
    if updated == 0 {
        return Err(StoreError::Conflict);
    }
    let tkey = w.tenant_key().await?;
    index_contacts(w, &tkey, candidate, false).await
}

/// Erasure (crypto-shredding): content rows deleted, the key destroyed, the tombstone kept.
async fn erase(w: &mut Write<'_>, tombstone: &Candidate, expected_version: u64) -> Result<(), StoreError> {
    w.own(tombstone.tenant)?;
    let id = tombstone.id.as_uuid();
    let c = || -> Value { id_bytes(id).into() };
    let err = |e: sea_orm::DbErr| db_error(&e);
    super::messages::delete_statuses_of(w, id).await?;
    for table in CONTENT_TABLES {
        w.exec(&format!("DELETE FROM {table} WHERE tenant_id = $1 AND candidate_id = $2"), vec![w.t(), c()])
            .await
            .map_err(err)?;
    }
    let (expected, next) = versions(expected_version);
    let updated = w
        .exec(
            "UPDATE candidates SET version = $3, lifecycle = 'erased', retention_due_at = NULL, review_due_at = NULL, \
             hold_review_at = NULL, last_activity_at = NULL, updated_at = $4, wrapped_key = NULL, state = NULL, tombstone = $5 \
             WHERE tenant_id = $1 AND id = $2 AND version = $6 AND tombstone IS NULL",
            vec![w.t(), c(), next.into(), micros(w.at).into(), to_json(tombstone)?.into(), expected.into()],
        )
        .await
        .map_err(err)?;
    if updated == 0 {
        return Err(StoreError::Conflict);
    }
    w.ctx.candidate_keys.remove(&(w.tenant, id));
    w.ctx.indexed.remove(&id);
    w.ctx.shredded.push((w.tenant, id));
    Ok(())
}

/// Every candidate of the tenant that is not erased becomes due for a retention check now.
pub(crate) async fn reschedule_retention(w: &mut Write<'_>) -> Result<(), StoreError> {
    w.exec(
        "UPDATE candidates SET retention_due_at = $2 WHERE tenant_id = $1 AND tombstone IS NULL",
        vec![w.t(), micros(w.at).into()],
    )
    .await
    .map_err(|e| db_error(&e))?;
    Ok(())
}

/// Indexes a candidate's contact keys (blind index) and its name terms (`name_tokens`, see
/// [`super::inbox`]). A key that belongs to another candidate is a duplicate contact.
///
/// What this process indexed last is cached per candidate (the contact keys, then a keyed
/// fingerprint of the name terms): the hot path, an update that changes neither, writes nothing.
/// A new candidate's index rows are inserted (one statement each, or buffered with the batch's
/// other new candidates); a changed name, or an update this process has not seen the
/// candidate's index of (after a restart), replaces the name's (two).
async fn index_contacts(
    w: &mut Write<'_>,
    key: &TenantKey,
    candidate: &Candidate,
    fresh: bool,
) -> Result<(), StoreError> {
    let cid = candidate.id.as_uuid();
    let blinds: Vec<[u8; 32]> = candidate.contact.keys().iter().map(|c| key.blind_index(&contact_text(c))).collect();
    let (terms, fingerprint) = super::inbox::name_terms(key, candidate);
    let mut indexed = blinds.clone();
    indexed.push(fingerprint);
    // the hot path: an update whose contact keys and name this process indexed already
    let known = w.ctx.indexed.get(&cid).cloned().or_else(|| w.shared.indexed_contacts(cid));
    if known.as_ref() == Some(&indexed) {
        return Ok(());
    }
    let (known_contacts, known_name) = match known.as_deref() {
        Some([contacts @ .., name]) => (Some(contacts), Some(name)),
        Some([]) | None => (None, None),
    };
    if known_name != Some(&fingerprint) {
        super::inbox::index_names(w, cid, &super::inbox::term_hashes(key, &terms), fresh).await?;
    }
    if known_contacts == Some(blinds.as_slice()) {
        w.ctx.indexed.insert(cid, indexed);
        return Ok(());
    }
    let id = id_bytes(cid);
    for blind in &blinds {
        let row: Vec<Value> = vec![w.t(), blind.to_vec().into(), id.clone().into()];
        if fresh && w.ctx.defer_candidates {
            // checked when the buffer is written: fewer rows affected than written is a
            // duplicate contact, attributed by the batch's run with savepoints
            w.ctx.deferred.contacts.push(row);
            continue;
        }
        let affected = w.exec(&INSERT_CONTACT_ONE, row).await.map_err(|e| db_error(&e))?;
        if affected == 0 {
            return Err(StoreError::Duplicate(DuplicateKey::Contact));
        }
    }
    w.ctx.indexed.insert(cid, indexed);
    Ok(())
}

/// A row back to the aggregate (the tombstone of an erased candidate), with the row's version.
/// `ticket` was taken before the row was read (see [`crate::crypto::KeyCache`]).
pub(crate) fn from_row(
    shared: &Shared,
    tenant_key: &TenantKey,
    row: &Model,
    ticket: CacheTicket,
) -> Result<Candidate, StoreError> {
    let tenant = uuid_from(&row.tenant_id)?;
    let id = uuid_from(&row.id)?;
    let mut candidate: Candidate = if let Some(tombstone) = &row.tombstone {
        from_json("candidate tombstone", tombstone.as_bytes())?
    } else {
        let key = shared.candidate_key(tenant_key, tenant, id, row.wrapped_key.as_deref(), ticket)?;
        let sealed = row.state.as_deref().ok_or_else(|| StoreError::Corrupt("candidate state missing".into()))?;
        let plain = key
            .open("candidates", id, "state", sealed)
            .map_err(|e| StoreError::Corrupt(format!("candidate state: {e}")))?;
        from_json("candidate state", &plain)?
    };
    if candidate.id.as_uuid() != id || candidate.tenant.as_uuid() != tenant {
        return Err(StoreError::Corrupt("candidate state belongs to another record".into()));
    }
    candidate.version = u64::try_from(row.version).map_err(|_| StoreError::Corrupt("candidate version".into()))?;
    Ok(candidate)
}

/// A candidate by id.
pub(crate) async fn by_id(shared: &Shared, tenant: TenantId, id: CandidateId) -> Result<Option<Candidate>, StoreError> {
    let t = tenant.as_uuid();
    let ticket = shared.candidate_keys.ticket();
    let Some(row) = scoped::<entity::candidates::Entity>(t)
        .filter(entity::candidates::Column::Id.eq(id_bytes(id.as_uuid())))
        .one(&shared.db)
        .await
        .map_err(|e| db_error(&e))?
    else {
        return Ok(None);
    };
    let key = shared.tenant_key(&shared.db, t).await?;
    from_row(shared, &key, &row, ticket).map(Some)
}

/// The tenant's candidates among `ids`, one statement per 500 ids (the inbox's page).
pub(crate) async fn by_ids(
    shared: &Shared,
    tenant: TenantId,
    ids: &[CandidateId],
) -> Result<Vec<Candidate>, StoreError> {
    let t = tenant.as_uuid();
    let mut found = Vec::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(found);
    }
    let key = shared.tenant_key(&shared.db, t).await?;
    for chunk in ids.chunks(500) {
        let ticket = shared.candidate_keys.ticket();
        // looked up by primary key (see `tenant_term`), scoped to the tenant
        let sql = format!(
            "SELECT * FROM candidates WHERE {} = $1 AND id IN ({})",
            tenant_term(shared.backend),
            crate::shared::numbered(2, chunk.len())
        );
        let mut values: Vec<Value> = vec![id_bytes(t).into()];
        values.extend(chunk.iter().map(|id| Value::from(id_bytes(id.as_uuid()))));
        let rows = shared.db.query_all_raw(stmt(shared.backend, &sql, values)).await.map_err(|e| db_error(&e))?;
        for row in &rows {
            let row = Model::from_query_result(row, "").map_err(|e| db_error(&e))?;
            found.push(from_row(shared, &key, &row, ticket)?);
        }
    }
    Ok(found)
}

/// The candidate with this contact key, through the blind index.
pub(crate) async fn by_contact(
    shared: &Shared,
    tenant: TenantId,
    contact: &ContactKey,
) -> Result<Option<Candidate>, StoreError> {
    let t = tenant.as_uuid();
    let Some(blind) = shared.blind_index(t, contact).await? else { return Ok(None) };
    let ticket = shared.candidate_keys.ticket();
    let row = shared
        .db
        .query_one_raw(stmt(
            shared.backend,
            "SELECT c.* FROM contact_index i JOIN candidates c ON c.id = i.candidate_id \
             WHERE i.tenant_id = $1 AND i.blind = $2 AND c.tenant_id = $1",
            vec![id_bytes(t).into(), blind.into()],
        ))
        .await
        .map_err(|e| db_error(&e))?;
    let Some(row) = row else { return Ok(None) };
    let model = Model::from_query_result(&row, "").map_err(|e| db_error(&e))?;
    let key = shared.tenant_key(&shared.db, t).await?;
    from_row(shared, &key, &model, ticket).map(Some)
}

/// Candidates whose retention due time has passed, by due time.
pub(crate) async fn retention_due(
    shared: &Shared,
    tenant: TenantId,
    now: OffsetDateTime,
    limit: u32,
) -> Result<Vec<CandidateId>, StoreError> {
    let rows = scoped::<entity::candidates::Entity>(tenant.as_uuid())
        .filter(entity::candidates::Column::RetentionDueAt.lte(micros(now)))
        .order_by_asc(entity::candidates::Column::RetentionDueAt)
        .limit(u64::from(limit))
        .all(&shared.db)
        .await
        .map_err(|e| db_error(&e))?;
    rows.iter().map(|r| uuid_from(&r.id).map(CandidateId::from_uuid)).collect()
}

/// One row of a tenant's candidate list: only the columns kept in clear (no number, no name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateSummary {
    /// The candidate.
    pub id: CandidateId,
    /// `active` or `restricted` (erased candidates are not listed).
    pub lifecycle: String,
    /// Whether the candidate objected.
    pub objected: bool,
    /// When the application process ended, if it did.
    pub process_ended_at: Option<OffsetDateTime>,
    /// When the retention run decides about the candidate next (erasure or restriction).
    pub retention_due_at: Option<OffsetDateTime>,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
    /// Last activity (the last message in either direction, or the creation).
    pub last_activity_at: OffsetDateTime,
}

/// The order of a candidate list and where it continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listing {
    /// Creation order (ids are UUIDv7), after this candidate.
    Created(Option<CandidateId>),
    /// Newest activity first, by (last activity, id) descending, after this position; only
    /// candidates in the state, if one is given (from the clear columns that mirror it).
    Activity(Option<(OffsetDateTime, CandidateId)>, Option<hoheit_domain::ports::ActivityFilter>),
}

/// A page of the tenant's candidates in the listing's order, starting after its position;
/// restricted ones (archived, R25; Art. 18) only if `include_restricted`, erased ones never.
/// Reads clear columns only: no key is unwrapped.
pub(crate) async fn list(
    shared: &Shared,
    tenant: TenantId,
    include_restricted: bool,
    listing: Listing,
    limit: u64,
) -> Result<Vec<CandidateSummary>, StoreError> {
    use entity::candidates::Column;
    let mut query = scoped::<entity::candidates::Entity>(tenant.as_uuid()).filter(Column::Tombstone.is_null());
    if !include_restricted {
        query = query.filter(Column::Lifecycle.eq("active"));
    }
    query = match listing {
        Listing::Created(after) => {
            if let Some(after) = after {
                query = query.filter(Column::Id.gt(id_bytes(after.as_uuid())));
            }
            query.order_by_asc(Column::Id)
        }
        Listing::Activity(after, only) => {
            use hoheit_domain::ports::ActivityFilter;
            query = match only {
                None => query,
                Some(ActivityFilter::Objected) => query.filter(Column::Objected.eq(true)),
                Some(ActivityFilter::ReviewPending) => query.filter(Column::ReviewDueAt.is_not_null()),
                Some(ActivityFilter::ProcessEnded) => query.filter(Column::ProcessEndedAt.is_not_null()),
            };
            if let Some((at, id)) = after {
                let (at, id) = (micros(at), id_bytes(id.as_uuid()));
                query = query.filter(
                    Condition::any()
                        .add(Column::LastActivityAt.lt(at))
                        .add(Condition::all().add(Column::LastActivityAt.eq(at)).add(Column::Id.lt(id))),
                );
            }
            query.order_by_desc(Column::LastActivityAt).order_by_desc(Column::Id)
        }
    };
    let rows = query.limit(limit).all(&shared.db).await.map_err(|e| db_error(&e))?;
    rows.iter()
        .map(|r| {
            Ok(CandidateSummary {
                id: CandidateId::from_uuid(uuid_from(&r.id)?),
                lifecycle: r.lifecycle.clone(),
                objected: r.objected,
                process_ended_at: r.process_ended_at.map(from_micros).transpose()?,
                retention_due_at: r.retention_due_at.map(from_micros).transpose()?,
                created_at: from_micros(r.created_at)?,
                updated_at: from_micros(r.updated_at)?,
                last_activity_at: from_micros(r.last_activity_at.unwrap_or(r.created_at))?,
            })
        })
        .collect()
}

/// Candidates with an open objection review, for the review queue (R16): (candidate, due).
pub(crate) async fn open_reviews(
    shared: &Shared,
    tenant: TenantId,
) -> Result<Vec<(CandidateId, OffsetDateTime)>, StoreError> {
    use entity::candidates::Column;
    let rows = scoped::<entity::candidates::Entity>(tenant.as_uuid())
        .filter(Column::ReviewDueAt.is_not_null())
        .order_by_asc(Column::ReviewDueAt)
        .all(&shared.db)
        .await
        .map_err(|e| db_error(&e))?;
    rows.iter()
        .filter_map(|r| r.review_due_at.map(|d| (r, d)))
        .map(|(r, d)| Ok((CandidateId::from_uuid(uuid_from(&r.id)?), from_micros(d)?)))
        .collect()
}

/// Candidates with a legal hold in force whose review date is at or before `now` (R26), earliest
/// first: (candidate, review date). Reads the clear column only; erased rows have it NULL.
pub(crate) async fn due_holds(
    shared: &Shared,
    tenant: TenantId,
    now: OffsetDateTime,
) -> Result<Vec<(CandidateId, OffsetDateTime)>, StoreError> {
    use entity::candidates::Column;
    let rows = scoped::<entity::candidates::Entity>(tenant.as_uuid())
        .filter(Column::HoldReviewAt.lte(micros(now)))
        .filter(Column::Tombstone.is_null())
        .order_by_asc(Column::HoldReviewAt)
        .order_by_asc(Column::Id)
        .all(&shared.db)
        .await
        .map_err(|e| db_error(&e))?;
    rows.iter()
        .filter_map(|r| r.hold_review_at.map(|d| (r, d)))
        .map(|(r, d)| Ok((CandidateId::from_uuid(uuid_from(&r.id)?), from_micros(d)?)))
        .collect()
}
