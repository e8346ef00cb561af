//! The gateway's memory from `/proc/<pid>/status`: VmRSS now, VmHWM (the kernel's peak), and a
//! sampler that keeps the largest VmRSS seen while armed (during load on the gateway).

use anyhow::{Context, Result};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Resident memory, KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mem {
    /// VmRSS.
    pub rss_kib: u64,
    /// VmHWM.
    pub hwm_kib: u64,
}

/// Reads VmRSS and VmHWM from the text of a `status` file.
pub fn parse_status(text: &str) -> Result<Mem> {
    let field = |name: &str| -> Result<u64> {
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .with_context(|| format!("no {name} line"))?;
        let kib = line
            .trim_start_matches(':')
            .split_whitespace()
            .next()
            .unwrap_or_default();
        kib.parse().with_context(|| format!("{name}: {line:?}"))
    };
    Ok(Mem {
        rss_kib: field("VmRSS")?,
        hwm_kib: field("VmHWM")?,
    })
}

/// Reads `/proc/<pid>/status`.
pub fn read(pid: u32) -> Result<Mem> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).with_context(|| format!("pid {pid}"))?;
    parse_status(&text)
}

/// Samples VmRSS every `every`, keeping the peak seen while armed.
pub struct Sampler {
    armed: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Starts sampling `pid`.
    pub fn start(pid: u32, every: Duration) -> Sampler {
        let armed = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, p, s) = (armed.clone(), peak.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if a.load(Ordering::Relaxed)
                    && let Ok(mem) = read(pid)
                {
                    p.fetch_max(mem.rss_kib, Ordering::Relaxed);
                }
                std::thread::sleep(every);
            }
        });
        Sampler {
            armed,
            peak,
            stop,
            thread: Some(thread),
        }
    }

    /// Samples count only while armed.
    pub fn arm(&self, on: bool) {
        self.armed.store(on, Ordering::Relaxed);
    }

    /// The largest VmRSS seen while armed, KiB.
    pub fn peak_kib(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tlight-gateway\nVmPeak:\t  300000 kB\nVmHWM:\t    12345 kB\nVmRSS:\t    10240 kB\n";

    #[test]
    fn rss_and_hwm_are_read() {
        assert_eq!(
            parse_status(STATUS).unwrap(),
            Mem {
                rss_kib: 10240,
                hwm_kib: 12345
            }
        );
    }

    #[test]
    fn a_status_without_rss_is_an_error() {
        assert!(parse_status("Name:\tx\nVmHWM:\t1 kB\n").is_err());
    }

    #[test]
    fn our_own_memory_is_readable() {
        let mem = read(std::process::id()).unwrap();
        assert!(mem.rss_kib > 0 && mem.hwm_kib >= mem.rss_kib);
    }
}
