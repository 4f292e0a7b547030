//! The ONE store test suite: every port method and guarantee, run against SQLite and against
//! PostgreSQL (when `HOHEIT_TEST_POSTGRES_URL` is set; `scripts/test` sets it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;

use common::{Db, seed};
use hoheit_audit::CheckpointSigner;
use hoheit_domain::candidate::{Candidate, CandidateSource, Contact};
use hoheit_domain::consent::Purpose;
use hoheit_domain::conversation::{
    DeliveryStatus, Direction, Intent, Message, MessageBody, MessageKind, OutboundContent, StatusObservation,
    StatusTimeline,
};
use hoheit_domain::events::{DomainEvent, EventEnvelope};
use hoheit_domain::ids::{CandidateId, MessageId, OutboxId, SubjectRequestId, TenantId};
use hoheit_domain::inbound::{ContactKey, ContactRef, InboundContent, InboundMessage};
use hoheit_domain::objection::{ObjectionScope, Suppression};
use hoheit_domain::ports::{
    CandidateChange, ChangeSet, DuplicateKey, MessageChange, OutboxChange, OutboxEntry, OutboxQueue, Store, StoreError,
};
use hoheit_domain::subject_request::{SubjectRequest, SubjectRequestKind};
use hoheit_domain::tenant::{Actor, Tenant};
use hoheit_domain::testing::fixtures::{World, staff};
use hoheit_domain::testing::{FakeGateway, FixedClock, SequentialIds};
use hoheit_domain::usecases::{DispatchOutcome, Hoheit, InboundOutcome, MessageRequest, NewCandidate};
use hoheit_domain::values::{PhoneNumber, Pii, WaId, Wamid};
use hoheit_persistence::{SeaStore, VerifyOutcome};
use sea_orm::{ConnectionTrait, Statement};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const CANARY: &str = "CANARY-7f3e9b21-Geheimtext";
const NUMBER: &str = "+49 170 9876543";

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = super::Db::sqlite().await;
                    super::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = super::Db::postgres().await else { return };
                    super::$name(&db).await;
                }
            )*
        }
    };
}

suite!(
    configuration_round_trips,
    candidates_load_by_id_and_contact_with_optimistic_versions,
    a_commit_is_all_or_nothing,
    inbound_messages_are_stored_once_per_tenant,
    statuses_converge_in_any_order,
    outbox_leases_retries_and_cancellation,
    erasure_shreds_the_key_and_keeps_suppression_and_audit,
    tenants_are_isolated,
    subject_requests_and_retention_due,
    ciphertext_moved_to_another_row_or_tenant_does_not_decrypt,
    no_personal_data_in_the_database_files,
    concurrent_commits_keep_one_linear_audit_chain,
    a_failing_change_set_does_not_fail_the_others_in_its_batch,
    concurrent_statuses_and_messages_share_batches_and_converge,
    tampering_with_the_audit_log_is_detected,
    the_domain_journey_runs_on_the_real_store,
    tokens_credentials_and_leases,
    master_key_rotation_rewraps_tenant_keys,
    media_is_sealed_listed_and_erased_with_the_candidate,
);

fn world() -> World {
    World::new()
}

fn new_candidate(world: &World, id: u128, number: &str) -> Candidate {
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
        hoheit_domain::values::LanguageCode::german(),
        world.now,
    )
}

async fn insert(store: &SeaStore, world: &World, candidate: &Candidate) {
    let changes = ChangeSet {
        candidates: vec![CandidateChange::Insert { candidate: Box::new(candidate.clone()), retention_due: None }],
        ..ChangeSet::default()
    };
    store.commit(world.tenant_id(), changes).await.unwrap();
}

fn event(world: &World, subject: Option<CandidateId>, event: DomainEvent) -> EventEnvelope {
    EventEnvelope { tenant: world.tenant_id(), subject, actor: Actor::System, at: world.now, rule: None, event }
}

fn inbound_message(world: &World, candidate: CandidateId, id: u128, provider_id: &str, text: &str) -> Message {
    Message {
        id: MessageId::from_uuid(Uuid::from_u128(id)),
        tenant: world.tenant_id(),
        candidate,
        channel: world.channel().id,
        direction: Direction::Inbound,
        kind: MessageKind::Text,
        intent: None,
        body: Pii::new(MessageBody::Inbound(InboundContent::Text { body: Pii::new(text.to_owned()) })),
        provider_id: Some(Wamid::parse(provider_id).unwrap()),
        reply_to: None,
        created_at: world.now,
        provider_at: Some(world.now),
        status: StatusTimeline::default(),
    }
}

fn outbound_message(world: &World, candidate: CandidateId, id: u128, text: &str) -> Message {
    Message {
        id: MessageId::from_uuid(Uuid::from_u128(id)),
        tenant: world.tenant_id(),
        candidate,
        channel: world.channel().id,
        direction: Direction::Outbound,
        kind: MessageKind::Text,
        intent: Some(Intent::Regular),
        body: Pii::new(MessageBody::Outbound(OutboundContent::Text { body: Pii::new(text.to_owned()) })),
        provider_id: None,
        reply_to: None,
        created_at: world.now,
        provider_at: None,
        status: StatusTimeline::starting(DeliveryStatus::Queued, world.now),
    }
}

fn outbox_entry(world: &World, candidate: CandidateId, id: u128, message: u128, text: &str) -> OutboxEntry {
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
    }
}

async fn configuration_round_trips(db: &Db) {
    let w = world();
    assert!(db.store.tenant_config(w.tenant_id()).await.unwrap().is_none());
    seed(&db.store, &w).await;
    let config = db.store.tenant_config(w.tenant_id()).await.unwrap().unwrap();
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
        config: vec![hoheit_domain::ports::ConfigChange::LegalText(Box::new(w.config.legal_texts.texts()[0].clone()))],
        ..ChangeSet::default()
    };
    assert_eq!(db.store.commit(w.tenant_id(), again).await, Err(StoreError::Duplicate(DuplicateKey::LegalTextVersion)));
}

