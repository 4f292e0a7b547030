//! Retention (R23-R28): per-tenant settings with the defaults and ranges of RULES.md, and the
//! pure decision what to do with a candidate's data at a point in time. A legal hold always
//! wins; the legal-claims window (§15(4) AGG, §61b ArbGG) is respected; the decision is
//! monotonic in time (Keep -> Restrict -> Erase, never back).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::calendar::add_months;
use crate::candidate::{Candidate, ErasureReason, Lifecycle, Process, RestrictionReason};
use crate::consent::{ConsentState, Purpose};
use crate::values::InvalidValue;

/// A tenant's retention settings. Defaults are privacy by default (R36).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetentionSettings {
    /// Erase this many months after the process ended (R24: 3-6, default 6).
    pub erase_after_months: u32,
    /// Months after a rejection in which an AGG claim can still come (§15(4) AGG: 2 months to
    /// assert a claim, plus delivery). An erasure request inside it is deferred (R31). 2-6,
    /// default 3, never longer than `erase_after_months`.
    pub claims_window_months: u32,
    /// Talent-pool consent lasts this long (R9: up to 24, default 12).
    pub talent_pool_months: u32,
    /// Restrict conversations after this many days without activity (R25); `None` = off.
    pub archive_after_days: Option<u32>,
    /// A process with no recorded end counts as ended by inactivity this many months after the
    /// last activity (R24: 3-12, default 6); the erase period then runs from there. No candidate
    /// is kept forever because nobody ended their process, including those an unknown sender
    /// created by writing in.
    pub process_end_after_inactive_months: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            erase_after_months: 6,
            claims_window_months: 3,
            talent_pool_months: 12,
            archive_after_days: None,
            process_end_after_inactive_months: 6,
        }
    }
}

impl RetentionSettings {
    /// Checks the ranges of RULES.md "Defaults".
    pub fn validate(&self) -> Result<(), InvalidValue> {
        if !(3..=6).contains(&self.erase_after_months) {
            return Err(InvalidValue::new("erase_after_months", "must be 3 to 6"));
        }
        if !(2..=6).contains(&self.claims_window_months) || self.claims_window_months > self.erase_after_months {
            return Err(InvalidValue::new("claims_window_months", "must be 2 to 6 and not exceed erase_after_months"));
        }
        if !(3..=12).contains(&self.process_end_after_inactive_months) {
            return Err(InvalidValue::new("process_end_after_inactive_months", "must be 3 to 12"));
        }
        if !(1..=24).contains(&self.talent_pool_months) {
            return Err(InvalidValue::new("talent_pool_months", "must be 1 to 24"));
        }
        if let Some(days) = self.archive_after_days
            && !(7..=730).contains(&days)
        {
            return Err(InvalidValue::new("archive_after_days", "must be 7 to 730"));
        }
        Ok(())
    }
}

/// What retention does with a candidate now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum RetentionDecision {
    /// Nothing to do.
    Keep,
    /// Restrict processing.
    Restrict {
        /// Why.
        reason: RestrictionReason,
    },
    /// Erase personal data.
    Erase {
        /// Why.
        reason: ErasureReason,
    },
}

impl RetentionDecision {
    /// Severity for monotonicity: Keep < Restrict < Erase.
    pub const fn severity(&self) -> u8 {
        match self {
            Self::Keep => 0,
            Self::Restrict { .. } => 1,
            Self::Erase { .. } => 2,
        }
    }
}

/// When the candidate's process ended: the recorded end, or, when none is recorded, the last
/// activity plus `process_end_after_inactive_months` (R24: the process counts as ended by
/// inactivity). Activity is the last message either way, or the record's creation.
pub fn process_end(candidate: &Candidate, settings: &RetentionSettings) -> OffsetDateTime {
    match candidate.process {
        Process::Ended { at, .. } => at,
        Process::Running => add_months(last_activity(candidate), settings.process_end_after_inactive_months),
    }
}

/// The candidate's last activity: its conversation's last message in either direction (sent,
/// queued or received, [`crate::conversation::ConversationState::last_activity_at`]), or the
/// record's creation if there was none. The inbox lists newest activity first by it.
pub fn last_activity(candidate: &Candidate) -> OffsetDateTime {
    candidate.conversation.last_activity_at().unwrap_or(candidate.created_at).max(candidate.created_at)
}

