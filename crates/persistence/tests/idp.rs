//! Identity provider settings and pending OpenID Connect sign-ins (m0010), on SQLite and
//! PostgreSQL: sealed at rest, the secret kept when not replaced, a pending sign-in taken once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;

use common::Db;
use hoheit_domain::actor::Role;
use hoheit_domain::idp::{GroupRole, IdpSettings, RoleSource};
use hoheit_domain::ids::TenantId;
use hoheit_domain::tenant::Actor;
use hoheit_domain::testing::{FakeGateway, FixedClock, SequentialIds};
use hoheit_domain::usecases::Hoheit;
use sea_orm::ConnectionTrait as _;
use time::macros::datetime;

async fn tenant(db: &Db) -> TenantId {
    let app = Hoheit::new(
        Arc::new(db.store.clone()),
        Arc::new(FakeGateway::default()),
        Arc::new(FixedClock::new(datetime!(2026-12-07 10:00 UTC))),
        Arc::new(SequentialIds::new(7)),
    );
    app.create_tenant(Actor::System, "Acme").await.unwrap().id
}

fn settings() -> IdpSettings {
    IdpSettings::new(
        true,
        "https://sso.example.de/realms/acme",
        "hoheit",
        &["example.de".to_owned()],
        RoleSource::Claims { mapping: vec![GroupRole { group: "hr".into(), role: Role::Recruiter }] },
        "groups",
        true,
    )
    .unwrap()
}

async fn settings_are_sealed_and_the_secret_is_kept(db: Db) {
    let tenant = tenant(&db).await;
    let now = datetime!(2026-12-07 10:00 UTC);
    assert!(db.store.idp_settings(tenant).await.unwrap().is_none());
    db.store.save_idp_settings(tenant, &settings(), Some("very-secret-client-secret"), now).await.unwrap();
    let stored = db.store.idp_settings(tenant).await.unwrap().unwrap();
    assert_eq!(stored.settings, settings());
    assert_eq!(stored.client_secret.as_deref().map(String::as_str), Some("very-secret-client-secret"));
    assert!(!format!("{stored:?}").contains("very-secret"));

    // nothing readable at rest
    let rows = db
        .store
        .connection()
        .query_all_raw(sea_orm::Statement::from_string(
            db.store.connection().get_database_backend(),
            "SELECT data FROM idp_settings",
        ))
        .await
        .unwrap();
    let data: Vec<u8> = rows[0].try_get("", "data").unwrap();
    let text = String::from_utf8_lossy(&data);
    assert!(!text.contains("very-secret") && !text.contains("sso.example.de"));

    // saving without a secret keeps it; with one replaces it
    let off = IdpSettings::new(
        false,
        "https://sso.example.de/realms/acme",
        "hoheit",
        &[],
        RoleSource::Hoheit,
        "groups",
        true,
    )
    .unwrap();
    db.store.save_idp_settings(tenant, &off, None, now).await.unwrap();
    let stored = db.store.idp_settings(tenant).await.unwrap().unwrap();
    assert_eq!(stored.settings, off);
    assert_eq!(stored.client_secret.as_deref().map(String::as_str), Some("very-secret-client-secret"));
    db.store.save_idp_settings(tenant, &off, Some("new"), now).await.unwrap();
    let stored = db.store.idp_settings(tenant).await.unwrap().unwrap();
    assert_eq!(stored.client_secret.as_deref().map(String::as_str), Some("new"));
}

async fn a_pending_login_is_taken_once_across_replicas(db: Db) {
    let tenant = tenant(&db).await;
    let now = datetime!(2026-12-07 10:00 UTC);
    db.store.put_pending_login(tenant, "state-1", b"{\"pending\":1}", now).await.unwrap();
    db.store.put_pending_login(tenant, "state-old", b"{}", now - time::Duration::minutes(20)).await.unwrap();
    let replica = db.reopen().await;
    assert!(db.store.take_pending_login("unknown").await.unwrap().is_none());
    let (t, data, created) = replica.take_pending_login("state-1").await.unwrap().unwrap();
    assert_eq!((t, data.as_slice(), created), (tenant, &b"{\"pending\":1}"[..], now));
    assert!(db.store.take_pending_login("state-1").await.unwrap().is_none(), "single use on every replica");
    assert_eq!(db.store.purge_pending_logins(now - time::Duration::minutes(10)).await.unwrap(), 1);
    assert!(db.store.take_pending_login("state-old").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_settings_are_sealed_and_the_secret_is_kept() {
    settings_are_sealed_and_the_secret_is_kept(Db::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_settings_are_sealed_and_the_secret_is_kept() {
    let Some(db) = Db::postgres().await else { return };
    settings_are_sealed_and_the_secret_is_kept(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_pending_login_is_taken_once_across_replicas() {
    a_pending_login_is_taken_once_across_replicas(Db::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_pending_login_is_taken_once_across_replicas() {
    let Some(db) = Db::postgres().await else { return };
    a_pending_login_is_taken_once_across_replicas(db).await;
}
