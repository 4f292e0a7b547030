//! The domain's read port ([`Queries`]) over the store: the list and read views of the API and
//! the browser UI, delegating to the store's reads. Clear columns only where the port says so.

use async_trait::async_trait;
use hoheit_domain::ids::{CandidateId, StaffId, TenantId};
use hoheit_domain::ports::{
    ActivityPage, CandidatePage, CandidateSummary, ConversationSummary, DeadlineCounts, DueLegalHold,
    DueSubjectRequests, ListedLifecycle, NameSearch, OpenReview, Queries, Store, StoreError, TenantSummary,
};
use time::{Duration, OffsetDateTime};

use crate::store::SeaStore;

fn listed_lifecycle(stored: &str) -> Result<ListedLifecycle, StoreError> {
    match stored {
        "active" => Ok(ListedLifecycle::Active),
        "restricted" => Ok(ListedLifecycle::Restricted),
        _ => Err(StoreError::Corrupt("candidate lifecycle".into())),
    }
}

/// A listed row as the port returns it.
fn summary(c: crate::CandidateSummary) -> Result<CandidateSummary, StoreError> {
    Ok(CandidateSummary {
        id: c.id,
        lifecycle: listed_lifecycle(&c.lifecycle)?,
        objected: c.objected,
        process_ended_at: c.process_ended_at,
        retention_due_at: c.retention_due_at,
        created_at: c.created_at,
        updated_at: c.updated_at,
        last_activity_at: c.last_activity_at,
    })
}

#[async_trait]
impl Queries for SeaStore {
    async fn tenants(&self) -> Result<Vec<TenantSummary>, StoreError> {
        Ok(SeaStore::tenants(self)
            .await?
            .into_iter()
            .map(|(id, name, created_at)| TenantSummary { id, name, created_at })
            .collect())
    }

    async fn candidate_page(&self, tenant: TenantId, page: CandidatePage) -> Result<Vec<CandidateSummary>, StoreError> {
        let rows = self.list_candidates(tenant, page.include_restricted, page.after, u64::from(page.limit)).await?;
        rows.into_iter().map(summary).collect()
    }

    async fn candidate_activity_page(
        &self,
        tenant: TenantId,
        page: ActivityPage,
    ) -> Result<Vec<CandidateSummary>, StoreError> {
        let after = page.after.map(|a| (a.last_activity_at, a.id));
        let rows = self
            .list_candidates_by_activity(tenant, page.include_restricted, after, page.only, u64::from(page.limit))
            .await?;
        rows.into_iter().map(summary).collect()
    }

    async fn conversation_summaries(
        &self,
        tenant: TenantId,
        viewer: StaffId,
        candidates: &[CandidateId],
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        crate::tables::inbox::summaries(&self.shared, tenant, viewer, candidates).await
    }

    async fn candidates_by_name(&self, tenant: TenantId, search: NameSearch) -> Result<Vec<CandidateId>, StoreError> {
        crate::tables::inbox::by_name(&self.shared, tenant, &search).await
    }

    async fn open_reviews(&self, tenant: TenantId) -> Result<Vec<OpenReview>, StoreError> {
        Ok(SeaStore::open_reviews(self, tenant)
            .await?
            .into_iter()
            .map(|(candidate, due_at)| OpenReview { candidate, due_at })
            .collect())
    }

    async fn due_subject_requests(
        &self,
        tenant: TenantId,
        now: OffsetDateTime,
        within: Duration,
    ) -> Result<DueSubjectRequests, StoreError> {
        let register = Store::subject_requests(self, tenant, None).await?;
        Ok(DueSubjectRequests::from_register(register, now, within))
    }

    async fn due_legal_holds(&self, tenant: TenantId, now: OffsetDateTime) -> Result<Vec<DueLegalHold>, StoreError> {
        Ok(SeaStore::due_legal_holds(self, tenant, now)
            .await?
            .into_iter()
            .map(|(candidate, review_at)| DueLegalHold { candidate, review_at })
            .collect())
    }

    async fn deadline_counts(&self, now: OffsetDateTime, soon: OffsetDateTime) -> Result<DeadlineCounts, StoreError> {
        let c = SeaStore::deadline_counts(self, now, soon).await?;
        Ok(DeadlineCounts {
            reviews_open: c.reviews_open,
            reviews_overdue: c.reviews_overdue,
            subject_requests_overdue: c.subject_requests_overdue,
            subject_requests_due_soon: c.subject_requests_due_soon,
            media_pending: c.media_pending,
            legal_hold_reviews_due: c.legal_hold_reviews_due,
        })
    }
}
