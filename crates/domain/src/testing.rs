//! Test support behind the `testing` feature: an in-memory [`Store`] that honours the store
//! contract (atomic commits, optimistic versions, inbound dedupe, outbox leases, erasure), a
//! settable clock, sequential ids, a scriptable fake gateway, fixtures, and the store
//! [`contract`] every store implementation must pass (this in-memory store included). Adapters
//! and the server reuse them in their tests; nothing here is for production.

#![allow(clippy::missing_panics_doc, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::attempt::SendAttempt;
use crate::candidate::Candidate;
use crate::conversation::{DeliveryStatus, Message, OutboundContent, StatusObservation};
use crate::events::EventEnvelope;
use crate::ids::{CandidateId, ChannelId, MediaId, MessageId, OutboxId, SubjectRequestId, TenantId};
use crate::inbound::ContactKey;
use crate::media::MediaRecord;
use crate::objection::Suppression;
use crate::ports::{
    CandidateChange, ChangeSet, Clock, CommitReport, ConfigChange, DuplicateKey, GatewayError, IdGenerator,
    MediaChange, MessageChange, MessagingGateway, OutboxChange, OutboxEntry, OutboxQueue, Recipient, SendReceipt,
    Store, StoreError, TenantConfig,
};
use crate::subject_request::SubjectRequest;
use crate::values::{Pii, Wamid};

pub mod contract;

/// A clock tests can set and advance.
#[derive(Debug)]
pub struct FixedClock(Mutex<OffsetDateTime>);

impl FixedClock {
    /// A clock standing at `at`.
    pub fn new(at: OffsetDateTime) -> Self {
        Self(Mutex::new(at))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }

    /// Sets the clock.
    pub fn set(&self, at: OffsetDateTime) {
        *self.0.lock().unwrap() = at;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

/// Ids 1, 2, 3, ... (as UUIDs), offset by a seed so different generators do not collide.
#[derive(Debug)]
pub struct SequentialIds {
    next: AtomicU64,
    seed: u64,
}

impl SequentialIds {
    /// A generator whose ids start at `seed << 32`.
    pub fn new(seed: u64) -> Self {
        Self { next: AtomicU64::new(1), seed }
    }
}

impl Default for SequentialIds {
    fn default() -> Self {
        Self::new(1)
    }
}

impl IdGenerator for SequentialIds {
    fn next_uuid(&self) -> Uuid {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        Uuid::from_u128((u128::from(self.seed) << 64) | u128::from(n))
    }
}

/// A send the fake gateway received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// Channel.
    pub channel: ChannelId,
    /// Recipient.
    pub to: Recipient,
    /// Content.
    pub content: OutboundContent,
    /// The `biz_opaque_callback_data` it carried.
    pub tag: String,
}

/// A file the fake gateway received for upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedMedia {
    /// Channel.
    pub channel: ChannelId,
    /// The bytes.
    pub content: Pii<Vec<u8>>,
    /// MIME type.
    pub mime_type: String,
    /// File name.
    pub filename: String,
    /// The media id it answered.
    pub media_id: String,
}

/// Something that happens while a send waits for its rate-limit slot.
type PaceHook = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// A gateway that records sends and answers from a script (default: accepted).
#[derive(Default)]
pub struct FakeGateway {
    sent: Mutex<Vec<SentMessage>>,
    script: Mutex<VecDeque<Result<(), GatewayError>>>,
    uploads: Mutex<Vec<UploadedMedia>>,
    counter: AtomicU64,
    paces: AtomicU64,
    pace_hook: Mutex<Option<PaceHook>>,
    crash_after_next_accept: std::sync::atomic::AtomicBool,
    accepted_unanswered: Mutex<Vec<Wamid>>,
}

impl std::fmt::Debug for FakeGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeGateway").field("sent", &self.sent).field("paces", &self.paces).finish_non_exhaustive()
    }
}

impl FakeGateway {
    /// Runs `hook` while the next send waits for its slot (e.g. an objection arriving then).
    pub fn during_next_pace(&self, hook: impl std::future::Future<Output = ()> + Send + 'static) {
        *self.pace_hook.lock().unwrap() = Some(Box::pin(hook));
    }

    /// The next accepted send never returns (its future stays pending, like a process that
    /// dies after the provider's acceptance and before the commit); drop the dispatch future to
    /// "crash". Its provider id is in [`FakeGateway::accepted_unanswered`].
    pub fn crash_after_next_accept(&self) {
        self.crash_after_next_accept.store(true, Ordering::SeqCst);
    }

    /// Provider ids of sends accepted while the caller "crashed" ([`FakeGateway::crash_after_next_accept`]).
    pub fn accepted_unanswered(&self) -> Vec<Wamid> {
        self.accepted_unanswered.lock().unwrap().clone()
    }

    /// How many slots were taken.
    pub fn paces(&self) -> u64 {
        self.paces.load(Ordering::Relaxed)
    }

    /// Queues answers for the next sends (`Ok(())` = accept).
    pub fn script(&self, answers: impl IntoIterator<Item = Result<(), GatewayError>>) {
        self.script.lock().unwrap().extend(answers);
    }

    /// Everything sent (accepted or not), in order.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.sent.lock().unwrap().clone()
    }

    /// Every upload, in order.
    pub fn uploads(&self) -> Vec<UploadedMedia> {
        self.uploads.lock().unwrap().clone()
    }
}

#[async_trait]
impl MessagingGateway for FakeGateway {
    async fn pace(&self, _channel: ChannelId, _to: &Recipient) -> Result<(), GatewayError> {
        self.paces.fetch_add(1, Ordering::Relaxed);
        let hook = self.pace_hook.lock().unwrap().take();
        if let Some(hook) = hook {
            hook.await;
        }
        Ok(())
    }

    async fn send(
        &self,
        channel: ChannelId,
        to: &Recipient,
        content: &OutboundContent,
        tag: &str,
    ) -> Result<SendReceipt, GatewayError> {
        self.sent.lock().unwrap().push(SentMessage {
            channel,
            to: to.clone(),
            content: content.clone(),
            tag: tag.to_owned(),
        });
        let answer = self.script.lock().unwrap().pop_front().unwrap_or(Ok(()));
        answer?;
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let provider_id = Wamid::parse(&format!("wamid.fake.{n}")).unwrap();
        if self.crash_after_next_accept.swap(false, Ordering::SeqCst) {
            // the process "dies" after the provider accepted: the caller never hears back
            self.accepted_unanswered.lock().unwrap().push(provider_id.clone());
            std::future::pending::<()>().await;
        }
        Ok(SendReceipt { provider_id })
    }

    async fn mark_read(&self, _channel: ChannelId, _provider_id: &Wamid) -> Result<(), GatewayError> {
        Ok(())
    }

