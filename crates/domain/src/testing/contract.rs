//! The store contract: the behaviour every [`Store`] + [`OutboxQueue`] + [`Queries`]
//! implementation must have,
//! written once and run against every implementation (the in-memory store in the domain's
//! tests, SQLite and PostgreSQL in the persistence adapter's tests), so that the in-memory fake
//! cannot drift from the real stores.
//!
//! Each case is a plain `async fn` taking a [`Harness`]; the caller's runtime drives it (the
//! domain uses `futures-executor`, the adapter tokio). [`store_contract_tests!`](crate::store_contract_tests)
//! writes one `#[test]` per case. Only what needs the real database (encryption at rest, raw
//! bytes, files) stays in the adapter's own tests.

#![allow(
    clippy::missing_panics_doc,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::too_many_lines
)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::fixtures::{World, staff};
use super::{FakeGateway, FixedClock, InMemoryStore, SequentialIds};
use crate::candidate::{
    Candidate, CandidateSource, Contact, ErasureReason, HoldReason, Lifecycle, ProcessEndReason, RestrictionReason,
};
use crate::consent::{CaptureChannel, Purpose};
use crate::conversation::{
    DeliveryStatus, Direction, Intent, Message, MessageBody, MessageKind, OutboundContent, StatusObservation,
    StatusTimeline,
};
use crate::events::{DomainEvent, EventEnvelope};
use crate::ids::{CandidateId, ChannelId, LegalTextId, MediaId, MessageId, OutboxId, SubjectRequestId, TenantId};
use crate::inbound::{ContactKey, ContactRef, InboundContent, InboundMessage, MediaKind};
use crate::legal::LegalTextCatalogue;
use crate::media::{MediaRecord, MediaStatus};
use crate::objection::{ObjectionScope, Suppression};
use crate::ports::{
    ActivityCursor, ActivityPage, CandidateChange, CandidatePage, ChangeSet, CommitReport, ConfigChange, DueLegalHold,
    DuplicateKey, ListedLifecycle, MediaChange, MessageChange, OutboxChange, OutboxEntry, OutboxQueue, Queries, Store,
    StoreError,
};
use crate::subject_request::{SubjectRequest, SubjectRequestKind};
use crate::template::TemplateCatalogue;
use crate::tenant::{Actor, Role, Tenant};
use crate::usecases::{
    DispatchOutcome, ErasureOutcome, Hoheit, InboundOutcome, MessageRequest, NewCandidate, ObjectionInput,
};
use crate::values::{LanguageCode, PhoneNumber, Pii, WaId, Wamid};

/// A marker that must never appear in clear at rest.
pub const CANARY: &str = "CANARY-7f3e9b21-Geheimtext";
/// The phone number of the first test candidate.
pub const NUMBER: &str = "+49 170 9876543";

/// One fresh, empty store under test, as the contract cases see it.
#[async_trait]
pub trait Harness: Send + Sync {
    /// The store.
    fn store(&self) -> Arc<dyn Store>;
    /// The same store as the dispatcher sees it.
    fn queue(&self) -> Arc<dyn OutboxQueue>;
    /// The same store's read views.
    fn queries(&self) -> Arc<dyn Queries>;
    /// Another handle on the same data, as a second process or replica would open it.
    async fn replica(&self) -> (Arc<dyn Store>, Arc<dyn OutboxQueue>);
    /// The actions of the tenant's audit entries (of one subject if given), in chain order.
    async fn audit_trail(&self, tenant: TenantId, subject: Option<CandidateId>) -> Result<Vec<String>, StoreError>;
    /// How many entries the tenant's audit trail has if it verifies end to end, `None` if it
    /// does not.
    async fn audit_verified(&self, tenant: TenantId) -> Result<Option<u64>, StoreError>;
}

/// The in-memory store as a contract subject.
#[derive(Debug, Default, Clone)]
pub struct MemoryHarness(pub Arc<InMemoryStore>);

impl MemoryHarness {
    /// A harness over a new, empty in-memory store (`Option` like the other stores' factories).
    #[allow(clippy::unused_async)]
    pub async fn new_store() -> Option<Self> {
        Some(Self::default())
    }

    fn audited(&self, tenant: TenantId) -> Vec<EventEnvelope> {
        self.0.events().into_iter().filter(|e| e.tenant == tenant && e.event.audited()).collect()
    }
}

#[async_trait]
impl Harness for MemoryHarness {
    fn store(&self) -> Arc<dyn Store> {
        self.0.clone()
    }

    fn queue(&self) -> Arc<dyn OutboxQueue> {
        self.0.clone()
    }

    fn queries(&self) -> Arc<dyn Queries> {
        self.0.clone()
    }

    async fn replica(&self) -> (Arc<dyn Store>, Arc<dyn OutboxQueue>) {
        (self.0.clone(), self.0.clone())
    }

    async fn audit_trail(&self, tenant: TenantId, subject: Option<CandidateId>) -> Result<Vec<String>, StoreError> {
        Ok(self
            .audited(tenant)
            .into_iter()
            .filter(|e| subject.is_none() || e.subject == subject)
            .map(|e| e.event.action().to_owned())
            .collect())
    }

    async fn audit_verified(&self, tenant: TenantId) -> Result<Option<u64>, StoreError> {
        Ok(Some(u64::try_from(self.audited(tenant).len()).unwrap_or(u64::MAX)))
    }
}

/// Writes one `#[test]` per contract case. `run` drives a future to completion (e.g.
/// `futures_executor::block_on`, or a function that builds a tokio runtime); `harness` is an
/// `async fn() -> Option<impl Harness>` returning a fresh, empty store, or `None` to skip (a
/// database that is not configured).
#[macro_export]
macro_rules! store_contract_tests {
    (run: $run:path, harness: $harness:path $(,)?) => {
        $crate::store_contract_tests!(@cases $run, $harness;
            configuration_round_trips,
            candidates_load_by_id_and_contact_with_optimistic_versions,
            a_commit_is_all_or_nothing,
            inbound_messages_are_stored_once_per_tenant,
            statuses_converge_in_any_order,
            unmatched_statuses_are_counted_not_refused,
            outbox_leases_retries_and_cancellation,
            send_attempts_survive_a_crash_and_take_their_receipt,
            erasure_removes_content_and_keeps_suppression_and_audit,
            tenants_are_isolated,
            writes_need_their_tenant_and_candidate,
            subject_requests_and_retention_due,
            messages_and_media_are_listed_oldest_first,
            media_is_stored_listed_and_erased_with_the_candidate,
            concurrent_commits_keep_one_linear_audit_chain,
            a_failing_change_set_does_not_fail_the_others_in_its_batch,
            concurrent_statuses_and_messages_share_batches_and_converge,
            the_domain_journey_runs_on_the_store,
            queries_read_views,
            candidates_are_listed_newest_activity_first,
            activity_pages_narrow_to_clear_states,
            replays_after_erasure_and_stale_events_create_nothing,
            read_markers_count_unread_per_staff_member_and_summarise_the_last_message,
            candidates_are_found_by_name_tokens_prefixes_and_spellings,
        );
    };
    (@cases $run:path, $harness:path; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $run(async {
                    if let Some(harness) = $harness().await {
                        $crate::testing::contract::$case(&harness).await;
                    }
                });
            }
        )*
    };
}

// ---- fixtures shared by the cases and the adapters' own tests ----

/// Standard base64 (with padding), for [`realistic_wamid`] and the tests that look for a
/// number's base64 forms.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A wamid built the way WhatsApp builds them: `wamid.` + base64 of a structure that begins
/// with the customer's number (`0x1c 0x18 len digits 0x15 0x02 0x00 0x12 0x18 len hex-id 0x00`),
/// so the number can be decoded from it (issue 13). `digits` is the number without `+`.
pub fn realistic_wamid(digits: &str, n: u64) -> Wamid {
    let hex_id = format!("{n:020X}");
    let mut raw = vec![0x1c, 0x18, u8::try_from(digits.len()).unwrap()];
    raw.extend_from_slice(digits.as_bytes());
    raw.extend_from_slice(&[0x15, 0x02, 0x00, 0x12, 0x18, u8::try_from(hex_id.len()).unwrap()]);
    raw.extend_from_slice(hex_id.as_bytes());
    raw.push(0x00);
    Wamid::parse(&format!("wamid.{}", base64(&raw))).unwrap()
}

/// What a number looks like inside base64 text, in all three alignments: for each offset of the
/// number in the encoded bytes, the characters that depend on the number's bytes alone.
pub fn base64_forms(digits: &str) -> Vec<String> {
    let n = digits.len();
    (0..3usize)
        .map(|k| {
            let mut bytes = vec![0u8; k];
            bytes.extend_from_slice(digits.as_bytes());
            let encoded = base64(&bytes);
            let (from, to) = ((8 * k).div_ceil(6), (8 * (k + n)) / 6);
            encoded[from..to].to_owned()
        })
        .collect()
}

/// A candidate of `world` with id `id` and phone `number`; the name carries the [`CANARY`].
pub fn new_candidate(world: &World, id: u128, number: &str) -> Candidate {
    Candidate::new(
        CandidateId::from_uuid(Uuid::from_u128(id)),
        world.tenant_id(),
        world.channel().id,
        CandidateSource::Recruiter,
        Contact {
            phone: Some(PhoneNumber::parse(number).unwrap()),
            wa_user_id: None,
            name: Some(Pii::new(format!("Erika Mustermann {CANARY}"))),
            profile_name: None,
        },
        LanguageCode::german(),
        world.now,
    )
}

/// Inserts a candidate (no retention due).
pub async fn insert(store: &dyn Store, world: &World, candidate: &Candidate) {
    let changes = ChangeSet {
        candidates: vec![CandidateChange::Insert { candidate: Box::new(candidate.clone()), retention_due: None }],
        ..ChangeSet::default()
    };
    store.commit(world.tenant_id(), changes).await.unwrap();
}

/// A system event of `world`'s tenant at `world.now`.
pub fn event(world: &World, subject: Option<CandidateId>, event: DomainEvent) -> EventEnvelope {
    EventEnvelope { tenant: world.tenant_id(), subject, actor: Actor::System, at: world.now, rule: None, event }
}

/// A text message of `world`'s channel at `world.now`, not yet sent or received.
fn text_message(world: &World, candidate: CandidateId, id: u128, direction: Direction, body: MessageBody) -> Message {
    Message {
        id: MessageId::from_uuid(Uuid::from_u128(id)),
        tenant: world.tenant_id(),
        candidate,
        channel: world.channel().id,
        direction,
        kind: MessageKind::Text,
        intent: None,
        body: Pii::new(body),
        provider_id: None,
        reply_to: None,
        created_at: world.now,
        provider_at: None,
        status: StatusTimeline::default(),
    }
}

/// An inbound text message.
pub fn inbound_message(world: &World, candidate: CandidateId, id: u128, provider_id: &str, text: &str) -> Message {
    let body = MessageBody::Inbound(InboundContent::Text { body: Pii::new(text.to_owned()) });
    Message {
        provider_id: Some(Wamid::parse(provider_id).unwrap()),
        provider_at: Some(world.now),
        ..text_message(world, candidate, id, Direction::Inbound, body)
    }
}

/// A queued outbound text message.
pub fn outbound_message(world: &World, candidate: CandidateId, id: u128, text: &str) -> Message {
    let body = MessageBody::Outbound(OutboundContent::Text { body: Pii::new(text.to_owned()) });
    Message {
        intent: Some(Intent::Regular),
        status: StatusTimeline::starting(DeliveryStatus::Queued, world.now),
        ..text_message(world, candidate, id, Direction::Outbound, body)
    }
}

/// An outbox entry for message `message`, due now.
pub fn outbox_entry(world: &World, candidate: CandidateId, id: u128, message: u128, text: &str) -> OutboxEntry {
    OutboxEntry {
        id: OutboxId::from_uuid(Uuid::from_u128(id)),
        tenant: world.tenant_id(),
        candidate,
        channel: world.channel().id,
        message: MessageId::from_uuid(Uuid::from_u128(message)),
        content: OutboundContent::Text { body: Pii::new(text.to_owned()) },
        intent: Intent::Regular,
        notice_appended: false,
        created_at: world.now,
        attempts: 0,
        not_before: world.now,
        attempt: None,
    }
}

