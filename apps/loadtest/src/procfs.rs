//! Process and machine figures from /proc: resident memory (VmRSS, peak VmHWM), CPU time per
//! process, and the machine's busy time, so every measurement says who used the two cores.

use std::time::Instant;

/// Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux/x86-64).
const TICKS: f64 = 100.0;

/// (VmRSS, VmHWM) of a process in KiB; `None` if it is gone.
pub(crate) fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Threads of a process; `None` if it is gone.
pub(crate) fn threads(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|v| v.trim().parse().ok())
}

/// Resets the peak resident set size (VmHWM) of a process to its current RSS.
pub(crate) fn reset_peak(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// User + system CPU seconds of a process (all its threads).
pub(crate) fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // the command name is in parentheses and may contain spaces: fields start after the last ')'
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // after ')' field 3 (state) is index 0, so utime (14) is index 11 and stime (15) index 12
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS)
}

/// Busy and total CPU seconds of the whole machine (all cores), from /proc/stat.
fn machine_seconds() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?;
    let values: Vec<f64> = line.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    let total: f64 = values.iter().take(8).sum();
    let idle = values.get(3).copied().unwrap_or(0.0) + values.get(4).copied().unwrap_or(0.0);
    Some(((total - idle) / TICKS, total / TICKS))
}

/// Number of online CPUs.
pub(crate) fn cpus() -> usize {
    std::thread::available_parallelism().map(std::num::NonZeroUsize::get).unwrap_or(1)
}

/// CPU used during a measurement, as a share of the whole machine (100% = all cores busy).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub(crate) struct CpuSplit {
    /// The server process(es) under test.
    pub(crate) server: f64,
    /// This load tool (client, and the simulator or sink when they run in-process).
    pub(crate) tool: f64,
    /// PostgreSQL's processes (all of them: the server under test is their only client).
    pub(crate) database: f64,
    /// Everything else on the machine (other builds, the kernel's share not charged to a process).
    pub(crate) other: f64,
}

/// CPU seconds of all processes called `postgres` (backends of closed connections are missed).
fn postgres_seconds() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0.0 };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "postgres"))
        .filter_map(cpu_seconds)
        .sum()
}

/// Snapshot at the start of a measurement.
#[derive(Debug)]
pub(crate) struct CpuMeter {
    pids: Vec<u32>,
    server: f64,
    tool: f64,
    database: f64,
    busy: f64,
    total: f64,
    started: Instant,
}

impl CpuMeter {
    /// Starts measuring; `pids` are the processes counted as "server".
    pub(crate) fn start(pids: &[u32]) -> Self {
        let (busy, total) = machine_seconds().unwrap_or((0.0, 0.0));
        Self {
            pids: pids.to_vec(),
            server: pids.iter().filter_map(|p| cpu_seconds(*p)).sum(),
            tool: cpu_seconds(std::process::id()).unwrap_or(0.0),
            database: postgres_seconds(),
            busy,
            total,
            started: Instant::now(),
        }
    }

    /// The split since the start.
    pub(crate) fn stop(&self) -> CpuSplit {
        let (busy, total) = machine_seconds().unwrap_or((0.0, 0.0));
        let server: f64 = self.pids.iter().filter_map(|p| cpu_seconds(*p)).sum::<f64>() - self.server;
        let tool = cpu_seconds(std::process::id()).unwrap_or(0.0) - self.tool;
        let total = (total - self.total).max(self.started.elapsed().as_secs_f64() * cpus() as f64).max(1e-9);
        let database = (postgres_seconds() - self.database).max(0.0);
        let busy = busy - self.busy;
        CpuSplit {
            server: 100.0 * server / total,
            tool: 100.0 * tool / total,
            database: 100.0 * database / total,
            other: (100.0 * (busy - server - tool - database) / total).max(0.0),
        }
    }
}

/// Samples the peak RSS of processes while a measurement runs (VmHWM is per process; this also
/// catches a restarted process's peak).
#[derive(Debug, Default)]
pub(crate) struct PeakRss {
    pub(crate) peak_kib: u64,
}

impl PeakRss {
    /// Takes a sample of `pid`.
    pub(crate) fn sample(&mut self, pid: u32) {
        if let Some((_, hwm)) = memory_kib(pid) {
            self.peak_kib = self.peak_kib.max(hwm);
        }
    }

    /// MiB with one decimal.
    pub(crate) fn mib(&self) -> f64 {
        self.peak_kib as f64 / 1024.0
    }
}