    async fn upload_media(
        &self,
        channel: ChannelId,
        content: &Pii<Vec<u8>>,
        mime_type: &str,
        filename: &str,
    ) -> Result<String, GatewayError> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let media_id = format!("fake-media-{n}");
        self.uploads.lock().unwrap().push(UploadedMedia {
            channel,
            content: content.clone(),
            mime_type: mime_type.to_owned(),
            filename: filename.to_owned(),
            media_id: media_id.clone(),
        });
        Ok(media_id)
    }
}

#[derive(Debug, Clone, Default)]
struct Row {
    candidate: Option<Candidate>,
    retention_due: Option<OffsetDateTime>,
}

/// A media record and its bytes (if stored).
type MediaRow = (MediaRecord, Option<Pii<Vec<u8>>>);

/// The rows of `rows` in insertion `order` whose record (`record` of the row) passes `keep`.
fn in_order<K, R, T>(order: &[K], rows: &HashMap<K, R>, record: impl Fn(&R) -> &T, keep: impl Fn(&T) -> bool) -> Vec<T>
where
    K: Eq + std::hash::Hash,
    T: Clone,
{
    order.iter().filter_map(|k| rows.get(k)).map(record).filter(|t| keep(t)).cloned().collect()
}

#[derive(Debug, Clone, Default)]
struct State {
    configs: HashMap<TenantId, TenantConfig>,
    candidates: HashMap<(TenantId, CandidateId), Row>,
    contacts: HashMap<(TenantId, ContactKey), CandidateId>,
    suppressions: HashMap<(TenantId, ContactKey), Suppression>,
    messages: HashMap<(TenantId, MessageId), Message>,
    message_order: Vec<(TenantId, MessageId)>,
    provider_ids: HashMap<(TenantId, Wamid), MessageId>,
    /// Provider ids of erased candidates' messages: redeliveries stay duplicates (issue 14).
    erased_provider_ids: std::collections::HashSet<(TenantId, Wamid)>,
    outbox: HashMap<OutboxId, (OutboxEntry, Option<OffsetDateTime>)>,
    outbox_order: Vec<OutboxId>,
    subject_requests: HashMap<(TenantId, SubjectRequestId), SubjectRequest>,
    subject_order: Vec<(TenantId, SubjectRequestId)>,
    media: HashMap<(TenantId, MediaId), MediaRow>,
    media_order: Vec<(TenantId, MediaId)>,
    events: Vec<EventEnvelope>,
    shredded: Vec<(TenantId, CandidateId)>,
    /// Each staff member's read marker per conversation ([`Store::mark_read`]).
    thread_reads: HashMap<(TenantId, crate::ids::StaffId, CandidateId), OffsetDateTime>,
}

impl State {
    /// The tenant's stored candidates (erased ones included: their tombstones).
    fn tenant_candidates(&self, tenant: TenantId) -> impl Iterator<Item = &Candidate> {
        self.candidates.iter().filter(move |((t, _), _)| *t == tenant).filter_map(|(_, row)| row.candidate.as_ref())
    }
}

/// An in-memory store with the semantics of the real adapters.
#[derive(Debug, Default)]
pub struct InMemoryStore {
    state: Mutex<State>,
    fail_next: Mutex<Option<StoreError>>,
}

impl InMemoryStore {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// Every committed event (audited or not), in order.
    pub fn events(&self) -> Vec<EventEnvelope> {
        self.lock().events.clone()
    }

    /// The action names of the committed events of a candidate.
    pub fn actions(&self, candidate: CandidateId) -> Vec<&'static str> {
        self.lock().events.iter().filter(|e| e.subject == Some(candidate)).map(|e| e.event.action()).collect()
    }

    /// Pending outbox entries (all tenants), oldest first.
    pub fn outbox(&self) -> Vec<OutboxEntry> {
        let state = self.lock();
        state.outbox_order.iter().filter_map(|id| state.outbox.get(id).map(|(e, _)| e.clone())).collect()
    }

    /// Whether the candidate's key was destroyed (crypto-shredding).
    pub fn is_shredded(&self, tenant: TenantId, candidate: CandidateId) -> bool {
        self.lock().shredded.contains(&(tenant, candidate))
    }

    /// Makes the next commit fail with `error` (nothing is applied).
    pub fn fail_next_commit(&self, error: StoreError) {
        *self.fail_next.lock().unwrap() = Some(error);
    }
}

