//! Exactly-once sends across crashes (issue 14 item 5). 360Dialog has no idempotency key for
//! `POST /messages`: if the process dies after the provider accepted a message and before the
//! acceptance is committed, a plain retry sends it twice. So the dispatcher records every attempt
//! durably before the call, and tags the send with its outbox id in `biz_opaque_callback_data`,
//! which WhatsApp echoes in the message's status webhooks. After a crash, an attempt without a
//! recorded receipt waits for such a status (up to a configurable time) before it is retried; a
//! status that arrives is the receipt, and the message is recorded as sent without a resend.
//!
//! This module holds the pure parts: the attempt record, the tag, and the decision what to do
//! with a claimed entry ([`resume`]). The policy is decided again before every (re)send by the
//! dispatcher; an objection in the meantime wins.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::ids::OutboxId;
use crate::values::Wamid;

/// How long an attempt without a receipt waits for a status webhook before it is sent again, by
/// default (after a crash between the provider's acceptance and the commit).
pub const DEFAULT_STATUS_WAIT: Duration = Duration::minutes(5);

/// The prefix of our `biz_opaque_callback_data`: it tells our tags from anything else a number's
/// other senders may put there.
const TAG_PREFIX: &str = "hoheit.outbox.";

/// The `biz_opaque_callback_data` of a send: the outbox id, an opaque random UUID (no personal
/// data: it says nothing about the candidate or the content).
pub fn callback_tag(outbox: OutboxId) -> String {
    format!("{TAG_PREFIX}{}", outbox.as_uuid().as_hyphenated())
}

/// The outbox id in a status webhook's `biz_opaque_callback_data`, if it is one of our tags.
pub fn parse_callback_tag(data: &str) -> Option<OutboxId> {
    data.strip_prefix(TAG_PREFIX)?.parse().ok()
}

/// A send attempt recorded before the provider was called, and its receipt if a status webhook
/// carrying the entry's tag has arrived since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendAttempt {
    /// When the attempt was recorded (just before the call).
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// The provider's id of the message, from a status webhook that echoed the tag.
    pub receipt: Option<Wamid>,
}

/// What the dispatcher does with a claimed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// No earlier attempt is open: decide (policy) and send.
    Send,
    /// An earlier attempt reached the provider (a status webhook carried its tag): record the
    /// message as sent with this id; never send it again.
    Confirmed(Wamid),
    /// An earlier attempt has no receipt and its wait is not over: leave the entry until `until`
    /// (a status webhook may still come; it wakes the entry earlier).
    AwaitStatus {
        /// When the wait ends.
        until: OffsetDateTime,
    },
    /// The wait is over without a status: the earlier attempt is taken as lost. Decide (policy)
    /// again and send. If it did reach the provider after all, this is the one duplicate the
    /// design accepts (docs/reliability.md).
    Resend,
}

/// Decides what to do with a claimed entry whose last attempt is `attempt`, at `now`, waiting up
/// to `wait` for a status webhook after an attempt without a receipt.
pub fn resume(attempt: Option<&SendAttempt>, now: OffsetDateTime, wait: Duration) -> Resume {
    match attempt {
        None => Resume::Send,
        Some(SendAttempt { receipt: Some(id), .. }) => Resume::Confirmed(id.clone()),
        Some(SendAttempt { started_at, receipt: None }) => {
            let until = *started_at + wait;
            if now < until { Resume::AwaitStatus { until } } else { Resume::Resend }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use time::macros::datetime;
    use uuid::Uuid;

    const T0: OffsetDateTime = datetime!(2026-12-07 08:00 UTC);

    #[test]
    fn a_tag_names_the_outbox_entry_and_nothing_else() {
        let id = OutboxId::from_uuid(Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef));
        let tag = callback_tag(id);
        assert_eq!(tag, "hoheit.outbox.01234567-89ab-cdef-0123-456789abcdef");
        assert!(tag.len() <= 512, "WhatsApp accepts up to 512 characters");
        assert_eq!(parse_callback_tag(&tag), Some(id));
        assert_eq!(parse_callback_tag("01234567-89ab-cdef-0123-456789abcdef"), None, "another sender's data");
        assert_eq!(parse_callback_tag("hoheit.outbox.not-a-uuid"), None);
        assert_eq!(parse_callback_tag(""), None);
    }

    #[test]
    fn without_an_open_attempt_it_is_sent() {
        assert_eq!(resume(None, T0, DEFAULT_STATUS_WAIT), Resume::Send);
    }

    #[test]
    fn an_attempt_without_receipt_waits_for_its_status_until_the_wait_is_over() {
        let attempt = SendAttempt { started_at: T0, receipt: None };
        let until = T0 + DEFAULT_STATUS_WAIT;
        assert_eq!(resume(Some(&attempt), T0, DEFAULT_STATUS_WAIT), Resume::AwaitStatus { until });
        assert_eq!(
            resume(Some(&attempt), until - Duration::SECOND, DEFAULT_STATUS_WAIT),
            Resume::AwaitStatus { until }
        );
        assert_eq!(resume(Some(&attempt), until, DEFAULT_STATUS_WAIT), Resume::Resend);
        assert_eq!(resume(Some(&attempt), until + Duration::hours(1), DEFAULT_STATUS_WAIT), Resume::Resend);
    }

    #[test]
    fn an_attempt_with_a_receipt_is_confirmed_and_never_resent_however_late() {
        let wamid = Wamid::parse("wamid.CONFIRMED").unwrap();
        let attempt = SendAttempt { started_at: T0, receipt: Some(wamid.clone()) };
        assert_eq!(resume(Some(&attempt), T0, DEFAULT_STATUS_WAIT), Resume::Confirmed(wamid.clone()));
        assert_eq!(resume(Some(&attempt), T0 + Duration::days(3), DEFAULT_STATUS_WAIT), Resume::Confirmed(wamid));
    }
}
