//! The wall clock, read in exactly one place. The client needs it only for a Retry-After date on
//! an answer without a `Date` header; the simulator stamps its webhooks with it.

use std::time::SystemTime;

/// Now, from the system clock.
#[allow(clippy::disallowed_methods)]
pub(crate) fn wall_clock_now() -> SystemTime {
    SystemTime::now()
}