/// When the candidate's data is due for erasure: the process end ([`process_end`]) plus the erase
/// period, or the talent-pool consent's expiry if later and the consent is in effect.
fn erase_at(
    candidate: &Candidate,
    settings: &RetentionSettings,
    now: OffsetDateTime,
) -> Option<(OffsetDateTime, ErasureReason)> {
    let base = add_months(process_end(candidate, settings), settings.erase_after_months);
    match candidate.consents.state(Purpose::TalentPool, now, settings.talent_pool_months) {
        ConsentState::Granted { expires_at: Some(expiry), .. } if expiry > base => {
            Some((expiry, ErasureReason::TalentPoolEnded))
        }
        ConsentState::Granted { .. }
        | ConsentState::None
        | ConsentState::Requested { .. }
        | ConsentState::Declined { .. }
        | ConsentState::Withdrawn { .. }
        | ConsentState::Expired { .. } => Some((base, ErasureReason::RetentionExpired)),
    }
}

fn archive_at(candidate: &Candidate, settings: &RetentionSettings) -> Option<OffsetDateTime> {
    let days = settings.archive_after_days?;
    Some(last_activity(candidate) + Duration::days(i64::from(days)))
}

/// Decides what retention does with the candidate at `now`.
pub fn decide(candidate: &Candidate, settings: &RetentionSettings, now: OffsetDateTime) -> RetentionDecision {
    if candidate.is_erased() || candidate.is_held() {
        return RetentionDecision::Keep;
    }
    if let Some(until) = candidate.erasure_deferred_until
        && now >= until
    {
        return RetentionDecision::Erase { reason: ErasureReason::SubjectRequest };
    }
    if let Some((at, reason)) = erase_at(candidate, settings, now)
        && now >= at
    {
        return RetentionDecision::Erase { reason };
    }
    match candidate.lifecycle {
        Lifecycle::Restricted { reason, .. } => RetentionDecision::Restrict { reason },
        Lifecycle::Erased { .. } => RetentionDecision::Keep,
        Lifecycle::Active => {
            if candidate.erasure_deferred_until.is_some() {
                return RetentionDecision::Restrict { reason: RestrictionReason::ErasureDeferred };
            }
            match archive_at(candidate, settings) {
                Some(at) if now >= at => RetentionDecision::Restrict { reason: RestrictionReason::Inactivity },
                Some(_) | None => RetentionDecision::Keep,
            }
        }
    }
}

/// The earliest time at which [`decide`] may return something stronger than now, for the store to
/// index (`None`: nothing scheduled, e.g. erased, held, or process running without archiving).
pub fn next_due(candidate: &Candidate, settings: &RetentionSettings, now: OffsetDateTime) -> Option<OffsetDateTime> {
    if candidate.is_erased() || candidate.is_held() {
        return None;
    }
    let erase = erase_at(candidate, settings, now).map(|(at, _)| at);
    let archive = match candidate.lifecycle {
        Lifecycle::Active => archive_at(candidate, settings),
        Lifecycle::Restricted { .. } | Lifecycle::Erased { .. } => None,
    };
    [erase, archive, candidate.erasure_deferred_until].into_iter().flatten().min()
}

/// The answer to an erasure request (Art. 17, R31).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ErasureRequestOutcome {
    /// Erase now.
    EraseNow,
    /// Partial refusal: the legal-claims window is open; restrict now, erase at `until`.
    Deferred {
        /// When the window ends and the data will be erased.
        #[serde(with = "time::serde::rfc3339")]
        until: OffsetDateTime,
    },
    /// A legal hold blocks erasure.
    Held,
    /// Already erased.
    AlreadyErased,
}