/// A pending inbound document announced with message `message`; the file name carries the
/// [`CANARY`].
pub fn media_record(world: &World, candidate: CandidateId, id: u128, message: u128) -> MediaRecord {
    MediaRecord {
        id: MediaId::from_uuid(Uuid::from_u128(id)),
        tenant: world.tenant_id(),
        candidate,
        channel: world.channel().id,
        message: MessageId::from_uuid(Uuid::from_u128(message)),
        direction: Direction::Inbound,
        kind: MediaKind::Document,
        provider_media_id: Pii::new("1037543291543636".into()),
        mime_type: Some("application/pdf".into()),
        filename: Some(Pii::new(format!("Lebenslauf {CANARY}.pdf"))),
        announced_sha256: None,
        sha256: None,
        size: None,
        status: MediaStatus::Pending,
        rejection: None,
        attempts: 0,
        next_attempt_at: Some(world.now),
        created_at: world.now,
        settled_at: None,
    }
}

/// Writes the world's configuration into a store.
pub async fn seed(store: &dyn Store, world: &World) {
    let config = &world.config;
    let mut changes = ChangeSet::default();
    changes.config.push(ConfigChange::Tenant(Box::new(config.tenant.clone())));
    for channel in &config.channels {
        changes.config.push(ConfigChange::Channel(Box::new(channel.clone())));
    }
    for text in config.legal_texts.texts() {
        changes.config.push(ConfigChange::LegalText(Box::new(text.clone())));
    }
    changes.config.push(ConfigChange::Templates {
        channel: world.channel().id,
        templates: config.templates.templates().to_vec(),
    });
    store.commit(world.tenant_id(), changes).await.expect("seed");
}

/// A second tenant ("Andere AG", own channel and texts), seeded into the store.
pub async fn other_tenant(store: &dyn Store) -> World {
    let mut other = World::new();
    let tenant = TenantId::from_uuid(Uuid::from_u128(0xB2));
    other.config.tenant = Tenant { id: tenant, name: "Andere AG".into(), ..other.config.tenant.clone() };
    let channel_id = ChannelId::from_uuid(Uuid::from_u128(0xB3));
    for ch in &mut other.config.channels {
        ch.tenant = tenant;
        ch.id = channel_id;
        ch.phone_number_id = "999888777".into();
    }
    let templates: Vec<_> = other
        .config
        .templates
        .templates()
        .iter()
        .cloned()
        .map(|mut t| {
            t.channel = channel_id;
            t
        })
        .collect();
    other.config.templates = TemplateCatalogue::new(templates);
    let texts: Vec<_> = other
        .config
        .legal_texts
        .texts()
        .iter()
        .cloned()
        .map(|mut t| {
            t.id = LegalTextId::from_uuid(Uuid::from_u128(t.id.as_uuid().as_u128() + 0x1000));
            t
        })
        .collect();
    other.config.legal_texts = LegalTextCatalogue::new(texts);
    seed(store, &other).await;
    other
}

/// A world seeded into the harness's store, with one candidate ([`NUMBER`], id 1) inserted.
async fn seeded_with_candidate(h: &dyn Harness) -> (World, Candidate) {
    let w = World::new();
    seed(h.store().as_ref(), &w).await;
    let c = new_candidate(&w, 1, NUMBER);
    insert(h.store().as_ref(), &w, &c).await;
    (w, c)
}

fn messages(changes: Vec<MessageChange>) -> ChangeSet {
    ChangeSet { messages: changes, ..ChangeSet::default() }
}

fn media_changes(changes: Vec<MediaChange>) -> ChangeSet {
    ChangeSet { media: changes, ..ChangeSet::default() }
}

/// An inbound message stored with an audited event (the shape of a webhook's commit).
fn audited_inbound(w: &World, c: CandidateId, seq: u128, provider: &str, text: &str) -> ChangeSet {
    ChangeSet {
        messages: vec![MessageChange::Insert(Box::new(inbound_message(w, c, seq, provider, text)))],
        events: vec![event(w, Some(c), DomainEvent::HelpRequested)],
        ..ChangeSet::default()
    }
}

/// Polls all futures in one task until each is done (concurrent, not parallel): enough for the
/// stores' writers to batch them, with no runtime dependency.
pub async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    struct JoinAll<F: Future> {
        pending: Vec<Option<Pin<Box<F>>>>,
        done: Vec<Option<F::Output>>,
    }
    // the futures are boxed and the outputs are never pinned
    impl<F: Future> Unpin for JoinAll<F> {}
    impl<F: Future> Future for JoinAll<F> {
        type Output = Vec<F::Output>;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            let this = self.get_mut();
            let mut waiting = false;
            for (slot, out) in this.pending.iter_mut().zip(this.done.iter_mut()) {
                if let Some(future) = slot {
                    match future.as_mut().poll(cx) {
                        Poll::Ready(value) => {
                            *out = Some(value);
                            *slot = None;
                        }
                        Poll::Pending => waiting = true,
                    }
                }
            }
            if waiting { Poll::Pending } else { Poll::Ready(this.done.iter_mut().map(|o| o.take().unwrap()).collect()) }
        }
    }
    let done = futures.iter().map(|_| None).collect();
    JoinAll { pending: futures.into_iter().map(|f| Some(Box::pin(f))).collect(), done }.await
}

// ---- the cases ----

/// Tenant, channels, legal texts and templates round-trip; a published legal text version is
/// immutable.
pub async fn configuration_round_trips(h: &dyn Harness) {
    let s = h.store();
    let w = World::new();
    assert!(s.tenant_config(w.tenant_id()).await.unwrap().is_none());
    seed(s.as_ref(), &w).await;
    let config = s.tenant_config(w.tenant_id()).await.unwrap().unwrap();
    assert_eq!(config.tenant, w.config.tenant);
    assert_eq!(config.channels, w.config.channels);
    assert_eq!(config.legal_texts, w.config.legal_texts);
    let mut got: Vec<_> = config.templates.templates().to_vec();
    let mut want: Vec<_> = w.config.templates.templates().to_vec();
    got.sort_by(|a, b| a.name.cmp(&b.name));
    want.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(got, want);
    // a published version is immutable
    let again = ChangeSet {
        config: vec![ConfigChange::LegalText(Box::new(w.config.legal_texts.texts()[0].clone()))],
        ..ChangeSet::default()
    };
    assert_eq!(s.commit(w.tenant_id(), again).await, Err(StoreError::Duplicate(DuplicateKey::LegalTextVersion)));
}

/// Candidates load by id and by contact key; updates are optimistic; a contact key belongs to
/// one candidate.
pub async fn candidates_load_by_id_and_contact_with_optimistic_versions(h: &dyn Harness) {
    let s = h.store();
    let (w, c) = seeded_with_candidate(h).await;
    let loaded = s.candidate(w.tenant_id(), c.id).await.unwrap().unwrap();
    assert_eq!(loaded, c);
    let key = ContactKey::Phone(PhoneNumber::parse(NUMBER).unwrap());
    assert_eq!(s.candidate_by_contact(w.tenant_id(), &key).await.unwrap().unwrap().id, c.id);
    let other = ContactKey::Phone(PhoneNumber::parse("+49 170 1111111").unwrap());
    assert!(s.candidate_by_contact(w.tenant_id(), &other).await.unwrap().is_none());
    // several at once: the tenant's own, unknown ids and other tenants' left out
    let missing = CandidateId::from_uuid(Uuid::from_u128(0xDEAD_BEEF));
    let many = s.candidates(w.tenant_id(), &[missing, c.id, c.id]).await.unwrap();
    assert!(!many.is_empty() && many.iter().all(|m| *m == c), "{many:?}");
    let stranger = other_tenant(s.as_ref()).await;
    assert!(s.candidates(stranger.tenant_id(), &[c.id]).await.unwrap().is_empty(), "another tenant's id");
    assert!(s.candidates(w.tenant_id(), &[]).await.unwrap().is_empty());

    let mut changed = loaded.clone();
    changed.conversation.record_inbound(w.now);
    let update = |c: &Candidate, v: u64| ChangeSet {
        candidates: vec![CandidateChange::Update {
            candidate: Box::new(c.clone()),
            expected_version: v,
            retention_due: None,
        }],
        ..ChangeSet::default()
    };
    s.commit(w.tenant_id(), update(&changed, 0)).await.unwrap();
    let v1 = s.candidate(w.tenant_id(), c.id).await.unwrap().unwrap();
    assert_eq!(v1.version, 1);
    assert_eq!(v1.conversation.last_inbound_at(), Some(w.now));
    // a stale writer loses
    assert_eq!(s.commit(w.tenant_id(), update(&changed, 0)).await, Err(StoreError::Conflict));
    // the same number cannot belong to two candidates
    let twin = new_candidate(&w, 2, NUMBER);
    let twin_changes = ChangeSet {
        candidates: vec![CandidateChange::Insert { candidate: Box::new(twin), retention_due: None }],
        ..ChangeSet::default()
    };
    assert_eq!(s.commit(w.tenant_id(), twin_changes).await, Err(StoreError::Duplicate(DuplicateKey::Contact)));
    // and the same id cannot be inserted twice
    let mut again = new_candidate(&w, 1, "+49 170 4444444");
    again.contact.name = None;
    let again = ChangeSet {
        candidates: vec![CandidateChange::Insert { candidate: Box::new(again), retention_due: None }],
        ..ChangeSet::default()
    };
    assert_eq!(s.commit(w.tenant_id(), again).await, Err(StoreError::Duplicate(DuplicateKey::Id)));
}

/// A failing commit leaves nothing behind: no state, no message, no outbox entry, no audit entry.
pub async fn a_commit_is_all_or_nothing(h: &dyn Harness) {
    let s = h.store();
    let (w, c) = seeded_with_candidate(h).await;
    let first = messages(vec![MessageChange::Insert(Box::new(inbound_message(&w, c.id, 10, "wamid.A", "Hallo")))]);
    s.commit(w.tenant_id(), first).await.unwrap();
    let trail_before = h.audit_trail(w.tenant_id(), None).await.unwrap();
    // candidate update + audited event + outbox + a duplicate inbound message: all rejected
    let mut changed = c.clone();
    changed.conversation.record_inbound(w.now);
    let doomed = ChangeSet {
        candidates: vec![CandidateChange::Update {
            candidate: Box::new(changed),
            expected_version: 0,
            retention_due: None,
        }],
        messages: vec![
            MessageChange::Insert(Box::new(outbound_message(&w, c.id, 11, "x"))),
            MessageChange::Insert(Box::new(inbound_message(&w, c.id, 12, "wamid.A", "Hallo nochmal"))),
        ],
        outbox: vec![OutboxChange::Enqueue(outbox_entry(&w, c.id, 20, 11, "x"))],
        events: vec![event(&w, Some(c.id), DomainEvent::ProcessEnded { reason: ProcessEndReason::Hired })],
        ..ChangeSet::default()
    };
    assert_eq!(s.commit(w.tenant_id(), doomed).await, Err(StoreError::Duplicate(DuplicateKey::InboundMessage)));
    assert_eq!(s.candidate(w.tenant_id(), c.id).await.unwrap().unwrap().version, 0);
    assert_eq!(s.messages(w.tenant_id(), c.id).await.unwrap().len(), 1);
    assert!(s.pending_outbox(w.tenant_id(), c.id).await.unwrap().is_empty());
    assert_eq!(h.audit_trail(w.tenant_id(), None).await.unwrap(), trail_before);
    assert_eq!(h.audit_verified(w.tenant_id()).await.unwrap(), Some(0));
}

/// An inbound provider id is stored once per tenant; another tenant may see the same id.
pub async fn inbound_messages_are_stored_once_per_tenant(h: &dyn Harness) {
    let s = h.store();
    let (w, c) = seeded_with_candidate(h).await;
    let m = inbound_message(&w, c.id, 10, "wamid.dup", "Hallo");
    let changes = |m: &Message| messages(vec![MessageChange::Insert(Box::new(m.clone()))]);
    s.commit(w.tenant_id(), changes(&m)).await.unwrap();
    let mut again = m.clone();
    again.id = MessageId::from_uuid(Uuid::from_u128(11));
    assert_eq!(
        s.commit(w.tenant_id(), changes(&again)).await,
        Err(StoreError::Duplicate(DuplicateKey::InboundMessage))
    );
    let stored = s.message_by_provider_id(w.tenant_id(), &Wamid::parse("wamid.dup").unwrap()).await.unwrap().unwrap();
    assert_eq!(stored, m);
    assert_eq!(s.message(w.tenant_id(), m.id).await.unwrap(), Some(m));
    // another tenant may see the same provider id (different number, different channel)
    let other = other_tenant(s.as_ref()).await;
    let oc = Candidate { tenant: other.tenant_id(), channel: other.channel().id, ..new_candidate(&other, 2, NUMBER) };
    insert(s.as_ref(), &other, &oc).await;
    let mut om = inbound_message(&other, oc.id, 12, "wamid.dup", "Hallo");
    om.channel = other.channel().id;
    s.commit(other.tenant_id(), changes(&om)).await.unwrap();
}

