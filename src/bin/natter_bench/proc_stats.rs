//! CPU time and resident memory of a process, read from `/proc` (Linux only).

use std::time::{Duration, Instant};

/// One reading of a process's counters.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    pub at: Instant,
    /// User plus system CPU time so far.
    pub cpu: Duration,
    pub rss_kib: u64,
}

/// What a process used between two samples.
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    pub cpu: Duration,
    pub wall: Duration,
    pub rss_kib: u64,
}

impl Usage {
    /// CPU time as a share of one core, in percent.
    pub fn cpu_percent(&self) -> f64 {
        100.0 * self.cpu.as_secs_f64() / self.wall.as_secs_f64().max(1e-9)
    }
}

/// `pid` 0 means this process.
pub fn sample(pid: u32) -> Sample {
    let dir = if pid == 0 {
        "/proc/self".to_owned()
    } else {
        format!("/proc/{pid}")
    };
    let at = Instant::now();
    let stat = std::fs::read_to_string(format!("{dir}/stat")).unwrap_or_default();
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let cpu = ticks_to_duration(ticks(11) + ticks(12));
    Sample {
        at,
        cpu,
        rss_kib: rss_kib(&dir),
    }
}

pub fn since(before: Sample, after: Sample) -> Usage {
    Usage {
        cpu: after.cpu.saturating_sub(before.cpu),
        wall: after.at - before.at,
        rss_kib: after.rss_kib,
    }
}

fn rss_kib(dir: &str) -> u64 {
    std::fs::read_to_string(format!("{dir}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn ticks_to_duration(ticks: u64) -> Duration {
    // SAFETY: sysconf only reads a constant of the system.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_nanos(ticks * 1_000_000_000 / per_second)
}

/// Raises this process's open-file limit to its hard limit: thousands of sockets need it,
/// and the server, started from here, inherits it.
pub fn raise_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
    limit.rlim_cur
}
