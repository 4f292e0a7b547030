//! Back-off arithmetic and Retry-After parsing (seconds or an HTTP date).

use std::time::{Duration, SystemTime};

use rand::Rng;
use reqwest::header::{DATE, HeaderMap, RETRY_AFTER};

#[cfg(test)]
use crate::clock::wall_clock_now;
use crate::config::RetryPolicy;

/// Exponential back-off for the `retry`-th retry (1 = first retry): `initial * 2^(retry-1)`,
/// capped at `max_backoff`, with equal jitter (between half and all of it) if enabled.
pub(crate) fn backoff(policy: &RetryPolicy, retry: u32) -> Duration {
    let exponent = retry.saturating_sub(1).min(20);
    let base = policy.initial_backoff.saturating_mul(1_u32 << exponent).min(policy.max_backoff);
    if !policy.jitter || base.is_zero() {
        return base;
    }
    let half = base / 2;
    let spread = u64::try_from((base - half).as_micros()).unwrap_or(u64::MAX);
    half + Duration::from_micros(rand::thread_rng().gen_range(0..=spread))
}

/// The Retry-After of an answer: delta-seconds, or an HTTP date taken relative to the answer's
/// `Date` header (so clock skew between us and the provider does not matter), else to `now`.
/// A date in the past means "now" (zero).
pub(crate) fn retry_after(headers: &HeaderMap, now: impl FnOnce() -> SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        // Nobody means more than a day; a huge value is a bug or an attack on our scheduler.
        return Some(Duration::from_secs(seconds.min(86_400)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let reference = headers
        .get(DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(|d| httpdate::parse_http_date(d).ok())
        .unwrap_or_else(now);
    Some(at.duration_since(reference).unwrap_or_default().min(Duration::from_secs(86_400)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn policy(jitter: bool) -> RetryPolicy {
        RetryPolicy {
            max_attempts: 10,
            max_total_delay: Duration::from_secs(100),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(700),
            long_backoff: Duration::from_secs(60),
            jitter,
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = policy(false);
        let got: Vec<u128> = (1..=5).map(|r| backoff(&p, r).as_millis()).collect();
        assert_eq!(got, vec![100, 200, 400, 700, 700]);
        assert_eq!(backoff(&p, u32::MAX), Duration::from_millis(700));
    }

    #[test]
    fn jitter_stays_between_half_and_full() {
        let p = policy(true);
        for retry in 1..=6 {
            let full = backoff(&policy(false), retry);
            for _ in 0..50 {
                let b = backoff(&p, retry);
                assert!(b >= full / 2 && b <= full, "{b:?} vs {full:?}");
            }
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h, wall_clock_now), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h, wall_clock_now), Some(Duration::from_secs(7)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:30 GMT"));
        h.insert(DATE, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after(&h, wall_clock_now), Some(Duration::from_secs(30)));
        // relative to our clock when the answer has no Date
        h.remove(DATE);
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:20 GMT").unwrap();
        assert_eq!(retry_after(&h, || now), Some(Duration::from_secs(10)));
        // in the past: zero
        let later = httpdate::parse_http_date("Wed, 21 Oct 2015 08:00:00 GMT").unwrap();
        assert_eq!(retry_after(&h, || later), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, wall_clock_now), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("99999999"));
        assert_eq!(retry_after(&h, wall_clock_now), Some(Duration::from_secs(86_400)));
    }
}