/// The time a change set happened (its latest event's time), like the real stores stamp it.
fn change_time(changes: &ChangeSet) -> OffsetDateTime {
    changes.events.iter().map(|e| e.at).max().unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The candidate a message, outbox entry or media file belongs to: it must exist and not be
/// erased (the real stores need its key, which erasure destroys).
/// A row of another tenant than the commit's is refused as an unknown tenant.
fn same_tenant(row: TenantId, tenant: TenantId) -> Result<(), StoreError> {
    if row == tenant { Ok(()) } else { Err(StoreError::NotFound("tenant")) }
}

fn live_candidate(state: &State, tenant: TenantId, candidate: CandidateId) -> Result<(), StoreError> {
    match state.candidates.get(&(tenant, candidate)).and_then(|r| r.candidate.as_ref()) {
        Some(c) if !c.is_erased() => Ok(()),
        _ => Err(StoreError::NotFound("candidate")),
    }
}

fn apply(state: &mut State, tenant: TenantId, changes: ChangeSet) -> Result<CommitReport, StoreError> {
    let mut report = CommitReport::default();
    let at = change_time(&changes);
    for change in changes.config {
        match change {
            ConfigChange::Tenant(t) => {
                same_tenant(t.id, tenant)?;
                let entry = state.configs.entry(tenant).or_insert_with(|| TenantConfig {
                    tenant: (*t).clone(),
                    channels: Vec::new(),
                    legal_texts: crate::legal::LegalTextCatalogue::default(),
                    templates: crate::template::TemplateCatalogue::default(),
                });
                entry.tenant = *t;
            }
            ConfigChange::Channel(c) => {
                let config = state.configs.get_mut(&tenant).ok_or(StoreError::NotFound("tenant"))?;
                same_tenant(c.tenant, tenant)?;
                config.channels.retain(|x| x.id != c.id);
                config.channels.push(*c);
            }
            ConfigChange::LegalText(t) => {
                let config = state.configs.get_mut(&tenant).ok_or(StoreError::NotFound("tenant"))?;
                if config
                    .legal_texts
                    .texts()
                    .iter()
                    .any(|x| x.kind == t.kind && x.version == t.version && x.language == t.language)
                {
                    return Err(StoreError::Duplicate(DuplicateKey::LegalTextVersion));
                }
                config.legal_texts.push(*t);
            }
            ConfigChange::Templates { channel, templates } => {
                let config = state.configs.get_mut(&tenant).ok_or(StoreError::NotFound("tenant"))?;
                let mut all: Vec<_> =
                    config.templates.templates().iter().filter(|t| t.channel != channel).cloned().collect();
                all.extend(templates);
                config.templates = crate::template::TemplateCatalogue::new(all);
            }
            ConfigChange::RescheduleRetention => {
                for ((t, _), row) in &mut state.candidates {
                    if *t == tenant && row.candidate.as_ref().is_some_and(|c| !c.is_erased()) {
                        row.retention_due = Some(at);
                    }
                }
            }
        }
    }
    for change in changes.candidates {
        match change {
            CandidateChange::Insert { candidate, retention_due } => {
                if candidate.tenant != tenant || !state.configs.contains_key(&tenant) {
                    return Err(StoreError::NotFound("tenant"));
                }
                if state.candidates.contains_key(&(tenant, candidate.id)) {
                    return Err(StoreError::Duplicate(DuplicateKey::Id));
                }
                for key in candidate.contact.keys() {
                    if state.contacts.contains_key(&(tenant, key.clone())) {
                        return Err(StoreError::Duplicate(DuplicateKey::Contact));
                    }
                    state.contacts.insert((tenant, key), candidate.id);
                }
                state.candidates.insert((tenant, candidate.id), Row { candidate: Some(*candidate), retention_due });
            }
            CandidateChange::Update { candidate, expected_version, retention_due } => {
                same_tenant(candidate.tenant, tenant)?;
                let row = state.candidates.get_mut(&(tenant, candidate.id)).ok_or(StoreError::NotFound("candidate"))?;
                let stored = row.candidate.as_ref().ok_or(StoreError::NotFound("candidate"))?;
                if stored.version != expected_version || stored.is_erased() {
                    return Err(StoreError::Conflict);
                }
                let id = candidate.id;
                let mut next = *candidate;
                next.version = expected_version + 1;
                let keys = next.contact.keys();
                row.candidate = Some(next);
                row.retention_due = retention_due;
                for key in keys {
                    match state.contacts.get(&(tenant, key.clone())) {
                        Some(other) if *other != id => {
                            return Err(StoreError::Duplicate(DuplicateKey::Contact));
                        }
                        Some(_) | None => {
                            state.contacts.insert((tenant, key), id);
                        }
                    }
                }
            }
            CandidateChange::Erase { tombstone, expected_version } => {
                same_tenant(tombstone.tenant, tenant)?;
                let id = tombstone.id;
                let row = state.candidates.get_mut(&(tenant, id)).ok_or(StoreError::NotFound("candidate"))?;
                let stored = row.candidate.as_ref().ok_or(StoreError::NotFound("candidate"))?;
                if stored.version != expected_version || stored.is_erased() {
                    return Err(StoreError::Conflict);
                }
                let mut next = *tombstone;
                next.version = expected_version + 1;
                row.candidate = Some(next);
                row.retention_due = None;
                state.contacts.retain(|(t, _), c| !(*t == tenant && *c == id));
                let gone: Vec<_> = state
                    .messages
                    .iter()
                    .filter(|(k, m)| k.0 == tenant && m.candidate == id)
                    .map(|(k, _)| *k)
                    .collect();
                for key in gone {
                    if let Some(pid) = state.messages.remove(&key).and_then(|m| m.provider_id) {
                        state.erased_provider_ids.insert((tenant, pid));
                    }
                }
                state.provider_ids.retain(|(t, _), m| *t != tenant || state.messages.contains_key(&(tenant, *m)));
                state.message_order.retain(|k| state.messages.contains_key(k));
                state.outbox.retain(|_, (e, _)| !(e.tenant == tenant && e.candidate == id));
                state.outbox_order.retain(|o| state.outbox.contains_key(o));
                state.media.retain(|(t, _), (m, _)| !(*t == tenant && m.candidate == id));
                state.media_order.retain(|k| state.media.contains_key(k));
                state.thread_reads.retain(|(t, _, c), _| !(*t == tenant && *c == id));
                state.shredded.push((tenant, id));
            }
        }
    }
    for change in changes.messages {
        match change {
            MessageChange::Insert(m) => {
                same_tenant(m.tenant, tenant)?;
                live_candidate(state, tenant, m.candidate)?;
                if let Some(pid) = &m.provider_id {
                    let key = (tenant, pid.clone());
                    if state.provider_ids.contains_key(&key) || state.erased_provider_ids.contains(&key) {
                        return Err(StoreError::Duplicate(DuplicateKey::InboundMessage));
                    }
                    state.provider_ids.insert((tenant, pid.clone()), m.id);
                }
                state.message_order.push((tenant, m.id));
                state.messages.insert((tenant, m.id), *m);
            }
            MessageChange::Accepted { id, provider_id, at } => {
                let Some(m) = state.messages.get_mut(&(tenant, id)) else {
                    report.statuses_unmatched += 1;
                    continue;
                };
                m.provider_id = Some(provider_id.clone());
                m.status.observe(StatusObservation { status: DeliveryStatus::Accepted, at, error_code: None });
                state.provider_ids.insert((tenant, provider_id), id);
            }
            MessageChange::Status { id, observation } => {
                if let Some(m) = state.messages.get_mut(&(tenant, id)) {
                    m.status.observe(observation);
                } else {
                    report.statuses_unmatched += 1;
                }
            }
            MessageChange::StatusByProviderId { provider_id, observation } => {
                match state
                    .provider_ids
                    .get(&(tenant, provider_id))
                    .and_then(|id| state.messages.get_mut(&(tenant, *id)))
                {
                    Some(m) => {
                        m.status.observe(observation);
                    }
                    None => report.statuses_unmatched += 1,
                }
            }
        }
    }
    for change in changes.outbox {
        match change {
            OutboxChange::Enqueue(e) => {
                same_tenant(e.tenant, tenant)?;
                live_candidate(state, tenant, e.candidate)?;
                if state.outbox.contains_key(&e.id) {
                    return Err(StoreError::Duplicate(DuplicateKey::Id));
                }
                state.outbox_order.push(e.id);
                let e = OutboxEntry { attempt: None, ..e };
                state.outbox.insert(e.id, (e, None));
            }
            OutboxChange::CancelPending { candidate } => {
                let cancel: Vec<OutboxId> = state
                    .outbox
                    .iter()
                    .filter(|(_, (e, _))| e.tenant == tenant && e.candidate == candidate)
                    .map(|(id, _)| *id)
                    .collect();
                for id in cancel {
                    // an entry with an open attempt may have reached the provider: left for its
                    // status webhook or the decision after the wait
                    if state.outbox.get(&id).is_some_and(|(e, _)| e.attempt.is_some()) {
                        continue;
                    }
                    if let Some((entry, _)) = state.outbox.remove(&id) {
                        report.outbox_cancelled += 1;
                        if let Some(m) = state.messages.get_mut(&(tenant, entry.message)) {
                            m.status.observe(StatusObservation {
                                status: DeliveryStatus::Cancelled,
                                at,
                                error_code: None,
                            });
                        }
                    }
                }
                state.outbox_order.retain(|o| state.outbox.contains_key(o));
            }
            OutboxChange::Complete { id } => {
                state.outbox.remove(&id);
                state.outbox_order.retain(|o| *o != id);
            }
            OutboxChange::Retry { id, not_before, attempts } => {
                if let Some((entry, lease)) = state.outbox.get_mut(&id) {
                    entry.not_before = not_before;
                    entry.attempts = attempts;
                    entry.attempt = None;
                    *lease = None;
                }
            }
            OutboxChange::Attempt { id, expected, at, not_before } => {
                let (entry, _) = state
                    .outbox
                    .get_mut(&id)
                    .filter(|(e, _)| e.tenant == tenant)
                    .ok_or(StoreError::NotFound("outbox entry"))?;
                if entry.attempt.as_ref().map(|a| a.started_at) != expected {
                    return Err(StoreError::Conflict);
                }
                entry.attempt = Some(SendAttempt { started_at: at, receipt: None });
                entry.not_before = not_before;
            }
            OutboxChange::Receipt { id, provider_id, at } => {
                if let Some((entry, _)) = state.outbox.get_mut(&id).filter(|(e, _)| e.tenant == tenant)
                    && let Some(attempt) = entry.attempt.as_mut()
                    && attempt.receipt.is_none()
                {
                    attempt.receipt = Some(provider_id);
                    entry.not_before = entry.not_before.min(at);
                }
            }
            OutboxChange::AwaitStatus { id, until } => {
                if let Some((entry, lease)) = state.outbox.get_mut(&id).filter(|(e, _)| e.tenant == tenant) {
                    entry.not_before = until;
                    *lease = None;
                }
            }
        }
    }
    if (!changes.suppressions.is_empty() || !changes.suppressions_lifted.is_empty())
        && !state.configs.contains_key(&tenant)
    {
        return Err(StoreError::NotFound("tenant"));
    }
    for (key, suppression) in changes.suppressions {
        state.suppressions.insert((tenant, key), suppression);
    }
    for key in changes.suppressions_lifted {
        state.suppressions.remove(&(tenant, key));
    }
    for request in changes.subject_requests {
        same_tenant(request.tenant, tenant)?;
        if !state.subject_requests.contains_key(&(tenant, request.id)) {
            state.subject_order.push((tenant, request.id));
        }
        state.subject_requests.insert((tenant, request.id), request);
    }
    for change in changes.media {
        match change {
            MediaChange::Insert { record, content } => {
                same_tenant(record.tenant, tenant)?;
                live_candidate(state, tenant, record.candidate)?;
                if state.media.contains_key(&(tenant, record.id)) {
                    return Err(StoreError::Duplicate(DuplicateKey::Id));
                }
                state.media_order.push((tenant, record.id));
                state.media.insert((tenant, record.id), (*record, content));
            }
            MediaChange::Update { record, content } => {
                same_tenant(record.tenant, tenant)?;
                let (stored, bytes) = state
                    .media
                    .get_mut(&(tenant, record.id))
                    .filter(|(m, _)| m.candidate == record.candidate)
                    .ok_or(StoreError::NotFound("media"))?;
                *stored = *record;
                if content.is_some() {
                    *bytes = content;
                }
            }
        }
    }
    for e in changes.events {
        same_tenant(e.tenant, tenant)?;
        state.events.push(e);
    }
    Ok(report)
}

#[async_trait]
impl Store for InMemoryStore {
    async fn tenant_config(&self, tenant: TenantId) -> Result<Option<Arc<TenantConfig>>, StoreError> {
        Ok(self.lock().configs.get(&tenant).cloned().map(Arc::new))
    }

    async fn candidate(&self, tenant: TenantId, id: CandidateId) -> Result<Option<Candidate>, StoreError> {
        Ok(self.lock().candidates.get(&(tenant, id)).and_then(|r| r.candidate.clone()))
    }

    async fn candidate_by_contact(&self, tenant: TenantId, key: &ContactKey) -> Result<Option<Candidate>, StoreError> {
        let state = self.lock();
        Ok(state
            .contacts
            .get(&(tenant, key.clone()))
            .and_then(|id| state.candidates.get(&(tenant, *id)))
            .and_then(|r| r.candidate.clone()))
    }

    async fn suppression(&self, tenant: TenantId, key: &ContactKey) -> Result<Option<Suppression>, StoreError> {
        Ok(self.lock().suppressions.get(&(tenant, key.clone())).cloned())
    }

    async fn message(&self, tenant: TenantId, id: MessageId) -> Result<Option<Message>, StoreError> {
        Ok(self.lock().messages.get(&(tenant, id)).cloned())
    }

    async fn message_by_provider_id(
        &self,
        tenant: TenantId,
        provider_id: &Wamid,
    ) -> Result<Option<Message>, StoreError> {
        let state = self.lock();
        Ok(state
            .provider_ids
            .get(&(tenant, provider_id.clone()))
            .and_then(|id| state.messages.get(&(tenant, *id)))
            .cloned())
    }

    async fn messages(&self, tenant: TenantId, candidate: CandidateId) -> Result<Vec<Message>, StoreError> {
        let state = self.lock();
        let mut messages =
            in_order(&state.message_order, &state.messages, |m| m, |m| m.tenant == tenant && m.candidate == candidate);
        messages.sort_by_key(|m| (m.created_at, m.id.as_uuid()));
        Ok(messages)
    }

    async fn pending_outbox(&self, tenant: TenantId, candidate: CandidateId) -> Result<Vec<OutboxEntry>, StoreError> {
        let state = self.lock();
        Ok(in_order(&state.outbox_order, &state.outbox, |(e, _)| e, |e| e.tenant == tenant && e.candidate == candidate))
    }

    async fn retention_due(
        &self,
        tenant: TenantId,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<CandidateId>, StoreError> {
        let state = self.lock();
        let mut due: Vec<(OffsetDateTime, CandidateId)> = state
            .candidates
            .iter()
            .filter(|((t, _), _)| *t == tenant)
            .filter_map(|((_, id), row)| row.retention_due.filter(|d| *d <= now).map(|d| (d, *id)))
            .collect();
        due.sort();
        Ok(due.into_iter().take(usize::try_from(limit).unwrap_or(usize::MAX)).map(|(_, id)| id).collect())
    }

    async fn subject_requests(
        &self,
        tenant: TenantId,
        candidate: Option<CandidateId>,
    ) -> Result<Vec<SubjectRequest>, StoreError> {
        let state = self.lock();
        let mut requests = in_order(
            &state.subject_order,
            &state.subject_requests,
            |r| r,
            |r| r.tenant == tenant && candidate.is_none_or(|c| r.candidate == Some(c)),
        );
        requests.sort_by_key(|r| r.received_at);
        Ok(requests)
    }

    async fn subject_request(
        &self,
        tenant: TenantId,
        id: SubjectRequestId,
    ) -> Result<Option<SubjectRequest>, StoreError> {
        Ok(self.lock().subject_requests.get(&(tenant, id)).cloned())
    }

    async fn media(&self, tenant: TenantId, id: MediaId) -> Result<Option<MediaRecord>, StoreError> {
        Ok(self.lock().media.get(&(tenant, id)).map(|(m, _)| m.clone()))
    }

    async fn media_content(&self, tenant: TenantId, id: MediaId) -> Result<Option<Pii<Vec<u8>>>, StoreError> {
        Ok(self.lock().media.get(&(tenant, id)).and_then(|(_, c)| c.clone()))
    }

    async fn candidate_media(&self, tenant: TenantId, candidate: CandidateId) -> Result<Vec<MediaRecord>, StoreError> {
        let state = self.lock();
        let mut media =
            in_order(&state.media_order, &state.media, |(m, _)| m, |m| m.tenant == tenant && m.candidate == candidate);
        media.sort_by_key(|m| (m.created_at, m.id.as_uuid()));
        Ok(media)
    }

    async fn commit(&self, tenant: TenantId, changes: ChangeSet) -> Result<CommitReport, StoreError> {
        if let Some(error) = self.fail_next.lock().unwrap().take() {
            return Err(error);
        }
        let mut state = self.lock();
        let mut draft = state.clone();
        let report = apply(&mut draft, tenant, changes)?;
        *state = draft;
        Ok(report)
    }

    async fn mark_read(
        &self,
        tenant: TenantId,
        staff: crate::ids::StaffId,
        candidate: CandidateId,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let readable = state.candidates.get(&(tenant, candidate)).and_then(|r| r.candidate.as_ref());
        if readable.is_none_or(Candidate::is_erased) {
            return Ok(());
        }
        let at = to_micros(at);
        let marker = state.thread_reads.entry((tenant, staff, candidate)).or_insert(at);
        *marker = (*marker).max(at);
        Ok(())
    }
}

/// A time to the microsecond, as the databases keep it.
fn to_micros(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(at.nanosecond() / 1000 * 1000).unwrap_or(at)
}

#[async_trait]
impl OutboxQueue for InMemoryStore {
    async fn claim(&self, now: OffsetDateTime, lease: Duration, limit: u32) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut state = self.lock();
        let order = state.outbox_order.clone();
        let mut claimed = Vec::new();
        for id in order {
            if claimed.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
                break;
            }
            if let Some((entry, lease_until)) = state.outbox.get_mut(&id)
                && entry.not_before <= now
                && lease_until.is_none_or(|l| l <= now)
            {
                *lease_until = Some(now + lease);
                claimed.push(entry.clone());
            }
        }
        Ok(claimed)
    }

    async fn release(&self, ids: &[OutboxId]) -> Result<(), StoreError> {
        let mut state = self.lock();
        for id in ids {
            if let Some((_, lease)) = state.outbox.get_mut(id) {
                *lease = None;
            }
        }
        Ok(())
    }
}