/// Delivery statuses merge commutatively: any order converges, the earliest time is kept.
pub async fn statuses_converge_in_any_order(h: &dyn Harness) {
    let s = h.store();
    let (w, c) = seeded_with_candidate(h).await;
    let m = outbound_message(&w, c.id, 10, "Einladung");
    s.commit(w.tenant_id(), messages(vec![MessageChange::Insert(Box::new(m.clone()))])).await.unwrap();
    let wamid = Wamid::parse("wamid.out1").unwrap();
    let accepted = MessageChange::Accepted { id: m.id, provider_id: wamid.clone(), at: w.now };
    s.commit(w.tenant_id(), messages(vec![accepted])).await.unwrap();
    for (status, secs) in [
        (DeliveryStatus::Read, 30),
        (DeliveryStatus::Sent, 10),
        (DeliveryStatus::Read, 40),
        (DeliveryStatus::Delivered, 20),
    ] {
        let observation = StatusObservation { status, at: w.now + Duration::seconds(secs), error_code: None };
        let change = MessageChange::StatusByProviderId { provider_id: wamid.clone(), observation };
        s.commit(w.tenant_id(), messages(vec![change])).await.unwrap();
    }
    let stored = s.message(w.tenant_id(), m.id).await.unwrap().unwrap();
    assert_eq!(stored.status.effective(), Some(DeliveryStatus::Read));
    assert_eq!(
        stored.status.get(DeliveryStatus::Read).unwrap().at,
        w.now + Duration::seconds(30),
        "earliest time kept"
    );
    assert_eq!(stored.provider_id, Some(wamid.clone()));
    assert_eq!(s.message_by_provider_id(w.tenant_id(), &wamid).await.unwrap().map(|m| m.id), Some(m.id));
    // a status by message id merges the same way
    let failed = StatusObservation {
        status: DeliveryStatus::Failed,
        at: w.now + Duration::seconds(50),
        error_code: Some(131_026),
    };
    let report =
        s.commit(w.tenant_id(), messages(vec![MessageChange::Status { id: m.id, observation: failed }])).await.unwrap();
    assert_eq!(report.statuses_unmatched, 0);
    let stored = s.message(w.tenant_id(), m.id).await.unwrap().unwrap();
    assert_eq!(stored.status.get(DeliveryStatus::Failed).map(|o| o.error_code), Some(Some(131_026)));
}

/// Statuses for messages the store does not know (sent by other systems, or erased) are
/// counted in the report; they do not fail the commit.
pub async fn unmatched_statuses_are_counted_not_refused(h: &dyn Harness) {
    let s = h.store();
    let (w, _) = seeded_with_candidate(h).await;
    let observation = StatusObservation { status: DeliveryStatus::Delivered, at: w.now, error_code: None };
    let unknown = MessageId::from_uuid(Uuid::from_u128(0xDEAD));
    let report = s
        .commit(
            w.tenant_id(),
            messages(vec![
                MessageChange::Status { id: unknown, observation },
                MessageChange::Accepted { id: unknown, provider_id: Wamid::parse("wamid.nobody").unwrap(), at: w.now },
            ]),
        )
        .await
        .unwrap();
    assert_eq!(report.statuses_unmatched, 2);
    assert!(s.message(w.tenant_id(), unknown).await.unwrap().is_none());
    let by_provider =
        MessageChange::StatusByProviderId { provider_id: Wamid::parse("wamid.elsewhere").unwrap(), observation };
    s.commit(w.tenant_id(), messages(vec![by_provider])).await.unwrap();
    assert!(
        s.message_by_provider_id(w.tenant_id(), &Wamid::parse("wamid.elsewhere").unwrap()).await.unwrap().is_none()
    );
}

/// A seeded tenant and candidate with two outbound messages queued: outbox entries 20 ("eins",
/// message 10) and 21 ("zwei", message 11).
async fn seeded_with_two_queued(h: &dyn Harness) -> (World, Candidate) {
    let (w, c) = seeded_with_candidate(h).await;
    let enqueue = ChangeSet {
        messages: vec![
            MessageChange::Insert(Box::new(outbound_message(&w, c.id, 10, "eins"))),
            MessageChange::Insert(Box::new(outbound_message(&w, c.id, 11, "zwei"))),
        ],
        outbox: vec![
            OutboxChange::Enqueue(outbox_entry(&w, c.id, 20, 10, "eins")),
            OutboxChange::Enqueue(outbox_entry(&w, c.id, 21, 11, "zwei")),
        ],
        ..ChangeSet::default()
    };
    h.store().commit(w.tenant_id(), enqueue).await.unwrap();
    (w, c)
}

/// Commits what an objection does to the outbox: every pending entry of the candidate cancelled.
async fn cancel_pending(s: &dyn Store, w: &World, candidate: CandidateId) -> CommitReport {
    let changes = ChangeSet {
        outbox: vec![OutboxChange::CancelPending { candidate }],
        events: vec![event(w, Some(candidate), DomainEvent::OutboxCancelled)],
        ..ChangeSet::default()
    };
    s.commit(w.tenant_id(), changes).await.unwrap()
}

/// Outbox leases exclude other claimers until they expire; retries wait; release frees at once;
/// an objection cancels everything pending and the messages say so.
pub async fn outbox_leases_retries_and_cancellation(h: &dyn Harness) {
    let s = h.store();
    let q = h.queue();
    let (w, c) = seeded_with_two_queued(h).await;
    assert_eq!(
        s.pending_outbox(w.tenant_id(), c.id).await.unwrap(),
        vec![outbox_entry(&w, c.id, 20, 10, "eins"), outbox_entry(&w, c.id, 21, 11, "zwei")]
    );
    let lease = Duration::seconds(30);
    let claimed = q.claim(w.now, lease, 1).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].content, OutboundContent::Text { body: Pii::new("eins".into()) });
    // a second claimer (another replica) gets the other one, never the leased one
    let (_, second) = h.replica().await;
    let other = second.claim(w.now, lease, 10).await.unwrap();
    assert_eq!(other.iter().map(|e| e.id).collect::<Vec<_>>(), vec![OutboxId::from_uuid(Uuid::from_u128(21))]);
    assert!(q.claim(w.now + Duration::seconds(5), lease, 10).await.unwrap().is_empty());
    // a crashed claimer's lease expires
    let again = q.claim(w.now + Duration::seconds(31), lease, 10).await.unwrap();
    assert_eq!(again.len(), 2);
    // retry: not before its time, then claimable
    let retry = OutboxChange::Retry { id: claimed[0].id, not_before: w.now + Duration::minutes(5), attempts: 1 };
    s.commit(w.tenant_id(), ChangeSet { outbox: vec![retry], ..ChangeSet::default() }).await.unwrap();
    assert!(q.claim(w.now + Duration::minutes(4), lease, 10).await.unwrap().iter().all(|e| e.id != claimed[0].id));
    let later = q.claim(w.now + Duration::minutes(6), lease, 10).await.unwrap();
    assert!(later.iter().any(|e| e.id == claimed[0].id && e.attempts == 1));
    // release on shutdown makes it claimable at once
    q.release(&[claimed[0].id]).await.unwrap();
    assert_eq!(q.claim(w.now + Duration::minutes(6), lease, 10).await.unwrap().len(), 1);
    // an objection cancels everything pending, and the messages say so
    let report = cancel_pending(s.as_ref(), &w, c.id).await;
    assert_eq!(report.outbox_cancelled, 2);
    assert!(q.claim(w.now + Duration::hours(1), lease, 10).await.unwrap().is_empty());
    assert!(s.pending_outbox(w.tenant_id(), c.id).await.unwrap().is_empty());
    let messages = s.messages(w.tenant_id(), c.id).await.unwrap();
    assert!(messages.iter().all(|m| m.status.effective() == Some(DeliveryStatus::Cancelled)));
    // a completed entry is gone
    let enqueue = ChangeSet {
        messages: vec![MessageChange::Insert(Box::new(outbound_message(&w, c.id, 12, "drei")))],
        outbox: vec![OutboxChange::Enqueue(outbox_entry(&w, c.id, 22, 12, "drei"))],
        ..ChangeSet::default()
    };
    s.commit(w.tenant_id(), enqueue).await.unwrap();
    let done = OutboxChange::Complete { id: OutboxId::from_uuid(Uuid::from_u128(22)) };
    s.commit(w.tenant_id(), ChangeSet { outbox: vec![done], ..ChangeSet::default() }).await.unwrap();
    assert!(s.pending_outbox(w.tenant_id(), c.id).await.unwrap().is_empty());
    assert!(q.claim(w.now + Duration::hours(1), lease, 10).await.unwrap().is_empty());
}

/// The attempt recorded before a send (issue 14 item 5): it survives a lost lease (a crash), it
/// is not claimable before its wait ends, a receipt from a status webhook is stored (sealed) and
/// makes it due at once, an objection leaves it (it may have gone out), a retry closes it, and an
/// attempt on a vanished entry fails without effect. Tenant-scoped throughout.
pub async fn send_attempts_survive_a_crash_and_take_their_receipt(h: &dyn Harness) {
    use crate::attempt::SendAttempt;
    let s = h.store();
    let q = h.queue();
    let (w, c) = seeded_with_two_queued(h).await;
    let (first, second) = (OutboxId::from_uuid(Uuid::from_u128(20)), OutboxId::from_uuid(Uuid::from_u128(21)));
    let lease = Duration::seconds(30);
    assert_eq!(q.claim(w.now, lease, 10).await.unwrap().len(), 2);
    let started = w.now + Duration::seconds(1);
    let wait = Duration::minutes(5);
    let attempt = |id| OutboxChange::Attempt { id, expected: None, at: started, not_before: started + wait };
    s.commit(w.tenant_id(), ChangeSet { outbox: vec![attempt(first), attempt(second)], ..ChangeSet::default() })
        .await
        .unwrap();
    // a second claimer that saw no attempt (its claim is stale) cannot record one now
    let stale = s.commit(w.tenant_id(), ChangeSet { outbox: vec![attempt(first)], ..ChangeSet::default() }).await;
    assert!(matches!(stale, Err(StoreError::Conflict)), "{stale:?}");
    let open = SendAttempt { started_at: started, receipt: None };
    let pending = s.pending_outbox(w.tenant_id(), c.id).await.unwrap();
    assert!(pending.iter().all(|e| e.attempt.as_ref() == Some(&open) && e.not_before == started + wait));
    // the claimer "crashed": its lease ran out, but the open attempts wait for their status
    assert!(q.claim(w.now + Duration::minutes(1), lease, 10).await.unwrap().is_empty());
    // another tenant's status cannot touch them
    let wamid = Wamid::parse("wamid.RECEIPT.20").unwrap();
    let at = w.now + Duration::minutes(2);
    let receipt = OutboxChange::Receipt { id: first, provider_id: wamid.clone(), at };
    let w2 = other_tenant(s.as_ref()).await;
    s.commit(w2.tenant_id(), ChangeSet { outbox: vec![receipt.clone()], ..ChangeSet::default() }).await.unwrap();
    assert!(q.claim(at, lease, 10).await.unwrap().is_empty());
    // the status webhook with the tag: the receipt is kept and the entry is due at once
    s.commit(w.tenant_id(), ChangeSet { outbox: vec![receipt], ..ChangeSet::default() }).await.unwrap();
    let claimed = q.claim(at, lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].id, first);
    assert_eq!(claimed[0].attempt, Some(SendAttempt { started_at: started, receipt: Some(wamid.clone()) }));
    // a second receipt (another status of the same message) keeps the first
    let later = OutboxChange::Receipt { id: first, provider_id: Wamid::parse("wamid.OTHER").unwrap(), at };
    s.commit(w.tenant_id(), ChangeSet { outbox: vec![later], ..ChangeSet::default() }).await.unwrap();
    let pending = s.pending_outbox(w.tenant_id(), c.id).await.unwrap();
    let kept = pending.iter().find(|e| e.id == first).and_then(|e| e.attempt.as_ref()).and_then(|a| a.receipt.clone());
    assert_eq!(kept, Some(wamid));
    // waiting for a status releases the lease and keeps the attempt
    let until = started + Duration::minutes(7);
    s.commit(
        w.tenant_id(),
        ChangeSet { outbox: vec![OutboxChange::AwaitStatus { id: second, until }], ..ChangeSet::default() },
    )
    .await
    .unwrap();
    assert!(q.claim(until - Duration::seconds(1), lease, 10).await.unwrap().iter().all(|e| e.id != second));
    // an objection cancels only what has not been attempted: both stay, with their attempts
    let report = cancel_pending(s.as_ref(), &w, c.id).await;
    assert_eq!(report.outbox_cancelled, 0);
    assert_eq!(s.pending_outbox(w.tenant_id(), c.id).await.unwrap().len(), 2);
    // the claimer after the wait, which saw that attempt, records the next one (a resend)
    let again = started + Duration::minutes(8);
    let resend = OutboxChange::Attempt { id: second, expected: Some(started), at: again, not_before: again + wait };
    s.commit(w.tenant_id(), ChangeSet { outbox: vec![resend], ..ChangeSet::default() }).await.unwrap();
    let pending = s.pending_outbox(w.tenant_id(), c.id).await.unwrap();
    let resent = pending.iter().find(|e| e.id == second).and_then(|e| e.attempt.clone());
    assert_eq!(resent, Some(SendAttempt { started_at: again, receipt: None }));
    // a transient failure closes the attempt
    let retry = OutboxChange::Retry { id: second, not_before: until, attempts: 1 };
    s.commit(w.tenant_id(), ChangeSet { outbox: vec![retry], ..ChangeSet::default() }).await.unwrap();
    let retried = q.claim(until, lease, 10).await.unwrap();
    assert!(retried.iter().any(|e| e.id == second && e.attempt.is_none() && e.attempts == 1));
    // an attempt on an entry that is gone fails and changes nothing
    s.commit(w.tenant_id(), ChangeSet { outbox: vec![OutboxChange::Complete { id: first }], ..ChangeSet::default() })
        .await
        .unwrap();
    let gone = s.commit(w.tenant_id(), ChangeSet { outbox: vec![attempt(first)], ..ChangeSet::default() }).await;
    assert!(matches!(gone, Err(StoreError::NotFound(_))), "{gone:?}");
    // nor can another tenant record an attempt on ours
    let foreign = s.commit(w2.tenant_id(), ChangeSet { outbox: vec![attempt(second)], ..ChangeSet::default() }).await;
    assert!(matches!(foreign, Err(StoreError::NotFound(_))), "{foreign:?}");
    let pending = s.pending_outbox(w.tenant_id(), c.id).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].attempt, None);
}

