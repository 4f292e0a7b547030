//! The recruiter inbox's reads (issue 17): a page of conversations, in a view (all, mine,
//! unassigned, needs reply) and with a filter (window open, waiting for consent, objected, review
//! pending, process ended) or found by phone number or by name, and what the composer may offer
//! for one of them ([`ComposerOptions`]); and the assignment of a conversation. None returns
//! message content: opening the thread is [`Hoheit::read_messages`], the audited content read
//! (R33). A page comes with a summary of each conversation for the staff member who reads it
//! ([`ConversationSummary`]): their own unread count and what the last message was (who, what
//! kind, when, how far it got), never its words: those would be an unaudited content read.

use std::sync::Arc;

use time::OffsetDateTime;

use super::candidates::STAFF_ONLY;
use super::outbound::send_context;
use super::{Hoheit, Recorder, UseCaseError, may_read, permitted};
use crate::access::{Action, reads_restricted};
use crate::candidate::Candidate;
use crate::composer::ComposerOptions;
use crate::consent::{ConsentState, Purpose};
use crate::events::DomainEvent;
use crate::ids::StaffId;
use crate::ids::{CandidateId, TenantId};
use crate::ports::{
    ActivityCursor, ActivityFilter, ActivityPage, ConversationSummary, NameSearch, Queries, TenantConfig,
};
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
    /// When this was read.
    pub at: OffsetDateTime,
    /// The tenant's retention settings at `at` (for [`InboxRow::erasure_due`]).
    retention: RetentionSettings,
}

impl InboxRow {
    /// When retention erases the candidate's data as things stand (`None`: not scheduled, e.g.
    /// under a legal hold); a past or present time means at the next retention run. Computed
    /// when asked (a search of retention's own decision), not for every row a list looks at.
    pub fn erasure_due(&self) -> Option<OffsetDateTime> {
        erasure_due(&self.candidate, &self.retention, self.at)
    }

    /// Whether the candidate wrote last (an inbound message after anything sent), so a reply is
    /// owed; not for an objected candidate, to whom only the permitted confirmation goes (R14),
    /// nor while a possible objection waits for the DPO's review (nothing may be sent, R16).
    pub fn needs_reply(&self) -> bool {
        let conversation = &self.candidate.conversation;
        self.candidate.objection().active.is_none()
            && self.candidate.objection().review.is_none()
            && conversation
                .last_inbound_at()
                .is_some_and(|inbound| conversation.last_activity_at().is_none_or(|last| last <= inbound))
    }

    /// Whether the row is in the view for `me` and passes the filter.
    pub fn shown_in(&self, view: InboxView, filter: Option<InboxFilter>, me: Option<StaffId>) -> bool {
        let in_view = match view {
            InboxView::All => true,
            InboxView::Mine => me.is_some() && self.candidate.assignee == me,
            InboxView::Unassigned => self.candidate.assignee.is_none(),
            InboxView::NeedsReply => self.needs_reply(),
        };
        let c = &self.candidate;
        in_view
            && filter.is_none_or(|f| match f {
                InboxFilter::WindowOpen => c.conversation.window_open_at(self.at),
                InboxFilter::WaitingForConsent => matches!(self.consent, ConsentState::Requested { .. }),
                InboxFilter::Objected => c.objection().active.is_some(),
                InboxFilter::ReviewPending => c.objection().review.is_some(),
                InboxFilter::ProcessEnded => matches!(c.process, crate::candidate::Process::Ended { .. }),
            })
    }

    fn new(candidate: Candidate, config: &TenantConfig, at: OffsetDateTime) -> Self {
        let retention = &config.tenant.retention;
        let months = retention.talent_pool_months;
        let consent = candidate.consents().state(Purpose::WhatsAppChannel, at, months);
        let talent_pool = candidate.consents().state(Purpose::TalentPool, at, months);
        InboxRow { candidate, consent, talent_pool, at, retention: retention.clone() }
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

/// Which conversations the inbox lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InboxView {
    /// Every conversation the role may see.
    #[default]
    All,
    /// Assigned to me.
    Mine,
    /// Assigned to nobody.
    Unassigned,
    /// The candidate wrote last ([`InboxRow::needs_reply`]).
    NeedsReply,
}

stable_names!(
    InboxView,
    /// Stable name (the `view=` of the inbox).
    fn as_str(self) {
        All => "all",
        Mine => "mine",
        Unassigned => "unassigned",
        NeedsReply => "needs_reply",
    }
    parse: "inbox view", "all, mine, unassigned or needs_reply"
);

/// A filter on the inbox's conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxFilter {
    /// The 24-hour window is open (R20).
    WindowOpen,
    /// Consent was requested and not yet answered.
    WaitingForConsent,
    /// An objection is in effect.
    Objected,
    /// A possible objection waits for review (R16).
    ReviewPending,
    /// The application process ended.
    ProcessEnded,
}