pub mod fixtures {
    //! A ready-made world: a tenant with an approved channel, published legal texts, synced
    //! templates, and candidates in various states.

    use super::*;
    use crate::candidate::{CandidateSource, Contact};
    use crate::consent::{CaptureChannel, ConsentEvidence, ConsentMethod, Purpose};
    use crate::ids::{LegalTextId, StaffId};
    use crate::legal::{LegalTextCatalogue, LegalTextKind, LegalTextVersion};
    use crate::policy::SendContext;
    use crate::template::{Template, TemplateCatalogue, TemplateCategory, TemplateStatus};
    use crate::tenant::{
        Actor, ApprovalInput, Channel, ChannelApproval, ConsentTemplate, ReviewedDocument, Role, Tenant,
    };
    use crate::usecases::Hoheit;
    use crate::values::{LanguageCode, PhoneNumber, TemplateName};
    use time::macros::datetime;

    /// The consent request text used by the fixtures (passes R6).
    pub const CONSENT_REQUEST_DE: &str = "Die Beispiel GmbH möchte Sie zu Ihrer Bewerbung über WhatsApp kontaktieren. \
        WhatsApp gehört zu Meta; Daten können in die USA übermittelt werden. Sie können jederzeit widersprechen \
        oder Ihre Einwilligung widerrufen: antworten Sie einfach STOPP.";

