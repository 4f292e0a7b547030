//! The store tests that need the real database: encryption at rest (raw rows and files),
//! crypto-shredding against restored backups, tampering with the audit log, and the adapter's
//! own operations (tokens, credentials, leases, key rotation, the fetch queue). The behaviour
//! every store shares is the contract in `store_contract.rs`. Each test runs against SQLite and
//! PostgreSQL (when `HOHEIT_TEST_POSTGRES_URL` is set; `scripts/test` sets it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::Db;
use hoheit_audit::CheckpointSigner;
use hoheit_domain::actor::Actor;
use hoheit_domain::candidate::ErasureReason;
use hoheit_domain::classifier::ObjectionReason;
use hoheit_domain::consent::{CaptureChannel, ConsentEvidence, ConsentMethod, Purpose, WithdrawalVia};
use hoheit_domain::conversation::{DeliveryStatus, StatusObservation};
use hoheit_domain::events::DomainEvent;
use hoheit_domain::ids::MessageId;
use hoheit_domain::inbound::ContactKey;
use hoheit_domain::media::MediaStatus;
use hoheit_domain::objection::{Objection, ObjectionSource};
use hoheit_domain::objection::{ObjectionScope, Suppression};
use hoheit_domain::ports::{CandidateChange, ChangeSet, MediaChange, MessageChange, OutboxChange, Store, StoreError};
use hoheit_domain::testing::contract::{
    CANARY, NUMBER, base64_forms, event, inbound_message, insert, media_record, new_candidate, other_tenant,
    outbound_message, outbox_entry, realistic_wamid, seed,
};
use hoheit_domain::testing::fixtures::World;
use hoheit_domain::values::{LanguageCode, PhoneNumber, Pii, Wamid};
use hoheit_persistence::VerifyOutcome;
use sea_orm::{ConnectionTrait, Statement};
use time::Duration;
use uuid::Uuid;

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
    erasure_shreds_the_key_so_a_restored_backup_does_not_decrypt,
    ciphertext_moved_to_another_row_or_tenant_does_not_decrypt,
    no_personal_data_in_the_database_files,
    legacy_provider_ids_are_converted_by_migrate,
    tampering_with_the_audit_log_is_detected,
    tokens_credentials_and_leases,
    master_key_rotation_rewraps_tenant_keys,
    media_rows_are_sealed_queued_for_fetching_and_erased,
    unknown_enum_values_in_a_row_are_corruption,
    an_attempts_receipt_is_sealed_and_bound_to_its_row,
    last_activity_is_filled_for_rows_written_before_m0011,
    names_are_indexed_for_rows_written_before_m0012_and_erased_with_the_markers,
    new_senders_share_batches_and_their_duplicates_fail_alone,
);