async fn candidates_load_by_id_and_contact_with_optimistic_versions(db: &Db) {
    let w = world();
    seed(&db.store, &w).await;
    let c = new_candidate(&w, 1, NUMBER);
    insert(&db.store, &w, &c).await;
    let loaded = db.store.candidate(w.tenant_id(), c.id).await.unwrap().unwrap();
    assert_eq!(loaded, c);
    let key = ContactKey::Phone(PhoneNumber::parse(NUMBER).unwrap());
    assert_eq!(db.store.candidate_by_contact(w.tenant_id(), &key).await.unwrap().unwrap().id, c.id);
    let other = ContactKey::Phone(PhoneNumber::parse("+49 170 1111111").unwrap());
    assert!(db.store.candidate_by_contact(w.tenant_id(), &other).await.unwrap().is_none());

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
    db.store.commit(w.tenant_id(), update(&changed, 0)).await.unwrap();
    let v1 = db.store.candidate(w.tenant_id(), c.id).await.unwrap().unwrap();
    assert_eq!(v1.version, 1);
    assert_eq!(v1.conversation.last_inbound_at(), Some(w.now));
    // a stale writer loses
    assert_eq!(db.store.commit(w.tenant_id(), update(&changed, 0)).await, Err(StoreError::Conflict));
    // the same number cannot belong to two candidates
    let twin = new_candidate(&w, 2, NUMBER);
    let twin_changes = ChangeSet {
        candidates: vec![CandidateChange::Insert { candidate: Box::new(twin), retention_due: None }],
        ..ChangeSet::default()
    };
    assert_eq!(db.store.commit(w.tenant_id(), twin_changes).await, Err(StoreError::Duplicate(DuplicateKey::Contact)));
}

async fn a_commit_is_all_or_nothing(db: &Db) {
    let w = world();
    seed(&db.store, &w).await;
    let c = new_candidate(&w, 1, NUMBER);
    insert(&db.store, &w, &c).await;
    let first = ChangeSet {
        messages: vec![MessageChange::Insert(Box::new(inbound_message(&w, c.id, 10, "wamid.A", "Hallo")))],
        ..ChangeSet::default()
    };
    db.store.commit(w.tenant_id(), first).await.unwrap();
    let head_before = db.store.audit_head(w.tenant_id()).await.unwrap();
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
        events: vec![event(
            &w,
            Some(c.id),
            DomainEvent::ProcessEnded { reason: hoheit_domain::candidate::ProcessEndReason::Hired },
        )],
        ..ChangeSet::default()
    };
    assert_eq!(db.store.commit(w.tenant_id(), doomed).await, Err(StoreError::Duplicate(DuplicateKey::InboundMessage)));
    assert_eq!(db.store.candidate(w.tenant_id(), c.id).await.unwrap().unwrap().version, 0);
    assert_eq!(db.store.messages(w.tenant_id(), c.id).await.unwrap().len(), 1);
    assert!(db.store.pending_outbox(w.tenant_id(), c.id).await.unwrap().is_empty());
    assert_eq!(db.store.audit_head(w.tenant_id()).await.unwrap(), head_before);
}

async fn inbound_messages_are_stored_once_per_tenant(db: &Db) {
    let w = world();
    seed(&db.store, &w).await;
    let c = new_candidate(&w, 1, NUMBER);
    insert(&db.store, &w, &c).await;
    let m = inbound_message(&w, c.id, 10, "wamid.dup", "Hallo");
    let changes =
        |m: &Message| ChangeSet { messages: vec![MessageChange::Insert(Box::new(m.clone()))], ..ChangeSet::default() };
    db.store.commit(w.tenant_id(), changes(&m)).await.unwrap();
    let mut again = m.clone();
    again.id = MessageId::from_uuid(Uuid::from_u128(11));
    assert_eq!(
        db.store.commit(w.tenant_id(), changes(&again)).await,
        Err(StoreError::Duplicate(DuplicateKey::InboundMessage))
    );
    let stored =
        db.store.message_by_provider_id(w.tenant_id(), &Wamid::parse("wamid.dup").unwrap()).await.unwrap().unwrap();
    assert_eq!(stored, m);
    // another tenant may see the same provider id (different number, different channel)
    let other = other_tenant(db).await;
    let oc = Candidate { tenant: other.tenant_id(), channel: other.channel().id, ..new_candidate(&other, 2, NUMBER) };
    insert(&db.store, &other, &oc).await;
    let mut om = inbound_message(&other, oc.id, 12, "wamid.dup", "Hallo");
    om.channel = other.channel().id;
    db.store.commit(other.tenant_id(), changes(&om)).await.unwrap();
}

async fn statuses_converge_in_any_order(db: &Db) {
    let w = world();
    seed(&db.store, &w).await;
    let c = new_candidate(&w, 1, NUMBER);
    insert(&db.store, &w, &c).await;
    let m = outbound_message(&w, c.id, 10, "Einladung");
    db.store
        .commit(
            w.tenant_id(),
            ChangeSet { messages: vec![MessageChange::Insert(Box::new(m.clone()))], ..ChangeSet::default() },
        )
        .await
        .unwrap();
    let wamid = Wamid::parse("wamid.out1").unwrap();
    db.store
        .commit(
            w.tenant_id(),
            ChangeSet {
                messages: vec![MessageChange::Accepted { id: m.id, provider_id: wamid.clone(), at: w.now }],
                ..ChangeSet::default()
            },
        )
        .await
        .unwrap();
    for (status, secs) in [
        (DeliveryStatus::Read, 30),
        (DeliveryStatus::Sent, 10),
        (DeliveryStatus::Read, 40),
        (DeliveryStatus::Delivered, 20),
    ] {
        let observation = StatusObservation { status, at: w.now + Duration::seconds(secs), error_code: None };
        db.store
            .commit(
                w.tenant_id(),
                ChangeSet {
                    messages: vec![MessageChange::StatusByProviderId { provider_id: wamid.clone(), observation }],
                    ..ChangeSet::default()
                },
            )
            .await
            .unwrap();
    }
    let stored = db.store.message(w.tenant_id(), m.id).await.unwrap().unwrap();
    assert_eq!(stored.status.effective(), Some(DeliveryStatus::Read));
    assert_eq!(
        stored.status.get(DeliveryStatus::Read).unwrap().at,
        w.now + Duration::seconds(30),
        "earliest time kept"
    );
    assert_eq!(stored.provider_id, Some(wamid));
}

