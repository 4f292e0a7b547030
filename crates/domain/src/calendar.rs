//! Calendar arithmetic the rules need: "one month" is a calendar month (Art. 12(3) GDPR;
//! Jan 31 + 1 month = Feb 28/29), "one business day" skips weekends.

use time::{Duration, Month, OffsetDateTime, Weekday};

/// Adds calendar months, clamping the day to the end of the target month
/// (Jan 31 + 1 month = Feb 28, or Feb 29 in a leap year). Time of day and offset are kept.
/// Saturates at the end of the representable range instead of panicking.
pub fn add_months(at: OffsetDateTime, months: u32) -> OffsetDateTime {
    let total = i64::from(at.year()) * 12 + i64::from(u8::from(at.month())) - 1 + i64::from(months);
    let Ok(year) = i32::try_from(total.div_euclid(12)) else {
        return at;
    };
    let month_index = u8::try_from(total.rem_euclid(12) + 1).unwrap_or(1);
    let Ok(month) = Month::try_from(month_index) else {
        return at;
    };
    let day = at.day().min(time::util::days_in_month(month, year));
    match time::Date::from_calendar_date(year, month, day) {
        Ok(date) => at.replace_date(date),
        Err(_) => at,
    }
}

/// Adds business days (Monday to Friday); public holidays are not modelled.
pub fn add_business_days(at: OffsetDateTime, days: u32) -> OffsetDateTime {
    let mut current = at;
    let mut left = days;
    while left > 0 {
        current += Duration::days(1);
        if !matches!(current.weekday(), Weekday::Saturday | Weekday::Sunday) {
            left -= 1;
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    #[test]
    fn month_end_is_clamped() {
        assert_eq!(add_months(datetime!(2025-01-31 10:00 UTC), 1), datetime!(2025-02-28 10:00 UTC));
        assert_eq!(add_months(datetime!(2024-01-31 10:00 UTC), 1), datetime!(2024-02-29 10:00 UTC));
        assert_eq!(add_months(datetime!(2025-03-31 00:00 UTC), 1), datetime!(2025-04-30 00:00 UTC));
        assert_eq!(add_months(datetime!(2025-11-15 08:30 UTC), 3), datetime!(2026-02-15 08:30 UTC));
        assert_eq!(add_months(datetime!(2025-08-31 00:00 UTC), 6), datetime!(2026-02-28 00:00 UTC));
        assert_eq!(add_months(datetime!(2025-05-05 00:00 UTC), 0), datetime!(2025-05-05 00:00 UTC));
    }

    #[test]
    fn business_days_skip_weekends() {
        // Friday + 1 business day = Monday
        assert_eq!(add_business_days(datetime!(2025-06-06 09:00 UTC), 1), datetime!(2025-06-09 09:00 UTC));
        // Wednesday + 1 = Thursday
        assert_eq!(add_business_days(datetime!(2025-06-04 09:00 UTC), 1), datetime!(2025-06-05 09:00 UTC));
        // Saturday + 1 = Monday
        assert_eq!(add_business_days(datetime!(2025-06-07 09:00 UTC), 1), datetime!(2025-06-09 09:00 UTC));
    }

    proptest! {
        #[test]
        fn adding_months_is_monotonic(days in 0i64..20_000, a in 0u32..60, b in 0u32..60) {
            let start = datetime!(2000-01-01 00:00 UTC) + Duration::days(days);
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(add_months(start, lo) <= add_months(start, hi));
            prop_assert!(add_months(start, lo) >= start);
        }
    }
}
