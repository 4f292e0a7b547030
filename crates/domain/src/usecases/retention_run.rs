//! Retention runs (R23-R28), erasure requests (Art. 17, R27, R31) and the subject export plan
//! (Art. 15/20, R30).

use serde::Serialize;
use std::sync::Arc;

use time::OffsetDateTime;

use super::permitted;
use super::transact::{Decided, Retry, stage_candidate};
use super::{Hoheit, Recorder, UseCaseError};
use crate::access::Action;
use crate::accountability::{DataRecipient, recipients};
use crate::actor::Actor;
use crate::candidate::{Candidate, ErasureReason, Lifecycle, Process, ProcessEndReason, RestrictionReason};
use crate::consent::CaptureChannel;
use crate::consent::{ConsentState, Purpose};
use crate::conversation::Message;
use crate::events::{ContentKind, DomainEvent, RetentionCounts};
use crate::ids::{CandidateId, TenantId};
use crate::media::MediaRecord;
use crate::policy::{Refusal, RefusalCode};
use crate::ports::{CandidateChange, ChangeSet, OutboxChange, StoreError, TenantConfig};
use crate::retention::{ErasureRequestOutcome, RetentionDecision, decide, erasure_request, next_due};
use crate::rules::Rule;
use crate::subject_request::{Fulfilment, SubjectRequest, SubjectRequestKind};

/// Candidates per retention batch (one commit each).
const RETENTION_BATCH: u32 = 200;

/// The answer to an erasure request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErasureOutcome {
    /// Erased now.
    Erased,
    /// Refused in part: restricted now, erased when the legal-claims window ends (R31).
    Deferred {
        /// When it will be erased.
        until: OffsetDateTime,
    },
    /// Was erased before.
    AlreadyErased,
}

/// Everything hoheit holds about a candidate, for the Art. 15/20 export. The server adds the
/// candidate's audit entries and serialises it as one schema-versioned JSON document.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectExport {
    /// Schema version of the document.
    pub schema_version: u32,
    /// When it was produced.
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// The controller.
    pub controller: String,
    /// The candidate aggregate (contact, consents, objection, holds, process, lifecycle).
    pub candidate: Candidate,
    /// Consent state per purpose now.
    pub consent_state: Vec<(Purpose, ConsentState)>,
    /// When retention will next act.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub retention_due_at: Option<OffsetDateTime>,
    /// Every message, both directions.
    pub messages: Vec<Message>,
    /// The media files (records: kind, type, size, SHA-256, provider reference; the bytes are
    /// read one by one through the audited media read).
    pub media: Vec<MediaRecord>,
    /// The candidate's subject requests.
    pub subject_requests: Vec<SubjectRequest>,
    /// Recipients of the data (Art. 15(1)(c)) and transfers (Art. 15(2)).
    pub recipients: Vec<DataRecipient>,
}

