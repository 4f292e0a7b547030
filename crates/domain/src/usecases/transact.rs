//! The use-case pattern, written once: **load -> decide -> commit, retried on a lost race.**
//!
//! Every use case that changes state does the same three steps:
//!
//! 1. *load* (async): read what the decision needs through the [`Store`](crate::ports::Store)
//!    (the tenant's configuration, the candidate with its version, ...) and take the time;
//! 2. *decide* (sync, pure): apply the model's rules to the loaded state and build one
//!    [`ChangeSet`] — the state changes and the domain events they cause — or decide that
//!    nothing is to be stored ([`Decided::Done`]) or that a refusal is to be audited and returned
//!    ([`Decided::Fail`]);
//! 3. *commit*: write the change set atomically. A commit that loses an optimistic-lock race
//!    ([`StoreError::Conflict`]) is thrown away and the use case starts again from a fresh load,
//!    at most [`CONFLICT_RETRIES`] times (a [`Retry`] may allow more, or treat one more store error
//!    as a lost race); nothing is ever decided on stale state.
//!
//! [`Hoheit::transact`] is that loop; [`Hoheit::modify_candidate`] is the common case of one
//! candidate whose new version is stored with its next retention date.

use time::OffsetDateTime;

use super::{Hoheit, UseCaseError};
use crate::candidate::Candidate;
use crate::events::EventEnvelope;
use crate::ids::{CandidateId, TenantId};
use crate::ports::{CandidateChange, ChangeSet, DuplicateKey, StoreError, TenantConfig};
use crate::retention::next_due;

/// How often a use case retries after losing an optimistic-lock race.
pub(crate) const CONFLICT_RETRIES: usize = 5;

/// What the *decide* step of a use case made of freshly loaded state.
pub(crate) enum Decided<T> {
    /// Commit this change set; when it is stored the use case returns the value.
    Commit(ChangeSet, T),
    /// Nothing to store: the use case returns the value at once.
    Done(T),
    /// Store this record of a refusal (the audited events; never retried) and fail with the error.
    Fail(ChangeSet, UseCaseError),
}

/// Which failed commits count as a lost race, and how many times one is retried.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retry {
    /// Retries after the first attempt.
    times: usize,
    /// Whether a duplicate contact (two first messages of one sender at once) is a lost race too.
    duplicate_contact: bool,
}

impl Retry {
    /// The policy of every use case: [`CONFLICT_RETRIES`] retries on [`StoreError::Conflict`].
    pub(crate) const CONFLICT: Self = Self { times: CONFLICT_RETRIES, duplicate_contact: false };

    /// Twice as many retries: for recording what already happened outside (an accepted send),
    /// which must not be lost to a busy candidate.
    pub(crate) const fn patient(self) -> Self {
        Self { times: self.times.saturating_mul(2), ..self }
    }

    /// Also retries [`DuplicateKey::Contact`]: another first message of the same sender created
    /// the candidate meanwhile; the next load finds it.
    pub(crate) const fn or_duplicate_contact(self) -> Self {
        Self { duplicate_contact: true, ..self }
    }

    fn lost_race(self, e: &StoreError) -> bool {
        match e {
            StoreError::Conflict => true,
            StoreError::Duplicate(DuplicateKey::Contact) => self.duplicate_contact,
            StoreError::Duplicate(_)
            | StoreError::NotFound(_)
            | StoreError::Unavailable(_)
            | StoreError::Corrupt(_) => false,
        }
    }
}

impl Hoheit {
    /// Runs one use case: `load` reads the state, `decide` turns it into a [`Decided`], the
    /// change set is committed; a commit that loses a race (as `retry` defines it) starts over
    /// from a fresh load. See the [module documentation](self) for the pattern.
    ///
    /// `load` returns a future that owns or borrows only what outlives the call (not the
    /// closure itself), so the use case's future stays `Send`.
    pub(crate) async fn transact<S, T, L>(
        &self,
        tenant: TenantId,
        retry: Retry,
        mut load: impl FnMut() -> L,
        mut decide: impl FnMut(S) -> Result<Decided<T>, UseCaseError>,
    ) -> Result<T, UseCaseError>
    where
        L: Future<Output = Result<S, UseCaseError>>,
    {
        let mut attempt = 0;
        loop {
            let state = load().await?;
            match decide(state)? {
                Decided::Done(value) => return Ok(value),
                Decided::Fail(record, error) => {
                    self.store.commit(tenant, record).await?;
                    return Err(error);
                }
                Decided::Commit(changes, value) => match self.store.commit(tenant, changes).await {
                    Ok(_) => return Ok(value),
                    Err(e) if attempt < retry.times && retry.lost_race(&e) => attempt += 1,
                    Err(e) => return Err(e.into()),
                },
            }
        }
    }

