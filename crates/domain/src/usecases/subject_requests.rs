//! The subject-request register (R18, R29-R31): record, extend (only with the notice inside the
//! first month), close.

use time::OffsetDateTime;

use super::{Hoheit, UseCaseError, event};
use crate::consent::CaptureChannel;
use crate::events::DomainEvent;
use crate::ids::{CandidateId, SubjectRequestId, TenantId};
use crate::ports::ChangeSet;
use crate::rules::Rule;
use crate::subject_request::{SubjectRequest, SubjectRequestError, SubjectRequestKind};
use crate::tenant::Actor;

impl From<SubjectRequestError> for UseCaseError {
    fn from(e: SubjectRequestError) -> Self {
        match e {
            SubjectRequestError::Closed | SubjectRequestError::NotExtendable => {
                Self::Conflict("the request is closed or already extended")
            }
            SubjectRequestError::ExtensionTooLate | SubjectRequestError::InvalidExtension => {
                Self::Invalid(e.to_string())
            }
        }
    }
}

impl Hoheit {
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
        let changes = ChangeSet {
            events: vec![event(
                tenant,
                candidate,
                actor,
                now,
                Some(Rule::R29),
                DomainEvent::SubjectRequestOpened { request: request.id, kind, due_at: request.due_at },
            )],
            subject_requests: vec![request.clone()],
            ..ChangeSet::default()
        };
        self.store.commit(tenant, changes).await?;
        Ok(request)
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
        let mut request =
            self.store.subject_request(tenant, id).await?.ok_or(UseCaseError::NotFound("subject request"))?;
        let now = self.now();
        if notified_at > now {
            return Err(UseCaseError::Invalid("notified_at cannot be in the future".into()));
        }
        request.extend(months, notified_at)?;
        let changes = ChangeSet {
            events: vec![event(
                tenant,
                request.candidate,
                actor,
                now,
                Some(Rule::R29),
                DomainEvent::SubjectRequestExtended { request: id, due_at: request.due_at },
            )],
            subject_requests: vec![request.clone()],
            ..ChangeSet::default()
        };
        self.store.commit(tenant, changes).await?;
        Ok(request)
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
        let changes = ChangeSet {
            events: vec![event(
                tenant,
                request.candidate,
                actor,
                now,
                Some(Rule::R29),
                DomainEvent::SubjectRequestClosed { request: id, status: request.status.as_str() },
            )],
            subject_requests: vec![request.clone()],
            ..ChangeSet::default()
        };
        self.store.commit(tenant, changes).await?;
        Ok(request)
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
