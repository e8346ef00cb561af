//! What machine this is: CPU model, cores, kernel, memory, tool versions, and how busy the
//! cores already are before the bench starts anything (a noisy machine shows here).

use crate::report::Machine;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// `(busy, total)` jiffies from the `cpu` line of `/proc/stat`.
pub fn parse_cpu_line(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    if v.len() < 5 {
        return None;
    }
    // user nice system idle iowait irq softirq steal ...: idle and iowait are not busy.
    let total: u64 = v.iter().take(8).sum();
    let idle = v[3] + v[4];
    Some((total - idle, total))
}

/// The share of all cores busy over `window`.
pub fn busy_share(window: Duration) -> f64 {
    let read = || {
        std::fs::read_to_string("/proc/stat")
            .ok()
            .as_deref()
            .and_then(parse_cpu_line)
    };
    let Some((b0, t0)) = read() else { return f64::NAN };
    std::thread::sleep(window);
    let Some((b1, t1)) = read() else { return f64::NAN };
    if t1 <= t0 {
        return f64::NAN;
    }
    (b1 - b0) as f64 / (t1 - t0) as f64
}

fn first_line_of(cmd: &Path, arg: &str) -> String {
    Command::new(cmd)
        .arg(arg)
        .output()
        .map(|o| {
            let text = [o.stdout, o.stderr].concat();
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .unwrap_or_default()
}

/// Describes this machine; `outside_busy` is measured by the caller before anything starts.
pub fn describe(wrk: &Path, nginx: &Path, outside_busy: f64) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    let nginx_version = first_line_of(nginx, "-v");
    Machine {
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        memory_gib: mem_kib / 1024.0 / 1024.0,
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        outside_busy,
        wrk: first_line_of(wrk, "-v")
            .split(" [")
            .next()
            .unwrap_or_default()
            .to_owned(),
        nginx: nginx_version.trim_start_matches("nginx version: ").to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_excludes_idle_and_iowait() {
        let stat = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4 5\n";
        assert_eq!(parse_cpu_line(stat), Some((150, 1000)));
    }

    #[test]
    fn a_stat_without_cpu_line_says_nothing() {
        assert_eq!(parse_cpu_line("intr 1 2 3\n"), None);
    }
}