stable_names!(
    InboxFilter,
    /// Stable name (the `filter=` of the inbox).
    fn as_str(self) {
        WindowOpen => "window_open",
        WaitingForConsent => "waiting_for_consent",
        Objected => "objected",
        ReviewPending => "review_pending",
        ProcessEnded => "process_ended",
    }
    parse: "inbox filter", "window_open, waiting_for_consent, objected, review_pending or process_ended"
);

impl InboxFilter {
    /// The state a store can narrow its activity page to for this filter, where it has one.
    const fn narrowing(self) -> Option<ActivityFilter> {
        match self {
            InboxFilter::Objected => Some(ActivityFilter::Objected),
            InboxFilter::ReviewPending => Some(ActivityFilter::ReviewPending),
            InboxFilter::ProcessEnded => Some(ActivityFilter::ProcessEnded),
            InboxFilter::WindowOpen | InboxFilter::WaitingForConsent => None,
        }
    }

    /// Every filter, in the order the inbox offers them.
    pub const ALL: [InboxFilter; 5] = [
        InboxFilter::WindowOpen,
        InboxFilter::WaitingForConsent,
        InboxFilter::Objected,
        InboxFilter::ReviewPending,
        InboxFilter::ProcessEnded,
    ];
}

impl InboxView {
    /// Every view, in the order the inbox offers them.
    pub const ALL: [InboxView; 4] = [InboxView::All, InboxView::Mine, InboxView::Unassigned, InboxView::NeedsReply];
}

/// What to list: a view, a filter, or the one candidate with a phone number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboxQuery {
    /// The view.
    pub view: InboxView,
    /// The filter, if any.
    pub filter: Option<InboxFilter>,
    /// Only the candidate with this number (as typed, in the tenant's region), found through the
    /// blind index: the number is never compared in clear.
    pub phone: Option<String>,
    /// Only candidates whose name or profile name holds every token of this text (as typed;
    /// normalised by [`crate::names::tokens`], matched on keyed hashes in the store, at most
    /// [`InboxQuery::NAME_MATCHES`] of them, newest activity first). Ignored when `phone` is given.
    pub name: Option<String>,
    /// Continue after this position (the previous page's `next`).
    pub after: Option<ActivityCursor>,
}

/// A page of the inbox.
#[derive(Debug, Clone, Default)]
pub struct InboxPage {
    /// The conversations, newest activity first.
    pub rows: Vec<InboxRow>,
    /// Where the next page starts, if there may be more.
    pub next: Option<ActivityCursor>,
    /// The reader's summary of each row's conversation (unread count, last message without
    /// content), for a staff reader and a wired read port; a row may have none.
    pub summaries: Vec<ConversationSummary>,
}

impl InboxPage {
    /// The summary of a row's conversation, if there is one.
    pub fn summary(&self, candidate: CandidateId) -> Option<&ConversationSummary> {
        self.summaries.iter().find(|s| s.candidate == candidate)
    }
}

/// How many candidates one inbox page looks at, at most, to fill a filtered page.
const SCAN_LIMIT: usize = 2_000;

impl InboxQuery {
    /// The most candidates a search by name lists (one page, no paging).
    pub const NAME_MATCHES: u32 = 100;

    /// What was typed into the inbox's one search box: a text with a letter in it is a name
    /// (no phone number has one), anything else a phone number (which may then not exist, and
    /// is refused as [`UseCaseError::Invalid`] by [`Hoheit::inbox`]). Blank: no search.
    #[must_use]
    pub fn searching(mut self, text: &str) -> Self {
        let text = text.trim();
        if text.is_empty() {
            return self;
        }
        if text.chars().any(char::is_alphabetic) {
            self.name = Some(text.to_owned());
        } else {
            self.phone = Some(text.to_owned());
        }
        self
    }
}

