//! Append and verify throughput (entries per second).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use hoheit_audit::{AuditDraft, ChainHead, CheckpointSigner, StoredEntry, Verifier, append, append_all};
use hoheit_domain::consent::{CaptureChannel, ConsentMethodKind, Purpose};
use hoheit_domain::events::{DomainEvent, EventEnvelope};
use hoheit_domain::ids::{CandidateId, StaffId, TenantId};
use hoheit_domain::rules::Rule;
use hoheit_domain::tenant::{Actor, Role};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

const N: u64 = 10_000;

fn tenant() -> TenantId {
    TenantId::from_uuid(Uuid::from_u128(0x1111))
}

fn draft(i: u64) -> AuditDraft {
    let envelope = EventEnvelope {
        tenant: tenant(),
        subject: Some(CandidateId::from_uuid(Uuid::from_u128(u128::from(i)))),
        actor: Actor::Staff { id: StaffId::from_uuid(Uuid::from_u128(7)), role: Role::Recruiter },
        at: now(),
        rule: Some(Rule::R4),
        event: DomainEvent::ConsentGranted {
            purpose: Purpose::WhatsAppChannel,
            method: ConsentMethodKind::ButtonReply,
            capture_channel: CaptureChannel::WhatsApp,
        },
    };
    AuditDraft::from_event(&envelope).expect("audited")
}

fn now() -> OffsetDateTime {
    datetime!(2025-06-01 12:00 UTC)
}

fn chain() -> (Vec<StoredEntry>, ChainHead) {
    let (entries, head) = append_all(&ChainHead::genesis(tenant()), (0..N).map(draft), now()).unwrap();
    (entries.into_iter().map(|e| e.into_stored()).collect(), head)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("audit");
    group.throughput(Throughput::Elements(N));

    group.bench_function("append", |b| {
        b.iter_batched(
            || (0..N).map(draft).collect::<Vec<_>>(),
            |drafts| {
                let mut head = ChainHead::genesis(tenant());
                for d in drafts {
                    let (entry, next) = append(&head, d, now()).unwrap();
                    black_box(entry);
                    head = next;
                }
                head
            },
            BatchSize::LargeInput,
        );
    });

    let (stored, head) = chain();
    let signer = CheckpointSigner::from_secret_bytes(&[9; 32]).unwrap();
    let checkpoint = signer.sign(&head, now());
    let key = signer.public_key();
    group.bench_function("verify", |b| {
        b.iter(|| {
            let report = Verifier::verify_all(tenant(), vec![checkpoint.clone()], &key, &stored).unwrap();
            black_box(report)
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
