//! The DPO and admin console's reads (issue 18, first part): the queue of open objection
//! reviews (R16) with what each one is about, without the message text (reading that is
//! [`Hoheit::read_review_message`], an audited content read).

use time::OffsetDateTime;

use super::{Hoheit, UseCaseError, may_read, permitted};
use crate::access::Action;
use crate::candidate::Candidate;
use crate::ids::TenantId;
use crate::objection::PendingReview;
use crate::tenant::Actor;

/// One open objection review.
#[derive(Debug, Clone)]
pub struct ReviewItem {
    /// The candidate whose message is under review.
    pub candidate: Candidate,
    /// The review (the pattern that fired, when it was opened, when it is due).
    pub review: PendingReview,
    /// Whether it is past its due time at `at`.
    pub overdue: bool,
    /// When this was read.
    pub at: OffsetDateTime,
}

impl Hoheit {
    /// The open objection reviews, the earliest due first (R16): for admin and DPO, who decide
    /// them. Restricted candidates are included (admin and DPO see them, R25).
    pub async fn review_queue(&self, tenant: TenantId, actor: Actor) -> Result<Vec<ReviewItem>, UseCaseError> {
        permitted(
            actor,
            Action::DecideReviews,
            "only an admin or the data-protection officer decides objection reviews",
        )?;
        let queries = self.queries.as_ref().ok_or(UseCaseError::Unavailable("the read port is not wired"))?;
        let at = self.now();
        let mut items = Vec::new();
        for open in queries.open_reviews(tenant).await? {
            if let Some(candidate) = self.store.candidate(tenant, open.candidate).await?
                && may_read(&candidate, actor).is_ok()
                && let Some(review) = candidate.objection.review.clone()
            {
                items.push(ReviewItem { overdue: at >= open.due_at, review, candidate, at });
            }
        }
        Ok(items)
    }
}