impl Hoheit {
    /// A page of the inbox for a query: the view and filter are applied to each conversation the
    /// role may see (R25), reading on until the page is full or 2,000 candidates (`SCAN_LIMIT`) were
    /// looked at (then `next` continues the scan); a phone number lists at most its candidate, a
    /// name at most [`InboxQuery::NAME_MATCHES`]. With the page come the reader's summaries of its rows
    /// ([`InboxPage::summaries`], one read for the whole page).
    pub async fn inbox(
        &self,
        tenant: TenantId,
        actor: Actor,
        query: &InboxQuery,
        limit: u32,
    ) -> Result<InboxPage, UseCaseError> {
        let mut page = self.inbox_rows(tenant, actor, query, limit).await?;
        if let (Actor::Staff { id: viewer, .. }, Some(queries)) = (actor, self.queries.as_ref())
            && !page.rows.is_empty()
        {
            let ids: Vec<CandidateId> = page.rows.iter().map(|r| r.candidate.id).collect();
            page.summaries = queries.conversation_summaries(tenant, viewer, &ids).await?;
        }
        Ok(page)
    }

    /// The candidates whose names hold every token of `text`, as inbox rows the role may see,
    /// newest activity first (at most [`InboxQuery::NAME_MATCHES`]).
    async fn inbox_by_name(
        &self,
        tenant: TenantId,
        actor: Actor,
        text: &str,
        config: &TenantConfig,
        at: OffsetDateTime,
    ) -> Result<Vec<InboxRow>, UseCaseError> {
        let tokens = crate::names::tokens(text);
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        let queries = self.read_port()?;
        let search =
            NameSearch { tokens, include_restricted: reads_restricted(actor), limit: InboxQuery::NAME_MATCHES };
        // the matches with one read, kept in the search's order (newest activity first)
        let ids = queries.candidates_by_name(tenant, search).await?;
        let mut loaded: std::collections::HashMap<CandidateId, Candidate> =
            self.store.candidates(tenant, &ids).await?.into_iter().map(|c| (c.id, c)).collect();
        let mut rows = Vec::new();
        for id in ids {
            if let Some(c) = loaded.remove(&id)
                && !c.is_erased()
                && may_read(&c, actor).is_ok()
            {
                rows.push(InboxRow::new(c, config, at));
            }
        }
        Ok(rows)
    }