/// Erasure keeps a content-free tombstone, removes messages and the contact index, keeps the
/// suppression entry (R17) and the audit trail.
pub async fn erasure_removes_content_and_keeps_suppression_and_audit(h: &dyn Harness) {
    let s = h.store();
    let (w, c) = seeded_with_candidate(h).await;
    let key = ContactKey::Phone(PhoneNumber::parse(NUMBER).unwrap());
    s.commit(
        w.tenant_id(),
        ChangeSet {
            messages: vec![MessageChange::Insert(Box::new(inbound_message(&w, c.id, 10, "wamid.e1", CANARY)))],
            outbox: vec![OutboxChange::Enqueue(outbox_entry(&w, c.id, 20, 10, CANARY))],
            suppressions: vec![(key.clone(), Suppression { scope: ObjectionScope::AllWhatsApp, since: w.now })],
            events: vec![event(&w, Some(c.id), DomainEvent::SuppressionAdded { scope: ObjectionScope::AllWhatsApp })],
            ..ChangeSet::default()
        },
    )
    .await
    .unwrap();
    let tombstone = c.erased(w.now, ErasureReason::SubjectRequest);
    s.commit(
        w.tenant_id(),
        ChangeSet {
            candidates: vec![CandidateChange::Erase { tombstone: Box::new(tombstone.clone()), expected_version: 0 }],
            events: vec![event(&w, Some(c.id), DomainEvent::CandidateErased { reason: ErasureReason::SubjectRequest })],
            ..ChangeSet::default()
        },
    )
    .await
    .unwrap();
    let stored = s.candidate(w.tenant_id(), c.id).await.unwrap().unwrap();
    assert!(stored.is_erased());
    assert_eq!(stored.version, 1);
    assert!(stored.contact.phone.is_none());
    assert!(s.messages(w.tenant_id(), c.id).await.unwrap().is_empty());
    assert!(s.message(w.tenant_id(), MessageId::from_uuid(Uuid::from_u128(10))).await.unwrap().is_none());
    assert!(s.message_by_provider_id(w.tenant_id(), &Wamid::parse("wamid.e1").unwrap()).await.unwrap().is_none());
    assert!(s.pending_outbox(w.tenant_id(), c.id).await.unwrap().is_empty());
    assert!(s.candidate_by_contact(w.tenant_id(), &key).await.unwrap().is_none());
    assert_eq!(
        s.suppression(w.tenant_id(), &key).await.unwrap(),
        Some(Suppression { scope: ObjectionScope::AllWhatsApp, since: w.now }),
        "suppression outlives erasure"
    );
    // an erased candidate cannot be erased or updated again
    let again = ChangeSet {
        candidates: vec![CandidateChange::Erase { tombstone: Box::new(tombstone), expected_version: 1 }],
        ..ChangeSet::default()
    };
    assert!(s.commit(w.tenant_id(), again).await.is_err());
    // the audit chain still verifies after the erasure
    assert_eq!(
        h.audit_trail(w.tenant_id(), Some(c.id)).await.unwrap(),
        vec!["suppression.added".to_owned(), "candidate.erased".to_owned()]
    );
    assert_eq!(h.audit_verified(w.tenant_id()).await.unwrap(), Some(2), "audit chain after erasure");
    // the number can be used for a new candidate; the suppression still applies to it
    let fresh = new_candidate(&w, 2, NUMBER);
    insert(s.as_ref(), &w, &fresh).await;
    assert_eq!(s.candidate_by_contact(w.tenant_id(), &key).await.unwrap().map(|c| c.id), Some(fresh.id));
    assert!(s.suppression(w.tenant_id(), &key).await.unwrap().is_some());
    // lifting the suppression (a new opt-in) removes it
    s.commit(w.tenant_id(), ChangeSet { suppressions_lifted: vec![key.clone()], ..ChangeSet::default() })
        .await
        .unwrap();
    assert!(s.suppression(w.tenant_id(), &key).await.unwrap().is_none());
}

/// Nothing of one tenant is visible to, or changeable through, another.
pub async fn tenants_are_isolated(h: &dyn Harness) {
    let s = h.store();
    let (w, c) = seeded_with_candidate(h).await;
    let other = other_tenant(s.as_ref()).await;
    let key = ContactKey::Phone(PhoneNumber::parse(NUMBER).unwrap());
    let mut record = media_record(&w, c.id, 40, 10);
    record.status = MediaStatus::Stored;
    s.commit(
        w.tenant_id(),
        ChangeSet {
            messages: vec![MessageChange::Insert(Box::new(inbound_message(&w, c.id, 10, "wamid.i1", "Hallo")))],
            outbox: vec![OutboxChange::Enqueue(outbox_entry(&w, c.id, 20, 10, "x"))],
            suppressions: vec![(key.clone(), Suppression { scope: ObjectionScope::AllWhatsApp, since: w.now })],
            subject_requests: vec![SubjectRequest::open(
                SubjectRequestId::from_uuid(Uuid::from_u128(30)),
                w.tenant_id(),
                Some(c.id),
                SubjectRequestKind::Access,
                CaptureChannel::Email,
                w.now,
            )],
            media: vec![MediaChange::Insert { record: Box::new(record.clone()), content: Some(Pii::new(vec![1, 2])) }],
            ..ChangeSet::default()
        },
    )
    .await
    .unwrap();
    let t2 = other.tenant_id();
    assert!(s.candidate(t2, c.id).await.unwrap().is_none());
    assert!(s.candidate_by_contact(t2, &key).await.unwrap().is_none());
    assert!(s.suppression(t2, &key).await.unwrap().is_none());
    assert!(s.message(t2, MessageId::from_uuid(Uuid::from_u128(10))).await.unwrap().is_none());
    assert!(s.message_by_provider_id(t2, &Wamid::parse("wamid.i1").unwrap()).await.unwrap().is_none());
    assert!(s.messages(t2, c.id).await.unwrap().is_empty());
    assert!(s.pending_outbox(t2, c.id).await.unwrap().is_empty());
    assert!(s.subject_requests(t2, None).await.unwrap().is_empty());
    assert!(s.subject_request(t2, SubjectRequestId::from_uuid(Uuid::from_u128(30))).await.unwrap().is_none());
    assert!(s.media(t2, record.id).await.unwrap().is_none());
    assert!(s.media_content(t2, record.id).await.unwrap().is_none());
    assert!(s.candidate_media(t2, c.id).await.unwrap().is_empty());
    // writing another tenant's candidate through this tenant's commit fails and changes nothing
    let mut hijack = c.clone();
    hijack.contact.name = None;
    let result = s
        .commit(
            t2,
            ChangeSet {
                candidates: vec![CandidateChange::Update {
                    candidate: Box::new(hijack),
                    expected_version: 0,
                    retention_due: None,
                }],
                ..ChangeSet::default()
            },
        )
        .await;
    assert!(result.is_err());
    assert_eq!(s.candidate(w.tenant_id(), c.id).await.unwrap().unwrap(), c);
    let cancel = s
        .commit(t2, ChangeSet { outbox: vec![OutboxChange::CancelPending { candidate: c.id }], ..ChangeSet::default() })
        .await
        .unwrap();
    assert_eq!(cancel.outbox_cancelled, 0);
    assert_eq!(s.pending_outbox(w.tenant_id(), c.id).await.unwrap().len(), 1);
    // a status through the other tenant does not reach the message
    let observation = StatusObservation { status: DeliveryStatus::Read, at: w.now, error_code: None };
    let report = s
        .commit(
            t2,
            messages(vec![MessageChange::Status { id: MessageId::from_uuid(Uuid::from_u128(10)), observation }]),
        )
        .await
        .unwrap();
    assert_eq!(report.statuses_unmatched, 1);
    let stored = s.message(w.tenant_id(), MessageId::from_uuid(Uuid::from_u128(10))).await.unwrap().unwrap();
    assert!(stored.status.get(DeliveryStatus::Read).is_none());
    // records that name another tenant are refused
    let foreign = ChangeSet {
        messages: vec![MessageChange::Insert(Box::new(inbound_message(&w, c.id, 11, "wamid.i2", "x")))],
        ..ChangeSet::default()
    };
    assert!(s.commit(t2, foreign).await.is_err());
    let foreign =
        ChangeSet { subject_requests: s.subject_requests(w.tenant_id(), None).await.unwrap(), ..ChangeSet::default() };
    assert!(s.commit(t2, foreign).await.is_err());
    let foreign = ChangeSet { events: vec![event(&w, None, DomainEvent::SettingsChanged)], ..ChangeSet::default() };
    assert!(s.commit(t2, foreign).await.is_err());
    assert_eq!(h.audit_trail(t2, None).await.unwrap(), Vec::<String>::new());
}

/// A commit that writes for a tenant or candidate that does not exist fails.
pub async fn writes_need_their_tenant_and_candidate(h: &dyn Harness) {
    let s = h.store();
    let w = World::new();
    // no tenant yet
    let c = new_candidate(&w, 1, NUMBER);
    let changes = ChangeSet {
        candidates: vec![CandidateChange::Insert { candidate: Box::new(c.clone()), retention_due: None }],
        ..ChangeSet::default()
    };
    assert_eq!(s.commit(w.tenant_id(), changes.clone()).await, Err(StoreError::NotFound("tenant")));
    seed(s.as_ref(), &w).await;
    // no candidate yet
    let ghost = CandidateId::from_uuid(Uuid::from_u128(99));
    let message = messages(vec![MessageChange::Insert(Box::new(inbound_message(&w, ghost, 10, "wamid.g", "x")))]);
    assert_eq!(s.commit(w.tenant_id(), message).await, Err(StoreError::NotFound("candidate")));
    let entry =
        ChangeSet { outbox: vec![OutboxChange::Enqueue(outbox_entry(&w, ghost, 20, 10, "x"))], ..ChangeSet::default() };
    assert_eq!(s.commit(w.tenant_id(), entry).await, Err(StoreError::NotFound("candidate")));
    let update = ChangeSet {
        candidates: vec![CandidateChange::Update {
            candidate: Box::new(c.clone()),
            expected_version: 0,
            retention_due: None,
        }],
        ..ChangeSet::default()
    };
    assert!(s.commit(w.tenant_id(), update).await.is_err());
    assert!(s.candidate(w.tenant_id(), c.id).await.unwrap().is_none());
    s.commit(w.tenant_id(), changes).await.unwrap();
}

