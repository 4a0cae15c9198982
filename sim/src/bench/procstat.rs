//! What Linux says about a process: CPU time (utime + stime from
//! `/proc/PID/stat`) and resident memory (`VmRSS`, and the lifetime peak
//! `VmHWM`, from `/proc/PID/status`). Read-only; it never signals or
//! otherwise touches the process.

use anyhow::Context;

/// Clock ticks per second when `getconf CLK_TCK` cannot say (Linux's USER_HZ).
const DEFAULT_TICKS_PER_SECOND: u64 = 100;

/// One process's counters.
#[derive(Debug, Clone, Copy)]
pub struct ProcProbe {
    pid: u32,
    ticks_per_second: u64,
}

impl ProcProbe {
    pub fn new(pid: u32) -> Self {
        Self {
            pid,
            ticks_per_second: ticks_per_second(),
        }
    }

    /// User plus system CPU seconds used so far.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let path = format!("/proc/{}/stat", self.pid);
        let text = std::fs::read_to_string(&path).with_context(|| path.clone())?;
        let ticks = cpu_ticks(&text).with_context(|| format!("{path}: no utime/stime"))?;
        Ok(ticks as f64 / self.ticks_per_second as f64)
    }

    /// Resident memory now, in KiB.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        self.status_field("VmRSS")
    }

    /// Peak resident memory over the process's life, in KiB.
    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        self.status_field("VmHWM")
    }

    fn status_field(&self, key: &str) -> anyhow::Result<u64> {
        let path = format!("/proc/{}/status", self.pid);
        let text = std::fs::read_to_string(&path).with_context(|| path.clone())?;
        status_kib(&text, key).with_context(|| format!("{path}: no {key}"))
    }
}

fn ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|t| *t > 0)
        .unwrap_or(DEFAULT_TICKS_PER_SECOND)
}

/// utime + stime (fields 14 and 15) of a `/proc/PID/stat` line. The
/// command name (field 2) may hold spaces and parentheses, so fields are
/// counted from the last `)`.
pub fn cpu_ticks(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// A `kB` line of `/proc/PID/status`, e.g. `VmHWM:   12345 kB`.
pub fn status_kib(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if name != key {
            return None;
        }
        value.split_whitespace().next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_utime_and_stime_past_a_name_with_spaces() {
        let stat = "4242 (retro fit) gw) S 1 4242 4242 0 -1 4194560 900 0 0 0 \
                    1234 567 0 0 20 0 9 0 100 200000 3000 18446744073709551615";
        assert_eq!(cpu_ticks(stat), Some(1234 + 567));
        assert_eq!(cpu_ticks("4242 (gw) S 1"), None);
    }

    #[test]
    fn reads_kib_fields_by_exact_name() {
        let status = "Name:\tgw\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(status_kib(status, "VmHWM"), Some(20480));
        assert_eq!(status_kib(status, "VmRSS"), Some(10240));
        assert_eq!(status_kib(status, "VmRS"), None);
    }

    #[test]
    fn this_process_has_cpu_time_and_memory() {
        let probe = ProcProbe::new(std::process::id());
        assert!(probe.cpu_seconds().unwrap() >= 0.0);
        let (rss, peak) = (probe.rss_kib().unwrap(), probe.peak_rss_kib().unwrap());
        assert!(rss > 0 && peak >= rss, "rss {rss} peak {peak}");
    }
}
