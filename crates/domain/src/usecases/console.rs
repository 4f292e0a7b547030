//! The DPO and admin console's reads (issue 18, first part): what is due (subject requests,
//! objection reviews, legal-hold reviews, the channels' approvals) and the queue of open
//! objection reviews (R16) with what each one is about, without the message text (reading that
//! is [`Hoheit::read_review_message`], an audited content read).

use time::OffsetDateTime;

use super::{Hoheit, UseCaseError, may_read, permitted};
use crate::access::Action;
use crate::candidate::Candidate;
use crate::candidate::{ErasureReason, Lifecycle, RestrictionReason};
use crate::ids::TenantId;
use crate::inbound::ContactKey;
use crate::objection::PendingReview;
use crate::ports::DueSubjectRequests;
use crate::retention::{RetentionDecision, decide, next_due};
use crate::rules::Rule;
use crate::tenant::Actor;
use crate::tenant::Channel;
use crate::values::PhoneNumber;

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

/// What a retention run would do to one candidate, and when (the retention dry run, issue 18
/// item 4). Pseudonymous: the candidate's id only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPreviewItem {
    /// The candidate.
    pub candidate: crate::ids::CandidateId,
    /// Restrict or erase, with the reason.
    pub decision: RetentionDecision,
    /// When: the run at or after this time does it (`<= now`: the next run).
    pub at: OffsetDateTime,
    /// The rule that decides it.
    pub rule: Rule,
}

/// The rule behind a retention decision.
const fn retention_rule(decision: RetentionDecision) -> Rule {
    match decision {
        RetentionDecision::Restrict { reason: RestrictionReason::Inactivity } | RetentionDecision::Keep => Rule::R25,
        RetentionDecision::Restrict { reason: RestrictionReason::SubjectRequest } => Rule::R32,
        RetentionDecision::Restrict { reason: RestrictionReason::ErasureDeferred }
        | RetentionDecision::Erase { reason: ErasureReason::SubjectRequest } => Rule::R31,
        RetentionDecision::Erase { reason: ErasureReason::RetentionExpired } => Rule::R24,
        RetentionDecision::Erase { reason: ErasureReason::TalentPoolEnded } => Rule::R9,
    }
}

/// At most this many candidates in a preview.
pub const PREVIEW_LIMIT: u32 = 500;

impl Hoheit {
    /// The retention dry run as a list (admin and DPO): every candidate whose data the runs of
    /// the next `horizon` would restrict or erase, when, and by which rule, the earliest first;
    /// at most [`PREVIEW_LIMIT`]. Nothing is changed and nothing is audited (no content is read).
    pub async fn retention_preview(
        &self,
        tenant: TenantId,
        actor: Actor,
        horizon: time::Duration,
    ) -> Result<Vec<RetentionPreviewItem>, UseCaseError> {
        permitted(actor, Action::RunRetention, "only an admin or the data-protection officer runs retention")?;
        let config = self.config(tenant).await?;
        let settings = &config.tenant.retention;
        let now = self.now();
        let mut items = Vec::new();
        for id in self.store.retention_due(tenant, now + horizon, PREVIEW_LIMIT).await? {
            let Some(candidate) = self.store.candidate(tenant, id).await? else { continue };
            let Some(due) = next_due(&candidate, settings, now) else { continue };
            let at = due.max(now);
            let decision = decide(&candidate, settings, at);
            let already = matches!(
                (decision, &candidate.lifecycle),
                (RetentionDecision::Restrict { .. }, Lifecycle::Restricted { .. })
            );
            if decision == RetentionDecision::Keep || already || at > now + horizon {
                continue;
            }
            items.push(RetentionPreviewItem { candidate: id, decision, at, rule: retention_rule(decision) });
        }
        items.sort_by_key(|i| (i.at, i.candidate));
        Ok(items)
    }

    /// Changes the retention policy (admin and DPO; the ranges of RULES.md), keeping the other
    /// settings; every candidate is re-evaluated at the next run.
    pub async fn change_retention_policy(
        &self,
        tenant: TenantId,
        actor: Actor,
        retention: crate::retention::RetentionSettings,
    ) -> Result<crate::tenant::Tenant, UseCaseError> {
        permitted(
            actor,
            Action::ChangeRetentionPolicy,
            "only an admin or the data-protection officer changes the retention policy",
        )?;
        let config = self.config(tenant).await?;
        let t = &config.tenant;
        self.update_settings(
            tenant,
            actor,
            retention,
            t.messaging.clone(),
            t.privacy_contact.clone(),
            t.privacy_notice_url.clone(),
        )
        .await
    }

    /// What is due in the tenant (admin and DPO).
    pub async fn console_overview(&self, tenant: TenantId, actor: Actor) -> Result<ConsoleOverview, UseCaseError> {
        permitted(
            actor,
            Action::HandleSubjectRequests,
            "only an admin or the data-protection officer sees the console",
        )?;
        let queries = self.read_port()?;
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

    /// The candidate with this phone number, as a person asking by mail or phone gives it
    /// (`0170 1234567` in the tenant's region, or with `+`), for the subject-request register
    /// (admin and DPO). Found through the blind index: the number is never compared in clear.
    /// `Ok(None)` when no candidate has it; a number that cannot exist is invalid input.
    pub async fn find_candidate_by_phone(
        &self,
        tenant: TenantId,
        actor: Actor,
        phone: &str,
    ) -> Result<Option<Candidate>, UseCaseError> {
        permitted(
            actor,
            Action::HandleSubjectRequests,
            "only an admin or the data-protection officer keeps the register",
        )?;
        let config = self.config(tenant).await?;
        let number = PhoneNumber::parse_in(phone, config.tenant.messaging.default_region)
            .map_err(|e| UseCaseError::Invalid(e.to_string()))?;
        Ok(self.store.candidate_by_contact(tenant, &ContactKey::Phone(number)).await?)
    }

    /// The open objection reviews, the earliest due first (R16): for admin and DPO, who decide
    /// them. Restricted candidates are included (admin and DPO see them, R25).
    pub async fn review_queue(&self, tenant: TenantId, actor: Actor) -> Result<Vec<ReviewItem>, UseCaseError> {
        permitted(
            actor,
            Action::DecideReviews,
            "only an admin or the data-protection officer decides objection reviews",
        )?;
        let queries = self.read_port()?;
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