impl Hoheit {
    /// Runs retention for a tenant (R28): restricts and erases what is due, idempotently, in
    /// batches; `dry_run` only counts. Safe to run on several replicas at once (optimistic locks).
    pub async fn run_retention(
        &self,
        tenant: TenantId,
        actor: Actor,
        dry_run: bool,
    ) -> Result<RetentionCounts, UseCaseError> {
        let config = self.config(tenant).await?;
        let now = self.now();
        let mut counts = RetentionCounts::default();
        let mut seen = std::collections::HashSet::new();
        loop {
            let due = self.store.retention_due(tenant, now, RETENTION_BATCH).await?;
            let fresh: Vec<CandidateId> = due.into_iter().filter(|id| seen.insert(*id)).collect();
            if fresh.is_empty() {
                break;
            }
            let mut batch = ChangeSet::default();
            let mut singles = Vec::new();
            for id in &fresh {
                let Some(candidate) = self.store.candidate(tenant, *id).await? else {
                    continue;
                };
                counts.examined += 1;
                if let Some(change) = retention_change(&config, &candidate, actor, now, &mut counts) {
                    singles.push(*id);
                    if !dry_run {
                        batch.extend(change);
                    }
                } else if !dry_run {
                    // nothing to do now: store the next due time so it is not examined again
                    batch.candidates.push(CandidateChange::Update {
                        retention_due: next_due(&candidate, &config.tenant.retention, now),
                        expected_version: candidate.version,
                        candidate: Box::new(candidate),
                    });
                }
            }
            if dry_run || batch.is_empty() {
                continue;
            }
            match self.store.commit(tenant, batch).await {
                Ok(_) => {}
                Err(StoreError::Conflict) => {
                    // someone changed one of them meanwhile: redo this batch one by one
                    for id in singles {
                        self.retain_one(&config, id, actor).await?;
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        let run =
            Recorder::new(tenant, None, actor, now).rule(Rule::R28, DomainEvent::RetentionRun { dry_run, counts });
        self.commit_events(tenant, vec![run]).await?;
        Ok(counts)
    }

    /// Retention for one candidate whose batch lost a race; gives up quietly when it keeps
    /// losing (the next run examines the candidate again).
    async fn retain_one(&self, config: &TenantConfig, id: CandidateId, actor: Actor) -> Result<(), UseCaseError> {
        let tenant = config.tenant.id;
        let load = || async move { Ok((self.store.candidate(tenant, id).await?, self.now())) };
        let decide = |(candidate, now): (Option<Candidate>, OffsetDateTime)| {
            let mut ignored = RetentionCounts::default();
            Ok(match candidate.and_then(|c| retention_change(config, &c, actor, now, &mut ignored)) {
                Some(change) => Decided::Commit(change, ()),
                None => Decided::Done(()),
            })
        };
        match self.transact(tenant, Retry::CONFLICT, load, decide).await {
            Err(UseCaseError::Store(StoreError::Conflict)) => Ok(()),
            other => other,
        }
    }

    /// An erasure request (Art. 17): erase now, or — inside the legal-claims window after a
    /// rejection — restrict now and erase when it ends (R31). A legal hold refuses (R26). The
    /// request is entered in the register with its outcome.
    pub async fn request_erasure(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: CandidateId,
    ) -> Result<ErasureOutcome, UseCaseError> {
        self.erase_on_request(tenant, actor, id, None).await.map(|(outcome, _)| outcome)
    }

    /// Erasure answering a request already in the register (R29-R31): the request is closed with
    /// a link to what happened (erased, or deferred with the date) in the same commit.
    pub(crate) async fn erase_on_request(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: CandidateId,
        existing: Option<SubjectRequest>,
    ) -> Result<(ErasureOutcome, Option<SubjectRequest>), UseCaseError> {
        permitted(actor, Action::HandleSubjectRequests, "only an admin or the data-protection officer can erase")?;
        let request_id = self.new_id();
        let decide = |(config, mut candidate, now): (Arc<TenantConfig>, Candidate, OffsetDateTime)| {
            let expected_version = candidate.version;
            let rec = Recorder::new(tenant, Some(id), actor, now);
            let opened_here = existing.is_none();
            let mut request = existing.clone().unwrap_or_else(|| {
                SubjectRequest::open(
                    request_id,
                    tenant,
                    Some(id),
                    SubjectRequestKind::Erasure,
                    CaptureChannel::Email,
                    now,
                )
            });
            let mut changes = ChangeSet::default();
            let outcome = match erasure_request(&candidate, &config.tenant.retention, now) {
                ErasureRequestOutcome::AlreadyErased => {
                    let Lifecycle::Erased { at, .. } = candidate.lifecycle else {
                        return Ok(Decided::Done((ErasureOutcome::AlreadyErased, None)));
                    };
                    if opened_here {
                        return Ok(Decided::Done((ErasureOutcome::AlreadyErased, None)));
                    }
                    request.close_with(Fulfilment::Erasure { at })?;
                    ErasureOutcome::AlreadyErased
                }
                ErasureRequestOutcome::Held => {
                    return Err(UseCaseError::Refused(Refusal { code: RefusalCode::LegalHold, rule: Rule::R26 }));
                }
                ErasureRequestOutcome::EraseNow => {
                    if candidate.process == Process::Running {
                        candidate.process = Process::Ended { reason: ProcessEndReason::Withdrawn, at: now };
                        changes.events.push(
                            rec.rule(Rule::R24, DomainEvent::ProcessEnded { reason: ProcessEndReason::Withdrawn }),
                        );
                    }
                    request.close_with(Fulfilment::Erasure { at: now })?;
                    erase(&mut changes, &candidate, actor, now, ErasureReason::SubjectRequest, expected_version);
                    ErasureOutcome::Erased
                }
                ErasureRequestOutcome::Deferred { until } => {
                    request.close_with(Fulfilment::ErasureDeferred { at: now, erase_at: until })?;
                    candidate.erasure_deferred_until = Some(until);
                    candidate.lifecycle =
                        Lifecycle::Restricted { since: now, reason: RestrictionReason::ErasureDeferred };
                    changes.outbox.push(OutboxChange::CancelPending { candidate: id });
                    changes.events.push(rec.rule(Rule::R31, DomainEvent::ErasureDeferred { until }));
                    changes.events.push(rec.rule(
                        Rule::R31,
                        DomainEvent::CandidateRestricted { reason: RestrictionReason::ErasureDeferred },
                    ));
                    stage_candidate(&mut changes, &config, candidate, expected_version, now);
                    ErasureOutcome::Deferred { until }
                }
            };
            if opened_here {
                changes.events.push(rec.rule(
                    Rule::R29,
                    DomainEvent::SubjectRequestOpened {
                        request: request.id,
                        kind: request.kind,
                        due_at: request.due_at,
                    },
                ));
            }
            changes.events.push(rec.rule(
                Rule::R29,
                DomainEvent::SubjectRequestClosed { request: request.id, status: request.status.as_str() },
            ));
            changes.subject_requests.push(request.clone());
            Ok(Decided::Commit(changes, (outcome, Some(request))))
        };
        self.transact_candidate(tenant, id, decide).await
    }

    /// Everything about a candidate for Art. 15/20 (R30); the read is audited (R33).
    pub async fn export_subject(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: CandidateId,
    ) -> Result<SubjectExport, UseCaseError> {
        permitted(actor, Action::HandleSubjectRequests, "only an admin or the data-protection officer can export")?;
        let config = self.config(tenant).await?;
        let candidate = self.load_candidate(tenant, id).await?;
        let now = self.now();
        let read = Recorder::new(tenant, Some(id), actor, now)
            .rule(Rule::R30, DomainEvent::ContentRead { what: ContentKind::Export });
        self.commit_events(tenant, vec![read]).await?;
        let messages = self.store.messages(tenant, id).await?;
        let media = self.store.candidate_media(tenant, id).await?;
        let subject_requests = self.store.subject_requests(tenant, Some(id)).await?;
        let tp = config.tenant.retention.talent_pool_months;
        Ok(SubjectExport {
            schema_version: 1,
            generated_at: now,
            controller: config.tenant.name.clone(),
            consent_state: Purpose::ALL.iter().map(|p| (*p, candidate.consents.state(*p, now, tp))).collect(),
            retention_due_at: next_due(&candidate, &config.tenant.retention, now),
            candidate,
            messages,
            media,
            subject_requests,
            recipients: recipients(),
        })
    }
}

fn erase(
    changes: &mut ChangeSet,
    candidate: &Candidate,
    actor: Actor,
    now: OffsetDateTime,
    reason: ErasureReason,
    expected_version: u64,
) {
    let tenant = candidate.tenant;
    changes.outbox.push(OutboxChange::CancelPending { candidate: candidate.id });
    changes
        .candidates
        .push(CandidateChange::Erase { tombstone: Box::new(candidate.erased(now, reason)), expected_version });
    changes.events.push(
        Recorder::new(tenant, Some(candidate.id), actor, now).rule(Rule::R27, DomainEvent::CandidateErased { reason }),
    );
}

/// The change retention makes to one candidate now, if any; counts what it decided.
fn retention_change(
    config: &TenantConfig,
    candidate: &Candidate,
    actor: Actor,
    now: OffsetDateTime,
    counts: &mut RetentionCounts,
) -> Option<ChangeSet> {
    let settings = &config.tenant.retention;
    let decision = decide(candidate, settings, now);
    let mut changes = ChangeSet::default();
    match decision {
        RetentionDecision::Keep => {
            if candidate.is_held() && candidate.process_ended_at().is_some() {
                counts.held += 1;
            }
            None
        }
        RetentionDecision::Restrict { reason } => {
            if matches!(candidate.lifecycle, Lifecycle::Restricted { .. }) {
                return None;
            }
            counts.restricted += 1;
            let mut c = candidate.clone();
            c.lifecycle = Lifecycle::Restricted { since: now, reason };
            let rule = match reason {
                RestrictionReason::Inactivity => Rule::R25,
                RestrictionReason::SubjectRequest => Rule::R32,
                RestrictionReason::ErasureDeferred => Rule::R31,
            };
            changes.outbox.push(OutboxChange::CancelPending { candidate: c.id });
            changes.events.push(
                Recorder::new(c.tenant, Some(c.id), actor, now).rule(rule, DomainEvent::CandidateRestricted { reason }),
            );
            changes.candidates.push(CandidateChange::Update {
                retention_due: next_due(&c, settings, now),
                expected_version: candidate.version,
                candidate: Box::new(c),
            });
            Some(changes)
        }
        RetentionDecision::Erase { reason } => {
            counts.erased += 1;
            erase(&mut changes, candidate, actor, now, reason, candidate.version);
            Some(changes)
        }
    }
}
