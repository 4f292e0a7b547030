//! The wall clock, for the stand-in binary and callers without their own clock adapter.

use hoheit_domain::ports::Clock;
use time::OffsetDateTime;

/// Now, from the system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct WallClock;

impl Clock for WallClock {
    #[allow(clippy::disallowed_methods)] // the one place in this crate that reads the wall clock
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}
