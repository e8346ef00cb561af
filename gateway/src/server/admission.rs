//! Admission (docs/protocols.md#health-and-admission): `/health` always answers; everything else waits for ready and
//! stops at draining. In-flight requests are counted so a drain knows when it is done.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use tokio::sync::Notify;
use tokio::time::Instant;

/// The path that answers at all times.
pub const HEALTH_PATH: &str = "/health";

/// The gateway's phase as admission sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before ready: everything but `/health` gets 503.
    Starting = 0,
    /// Traffic admitted.
    Ready = 1,
    /// SIGTERM received: new requests get 503, in-flight ones finish.
    Draining = 2,
}

/// What to do with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Answer 200 `ok`.
    Health,
    /// Answer 503 with `connection: close` and `retry-after: 0`.
    Unavailable,
    /// Serve it (and count it in flight).
    Admit,
}

/// Decides on a request path in a phase.
pub fn decide(path: &str, phase: Phase) -> Decision {
    if path == HEALTH_PATH {
        Decision::Health
    } else if phase == Phase::Ready {
        Decision::Admit
    } else {
        Decision::Unavailable
    }
}

/// Shared admission state.
#[derive(Debug, Default)]
pub struct Admission {
    phase: AtomicU8,
    in_flight: AtomicUsize,
    idle: Notify,
}

/// Counts one admitted request until dropped.
#[derive(Debug)]
pub struct InFlight(Arc<Admission>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Admission {
    /// A new state in [`Phase::Starting`].
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Acquire) {
            1 => Phase::Ready,
            2 => Phase::Draining,
            _ => Phase::Starting,
        }
    }

    /// Moves to `phase`.
    pub fn set(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Release);
    }

    /// Decides on `path`; an admitted request is counted until the guard drops.
    pub fn admit(self: &Arc<Self>, path: &str) -> (Decision, Option<InFlight>) {
        let decision = decide(path, self.phase());
        if decision != Decision::Admit {
            return (decision, None);
        }
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        // A drain may have started between the check and the count: re-check so a request
        // is either counted before the drain looks, or refused.
        if self.phase() != Phase::Ready {
            drop(InFlight(self.clone()));
            return (Decision::Unavailable, None);
        }
        (decision, Some(InFlight(self.clone())))
    }

    /// Requests admitted and not yet finished.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Waits until no request is in flight or `deadline` passes; returns how many remain.
    pub async fn drained(&self, deadline: Instant) -> usize {
        loop {
            let idle = self.idle.notified();
            let remaining = self.in_flight();
            if remaining == 0 || tokio::time::timeout_at(deadline, idle).await.is_err() {
                return self.in_flight();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("/health", Phase::Starting, Decision::Health)]
    #[case("/health", Phase::Ready, Decision::Health)]
    #[case("/health", Phase::Draining, Decision::Health)]
    #[case("/mcp", Phase::Starting, Decision::Unavailable)]
    #[case("/mcp", Phase::Ready, Decision::Admit)]
    #[case("/mcp", Phase::Draining, Decision::Unavailable)]
    #[case("/health/x", Phase::Starting, Decision::Unavailable)]
    fn health_always_answers_and_the_rest_waits_for_ready(
        #[case] path: &str,
        #[case] phase: Phase,
        #[case] expected: Decision,
    ) {
        assert_eq!(decide(path, phase), expected);
    }

    #[tokio::test]
    async fn drain_waits_for_in_flight_requests() {
        let admission = Admission::new();
        admission.set(Phase::Ready);
        let (_, guard) = admission.admit("/mcp");
        admission.set(Phase::Draining);
        assert_eq!(admission.admit("/mcp").0, Decision::Unavailable);
        let releaser = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            drop(guard);
        });
        let left = admission.drained(Instant::now() + Duration::from_secs(2)).await;
        assert_eq!(left, 0);
        releaser.await.unwrap();
    }

    #[tokio::test]
    async fn drain_gives_up_at_the_deadline() {
        let admission = Admission::new();
        admission.set(Phase::Ready);
        let (_, _guard) = admission.admit("/mcp");
        let left = admission.drained(Instant::now() + Duration::from_millis(30)).await;
        assert_eq!(left, 1);
    }
}