/// Decides an erasure request.
pub fn erasure_request(
    candidate: &Candidate,
    settings: &RetentionSettings,
    now: OffsetDateTime,
) -> ErasureRequestOutcome {
    if candidate.is_erased() {
        return ErasureRequestOutcome::AlreadyErased;
    }
    if candidate.is_held() {
        return ErasureRequestOutcome::Held;
    }
    match candidate.process {
        Process::Ended { reason, at } if reason.opens_claims_window() => {
            let until = add_months(at, settings.claims_window_months);
            if now < until { ErasureRequestOutcome::Deferred { until } } else { ErasureRequestOutcome::EraseNow }
        }
        Process::Ended { .. } | Process::Running => ErasureRequestOutcome::EraseNow,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::Actor;
    use crate::candidate::{CandidateSource, Contact, HoldReason, LegalHold, ProcessEndReason};
    use crate::consent::{CaptureChannel, ConsentEvidence, ConsentMethod};
    use crate::ids::{CandidateId, ChannelId, HoldId, StaffId, TenantId};
    use crate::values::LanguageCode;
    use proptest::prelude::*;
    use time::macros::datetime;
    use uuid::Uuid;

    const T0: OffsetDateTime = datetime!(2025-01-31 09:00 UTC);

    fn candidate() -> Candidate {
        Candidate::new(
            CandidateId::from_uuid(Uuid::from_u128(1)),
            TenantId::from_uuid(Uuid::from_u128(2)),
            ChannelId::from_uuid(Uuid::from_u128(3)),
            CandidateSource::Recruiter,
            Contact::default(),
            LanguageCode::german(),
            T0,
        )
    }

    fn ended(reason: ProcessEndReason) -> Candidate {
        let mut c = candidate();
        c.process = Process::Ended { reason, at: T0 };
        c
    }

    fn hold(c: &mut Candidate) {
        c.holds.push(LegalHold {
            id: HoldId::from_uuid(Uuid::nil()),
            reason: HoldReason::ClaimAsserted,
            reference: None,
            set_at: T0,
            set_by: StaffId::from_uuid(Uuid::nil()),
            review_at: T0,
            released_at: None,
            released_by: None,
        });
    }

    fn talent_pool(c: &mut Candidate, at: OffsetDateTime) {
        c.consents
            .grant(
                ConsentEvidence {
                    purpose: Purpose::TalentPool,
                    method: ConsentMethod::RecordedVerbal { staff: StaffId::from_uuid(Uuid::nil()), note: None },
                    capture_channel: CaptureChannel::Phone,
                    texts_shown: vec![crate::legal::terms_v1_shown()],
                    language: LanguageCode::german(),
                    recorded_at: at,
                    given_at: None,
                    recorded_by: Actor::System,
                },
                at,
            )
            .unwrap();
    }

    #[test]
    fn defaults_and_ranges() {
        let s = RetentionSettings::default();
        assert!(s.validate().is_ok());
        assert_eq!(s.erase_after_months, 6);
        assert!(RetentionSettings { erase_after_months: 2, ..s.clone() }.validate().is_err());
        assert!(RetentionSettings { erase_after_months: 7, ..s.clone() }.validate().is_err());
        assert!(RetentionSettings { talent_pool_months: 25, ..s.clone() }.validate().is_err());
        assert!(RetentionSettings { erase_after_months: 3, claims_window_months: 4, ..s.clone() }.validate().is_err());
        assert!(RetentionSettings { archive_after_days: Some(1), ..s }.validate().is_err());
    }

    #[test]
    fn erased_six_calendar_months_after_process_end() {
        let c = ended(ProcessEndReason::Rejected);
        let s = RetentionSettings::default();
        // Jan 31 + 6 months = Jul 31
        assert_eq!(decide(&c, &s, datetime!(2025-07-31 08:59 UTC)), RetentionDecision::Keep);
        assert_eq!(
            decide(&c, &s, datetime!(2025-07-31 09:00 UTC)),
            RetentionDecision::Erase { reason: ErasureReason::RetentionExpired }
        );
        assert_eq!(next_due(&c, &s, T0), Some(datetime!(2025-07-31 09:00 UTC)));
    }

    #[test]
    fn running_process_is_kept_while_active_and_ends_by_inactivity() {
        // R24: no recorded end is no reason to keep data forever. Before, a running process was
        // kept at any time (the assertion `Keep` at T0 + 5000 days); RULES.md R24 forbids that.
        let mut c = candidate();
        let s = RetentionSettings::default();
        c.conversation.touch(datetime!(2025-03-31 09:00 UTC));
        // last activity Mar 31 + 6 months inactivity = Sep 30 (process end) + 6 months = Mar 30/31
        assert_eq!(process_end(&c, &s), datetime!(2025-09-30 09:00 UTC));
        assert_eq!(decide(&c, &s, datetime!(2026-03-30 08:59 UTC)), RetentionDecision::Keep);
        assert_eq!(
            decide(&c, &s, datetime!(2026-03-30 09:00 UTC)),
            RetentionDecision::Erase { reason: ErasureReason::RetentionExpired }
        );
        assert_eq!(next_due(&c, &s, T0), Some(datetime!(2026-03-30 09:00 UTC)));
        // activity pushes it back; a shorter configured inactivity period brings it forward
        c.conversation.touch(datetime!(2026-03-01 09:00 UTC));
        assert_eq!(decide(&c, &s, datetime!(2026-03-30 09:00 UTC)), RetentionDecision::Keep);
        let short = RetentionSettings { process_end_after_inactive_months: 3, ..s.clone() };
        assert_eq!(process_end(&c, &short), datetime!(2026-06-01 09:00 UTC));
        // a candidate an unknown sender created by writing in is included
        let mut inbound = candidate();
        inbound.source = crate::candidate::CandidateSource::Inbound;
        assert_eq!(
            decide(&inbound, &s, T0 + Duration::days(5000)),
            RetentionDecision::Erase { reason: ErasureReason::RetentionExpired }
        );
        // a recorded end wins over inactivity
        let ended = ended(ProcessEndReason::Withdrawn);
        assert_eq!(process_end(&ended, &s), T0);
        assert!(RetentionSettings { process_end_after_inactive_months: 2, ..s.clone() }.validate().is_err());
        assert!(RetentionSettings { process_end_after_inactive_months: 13, ..s }.validate().is_err());
    }

    #[test]
    fn legal_hold_always_wins() {
        let mut c = ended(ProcessEndReason::Rejected);
        hold(&mut c);
        assert_eq!(decide(&c, &RetentionSettings::default(), T0 + Duration::days(5000)), RetentionDecision::Keep);
        assert_eq!(erasure_request(&c, &RetentionSettings::default(), T0), ErasureRequestOutcome::Held);
        assert_eq!(next_due(&c, &RetentionSettings::default(), T0), None);
    }

    #[test]
    fn talent_pool_consent_extends_until_it_expires() {
        let mut c = ended(ProcessEndReason::Rejected);
        talent_pool(&mut c, T0);
        let s = RetentionSettings::default();
        assert_eq!(decide(&c, &s, datetime!(2025-12-01 00:00 UTC)), RetentionDecision::Keep);
        assert_eq!(
            decide(&c, &s, datetime!(2026-01-31 09:00 UTC)),
            RetentionDecision::Erase { reason: ErasureReason::RetentionExpired }
        );
    }

    #[test]
    fn erasure_request_inside_claims_window_is_deferred() {
        let c = ended(ProcessEndReason::Rejected);
        let s = RetentionSettings::default();
        assert_eq!(
            erasure_request(&c, &s, T0 + Duration::days(10)),
            ErasureRequestOutcome::Deferred { until: datetime!(2025-04-30 09:00 UTC) }
        );
        assert_eq!(erasure_request(&c, &s, datetime!(2025-04-30 09:00 UTC)), ErasureRequestOutcome::EraseNow);
        // a withdrawal opens no claims window; a running process neither
        assert_eq!(erasure_request(&ended(ProcessEndReason::Withdrawn), &s, T0), ErasureRequestOutcome::EraseNow);
        assert_eq!(erasure_request(&candidate(), &s, T0), ErasureRequestOutcome::EraseNow);
    }

    #[test]
    fn deferred_erasure_restricts_then_erases() {
        let mut c = ended(ProcessEndReason::Rejected);
        c.erasure_deferred_until = Some(datetime!(2025-04-30 09:00 UTC));
        let s = RetentionSettings::default();
        assert_eq!(
            decide(&c, &s, T0 + Duration::days(1)),
            RetentionDecision::Restrict { reason: RestrictionReason::ErasureDeferred }
        );
        assert_eq!(
            decide(&c, &s, datetime!(2025-04-30 09:00 UTC)),
            RetentionDecision::Erase { reason: ErasureReason::SubjectRequest }
        );
    }

    #[test]
    fn archive_after_inactivity() {
        let mut c = candidate();
        c.conversation.touch(T0);
        let s = RetentionSettings { archive_after_days: Some(30), ..RetentionSettings::default() };
        assert_eq!(decide(&c, &s, T0 + Duration::days(29)), RetentionDecision::Keep);
        assert_eq!(
            decide(&c, &s, T0 + Duration::days(30)),
            RetentionDecision::Restrict { reason: RestrictionReason::Inactivity }
        );
    }

    fn arb_candidate() -> impl Strategy<Value = Candidate> {
        (
            proptest::option::of((
                proptest::sample::select(vec![
                    ProcessEndReason::Rejected,
                    ProcessEndReason::Withdrawn,
                    ProcessEndReason::Hired,
                    ProcessEndReason::VacancyClosed,
                ]),
                0i64..400,
            )),
            any::<bool>(),
            proptest::option::of(0i64..400),
            proptest::option::of(0i64..400),
            proptest::option::of(0i64..200),
        )
            .prop_map(|(end, held, tp, deferred, activity)| {
                let mut c = candidate();
                if let Some((reason, days)) = end {
                    c.process = Process::Ended { reason, at: T0 + Duration::days(days) };
                }
                if held {
                    hold(&mut c);
                }
                if let Some(days) = tp {
                    talent_pool(&mut c, T0 + Duration::days(days));
                }
                c.erasure_deferred_until = deferred.map(|d| T0 + Duration::days(d));
                if let Some(days) = activity {
                    c.conversation.touch(T0 + Duration::days(days));
                }
                c
            })
    }

    fn arb_settings() -> impl Strategy<Value = RetentionSettings> {
        (3u32..=6, 1u32..=24, proptest::option::of(7u32..=365), 3u32..=12).prop_map(|(erase, tp, archive, inactive)| {
            RetentionSettings {
                erase_after_months: erase,
                claims_window_months: 2.max(erase.min(3)),
                talent_pool_months: tp,
                archive_after_days: archive,
                process_end_after_inactive_months: inactive,
            }
        })
    }

    proptest! {
        #[test]
        fn decision_is_monotonic_in_time(c in arb_candidate(), s in arb_settings(), a in 0i64..2000, b in 0i64..2000) {
            let (early, late) = (T0 + Duration::days(a.min(b)), T0 + Duration::days(a.max(b)));
            prop_assert!(decide(&c, &s, early).severity() <= decide(&c, &s, late).severity());
        }

        #[test]
        fn never_erases_under_hold(mut c in arb_candidate(), s in arb_settings(), days in 0i64..5000) {
            hold(&mut c);
            prop_assert_eq!(decide(&c, &s, T0 + Duration::days(days)), RetentionDecision::Keep);
        }

        // R24: a running process is never erased while the candidate is active, i.e. before the
        // inactivity period and then the erase period have passed since the last activity. (It
        // used to say "never erased at all", which R24 forbids: nobody is kept forever.)
        #[test]
        fn never_erases_a_running_process_before_it_ends_by_inactivity(mut c in arb_candidate(), s in arb_settings(), days in 0i64..5000) {
            c.process = Process::Running;
            c.erasure_deferred_until = None;
            let now = T0 + Duration::days(days);
            let due = add_months(add_months(last_activity(&c), s.process_end_after_inactive_months), s.erase_after_months);
            let erased = matches!(decide(&c, &s, now), RetentionDecision::Erase { .. });
            if now < due {
                prop_assert!(!erased);
            } else if !c.is_held() && !c.consents.state(Purpose::TalentPool, now, s.talent_pool_months).is_granted() {
                prop_assert!(erased);
            }
        }

        #[test]
        fn nothing_changes_before_next_due(c in arb_candidate(), s in arb_settings(), days in 0i64..2000) {
            let now = T0 + Duration::days(days);
            let start = decide(&c, &s, T0);
            if let Some(due) = next_due(&c, &s, T0) {
                if now < due {
                    prop_assert_eq!(decide(&c, &s, now).severity(), start.severity());
                }
            } else {
                prop_assert_eq!(decide(&c, &s, now).severity(), start.severity());
            }
        }
    }
}
