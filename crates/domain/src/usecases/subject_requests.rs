//! The subject-request register (R18, R29-R31): record, extend (only with the notice inside the
//! first month), close.

use time::OffsetDateTime;

use super::permitted;
use super::retention_run::ErasureOutcome;
use super::{Hoheit, Recorder, UseCaseError};
use crate::access::Action;
use crate::actor::Actor;
use crate::candidate::Lifecycle;
use crate::consent::CaptureChannel;
use crate::events::{DomainEvent, EventEnvelope};
use crate::ids::{CandidateId, SubjectRequestId, TenantId};
use crate::ports::ChangeSet;
use crate::rules::Rule;
use crate::subject_request::{Fulfilment, SubjectRequest, SubjectRequestError, SubjectRequestKind};

/// How a request is answered; the register keeps the link (R29-R31).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// An Art. 15/20 export was produced (by [`Hoheit::export_subject`]) and handed out: the
    /// SHA-256 (hex) of the exact document.
    Export {
        /// SHA-256 of the document, 64 hex digits.
        sha256: String,
    },
    /// Erase now, or restrict and erase when the legal-claims window ends (R31).
    Erasure,
    /// The candidate's objection, in effect (R18).
    Objection,
    /// The candidate's restriction, in effect (Art. 18).
    Restriction,
}

/// What answering a request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    /// The request, closed, with its fulfilment.
    pub request: SubjectRequest,
    /// For an erasure: erased or deferred.
    pub erasure: Option<ErasureOutcome>,
}

/// Who keeps the register of subject requests.
const REGISTER: &str = "only an admin or the data-protection officer keeps the register";

impl From<SubjectRequestError> for UseCaseError {
    fn from(e: SubjectRequestError) -> Self {
        match e {
            SubjectRequestError::Closed | SubjectRequestError::NotExtendable => {
                Self::Conflict("the request is closed or already extended")
            }
            SubjectRequestError::ExtensionTooLate
            | SubjectRequestError::InvalidExtension
            | SubjectRequestError::WrongFulfilment => Self::Invalid(e.to_string()),
        }
    }
}

/// The event of closing a request (R29).
fn closed(tenant: TenantId, request: &SubjectRequest, actor: Actor, now: OffsetDateTime) -> EventEnvelope {
    let closed = DomainEvent::SubjectRequestClosed { request: request.id, status: request.status.as_str() };
    Recorder::new(tenant, request.candidate, actor, now).rule(Rule::R29, closed)
}

impl Hoheit {
    /// Stores one subject request with the event that records what happened to it.
    async fn commit_request(
        &self,
        tenant: TenantId,
        request: SubjectRequest,
        event: EventEnvelope,
    ) -> Result<SubjectRequest, UseCaseError> {
        let changes =
            ChangeSet { events: vec![event], subject_requests: vec![request.clone()], ..ChangeSet::default() };
        self.store.commit(tenant, changes).await?;
        Ok(request)
    }

    /// Records a data-subject request received by any channel (R29).
    pub async fn open_subject_request(
        &self,
        tenant: TenantId,
        actor: Actor,
        candidate: Option<CandidateId>,
        kind: SubjectRequestKind,
        channel: CaptureChannel,
        received_at: Option<OffsetDateTime>,
    ) -> Result<SubjectRequest, UseCaseError> {
        permitted(actor, Action::HandleSubjectRequests, REGISTER)?;
        self.config(tenant).await?;
        if let Some(id) = candidate {
            self.load_candidate(tenant, id).await?;
        }
        let now = self.now();
        let received_at = received_at.unwrap_or(now);
        if received_at > now {
            return Err(UseCaseError::Invalid("received_at cannot be in the future".into()));
        }
        let request = SubjectRequest::open(self.new_id(), tenant, candidate, kind, channel, received_at);
        let opened = DomainEvent::SubjectRequestOpened { request: request.id, kind, due_at: request.due_at };
        self.commit_request(tenant, request, Recorder::new(tenant, candidate, actor, now).rule(Rule::R29, opened)).await
    }

