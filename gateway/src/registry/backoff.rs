//! Reconnect delays: start small, double to a cap, add jitter so a fleet does not reconnect in
//! lockstep after a controller restart.

use std::time::Duration;

/// Exponential backoff with up to 25% added jitter.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    /// Starts at `initial`, doubling to `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            current: initial,
        }
    }

    /// The next delay (with jitter) and advances the base.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.current;
        self.current = (self.current * 2).min(self.max);
        let jitter = base.mul_f64(rand::random::<f64>() * 0.25);
        base + jitter
    }

    /// Back to the initial delay (after a connection that lived long enough).
    pub fn reset(&mut self) {
        self.current = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_to_the_cap_with_bounded_jitter_and_reset() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let bases = [1u64, 2, 4, 8, 16, 32, 60, 60];
        for base in bases {
            let d = b.next_delay();
            let base = Duration::from_secs(base);
            assert!(d >= base && d <= base.mul_f64(1.25), "{d:?} for base {base:?}");
        }
        b.reset();
        assert!(b.next_delay() < Duration::from_millis(1250));
    }
}
