//! The objection review (R16) as a reviewer works it: read the message under review (audited,
//! R33) and decide with a reason: confirm applies the objection as if tier 1; dismiss unblocks,
//! audited with who (the actor) and why (a reason code from a fixed list).

use super::candidates::apply_objection;
use super::{Hoheit, Recorder, UseCaseError};
use super::{may_read, permitted};
use crate::access::Action;
use crate::actor::Actor;
use crate::candidate::Candidate;
use crate::conversation::Message;
use crate::events::{ContentKind, DomainEvent};
use crate::ids::{CandidateId, ReviewId, StaffId, TenantId};
use crate::objection::{DismissReason, Objection, ObjectionScope, ObjectionSource, PendingReview};
use crate::rules::Rule;

/// A reviewer's decision on a possible objection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewDecision {
    /// It is an objection: apply it (as if tier 1).
    Confirm,
    /// It is not: unblock, for this reason.
    Dismiss(DismissReason),
}

fn reviewer(actor: Actor) -> Result<StaffId, UseCaseError> {
    permitted(actor, Action::DecideReviews, "only the tenant's staff can review objections")
}

fn pending(candidate: &Candidate, review: ReviewId) -> Result<PendingReview, UseCaseError> {
    candidate.objection.review.clone().filter(|r| r.id == review).ok_or(UseCaseError::NotFound("review"))
}

impl Hoheit {
    /// The open review of a candidate (no message text).
    pub async fn review(
        &self,
        tenant: TenantId,
        id: CandidateId,
        review: ReviewId,
    ) -> Result<(Candidate, PendingReview), UseCaseError> {
        let candidate = self.load_candidate(tenant, id).await?;
        let pending = pending(&candidate, review)?;
        Ok((candidate, pending))
    }

    /// The message that opened a review; the read is audited with the reader (R33). Restricted
    /// candidates are readable only by admin and DPO (R25, R32).
    pub async fn read_review_message(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: CandidateId,
        review: ReviewId,
    ) -> Result<Message, UseCaseError> {
        reviewer(actor)?;
        let candidate = self.load_candidate(tenant, id).await?;
        let pending = pending(&candidate, review)?;
        may_read(&candidate, actor)?;
        let message = self
            .store
            .message(tenant, pending.message)
            .await?
            .filter(|m| m.candidate == id)
            .ok_or(UseCaseError::NotFound("message"))?;
        let read = Recorder::new(tenant, Some(id), actor, self.now())
            .rule(Rule::R33, DomainEvent::ContentRead { what: ContentKind::ReviewMessage });
        self.commit_events(tenant, vec![read]).await?;
        Ok(message)
    }

    /// Decides a review (R16). Confirm applies the objection from the time the message was
    /// sent, with everything an objection does (R12, R13, R17, R18). Dismiss lifts the block; the
    /// audit entry names the reviewer and the reason code.
    pub async fn decide_review(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: CandidateId,
        review: ReviewId,
        decision: ReviewDecision,
    ) -> Result<Candidate, UseCaseError> {
        let staff_id = reviewer(actor)?;
        let request_id = self.new_id();
        self.modify_candidate(tenant, id, |config, candidate, changes, now| {
            let pending = pending(candidate, review)?;
            candidate.close_review();
            match decision {
                ReviewDecision::Confirm => {
                    changes.events.push(
                        Recorder::new(tenant, Some(candidate.id), actor, now).rule(
                            Rule::R16,
                            DomainEvent::ObjectionReviewResolved { review: pending.id, confirmed: true },
                        ),
                    );
                    let objection = Objection {
                        at: pending.opened_at,
                        source: ObjectionSource::Review { review: pending.id, staff: staff_id },
                        scope: ObjectionScope::AllWhatsApp,
                    };
                    let tp_months = config.tenant.retention.talent_pool_months;
                    apply_objection(candidate, objection, actor, now, tp_months, request_id, changes);
                }
                ReviewDecision::Dismiss(reason) => {
                    changes.events.push(
                        Recorder::new(tenant, Some(candidate.id), actor, now)
                            .rule(Rule::R16, DomainEvent::ObjectionReviewDismissed { review: pending.id, reason }),
                    );
                }
            }
            Ok(candidate.clone())
        })
        .await
    }
}
