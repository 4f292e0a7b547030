//! Throughput limits on tokio time, so the client slows down before WhatsApp refuses:
//! a GCRA (generic cell rate algorithm, a token bucket without a refill task) per number, and a
//! minimum spacing per recipient with bounded memory, plus a sliding one-second window per
//! number as the hard ceiling (no more than the limit in any second, whatever the jitter).
//!
//! The GCRA and the spacing work by reservation: a caller takes the next free slot under a short
//! lock and then sleeps until it, so concurrent senders queue up fairly and nobody holds a lock
//! while waiting.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Per-number throughput: `rate` cells per second with a burst of `burst`. When several
/// processes send through the same number, each takes a `1/share` part of the rate
/// ([`Gcra::set_share`]), so together they stay under the number's limit.
#[derive(Debug)]
pub(crate) struct Gcra {
    base_interval: Duration,
    burst: u32,
    state: Mutex<GcraState>,
}

#[derive(Debug)]
struct GcraState {
    interval: Duration,
    tolerance: Duration,
    /// Theoretical arrival time of the next cell.
    tat: Option<Instant>,
}

impl Gcra {
    pub(crate) fn new(per_second: u32, burst: u32) -> Self {
        let interval = Duration::from_secs(1) / per_second.max(1);
        let burst = burst.max(1);
        let state = GcraState { interval, tolerance: interval * (burst - 1), tat: None };
        Self { base_interval: interval, burst, state: Mutex::new(state) }
    }

    /// Takes a `1/share` part of the configured rate (`share` = processes sending through this
    /// number). Slots already reserved keep their time.
    pub(crate) fn set_share(&self, share: u32) {
        let interval = self.base_interval * share.max(1);
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.interval = interval;
        state.tolerance = interval * (self.burst - 1);
    }

    /// Reserves the next slot at `now`; returns how long to wait for it.
    pub(crate) fn reserve(&self, now: Instant) -> Duration {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let next = state.tat.map_or(now, |t| t.max(now));
        state.tat = Some(next + state.interval);
        next.checked_sub(state.tolerance).map_or(Duration::ZERO, |allowed| allowed.saturating_duration_since(now))
    }