async fn raw_count(db: &Db, sql: &str, values: Vec<sea_orm::Value>) -> i64 {
    let conn = db.store.connection();
    let backend = db.store.backend();
    let sql = if db.is_postgres() { sql.to_owned() } else { sql.replace('$', "?") };
    let row = conn.query_one_raw(Statement::from_sql_and_values(backend, sql, values)).await.unwrap().unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn erasure_shreds_the_key_so_a_restored_backup_does_not_decrypt(db: &Db) {
    let w = World::new();
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
    // the contract checks what the store answers; here: what is left in the rows
    assert!(db.store.candidate(w.tenant_id(), c.id).await.unwrap().unwrap().is_erased());
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

async fn ciphertext_moved_to_another_row_or_tenant_does_not_decrypt(db: &Db) {
    let w = World::new();
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
    let other = other_tenant(&db.store).await;
    let mut oc = new_candidate(&other, 2, "+49 170 5555555");
    oc.tenant = other.tenant_id();
    oc.channel = other.channel().id;
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

/// Everything the database holds on disk as text: the SQLite file with its WAL and shared
/// memory, or a `pg_dump` of the PostgreSQL database.
fn database_files(db: &Db) -> String {
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
    String::from_utf8_lossy(&haystack).into_owned()
}

/// The number in clear and in every base64 alignment, and the wamids themselves, must not be in
/// the files; `hmac:` (the hashed provider ids) must be, so the search can fail.
fn assert_no_number(text: &str, wamids: &[Wamid], when: &str) {
    assert!(text.contains("hmac:"), "{when}: the hashed provider ids are in the files (the check can fail)");
    let digits = "491709876543";
    let mut needles: Vec<String> =
        vec![CANARY.into(), "Mustermann".into(), "1709876543".into(), "+491709876543".into()];
    needles.extend(base64_forms(digits));
    needles.extend(wamids.iter().map(|w| w.as_str().to_owned()));
    for needle in &needles {
        assert!(!text.contains(needle.as_str()), "{when}: {needle} found in clear in the database");
    }
}

/// Issue 13: message bodies, names and numbers are sealed, and so are WhatsApp message ids,
/// which WhatsApp builds from the number (base64): the test writes messages with realistic wamids,
/// replies to our message, the provider's acceptance, delivery statuses and WhatsApp consent,
/// withdrawal and objection evidence, then erases the candidate, and looks for the number in
/// clear and in all three base64 alignments before and after the erasure.
async fn no_personal_data_in_the_database_files(db: &Db) {
    let w = World::new();
    seed(&db.store, &w).await;
    let digits = "491709876543";
    let wamid = |n: u64| realistic_wamid(digits, n);
    let mut c = new_candidate(&w, 1, NUMBER);
    insert(&db.store, &w, &c).await;
    let mut changes = ChangeSet::default();
    for i in 0..20u64 {
        let mut m =
            inbound_message(&w, c.id, 100 + u128::from(i), wamid(i).as_str(), &format!("{CANARY} Nachricht {i}"));
        m.reply_to = Some(wamid(500));
        changes.messages.push(MessageChange::Insert(Box::new(m)));
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
    // the provider accepts our message; statuses arrive for it and for an id we do not know
    let observation =
        |status, secs| StatusObservation { status, at: w.now + Duration::seconds(secs), error_code: None };
    let sent = ChangeSet {
        messages: vec![
            MessageChange::Accepted {
                id: MessageId::from_uuid(Uuid::from_u128(200)),
                provider_id: wamid(500),
                at: w.now,
            },
            MessageChange::StatusByProviderId {
                provider_id: wamid(500),
                observation: observation(DeliveryStatus::Delivered, 1),
            },
            MessageChange::StatusByProviderId {
                provider_id: wamid(500),
                observation: observation(DeliveryStatus::Read, 2),
            },
            MessageChange::StatusByProviderId {
                provider_id: wamid(501),
                observation: observation(DeliveryStatus::Read, 3),
            },
        ],
        ..ChangeSet::default()
    };
    db.store.commit(w.tenant_id(), sent).await.unwrap();
    // WhatsApp evidence in the candidate: opt-in keyword, withdrawal, objection (each with a wamid)
    c.grant_consent(
        ConsentEvidence {
            purpose: Purpose::TalentPool,
            method: ConsentMethod::OptInKeyword { provider_id: Some(wamid(600)), provider_at: w.now },
            capture_channel: CaptureChannel::WhatsApp,
            texts_shown: Vec::new(),
            language: LanguageCode::german(),
            recorded_at: w.now,
            given_at: Some(w.now),
            recorded_by: Actor::Candidate,
        },
        w.now,
    )
    .unwrap();
    c.withdraw_consent(Purpose::TalentPool, w.now, WithdrawalVia::WhatsApp { provider_id: Some(wamid(601)) }, 12);
    c.apply_objection(Objection {
        at: w.now,
        source: ObjectionSource::WhatsApp { provider_id: Some(wamid(602)), reason: ObjectionReason::OptOutButton },
        scope: ObjectionScope::AllWhatsApp,
    });
    let update = ChangeSet {
        candidates: vec![CandidateChange::Update {
            candidate: Box::new(c.clone()),
            expected_version: 0,
            retention_due: None,
        }],
        ..ChangeSet::default()
    };
    db.store.commit(w.tenant_id(), update).await.unwrap();
    // what the store answers: the ids are there for whoever holds the key
    let stored = db.store.message(w.tenant_id(), MessageId::from_uuid(Uuid::from_u128(100))).await.unwrap().unwrap();
    assert_eq!(stored.provider_id, Some(wamid(0)));
    assert_eq!(stored.reply_to, Some(wamid(500)));
    let ours = db.store.message_by_provider_id(w.tenant_id(), &wamid(500)).await.unwrap().unwrap();
    assert_eq!(ours.id, MessageId::from_uuid(Uuid::from_u128(200)));
    assert_eq!(ours.status.effective(), Some(DeliveryStatus::Read), "statuses matched by the keyed hash");
    let wamids: Vec<Wamid> = (0..20).chain(500..502).chain(600..603).map(wamid).collect();
    assert!(wamids.iter().all(|w| w.as_str().contains(&base64_forms(digits)[0])), "the fixture holds the number");
    assert_no_number(&database_files(db), &wamids, "before erasure");
    // erasure: the sealed ids are shredded, the tombstone keeps no wamid, only hashes stay
    let tombstone = c.erased(w.now, ErasureReason::SubjectRequest);
    let erase = ChangeSet {
        candidates: vec![CandidateChange::Erase { tombstone: Box::new(tombstone), expected_version: 1 }],
        events: vec![event(&w, Some(c.id), DomainEvent::CandidateErased { reason: ErasureReason::SubjectRequest })],
        ..ChangeSet::default()
    };
    db.store.commit(w.tenant_id(), erase).await.unwrap();
    let tid: sea_orm::Value = w.tenant_id().as_uuid().as_bytes().to_vec().into();
    assert_eq!(raw_count(db, "SELECT COUNT(*) FROM messages WHERE tenant_id = $1", vec![tid.clone()]).await, 0);
    assert_eq!(
        raw_count(db, "SELECT COUNT(*) FROM erased_provider_ids WHERE tenant_id = $1", vec![tid]).await,
        21,
        "the hashes of the erased messages' ids are kept for the replay window"
    );
    assert_no_number(&database_files(db), &wamids, "after erasure");
}

/// Rows written before provider ids were hashed (clear wamids in `messages.provider_id`,
/// `reply_to`, `message_statuses` and the tombstones) are converted by `migrate`: hashed,
/// sealed, stripped; the store reads them as before; running it again changes nothing.
async fn legacy_provider_ids_are_converted_by_migrate(db: &Db) {
    let w = World::new();
    seed(&db.store, &w).await;
    let digits = "491709876543";
    let c = new_candidate(&w, 1, NUMBER);
    insert(&db.store, &w, &c).await;
    let gone = new_candidate(&w, 2, "+49 170 1112223");
    insert(&db.store, &w, &gone).await;
    let mut changes = ChangeSet::default();
    changes.messages.push(MessageChange::Insert(Box::new(inbound_message(&w, c.id, 10, "wamid.tmp1", "Hallo"))));
    changes.messages.push(MessageChange::Insert(Box::new(outbound_message(&w, c.id, 11, "Antwort"))));
    db.store.commit(w.tenant_id(), changes).await.unwrap();
    let erase = ChangeSet {
        candidates: vec![CandidateChange::Erase {
            tombstone: Box::new(gone.erased(w.now, ErasureReason::SubjectRequest)),
            expected_version: 0,
        }],
        ..ChangeSet::default()
    };
    db.store.commit(w.tenant_id(), erase).await.unwrap();
    // make them look like an earlier version wrote them
    let (inbound, ours) = (realistic_wamid(digits, 1), realistic_wamid(digits, 2));
    let id = |n: u128| -> sea_orm::Value { Uuid::from_u128(n).as_bytes().to_vec().into() };
    let t: sea_orm::Value = w.tenant_id().as_uuid().as_bytes().to_vec().into();
    raw_exec(
        db,
        "UPDATE messages SET provider_id = $1, reply_to = $2, provider_ref = NULL WHERE id = $3",
        vec![inbound.as_str().into(), ours.as_str().into(), id(10)],
    )
    .await;
    raw_exec(
        db,
        "UPDATE messages SET provider_id = $1, provider_ref = NULL WHERE id = $2",
        vec![ours.as_str().into(), id(11)],
    )
    .await;
    raw_exec(
        db,
        "INSERT INTO message_statuses (tenant_id, provider_id, status, at, error_code) VALUES ($1, $2, 'read', 5, NULL)",
        vec![t.clone(), ours.as_str().into()],
    )
    .await;
    // a tombstone as an earlier version wrote it: the STOPP message's wamid in the objection history
    let mut legacy = gone.clone();
    legacy.apply_objection(Objection {
        at: w.now,
        source: ObjectionSource::WhatsApp { provider_id: Some(ours.clone()), reason: ObjectionReason::OptOutButton },
        scope: ObjectionScope::AllWhatsApp,
    });
    legacy.lifecycle = hoheit_domain::candidate::Lifecycle::Erased { at: w.now, reason: ErasureReason::SubjectRequest };
    let legacy = serde_json::to_string(&legacy).unwrap();
    assert!(legacy.contains(ours.as_str()));
    raw_exec(db, "UPDATE candidates SET tombstone = $1 WHERE id = $2", vec![legacy.into(), id(2)]).await;
    let before = database_files(db);
    assert!(before.contains(inbound.as_str()) && before.contains(ours.as_str()), "the legacy rows hold clear wamids");
    let reopened = db.reopen().await;
    reopened.migrate().await.unwrap();
    let again = reopened.convert_provider_ids().await.unwrap();
    assert_eq!(again, hoheit_persistence::ProviderIdConversion::default(), "idempotent");
    let m = reopened.message(w.tenant_id(), MessageId::from_uuid(Uuid::from_u128(10))).await.unwrap().unwrap();
    assert_eq!((m.provider_id, m.reply_to), (Some(inbound.clone()), Some(ours.clone())));
    let sent = reopened.message_by_provider_id(w.tenant_id(), &ours).await.unwrap().unwrap();
    assert_eq!(sent.id, MessageId::from_uuid(Uuid::from_u128(11)));
    assert_eq!(sent.status.effective(), Some(DeliveryStatus::Read), "the converted status still matches");
    assert!(reopened.candidate(w.tenant_id(), gone.id).await.unwrap().unwrap().is_erased());
    if let common::Kind::Sqlite { .. } = db.kind {
        // SQLite keeps old page images in the WAL until a checkpoint; the dump of PostgreSQL has live rows only
        raw_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", vec![]).await;
    }
    let after = database_files(db);
    for needle in [inbound.as_str(), ours.as_str()] {
        assert!(!after.contains(needle), "{needle} left in clear after the conversion");
    }
    assert!(after.contains("hmac:"));
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

async fn tampering_with_the_audit_log_is_detected(db: &Db) {
    let w = World::new();
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
    let head = db.store.audit_head(w.tenant_id()).await.unwrap();
    assert_eq!(head.seq(), 5);
    let checkpoint = signer.sign(&head, w.now);
    let key = signer.public_key();
    // a checkpoint handed out is kept, and the intact chain verifies against it
    db.store.save_checkpoint(&checkpoint).await.unwrap();
    let stored = db.store.checkpoints(w.tenant_id()).await.unwrap();
    assert_eq!(stored.len(), 1);
    let outcome = db.store.verify_audit(w.tenant_id(), stored, &key).await.unwrap();
    assert!(matches!(outcome, VerifyOutcome::Ok(ref r) if r.entries_verified == 5), "{outcome:?}");
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

async fn tokens_credentials_and_leases(db: &Db) {
    let w = World::new();
    seed(&db.store, &w).await;
    let token = hoheit_persistence::ApiToken {
        id: hoheit_domain::ids::StaffId::from_uuid(Uuid::from_u128(77)),
        tenant: Some(w.tenant_id()),
        role: hoheit_domain::tenant::Role::Dpo,
        label: "dpo".into(),
        created_by: Some(hoheit_domain::ids::StaffId::from_uuid(Uuid::from_u128(76))),
        expires_at: Some(w.now + time::Duration::days(90)),
    };
    db.store.create_token(&token, "secret-token-value", w.now).await.unwrap();
    let found = db.store.token("secret-token-value").await.unwrap().unwrap();
    assert_eq!(found.token, token);
    assert_eq!((found.revoked_at, found.last_used_at), (None, None));
    assert_eq!(db.store.token("wrong").await.unwrap(), None);
    // last use is recorded at most once a minute
    db.store.touch_token(token.id, w.now).await.unwrap();
    db.store.touch_token(token.id, w.now + time::Duration::seconds(30)).await.unwrap();
    let used = db.store.token("secret-token-value").await.unwrap().unwrap().last_used_at;
    assert_eq!(used.map(|t| t.unix_timestamp()), Some(w.now.unix_timestamp()));
    assert_eq!(db.store.tokens(Some(w.tenant_id())).await.unwrap().len(), 1);
    assert!(db.store.tokens(None).await.unwrap().is_empty(), "operator tokens are listed apart");
    // another tenant cannot revoke it; its own tenant can, once
    let other = hoheit_domain::ids::TenantId::from_uuid(Uuid::from_u128(5));
    assert!(!db.store.revoke_token(Some(other), token.id, w.now).await.unwrap());
    assert!(db.store.revoke_token(Some(w.tenant_id()), token.id, w.now).await.unwrap());
    assert!(!db.store.revoke_token(Some(w.tenant_id()), token.id, w.now).await.unwrap());
    assert_eq!(
        db.store.token("secret-token-value").await.unwrap().unwrap().revoked_at.map(|t| t.unix_timestamp()),
        Some(w.now.unix_timestamp())
    );
    assert!(db.store.record_token_expiry(token.id, w.now).await.unwrap());
    assert!(!db.store.record_token_expiry(token.id, w.now).await.unwrap(), "the expiry is recorded once");

    // invitations: single use, stored by hash, accepted together with the credential
    use hoheit_domain::credential::{Invitation, InvitationOrigin};
    let invited = hoheit_domain::ids::StaffId::from_uuid(Uuid::from_u128(78));
    let invitation = Invitation::new(
        invited,
        w.tenant_id(),
        hoheit_domain::tenant::Role::Admin,
        InvitationOrigin::TenantCreated,
        None,
        w.now,
    );
    db.store.create_invitation(&invitation, "invitation-secret").await.unwrap();
    assert_eq!(db.store.invitation("invitation-secret").await.unwrap(), Some(invitation.clone()));
    assert!(!db.store.has_active_admin(w.tenant_id(), w.now).await.unwrap());
    let admin = hoheit_persistence::ApiToken {
        id: invited,
        tenant: Some(w.tenant_id()),
        role: hoheit_domain::tenant::Role::Admin,
        label: "first admin".into(),
        created_by: None,
        expires_at: Some(w.now + time::Duration::days(90)),
    };
    assert!(db.store.accept_invitation(invited, &admin, "admin-secret", w.now).await.unwrap());
    assert!(!db.store.accept_invitation(invited, &admin, "admin-secret-2", w.now).await.unwrap(), "single use");
    assert!(db.store.token("admin-secret-2").await.unwrap().is_none());
    assert!(db.store.has_active_admin(w.tenant_id(), w.now).await.unwrap());
    assert!(!db.store.has_active_admin(w.tenant_id(), w.now + time::Duration::days(91)).await.unwrap(), "expired");
    assert_eq!(
        db.store.invitations(w.tenant_id()).await.unwrap()[0].accepted_at.map(|t| t.unix_timestamp()),
        Some(w.now.unix_timestamp())
    );
    let late = Invitation::new(
        hoheit_domain::ids::StaffId::from_uuid(Uuid::from_u128(79)),
        w.tenant_id(),
        hoheit_domain::tenant::Role::Dpo,
        InvitationOrigin::TenantCreated,
        None,
        w.now,
    );
    db.store.create_invitation(&late, "late-secret").await.unwrap();
    let dpo = hoheit_persistence::ApiToken { id: late.id, role: hoheit_domain::tenant::Role::Dpo, ..admin.clone() };
    assert!(
        !db.store.accept_invitation(late.id, &dpo, "dpo-secret", w.now + time::Duration::hours(72)).await.unwrap(),
        "expired"
    );

    // the operator's chain: appended, verified, tampering found
    let signer = hoheit_audit::CheckpointSigner::from_secret_bytes(&[3; 32]).unwrap();
    for n in 0..3u128 {
        let envelope = hoheit_domain::events::EventEnvelope {
            tenant: hoheit_persistence::PLATFORM_CHAIN,
            subject: None,
            actor: hoheit_domain::tenant::Actor::System,
            at: w.now,
            rule: None,
            event: hoheit_domain::events::DomainEvent::TokenIssued {
                staff: hoheit_domain::ids::StaffId::from_uuid(Uuid::from_u128(90 + n)),
                role: hoheit_domain::tenant::Role::Operator,
            },
        };
        db.store.append_platform_audit(&envelope).await.unwrap();
    }
    let report = db.store.verify_platform_audit(&signer.public_key()).await.unwrap().unwrap();
    assert_eq!(report.entries_verified, 3);
    assert_eq!(db.store.platform_audit_entries(10).await.unwrap().len(), 3);
    db.store.connection().execute_unprepared("DELETE FROM platform_audit_entries WHERE seq = 2").await.unwrap();
    assert!(db.store.verify_platform_audit(&signer.public_key()).await.unwrap().is_err());

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
    let w = World::new();
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

async fn media_rows_are_sealed_queued_for_fetching_and_erased(db: &Db) {
    let w = World::new();
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
    // pending: listed for the fetch worker (across tenants), no content yet
    assert_eq!(db.store.pending_media(w.now, 10).await.unwrap(), vec![(t, record.id)]);
    assert!(db.store.pending_media(w.now - Duration::seconds(1), 10).await.unwrap().is_empty());
    assert_eq!(db.store.deadline_counts(w.now, w.now + Duration::days(7)).await.unwrap().media_pending, 1);
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
    let counts = db.store.deadline_counts(w.now, w.now + Duration::days(7)).await.unwrap();
    assert_eq!(counts.media_pending, 0);
    // in clear: the status; no file name, no content
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
    // erasure deletes the row with the candidate
    let tombstone = c.erased(w.now, ErasureReason::SubjectRequest);
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
}

/// Runs `sql` (with `$n` placeholders) on the raw connection.
async fn raw_exec(db: &Db, sql: &str, values: Vec<sea_orm::Value>) {
    let sql = if db.is_postgres() { sql.to_owned() } else { sql.replace('$', "?") };
    db.store.connection().execute_raw(Statement::from_sql_and_values(db.store.backend(), sql, values)).await.unwrap();
}

async fn unknown_enum_values_in_a_row_are_corruption(db: &Db) {
    let w = World::new();
    seed(&db.store, &w).await;
    let c = new_candidate(&w, 1, NUMBER);
    insert(&db.store, &w, &c).await;
    let t = w.tenant_id();
    let mut changes = ChangeSet::default();
    changes.messages.push(MessageChange::Insert(Box::new(inbound_message(&w, c.id, 10, "wamid.k1", "eins"))));
    changes.messages.push(MessageChange::Insert(Box::new(outbound_message(&w, c.id, 11, "zwei"))));
    changes.outbox.push(OutboxChange::Enqueue(outbox_entry(&w, c.id, 20, 11, "zwei")));
    db.store.commit(t, changes).await.unwrap();
    let id = |n: u128| -> sea_orm::Value { Uuid::from_u128(n).as_bytes().to_vec().into() };
    let message = |n: u128| MessageId::from_uuid(Uuid::from_u128(n));
    let corrupt = |r: Result<Option<hoheit_domain::conversation::Message>, StoreError>| {
        assert!(matches!(r, Err(StoreError::Corrupt(_))), "{r:?}");
    };
    // a kind, a direction, an intent this version does not know: corruption, not a default
    for (column, value) in [("kind", "hologram"), ("direction", "sideways"), ("intent", "bribe")] {
        raw_exec(db, &format!("UPDATE messages SET {column} = $1 WHERE id = $2"), vec![value.into(), id(11)]).await;
        corrupt(db.store.message(t, message(11)).await);
        assert!(matches!(db.store.messages(t, c.id).await, Err(StoreError::Corrupt(_))));
        let original = match column {
            "kind" => "text",
            "direction" => "outbound",
            _ => "regular",
        };
        raw_exec(db, &format!("UPDATE messages SET {column} = $1 WHERE id = $2"), vec![original.into(), id(11)]).await;
        assert!(db.store.message(t, message(11)).await.unwrap().is_some());
    }
    // an unknown delivery status recorded for a provider id (keyed hash, as the store keeps it)
    let hashed = raw_text(db, "SELECT provider_id FROM messages WHERE id = $1", vec![id(10)]).await;
    assert!(hashed.starts_with("hmac:"), "{hashed}");
    raw_exec(
        db,
        "INSERT INTO message_statuses (tenant_id, provider_id, status, at, error_code) VALUES ($1, $2, $3, $4, NULL)",
        vec![t.as_uuid().as_bytes().to_vec().into(), hashed.into(), "teleported".into(), 0i64.into()],
    )
    .await;
    corrupt(db.store.message(t, message(10)).await);
    raw_exec(db, "DELETE FROM message_statuses WHERE status = $1", vec!["teleported".into()]).await;
    assert!(db.store.message(t, message(10)).await.unwrap().is_some());
    // an outbox entry with an unknown intent
    raw_exec(db, "UPDATE outbox SET intent = $1 WHERE id = $2", vec!["bribe".into(), id(20)]).await;
    assert!(matches!(db.store.pending_outbox(t, c.id).await, Err(StoreError::Corrupt(_))));
    // sealed provider ids that do not open (tampered, or moved from another row)
    let sealed = raw_bytes(db, "SELECT provider_ref FROM messages WHERE id = $1", vec![id(10)]).await;
    raw_exec(db, "UPDATE messages SET provider_ref = $1 WHERE id = $2", vec![sealed.clone().into(), id(11)]).await;
    corrupt(db.store.message(t, message(11)).await);
    raw_exec(db, "UPDATE messages SET provider_ref = NULL WHERE id = $1", vec![id(11)]).await;
    assert!(db.store.message(t, message(10)).await.unwrap().is_some());
    // a malformed provider id written by an earlier version (clear, not converted yet)
    raw_exec(db, "UPDATE messages SET provider_id = $1, provider_ref = NULL WHERE id = $2", vec!["".into(), id(10)])
        .await;
    corrupt(db.store.message(t, message(10)).await);
}

/// The first column of the first row, as text.
async fn raw_text(db: &Db, sql: &str, values: Vec<sea_orm::Value>) -> String {
    let sql = if db.is_postgres() { sql.to_owned() } else { sql.replace('$', "?") };
    let conn = db.store.connection();
    let row =
        conn.query_one_raw(Statement::from_sql_and_values(db.store.backend(), sql, values)).await.unwrap().unwrap();
    row.try_get_by_index::<String>(0).unwrap()
}

/// The first column of the first row, as bytes.
async fn raw_bytes(db: &Db, sql: &str, values: Vec<sea_orm::Value>) -> Vec<u8> {
    let sql = if db.is_postgres() { sql.to_owned() } else { sql.replace('$', "?") };
    let conn = db.store.connection();
    let row =
        conn.query_one_raw(Statement::from_sql_and_values(db.store.backend(), sql, values)).await.unwrap().unwrap();
    row.try_get_by_index::<Vec<u8>>(0).unwrap()
}

/// Issue 13.5: the SQLite database, its WAL and its shared memory are created 0600, in a
/// directory created 0700; files a previous version left readable are narrowed at connect.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_files_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data").join("db");
    let file = dir.join("hoheit.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let store = common::open(&url, hoheit_persistence::crypto::MasterKey::generate(1)).await;
    let w = World::new();
    seed(&store, &w).await;
    insert(&store, &w, &new_candidate(&w, 1, NUMBER)).await;
    assert_eq!(mode(&dir), 0o700, "data directory");
    for suffix in ["", "-wal", "-shm"] {
        let path = std::path::PathBuf::from(format!("{}{suffix}", file.display()));
        assert!(path.exists(), "{} exists (WAL mode)", path.display());
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    // a database file left world-readable is narrowed when the store opens it
    drop(store);
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _again = common::open(&url, hoheit_persistence::crypto::MasterKey::generate(1)).await;
    assert_eq!(mode(&file), 0o600);
}

/// Issue 13.5: readers that load the candidate's key while the erasure commits cannot put it
/// back into the cache: after the erasure, a message row restored from a backup does not open
/// through the same store handle (not only through a fresh one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_is_not_undone_by_concurrent_readers_of_the_key_cache() {
    for round in 0..5u128 {
        let db = Db::sqlite().await;
        let w = World::new();
        seed(&db.store, &w).await;
        let c = new_candidate(&w, 1, NUMBER);
        insert(&db.store, &w, &c).await;
        let m = inbound_message(&w, c.id, 10, &format!("wamid.race{round}"), CANARY);
        db.store
            .commit(
                w.tenant_id(),
                ChangeSet { messages: vec![MessageChange::Insert(Box::new(m))], ..ChangeSet::default() },
            )
            .await
            .unwrap();
        let backup = raw_bytes(
            &db,
            "SELECT body FROM messages WHERE id = $1",
            vec![Uuid::from_u128(10).as_bytes().to_vec().into()],
        )
        .await;
        // a fresh handle, so every reader has to unwrap the key from the row
        let store = db.reopen().await;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let (store, stop, tenant, id) = (store.clone(), stop.clone(), w.tenant_id(), c.id);
                tokio::spawn(async move {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let _ = store.candidate(tenant, id).await;
                        let _ = store.messages(tenant, id).await;
                    }
                })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let erase = ChangeSet {
            candidates: vec![CandidateChange::Erase {
                tombstone: Box::new(c.erased(w.now, ErasureReason::SubjectRequest)),
                expected_version: 0,
            }],
            ..ChangeSet::default()
        };
        store.commit(w.tenant_id(), erase).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for r in readers {
            r.await.unwrap();
        }
        // restore the message row from the backup: the same handle cannot open it any more
        raw_exec(
            &db,
            "INSERT INTO messages (id, tenant_id, candidate_id, channel_id, direction, kind, created_at, timeline, body) \
             VALUES ($1, $2, $3, $4, 'inbound', 'text', 0, '{\"entries\":[]}', $5)",
            vec![
                Uuid::from_u128(10).as_bytes().to_vec().into(),
                w.tenant_id().as_uuid().as_bytes().to_vec().into(),
                c.id.as_uuid().as_bytes().to_vec().into(),
                w.channel().id.as_uuid().as_bytes().to_vec().into(),
                backup.into(),
            ],
        )
        .await;
        let read = store.message(w.tenant_id(), MessageId::from_uuid(Uuid::from_u128(10))).await;
        assert!(
            matches!(read, Err(StoreError::Corrupt(_))),
            "round {round}: the erased key was cached again: {read:?}"
        );
    }
}

/// The receipt of an open send attempt (a WhatsApp message id: personal data) is sealed with the
/// candidate key and bound to its row: in clear it is nowhere in the table, copied onto another
/// entry it does not open, and it is read back through the store.
async fn an_attempts_receipt_is_sealed_and_bound_to_its_row(db: &Db) {
    use hoheit_domain::ids::OutboxId;
    use hoheit_domain::values::Wamid;
    let w = World::new();
    seed(&db.store, &w).await;
    let c = new_candidate(&w, 1, NUMBER);
    insert(&db.store, &w, &c).await;
    let mut changes = ChangeSet::default();
    for (outbox, message) in [(300u128, 200u128), (301, 201)] {
        changes.messages.push(MessageChange::Insert(Box::new(outbound_message(&w, c.id, message, "x"))));
        changes.outbox.push(OutboxChange::Enqueue(outbox_entry(&w, c.id, outbox, message, "x")));
    }
    db.store.commit(w.tenant_id(), changes).await.unwrap();
    let (first, second) = (OutboxId::from_uuid(Uuid::from_u128(300)), OutboxId::from_uuid(Uuid::from_u128(301)));
    let attempts = [first, second].map(|id| OutboxChange::Attempt {
        id,
        expected: None,
        at: w.now,
        not_before: w.now + Duration::minutes(5),
    });
    db.store.commit(w.tenant_id(), ChangeSet { outbox: attempts.to_vec(), ..ChangeSet::default() }).await.unwrap();
    let wamid = Wamid::parse("wamid.RECEIPTCANARY42").unwrap();
    let receipt = OutboxChange::Receipt { id: first, provider_id: wamid.clone(), at: w.now };
    db.store.commit(w.tenant_id(), ChangeSet { outbox: vec![receipt], ..ChangeSet::default() }).await.unwrap();
    let pending = db.store.pending_outbox(w.tenant_id(), c.id).await.unwrap();
    let kept = pending.iter().find(|e| e.id == first).and_then(|e| e.attempt.as_ref()).and_then(|a| a.receipt.clone());
    assert_eq!(kept, Some(wamid));
    assert_eq!(
        raw_count(db, "SELECT COUNT(*) FROM outbox WHERE receipt IS NOT NULL AND attempt_at IS NOT NULL", vec![]).await,
        1,
        "the check can fail: the receipt is stored"
    );
    let conn = db.store.connection();
    let sql = "SELECT receipt FROM outbox WHERE receipt IS NOT NULL";
    let row = conn.query_one_raw(Statement::from_string(db.store.backend(), sql)).await.unwrap().unwrap();
    let sealed: Vec<u8> = row.try_get("", "receipt").unwrap();
    assert!(!String::from_utf8_lossy(&sealed).contains("RECEIPTCANARY42"), "the provider id is not in clear");
    // the sealed receipt copied onto the other entry does not open there
    raw_exec(
        db,
        "UPDATE outbox SET receipt = $1 WHERE id = $2",
        vec![sealed.into(), second.as_uuid().as_bytes().to_vec().into()],
    )
    .await;
    let moved = db.store.pending_outbox(w.tenant_id(), c.id).await;
    assert!(matches!(moved, Err(StoreError::Corrupt(_))), "{moved:?}");
}

/// m0011 fills `candidates.last_activity_at` of rows written before it from their messages'
/// clear times (the provider's, else the stored one) or their creation; erased rows get none;
/// the inbox's order reads it at once.
async fn last_activity_is_filled_for_rows_written_before_m0011(db: &Db) {
    use hoheit_domain::ports::{ActivityPage, Queries};
    let w = World::new();
    seed(&db.store, &w).await;
    let (wrote, silent, gone) = (
        new_candidate(&w, 1, NUMBER),
        new_candidate(&w, 2, "+49 170 1112223"),
        new_candidate(&w, 3, "+49 170 1112224"),
    );
    for c in [&wrote, &silent, &gone] {
        insert(&db.store, &w, c).await;
    }
    let mut changes = ChangeSet::default();
    changes.messages.push(MessageChange::Insert(Box::new(inbound_message(&w, wrote.id, 10, "wamid.m11", "Hallo"))));
    changes.candidates.push(CandidateChange::Erase {
        tombstone: Box::new(gone.erased(w.now, ErasureReason::SubjectRequest)),
        expected_version: 0,
    });
    db.store.commit(w.tenant_id(), changes).await.unwrap();
    // the message as the only trace of the activity an hour later (the sealed state is not read)
    let micros = |t: time::OffsetDateTime| i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap();
    let later = micros(w.now + Duration::hours(1));
    let id = |n: u128| -> sea_orm::Value { Uuid::from_u128(n).as_bytes().to_vec().into() };
    raw_exec(db, "UPDATE messages SET provider_at = $1 WHERE id = $2", vec![later.into(), id(10)]).await;
    roll_back_to_before(db, "m0011_last_activity").await;
    db.store.migrate().await.unwrap();
    let activity =
        |n: u128| raw_count(db, "SELECT COALESCE(last_activity_at, -1) FROM candidates WHERE id = $1", vec![id(n)]);
    assert_eq!(activity(1).await, later, "from the newest message");
    assert_eq!(activity(2).await, micros(w.now), "no message: the creation");
    assert_eq!(activity(3).await, -1, "erased: none");
    let page = ActivityPage { include_restricted: true, after: None, limit: 10, only: None };
    let listed = Queries::candidate_activity_page(&db.store, w.tenant_id(), page).await.unwrap();
    assert_eq!(listed.iter().map(|c| c.id).collect::<Vec<_>>(), [wrote.id, silent.id]);
}

/// Rolls the schema back to just before the migration `name` (the later ones too).
async fn roll_back_to_before(db: &Db, name: &str) {
    use sea_orm_migration::MigratorTrait;
    let names: Vec<String> = hoheit_persistence::Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
    let after = names.len() - names.iter().position(|n| n == name).unwrap();
    hoheit_persistence::Migrator::down(db.store.connection(), Some(u32::try_from(after).unwrap())).await.unwrap();
}

/// m0012 (issue 17): candidates written before it have no name index; `SeaStore::migrate`
/// indexes them with the keys (idempotent: a second run indexes nothing), erased ones never.
/// The index holds keyed hashes only (no name in clear), and an erasure deletes the candidate's
/// name hashes and read markers in its commit.
async fn names_are_indexed_for_rows_written_before_m0012_and_erased_with_the_markers(db: &Db) {
    use hoheit_domain::ids::StaffId;
    use hoheit_domain::names::tokens;
    use hoheit_domain::ports::{NameSearch, Queries};
    let w = World::new();
    seed(&db.store, &w).await;
    let (old, gone) = (new_candidate(&w, 1, NUMBER), new_candidate(&w, 2, "+49 170 1112223"));
    for c in [&old, &gone] {
        insert(&db.store, &w, c).await;
    }
    let erase = CandidateChange::Erase {
        tombstone: Box::new(gone.erased(w.now, ErasureReason::SubjectRequest)),
        expected_version: 0,
    };
    db.store.commit(w.tenant_id(), ChangeSet { candidates: vec![erase], ..ChangeSet::default() }).await.unwrap();
    roll_back_to_before(db, "m0012_inbox_reads").await;
    db.store.migrate().await.unwrap();
    let count = |table: &str, n: u128| {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE candidate_id = $1");
        async move { raw_count(db, &sql, vec![Uuid::from_u128(n).as_bytes().to_vec().into()]).await }
    };
    assert!(count("name_tokens", 1).await > 0, "indexed by migrate");
    assert_eq!(count("name_tokens", 2).await, 0, "erased: nothing");
    assert_eq!(db.store.backfill_names().await.unwrap(), 0, "idempotent");
    let find = |text: &str| {
        let search = NameSearch { tokens: tokens(text), include_restricted: false, limit: 10 };
        Queries::candidates_by_name(&db.store, w.tenant_id(), search)
    };
    assert_eq!(find("muster erika").await.unwrap(), [old.id]);
    // no name in clear: the hashes are 32 bytes, none is a name term
    let clear = raw_count(
        db,
        "SELECT COUNT(*) FROM name_tokens WHERE hash = $1 OR hash = $2",
        vec![b"erika".to_vec().into(), b"name:erika".to_vec().into()],
    )
    .await;
    assert_eq!(clear, 0);
    // the erasure takes the name hashes and the read markers with it
    db.store.mark_read(w.tenant_id(), StaffId::from_uuid(Uuid::from_u128(0xa)), old.id, w.now).await.unwrap();
    assert_eq!(count("thread_reads", 1).await, 1);
    let erase = CandidateChange::Erase {
        tombstone: Box::new(old.erased(w.now, ErasureReason::SubjectRequest)),
        expected_version: 0,
    };
    db.store.commit(w.tenant_id(), ChangeSet { candidates: vec![erase], ..ChangeSet::default() }).await.unwrap();
    assert_eq!(count("name_tokens", 1).await, 0);
    assert_eq!(count("thread_reads", 1).await, 0);
    assert!(find("erika").await.unwrap().is_empty());
}

/// Issue 19: the first messages of new senders share group commits, and their candidates,
/// contact-index and name-index rows are written multi-row with the batch. A number that belongs
/// to another candidate (also to another new one in the same burst) or an id taken already
/// fails its change set alone, with the same error as a commit of its own, and leaves nothing
/// behind; the others are stored, found by number and by name, and audited in one chain.
async fn new_senders_share_batches_and_their_duplicates_fail_alone(db: &Db) {
    use hoheit_domain::ids::CandidateId;
    use hoheit_domain::names::tokens;
    use hoheit_domain::ports::{DuplicateKey, NameSearch, Queries};
    use hoheit_domain::testing::contract::join_all;
    let w = World::new();
    seed(&db.store, &w).await;
    let first = new_candidate(&w, 1, NUMBER);
    insert(&db.store, &w, &first).await;
    let number = |i: u128| match i {
        // the number of candidate 1
        3 | 19 => NUMBER.to_owned(),
        // one new number for two new senders of the burst: one of them gets it
        20 | 21 => "+49 170 5559999".to_owned(),
        _ => format!("+49 170 555{i:04}"),
    };
    // candidate 1's id again, with a number of its own
    let id = |i: u128| if i == 11 || i == 29 { 1 } else { 100 + i };
    let commits = (0..40u128).map(|i| {
        let store = db.store.clone();
        let candidate = new_candidate(&w, id(i), &number(i));
        let changes = ChangeSet {
            candidates: vec![CandidateChange::Insert { candidate: Box::new(candidate.clone()), retention_due: None }],
            messages: vec![MessageChange::Insert(Box::new(inbound_message(
                &w,
                candidate.id,
                1000 + i,
                &format!("wamid.new{i}"),
                "Hallo",
            )))],
            events: vec![event(&w, Some(candidate.id), DomainEvent::HelpRequested)],
            ..ChangeSet::default()
        };
        let tenant = w.tenant_id();
        async move { (i, store.commit(tenant, changes).await) }
    });
    let mut stored = Vec::new();
    let mut shared_number = Vec::new();
    for (i, result) in join_all(commits.collect()).await {
        match i {
            3 | 19 => assert_eq!(result, Err(StoreError::Duplicate(DuplicateKey::Contact)), "{i}"),
            11 | 29 => assert_eq!(result, Err(StoreError::Duplicate(DuplicateKey::Id)), "{i}"),
            20 | 21 => {
                shared_number.push(result.clone());
                if result.is_ok() {
                    stored.push(i);
                }
            }
            _ => {
                assert!(result.is_ok(), "{i}: {result:?}");
                stored.push(i);
            }
        }
    }
    assert_eq!(shared_number.iter().filter(|r| r.is_ok()).count(), 1, "{shared_number:?}");
    assert!(shared_number.contains(&Err(StoreError::Duplicate(DuplicateKey::Contact))), "{shared_number:?}");
    assert_eq!(stored.len(), 35);
    let t = w.tenant_id();
    for &i in &stored {
        let key = ContactKey::Phone(PhoneNumber::parse(&number(i)).unwrap());
        let found = db.store.candidate_by_contact(t, &key).await.unwrap().unwrap();
        assert_eq!(found.id, CandidateId::from_uuid(Uuid::from_u128(100 + i)), "{i}");
        assert_eq!(db.store.messages(t, found.id).await.unwrap().len(), 1, "{i}");
    }
    // the refused ones left nothing: no candidate, no index row, no message
    for i in [3u128, 19] {
        assert!(db.store.candidate(t, CandidateId::from_uuid(Uuid::from_u128(100 + i))).await.unwrap().is_none());
    }
    let key = ContactKey::Phone(PhoneNumber::parse(NUMBER).unwrap());
    assert_eq!(db.store.candidate_by_contact(t, &key).await.unwrap().unwrap().id, first.id);
    assert_eq!(db.store.messages(t, first.id).await.unwrap().len(), 0);
    assert_eq!(raw_count(db, "SELECT COUNT(*) FROM candidates", vec![]).await, 36);
    assert_eq!(raw_count(db, "SELECT COUNT(*) FROM contact_index", vec![]).await, 36);
    let search = NameSearch { tokens: tokens("erika muster"), include_restricted: false, limit: 100 };
    assert_eq!(Queries::candidates_by_name(&db.store, t, search).await.unwrap().len(), 36);
    let key = CheckpointSigner::generate(&mut rand::rngs::OsRng).public_key();
    match db.store.verify_audit(t, vec![], &key).await.unwrap() {
        VerifyOutcome::Ok(report) => assert!(report.entries_verified >= 35, "{}", report.entries_verified),
        VerifyOutcome::Broken(b) => panic!("audit chain broken: {b:?}"),
    }
}
