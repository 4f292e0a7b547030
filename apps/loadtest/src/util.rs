//! Small helpers: the error type, output, keys, ports, unix time.

use std::fmt;
use std::io::Write as _;

/// The tool's error: a message for the operator. Any error converts into it (like `anyhow`).
pub(crate) struct Fail(pub(crate) String);

impl fmt::Debug for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<E: std::error::Error> From<E> for Fail {
    fn from(e: E) -> Self {
        Self(e.to_string())
    }
}

pub(crate) type Res<T> = Result<T, Fail>;

/// Builds a [`Fail`] from a format string.
macro_rules! fail {
    ($($arg:tt)*) => { $crate::util::Fail(format!($($arg)*)) };
}
pub(crate) use fail;

/// Adds context to an error.
pub(crate) trait Context<T> {
    fn context(self, what: &str) -> Res<T>;
}

impl<T, E: fmt::Display> Context<T> for Result<T, E> {
    fn context(self, what: &str) -> Res<T> {
        self.map_err(|e| Fail(format!("{what}: {e}")))
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, what: &str) -> Res<T> {
        self.ok_or_else(|| Fail(what.to_owned()))
    }
}

/// Results and tables: the only place that writes to stdout.
#[allow(clippy::print_stdout)]
pub(crate) fn say(text: &str) {
    println!("{text}");
}

/// Progress and diagnostics go to stderr.
pub(crate) fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "[hoheit-load] {text}");
}

/// `work/name`, or `work/name-2`, `-3`, ... if it exists (every run gets a fresh directory).
pub(crate) fn fresh_dir(work: &std::path::Path, name: &str) -> std::path::PathBuf {
    let mut dir = work.join(name);
    let mut n = 2;
    while dir.exists() {
        dir = crate::util::fresh_dir(work, &format!("{name}-{n}"));
        n += 1;
    }
    dir
}

/// A free TCP port on loopback (bound and released; the race is harmless on a test machine).
pub(crate) fn free_port() -> Res<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("cannot bind a free port")?;
    Ok(listener.local_addr()?.port())
}

/// 32 random bytes as 64 hex digits (the master key format).
pub(crate) fn random_hex_key() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// 32 random bytes, base64 (the audit signing key format).
pub(crate) fn random_base64_key() -> String {
    use base64::Engine as _;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Wall-clock seconds since the epoch: webhook timestamps and the report date. Measurements use
/// `std::time::Instant`.
#[allow(clippy::disallowed_methods)] // the load tool has no domain clock; it stamps its own inputs
pub(crate) fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Today's date and time (UTC) for the report.
#[allow(clippy::disallowed_methods)]
pub(crate) fn utc_stamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", now.year(), u8::from(now.month()), now.day(), now.hour(), now.minute())
}

/// Percentile of a sorted slice (nearest rank), in the slice's unit.
pub(crate) fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied().unwrap_or(0)
}

/// Microseconds as milliseconds with one decimal.
pub(crate) fn ms(us: u32) -> String {
    format!("{:.1}", f64::from(us) / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let sorted: Vec<u32> = (1..=10).collect();
        assert_eq!(percentile(&sorted, 50.0), 5);
        assert_eq!(percentile(&sorted, 95.0), 10);
        assert_eq!(percentile(&sorted, 90.0), 9);
        assert_eq!(percentile(&sorted, 0.0), 1);
        assert_eq!(percentile(&sorted, 100.0), 10);
        assert_eq!(percentile(&[], 99.0), 0);
        let hundred: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&hundred, 99.0), 99);
    }
}