    /// Extends a request by 1-2 months; only if the candidate was told within the first month.
    pub async fn extend_subject_request(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: SubjectRequestId,
        months: u32,
        notified_at: OffsetDateTime,
    ) -> Result<SubjectRequest, UseCaseError> {
        permitted(actor, Action::HandleSubjectRequests, REGISTER)?;
        let mut request =
            self.store.subject_request(tenant, id).await?.ok_or(UseCaseError::NotFound("subject request"))?;
        let now = self.now();
        if notified_at > now {
            return Err(UseCaseError::Invalid("notified_at cannot be in the future".into()));
        }
        request.extend(months, notified_at)?;
        let extended = DomainEvent::SubjectRequestExtended { request: id, due_at: request.due_at };
        let extended = Recorder::new(tenant, request.candidate, actor, now).rule(Rule::R29, extended);
        self.commit_request(tenant, request, extended).await
    }

    /// Closes a request: fulfilled (with what it produced) or refused in part (with a reason code).
    pub async fn close_subject_request(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: SubjectRequestId,
        fulfilled: bool,
        code: &str,
    ) -> Result<SubjectRequest, UseCaseError> {
        permitted(actor, Action::HandleSubjectRequests, REGISTER)?;
        let code = code.trim();
        if code.is_empty() || code.len() > 64 || !code.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            return Err(UseCaseError::Invalid("outcome/reason must be a code of [a-z_], 1-64 characters".into()));
        }
        let mut request =
            self.store.subject_request(tenant, id).await?.ok_or(UseCaseError::NotFound("subject request"))?;
        let now = self.now();
        if fulfilled {
            request.fulfil(now, code)?;
        } else {
            request.refuse_in_part(now, code)?;
        }
        let closed = closed(tenant, &request, actor, now);
        self.commit_request(tenant, request, closed).await
    }

    /// One subject request.
    pub async fn subject_request(
        &self,
        tenant: TenantId,
        id: SubjectRequestId,
    ) -> Result<SubjectRequest, UseCaseError> {
        self.store.subject_request(tenant, id).await?.ok_or(UseCaseError::NotFound("subject request"))
    }

    /// Answers a request and closes it with a link to what answered it: the export handed out,
    /// the erasure (or its deferral, refused in part with `legal_claims_window`), the objection
    /// or the restriction in effect (R29-R31).
    pub async fn answer_subject_request(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: SubjectRequestId,
        answer: Answer,
    ) -> Result<Answered, UseCaseError> {
        permitted(actor, Action::HandleSubjectRequests, REGISTER)?;
        let request = self.subject_request(tenant, id).await?;
        if !request.status.is_open() {
            return Err(SubjectRequestError::Closed.into());
        }
        let candidate_id =
            request.candidate.ok_or(UseCaseError::Conflict("the request names no candidate; close it with a code"))?;
        let candidate = self.load_candidate(tenant, candidate_id).await?;
        let now = self.now();
        let fulfilment = match answer {
            Answer::Erasure => {
                if request.kind != SubjectRequestKind::Erasure {
                    return Err(SubjectRequestError::WrongFulfilment.into());
                }
                let (outcome, closed) = self.erase_on_request(tenant, actor, candidate_id, Some(request)).await?;
                let request = closed.ok_or(UseCaseError::Conflict("the request could not be closed"))?;
                return Ok(Answered { request, erasure: Some(outcome) });
            }
            Answer::Export { sha256 } => {
                if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(UseCaseError::Invalid("sha256 must be 64 hex digits".into()));
                }
                Fulfilment::Export { at: now, sha256: sha256.to_ascii_lowercase() }
            }
            Answer::Objection => {
                let objection = candidate
                    .objection
                    .active
                    .as_ref()
                    .ok_or(UseCaseError::Conflict("no objection is in effect; record it first"))?;
                Fulfilment::Objection { at: objection.at }
            }
            Answer::Restriction => match candidate.lifecycle {
                Lifecycle::Restricted { since, .. } => Fulfilment::Restriction { at: since },
                Lifecycle::Active | Lifecycle::Erased { .. } => {
                    return Err(UseCaseError::Conflict("the candidate is not restricted; restrict first"));
                }
            },
        };
        let mut request = request;
        request.close_with(fulfilment)?;
        let closed = closed(tenant, &request, actor, now);
        let request = self.commit_request(tenant, request, closed).await?;
        Ok(Answered { request, erasure: None })
    }

    /// The tenant's subject requests.
    pub async fn subject_requests(
        &self,
        tenant: TenantId,
        candidate: Option<CandidateId>,
    ) -> Result<Vec<SubjectRequest>, UseCaseError> {
        Ok(self.store.subject_requests(tenant, candidate).await?)
    }
}
