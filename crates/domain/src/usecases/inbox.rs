//! The recruiter inbox's reads (issue 17): a page of conversations and what the composer may
//! offer for one of them ([`ComposerOptions`]). Neither returns message content: opening the
//! thread is [`Hoheit::read_messages`], the audited content read (R33).

use std::sync::Arc;

use time::OffsetDateTime;

use super::candidates::STAFF_ONLY;
use super::outbound::send_context;
use super::{Hoheit, UseCaseError, may_read, permitted};
use crate::access::{Action, reads_restricted};
use crate::candidate::Candidate;
use crate::composer::ComposerOptions;
use crate::consent::{ConsentState, Purpose};
use crate::ids::{CandidateId, TenantId};
use crate::ports::{CandidatePage, Queries, TenantConfig};
use crate::retention::{RetentionDecision, RetentionSettings, decide};
use crate::tenant::Actor;

/// One conversation of the inbox: the candidate and its consents at the time of reading.
#[derive(Debug, Clone)]
pub struct InboxRow {
    /// The candidate (contact, lifecycle, objection, window, process, holds, consent ledger).
    pub candidate: Candidate,
    /// The WhatsApp consent's state at `at`.
    pub consent: ConsentState,
    /// The talent-pool consent's state at `at`.
    pub talent_pool: ConsentState,
    /// When retention erases the candidate's data as things stand (`None`: not scheduled, e.g.
    /// under a legal hold); a past or present time means at the next retention run.
    pub erasure_due: Option<OffsetDateTime>,
    /// When this was read.
    pub at: OffsetDateTime,
}

impl InboxRow {
    fn new(candidate: Candidate, config: &TenantConfig, at: OffsetDateTime) -> Self {
        let retention = &config.tenant.retention;
        let months = retention.talent_pool_months;
        let consent = candidate.consents().state(Purpose::WhatsAppChannel, at, months);
        let talent_pool = candidate.consents().state(Purpose::TalentPool, at, months);
        let erasure_due = erasure_due(&candidate, retention, at);
        InboxRow { candidate, consent, talent_pool, erasure_due, at }
    }
}

/// The earliest time at which retention's own decision ([`decide`]) is to erase, to the minute,
/// within 50 years: the decision only grows stronger with time (Keep < Restrict < Erase), so the
/// first such minute is found by bisection rather than by restating retention's rules here.
fn erasure_due(candidate: &Candidate, settings: &RetentionSettings, now: OffsetDateTime) -> Option<OffsetDateTime> {
    let erases = |at: OffsetDateTime| matches!(decide(candidate, settings, at), RetentionDecision::Erase { .. });
    if erases(now) {
        return Some(now);
    }
    let (mut low, mut high) = (now, now + time::Duration::days(50 * 366));
    if !erases(high) {
        return None;
    }
    while high - low > time::Duration::minutes(1) {
        let middle = low + (high - low) / 2;
        if erases(middle) { high = middle } else { low = middle }
    }
    Some(high)
}

impl Hoheit {
    /// Wires the read port the inbox lists conversations with.
    #[must_use]
    pub fn with_queries(mut self, queries: Arc<dyn Queries>) -> Self {
        self.queries = Some(queries);
        self
    }

    /// A page of the tenant's conversations in creation order, after `after`: restricted
    /// candidates only for admin and DPO (R25), erased ones never.
    pub async fn inbox_page(
        &self,
        tenant: TenantId,
        actor: Actor,
        after: Option<CandidateId>,
        limit: u32,
    ) -> Result<Vec<InboxRow>, UseCaseError> {
        permitted(actor, Action::ReadCandidates, STAFF_ONLY)?;
        let queries = self.queries.as_ref().ok_or(UseCaseError::Unavailable("the read port is not wired"))?;
        let page = CandidatePage { include_restricted: reads_restricted(actor), after, limit: limit.clamp(1, 200) };
        let listed = queries.candidate_page(tenant, page).await?;
        let config = self.config(tenant).await?;
        let at = self.now();
        let mut rows = Vec::with_capacity(listed.len());
        for summary in listed {
            // a candidate erased between the two reads is left out
            if let Some(candidate) = self.store.candidate(tenant, summary.id).await?
                && may_read(&candidate, actor).is_ok()
            {
                rows.push(InboxRow::new(candidate, &config, at));
            }
        }
        Ok(rows)
    }

    /// The conversation's state and what the composer may offer now. The send is decided again
    /// when it is submitted.
    pub async fn composer(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: CandidateId,
    ) -> Result<(InboxRow, ComposerOptions), UseCaseError> {
        permitted(actor, Action::ReadCandidates, STAFF_ONLY)?;
        let (config, candidate, now) = self.load_for(tenant, id).await?;
        may_read(&candidate, actor)?;
        if matches!(candidate.lifecycle, crate::candidate::Lifecycle::Erased { .. }) {
            return Err(UseCaseError::NotFound("candidate"));
        }
        let channel = config.channel(candidate.channel).ok_or(UseCaseError::NotFound("channel"))?;
        let options = ComposerOptions::decide(&send_context(&config, channel, &candidate), now);
        Ok((InboxRow::new(candidate, &config, now), options))
    }
}