    /// [`Hoheit::transact`] over what most decisions need: the tenant's configuration, the
    /// candidate and the time.
    pub(crate) async fn transact_candidate<T>(
        &self,
        tenant: TenantId,
        id: CandidateId,
        decide: impl FnMut((std::sync::Arc<TenantConfig>, Candidate, OffsetDateTime)) -> Result<Decided<T>, UseCaseError>,
    ) -> Result<T, UseCaseError> {
        self.transact(tenant, Retry::CONFLICT, || self.load_for(tenant, id), decide).await
    }

    /// The tenant's configuration, the candidate and the time: what most decisions need.
    pub(crate) async fn load_for(
        &self,
        tenant: TenantId,
        id: CandidateId,
    ) -> Result<(std::sync::Arc<TenantConfig>, Candidate, OffsetDateTime), UseCaseError> {
        let config = self.config(tenant).await?;
        let candidate = self.load_candidate(tenant, id).await?;
        Ok((config, candidate, self.now()))
    }

    /// Loads the candidate, lets `change` modify it and build the rest of the change set, and
    /// commits the candidate with the loaded version (and its next retention date) unless the
    /// change erases it; retries from a fresh load on a lost race. An empty change set is not
    /// committed.
    pub(crate) async fn modify_candidate<T, F>(
        &self,
        tenant: TenantId,
        id: CandidateId,
        mut change: F,
    ) -> Result<T, UseCaseError>
    where
        F: FnMut(&TenantConfig, &mut Candidate, &mut ChangeSet, OffsetDateTime) -> Result<T, UseCaseError> + Send,
        T: Send,
    {
        self.transact_candidate(tenant, id, |(config, mut candidate, now)| {
            let expected_version = candidate.version;
            let mut changes = ChangeSet::default();
            let result = change(&config, &mut candidate, &mut changes, now)?;
            if changes.is_empty() {
                return Ok(Decided::Done(result));
            }
            stage_candidate(&mut changes, &config, candidate, expected_version, now);
            Ok(Decided::Commit(changes, result))
        })
        .await
    }

    /// Commits one configuration change with its events.
    pub(crate) async fn commit_config(
        &self,
        tenant: TenantId,
        change: crate::ports::ConfigChange,
        events: Vec<EventEnvelope>,
    ) -> Result<(), UseCaseError> {
        self.store.commit(tenant, ChangeSet { config: vec![change], events, ..ChangeSet::default() }).await?;
        Ok(())
    }

    /// Commits a change set that only records events (refusals, reads).
    pub(crate) async fn commit_events(&self, tenant: TenantId, events: Vec<EventEnvelope>) -> Result<(), UseCaseError> {
        let changes = ChangeSet { events, ..ChangeSet::default() };
        self.store.commit(tenant, changes).await?;
        Ok(())
    }
}

/// Adds the changed candidate to `changes` as an update against the version it was loaded with,
/// with its next retention date — unless the change set already erases it.
pub(crate) fn stage_candidate(
    changes: &mut ChangeSet,
    config: &TenantConfig,
    candidate: Candidate,
    expected_version: u64,
    now: OffsetDateTime,
) {
    let already_erasing = changes.candidates.iter().any(|c| matches!(c, CandidateChange::Erase { .. }));
    if !already_erasing {
        changes.candidates.push(CandidateChange::Update {
            retention_due: next_due(&candidate, &config.tenant.retention, now),
            candidate: Box::new(candidate),
            expected_version,
        });
    }
}
