//! Process metrics under the names Prometheus' own clients use (`process_*`, as client_golang
//! writes them), read from `/proc/self` at each scrape.
//!
//! A small module rather than a crate: `prometheus-client` has no process collector, and the
//! crates that have one (`metrics-process`, `prometheus`) belong to other metric libraries. Off
//! Linux, or when a file cannot be read, the metrics it feeds are left out of the scrape.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::{MetricDef, MetricKind};

/// Clock ticks per second in `/proc/<pid>/stat`: USER_HZ, 100 on every Linux architecture we
/// build for.
const USER_HZ: f64 = 100.0;

pub const CPU_SECONDS: MetricDef = MetricDef {
    name: "process_cpu_seconds_total",
    kind: MetricKind::Counter,
    labels: &[],
    help: "Total user and system CPU time spent in seconds",
};
pub const RESIDENT_MEMORY: MetricDef = MetricDef {
    name: "process_resident_memory_bytes",
    kind: MetricKind::Gauge,
    labels: &[],
    help: "Resident memory size in bytes",
};
pub const VIRTUAL_MEMORY: MetricDef = MetricDef {
    name: "process_virtual_memory_bytes",
    kind: MetricKind::Gauge,
    labels: &[],
    help: "Virtual memory size in bytes",
};
pub const OPEN_FDS: MetricDef = MetricDef {
    name: "process_open_fds",
    kind: MetricKind::Gauge,
    labels: &[],
    help: "Number of open file descriptors",
};
pub const MAX_FDS: MetricDef = MetricDef {
    name: "process_max_fds",
    kind: MetricKind::Gauge,
    labels: &[],
    help: "Maximum number of open file descriptors",
};
pub const START_TIME: MetricDef = MetricDef {
    name: "process_start_time_seconds",
    kind: MetricKind::Gauge,
    labels: &[],
    help: "Start time of the process since unix epoch in seconds",
};
pub const THREADS: MetricDef = MetricDef {
    name: "process_threads",
    kind: MetricKind::Gauge,
    labels: &[],
    help: "Number of OS threads in the process",
};

/// The process metrics, in the order they are scraped.
pub const METRICS: &[MetricDef] = &[
    CPU_SECONDS,
    RESIDENT_MEMORY,
    VIRTUAL_MEMORY,
    OPEN_FDS,
    MAX_FDS,
    START_TIME,
    THREADS,
];

/// What `/proc/self` says about this process.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ProcessStats {
    pub cpu_seconds: Option<f64>,
    pub resident_bytes: Option<i64>,
    pub virtual_bytes: Option<i64>,
    pub open_fds: Option<i64>,
    pub max_fds: Option<i64>,
    pub start_time_seconds: Option<f64>,
    pub threads: Option<i64>,
}

impl ProcessStats {
    /// Reads `/proc/self` (and `/proc/stat` for the boot time).
    pub fn read() -> ProcessStats {
        let read = |p: &str| std::fs::read_to_string(p).ok();
        let mut stats = read("/proc/self/stat")
            .map(|s| from_stat(&s, read("/proc/stat").as_deref()))
            .unwrap_or_default();
        stats.resident_bytes = read("/proc/self/status").and_then(|s| resident_bytes(&s));
        stats.open_fds = std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|d| d.count() as i64);
        stats.max_fds = read("/proc/self/limits").and_then(|s| max_open_files(&s));
        stats
    }
}

/// CPU time, virtual size, threads and start time from `/proc/self/stat`'s fields (after the
/// command name, which may hold spaces and parentheses), the start time with `/proc/stat`'s
/// `btime`.
fn from_stat(stat: &str, proc_stat: Option<&str>) -> ProcessStats {
    let Some((_, after_name)) = stat.rsplit_once(')') else {
        return ProcessStats::default();
    };
    // Field 3 (state) is index 0 here: field n is index n - 3.
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    let boot_time = proc_stat.and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse::<u64>().ok())
    });
    ProcessStats {
        cpu_seconds: field(14)
            .zip(field(15))
            .map(|(user, system)| (user + system) as f64 / USER_HZ),
        threads: field(20).map(|t| t as i64),
        start_time_seconds: field(22)
            .zip(boot_time)
            .map(|(ticks, boot)| boot as f64 + ticks as f64 / USER_HZ),
        virtual_bytes: field(23).map(|v| v as i64),
        ..ProcessStats::default()
    }
}

/// `VmRSS` of `/proc/self/status`, in bytes.
fn resident_bytes(status: &str) -> Option<i64> {
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse::<i64>()
        .ok()?;
    Some(kb * 1024)
}

/// The soft limit on open files in `/proc/self/limits`.
fn max_open_files(limits: &str) -> Option<i64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    soft.parse().ok()
}

/// Reads `/proc/self` at each scrape.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = ProcessStats::read();
        if let Some(v) = s.cpu_seconds {
            CPU_SECONDS.encode(&mut encoder, &ConstCounter::new(v))?;
        }
        for (def, value) in [
            (RESIDENT_MEMORY, s.resident_bytes),
            (VIRTUAL_MEMORY, s.virtual_bytes),
            (OPEN_FDS, s.open_fds),
            (MAX_FDS, s.max_fds),
            (THREADS, s.threads),
        ] {
            if let Some(v) = value {
                def.encode(&mut encoder, &ConstGauge::new(v))?;
            }
        }
        if let Some(v) = s.start_time_seconds {
            START_TIME.encode(&mut encoder, &ConstGauge::new(v))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_read_after_a_command_name_with_spaces_and_parentheses() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
        // utime stime cutime cstime priority nice num_threads itrealvalue starttime vsize rss
        let stat = "42 (tokio (x) y) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 1000 123456789 2048 rest";
        let s = from_stat(stat, Some("cpu  1 2 3\nbtime 1700000000\nprocesses 5\n"));
        assert_eq!(s.cpu_seconds, Some(3.0));
        assert_eq!(s.threads, Some(7));
        assert_eq!(s.start_time_seconds, Some(1_700_000_010.0));
        assert_eq!(s.virtual_bytes, Some(123_456_789));
    }

    #[test]
    fn resident_memory_and_fd_limit_are_parsed() {
        assert_eq!(
            resident_bytes("Name:\tx\nVmRSS:\t  1500 kB\nVmData: 3 kB\n"),
            Some(1_536_000)
        );
        let limits = "Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n";
        assert_eq!(max_open_files(limits), Some(1024));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_is_measured() {
        let s = ProcessStats::read();
        assert!(s.resident_bytes.unwrap() > 0);
        assert!(s.open_fds.unwrap() > 0);
        assert!(s.threads.unwrap() >= 1);
        let start = s.start_time_seconds.unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(
            start <= now + 1.0 && start > now - 86_400.0,
            "{start} vs {now}"
        );
    }
}