async fn outbox_leases_retries_and_cancellation(db: &Db) {
    let w = world();
    seed(&db.store, &w).await;
    let c = new_candidate(&w, 1, NUMBER);
    insert(&db.store, &w, &c).await;
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
    db.store.commit(w.tenant_id(), enqueue).await.unwrap();
    let lease = Duration::seconds(30);
    let claimed = db.store.claim(w.now, lease, 1).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].content, OutboundContent::Text { body: Pii::new("eins".into()) });
    // a second claimer (another replica) gets the other one, never the leased one
    let second = db.reopen().await;
    let other = second.claim(w.now, lease, 10).await.unwrap();
    assert_eq!(other.iter().map(|e| e.id).collect::<Vec<_>>(), vec![OutboxId::from_uuid(Uuid::from_u128(21))]);
    assert!(db.store.claim(w.now + Duration::seconds(5), lease, 10).await.unwrap().is_empty());
    // a crashed claimer's lease expires
    let again = db.store.claim(w.now + Duration::seconds(31), lease, 10).await.unwrap();
    assert_eq!(again.len(), 2);
    // retry: not before its time, then claimable
    db.store
        .commit(
            w.tenant_id(),
            ChangeSet {
                outbox: vec![OutboxChange::Retry {
                    id: claimed[0].id,
                    not_before: w.now + Duration::minutes(5),
                    attempts: 1,
                }],
                ..ChangeSet::default()
            },
        )
        .await
        .unwrap();
    assert!(
        db.store.claim(w.now + Duration::minutes(4), lease, 10).await.unwrap().iter().all(|e| e.id != claimed[0].id)
    );
    let later = db.store.claim(w.now + Duration::minutes(6), lease, 10).await.unwrap();
    assert!(later.iter().any(|e| e.id == claimed[0].id && e.attempts == 1));
    // release on shutdown makes it claimable at once
    db.store.release(&[claimed[0].id]).await.unwrap();
    assert_eq!(db.store.claim(w.now + Duration::minutes(6), lease, 10).await.unwrap().len(), 1);
    // an objection cancels everything pending, and the messages say so
    let report = db
        .store
        .commit(
            w.tenant_id(),
            ChangeSet {
                outbox: vec![OutboxChange::CancelPending { candidate: c.id }],
                events: vec![event(&w, Some(c.id), DomainEvent::OutboxCancelled)],
                ..ChangeSet::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(report.outbox_cancelled, 2);
    assert!(db.store.claim(w.now + Duration::hours(1), lease, 10).await.unwrap().is_empty());
    let messages = db.store.messages(w.tenant_id(), c.id).await.unwrap();
    assert!(messages.iter().all(|m| m.status.effective() == Some(DeliveryStatus::Cancelled)));
}

async fn raw_count(db: &Db, sql: &str, values: Vec<sea_orm::Value>) -> i64 {
    let conn = db.store.connection();
    let backend = db.store.backend();
    let sql = if db.is_postgres() { sql.to_owned() } else { sql.replace('$', "?") };
    let row = conn.query_one_raw(Statement::from_sql_and_values(backend, sql, values)).await.unwrap().unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn erasure_shreds_the_key_and_keeps_suppression_and_audit(db: &Db) {
    let w = world();
    seed(&db.store, &w).await;
    let c = new_candidate(&w, 1, NUMBER);
    insert(&db.store, &w, &c).await;
    let key = ContactKey::Phone(PhoneNumber::parse(NUMBER).unwrap());
    db.store
        .commit(
            w.tenant_id(),
            ChangeSet {
                messages: vec![MessageChange::Insert(Box::new(inbound_message(&w, c.id, 10, "wamid.e1", CANARY)))],
                suppressions: vec![(key.clone(), Suppression { scope: ObjectionScope::AllWhatsApp, since: w.now })],
                events: vec![event(
                    &w,
                    Some(c.id),
                    DomainEvent::SuppressionAdded { scope: ObjectionScope::AllWhatsApp },
                )],
                ..ChangeSet::default()
            },
        )
        .await
        .unwrap();
    // an old "backup" of the message row, taken before the erasure
    let id = hoheit_domain::ids::MessageId::from_uuid(Uuid::from_u128(10));
    let tid = w.tenant_id().as_uuid().as_bytes().to_vec();
    let backup = {
        let sql = if db.is_postgres() {
            "SELECT body FROM messages WHERE tenant_id = $1"
        } else {
            "SELECT body FROM messages WHERE tenant_id = ?"
        };
        let row = db
            .store
            .connection()
            .query_one_raw(Statement::from_sql_and_values(db.store.backend(), sql, vec![tid.clone().into()]))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<Vec<u8>>(0).unwrap()
    };
    let tombstone = c.erased(w.now, hoheit_domain::candidate::ErasureReason::SubjectRequest);
    db.store
        .commit(
            w.tenant_id(),
            ChangeSet {
                candidates: vec![CandidateChange::Erase {
                    tombstone: Box::new(tombstone.clone()),
                    expected_version: 0,
                }],
                events: vec![event(
                    &w,
                    Some(c.id),
                    DomainEvent::CandidateErased { reason: hoheit_domain::candidate::ErasureReason::SubjectRequest },
                )],
                ..ChangeSet::default()
            },
        )
        .await
        .unwrap();
    let stored = db.store.candidate(w.tenant_id(), c.id).await.unwrap().unwrap();
    assert!(stored.is_erased());
    assert!(stored.contact.phone.is_none());
    assert!(db.store.messages(w.tenant_id(), c.id).await.unwrap().is_empty());
    assert!(db.store.candidate_by_contact(w.tenant_id(), &key).await.unwrap().is_none());
    assert!(db.store.suppression(w.tenant_id(), &key).await.unwrap().is_some(), "suppression outlives erasure");
    let shredded = raw_count(
        db,
        "SELECT COUNT(*) FROM candidates WHERE tenant_id = $1 AND wrapped_key IS NULL AND state IS NULL",
        vec![tid.clone().into()],
    )
    .await;
    assert_eq!(shredded, 1);
    // restore the old message row from the backup: it cannot be read any more, even with the master key
    let restore = if db.is_postgres() {
        "INSERT INTO messages (id, tenant_id, candidate_id, channel_id, direction, kind, intent, provider_id, reply_to, created_at, provider_at, status, timeline, body) VALUES ($1, $2, $3, $4, 'inbound', 'text', NULL, 'wamid.e1', NULL, 0, 0, NULL, '{\"entries\":[]}', $5)"
    } else {
        "INSERT INTO messages (id, tenant_id, candidate_id, channel_id, direction, kind, intent, provider_id, reply_to, created_at, provider_at, status, timeline, body) VALUES (?, ?, ?, ?, 'inbound', 'text', NULL, 'wamid.e1', NULL, 0, 0, NULL, '{\"entries\":[]}', ?)"
    };
    db.store
        .connection()
        .execute_raw(Statement::from_sql_and_values(
            db.store.backend(),
            restore,
            vec![
                id.as_uuid().as_bytes().to_vec().into(),
                tid.clone().into(),
                c.id.as_uuid().as_bytes().to_vec().into(),
                w.channel().id.as_uuid().as_bytes().to_vec().into(),
                backup.into(),
            ],
        ))
        .await
        .unwrap();
    let reopened = db.reopen().await; // fresh caches: only the master key and the database
    assert!(matches!(reopened.message(w.tenant_id(), id).await, Err(StoreError::Corrupt(_))));
    // the audit chain still verifies after the erasure
    let signer = CheckpointSigner::generate(&mut rand::rngs::OsRng);
    let outcome = db.store.verify_audit(w.tenant_id(), vec![], &signer.public_key()).await.unwrap();
    assert!(matches!(outcome, VerifyOutcome::Ok(report) if report.entries_verified == 2), "audit chain after erasure");
}

async fn other_tenant(db: &Db) -> World {
    let mut other = World::new();
    let tenant = TenantId::from_uuid(Uuid::from_u128(0xB2));
    other.config.tenant = Tenant { id: tenant, name: "Andere AG".into(), ..other.config.tenant.clone() };
    let channel_id = hoheit_domain::ids::ChannelId::from_uuid(Uuid::from_u128(0xB3));
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
    other.config.templates = hoheit_domain::template::TemplateCatalogue::new(templates);
    let texts: Vec<_> = other
        .config
        .legal_texts
        .texts()
        .iter()
        .cloned()
        .map(|mut t| {
            t.id = hoheit_domain::ids::LegalTextId::from_uuid(Uuid::from_u128(t.id.as_uuid().as_u128() + 0x1000));
            t
        })
        .collect();
    other.config.legal_texts = hoheit_domain::legal::LegalTextCatalogue::new(texts);
    seed(&db.store, &other).await;
    other
}

async fn tenants_are_isolated(db: &Db) {
    let w = world();
    seed(&db.store, &w).await;
    let other = other_tenant(db).await;
    let c = new_candidate(&w, 1, NUMBER);
    insert(&db.store, &w, &c).await;
    db.store
        .commit(
            w.tenant_id(),
            ChangeSet {
                messages: vec![MessageChange::Insert(Box::new(inbound_message(&w, c.id, 10, "wamid.i1", "Hallo")))],
                subject_requests: vec![SubjectRequest::open(
                    SubjectRequestId::from_uuid(Uuid::from_u128(30)),
                    w.tenant_id(),
                    Some(c.id),
                    SubjectRequestKind::Access,
                    hoheit_domain::consent::CaptureChannel::Email,
                    w.now,
                )],
                ..ChangeSet::default()
            },
        )
        .await
        .unwrap();
    let t2 = other.tenant_id();
    assert!(db.store.candidate(t2, c.id).await.unwrap().is_none());
    let key = ContactKey::Phone(PhoneNumber::parse(NUMBER).unwrap());
    assert!(db.store.candidate_by_contact(t2, &key).await.unwrap().is_none());
    assert!(db.store.message(t2, MessageId::from_uuid(Uuid::from_u128(10))).await.unwrap().is_none());
    assert!(db.store.message_by_provider_id(t2, &Wamid::parse("wamid.i1").unwrap()).await.unwrap().is_none());
    assert!(db.store.messages(t2, c.id).await.unwrap().is_empty());
    assert!(db.store.subject_requests(t2, None).await.unwrap().is_empty());
    assert!(db.store.subject_request(t2, SubjectRequestId::from_uuid(Uuid::from_u128(30))).await.unwrap().is_none());
    // writing another tenant's candidate through this tenant's commit fails and changes nothing
    let mut hijack = c.clone();
    hijack.contact.name = None;
    let result = db
        .store
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
    assert_eq!(db.store.candidate(w.tenant_id(), c.id).await.unwrap().unwrap(), c);
    let cancel = db
        .store
        .commit(t2, ChangeSet { outbox: vec![OutboxChange::CancelPending { candidate: c.id }], ..ChangeSet::default() })
        .await
        .unwrap();
    assert_eq!(cancel.outbox_cancelled, 0);
}

async fn subject_requests_and_retention_due(db: &Db) {
    let w = world();
    seed(&db.store, &w).await;
    let mut request = SubjectRequest::open(
        SubjectRequestId::from_uuid(Uuid::from_u128(30)),
        w.tenant_id(),
        None,
        SubjectRequestKind::Erasure,
        hoheit_domain::consent::CaptureChannel::Phone,
        w.now,
    );
    let save = |r: &SubjectRequest| ChangeSet { subject_requests: vec![r.clone()], ..ChangeSet::default() };
    db.store.commit(w.tenant_id(), save(&request)).await.unwrap();
    request.fulfil(w.now + Duration::days(3), "erasure").unwrap();
    db.store.commit(w.tenant_id(), save(&request)).await.unwrap();
    let stored = db.store.subject_request(w.tenant_id(), request.id).await.unwrap().unwrap();
    assert_eq!(stored, request);
    assert_eq!(db.store.subject_requests(w.tenant_id(), None).await.unwrap(), vec![request]);

    let (a, b, c) = (
        new_candidate(&w, 1, NUMBER),
        new_candidate(&w, 2, "+49 170 2222222"),
        new_candidate(&w, 3, "+49 170 3333333"),
    );
    for (candidate, due) in [(&a, Some(w.now + Duration::days(10))), (&b, Some(w.now + Duration::days(2))), (&c, None)]
    {
        db.store
            .commit(
                w.tenant_id(),
                ChangeSet {
                    candidates: vec![CandidateChange::Insert {
                        candidate: Box::new(candidate.clone()),
                        retention_due: due,
                    }],
                    ..ChangeSet::default()
                },
            )
            .await
            .unwrap();
    }
    assert_eq!(db.store.retention_due(w.tenant_id(), w.now + Duration::days(1), 10).await.unwrap(), vec![]);
    assert_eq!(db.store.retention_due(w.tenant_id(), w.now + Duration::days(11), 10).await.unwrap(), vec![b.id, a.id]);
    assert_eq!(db.store.retention_due(w.tenant_id(), w.now + Duration::days(11), 1).await.unwrap(), vec![b.id]);
    // new settings: everyone (not erased) is due for a fresh look
    db.store
        .commit(
            w.tenant_id(),
            ChangeSet {
                config: vec![hoheit_domain::ports::ConfigChange::RescheduleRetention],
                events: vec![event(&w, None, DomainEvent::SettingsChanged)],
                ..ChangeSet::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(db.store.retention_due(w.tenant_id(), w.now, 10).await.unwrap().len(), 3);
}

async fn ciphertext_moved_to_another_row_or_tenant_does_not_decrypt(db: &Db) {
    let w = world();
    seed(&db.store, &w).await;
    let c = new_candidate(&w, 1, NUMBER);
    insert(&db.store, &w, &c).await;
    db.store
        .commit(
            w.tenant_id(),
            ChangeSet {
                messages: vec![
                    MessageChange::Insert(Box::new(inbound_message(&w, c.id, 10, "wamid.s1", "erste"))),
                    MessageChange::Insert(Box::new(inbound_message(&w, c.id, 11, "wamid.s2", "zweite"))),
                ],
                ..ChangeSet::default()
            },
        )
        .await
        .unwrap();
    let ph = |n: usize| if db.is_postgres() { format!("${n}") } else { "?".to_owned() };
    // copy message 10's body over message 11's
    let sql =
        format!("UPDATE messages SET body = (SELECT body FROM messages WHERE id = {}) WHERE id = {}", ph(1), ph(2));
    db.store
        .connection()
        .execute_raw(Statement::from_sql_and_values(
            db.store.backend(),
            sql,
            vec![Uuid::from_u128(10).as_bytes().to_vec().into(), Uuid::from_u128(11).as_bytes().to_vec().into()],
        ))
        .await
        .unwrap();
    let err = db.store.message(w.tenant_id(), MessageId::from_uuid(Uuid::from_u128(11))).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert!(db.store.message(w.tenant_id(), MessageId::from_uuid(Uuid::from_u128(10))).await.is_ok());
    // copy a candidate state to a candidate of another tenant
    let other = other_tenant(db).await;
    let oc = Candidate {
        tenant: other.tenant_id(),
        channel: other.channel().id,
        ..new_candidate(&other, 2, "+49 170 5555555")
    };
    insert(&db.store, &other, &oc).await;
    let sql = format!(
        "UPDATE candidates SET state = (SELECT state FROM candidates WHERE id = {}), wrapped_key = (SELECT wrapped_key FROM candidates WHERE id = {}) WHERE id = {}",
        ph(1),
        ph(2),
        ph(3)
    );
    db.store
        .connection()
        .execute_raw(Statement::from_sql_and_values(
            db.store.backend(),
            sql,
            vec![
                Uuid::from_u128(1).as_bytes().to_vec().into(),
                Uuid::from_u128(1).as_bytes().to_vec().into(),
                Uuid::from_u128(2).as_bytes().to_vec().into(),
            ],
        ))
        .await
        .unwrap();
    let fresh = db.reopen().await;
    assert!(matches!(fresh.candidate(other.tenant_id(), oc.id).await, Err(StoreError::Corrupt(_))));
}

async fn no_personal_data_in_the_database_files(db: &Db) {
    let w = world();
    seed(&db.store, &w).await;
    let c = new_candidate(&w, 1, NUMBER);
    insert(&db.store, &w, &c).await;
    let mut changes = ChangeSet::default();
    for i in 0..20u128 {
        changes.messages.push(MessageChange::Insert(Box::new(inbound_message(
            &w,
            c.id,
            100 + i,
            &format!("wamid.c{i}"),
            &format!("{CANARY} Nachricht {i}"),
        ))));
    }
    changes.messages.push(MessageChange::Insert(Box::new(outbound_message(
        &w,
        c.id,
        200,
        &format!("Antwort {CANARY}"),
    ))));
    changes.outbox.push(OutboxChange::Enqueue(outbox_entry(&w, c.id, 300, 200, &format!("Antwort {CANARY}"))));
    let mut file = media_record(&w, c.id, 400, 100);
    file.status = hoheit_domain::media::MediaStatus::Stored;
    changes.media.push(hoheit_domain::ports::MediaChange::Insert {
        record: Box::new(file),
        content: Some(Pii::new(format!("%PDF {CANARY} Zeugnis").into_bytes())),
    });
    db.store.commit(w.tenant_id(), changes).await.unwrap();
    let needles = [CANARY, "Mustermann", "1709876543", "+491709876543"];
    let haystack: Vec<u8> = match &db.kind {
        common::Kind::Sqlite { file, .. } => {
            let mut all = std::fs::read(file).unwrap();
            for suffix in ["-wal", "-shm"] {
                if let Ok(more) = std::fs::read(format!("{}{suffix}", file.display())) {
                    all.extend(more);
                }
            }
            all
        }
        common::Kind::Postgres { url, .. } => {
            let pg_dump = std::env::var("HOHEIT_TEST_PG_DUMP").ok().or_else(find_pg_dump).expect("pg_dump");
            let out = std::process::Command::new(pg_dump).arg("--data-only").arg(url).output().unwrap();
            assert!(out.status.success(), "pg_dump failed");
            assert!(out.stdout.len() > 1000, "the dump has data");
            out.stdout
        }
    };
    let text = String::from_utf8_lossy(&haystack);
    assert!(text.contains("wamid.c1"), "the check can fail: clear metadata is in the dump");
    for needle in needles {
        assert!(!text.contains(needle), "{needle} found in clear in the database");
    }
}

fn find_pg_dump() -> Option<String> {
    let mut found: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin/pg_dump"))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found.pop().map(|p| p.display().to_string())
}

async fn concurrent_commits_keep_one_linear_audit_chain(db: &Db) {
    let w = world();
    seed(&db.store, &w).await;
    let c = new_candidate(&w, 1, NUMBER);
    insert(&db.store, &w, &c).await;
    let replica = db.reopen().await;
    let mut tasks = Vec::new();
    for i in 0..120u128 {
        let store = if i % 2 == 0 { db.store.clone() } else { replica.clone() };
        let w = w.clone();
        let cid = c.id;
        tasks.push(tokio::spawn(async move {
            let changes = ChangeSet {
                messages: vec![MessageChange::Insert(Box::new(inbound_message(
                    &w,
                    cid,
                    1000 + i,
                    &format!("wamid.cc{i}"),
                    "Hallo",
                )))],
                events: vec![event(&w, Some(cid), DomainEvent::HelpRequested)],
                ..ChangeSet::default()
            };
            store.commit(w.tenant_id(), changes).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(db.store.messages(w.tenant_id(), c.id).await.unwrap().len(), 120);
    let head = db.store.audit_head(w.tenant_id()).await.unwrap();
    assert_eq!(head.seq(), 120);
    let signer = CheckpointSigner::generate(&mut rand::rngs::OsRng);
    let checkpoint = signer.sign(&head, w.now);
    db.store.save_checkpoint(&checkpoint).await.unwrap();
    let outcome = db
        .store
        .verify_audit(w.tenant_id(), db.store.checkpoints(w.tenant_id()).await.unwrap(), &signer.public_key())
        .await
        .unwrap();
    assert!(matches!(outcome, VerifyOutcome::Ok(ref r) if r.entries_verified == 120), "{outcome:?}");
}

async fn tampering_with_the_audit_log_is_detected(db: &Db) {
    let w = world();
    seed(&db.store, &w).await;
    for _ in 0..5 {
        db.store
            .commit(
                w.tenant_id(),
                ChangeSet { events: vec![event(&w, None, DomainEvent::SettingsChanged)], ..ChangeSet::default() },
            )
            .await
            .unwrap();
    }
    let signer = CheckpointSigner::generate(&mut rand::rngs::OsRng);
    let checkpoint = signer.sign(&db.store.audit_head(w.tenant_id()).await.unwrap(), w.now);
    let key = signer.public_key();
    let entries = db.store.audit_entries(w.tenant_id(), None, None, None, 100).await.unwrap().entries;
    assert_eq!(entries.len(), 5);
    assert!(entries.iter().all(|e| e.action == "tenant.settings_changed"));
    let ph = |n: usize| if db.is_postgres() { format!("${n}") } else { "?".to_owned() };
    // delete entry 3
    db.store
        .connection()
        .execute_raw(Statement::from_sql_and_values(
            db.store.backend(),
            format!("DELETE FROM audit_entries WHERE seq = {}", ph(1)),
            vec![3i64.into()],
        ))
        .await
        .unwrap();
    let outcome = db.store.verify_audit(w.tenant_id(), vec![checkpoint.clone()], &key).await.unwrap();
    assert!(matches!(outcome, VerifyOutcome::Broken(hoheit_audit::ChainBreak::DeletedEntry { seq: 3 })), "{outcome:?}");
    // truncate behind the checkpoint
    db.store.connection().execute_unprepared("DELETE FROM audit_entries WHERE seq >= 3").await.unwrap();
    let outcome = db.store.verify_audit(w.tenant_id(), vec![checkpoint], &key).await.unwrap();
    assert!(matches!(outcome, VerifyOutcome::Broken(hoheit_audit::ChainBreak::Truncated { .. })), "{outcome:?}");
}

async fn the_domain_journey_runs_on_the_real_store(db: &Db) {
    let w = world();
    seed(&db.store, &w).await;
    let clock = Arc::new(FixedClock::new(w.now));
    let gateway = Arc::new(FakeGateway::default());
    let store = Arc::new(db.store.clone());
    let app = Hoheit::new(store.clone(), gateway.clone(), clock.clone(), Arc::new(SequentialIds::new(9)));
    let recruiter = staff(hoheit_domain::tenant::Role::Recruiter);
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
        let store = store.clone();
        let app = app.clone();
        async move {
            let mut outcomes = Vec::new();
            for entry in store.claim(now, Duration::minutes(1), 10).await.unwrap() {
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
    app.end_process(w.tenant_id(), recruiter, c.id, hoheit_domain::candidate::ProcessEndReason::Rejected, None)
        .await
        .unwrap();
    clock.advance(Duration::days(200));
    let counts = app.run_retention(w.tenant_id(), Actor::System, false).await.unwrap();
    assert_eq!(counts.erased, 1);
    assert!(store.candidate(w.tenant_id(), c.id).await.unwrap().unwrap().is_erased());
    let signer = CheckpointSigner::generate(&mut rand::rngs::OsRng);
    let outcome = db.store.verify_audit(w.tenant_id(), vec![], &signer.public_key()).await.unwrap();
    assert!(matches!(outcome, VerifyOutcome::Ok(_)), "{outcome:?}");
    let actions: Vec<String> = db
        .store
        .audit_entries(w.tenant_id(), Some(c.id), None, None, 1000)
        .await
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.action)
        .collect();
    for expected in
        ["consent.requested", "consent.granted", "objection.recorded", "outbox.cancelled", "candidate.erased"]
    {
        assert!(actions.iter().any(|a| a == expected), "{expected} missing in {actions:?}");
    }
}

async fn tokens_credentials_and_leases(db: &Db) {
    let w = world();
    seed(&db.store, &w).await;
    let token = hoheit_persistence::ApiToken {
        id: hoheit_domain::ids::StaffId::from_uuid(Uuid::from_u128(77)),
        tenant: Some(w.tenant_id()),
        role: hoheit_domain::tenant::Role::Dpo,
        label: "dpo".into(),
    };
    db.store.create_token(&token, "secret-token-value", w.now).await.unwrap();
    assert_eq!(db.store.token("secret-token-value").await.unwrap(), Some(token.clone()));
    assert_eq!(db.store.token("wrong").await.unwrap(), None);
    assert!(db.store.revoke_token(token.id, w.now).await.unwrap());
    assert_eq!(db.store.token("secret-token-value").await.unwrap(), None);

    let creds = hoheit_persistence::ChannelCredentials {
        api_key: secrecy::SecretString::from("d360-key"),
        base_url: Some("http://127.0.0.1:9".into()),
        webhook_secret: secrecy::SecretString::from("hook-secret"),
        hmac_secret: None,
    };
    db.store.save_channel_credentials(w.tenant_id(), w.channel().id, "route-abc", &creds).await.unwrap();
    let (tenant, channel, back) = db.store.channel_by_route("route-abc").await.unwrap().unwrap();
    assert_eq!((tenant, channel), (w.tenant_id(), w.channel().id));
    use secrecy::ExposeSecret;
    assert_eq!(back.api_key.expose_secret(), "d360-key");
    assert!(db.store.channel_by_route("route-xyz").await.unwrap().is_none());
    assert_eq!(db.store.all_channel_credentials().await.unwrap().len(), 1);

    assert!(db.store.try_lease("retention", "a", w.now, w.now + Duration::minutes(5)).await.unwrap());
    assert!(
        !db.store
            .try_lease("retention", "b", w.now + Duration::minutes(1), w.now + Duration::minutes(6))
            .await
            .unwrap()
    );
    assert!(
        db.store.try_lease("retention", "a", w.now + Duration::minutes(1), w.now + Duration::minutes(6)).await.unwrap()
    );
    assert!(
        db.store
            .try_lease("retention", "b", w.now + Duration::minutes(7), w.now + Duration::minutes(12))
            .await
            .unwrap()
    );
    // live replicas: each holds dispatcher:<instance>; expired ones and other names do not count
    let t = w.now;
    assert!(db.store.try_lease("dispatcher:one", "one", t, t + Duration::seconds(15)).await.unwrap());
    assert!(db.store.try_lease("dispatcher:two", "two", t, t + Duration::seconds(5)).await.unwrap());
    assert!(db.store.try_lease("dispatcherX", "x", t, t + Duration::seconds(15)).await.unwrap());
    assert_eq!(db.store.live_leases("dispatcher:", t).await.unwrap(), 2);
    assert_eq!(db.store.live_leases("dispatcher:", t + Duration::seconds(10)).await.unwrap(), 1);
    db.store.release_lease("dispatcher:one", "one").await.unwrap();
    assert_eq!(db.store.live_leases("dispatcher:", t).await.unwrap(), 1);
    db.store.ping().await.unwrap();
    db.store.ping().await.unwrap();
    assert!(hoheit_persistence::migrations_current(db.store.connection()).await.unwrap());
}

async fn master_key_rotation_rewraps_tenant_keys(db: &Db) {
    let w = world();
    seed(&db.store, &w).await;
    let c = new_candidate(&w, 1, NUMBER);
    insert(&db.store, &w, &c).await;
    let new = hoheit_persistence::crypto::MasterKey::generate(2);
    let hex = new.to_hex().to_string();
    assert_eq!(db.store.rotate_master_key(&new).await.unwrap(), 1);
    let rotated = common::open(
        &db.url(),
        hoheit_persistence::crypto::MasterKey::from_secret(
            &secrecy::SecretBox::from(Box::<str>::from(hex.as_str())),
            2,
        )
        .unwrap(),
    )
    .await;
    assert_eq!(rotated.candidate(w.tenant_id(), c.id).await.unwrap().unwrap(), c);
    // the old master key no longer opens anything
    assert!(matches!(db.reopen().await.candidate(w.tenant_id(), c.id).await, Err(StoreError::Corrupt(_))));
}

fn media_record(world: &World, candidate: CandidateId, id: u128, message: u128) -> hoheit_domain::media::MediaRecord {
    hoheit_domain::media::MediaRecord {
        id: hoheit_domain::ids::MediaId::from_uuid(Uuid::from_u128(id)),
        tenant: world.tenant_id(),
        candidate,
        channel: world.channel().id,
        message: MessageId::from_uuid(Uuid::from_u128(message)),
        direction: Direction::Inbound,
        kind: hoheit_domain::inbound::MediaKind::Document,
        provider_media_id: Pii::new("1037543291543636".into()),
        mime_type: Some("application/pdf".into()),
        filename: Some(Pii::new(format!("Lebenslauf {CANARY}.pdf"))),
        announced_sha256: None,
        sha256: None,
        size: None,
        status: hoheit_domain::media::MediaStatus::Pending,
        rejection: None,
        attempts: 0,
        next_attempt_at: Some(world.now),
        created_at: world.now,
        settled_at: None,
    }
}

async fn media_is_sealed_listed_and_erased_with_the_candidate(db: &Db) {
    use hoheit_domain::media::MediaStatus;
    use hoheit_domain::ports::MediaChange;
    let w = world();
    seed(&db.store, &w).await;
    let c = new_candidate(&w, 1, NUMBER);
    insert(&db.store, &w, &c).await;
    let t = w.tenant_id();
    let mut record = media_record(&w, c.id, 0x3D1A, 10);
    db.store
        .commit(
            t,
            ChangeSet {
                messages: vec![MessageChange::Insert(Box::new(inbound_message(&w, c.id, 10, "wamid.m1", "(PDF)")))],
                media: vec![MediaChange::Insert { record: Box::new(record.clone()), content: None }],
                ..ChangeSet::default()
            },
        )
        .await
        .unwrap();
    // pending: listed for the fetch worker, no content yet
    assert_eq!(db.store.pending_media(w.now, 10).await.unwrap(), vec![(t, record.id)]);
    assert!(db.store.pending_media(w.now - Duration::seconds(1), 10).await.unwrap().is_empty());
    assert_eq!(db.store.media(t, record.id).await.unwrap(), Some(record.clone()));
    assert_eq!(db.store.media_content(t, record.id).await.unwrap(), None);
    // stored: sealed bytes, readable only through the store
    let bytes = format!("%PDF-1.7 {CANARY}").into_bytes();
    record.status = MediaStatus::Stored;
    record.size = Some(u64::try_from(bytes.len()).unwrap());
    record.next_attempt_at = None;
    record.settled_at = Some(w.now);
    db.store
        .commit(
            t,
            ChangeSet {
                media: vec![MediaChange::Update {
                    record: Box::new(record.clone()),
                    content: Some(Pii::new(bytes.clone())),
                }],
                ..ChangeSet::default()
            },
        )
        .await
        .unwrap();
    assert!(db.store.pending_media(w.now, 10).await.unwrap().is_empty());
    assert_eq!(db.store.media_content(t, record.id).await.unwrap().map(Pii::into_inner), Some(bytes));
    assert_eq!(db.store.candidate_media(t, c.id).await.unwrap(), vec![record.clone()]);
    let counts = db.store.deadline_counts(w.now, w.now + Duration::days(7)).await.unwrap();
    assert_eq!(counts.media_pending, 0);
    // in clear: no file name, no content
    let tid = t.as_uuid().as_bytes().to_vec();
    assert_eq!(
        raw_count(
            db,
            "SELECT COUNT(*) FROM media WHERE tenant_id = $1 AND status = 'stored'",
            vec![tid.clone().into()]
        )
        .await,
        1
    );
    // another tenant sees nothing
    let other = other_tenant(db).await;
    assert_eq!(db.store.media(other.tenant_id(), record.id).await.unwrap(), None);
    assert_eq!(db.store.media_content(other.tenant_id(), record.id).await.unwrap(), None);
    // an update for an unknown file fails alone
    let mut ghost = media_record(&w, c.id, 0x3D1B, 10);
    ghost.status = MediaStatus::Rejected;
    let e = db
        .store
        .commit(
            t,
            ChangeSet {
                media: vec![MediaChange::Update { record: Box::new(ghost), content: None }],
                ..ChangeSet::default()
            },
        )
        .await;
    assert_eq!(e, Err(StoreError::NotFound("media")));
    // erasure deletes the file with the candidate
    let tombstone = c.erased(w.now, hoheit_domain::candidate::ErasureReason::SubjectRequest);
    db.store
        .commit(
            t,
            ChangeSet {
                candidates: vec![CandidateChange::Erase { tombstone: Box::new(tombstone), expected_version: 0 }],
                ..ChangeSet::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(raw_count(db, "SELECT COUNT(*) FROM media WHERE tenant_id = $1", vec![tid.into()]).await, 0);
    assert_eq!(db.store.media(t, record.id).await.unwrap(), None);
    assert!(db.store.candidate_media(t, c.id).await.unwrap().is_empty());
    // and nothing new can be filed for the erased candidate
    let late = media_record(&w, c.id, 0x3D1C, 10);
    let e = db
        .store
        .commit(
            t,
            ChangeSet {
                media: vec![MediaChange::Insert { record: Box::new(late), content: None }],
                ..ChangeSet::default()
            },
        )
        .await;
    assert!(matches!(e, Err(StoreError::NotFound(_)) | Err(StoreError::Corrupt(_))), "{e:?}");
}

async fn a_failing_change_set_does_not_fail_the_others_in_its_batch(db: &Db) {
    let w = world();
    seed(&db.store, &w).await;
    let c = new_candidate(&w, 1, NUMBER);
    insert(&db.store, &w, &c).await;
    db.store
        .commit(
            w.tenant_id(),
            ChangeSet {
                messages: vec![MessageChange::Insert(Box::new(inbound_message(&w, c.id, 10, "wamid.taken", "x")))],
                ..ChangeSet::default()
            },
        )
        .await
        .unwrap();
    // many concurrent commits (they share group commits); every fifth is a webhook redelivery
    let mut tasks = Vec::new();
    for i in 0..60u128 {
        let store = db.store.clone();
        let w = w.clone();
        let cid = c.id;
        tasks.push(tokio::spawn(async move {
            let provider = if i % 5 == 0 { "wamid.taken".to_owned() } else { format!("wamid.fresh{i}") };
            let changes = ChangeSet {
                messages: vec![MessageChange::Insert(Box::new(inbound_message(&w, cid, 100 + i, &provider, "y")))],
                events: vec![event(&w, Some(cid), DomainEvent::HelpRequested)],
                ..ChangeSet::default()
            };
            (i, store.commit(w.tenant_id(), changes).await)
        }));
    }
    for t in tasks {
        let (i, result) = t.await.unwrap();
        if i % 5 == 0 {
            assert_eq!(result, Err(StoreError::Duplicate(DuplicateKey::InboundMessage)), "{i}");
        } else {
            assert!(result.is_ok(), "{i}: {result:?}");
        }
    }
    assert_eq!(db.store.messages(w.tenant_id(), c.id).await.unwrap().len(), 1 + 48);
    assert_eq!(db.store.audit_head(w.tenant_id()).await.unwrap().seq(), 48, "the failed ones left no audit entry");
    let signer = CheckpointSigner::generate(&mut rand::rngs::OsRng);
    let outcome = db.store.verify_audit(w.tenant_id(), vec![], &signer.public_key()).await.unwrap();
    assert!(matches!(outcome, VerifyOutcome::Ok(_)), "{outcome:?}");
}

async fn concurrent_statuses_and_messages_share_batches_and_converge(db: &Db) {
    let w = world();
    seed(&db.store, &w).await;
    let c = new_candidate(&w, 1, NUMBER);
    insert(&db.store, &w, &c).await;
    let m = outbound_message(&w, c.id, 10, "Einladung");
    let wamid = Wamid::parse("wamid.batch-out").unwrap();
    db.store
        .commit(
            w.tenant_id(),
            ChangeSet { messages: vec![MessageChange::Insert(Box::new(m.clone()))], ..ChangeSet::default() },
        )
        .await
        .unwrap();
    db.store
        .commit(
            w.tenant_id(),
            ChangeSet {
                messages: vec![MessageChange::Accepted { id: m.id, provider_id: wamid.clone(), at: w.now }],
                ..ChangeSet::default()
            },
        )
        .await
        .unwrap();
    // statuses (each twice, with different times), inbound messages and audited events, all at
    // once: they share group commits and their multi-row inserts
    let mut tasks = Vec::new();
    for i in 0..90u128 {
        let store = db.store.clone();
        let w = w.clone();
        let cid = c.id;
        let wamid = wamid.clone();
        tasks.push(tokio::spawn(async move {
            let changes = if i % 3 == 0 {
                let status =
                    [DeliveryStatus::Sent, DeliveryStatus::Delivered, DeliveryStatus::Read][(i / 3 % 3) as usize];
                let secs = 100 + i64::try_from(i).unwrap();
                let observation = StatusObservation { status, at: w.now + Duration::seconds(secs), error_code: None };
                ChangeSet {
                    messages: vec![MessageChange::StatusByProviderId { provider_id: wamid, observation }],
                    ..ChangeSet::default()
                }
            } else {
                ChangeSet {
                    messages: vec![MessageChange::Insert(Box::new(inbound_message(
                        &w,
                        cid,
                        2000 + i,
                        &format!("wamid.mix{i}"),
                        "Hallo",
                    )))],
                    events: vec![event(&w, Some(cid), DomainEvent::HelpRequested)],
                    ..ChangeSet::default()
                }
            };
            store.commit(w.tenant_id(), changes).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(db.store.messages(w.tenant_id(), c.id).await.unwrap().len(), 1 + 60);
    assert_eq!(db.store.audit_head(w.tenant_id()).await.unwrap().seq(), 60);
    let stored = db.store.message(w.tenant_id(), m.id).await.unwrap().unwrap();
    assert_eq!(stored.status.effective(), Some(DeliveryStatus::Read));
    // the earliest of the ten observations of each status is kept: sent at i = 0, read at i = 6
    assert_eq!(stored.status.get(DeliveryStatus::Sent).unwrap().at, w.now + Duration::seconds(100));
    assert_eq!(stored.status.get(DeliveryStatus::Read).unwrap().at, w.now + Duration::seconds(106));
    let signer = CheckpointSigner::generate(&mut rand::rngs::OsRng);
    let outcome = db.store.verify_audit(w.tenant_id(), vec![], &signer.public_key()).await.unwrap();
    assert!(matches!(outcome, VerifyOutcome::Ok(_)), "{outcome:?}");
}
