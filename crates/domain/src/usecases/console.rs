//! The DPO and admin console's reads (issue 18, first part): what is due (subject requests,
//! objection reviews, legal-hold reviews, the channels' approvals) and the queue of open
//! objection reviews (R16) with what each one is about, without the message text (reading that
//! is [`Hoheit::read_review_message`], an audited content read).

use time::OffsetDateTime;

use super::{Hoheit, UseCaseError, may_read, permitted};
use crate::access::Action;
use crate::candidate::Candidate;
use crate::ids::TenantId;
use crate::objection::PendingReview;
use crate::ports::DueSubjectRequests;
use crate::tenant::Actor;
use crate::tenant::Channel;

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

/// What is due in a tenant, for the console's overview (issue 18 item 1): dates and counts, no
/// content and no per-recruiter figures.
#[derive(Debug, Clone)]
pub struct ConsoleOverview {
    /// Subject requests overdue, and due within [`OVERVIEW_HORIZON`] (R29).
    pub subject_requests: DueSubjectRequests,
    /// Open objection reviews (R16).
    pub reviews_open: usize,
    /// Of those, past their due time.
    pub reviews_overdue: usize,
    /// Candidates whose legal hold has reached its review date (R26).
    pub legal_holds_due: usize,
    /// The tenant's channels with their approval (R1).
    pub channels: Vec<Channel>,
    /// When this was read.
    pub at: OffsetDateTime,
}

/// How far ahead the overview lists subject requests as due soon.
pub const OVERVIEW_HORIZON: time::Duration = time::Duration::days(7);

impl Hoheit {
    /// What is due in the tenant (admin and DPO).
    pub async fn console_overview(&self, tenant: TenantId, actor: Actor) -> Result<ConsoleOverview, UseCaseError> {
        permitted(
            actor,
            Action::HandleSubjectRequests,
            "only an admin or the data-protection officer sees the console",
        )?;
        let queries = self.queries.as_ref().ok_or(UseCaseError::Unavailable("the read port is not wired"))?;
        let at = self.now();
        let subject_requests = queries.due_subject_requests(tenant, at, OVERVIEW_HORIZON).await?;
        let reviews = queries.open_reviews(tenant).await?;
        let legal_holds_due = queries.due_legal_holds(tenant, at).await?.len();
        let config = self.config(tenant).await?;
        Ok(ConsoleOverview {
            subject_requests,
            reviews_open: reviews.len(),
            reviews_overdue: reviews.iter().filter(|r| at >= r.due_at).count(),
            legal_holds_due,
            channels: config.channels.clone(),
            at,
        })
    }

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