    /// The synced text of the fixtures' consent-request template: `{{1}}` is the employer, `{{2}}`
    /// the privacy-notice link (passes R6 and carries the R15 notice).
    pub const CONSENT_TEMPLATE_DE: &str = "{{1}} möchte Sie zu Ihrer Bewerbung über WhatsApp kontaktieren. \
        WhatsApp gehört zu Meta; Daten können in die USA übermittelt werden. Sie können jederzeit widersprechen \
        oder Ihre Einwilligung widerrufen: antworten Sie einfach STOPP. Datenschutzhinweise: {{2}}";

    /// A staff actor with the given role.
    pub fn staff(role: Role) -> Actor {
        Actor::Staff { id: StaffId::from_uuid(Uuid::from_u128(0xAB00 + role as u128)), role }
    }

    /// The tenant's recruiter ([`staff`]).
    pub fn recruiter() -> Actor {
        staff(Role::Recruiter)
    }

    /// The tenant's data-protection officer ([`staff`]).
    pub fn dpo() -> Actor {
        staff(Role::Dpo)
    }

    /// The fixture world.
    #[derive(Debug, Clone)]
    pub struct World {
        /// "Now".
        pub now: OffsetDateTime,
        /// The tenant's configuration.
        pub config: TenantConfig,
    }

    impl Default for World {
        fn default() -> Self {
            Self::new()
        }
    }

