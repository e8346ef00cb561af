//! The load itself: open loop, so requests fall due at the rate from the start whatever the
//! answers do (a gateway that stalls does not slow the load down; the stall shows as latency),
//! with the gateway sampled from `/proc` meanwhile.
//!
//! What is due is counted from the elapsed time, not from timer ticks, so a late wake-up sends
//! what it missed. The number of ops in flight is capped; when the cap holds the generator back
//! by more than a second of requests, those requests are given up and counted as not sent
//! (else the load would come back as a burst the gateway never saw in steady state).

use super::tally::{Recorder, Sample, Tally};
use super::traffic::{self, MIX, Traffic};
use crate::{cpu, machine, rss};
use anyhow::{Context, Result, bail};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::time::MissedTickBehavior;

/// How often the generator wakes to send what is due.
const TICK: Duration = Duration::from_millis(1);
/// How long the requests still in flight at the end may take (beyond the request timeout).
const DRAIN: Duration = Duration::from_secs(15);

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Requests per second.
    pub rate: f64,
    /// How long.
    pub duration: Duration,
    /// Length of a reported period.
    pub period: Duration,
    /// Time between samples of the gateway.
    pub sample_every: Duration,
    /// Most ops (a request, or a whole session) in flight.
    pub max_in_flight: usize,
}

/// The processes the soak watches.
#[derive(Debug, Clone, Copy)]
pub struct Watched {
    /// The gateway's pid.
    pub gateway: u32,
    /// The backend's port, for the TIME_WAIT count.
    pub backend_port: u16,
}

/// Runs `plan` against the gateway at `base` and returns what happened.
pub async fn run(plan: &Plan, base: &str, watched: Watched) -> Result<Tally> {
    let traffic = Arc::new(Traffic::new(base)?);
    let clock = cpu::Clock::new()?;
    let start = Instant::now();
    let recorder = Recorder::new(start, Tally::new(plan.period, plan.duration));
    let sampler = tokio::spawn(sample(recorder.clone(), clock, watched, plan.clone()));
    let slots = Arc::new(Semaphore::new(plan.max_in_flight));
    let a_second_behind = plan.rate.ceil() as u64;
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let (mut sent, mut next_op) = (0u64, 0usize);
    loop {
        tick.tick().await;
        let elapsed = start.elapsed();
        if elapsed >= plan.duration {
            break;
        }
        let due = (elapsed.as_secs_f64() * plan.rate) as u64;
        if due > sent + a_second_behind {
            recorder.unsent(due - sent);
            sent = due;
        }
        while sent < due {
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                break;
            };
            let op = MIX[next_op % MIX.len()];
            next_op += 1;
            sent += op.requests();
            let (traffic, recorder) = (traffic.clone(), recorder.clone());
            tokio::spawn(async move {
                traffic::run(&traffic, op, &recorder).await;
                drop(slot);
            });
        }
        recorder.in_flight((plan.max_in_flight - slots.available_permits()) as u64);
    }
    // The end of the load, still under it: the sample the fd verdict reads last.
    recorder.sample(read_sample(&clock, watched, plan.duration)?);
    let all = u32::try_from(plan.max_in_flight).context("max in flight")?;
    if tokio::time::timeout(DRAIN, slots.acquire_many(all)).await.is_err() {
        bail!("requests still in flight {DRAIN:?} after the end of the load");
    }
    sampler.await.context("the sampler")?;
    Ok(recorder.snapshot())
}

/// Samples the gateway every `plan.sample_every` until the end of the load.
async fn sample(recorder: Recorder, clock: cpu::Clock, watched: Watched, plan: Plan) {
    let mut tick = tokio::time::interval(plan.sample_every);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let at = recorder.since_start(Instant::now());
        if at >= plan.duration {
            return;
        }
        match read_sample(&clock, watched, at) {
            Ok(sample) => recorder.sample(sample),
            Err(e) => {
                // The gateway is gone: every request fails from now on and says so.
                eprintln!(
                    "soak: no sample of the gateway (pid {}) at {at:?}: {e:#}",
                    watched.gateway
                );
                return;
            }
        }
    }
}

/// RSS, open fds and CPU time of the gateway, the machine's CPU counters and the TIME_WAIT
/// sockets towards the backend.
pub fn read_sample(clock: &cpu::Clock, watched: Watched, at: Duration) -> Result<Sample> {
    let pid = watched.gateway;
    let fd_dir = format!("/proc/{pid}/fd");
    let fds = std::fs::read_dir(&fd_dir)
        .with_context(|| format!("listing {fd_dir}"))?
        .count();
    let machine_jiffies = std::fs::read_to_string("/proc/stat")
        .ok()
        .as_deref()
        .and_then(machine::parse_cpu_line);
    Ok(Sample {
        at,
        rss_kib: rss::read(pid)?.rss_kib,
        fds: fds as u64,
        cpu_s: clock.seconds(&[pid])?,
        machine_jiffies,
        backend_time_wait: std::fs::read_to_string("/proc/net/tcp")
            .ok()
            .map(|table| time_wait_to(&table, watched.backend_port)),
    })
}

/// Sockets of a `/proc/net/tcp` table in TIME_WAIT (state `06`) whose remote port is `port`:
/// connections to it that this side closed within the last minute. A keep-alive pool keeps
/// them few; a connection per request makes them about its rate times 60 s.
pub fn time_wait_to(table: &str, port: u16) -> u64 {
    let closed_towards = |line: &&str| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let remote_port = fields.get(2).and_then(|a| a.rsplit(':').next());
        fields.get(3) == Some(&"06") && remote_port.and_then(|p| u16::from_str_radix(p, 16).ok()) == Some(port)
    };
    table.lines().skip(1).filter(closed_towards).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_wait_sockets_towards_the_port_are_counted() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue
   0: 0100007F:A1B2 0100007F:1F90 06 00000000:00000000 03:00000F9F 00000000     0        0 0
   1: 0100007F:A1B3 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 1
   2: 0100007F:1F90 0100007F:A1B4 06 00000000:00000000 03:00000F9F 00000000     0        0 0
   3: 0100007F:A1B5 0100007F:1F90 06 00000000:00000000 03:00000F9F 00000000     0        0 0
";
        assert_eq!(time_wait_to(table, 0x1F90), 2);
        assert_eq!(time_wait_to(table, 0xA1B4), 1);
        assert_eq!(time_wait_to("", 80), 0);
    }
}
