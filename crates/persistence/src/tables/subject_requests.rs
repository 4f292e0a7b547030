//! `subject_requests` (GDPR Art. 15-21 requests and their deadlines; content-free).

use hoheit_domain::ids::{CandidateId, SubjectRequestId, TenantId};
use hoheit_domain::ports::StoreError;
use hoheit_domain::subject_request::SubjectRequest;
use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};

use crate::batch::Write;
use crate::codec::{db_error, from_json, id_bytes, micros, to_json};
use crate::entity::{self, scoped};
use crate::shared::Shared;

/// Inserts or replaces subject requests.
pub(crate) async fn apply(w: &mut Write<'_>, requests: &[SubjectRequest]) -> Result<(), StoreError> {
    for request in requests {
        w.own(request.tenant)?;
        w.exec(
            "INSERT INTO subject_requests (id, tenant_id, candidate_id, kind, status, received_at, due_at, data) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, due_at = excluded.due_at, data = excluded.data \
             WHERE subject_requests.tenant_id = excluded.tenant_id",
            vec![
                id_bytes(request.id.as_uuid()).into(),
                w.t(),
                request.candidate.map(|c| id_bytes(c.as_uuid())).into(),
                request.kind.as_str().into(),
                request.status.as_str().into(),
                micros(request.received_at).into(),
                micros(request.due_at).into(),
                to_json(request)?.into(),
            ],
        )
        .await
        .map_err(|e| db_error(&e))?;
    }
    Ok(())
}

/// The tenant's subject requests (of one candidate if given), oldest first.
pub(crate) async fn list(
    shared: &Shared,
    tenant: TenantId,
    candidate: Option<CandidateId>,
) -> Result<Vec<SubjectRequest>, StoreError> {
    let mut query = scoped::<entity::subject_requests::Entity>(tenant.as_uuid());
    if let Some(c) = candidate {
        query = query.filter(entity::subject_requests::Column::CandidateId.eq(id_bytes(c.as_uuid())));
    }
    let rows = query
        .order_by_asc(entity::subject_requests::Column::ReceivedAt)
        .all(&shared.db)
        .await
        .map_err(|e| db_error(&e))?;
    rows.iter().map(|r| from_json("subject request", r.data.as_bytes())).collect()
}

/// One subject request.
pub(crate) async fn by_id(
    shared: &Shared,
    tenant: TenantId,
    id: SubjectRequestId,
) -> Result<Option<SubjectRequest>, StoreError> {
    let row = scoped::<entity::subject_requests::Entity>(tenant.as_uuid())
        .filter(entity::subject_requests::Column::Id.eq(id_bytes(id.as_uuid())))
        .one(&shared.db)
        .await
        .map_err(|e| db_error(&e))?;
    row.map(|r| from_json("subject request", r.data.as_bytes())).transpose()
}