    impl World {
        /// Tenant "Beispiel GmbH", channel approved by the DPO, terms + privacy notice + consent
        /// request published, templates `consent_request` (utility, carries the notice),
        /// `interview_invite` (utility, 1 parameter) and `job_alert` (marketing) approved.
        pub fn new() -> Self {
            let now = datetime!(2025-03-03 09:00 UTC);
            let tenant_id = TenantId::from_uuid(Uuid::from_u128(0x7E));
            let channel_id = ChannelId::from_uuid(Uuid::from_u128(0xC4));
            let mut tenant = Tenant::new(tenant_id, "Beispiel GmbH", now - Duration::days(30)).unwrap();
            tenant.privacy_contact = Some("datenschutz@beispiel.example".into());
            tenant.privacy_notice_url = Some("https://beispiel.example/datenschutz".into());
            let approval = ChannelApproval::record(
                Role::Dpo,
                StaffId::from_uuid(Uuid::from_u128(0xD0)),
                ApprovalInput {
                    approver_name: "Dr. Daten Schutz".into(),
                    dpia_reference: "DSFA-2025-007".into(),
                    documents: vec![ReviewedDocument { name: "privacy_notice".into(), version: "v1".into() }],
                    review_at: None,
                },
                &tenant.messaging,
                now - Duration::days(20),
            )
            .unwrap();
            let channel = Channel {
                id: channel_id,
                tenant: tenant_id,
                display_phone_number: PhoneNumber::parse("+49 30 1234567").unwrap(),
                phone_number_id: "100200300".into(),
                consent_template: ConsentTemplate {
                    name: TemplateName::parse("consent_request").unwrap(),
                    language: LanguageCode::german(),
                },
                approval: Some(approval),
                created_at: now - Duration::days(25),
                registered_by: None,
            };
            let mut legal = LegalTextCatalogue::default();
            for (i, (kind, body)) in [
                (LegalTextKind::Terms, "Nutzungsbedingungen des WhatsApp-Kanals v1"),
                (LegalTextKind::PrivacyNotice, "Datenschutzhinweise v1"),
                (LegalTextKind::ConsentRequest, CONSENT_REQUEST_DE),
            ]
            .into_iter()
            .enumerate()
            {
                let text = legal
                    .prepare(
                        LegalTextId::from_uuid(Uuid::from_u128(0x1E0 + i as u128)),
                        kind,
                        LegalTextVersion::parse("v1").unwrap(),
                        LanguageCode::german(),
                        body.into(),
                        None,
                        true,
                        &tenant.name,
                        now - Duration::days(20),
                    )
                    .unwrap();
                legal.push(text);
            }
            let template = |name: &str, category, params, replies, notice| Template {
                channel: channel_id,
                name: TemplateName::parse(name).unwrap(),
                language: LanguageCode::german(),
                category,
                status: TemplateStatus::Approved,
                body_parameters: params,
                quick_replies: replies,
                carries_notice: notice,
                components_json: "[]".into(),
                body_text: (name == "consent_request").then(|| CONSENT_TEMPLATE_DE.to_owned()),
                shape: crate::template::TemplateShape::default(),
                synced_at: now - Duration::days(1),
            };
            let templates = TemplateCatalogue::new(vec![
                template("consent_request", TemplateCategory::Utility, 2, 3, true),
                template("interview_invite", TemplateCategory::Utility, 1, 0, false),
                template("job_alert", TemplateCategory::Marketing, 0, 0, false),
            ]);
            Self { now, config: TenantConfig { tenant, channels: vec![channel], legal_texts: legal, templates } }
        }

        /// The tenant id.
        pub fn tenant_id(&self) -> TenantId {
            self.config.tenant.id
        }

        /// The channel.
        pub fn channel(&self) -> &Channel {
            self.config.channels.first().unwrap()
        }

        /// A fresh candidate (no consent, no conversation).
        pub fn candidate(&self) -> Candidate {
            Candidate::new(
                CandidateId::from_uuid(Uuid::from_u128(0xCA)),
                self.tenant_id(),
                self.channel().id,
                CandidateSource::Recruiter,
                Contact {
                    phone: Some(PhoneNumber::parse("+49 170 1234567").unwrap()),
                    wa_user_id: None,
                    name: Some("Erika Mustermann".into()),
                    profile_name: None,
                },
                LanguageCode::german(),
                self.now - Duration::days(10),
            )
        }

        /// A review of a possible objection (nil ids) on `matched`, opened now and due at `due_at`.
        pub fn pending_review(&self, matched: &str, due_at: OffsetDateTime) -> crate::objection::PendingReview {
            crate::objection::PendingReview {
                id: crate::ids::ReviewId::from_uuid(Uuid::nil()),
                message: MessageId::from_uuid(Uuid::nil()),
                matched: matched.to_owned(),
                opened_at: self.now,
                due_at,
                further: Vec::new(),
            }
        }

        /// A candidate who consented (verbally, on the current texts), wrote an hour ago and got
        /// the notice already.
        pub fn engaged_candidate(&self) -> Candidate {
            let mut c = self.candidate();
            self.grant(&mut c, Purpose::WhatsAppChannel);
            c.conversation.record_inbound(self.now - Duration::hours(1));
            let conv = &c.conversation;
            let notice = Some(self.now - Duration::days(2));
            c.conversation = crate::conversation::ConversationState::restored(
                conv.last_inbound_at(),
                notice,
                conv.last_activity_at(),
                conv.outbound_count(),
            );
            c
        }

        /// Grants consent for a purpose on the current texts.
        pub fn grant(&self, c: &mut Candidate, purpose: Purpose) {
            let texts = self.config.legal_texts.consent_bundle(&LanguageCode::german()).unwrap();
            c.consents
                .grant(
                    ConsentEvidence {
                        purpose,
                        method: ConsentMethod::RecordedVerbal { staff: StaffId::from_uuid(Uuid::nil()), note: None },
                        capture_channel: CaptureChannel::Phone,
                        texts_shown: texts,
                        language: LanguageCode::german(),
                        recorded_at: self.now - Duration::days(3),
                        given_at: None,
                        recorded_by: staff(Role::Recruiter),
                    },
                    self.now,
                )
                .unwrap();
        }

        /// The policy's view for a candidate.
        pub fn send_context<'a>(&'a self, candidate: &'a Candidate) -> SendContext<'a> {
            SendContext {
                tenant: &self.config.tenant,
                channel: self.channel(),
                candidate,
                legal_texts: &self.config.legal_texts,
                templates: &self.config.templates,
            }
        }

        /// A running application on this world: in-memory store seeded with the config, a fixed
        /// clock at `now`, sequential ids and a fake gateway.
        pub fn app(&self) -> TestApp {
            let store = Arc::new(InMemoryStore::default());
            store.lock().configs.insert(self.tenant_id(), self.config.clone());
            let clock = Arc::new(FixedClock::new(self.now));
            let gateway = Arc::new(FakeGateway::default());
            let app = Hoheit::new(store.clone(), gateway.clone(), clock.clone(), Arc::new(SequentialIds::new(7)));
            TestApp { app, store, clock, gateway, world: self.clone() }
        }
    }