/// Subject requests are inserted and replaced by id; retention due times are indexed and
/// rescheduled by a settings change.
pub async fn subject_requests_and_retention_due(h: &dyn Harness) {
    let s = h.store();
    let w = World::new();
    seed(s.as_ref(), &w).await;
    let mut request = SubjectRequest::open(
        SubjectRequestId::from_uuid(Uuid::from_u128(30)),
        w.tenant_id(),
        None,
        SubjectRequestKind::Erasure,
        CaptureChannel::Phone,
        w.now,
    );
    let save = |r: &SubjectRequest| ChangeSet { subject_requests: vec![r.clone()], ..ChangeSet::default() };
    s.commit(w.tenant_id(), save(&request)).await.unwrap();
    request.fulfil(w.now + Duration::days(3), "erasure").unwrap();
    s.commit(w.tenant_id(), save(&request)).await.unwrap();
    let stored = s.subject_request(w.tenant_id(), request.id).await.unwrap().unwrap();
    assert_eq!(stored, request);
    assert_eq!(s.subject_requests(w.tenant_id(), None).await.unwrap(), vec![request.clone()]);

    let (a, b, c) = (
        new_candidate(&w, 1, NUMBER),
        new_candidate(&w, 2, "+49 170 2222222"),
        new_candidate(&w, 3, "+49 170 3333333"),
    );
    for (candidate, due) in [(&a, Some(w.now + Duration::days(10))), (&b, Some(w.now + Duration::days(2))), (&c, None)]
    {
        let insert = CandidateChange::Insert { candidate: Box::new(candidate.clone()), retention_due: due };
        s.commit(w.tenant_id(), ChangeSet { candidates: vec![insert], ..ChangeSet::default() }).await.unwrap();
    }
    // of one candidate: filtered, oldest first
    let of_b = SubjectRequest::open(
        SubjectRequestId::from_uuid(Uuid::from_u128(31)),
        w.tenant_id(),
        Some(b.id),
        SubjectRequestKind::Access,
        CaptureChannel::Email,
        w.now + Duration::days(1),
    );
    s.commit(w.tenant_id(), save(&of_b)).await.unwrap();
    assert_eq!(s.subject_requests(w.tenant_id(), Some(b.id)).await.unwrap(), vec![of_b.clone()]);
    assert!(s.subject_requests(w.tenant_id(), Some(a.id)).await.unwrap().is_empty());
    assert_eq!(s.subject_requests(w.tenant_id(), None).await.unwrap(), vec![request, of_b]);

    assert_eq!(s.retention_due(w.tenant_id(), w.now + Duration::days(1), 10).await.unwrap(), vec![]);
    assert_eq!(s.retention_due(w.tenant_id(), w.now + Duration::days(11), 10).await.unwrap(), vec![b.id, a.id]);
    assert_eq!(s.retention_due(w.tenant_id(), w.now + Duration::days(11), 1).await.unwrap(), vec![b.id]);
    // new settings: everyone (not erased) is due for a fresh look at the change's time
    let later = EventEnvelope { at: w.now + Duration::hours(1), ..event(&w, None, DomainEvent::SettingsChanged) };
    s.commit(
        w.tenant_id(),
        ChangeSet {
            config: vec![ConfigChange::RescheduleRetention],
            events: vec![event(&w, None, DomainEvent::SettingsChanged), later],
            ..ChangeSet::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(s.retention_due(w.tenant_id(), w.now, 10).await.unwrap().len(), 0);
    assert_eq!(s.retention_due(w.tenant_id(), w.now + Duration::hours(1), 10).await.unwrap().len(), 3);
}

/// A candidate's messages and media come oldest first (by creation time, then id), whatever
/// order they were written in.
pub async fn messages_and_media_are_listed_oldest_first(h: &dyn Harness) {
    let s = h.store();
    let (w, c) = seeded_with_candidate(h).await;
    let at = |m: Message, minutes: i64| Message { created_at: w.now + Duration::minutes(minutes), ..m };
    let late = at(inbound_message(&w, c.id, 10, "wamid.late", "spät"), 20);
    let early = at(outbound_message(&w, c.id, 11, "früh"), 5);
    let middle = at(inbound_message(&w, c.id, 12, "wamid.mid", "mitte"), 10);
    for m in [&late, &early, &middle] {
        s.commit(w.tenant_id(), messages(vec![MessageChange::Insert(Box::new(m.clone()))])).await.unwrap();
    }
    let ids: Vec<_> = s.messages(w.tenant_id(), c.id).await.unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![early.id, middle.id, late.id]);
    let file = |id: u128, minutes: i64| MediaRecord {
        created_at: w.now + Duration::minutes(minutes),
        ..media_record(&w, c.id, id, 10)
    };
    let (second, first) = (file(41, 9), file(40, 3));
    for record in [&second, &first] {
        let insert = MediaChange::Insert { record: Box::new(record.clone()), content: None };
        s.commit(w.tenant_id(), ChangeSet { media: vec![insert], ..ChangeSet::default() }).await.unwrap();
    }
    assert_eq!(s.candidate_media(w.tenant_id(), c.id).await.unwrap(), vec![first, second]);
}

/// Media files: filed pending, updated with their content, listed, isolated, and erased with
/// the candidate; nothing new can be filed for an erased candidate.
pub async fn media_is_stored_listed_and_erased_with_the_candidate(h: &dyn Harness) {
    let s = h.store();
    let (w, c) = seeded_with_candidate(h).await;
    let t = w.tenant_id();
    let mut record = media_record(&w, c.id, 0x3D1A, 10);
    s.commit(
        t,
        ChangeSet {
            messages: vec![MessageChange::Insert(Box::new(inbound_message(&w, c.id, 10, "wamid.m1", "(PDF)")))],
            media: vec![MediaChange::Insert { record: Box::new(record.clone()), content: None }],
            ..ChangeSet::default()
        },
    )
    .await
    .unwrap();
    // pending: no content yet
    assert_eq!(s.media(t, record.id).await.unwrap(), Some(record.clone()));
    assert_eq!(s.media_content(t, record.id).await.unwrap(), None);
    // the same id twice is a duplicate
    let twice = MediaChange::Insert { record: Box::new(record.clone()), content: None };
    assert_eq!(
        s.commit(t, ChangeSet { media: vec![twice], ..ChangeSet::default() }).await,
        Err(StoreError::Duplicate(DuplicateKey::Id))
    );
    // stored: the bytes come back through the store
    let bytes = format!("%PDF-1.7 {CANARY}").into_bytes();
    record.status = MediaStatus::Stored;
    record.size = Some(u64::try_from(bytes.len()).unwrap());
    record.next_attempt_at = None;
    record.settled_at = Some(w.now);
    let update = MediaChange::Update { record: Box::new(record.clone()), content: Some(Pii::new(bytes.clone())) };
    s.commit(t, ChangeSet { media: vec![update], ..ChangeSet::default() }).await.unwrap();
    assert_eq!(s.media_content(t, record.id).await.unwrap().map(Pii::into_inner), Some(bytes.clone()));
    assert_eq!(s.candidate_media(t, c.id).await.unwrap(), vec![record.clone()]);
    // an update without content keeps the stored bytes
    record.attempts = 1;
    let update = MediaChange::Update { record: Box::new(record.clone()), content: None };
    s.commit(t, ChangeSet { media: vec![update], ..ChangeSet::default() }).await.unwrap();
    assert_eq!(s.media(t, record.id).await.unwrap(), Some(record.clone()));
    assert_eq!(s.media_content(t, record.id).await.unwrap().map(Pii::into_inner), Some(bytes));
    // another tenant sees nothing
    let other = other_tenant(s.as_ref()).await;
    assert_eq!(s.media(other.tenant_id(), record.id).await.unwrap(), None);
    assert_eq!(s.media_content(other.tenant_id(), record.id).await.unwrap(), None);
    // an update for an unknown file fails alone
    let mut ghost = media_record(&w, c.id, 0x3D1B, 10);
    ghost.status = MediaStatus::Rejected;
    let e = s.commit(t, media_changes(vec![MediaChange::Update { record: Box::new(ghost), content: None }])).await;
    assert_eq!(e, Err(StoreError::NotFound("media")));
    // erasure deletes the file with the candidate
    let tombstone = c.erased(w.now, ErasureReason::SubjectRequest);
    s.commit(
        t,
        ChangeSet {
            candidates: vec![CandidateChange::Erase { tombstone: Box::new(tombstone), expected_version: 0 }],
            ..ChangeSet::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(s.media(t, record.id).await.unwrap(), None);
    assert_eq!(s.media_content(t, record.id).await.unwrap(), None);
    assert!(s.candidate_media(t, c.id).await.unwrap().is_empty());
    // and nothing new can be filed for the erased candidate
    let late = media_record(&w, c.id, 0x3D1C, 10);
    let e = s.commit(t, media_changes(vec![MediaChange::Insert { record: Box::new(late), content: None }])).await;
    assert!(matches!(e, Err(StoreError::NotFound(_) | StoreError::Corrupt(_))), "{e:?}");
}

/// Many concurrent commits, through two handles (replicas), all land and leave one linear audit
/// chain.
pub async fn concurrent_commits_keep_one_linear_audit_chain(h: &dyn Harness) {
    let (w, c) = seeded_with_candidate(h).await;
    let (replica, _) = h.replica().await;
    let stores = [h.store(), replica];
    let commits = (0..120u128).map(|i| {
        let store = stores[usize::try_from(i % 2).unwrap()].clone();
        let changes = audited_inbound(&w, c.id, 1000 + i, &format!("wamid.cc{i}"), "Hallo");
        let tenant = w.tenant_id();
        async move { store.commit(tenant, changes).await }
    });
    for result in join_all(commits.collect()).await {
        result.unwrap();
    }
    assert_eq!(h.store().messages(w.tenant_id(), c.id).await.unwrap().len(), 120);
    assert_eq!(h.audit_trail(w.tenant_id(), Some(c.id)).await.unwrap().len(), 120);
    assert_eq!(h.audit_verified(w.tenant_id()).await.unwrap(), Some(120));
}

/// In a burst of concurrent commits, the ones that fail (webhook redeliveries) fail alone and
/// leave no audit entry.
pub async fn a_failing_change_set_does_not_fail_the_others_in_its_batch(h: &dyn Harness) {
    let (w, c) = seeded_with_candidate(h).await;
    let s = h.store();
    let taken = messages(vec![MessageChange::Insert(Box::new(inbound_message(&w, c.id, 10, "wamid.taken", "x")))]);
    s.commit(w.tenant_id(), taken).await.unwrap();
    // many concurrent commits (they share group commits); every fifth is a webhook redelivery
    let commits = (0..60u128).map(|i| {
        let store = s.clone();
        let provider = if i % 5 == 0 { "wamid.taken".to_owned() } else { format!("wamid.fresh{i}") };
        let changes = audited_inbound(&w, c.id, 100 + i, &provider, "y");
        let tenant = w.tenant_id();
        async move { (i, store.commit(tenant, changes).await) }
    });
    for (i, result) in join_all(commits.collect()).await {
        if i % 5 == 0 {
            assert_eq!(result, Err(StoreError::Duplicate(DuplicateKey::InboundMessage)), "{i}");
        } else {
            assert!(result.is_ok(), "{i}: {result:?}");
        }
    }
    assert_eq!(s.messages(w.tenant_id(), c.id).await.unwrap().len(), 1 + 48);
    assert_eq!(h.audit_trail(w.tenant_id(), None).await.unwrap().len(), 48, "the failed ones left no audit entry");
    assert_eq!(h.audit_verified(w.tenant_id()).await.unwrap(), Some(48));
}

/// Statuses (each several times, with different times), inbound messages and audited events,
/// all at once, converge.
pub async fn concurrent_statuses_and_messages_share_batches_and_converge(h: &dyn Harness) {
    let (w, c) = seeded_with_candidate(h).await;
    let s = h.store();
    let m = outbound_message(&w, c.id, 10, "Einladung");
    let wamid = Wamid::parse("wamid.batch-out").unwrap();
    s.commit(w.tenant_id(), messages(vec![MessageChange::Insert(Box::new(m.clone()))])).await.unwrap();
    let accepted = MessageChange::Accepted { id: m.id, provider_id: wamid.clone(), at: w.now };
    s.commit(w.tenant_id(), messages(vec![accepted])).await.unwrap();
    let commits = (0..90u128).map(|i| {
        let store = s.clone();
        let changes = if i % 3 == 0 {
            let status = [DeliveryStatus::Sent, DeliveryStatus::Delivered, DeliveryStatus::Read][(i / 3 % 3) as usize];
            let secs = 100 + i64::try_from(i).unwrap();
            let observation = StatusObservation { status, at: w.now + Duration::seconds(secs), error_code: None };
            messages(vec![MessageChange::StatusByProviderId { provider_id: wamid.clone(), observation }])
        } else {
            audited_inbound(&w, c.id, 2000 + i, &format!("wamid.mix{i}"), "Hallo")
        };
        let tenant = w.tenant_id();
        async move { store.commit(tenant, changes).await }
    });
    for result in join_all(commits.collect()).await {
        result.unwrap();
    }
    assert_eq!(s.messages(w.tenant_id(), c.id).await.unwrap().len(), 1 + 60);
    assert_eq!(h.audit_trail(w.tenant_id(), None).await.unwrap().len(), 60);
    let stored = s.message(w.tenant_id(), m.id).await.unwrap().unwrap();
    assert_eq!(stored.status.effective(), Some(DeliveryStatus::Read));
    // the earliest of the ten observations of each status is kept: sent at i = 0, read at i = 6
    assert_eq!(stored.status.get(DeliveryStatus::Sent).unwrap().at, w.now + Duration::seconds(100));
    assert_eq!(stored.status.get(DeliveryStatus::Read).unwrap().at, w.now + Duration::seconds(106));
    assert_eq!(h.audit_verified(w.tenant_id()).await.unwrap(), Some(60));
}

/// The use cases run end to end on the store: consent by button, duplicate webhook, objection
/// cancelling the waiting message, retention erasing after the process ended.
pub async fn the_domain_journey_runs_on_the_store(h: &dyn Harness) {
    let w = World::new();
    let store = h.store();
    let queue = h.queue();
    seed(store.as_ref(), &w).await;
    let clock = Arc::new(FixedClock::new(w.now));
    let gateway = Arc::new(FakeGateway::default());
    let app = Hoheit::new(store.clone(), gateway.clone(), clock.clone(), Arc::new(SequentialIds::new(9)));
    let recruiter = staff(Role::Recruiter);
    let c = app
        .create_candidate(
            w.tenant_id(),
            recruiter,
            NewCandidate {
                phone: PhoneNumber::parse(NUMBER).unwrap(),
                name: Some("Erika".into()),
                channel: w.channel().id,
                language: None,
            },
        )
        .await
        .unwrap();
    app.request_consent(w.tenant_id(), recruiter, c.id).await.unwrap();
    let dispatch = |now: OffsetDateTime| {
        let queue = queue.clone();
        let app = app.clone();
        async move {
            let mut outcomes = Vec::new();
            for entry in queue.claim(now, Duration::minutes(1), 10).await.unwrap() {
                outcomes.push(app.dispatch(&entry).await.unwrap());
            }
            outcomes
        }
    };
    assert_eq!(dispatch(w.now).await, vec![DispatchOutcome::Sent]);
    let OutboundContent::Template { button_payloads, .. } = gateway.sent()[0].content.clone() else { panic!() };
    let inbound = |id: &str, content: InboundContent| InboundMessage {
        provider_id: Wamid::parse(id).unwrap(),
        from: ContactRef { wa_id: Some(WaId::parse("491709876543").unwrap()), user_id: None, profile_name: None },
        timestamp: w.now,
        content,
        context: None,
    };
    let tap = inbound(
        "wamid.tap",
        InboundContent::Button { payload: Some(button_payloads[0].clone()), text: "Zustimmen".into() },
    );
    assert!(matches!(
        app.receive_inbound(w.tenant_id(), w.channel().id, &tap).await.unwrap(),
        InboundOutcome::Stored { .. }
    ));
    assert_eq!(app.receive_inbound(w.tenant_id(), w.channel().id, &tap).await.unwrap(), InboundOutcome::Duplicate);
    let state = store.candidate(w.tenant_id(), c.id).await.unwrap().unwrap();
    assert!(state.consents.state(Purpose::WhatsAppChannel, w.now, 12).is_granted());
    app.send_message(w.tenant_id(), recruiter, c.id, MessageRequest::Text(CANARY.into())).await.unwrap();
    let stop = inbound("wamid.stop", InboundContent::Text { body: "STOPP".into() });
    app.receive_inbound(w.tenant_id(), w.channel().id, &stop).await.unwrap();
    // the waiting message was cancelled; only the confirmation goes out
    let sent_before = gateway.sent().len();
    assert_eq!(dispatch(w.now).await, vec![DispatchOutcome::Sent]);
    assert_eq!(gateway.sent().len(), sent_before + 1);
    assert!(
        !gateway
            .sent()
            .iter()
            .any(|s| matches!(&s.content, OutboundContent::Text { body } if body.expose().contains(CANARY)))
    );
    // retention erases six months after the process ended
    app.end_process(w.tenant_id(), recruiter, c.id, ProcessEndReason::Rejected, None).await.unwrap();
    clock.advance(Duration::days(200));
    let counts = app.run_retention(w.tenant_id(), Actor::System, false).await.unwrap();
    assert_eq!(counts.erased, 1);
    assert!(store.candidate(w.tenant_id(), c.id).await.unwrap().unwrap().is_erased());
    assert!(h.audit_verified(w.tenant_id()).await.unwrap().is_some());
    let actions = h.audit_trail(w.tenant_id(), Some(c.id)).await.unwrap();
    for expected in
        ["consent.requested", "consent.granted", "objection.recorded", "outbox.cancelled", "candidate.erased"]
    {
        assert!(actions.iter().any(|a| a == expected), "{expected} missing in {actions:?}");
    }
}

/// Replays (issue 14): a webhook of an erased candidate redelivered after the erasure is a
/// duplicate and creates nothing (no candidate, no message, no audit entry), because the store
/// keeps the erased messages' provider ids (as keyed hashes in the adapters); an event older
/// than the replay window is acknowledged and not stored.
pub async fn replays_after_erasure_and_stale_events_create_nothing(h: &dyn Harness) {
    let w = World::new();
    let store = h.store();
    seed(store.as_ref(), &w).await;
    let clock = Arc::new(FixedClock::new(w.now));
    let app =
        Hoheit::new(store.clone(), Arc::new(FakeGateway::default()), clock.clone(), Arc::new(SequentialIds::new(5)));
    let digits = "491709876543";
    let key = ContactKey::Phone(PhoneNumber::parse(NUMBER).unwrap());
    let inbound = |id: Wamid, at: OffsetDateTime| InboundMessage {
        provider_id: id,
        from: ContactRef { wa_id: Some(WaId::parse(digits).unwrap()), user_id: None, profile_name: None },
        timestamp: at,
        content: InboundContent::Text { body: "Hallo, ist die Stelle noch frei?".into() },
        context: None,
    };
    let first = inbound(realistic_wamid(digits, 1), w.now);
    // the fixture is what WhatsApp sends: the number can be read out of the id
    assert!(first.provider_id.as_str().starts_with("wamid.HBgMNDkxNzA5ODc2NTQz"), "{}", first.provider_id.as_str());
    assert_eq!(base64(b"491"), "NDkx");
    assert_eq!(base64(b"49"), "NDk=");
    assert!(first.provider_id.as_str().contains(&base64_forms(digits)[0]));
    assert!(matches!(
        app.receive_inbound(w.tenant_id(), w.channel().id, &first).await.unwrap(),
        InboundOutcome::Stored { .. }
    ));
    let c = store.candidate_by_contact(w.tenant_id(), &key).await.unwrap().unwrap();
    assert_eq!(app.request_erasure(w.tenant_id(), staff(Role::Dpo), c.id).await.unwrap(), ErasureOutcome::Erased);
    let trail = h.audit_trail(w.tenant_id(), None).await.unwrap();
    // a day later 360Dialog redelivers the pre-erasure webhook
    clock.advance(Duration::days(1));
    assert_eq!(app.receive_inbound(w.tenant_id(), w.channel().id, &first).await.unwrap(), InboundOutcome::Duplicate);
    assert!(store.candidate_by_contact(w.tenant_id(), &key).await.unwrap().is_none(), "no candidate comes back");
    assert_eq!(h.audit_trail(w.tenant_id(), None).await.unwrap(), trail, "no audit entry");
    // an event older than the window: acknowledged, not stored, for a new sender too
    let old = inbound(realistic_wamid(digits, 2), w.now - Duration::days(8));
    assert_eq!(app.receive_inbound(w.tenant_id(), w.channel().id, &old).await.unwrap(), InboundOutcome::Stale);
    assert!(store.candidate_by_contact(w.tenant_id(), &key).await.unwrap().is_none());
    assert_eq!(h.audit_trail(w.tenant_id(), None).await.unwrap(), trail);
    // the window is configurable; inside it a new message of the same number is a new candidate
    let narrow =
        Hoheit::new(store.clone(), Arc::new(FakeGateway::default()), clock.clone(), Arc::new(SequentialIds::new(6)))
            .with_replay_window(Duration::hours(1));
    let recent = inbound(realistic_wamid(digits, 3), w.now + Duration::hours(23));
    assert!(narrow.is_replay(w.now));
    assert!(!narrow.is_replay(recent.timestamp));
    assert!(matches!(
        narrow.receive_inbound(w.tenant_id(), w.channel().id, &recent).await.unwrap(),
        InboundOutcome::Stored { .. }
    ));
    let fresh = store.candidate_by_contact(w.tenant_id(), &key).await.unwrap().unwrap();
    assert_ne!(fresh.id, c.id);
    assert_eq!(store.messages(w.tenant_id(), fresh.id).await.unwrap().len(), 1);
}

/// [`ActivityPage::only`]: a page narrowed to objected candidates, to those with a review
/// pending or to those whose process ended lists exactly them ([`ActivityFilter::matches`]),
/// in the same order and with the same paging as the whole list.
pub async fn activity_pages_narrow_to_clear_states(h: &dyn Harness) {
    use crate::objection::{Objection, ObjectionSource, PendingReview};
    use crate::ports::ActivityFilter;
    let (store, queries) = (h.store(), h.queries());
    let w = World::new();
    seed(store.as_ref(), &w).await;
    let (tenant, hour) = (w.tenant_id(), Duration::hours(1));
    let staff_member = crate::ids::StaffId::from_uuid(Uuid::from_u128(0x5AFF));
    let mut candidates = Vec::new();
    for id in 1..=6u128 {
        let mut c = new_candidate(&w, id, &format!("+49 170 55510{id:02}"));
        c.conversation.record_inbound(w.now + hour * i32::try_from(id).unwrap());
        candidates.push(c);
    }
    let objection = Objection {
        at: w.now,
        source: ObjectionSource::Staff { staff: staff_member, channel: CaptureChannel::Email, note: None },
        scope: ObjectionScope::AllWhatsApp,
    };
    for i in [1, 4] {
        assert!(candidates[i].apply_objection(objection.clone()));
    }
    candidates[2].open_review(PendingReview {
        id: crate::ids::ReviewId::from_uuid(Uuid::from_u128(0xAE1)),
        message: MessageId::from_uuid(Uuid::from_u128(0xAE2)),
        matched: "nicht mehr".into(),
        opened_at: w.now,
        due_at: w.now + Duration::days(1),
        further: Vec::new(),
    });
    candidates[3].process = crate::candidate::Process::Ended { reason: ProcessEndReason::Rejected, at: w.now };
    for c in &candidates {
        insert(store.as_ref(), &w, c).await;
    }
    let id = |n: u128| CandidateId::from_uuid(Uuid::from_u128(n));
    let narrowed = |only, after, limit| ActivityPage { include_restricted: true, after, limit, only: Some(only) };
    let ids = |rows: &[crate::ports::CandidateSummary]| rows.iter().map(|r| r.id).collect::<Vec<_>>();
    for (only, expected) in [
        (ActivityFilter::Objected, vec![id(5), id(2)]),
        (ActivityFilter::ReviewPending, vec![id(3)]),
        (ActivityFilter::ProcessEnded, vec![id(4)]),
    ] {
        let rows = queries.candidate_activity_page(tenant, narrowed(only, None, 100)).await.unwrap();
        assert_eq!(ids(&rows), expected, "{only:?}, newest activity first");
        assert!(candidates.iter().filter(|c| expected.contains(&c.id)).all(|c| only.matches(c)));
        assert!(candidates.iter().filter(|c| !expected.contains(&c.id)).all(|c| !only.matches(c)));
    }
    let first = queries.candidate_activity_page(tenant, narrowed(ActivityFilter::Objected, None, 1)).await.unwrap();
    assert_eq!(ids(&first), [id(5)]);
    let after = Some(ActivityCursor::of(&first[0]));
    let rest = queries.candidate_activity_page(tenant, narrowed(ActivityFilter::Objected, after, 10)).await.unwrap();
    assert_eq!(ids(&rest), [id(2)], "paged like the whole list");
}

/// [`Queries::candidate_activity_page`]: newest activity first (the last message either way, or
/// the creation, to the microsecond), equal times by id descending; paging in any page size
/// lists every row once; restricted candidates only when asked (R25), erased ones never, another
/// tenant's never; a new message moves its candidate to the top.
pub async fn candidates_are_listed_newest_activity_first(h: &dyn Harness) {
    let (store, queries) = (h.store(), h.queries());
    let w = World::new();
    seed(store.as_ref(), &w).await;
    let other = other_tenant(store.as_ref()).await;
    let (tenant, hour) = (w.tenant_id(), Duration::hours(1));
    // (id, hours of the last inbound message after creation; none: never wrote)
    let plan: [(u128, Option<i32>); 7] =
        [(1, Some(1)), (2, Some(2)), (3, Some(2)), (4, Some(2)), (5, None), (6, Some(3)), (7, Some(4))];
    let mut candidates = Vec::new();
    for (id, hours) in plan {
        let mut c = new_candidate(&w, id, &format!("+49 170 55500{id:02}"));
        if let Some(hours) = hours {
            c.conversation.record_inbound(w.now + hour * hours);
        }
        candidates.push(c);
    }
    // a time below the microsecond is kept as the databases keep it: equal to the others at 2 h
    candidates[3].conversation.record_inbound(w.now + hour * 2 + Duration::nanoseconds(500));
    candidates[5].lifecycle = Lifecycle::Restricted { since: w.now, reason: RestrictionReason::SubjectRequest };
    for c in &candidates {
        insert(store.as_ref(), &w, c).await;
    }
    let tombstone = candidates[6].erased(w.now, ErasureReason::SubjectRequest);
    let erase = CandidateChange::Erase { tombstone: Box::new(tombstone), expected_version: 0 };
    store.commit(tenant, ChangeSet { candidates: vec![erase], ..ChangeSet::default() }).await.unwrap();
    let mut stranger = new_candidate(&other, 0x99, "+49 170 5550099");
    stranger.conversation.record_inbound(w.now + hour * 9);
    insert(store.as_ref(), &other, &stranger).await;

    let id = |n: u128| CandidateId::from_uuid(Uuid::from_u128(n));
    let page = |include_restricted, after, limit| ActivityPage { include_restricted, after, limit, only: None };
    let ids = |rows: &[crate::ports::CandidateSummary]| rows.iter().map(|r| r.id).collect::<Vec<_>>();
    let visible = queries.candidate_activity_page(tenant, page(false, None, 100)).await.unwrap();
    assert_eq!(ids(&visible), [4, 3, 2, 1, 5].map(id), "newest first, equal times by id descending");
    assert_eq!(visible[0].last_activity_at, w.now + hour * 2, "to the microsecond");
    assert_eq!(visible[4].last_activity_at, w.now, "no message: the creation");
    let all = queries.candidate_activity_page(tenant, page(true, None, 100)).await.unwrap();
    assert_eq!(ids(&all), [6, 4, 3, 2, 1, 5].map(id), "restricted only when asked (R25), erased never");
    assert_eq!(all[0].lifecycle, ListedLifecycle::Restricted);
    for limit in [1, 2, 4] {
        let (mut paged, mut after) = (Vec::new(), None);
        loop {
            let rows = queries.candidate_activity_page(tenant, page(true, after, limit)).await.unwrap();
            paged.extend(ids(&rows));
            match rows.last() {
                Some(last) if rows.len() == usize::try_from(limit).unwrap() => after = Some(ActivityCursor::of(last)),
                _ => break,
            }
        }
        assert_eq!(paged, ids(&all), "pages of {limit}: every row once, in order");
    }
    let in_the_tie = ActivityCursor { last_activity_at: w.now + hour * 2, id: id(3) };
    let rest = queries.candidate_activity_page(tenant, page(false, Some(in_the_tie), 100)).await.unwrap();
    assert_eq!(ids(&rest), [2, 1, 5].map(id), "continues inside equal times");
    let theirs = queries.candidate_activity_page(other.tenant_id(), page(true, None, 100)).await.unwrap();
    assert_eq!(ids(&theirs), [id(0x99)], "tenant isolation");

    // the oldest conversation gets a message: it moves to the top
    let mut wrote = candidates[0].clone();
    wrote.conversation.record_inbound(w.now + hour * 5);
    let update = CandidateChange::Update { candidate: Box::new(wrote), expected_version: 0, retention_due: None };
    store.commit(tenant, ChangeSet { candidates: vec![update], ..ChangeSet::default() }).await.unwrap();
    let moved = queries.candidate_activity_page(tenant, page(false, None, 2)).await.unwrap();
    assert_eq!(ids(&moved), [1, 4].map(id));
    assert_eq!(moved[0].last_activity_at, w.now + hour * 5);
    // the creation order of the other listing is unchanged
    let created = queries.candidate_page(tenant, CandidatePage { include_restricted: true, after: None, limit: 100 });
    assert_eq!(ids(&created.await.unwrap()), [1, 2, 3, 4, 5, 6].map(id));
}

/// [`Store::mark_read`] and [`Queries::conversation_summaries`]: each staff member's unread
/// count is the inbound messages stored after their own marker (none: all), the marker never
/// moves back; the last message is summarised without content (direction, kind, media kind,
/// intent, time, delivery status with the statuses merged in); one summary per listed candidate
/// of the tenant, in the order asked, none for another tenant's or an erased one, whose markers
/// go with the erasure.
pub async fn read_markers_count_unread_per_staff_member_and_summarise_the_last_message(h: &dyn Harness) {
    use crate::ids::StaffId;
    use crate::ports::LastMessage;
    let (store, queries) = (h.store(), h.queries());
    let (w, c) = seeded_with_candidate(h).await;
    let quiet = new_candidate(&w, 2, "+49 170 5550002");
    insert(store.as_ref(), &w, &quiet).await;
    let (tenant, minute) = (w.tenant_id(), Duration::minutes(1));
    let (anna, ben) = (StaffId::from_uuid(Uuid::from_u128(0xa)), StaffId::from_uuid(Uuid::from_u128(0xb)));
    let at = |m: i32| w.now + minute * m;
    let inbound_at = |id: u128, m: i32| Message {
        created_at: at(m),
        provider_at: Some(at(m)),
        ..inbound_message(&w, c.id, id, &format!("wamid.u{id}"), CANARY)
    };
    for (id, m) in [(10, 0), (11, 1)] {
        store.commit(tenant, messages(vec![MessageChange::Insert(Box::new(inbound_at(id, m)))])).await.unwrap();
    }
    let sent = Message { created_at: at(2), ..outbound_message(&w, c.id, 12, CANARY) };
    store.commit(tenant, messages(vec![MessageChange::Insert(Box::new(sent))])).await.unwrap();
    let summaries = |viewer, ids: Vec<CandidateId>| {
        let queries = queries.clone();
        async move { queries.conversation_summaries(tenant, viewer, &ids).await.unwrap() }
    };
    let unread = |rows: &[crate::ports::ConversationSummary]| rows.iter().map(|r| r.unread).collect::<Vec<_>>();

    let rows = summaries(anna, vec![c.id, quiet.id, c.id]).await;
    assert_eq!(rows.iter().map(|r| r.candidate).collect::<Vec<_>>(), [c.id, quiet.id], "order asked, once each");
    assert_eq!(unread(&rows), [2, 0], "no marker: every inbound message is unread");
    assert_eq!(
        rows[0].last,
        Some(LastMessage {
            direction: Direction::Outbound,
            kind: MessageKind::Text,
            media: None,
            intent: Some(Intent::Regular),
            at: at(2),
            status: Some(DeliveryStatus::Queued),
        })
    );
    assert_eq!(rows[1].last, None, "no message yet");

    // Anna opens the thread after the second message; Ben does not
    store.mark_read(tenant, anna, c.id, at(1)).await.unwrap();
    assert_eq!(unread(&summaries(anna, vec![c.id]).await), [0]);
    assert_eq!(unread(&summaries(ben, vec![c.id]).await), [2], "per staff member");
    store.mark_read(tenant, anna, c.id, at(0)).await.unwrap();
    assert_eq!(unread(&summaries(anna, vec![c.id]).await), [0], "a marker never moves back");

    // the outbound message is delivered, then the candidate writes again (a document)
    let delivered = StatusObservation { status: DeliveryStatus::Delivered, at: at(3), error_code: None };
    let status = MessageChange::Status { id: MessageId::from_uuid(Uuid::from_u128(12)), observation: delivered };
    store.commit(tenant, messages(vec![status])).await.unwrap();
    assert_eq!(summaries(anna, vec![c.id]).await[0].last.unwrap().status, Some(DeliveryStatus::Delivered));
    let document = Message { kind: MessageKind::Media, ..inbound_at(13, 4) };
    store.commit(tenant, messages(vec![MessageChange::Insert(Box::new(document))])).await.unwrap();
    store
        .commit(
            tenant,
            media_changes(vec![MediaChange::Insert {
                record: Box::new(media_record(&w, c.id, 30, 13)),
                content: None,
            }]),
        )
        .await
        .unwrap();
    let rows = summaries(anna, vec![c.id]).await;
    assert_eq!(unread(&rows), [1], "a new inbound message after the marker");
    assert_eq!(
        rows[0].last,
        Some(LastMessage {
            direction: Direction::Inbound,
            kind: MessageKind::Media,
            media: Some(MediaKind::Document),
            intent: None,
            at: at(4),
            status: None,
        })
    );
    assert_eq!(unread(&summaries(ben, vec![c.id]).await), [3]);
    store.mark_read(tenant, anna, c.id, at(5)).await.unwrap();
    assert_eq!(unread(&summaries(anna, vec![c.id]).await), [0]);

    // another tenant sees nothing of it and cannot mark it
    let other = other_tenant(store.as_ref()).await;
    assert!(queries.conversation_summaries(other.tenant_id(), anna, &[c.id]).await.unwrap().is_empty());
    store.mark_read(other.tenant_id(), ben, c.id, at(9)).await.unwrap();
    assert_eq!(unread(&summaries(ben, vec![c.id]).await), [3], "a marker in another tenant changes nothing");

    // erasure: no summary, and a marker after it is not recorded
    let tombstone = c.erased(w.now, ErasureReason::SubjectRequest);
    let erase = CandidateChange::Erase { tombstone: Box::new(tombstone), expected_version: 0 };
    store.commit(tenant, ChangeSet { candidates: vec![erase], ..ChangeSet::default() }).await.unwrap();
    store.mark_read(tenant, ben, c.id, at(9)).await.unwrap();
    assert_eq!(summaries(anna, vec![c.id, quiet.id]).await.iter().map(|r| r.candidate).collect::<Vec<_>>(), [quiet.id]);
}

/// [`Queries::candidates_by_name`]: every search token must be among the candidate's name
/// terms (tokens of name and profile name and their prefixes of three characters or more),
/// spelled either way ("Müller", "Mueller", "Muller"; "Straße", "Strasse"); newest activity
/// first, at most the limit; restricted only when asked (R25), erased and another tenant's
/// never; a changed name is found by the new name only, an update that keeps it still finds it.
pub async fn candidates_are_found_by_name_tokens_prefixes_and_spellings(h: &dyn Harness) {
    use crate::names::tokens;
    use crate::ports::NameSearch;
    let (store, queries) = (h.store(), h.queries());
    let w = World::new();
    seed(store.as_ref(), &w).await;
    let tenant = w.tenant_id();
    let named_in = |world: &World, id: u128, name: &str, profile: Option<&str>, hours: i64| {
        let mut c = new_candidate(world, id, &format!("+49 170 55500{id:02}"));
        c.contact.name = Some(Pii::new(name.to_owned()));
        c.contact.profile_name = profile.map(|p| Pii::new(p.to_owned()));
        c.conversation.record_inbound(w.now + Duration::hours(hours));
        c
    };
    let named = |id, name, profile, hours| named_in(&w, id, name, profile, hours);
    let erika = named(1, "Erika Mustermann", None, 1);
    let mut juergen = named(2, "Jürgen Müller-Straße", Some("Jay"), 2);
    let mut restricted = named(3, "Erika Musterfrau", None, 3);
    restricted.lifecycle = Lifecycle::Restricted { since: w.now, reason: RestrictionReason::SubjectRequest };
    let gone = named(4, "Erika Mustermann", None, 4);
    for c in [&erika, &juergen, &restricted, &gone] {
        insert(store.as_ref(), &w, c).await;
    }
    let tombstone = gone.erased(w.now, ErasureReason::SubjectRequest);
    let erase = CandidateChange::Erase { tombstone: Box::new(tombstone), expected_version: 0 };
    store.commit(tenant, ChangeSet { candidates: vec![erase], ..ChangeSet::default() }).await.unwrap();
    let other = other_tenant(store.as_ref()).await;
    insert(store.as_ref(), &other, &named_in(&other, 0x99, "Erika Mustermann", None, 9)).await;

    let find = |text: &str, include_restricted: bool, limit: u32| {
        let (queries, tokens) = (queries.clone(), tokens(text));
        async move { queries.candidates_by_name(tenant, NameSearch { tokens, include_restricted, limit }).await.unwrap() }
    };
    let id = |n: u128| CandidateId::from_uuid(Uuid::from_u128(n));
    assert_eq!(find("Mustermann", false, 10).await, [id(1)], "a full token; erased and other tenant's never");
    assert_eq!(find("must", false, 10).await, [id(1)], "a prefix");
    assert_eq!(find("must", true, 10).await, [id(3), id(1)], "restricted when asked, newest first");
    assert_eq!(find("must", true, 1).await, [id(3)], "at most the limit");
    assert_eq!(find("ERIKA must", false, 10).await, [id(1)], "every token, any case");
    assert!(find("Erika Müller", true, 10).await.is_empty(), "all tokens must match (AND)");
    for spelling in ["Müller", "Mueller", "muller", "Strasse", "Straße", "jürgen", "juergen", "jay", "Hans Jay"] {
        let expected: &[CandidateId] = if spelling == "Hans Jay" { &[] } else { &[id(2)] };
        assert_eq!(find(spelling, false, 10).await, expected, "{spelling}");
    }
    assert!(find("mu", false, 10).await.is_empty(), "prefixes start at three characters");
    assert!(find("mann", false, 10).await.is_empty(), "no infixes");
    assert!(find("  ", false, 10).await.is_empty(), "nothing typed finds nothing");
    assert!(find(CANARY, false, 10).await.is_empty());

    // a new name replaces the old terms; an update that keeps the name keeps them
    juergen.contact.name = Some(Pii::new("Anna Schmidt".into()));
    let rename =
        CandidateChange::Update { candidate: Box::new(juergen.clone()), expected_version: 0, retention_due: None };
    store.commit(tenant, ChangeSet { candidates: vec![rename], ..ChangeSet::default() }).await.unwrap();
    assert!(find("Müller", false, 10).await.is_empty(), "the old name is gone");
    assert_eq!(find("schmi anna", false, 10).await, [id(2)]);
    assert_eq!(find("jay", false, 10).await, [id(2)], "the profile name stays");
    juergen.conversation.record_inbound(w.now + Duration::hours(5));
    let touch = CandidateChange::Update { candidate: Box::new(juergen), expected_version: 1, retention_due: None };
    store.commit(tenant, ChangeSet { candidates: vec![touch], ..ChangeSet::default() }).await.unwrap();
    assert_eq!(find("schmidt", false, 10).await, [id(2)], "an update that keeps the name");
    assert_eq!(find("erika", true, 10).await, [id(3), id(1)]);

    // erasure takes the terms with it
    let tombstone = erika.erased(w.now, ErasureReason::SubjectRequest);
    let erase = CandidateChange::Erase { tombstone: Box::new(tombstone), expected_version: 0 };
    store.commit(tenant, ChangeSet { candidates: vec![erase], ..ChangeSet::default() }).await.unwrap();
    assert!(find("mustermann", false, 10).await.is_empty());
    let theirs = queries
        .candidates_by_name(
            other.tenant_id(),
            NameSearch { tokens: tokens("erika"), include_restricted: true, limit: 10 },
        )
        .await
        .unwrap();
    assert_eq!(theirs, [id(0x99)], "tenant isolation");
}

/// The behaviour every [`crate::ports::Queries`] implementation must have, checked through the
/// use cases on a fresh store (the in-memory one, SQLite, PostgreSQL): tenant listing, candidate
/// pages (restricted hidden unless asked, paging, objection flag), tenant isolation, the
/// subject-request register and its due lists, and the deadline counts.
pub async fn queries_read_views(h: &dyn Harness) {
    let store = h.store();
    let queries = h.queries();
    let world = World::new();
    let tenant = world.tenant_id();
    let mut seed = ChangeSet::default();
    seed.config.push(ConfigChange::Tenant(Box::new(world.config.tenant.clone())));
    for channel in &world.config.channels {
        seed.config.push(ConfigChange::Channel(Box::new(channel.clone())));
    }
    store.commit(tenant, seed).await.unwrap();
    let clock = Arc::new(FixedClock::new(world.now));
    let app =
        Hoheit::new(store.clone(), Arc::new(FakeGateway::default()), clock.clone(), Arc::new(SequentialIds::new(77)));
    let recruiter = staff(Role::Recruiter);
    let mut ids = Vec::new();
    for phone in ["+49 170 1111111", "+49 170 2222222", "+49 170 3333333"] {
        let input = NewCandidate {
            phone: PhoneNumber::parse(phone).unwrap(),
            name: None,
            channel: world.channel().id,
            language: None,
        };
        ids.push(app.create_candidate(tenant, recruiter, input).await.unwrap().id);
    }
    ids.sort();
    let (first, second, third) = (ids[0], ids[1], ids[2]);
    app.restrict(tenant, recruiter, second).await.unwrap();
    let objection = ObjectionInput { channel: CaptureChannel::Email, note: None, received_at: None };
    app.record_objection(tenant, recruiter, third, objection).await.unwrap();

    let tenants = queries.tenants().await.unwrap();
    assert_eq!(tenants.len(), 1);
    assert_eq!((tenants[0].id, tenants[0].name.as_str()), (tenant, world.config.tenant.name.as_str()));

    let page = |include_restricted, after, limit| CandidatePage { include_restricted, after, limit };
    let visible = queries.candidate_page(tenant, page(false, None, 100)).await.unwrap();
    assert_eq!(visible.iter().map(|c| c.id).collect::<Vec<_>>(), vec![first, third], "restricted hidden (R25)");
    assert!(visible.iter().all(|c| c.lifecycle == ListedLifecycle::Active));
    assert_eq!(visible.iter().map(|c| c.objected).collect::<Vec<_>>(), vec![false, true]);
    assert!(visible.iter().all(|c| c.created_at == world.now && c.updated_at >= c.created_at));
    let all = queries.candidate_page(tenant, page(true, None, 100)).await.unwrap();
    assert_eq!(all.iter().map(|c| c.id).collect::<Vec<_>>(), ids);
    assert_eq!(all[1].lifecycle, ListedLifecycle::Restricted);
    let paged = queries.candidate_page(tenant, page(true, Some(first), 1)).await.unwrap();
    assert_eq!(paged.iter().map(|c| c.id).collect::<Vec<_>>(), vec![second]);
    let other = TenantId::from_uuid(Uuid::from_u128(0xDEAD));
    assert!(queries.candidate_page(other, page(true, None, 100)).await.unwrap().is_empty(), "tenant isolation");
    assert!(queries.open_reviews(tenant).await.unwrap().is_empty());
    assert!(store.messages(tenant, first).await.unwrap().is_empty());

    let dpo = staff(Role::Dpo);
    let request = app
        .open_subject_request(tenant, dpo, Some(first), SubjectRequestKind::Access, CaptureChannel::Email, None)
        .await
        .unwrap();
    // restriction and objection are registered as requests too (received and handled at once)
    let register = store.subject_requests(tenant, None).await.unwrap();
    assert!(register.iter().any(|r| r.id == request.id));
    assert!(register.iter().all(|r| r.tenant == tenant));
    let of_first = store.subject_requests(tenant, Some(first)).await.unwrap();
    assert_eq!(of_first.iter().map(|r| r.id).collect::<Vec<_>>(), vec![request.id]);
    assert!(store.subject_requests(other, None).await.unwrap().is_empty());
    let open_before = |at: OffsetDateTime| register.iter().filter(|r| r.status.is_open() && r.due_at <= at).count();
    let now = world.now;
    let due = queries.due_subject_requests(tenant, now, Duration::days(7)).await.unwrap();
    assert!(due.overdue.is_empty() && due.due_soon.is_empty(), "due in a month: neither overdue nor soon");
    let eve = request.due_at - Duration::days(1);
    let soon = queries.due_subject_requests(tenant, eve, Duration::days(7)).await.unwrap();
    assert!(soon.due_soon.iter().any(|r| r.id == request.id) && soon.overdue.len() == open_before(eve));
    let late = queries.due_subject_requests(tenant, request.due_at, Duration::days(7)).await.unwrap();
    assert!(late.overdue.iter().any(|r| r.id == request.id) && late.due_soon.is_empty());
    assert!(late.overdue.windows(2).all(|w| w[0].due_at <= w[1].due_at), "ordered by due date");
    assert!(queries.due_subject_requests(other, request.due_at, Duration::days(7)).await.unwrap().overdue.is_empty());

    let counts = queries.deadline_counts(now, now + Duration::days(7)).await.unwrap();
    assert_eq!(
        (counts.reviews_open, counts.subject_requests_overdue, counts.subject_requests_due_soon, counts.media_pending),
        (0, 0, 0, 0)
    );
    let counts = queries.deadline_counts(request.due_at, request.due_at + Duration::days(7)).await.unwrap();
    assert_eq!(counts.subject_requests_overdue, u64::try_from(late.overdue.len()).unwrap());
    assert!(counts.subject_requests_overdue >= 1);
    assert_eq!(counts.legal_hold_reviews_due, 0);

    // R26: holds in force are listed once their review date is reached, earliest first; a
    // released hold does not count, and neither does a hold of another tenant.
    let held_first = app.set_legal_hold(tenant, dpo, first, HoldReason::ClaimAsserted, None).await.unwrap();
    let released = app.set_legal_hold(tenant, dpo, third, HoldReason::Other, None).await.unwrap();
    app.release_legal_hold(tenant, dpo, third, released.id).await.unwrap();
    clock.advance(Duration::days(10));
    let held_third = app.set_legal_hold(tenant, dpo, third, HoldReason::AuthorityInquiry, None).await.unwrap();
    assert!(held_first.review_at < held_third.review_at && released.review_at < held_third.review_at);
    assert!(queries.due_legal_holds(tenant, held_first.review_at - Duration::seconds(1)).await.unwrap().is_empty());
    let due = queries.due_legal_holds(tenant, held_first.review_at).await.unwrap();
    assert_eq!(due, vec![DueLegalHold { candidate: first, review_at: held_first.review_at }], "released hold ignored");
    let due = queries.due_legal_holds(tenant, held_third.review_at).await.unwrap();
    assert_eq!(
        due,
        vec![
            DueLegalHold { candidate: first, review_at: held_first.review_at },
            DueLegalHold { candidate: third, review_at: held_third.review_at },
        ]
    );
    assert!(queries.due_legal_holds(other, held_third.review_at).await.unwrap().is_empty(), "tenant isolation");
    let counts = queries.deadline_counts(held_first.review_at, held_first.review_at).await.unwrap();
    assert_eq!(counts.legal_hold_reviews_due, 1);
    app.release_legal_hold(tenant, dpo, first, held_first.id).await.unwrap();
    let due = queries.due_legal_holds(tenant, held_third.review_at).await.unwrap();
    assert_eq!(due.iter().map(|d| d.candidate).collect::<Vec<_>>(), vec![third], "released: no longer due");
    let counts = queries.deadline_counts(held_third.review_at, held_third.review_at).await.unwrap();
    assert_eq!(counts.legal_hold_reviews_due, 1);
}