    /// Waits for a slot.
    pub(crate) async fn acquire(&self) {
        let wait = self.reserve(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// The hard ceiling behind the GCRA: at most `limit` departures in any window of one second
/// plus [`WINDOW_MARGIN`] (the margin covers the few milliseconds between taking the slot and
/// the request leaving), so scheduling jitter can never bunch sends above the number's limit.
#[derive(Debug)]
pub(crate) struct Window {
    base: u32,
    state: Mutex<(usize, std::collections::VecDeque<Instant>)>,
}

/// Added to the one-second window (see [`Window`]).
pub(crate) const WINDOW_MARGIN: Duration = Duration::from_millis(10);

impl Window {
    pub(crate) fn new(per_second: u32) -> Self {
        let limit = per_second.max(1) as usize;
        Self { base: per_second.max(1), state: Mutex::new((limit, std::collections::VecDeque::with_capacity(limit))) }
    }

    /// See [`Gcra::set_share`].
    pub(crate) fn set_share(&self, share: u32) {
        let limit = (self.base / share.max(1)).max(1) as usize;
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner).0 = limit;
    }

    /// Records a departure at `now` if the window has room; otherwise how long to wait.
    pub(crate) fn try_depart(&self, now: Instant) -> Result<(), Duration> {
        let span = Duration::from_secs(1) + WINDOW_MARGIN;
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (limit, departures) = &mut *state;
        while departures.front().is_some_and(|t| now.saturating_duration_since(*t) >= span) {
            departures.pop_front();
        }
        if departures.len() < *limit {
            departures.push_back(now);
            return Ok(());
        }
        let oldest = departures.front().copied().unwrap_or(now);
        Err((oldest + span).saturating_duration_since(now).max(Duration::from_micros(100)))
    }

    /// Waits until a departure fits and records it.
    pub(crate) async fn depart(&self) {
        while let Err(wait) = self.try_depart(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Minimum spacing between messages to the same recipient. Recipients are kept as keyed hashes
/// (no numbers in memory dumps), at most `max_tracked` of them.
#[derive(Debug)]
pub(crate) struct PairSpacer {
    min_interval: Duration,
    max_tracked: usize,
    hasher: RandomState,
    next_free: Mutex<HashMap<u64, Instant>>,
}

impl PairSpacer {
    pub(crate) fn new(min_interval: Duration, max_tracked: usize) -> Self {
        Self { min_interval, max_tracked, hasher: RandomState::new(), next_free: Mutex::new(HashMap::new()) }
    }

    /// Reserves the recipient's next slot at `now`; returns how long to wait for it.
    pub(crate) fn reserve(&self, recipient: &str, now: Instant) -> Duration {
        if self.min_interval.is_zero() {
            return Duration::ZERO;
        }
        let key = self.hasher.hash_one(recipient);
        let mut map = self.next_free.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let at = map.get(&key).map_or(now, |t| (*t).max(now));
        let wait = at.saturating_duration_since(now);
        Self::insert_bounded(&mut map, self.max_tracked, key, at + self.min_interval, now);
        wait
    }

    /// WhatsApp said 131056 for this recipient: nothing to them before `now + delay`.
    pub(crate) fn penalize(&self, recipient: &str, now: Instant, delay: Duration) {
        let key = self.hasher.hash_one(recipient);
        let mut map = self.next_free.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let until = map.get(&key).map_or(now + delay, |t| (*t).max(now + delay));
        Self::insert_bounded(&mut map, self.max_tracked, key, until, now);
    }

    /// Waits for the recipient's slot.
    pub(crate) async fn acquire(&self, recipient: &str) {
        let wait = self.reserve(recipient, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// How many recipients are remembered.
    #[cfg(test)]
    pub(crate) fn tracked(&self) -> usize {
        self.next_free.lock().map(|m| m.len()).unwrap_or_default()
    }

    fn insert_bounded(map: &mut HashMap<u64, Instant>, max: usize, key: u64, until: Instant, now: Instant) {
        if !map.contains_key(&key) && map.len() >= max {
            // Forget recipients whose spacing has passed; if that frees nothing, do not track the
            // new one (memory stays bounded; the provider's 131056 is the fallback).
            map.retain(|_, t| *t > now);
            if map.len() >= max {
                return;
            }
        }
        map.insert(key, until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcra_spaces_after_the_burst() {
        let g = Gcra::new(10, 3); // 100 ms apart, 3 back to back
        let t0 = Instant::now();
        let waits: Vec<u128> = (0..6).map(|_| g.reserve(t0).as_millis()).collect();
        assert_eq!(waits, vec![0, 0, 0, 100, 200, 300]);
        // after a quiet second the burst is available again
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(g.reserve(t1), Duration::ZERO);
    }

    #[test]
    fn gcra_shared_by_two_processes_takes_half_the_rate_each() {
        let g = Gcra::new(80, 1);
        g.set_share(2);
        let t0 = Instant::now();
        let waits: Vec<u128> = (0..3).map(|_| g.reserve(t0).as_millis()).collect();
        assert_eq!(waits, vec![0, 25, 50]);
        g.set_share(1);
        assert_eq!(g.reserve(t0).as_millis(), 75, "back to the full rate after the reserved slots");
        assert_eq!(g.reserve(t0).as_micros(), 87_500);
    }

    #[test]
    fn the_window_never_lets_more_than_the_limit_leave_in_a_second() {
        let w = Window::new(3);
        let t0 = Instant::now();
        assert!(w.try_depart(t0).is_ok());
        assert!(w.try_depart(t0 + Duration::from_millis(10)).is_ok());
        assert!(w.try_depart(t0 + Duration::from_millis(20)).is_ok());
        // the fourth has to wait until the first is a second (plus the margin) old
        let wait = w.try_depart(t0 + Duration::from_millis(30)).unwrap_err();
        assert_eq!(wait, Duration::from_millis(1000) + WINDOW_MARGIN - Duration::from_millis(30));
        assert!(w.try_depart(t0 + Duration::from_secs(1) + WINDOW_MARGIN).is_ok());
        w.set_share(3);
        let later = t0 + Duration::from_secs(5);
        assert!(w.try_depart(later).is_ok());
        assert!(w.try_depart(later).is_err(), "a third of 3/s is one per second");
    }

    #[test]
    fn gcra_at_1000_per_second_is_one_millisecond() {
        let g = Gcra::new(1_000, 1);
        let t0 = Instant::now();
        assert_eq!(g.reserve(t0), Duration::ZERO);
        assert_eq!(g.reserve(t0), Duration::from_millis(1));
    }

    #[tokio::test(start_paused = true)]
    async fn gcra_acquire_paces_on_tokio_time() {
        let g = Gcra::new(80, 1);
        let start = Instant::now();
        for _ in 0..81 {
            g.acquire().await;
        }
        // 81 messages at 80/s: the last one leaves one second after the first.
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn pair_spacing_delays_only_the_same_recipient() {
        let p = PairSpacer::new(Duration::from_secs(6), 100);
        let start = Instant::now();
        p.acquire("491701").await;
        p.acquire("491702").await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        p.acquire("491701").await;
        assert_eq!(start.elapsed(), Duration::from_secs(6));
        p.acquire("491701").await;
        assert_eq!(start.elapsed(), Duration::from_secs(12));
    }

    #[tokio::test(start_paused = true)]
    async fn penalty_pushes_the_recipient_back() {
        let p = PairSpacer::new(Duration::from_secs(6), 100);
        let start = Instant::now();
        p.penalize("491701", start, Duration::from_secs(30));
        p.acquire("491701").await;
        assert_eq!(start.elapsed(), Duration::from_secs(30));
    }

    #[test]
    fn memory_stays_bounded() {
        let p = PairSpacer::new(Duration::from_secs(6), 10);
        let t0 = Instant::now();
        for i in 0..100 {
            p.reserve(&format!("4917{i:06}"), t0);
        }
        assert_eq!(p.tracked(), 10);
        // once the spacing has passed, old entries make room
        let later = t0 + Duration::from_secs(7);
        assert_eq!(p.reserve("new", later), Duration::ZERO);
        assert_eq!(p.tracked(), 1);
    }

    #[test]
    fn zero_spacing_disables() {
        let p = PairSpacer::new(Duration::ZERO, 10);
        let t0 = Instant::now();
        assert_eq!(p.reserve("a", t0), Duration::ZERO);
        assert_eq!(p.reserve("a", t0), Duration::ZERO);
        assert_eq!(p.tracked(), 0);
    }
}