    /// The application wired to in-memory fakes.
    #[derive(Debug)]
    pub struct TestApp {
        /// The use cases.
        pub app: Hoheit,
        /// The store.
        pub store: Arc<InMemoryStore>,
        /// The clock.
        pub clock: Arc<FixedClock>,
        /// The gateway.
        pub gateway: Arc<FakeGateway>,
        /// The world it was built from.
        pub world: World,
    }

    /// The number of the fixtures' candidate ([`World::candidate`], [`TestApp::new_candidate`]).
    pub const NUMBER: &str = "+49 170 1234567";

    /// The WhatsApp id of [`NUMBER`]: the sender of [`TestApp::inbound`].
    pub const WA_ID: &str = "491701234567";

    impl TestApp {
        /// Claims and dispatches everything due; returns the outcomes.
        pub async fn dispatch_all(&self) -> Vec<crate::usecases::DispatchOutcome> {
            let entries = self.store.claim(self.clock.now(), Duration::minutes(1), 100).await.unwrap();
            let mut outcomes = Vec::new();
            for entry in entries {
                outcomes.push(self.app.dispatch(&entry).await.unwrap());
            }
            outcomes
        }

        /// A recruiter creates the candidate "Erika Mustermann" with [`NUMBER`] (no consent yet).
        pub async fn new_candidate(&self) -> CandidateId {
            let input = crate::usecases::NewCandidate {
                phone: PhoneNumber::parse(NUMBER).unwrap(),
                name: Some("Erika Mustermann".into()),
                channel: self.world.channel().id,
                language: None,
            };
            self.app.create_candidate(self.world.tenant_id(), staff(Role::Recruiter), input).await.unwrap().id
        }

        /// A webhook message from [`WA_ID`] (profile name "Erika") with this provider id, at `at`.
        pub async fn inbound_at(
            &self,
            id: &str,
            content: crate::inbound::InboundContent,
            at: OffsetDateTime,
        ) -> crate::usecases::InboundOutcome {
            let msg = crate::inbound::InboundMessage {
                provider_id: Wamid::parse(id).unwrap(),
                from: crate::inbound::ContactRef {
                    wa_id: Some(crate::values::WaId::parse(WA_ID).unwrap()),
                    user_id: None,
                    profile_name: Some("Erika".into()),
                },
                timestamp: at,
                content,
                context: None,
            };
            self.app.receive_inbound(self.world.tenant_id(), self.world.channel().id, &msg).await.unwrap()
        }

        /// [`TestApp::inbound_at`] now.
        pub async fn inbound(
            &self,
            id: &str,
            content: crate::inbound::InboundContent,
        ) -> crate::usecases::InboundOutcome {
            self.inbound_at(id, content, self.clock.now()).await
        }

        /// A new candidate ([`TestApp::new_candidate`]) who agreed with the consent request's
        /// button: the request is sent, the agree payload comes back as a button reply.
        pub async fn consented(&self) -> CandidateId {
            let c = self.new_candidate().await;
            self.app.request_consent(self.world.tenant_id(), staff(Role::Recruiter), c).await.unwrap();
            assert_eq!(self.dispatch_all().await, vec![crate::usecases::DispatchOutcome::Sent]);
            let sent = self.gateway.sent();
            let OutboundContent::Template { button_payloads, .. } = &sent.last().unwrap().content else {
                panic!("template expected")
            };
            let agree = button_payloads.first().unwrap().clone();
            assert!(matches!(
                crate::consent::ConsentReply::parse(&agree),
                Some(crate::consent::ConsentReply::Agree(_))
            ));
            let reply = crate::inbound::InboundContent::Button { payload: Some(agree), text: "Zustimmen".into() };
            let out = self.inbound("wamid.agree", reply).await;
            assert!(matches!(out, crate::usecases::InboundOutcome::Stored { .. }), "{out:?}");
            c
        }
    }
}

impl InMemoryStore {
    /// The tenant's listed candidates (restricted ones only if asked, erased ones never), unordered.
    fn summaries(&self, tenant: TenantId, include_restricted: bool) -> Vec<crate::ports::CandidateSummary> {
        use crate::candidate::Lifecycle;
        use crate::ports::{CandidateSummary, ListedLifecycle};
        let state = self.lock();
        state
            .candidates
            .iter()
            .filter(|((t, _), _)| *t == tenant)
            .filter_map(|(_, row)| row.candidate.as_ref().map(|c| (c, row.retention_due)))
            .filter_map(|(c, retention_due_at)| {
                let lifecycle = match c.lifecycle {
                    Lifecycle::Active => ListedLifecycle::Active,
                    Lifecycle::Restricted { .. } if include_restricted => ListedLifecycle::Restricted,
                    Lifecycle::Restricted { .. } | Lifecycle::Erased { .. } => return None,
                };
                // the last committed event about the candidate is its last change
                let updated_at = state
                    .events
                    .iter()
                    .filter(|e| e.tenant == tenant && e.subject == Some(c.id))
                    .map(|e| e.at)
                    .max()
                    .unwrap_or(c.created_at)
                    .max(c.created_at);
                // to the microsecond, as the databases keep it, so equal times order alike
                let activity = crate::retention::last_activity(c);
                let last_activity_at = activity.replace_nanosecond(activity.nanosecond() / 1000 * 1000).ok()?;
                Some(CandidateSummary {
                    id: c.id,
                    lifecycle,
                    objected: c.objection.is_objected(),
                    process_ended_at: c.process_ended_at(),
                    retention_due_at,
                    created_at: c.created_at,
                    updated_at,
                    last_activity_at,
                })
            })
            .collect()
    }
}

/// The read side over the same state (the views the API shows).
#[async_trait]
impl crate::ports::Queries for InMemoryStore {
    async fn tenants(&self) -> Result<Vec<crate::ports::TenantSummary>, StoreError> {
        let mut tenants: Vec<_> = self
            .lock()
            .configs
            .values()
            .map(|c| crate::ports::TenantSummary {
                id: c.tenant.id,
                name: c.tenant.name.clone(),
                created_at: c.tenant.created_at,
            })
            .collect();
        tenants.sort_by_key(|t| (t.created_at, t.id));
        Ok(tenants)
    }

    async fn candidate_page(
        &self,
        tenant: TenantId,
        page: crate::ports::CandidatePage,
    ) -> Result<Vec<crate::ports::CandidateSummary>, StoreError> {
        let mut rows = self.summaries(tenant, page.include_restricted);
        rows.retain(|r| page.after.is_none_or(|a| r.id > a));
        rows.sort_by_key(|r| r.id);
        rows.truncate(usize::try_from(page.limit).unwrap_or(usize::MAX));
        Ok(rows)
    }