    /// The rows of [`Hoheit::inbox`], without the summaries.
    async fn inbox_rows(
        &self,
        tenant: TenantId,
        actor: Actor,
        query: &InboxQuery,
        limit: u32,
    ) -> Result<InboxPage, UseCaseError> {
        permitted(actor, Action::ReadCandidates, STAFF_ONLY)?;
        let me = match actor {
            Actor::Staff { id, .. } => Some(id),
            Actor::System | Actor::Candidate => None,
        };
        let config = self.config(tenant).await?;
        let at = self.now();
        if let Some(phone) = query.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            let number = crate::values::PhoneNumber::parse_in(phone, config.tenant.messaging.default_region)
                .map_err(|e| UseCaseError::Invalid(e.to_string()))?;
            let key = crate::inbound::ContactKey::Phone(number);
            let rows = match self.store.candidate_by_contact(tenant, &key).await? {
                Some(c) if !c.is_erased() && may_read(&c, actor).is_ok() => vec![InboxRow::new(c, &config, at)],
                Some(_) | None => Vec::new(),
            };
            let rows = rows.into_iter().filter(|r| r.shown_in(query.view, query.filter, me)).collect();
            return Ok(InboxPage { rows, ..InboxPage::default() });
        }
        if let Some(name) = query.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            let rows = self.inbox_by_name(tenant, actor, name, &config, at).await?;
            let rows = rows.into_iter().filter(|r| r.shown_in(query.view, query.filter, me)).collect();
            return Ok(InboxPage { rows, ..InboxPage::default() });
        }
        let limit = limit.clamp(1, 200);
        // read the page's size first (every conversation the role sees may be shown); when a
        // view or filter skipped some, read on in batches twice as large each time, up to 200
        let mut batch_size = limit;
        let limit = usize::try_from(limit).unwrap_or(25);
        let mut rows = Vec::new();
        let mut after = query.after;
        let mut scanned = 0;
        let only = query.filter.and_then(InboxFilter::narrowing);
        loop {
            let batch = self.activity_rows(tenant, actor, after, batch_size, only).await?;
            let full = batch.len() == usize::try_from(batch_size).unwrap_or(200);
            batch_size = batch_size.saturating_mul(2).min(200);
            for (position, row) in batch {
                scanned += 1;
                after = Some(position);
                if row.shown_in(query.view, query.filter, me) {
                    rows.push(row);
                    if rows.len() == limit {
                        return Ok(InboxPage { rows, next: after, ..InboxPage::default() });
                    }
                }
            }
            if !full {
                return Ok(InboxPage { rows, ..InboxPage::default() });
            }
            if scanned >= SCAN_LIMIT {
                return Ok(InboxPage { rows, next: after, ..InboxPage::default() });
            }
        }
    }

    /// Assigns the conversation to a staff member (`Some`) or lifts the assignment (`None`).
    /// Recruiters and admins, who write to candidates, take conversations on or give them back;
    /// only an admin assigns one to someone else, and only to an active recruiter or admin of
    /// the tenant. Audited as `candidate.assigned`; restricted and erased candidates cannot be
    /// assigned.
    pub async fn assign(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: CandidateId,
        assignee: Option<StaffId>,
    ) -> Result<Candidate, UseCaseError> {
        let me = permitted(actor, Action::SendMessages, "only a recruiter or an admin takes on conversations")?;
        if let Some(other) = assignee.filter(|a| *a != me) {
            permitted(actor, Action::ManageStaff, "only an admin assigns a conversation to someone else")?;
            if !self.writes_to_candidates(tenant, other).await? {
                return Err(UseCaseError::Invalid("a conversation is assigned to an active recruiter or admin".into()));
            }
        }
        self.modify_candidate(tenant, id, |_, candidate, changes, now| {
            super::not_erased(candidate)?;
            if matches!(candidate.lifecycle, crate::candidate::Lifecycle::Restricted { .. }) {
                return Err(UseCaseError::Conflict("the candidate is restricted"));
            }
            if candidate.assignee != assignee {
                candidate.assignee = assignee;
                changes.events.push(
                    Recorder::new(tenant, Some(candidate.id), actor, now)
                        .note(DomainEvent::CandidateAssigned { staff: assignee }),
                );
            }
            Ok(candidate.clone())
        })
        .await
    }

    /// Wires the read port the inbox lists conversations with.
    #[must_use]
    pub fn with_queries(mut self, queries: Arc<dyn Queries>) -> Self {
        self.queries = Some(queries);
        self
    }

    /// A page of the tenant's conversations newest activity first, after `after`, each with its
    /// position in that order: restricted candidates only for admin and DPO (R25), erased ones
    /// never.
    pub async fn inbox_page(
        &self,
        tenant: TenantId,
        actor: Actor,
        after: Option<ActivityCursor>,
        limit: u32,
    ) -> Result<Vec<(ActivityCursor, InboxRow)>, UseCaseError> {
        self.activity_rows(tenant, actor, after, limit, None).await
    }

    /// [`Hoheit::inbox_page`], narrowed by the store to candidates in the state `only`.
    async fn activity_rows(
        &self,
        tenant: TenantId,
        actor: Actor,
        after: Option<ActivityCursor>,
        limit: u32,
        only: Option<ActivityFilter>,
    ) -> Result<Vec<(ActivityCursor, InboxRow)>, UseCaseError> {
        permitted(actor, Action::ReadCandidates, STAFF_ONLY)?;
        let queries = self.read_port()?;
        let page =
            ActivityPage { include_restricted: reads_restricted(actor), after, limit: limit.clamp(1, 200), only };
        let listed = queries.candidate_activity_page(tenant, page).await?;
        let config = self.config(tenant).await?;
        let at = self.now();
        // the page's candidates with one read; one erased between the two reads is left out
        let ids: Vec<CandidateId> = listed.iter().map(|summary| summary.id).collect();
        let mut loaded: std::collections::HashMap<CandidateId, Candidate> =
            self.store.candidates(tenant, &ids).await?.into_iter().map(|c| (c.id, c)).collect();
        let mut rows = Vec::with_capacity(listed.len());
        for summary in listed {
            if let Some(candidate) = loaded.remove(&summary.id)
                && may_read(&candidate, actor).is_ok()
            {
                rows.push((ActivityCursor::of(&summary), InboxRow::new(candidate, &config, at)));
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

#[cfg(test)]
mod tests {
    use super::InboxQuery;

    #[test]
    fn the_search_box_takes_a_name_when_a_letter_is_typed_and_a_number_otherwise() {
        let search = |text: &str| {
            let q = InboxQuery::default().searching(text);
            (q.phone, q.name)
        };
        assert_eq!(search("0170 1234567"), (Some("0170 1234567".into()), None));
        assert_eq!(search("+49 (170) 123-4567"), (Some("+49 (170) 123-4567".into()), None));
        assert_eq!(search(" 12 "), (Some("12".into()), None), "no letter: a number, which may not exist");
        assert_eq!(search("Müller"), (None, Some("Müller".into())));
        assert_eq!(search("Erika 0170"), (None, Some("Erika 0170".into())));
        assert_eq!(search("   "), (None, None));
    }
}
