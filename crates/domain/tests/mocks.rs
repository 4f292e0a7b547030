//! Interaction tests with mockall mocks of the ports: what the use cases call, how often, and
//! with what — the contract seen from the domain side.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::Arc;

use futures_executor::block_on;
use hoheit_domain::events::DomainEvent;
use hoheit_domain::inbound::{ContactRef, InboundContent, InboundMessage};
use hoheit_domain::policy::RefusalCode;
use hoheit_domain::ports::{
    ChangeSet, CommitReport, DuplicateKey, MockMessagingGateway, MockStore, OutboxChange, StoreError,
};
use hoheit_domain::tenant::Role;
use hoheit_domain::testing::contract::outbox_entry;
use hoheit_domain::testing::fixtures::{World, staff};
use hoheit_domain::testing::{FixedClock, SequentialIds};
use hoheit_domain::usecases::{DispatchOutcome, Hoheit, InboundOutcome, MessageRequest, UseCaseError};
use hoheit_domain::values::{WaId, Wamid};
use mockall::predicate::always;

fn app(store: MockStore, gateway: MockMessagingGateway, world: &World) -> Hoheit {
    Hoheit::new(
        Arc::new(store),
        Arc::new(gateway),
        Arc::new(FixedClock::new(world.now)),
        Arc::new(SequentialIds::new(3)),
    )
}

/// A mock store that knows the world's tenant.
fn store_of(world: &World) -> MockStore {
    let mut store = MockStore::new();
    let config = world.config.clone();
    store.expect_tenant_config().returning(move |_| Ok(Some(Arc::new(config.clone()))));
    store
}

/// A text from the world's candidate number, sent now.
fn text_from_candidate(world: &World, wamid: &str, body: &str) -> InboundMessage {
    InboundMessage {
        provider_id: Wamid::parse(wamid).unwrap(),
        from: ContactRef { wa_id: Some(WaId::parse("491701234567").unwrap()), user_id: None, profile_name: None },
        timestamp: world.now,
        content: InboundContent::Text { body: body.into() },
        context: None,
    }
}

#[test]
fn a_refused_send_commits_only_the_audited_refusal() {
    let world = World::new();
    let mut store = store_of(&world);
    let candidate = world.candidate();
    let id = candidate.id;
    store.expect_candidate().returning(move |_, _| Ok(Some(candidate.clone())));
    store
        .expect_commit()
        .times(1)
        .withf(|_, changes: &ChangeSet| {
            changes.outbox.is_empty()
                && changes.messages.is_empty()
                && changes.candidates.is_empty()
                && matches!(
                    changes.events.as_slice(),
                    [e] if matches!(e.event, DomainEvent::SendRefused { code: RefusalCode::ConsentMissing, at_dispatch: false, .. })
                )
        })
        .returning(|_, _| Ok(CommitReport::default()));
    let mut gateway = MockMessagingGateway::new();
    gateway.expect_send().never();
    let app = app(store, gateway, &world);
    let result =
        block_on(app.send_message(world.tenant_id(), staff(Role::Recruiter), id, MessageRequest::Text("Hallo".into())));
    assert!(matches!(result, Err(UseCaseError::Refused(r)) if r.code == RefusalCode::ConsentMissing));
}

#[test]
fn the_dispatcher_never_calls_the_gateway_when_the_recheck_refuses() {
    let mut world = World::new();
    world.config.channels[0].approval.as_mut().unwrap().revoked_at = Some(world.now);
    let candidate = world.engaged_candidate();
    let entry = outbox_entry(&world, candidate.id, 5, 6, "Hallo");
    let mut store = store_of(&world);
    store.expect_candidate().returning(move |_, _| Ok(Some(candidate.clone())));
    let entry_id = entry.id;
    store
        .expect_commit()
        .times(1)
        .withf(move |_, c: &ChangeSet| c.outbox == vec![OutboxChange::Complete { id: entry_id }])
        .returning(|_, _| Ok(CommitReport::default()));
    let mut gateway = MockMessagingGateway::new();
    gateway.expect_send().never();
    let app = app(store, gateway, &world);
    assert_eq!(block_on(app.dispatch(&entry)).unwrap(), DispatchOutcome::Refused(RefusalCode::ChannelNotApproved));
}

#[test]
fn a_redelivered_webhook_is_a_duplicate_and_not_retried() {
    let world = World::new();
    let mut store = store_of(&world);
    let candidate = world.engaged_candidate();
    store.expect_candidate_by_contact().with(always(), always()).returning(move |_, _| Ok(Some(candidate.clone())));
    store.expect_commit().times(1).returning(|_, _| Err(StoreError::Duplicate(DuplicateKey::InboundMessage)));
    let app = app(store, MockMessagingGateway::new(), &world);
    let msg = text_from_candidate(&world, "wamid.again", "STOPP");
    assert_eq!(
        block_on(app.receive_inbound(world.tenant_id(), world.channel().id, &msg)).unwrap(),
        InboundOutcome::Duplicate
    );
}

#[test]
fn an_unavailable_store_surfaces_as_an_error_not_as_success() {
    let world = World::new();
    let mut store = MockStore::new();
    store.expect_tenant_config().returning(|_| Err(StoreError::Unavailable("connection refused".into())));
    let app = app(store, MockMessagingGateway::new(), &world);
    let msg = text_from_candidate(&world, "wamid.x", "Hallo");
    assert!(matches!(
        block_on(app.receive_inbound(world.tenant_id(), world.channel().id, &msg)),
        Err(UseCaseError::Store(StoreError::Unavailable(_)))
    ));
}