    async fn candidate_activity_page(
        &self,
        tenant: TenantId,
        page: crate::ports::ActivityPage,
    ) -> Result<Vec<crate::ports::CandidateSummary>, StoreError> {
        let position = |r: &crate::ports::CandidateSummary| std::cmp::Reverse((r.last_activity_at, r.id));
        let mut rows = self.summaries(tenant, page.include_restricted);
        if let Some(only) = page.only {
            let state = self.lock();
            rows.retain(|r| {
                let candidate = state.candidates.get(&(tenant, r.id)).and_then(|row| row.candidate.as_ref());
                candidate.is_some_and(|c| only.matches(c))
            });
        }
        rows.retain(|r| page.after.is_none_or(|a| position(r) > std::cmp::Reverse((a.last_activity_at, a.id))));
        rows.sort_by_key(position);
        rows.truncate(usize::try_from(page.limit).unwrap_or(usize::MAX));
        Ok(rows)
    }

    async fn conversation_summaries(
        &self,
        tenant: TenantId,
        viewer: crate::ids::StaffId,
        candidates: &[CandidateId],
    ) -> Result<Vec<crate::ports::ConversationSummary>, StoreError> {
        use crate::conversation::Direction;
        let state = self.lock();
        let mut out: Vec<crate::ports::ConversationSummary> = Vec::new();
        for id in candidates {
            let listed = state.candidates.get(&(tenant, *id)).and_then(|r| r.candidate.as_ref());
            if listed.is_none_or(Candidate::is_erased) || out.iter().any(|s| s.candidate == *id) {
                continue;
            }
            let marker = state.thread_reads.get(&(tenant, viewer, *id)).copied();
            let mut messages: Vec<&Message> =
                state.messages.values().filter(|m| m.tenant == tenant && m.candidate == *id).collect();
            let unread = messages
                .iter()
                .filter(|m| m.direction == Direction::Inbound)
                .filter(|m| marker.is_none_or(|read| to_micros(m.created_at) > read))
                .count();
            messages.sort_by_key(|m| (to_micros(m.created_at), m.id));
            let last = messages.last().map(|m| crate::ports::LastMessage {
                direction: m.direction,
                kind: m.kind,
                media: state
                    .media
                    .values()
                    .find(|(r, _)| r.tenant == tenant && r.message == m.id)
                    .map(|(r, _)| r.kind)
                    .filter(|_| m.kind == crate::message::MessageKind::Media),
                intent: m.intent.filter(|_| m.direction == Direction::Outbound),
                at: to_micros(m.created_at),
                status: m.status.effective().filter(|_| m.direction == Direction::Outbound),
            });
            out.push(crate::ports::ConversationSummary {
                candidate: *id,
                unread: u32::try_from(unread).unwrap_or(u32::MAX),
                last,
            });
        }
        Ok(out)
    }

    async fn candidates_by_name(
        &self,
        tenant: TenantId,
        search: crate::ports::NameSearch,
    ) -> Result<Vec<CandidateId>, StoreError> {
        let include = search.include_restricted;
        let mut found: Vec<_> = self
            .summaries(tenant, include)
            .into_iter()
            .map(|s| (std::cmp::Reverse((s.last_activity_at, s.id)), s.id))
            .collect();
        let state = self.lock();
        found.retain(|(_, id)| {
            state
                .candidates
                .get(&(tenant, *id))
                .and_then(|r| r.candidate.as_ref())
                .is_some_and(|c| crate::names::matches(c, &search.tokens))
        });
        found.sort_by_key(|(position, _)| *position);
        found.truncate(usize::try_from(search.limit).unwrap_or(usize::MAX));
        Ok(found.into_iter().map(|(_, id)| id).collect())
    }

    async fn open_reviews(&self, tenant: TenantId) -> Result<Vec<crate::ports::OpenReview>, StoreError> {
        let state = self.lock();
        let mut reviews: Vec<_> = state
            .tenant_candidates(tenant)
            .filter_map(|c| {
                c.objection.review.as_ref().map(|r| crate::ports::OpenReview { candidate: c.id, due_at: r.due_at })
            })
            .collect();
        reviews.sort_by_key(|r| (r.due_at, r.candidate));
        Ok(reviews)
    }

    async fn due_subject_requests(
        &self,
        tenant: TenantId,
        now: OffsetDateTime,
        within: Duration,
    ) -> Result<crate::ports::DueSubjectRequests, StoreError> {
        let register = Store::subject_requests(self, tenant, None).await?;
        Ok(crate::ports::DueSubjectRequests::from_register(register, now, within))
    }

    async fn due_legal_holds(
        &self,
        tenant: TenantId,
        now: OffsetDateTime,
    ) -> Result<Vec<crate::ports::DueLegalHold>, StoreError> {
        let state = self.lock();
        let mut due: Vec<_> = state
            .tenant_candidates(tenant)
            .filter(|c| !c.is_erased())
            .filter_map(|c| {
                c.hold_review_at()
                    .filter(|at| *at <= now)
                    .map(|review_at| crate::ports::DueLegalHold { candidate: c.id, review_at })
            })
            .collect();
        due.sort_by_key(|d| (d.review_at, d.candidate));
        Ok(due)
    }

    async fn deadline_counts(
        &self,
        now: OffsetDateTime,
        soon: OffsetDateTime,
    ) -> Result<crate::ports::DeadlineCounts, StoreError> {
        let state = self.lock();
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        let reviews: Vec<OffsetDateTime> = state
            .candidates
            .values()
            .filter_map(|row| row.candidate.as_ref())
            .filter_map(|c| c.objection.review.as_ref().map(|r| r.due_at))
            .collect();
        let open = || state.subject_requests.values().filter(|r| r.status.is_open());
        Ok(crate::ports::DeadlineCounts {
            reviews_open: count(reviews.len()),
            reviews_overdue: count(reviews.iter().filter(|d| **d <= now).count()),
            subject_requests_overdue: count(open().filter(|r| r.due_at <= now).count()),
            subject_requests_due_soon: count(open().filter(|r| r.due_at > now && r.due_at <= soon).count()),
            media_pending: count(
                state.media.values().filter(|(m, _)| m.status == crate::media::MediaStatus::Pending).count(),
            ),
            legal_hold_reviews_due: count(
                state
                    .candidates
                    .values()
                    .filter_map(|row| row.candidate.as_ref())
                    .filter(|c| !c.is_erased() && c.hold_review_at().is_some_and(|at| at <= now))
                    .count(),
            ),
        })
    }
}
