//! The delivery states of a conversation's outbound messages, without their content: what the
//! inbox's live ticks ("zugestellt", "gelesen") are refreshed from. Not a content read (no
//! text, no file leaves the domain), so not audited as one; opening the thread is
//! ([`Hoheit::read_messages`]).

use super::candidates::STAFF_ONLY;
use super::{Hoheit, UseCaseError, may_read, permitted};
use crate::access::Action;
use crate::conversation::{Direction, StatusTimeline};
use crate::ids::{CandidateId, MessageId, TenantId};
use crate::tenant::Actor;

impl Hoheit {
    /// Each outbound message of the candidate with its status timeline, in the thread's order.
    /// The same roles and restrictions as reading the thread (R25, R32).
    pub async fn delivery_states(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: CandidateId,
    ) -> Result<Vec<(MessageId, StatusTimeline)>, UseCaseError> {
        permitted(actor, Action::ReadContent, STAFF_ONLY)?;
        let candidate = self.load_candidate(tenant, id).await?;
        may_read(&candidate, actor)?;
        let messages = self.store.messages(tenant, id).await?;
        Ok(messages.into_iter().filter(|m| m.direction == Direction::Outbound).map(|m| (m.id, m.status)).collect())
    }
}
