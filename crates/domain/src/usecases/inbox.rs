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
use crate::ports::{CandidatePage, Queries};
use crate::tenant::Actor;

/// One conversation of the inbox: the candidate and its WhatsApp consent at the time of reading.
#[derive(Debug, Clone)]
pub struct InboxRow {
    /// The candidate (contact, lifecycle, objection, window).
    pub candidate: Candidate,
    /// The WhatsApp consent's state at `at`.
    pub consent: ConsentState,
    /// When this was read.
    pub at: OffsetDateTime,
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
        let months = config.tenant.retention.talent_pool_months;
        let at = self.now();
        let mut rows = Vec::with_capacity(listed.len());
        for summary in listed {
            // a candidate erased between the two reads is left out
            if let Some(candidate) = self.store.candidate(tenant, summary.id).await?
                && may_read(&candidate, actor).is_ok()
            {
                let consent = candidate.consents().state(Purpose::WhatsAppChannel, at, months);
                rows.push(InboxRow { candidate, consent, at });
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
        let consent =
            candidate.consents().state(Purpose::WhatsAppChannel, now, config.tenant.retention.talent_pool_months);
        Ok((InboxRow { candidate, consent, at: now }, options))
    }
}
