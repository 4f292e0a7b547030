//! Staff accounts, invitations, recovery codes, throttles and sessions (issue 16) on the real
//! databases: personal data sealed (nothing in clear in the rows), found by blind index,
//! optimistic locking, single-use invitations and recovery codes, session rotation and
//! revocation, throttles counted atomically. Each test runs on SQLite and, with
//! `HOHEIT_TEST_POSTGRES_URL` (`scripts/test`), on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::Db;
use hoheit_domain::credential::{Invitation, InvitationOrigin};
use hoheit_domain::ids::{StaffId, TenantId};
use hoheit_domain::ports::{AccountStore, StoreError};
use hoheit_domain::staff::{
    Email, IdpBinding, PasswordHash, SecretText, Session, SessionHash, SessionSettings, SessionStage, SignInMethod,
    StaffAccount, StaffLanguage, StaffStatus, ThrottleKey, TotpEnrolment,
};
use hoheit_domain::tenant::Role;
use hoheit_domain::testing::contract::seed;
use hoheit_domain::testing::fixtures::World;
use hoheit_domain::values::Pii;
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
    accounts_are_sealed_found_by_blind_index_and_locked_optimistically,
    invitations_create_and_accept_accounts_once,
    recovery_codes_are_single_use,
    sessions_rotate_revoke_and_list,
    throttles_count_atomically_and_clear,
);

fn staff(n: u128) -> StaffId {
    StaffId::from_uuid(Uuid::from_u128(n))
}

fn account(w: &World, n: u128, email: &str, role: Role) -> StaffAccount {
    let mut a = StaffAccount::invited(
        staff(n),
        w.tenant_id(),
        role,
        Email::parse(email).unwrap(),
        "Anna Canary-Berg".into(),
        StaffLanguage::En,
        Some(staff(1)),
        w.now,
    );
    a.status = StaffStatus::Active;
    a
}

async fn raw_rows(db: &Db, sql: &str) -> Vec<sea_orm::QueryResult> {
    let conn = db.store.connection();
    conn.query_all_raw(Statement::from_string(conn.get_database_backend(), sql.to_owned())).await.unwrap()
}

async fn accounts_are_sealed_found_by_blind_index_and_locked_optimistically(db: &Db) {
    let w = World::new();
    seed(&db.store, &w).await;
    let mut a = account(&w, 10, "Anna.Canary@Example.com", Role::Admin);
    a.password = Some(PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"));
    a.totp =
        Some(TotpEnrolment { secret: SecretText::new("JBSWY3DPEHPK3PXPCANARY"), confirmed: true, last_step: Some(7) });
    a.idp = Some(IdpBinding { issuer: "https://idp.example".into(), subject: Pii::new("canary-subject-42".into()) });
    let inv = Invitation::new(a.id, w.tenant_id(), Role::Admin, InvitationOrigin::TenantCreated, None, w.now);
    db.store.create_invited_account(&a, &inv, "hoi_secret").await.unwrap();
    let back = db.store.account(w.tenant_id(), a.id).await.unwrap().unwrap();
    assert_eq!(back, a);
    assert_eq!(db.store.account_by_id(a.id).await.unwrap().unwrap(), a);
    let found =
        db.store.account_by_email(w.tenant_id(), &Email::parse("anna.canary@example.com").unwrap()).await.unwrap();
    assert_eq!(found.map(|f| f.id), Some(a.id));
    let by_idp = db.store.account_by_idp(w.tenant_id(), "https://idp.example", "canary-subject-42").await.unwrap();
    assert_eq!(by_idp.map(|f| f.id), Some(a.id));
    assert!(
        db.store.account_by_idp(w.tenant_id(), "https://other.example", "canary-subject-42").await.unwrap().is_none()
    );
    // another tenant does not see it
    let other = TenantId::from_uuid(Uuid::from_u128(0xdead));
    assert!(db.store.account(other, a.id).await.unwrap().is_none());
    assert!(
        db.store.account_by_email(other, &Email::parse("anna.canary@example.com").unwrap()).await.unwrap().is_none()
    );
    // nothing personal or secret in clear in the row
    for row in raw_rows(db, "SELECT * FROM staff_accounts").await {
        for col in ["email_sealed", "name_sealed", "totp_sealed", "idp_subject_sealed", "email_hash"] {
            let bytes: Vec<u8> = row.try_get("", col).unwrap();
            let text = String::from_utf8_lossy(&bytes).to_lowercase();
            assert!(!text.contains("canary") && !text.contains("example"), "{col} in clear");
        }
    }
    // the same e-mail is taken in the tenant
    let dup = account(&w, 11, "anna.canary@example.com", Role::Recruiter);
    let inv2 = Invitation::new(dup.id, w.tenant_id(), Role::Recruiter, InvitationOrigin::TenantCreated, None, w.now);
    assert!(matches!(db.store.create_invited_account(&dup, &inv2, "hoi_other").await, Err(StoreError::Duplicate(_))));
    // optimistic locking
    let mut changed = back.clone();
    changed.role = Role::Recruiter;
    db.store.save_account(&changed).await.unwrap();
    assert_eq!(db.store.save_account(&changed).await, Err(StoreError::Conflict), "a stale version is refused");
    let now = db.store.account(w.tenant_id(), a.id).await.unwrap().unwrap();
    assert_eq!((now.role, now.version), (Role::Recruiter, 1));
    assert_eq!(db.store.accounts(w.tenant_id()).await.unwrap().len(), 1);
}

async fn invitations_create_and_accept_accounts_once(db: &Db) {
    let w = World::new();
    seed(&db.store, &w).await;
    // an invitation without an account (a tenant's first admin) creates it on acceptance
    let inv = Invitation::new(staff(20), w.tenant_id(), Role::Admin, InvitationOrigin::TenantCreated, None, w.now);
    db.store.create_invitation(&inv, "hoi_first").await.unwrap();
    assert_eq!(AccountStore::invitation(&db.store, "hoi_first").await.unwrap().map(|i| i.id), Some(staff(20)));
    let first = account(&w, 20, "first@example.com", Role::Admin);
    assert!(db.store.accept_invitation_account(inv.id, &first, w.now).await.unwrap());
    assert!(!db.store.accept_invitation_account(inv.id, &first, w.now).await.unwrap(), "single use");
    assert_eq!(db.store.account(w.tenant_id(), staff(20)).await.unwrap().unwrap().status, StaffStatus::Active);
    // an invited account is completed on acceptance
    let mut invited = account(&w, 21, "second@example.com", Role::Recruiter);
    invited.status = StaffStatus::Invited;
    let inv2 = Invitation::new(staff(21), w.tenant_id(), Role::Recruiter, InvitationOrigin::TenantCreated, None, w.now);
    db.store.create_invited_account(&invited, &inv2, "hoi_second").await.unwrap();
    let mut accepted = invited.clone();
    accepted.status = StaffStatus::Active;
    accepted.password = Some(PasswordHash::new("$argon2id$x"));
    assert!(db.store.accept_invitation_account(inv2.id, &accepted, w.now).await.unwrap());
    let back = db.store.account(w.tenant_id(), staff(21)).await.unwrap().unwrap();
    assert_eq!((back.status, back.password.is_some(), back.version), (StaffStatus::Active, true, 1));
    // an expired invitation is not accepted
    let inv3 = Invitation::new(staff(22), w.tenant_id(), Role::Dpo, InvitationOrigin::TenantCreated, None, w.now);
    db.store.create_invitation(&inv3, "hoi_third").await.unwrap();
    let late = w.now + Duration::hours(73);
    assert!(
        !db.store.accept_invitation_account(inv3.id, &account(&w, 22, "t@example.com", Role::Dpo), late).await.unwrap()
    );
    assert!(db.store.account(w.tenant_id(), staff(22)).await.unwrap().is_none());
}

async fn recovery_codes_are_single_use(db: &Db) {
    let w = World::new();
    seed(&db.store, &w).await;
    let a = account(&w, 30, "codes@example.com", Role::Dpo);
    let inv = Invitation::new(a.id, w.tenant_id(), Role::Dpo, InvitationOrigin::TenantCreated, None, w.now);
    db.store.create_invited_account(&a, &inv, "hoi_codes").await.unwrap();
    let codes: Vec<[u8; 32]> = (0u8..10).map(|i| [i; 32]).collect();
    db.store.set_recovery_codes(w.tenant_id(), a.id, &codes).await.unwrap();
    assert_eq!(db.store.recovery_codes_left(w.tenant_id(), a.id).await.unwrap(), 10);
    assert!(db.store.use_recovery_code(w.tenant_id(), a.id, &[3; 32], w.now).await.unwrap());
    assert!(!db.store.use_recovery_code(w.tenant_id(), a.id, &[3; 32], w.now).await.unwrap(), "once");
    assert!(!db.store.use_recovery_code(w.tenant_id(), a.id, &[99; 32], w.now).await.unwrap());
    assert_eq!(db.store.recovery_codes_left(w.tenant_id(), a.id).await.unwrap(), 9);
    // renewed: the old ones stop working
    db.store.set_recovery_codes(w.tenant_id(), a.id, &[[42; 32]]).await.unwrap();
    assert!(!db.store.use_recovery_code(w.tenant_id(), a.id, &[4; 32], w.now).await.unwrap());
    assert_eq!(db.store.recovery_codes_left(w.tenant_id(), a.id).await.unwrap(), 1);
}

fn session(w: &World, staff_id: StaffId, cookie: &str, stage: SessionStage) -> Session {
    Session::new(
        Uuid::now_v7(),
        SessionHash::of(&SecretText::new(cookie)),
        w.tenant_id(),
        staff_id,
        stage,
        SignInMethod::Local,
        Some("Mozilla/5.0 Firefox/128.0"),
        &SessionSettings::default(),
        w.now,
    )
}

async fn sessions_rotate_revoke_and_list(db: &Db) {
    let w = World::new();
    seed(&db.store, &w).await;
    let a = account(&w, 40, "sessions@example.com", Role::Recruiter);
    let inv = Invitation::new(a.id, w.tenant_id(), Role::Recruiter, InvitationOrigin::TenantCreated, None, w.now);
    db.store.create_invited_account(&a, &inv, "hoi_sessions").await.unwrap();
    let pending = session(&w, a.id, "cookie-pending", SessionStage::SecondFactor);
    db.store.create_session(&pending).await.unwrap();
    assert_eq!(db.store.session(&pending.hash).await.unwrap(), Some(pending.clone()));
    // rotation: the old cookie stops, the new one works; rotating twice fails
    let full = session(&w, a.id, "cookie-full", SessionStage::Full);
    assert!(db.store.rotate_session(&pending.hash, &full, w.now).await.unwrap());
    assert!(db.store.session(&pending.hash).await.unwrap().unwrap().revoked_at.is_some());
    let again = session(&w, a.id, "cookie-again", SessionStage::Full);
    assert!(!db.store.rotate_session(&pending.hash, &again, w.now).await.unwrap());
    assert!(db.store.session(&again.hash).await.unwrap().is_none());
    // touch
    let later = w.now + Duration::minutes(5);
    db.store.touch_session(&full.hash, later).await.unwrap();
    assert_eq!(
        db.store.session(&full.hash).await.unwrap().unwrap().last_seen_at.unix_timestamp(),
        later.unix_timestamp()
    );
    // list, revoke one, revoke all
    let second = session(&w, a.id, "cookie-second", SessionStage::Full);
    db.store.create_session(&second).await.unwrap();
    assert_eq!(db.store.sessions(a.id, w.now).await.unwrap().len(), 2);
    assert!(db.store.revoke_session(a.id, second.id, w.now).await.unwrap());
    assert!(!db.store.revoke_session(a.id, second.id, w.now).await.unwrap());
    assert!(!db.store.revoke_session(staff(999), full.id, w.now).await.unwrap(), "only one's own");
    assert_eq!(db.store.sessions(a.id, w.now).await.unwrap().len(), 1);
    assert_eq!(db.store.revoke_sessions(a.id, w.now).await.unwrap(), 1);
    assert!(db.store.sessions(a.id, w.now).await.unwrap().is_empty());
    // the cookie value is not in the table
    for row in raw_rows(db, "SELECT hash FROM staff_sessions").await {
        let bytes: Vec<u8> = row.try_get("", "hash").unwrap();
        assert_eq!(bytes.len(), 32);
        assert!(!String::from_utf8_lossy(&bytes).contains("cookie"));
    }
}

async fn throttles_count_atomically_and_clear(db: &Db) {
    let w = World::new();
    seed(&db.store, &w).await;
    let key = ThrottleKey::Email(w.tenant_id(), Email::parse("nobody@example.com").unwrap());
    let source = ThrottleKey::Source(w.tenant_id(), Pii::new("203.0.113.9".into()));
    assert_eq!(db.store.throttle(&key).await.unwrap(), None);
    for n in 1..=5u32 {
        let t = db.store.record_failure(&key, w.now + Duration::seconds(i64::from(n))).await.unwrap();
        assert_eq!(t.failures, n);
    }
    assert_eq!(db.store.throttle(&source).await.unwrap(), None, "keys are apart");
    // concurrent failures all count
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (store, source, now) = (db.store.clone(), source.clone(), w.now);
            tokio::spawn(async move { store.record_failure(&source, now).await.unwrap() })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(db.store.throttle(&source).await.unwrap().unwrap().failures, 10);
    // a day later the count starts again
    let t = db.store.record_failure(&key, w.now + Duration::hours(25)).await.unwrap();
    assert_eq!(t.failures, 1);
    db.store.clear_throttle(&key).await.unwrap();
    assert_eq!(db.store.throttle(&key).await.unwrap(), None);
    // the address is not stored in clear
    for row in raw_rows(db, "SELECT key_hash FROM sign_in_throttles").await {
        let bytes: Vec<u8> = row.try_get("", "key_hash").unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("203.0.113"));
    }
}
